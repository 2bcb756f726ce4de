"""Sphinx extension of the Tadrib book: math without JavaScript, Arabic right-to-left, no CDN.

``tadrib book`` adds it to every build (``sphinx.extra_extensions``). It does three things:

- **math** is turned into MathML when a page is written (latex2mathml): browsers render MathML
  natively, so the site needs no MathJax, no web font and no network. A formula that cannot be
  converted stops the build with the page and the formula named.
- **Arabic** reads right-to-left: a section, heading, paragraph, list or table cell whose letters
  are mostly Arabic is marked ``dir="rtl" lang="ar"``; an Arabic phrase inside a French paragraph is
  wrapped in ``<span dir="rtl" lang="ar">``. Code is left as it is.
- **thebe**'s scripts (which fetch thebe from a CDN when its button is pressed) are removed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.writers.html5 import HTML5Translator

ARABIC_CLASS = "tadrib-ar"
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LETTER = re.compile(r"[^\W\d_]")
_ARABIC_RUN = re.compile(
    r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]+"
    r"(?:[\s\u060C\u061B\u061F.,:!?()«»\"'-]+[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF"
    r"\uFE70-\uFEFF]+)*"
)
_MARKED_TAG = re.compile(rf'(<[a-z0-9]+\b[^>]*\bclass="[^"]*\b{ARABIC_CLASS}\b[^"]*")')
_BLOCKS = (nodes.section, nodes.title, nodes.paragraph, nodes.bullet_list, nodes.enumerated_list,
           nodes.block_quote, nodes.entry, nodes.caption, nodes.term, nodes.definition)
_CODE = (nodes.literal_block, nodes.literal, nodes.raw, nodes.math, nodes.math_block,
         nodes.FixedTextElement)
_UNCONVERTED = re.compile(r">(\\[A-Za-z]+|&)<")
_TEXT = re.compile(r"(<mtext[^>]*>)([^<]*)</mtext>")
_TEXT_ESCAPE = re.compile(r"\\([_%$#{}])")


class MathError(SphinxError):
    category = "Tadrib math error"


# -- Arabic --------------------------------------------------------------------------------------


def arabic_share(text: str) -> float:
    """The share of Arabic letters among the letters of ``text`` (0 when it has none)."""
    letters = len(_LETTER.findall(text))
    return len(_ARABIC_LETTER.findall(text)) / letters if letters else 0.0


def _prose(node: nodes.Node) -> str:
    """The text a reader reads in ``node``, code left out."""
    return "".join(t.astext() for t in node.findall(nodes.Text)
                   if not any(isinstance(a, _CODE) for a in _ancestors(t, node)))


def _ancestors(node: nodes.Node, stop: nodes.Node) -> list[nodes.Node]:
    found = []
    parent = node.parent
    while parent is not None and parent is not stop.parent:
        found.append(parent)
        parent = parent.parent
    return found


def mark_arabic(doctree: nodes.document) -> None:
    """Mark Arabic blocks, and Arabic phrases inside other blocks, with :data:`ARABIC_CLASS`."""
    if not _ARABIC_LETTER.search(doctree.astext()):
        return
    for block in list(doctree.findall(lambda n: isinstance(n, _BLOCKS))):
        assert isinstance(block, nodes.Element)
        if arabic_share(_prose(block)) > 0.5:
            block["classes"].append(ARABIC_CLASS)
    for text in list(doctree.findall(nodes.Text)):
        if text.parent is None or not _ARABIC_RUN.search(text):
            continue
        chain = [text.parent, *_ancestors(text.parent, doctree)]
        if any(isinstance(a, _CODE) or (isinstance(a, nodes.Element) and ARABIC_CLASS in a["classes"])
               for a in chain):
            continue
        text.parent.replace(text, _split_runs(str(text)))


def _split_runs(text: str) -> list[nodes.Node]:
    pieces: list[nodes.Node] = []
    last = 0
    for run in _ARABIC_RUN.finditer(text):
        if run.start() > last:
            pieces.append(nodes.Text(text[last:run.start()]))
        pieces.append(nodes.inline(run.group(), run.group(), classes=[ARABIC_CLASS]))
        last = run.end()
    if last < len(text):
        pieces.append(nodes.Text(text[last:]))
    return pieces


def rtl_attributes(body: str) -> str:
    """Give every element marked Arabic ``dir="rtl" lang="ar"`` in a page's HTML."""
    return _MARKED_TAG.sub(r'\1 dir="rtl" lang="ar"', body)


# -- math ----------------------------------------------------------------------------------------


def mathml(latex: str, *, display: str, where: str) -> str:
    """MathML for a LaTeX formula; :class:`MathError` names ``where`` when it cannot be converted."""
    try:
        markup: str = convert(latex, display=display)
    except Exception as error:  # latex2mathml raises a family of token errors
        raise MathError(_math_fix(latex, where, type(error).__name__)) from None
    markup = _TEXT.sub(lambda m: m.group(1) + _TEXT_ESCAPE.sub(r"\1", m.group(2)) + "</mtext>",
                       markup)
    bad = _UNCONVERTED.search(markup)
    if bad:
        raise MathError(_math_fix(latex, where, f"{html.unescape(bad.group(1))!r} is not supported"))
    return markup


def _math_fix(latex: str, where: str, why: str) -> str:
    return (f"{where}: the formula {latex!r} cannot be rendered offline as MathML ({why}); "
            "write it with common LaTeX (\\frac, \\sum, \\sqrt, _ and ^, \\text, cases, matrices).")


def _where(translator: HTML5Translator, node: nodes.Element) -> str:
    return f"{translator.builder.current_docname}, line {node.line or '?'}"


def _visit_inline(translator: HTML5Translator, node: nodes.Element) -> None:
    markup = mathml(node.astext(), display="inline", where=_where(translator, node))
    translator.body.append(f'<span class="math notranslate">{markup}</span>')
    raise nodes.SkipNode


def _visit_block(translator: HTML5Translator, node: nodes.Element) -> None:
    markup = mathml(node.astext(), display="block", where=_where(translator, node))
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate"))
    translator.body.append(markup + "</div>\n")
    raise nodes.SkipNode


# -- pages ---------------------------------------------------------------------------------------


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    mark_arabic(doctree)


def _drop_thebe(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """sphinx-thebe appends its configuration (a binder repository, a kernel) to every page."""
    for raw in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in raw.astext() or raw.astext().startswith("<script>kernelName"):
            raw.parent.remove(raw)


def _on_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
             doctree: nodes.document | None) -> None:
    if "body" in context:
        context["body"] = rtl_attributes(context["body"])
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [f for f in context[key] if not _is_thebe(f)]


def _is_thebe(asset: Any) -> bool:
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in str(getattr(asset, "filename", asset)) or "THEBE_JS_URL" in body


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_html_math_renderer("mathml", (_visit_inline, None), (_visit_block, None))
    app.connect("doctree-read", _on_doctree_read)
    app.connect("doctree-resolved", _drop_thebe, priority=900)
    app.connect("html-page-context", _on_page, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}

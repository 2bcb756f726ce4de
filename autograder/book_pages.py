"""The generated pages of the book, as text: pure functions of the catalogue and the releases.

Home page list of programmes, one syllabus per track and bootcamp, one page per module (duration and
pass mark from the catalogue, objectives from the first cell of each student notebook, the link that
opens the module in JupyterHub, the downloads), and the table of contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote, urlencode

from autograder.catalogue import Module, Programme

_OBJECTIVES = re.compile(r"^\s*(?:\*\*|__)?objectifs?(?:\*\*|__)?\s*(?:[—:–-]\s*)?(.*)$", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TITLE = re.compile(r"^#{1,6}\s+(.*)$")


@dataclass(frozen=True)
class StudentNotebook:
    """One notebook of a module as trainees receive it: file name and first markdown cell."""

    name: str
    first_cell: str

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem


@dataclass(frozen=True)
class Hub:
    """Where "Ouvrir dans JupyterHub" leads: the hub, and optionally a git repository of the
    student versions (``<programme>/<module>/<notebook>``) that nbgitpuller clones for the trainee."""

    url: str
    student_repo: str | None = None
    branch: str = "main"

    def link(self, programme: Programme, module: Module, notebook: str | None) -> str:
        base = self.url.rstrip("/") + "/hub/user-redirect/"
        if not self.student_repo:
            return base + "lab"
        folder = PurePosixPath(self.student_repo.rstrip("/").split("/")[-1]).stem
        target = "/".join(quote(p) for p in (folder, programme.id, module.id, notebook or "") if p)
        query = urlencode({"repo": self.student_repo, "branch": self.branch,
                           "urlpath": f"lab/tree/{target}"})
        return f"{base}git-pull?{query}"


def hours(minutes: int) -> str:
    hours_, rest = divmod(minutes, 60)
    return f"{hours_} h {rest:02d}" if hours_ else f"{rest} min"


def kind_label(programme: Programme) -> str:
    return "Parcours" if programme.kind == "track" else "Bootcamp"


def programme_list(programmes: tuple[Programme, ...]) -> str:
    """The home page's list of tracks and bootcamps."""
    lines = ["## Les parcours et les bootcamps", ""]
    for p in programmes:
        lines.append(f"- **[{p.title}]({p.id}/index.md)** ({kind_label(p)}, {len(p.modules)} "
                     f"modules, {hours(p.duration_minutes)}) — {p.summary}")
    return "\n".join(lines)


def syllabus(programme: Programme) -> str:
    """The programme's page: summary, audience, modules with durations, completion rule."""
    rule = programme.completion
    days = f" sur {programme.days} jours" if programme.days else ""
    lines = [f"# {programme.title}", "", programme.summary, "",
             f"**Public visé** : {programme.audience}", "",
             f"**Durée totale estimée** : {hours(programme.duration_minutes)}{days}", "",
             "## Programme", "", "| Module | Durée | Seuil de validation | Obligatoire |",
             "|---|---|---|---|"]
    for m in programme.modules:
        required = "oui" if m.id in rule.passed or m.id in rule.submitted else "non"
        lines.append(f"| [{m.title}]({m.id}/index.md) | {hours(m.duration_minutes)} | "
                     f"{round(m.pass_mark * 100)} % | {required} |")
    lines += ["", "## Validation", "",
              f"Le {kind_label(programme).lower()} est validé quand {_rule_text(programme)}."]
    return "\n".join(lines) + "\n"


def _rule_text(programme: Programme) -> str:
    titles = {m.id: m.title for m in programme.modules}
    parts = []
    if programme.completion.passed:
        parts.append("ces modules sont réussis : "
                     + ", ".join(titles[m] for m in programme.completion.passed))
    if programme.completion.submitted:
        parts.append("ces modules sont rendus : "
                     + ", ".join(titles[m] for m in programme.completion.submitted))
    return " ; et ".join(parts) or "ses modules sont réussis"


def objectives(first_cell: str) -> list[str]:
    """The objectives stated in a notebook's first cell: the line that starts with « Objectifs »
    (its text after the colon or dash, if any) and the list that follows it, as markdown lines."""
    lines = first_cell.splitlines()
    for index, line in enumerate(lines):
        found = _OBJECTIVES.match(line)
        if not found:
            continue
        lead = found.group(1).strip()
        lead = lead[:1].upper() + lead[1:]
        items: list[str] = [lead] if lead else []
        rest = lines[index + 1:]
        while rest and not rest[0].strip() and len(rest) > 1 and _LIST_ITEM.match(rest[1]):
            rest = rest[1:]
        if items and rest and _LIST_ITEM.match(rest[0]):
            items.append("")
        for follow in rest:
            if not follow.strip() or not (_LIST_ITEM.match(follow) or follow.startswith(" ")):
                break
            items.append(follow.rstrip())
        return items
    return []


def part_title(notebook: StudentNotebook) -> str:
    """The notebook's own subtitle (its first second-level heading), or its file name."""
    for line in notebook.first_cell.splitlines():
        heading = _TITLE.match(line)
        if heading and line.startswith("##"):
            return heading.group(1).strip()
    return notebook.stem


def module_page(programme: Programme, module: Module, notebooks: list[StudentNotebook],
                data: list[str], hub: Hub) -> tuple[str, list[str]]:
    """The module's page, and the notebooks whose first cell states no objectives."""
    required = "obligatoire" if module.required else "facultatif"
    lines = [f"# {module.title}", "",
             f"**Durée estimée** : {hours(module.duration_minutes)} · **Seuil de validation** : "
             f"{round(module.pass_mark * 100)} % · **Module {required}** du "
             f"{kind_label(programme).lower()} [{programme.title}](../index.md)", "",
             "## Objectifs", ""]
    missing = []
    for nb in notebooks:
        stated = objectives(nb.first_cell)
        if not stated:
            missing.append(nb.name)
            continue
        if len(notebooks) > 1:
            lines += [f"### {part_title(nb)}", ""]
        lines += [*stated, ""]
    if missing and len(missing) == len(notebooks):
        lines += ["Les objectifs sont présentés au début du carnet.", ""]
    lines += _work_section(programme, module, notebooks, data, hub)
    return "\n".join(lines) + "\n", missing


def _work_section(programme: Programme, module: Module, notebooks: list[StudentNotebook],
                  data: list[str], hub: Hub) -> list[str]:
    first = notebooks[0].name if notebooks else None
    lines = ["## Travailler sur ce module", "",
             f"```{{button-link}} {hub.link(programme, module, first)}",
             ":color: primary", ":class: tadrib-hub", "", "Ouvrir dans JupyterHub", "```", ""]
    if not hub.student_repo:
        lines += [f"Dans JupyterLab, ouvrez **Nbgrader › Assignment List**, choisissez le cours "
                  f"`{programme.id}` et récupérez (*Fetch*) le module `{module.id}`.", ""]
    lines += ["Les carnets de ce module, tels que vous les recevez (version stagiaire) :", ""]
    lines += [f"- [{nb.stem}]({nb.name}) — {{download}}`télécharger le carnet <{nb.name}>`"
              for nb in notebooks]
    if data:
        lines += ["", "Les données du module : "
                  + ", ".join(f"{{download}}`{name} <{name}>`" for name in data)]
    return lines


def nav_title(notebook: StudentNotebook, count: int) -> str:
    """A notebook's title in the sidebar, below its module's: « Carnet » for a module's only
    notebook (its own heading repeats the module's title, or names the bootcamp), else its part."""
    return "Carnet" if count == 1 else part_title(notebook)


def toc(programmes: tuple[Programme, ...],
        notebooks: dict[str, list[tuple[str, str]]]) -> dict[str, object]:
    """The Jupyter Book table of contents: one part per programme, a chapter per syllabus, its
    modules as sections, each module's notebooks below it (``notebooks`` maps module id → stems
    and sidebar titles)."""
    parts = []
    for p in programmes:
        sections = [{"file": f"{p.id}/{m.id}/index",
                     "sections": [{"file": f"{p.id}/{m.id}/{stem}", "title": title}
                                  for stem, title in notebooks[m.id]]}
                    for m in p.modules]
        # the part's caption already names the programme: its page is "Syllabus" in the sidebar
        parts.append({"caption": p.title,
                      "chapters": [{"file": f"{p.id}/index", "title": "Syllabus",
                                    "sections": sections}]})
    return {"format": "jb-book", "root": "intro", "parts": parts}

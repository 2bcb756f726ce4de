"""Minimisation of prompts before they leave the workspace (pure: no I/O).

:func:`redact` finds personal data in a text and replaces each finding by a typed placeholder:

- ``[EMAIL]``: email addresses (a regular expression);
- ``[IBAN]``: IBANs of any country, Morocco's ``MA`` + 26 digits included, and bare 24-digit
  Moroccan RIBs; a candidate must pass the ISO 7064 mod 97-10 check (``python-stdnum``);
- ``[CIN]``: Moroccan national identity card numbers, 1–2 letters + 5–7 digits (``AB123456``,
  ``J123456``), and every national id of the roster;
- ``[TEL]``: phone numbers, Moroccan by default (``06…``, ``+212…``, ``00212…``) and international,
  found and checked by ``phonenumbers``' ``PhoneNumberMatcher`` (region ``MA``);
- ``[ADRESSE]``: street addresses with a French or Darija cue (rue, avenue, bd, derb, hay, zanqa,
  résidence… ; زنقة، شارع، درب، حي) followed by a name or a number;
- ``[NOM]``: the roster's first, last and full names, ignoring case and accents, and Arabic-script
  names when they are given (the roster stores Latin names only: see :class:`Names`).

What was redacted is reported as ``(kind, HMAC-SHA256(key, kind:value))`` pairs, never the value, so a
coordinator can tell that the same value was sent twice without being able to read it.

Ambiguous names: a roster name that is also a common word (``Amal``, ``Nour``, ``Karim``, ``Blanc``…,
see :data:`COMMON_WORDS`) is redacted only when it is written capitalised (even at a sentence's
start), or stands next to another roster name, or follows a cue such as ``je m'appelle``,
``smiti``, ``M.``, ``Mme``, ``اسمي``; particles (``El``, ``Ben``, ``Aït``…) are redacted only as part
of a full name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.iso7064 import mod_97_10

KINDS = ("EMAIL", "IBAN", "CIN", "TEL", "ADRESSE", "NOM")
"""The kinds of finding, in priority order: where two overlap, the earlier kind wins."""

_COMMON_WORDS = """
amal nour noor karim said saida salam salma rose petit blanc leblanc lebrun marchal fatiha fadila
hayat iman imane wafa yasmine jamal jamila hanane farah sabah najat latifa hassan hasna malika rachid
amine amina aziz baraka habib hamid hakim kamal latif majid naim nasser rahma sadik salim sami
أمل نور كريم سعيد سعيدة سلام حياة إيمان وفاء جمال جميلة فرح صباح نجاة لطيفة حسن رحمة عزيز أمين أمينة
"""

PARTICLES = frozenset(("el", "al", "ben", "bent", "bin", "ibn", "ait", "ou", "oul", "bou", "abou",
                       "de", "du", "des", "la", "le", "d"))
"""Name particles: never redacted alone."""

_NAME_CUES = re.compile(
    r"(?:je\s+m'?\s*appelle|mon\s+nom\s+est|smiti|esmi|ismi|smitha|smito|\bm\.|\bmme\b|\bmlle\b|"
    r"\bmonsieur|\bmadame|\bsi\b|\blalla|اسمي|السيد|السيدة|الأستاذ|الأستاذة)\s*$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_RIB = re.compile(r"(?<![\d])(?:\d[ ]?){23}\d(?![\d])")
_CIN = re.compile(r"(?<![\w@.-])(?:[A-Za-z]{1,2}|[A-Z]{1,2} )\d{5,7}(?![\w@])")
_DECIMAL = re.compile(r"^\d[.,]\d+$")
_LATIN_CUES = (
    r"rue|avenue|av\.?|boulevard|bd|blvd|impasse|place|route|lotissement|lot\.?|résidence|residence|"
    r"rés\.?|immeuble|imm\.?|quartier|derb|hay|zanqa|znqa|zenqa|zanka|chari3|chare3|shari3"
)
_LATIN_NAME_WORD = r"(?:[A-ZÀ-Ý][\w'’-]*|\d{1,4}|de|des|du|la|le|d'|al|el|ibn|ben|ou|bis)(?![\w'])"
_ADDRESS_LATIN = re.compile(
    rf"(?:(?<!\w)\d{{1,4}}\s*(?:bis\s*)?,?\s*)?(?<!\w)(?i:{_LATIN_CUES})(?!\w)"
    rf"(?:\s+{_LATIN_NAME_WORD}){{1,6}}(?:\s*,?\s*(?:n°|no\.?|n|num|numéro|rqm|raqm)\s*\d{{1,4}})?",
)
_ADDRESS_ARABIC = re.compile(
    r"(?<![\u0600-\u06FF])(?:زنقة|شارع|درب|حي|إقامة|اقامة|عمارة|تجزئة)"
    r"(?:\s+(?:[\u0600-\u06FF]+|\d{1,4})){1,4}?"
    r"(?:\s*،?\s*(?:رقم|عدد)\s*\d{1,4}|(?=\s*[،,.!?؟\n]|\s*$))"
)
_ARABIC_ORTHOGRAPHY = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": ""})
_ARABIC_CLITICS = ("و", "ب", "ل", "ك", "ف")
_TOKEN = re.compile(r"[^\W\d_]+")  # apostrophes split: "d'Imane" -> d, Imane


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it is in the text."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """A redacted text and what was taken out, as ``(kind, keyed hash)`` pairs (never the value)."""

    text: str
    hashes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Names:
    """What the roster says about the people to protect: names (any script) and national ids.

    ``names`` are full names or single names as written in the roster ("Salma El Idrissi",
    "سلمى الإدريسي"); the roster holds Latin names only, Arabic-script ones come from an optional
    file (see :mod:`autograder.mistral.gateway_ledger`).
    """

    names: tuple[str, ...] = ()
    national_ids: tuple[str, ...] = ()
    _sequences: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, compare=False,
                                                               repr=False)

    @classmethod
    def of(cls, names: Iterable[str], national_ids: Iterable[str] = ()) -> Names:
        """Index the names for matching: each full name and each of its parts."""
        sequences: set[tuple[str, ...]] = set()
        for name in names:
            tokens = tuple(fold(t) for t in _TOKEN.findall(name))
            if tokens:
                sequences.add(tokens)
                sequences.update((t,) for t in tokens if t not in PARTICLES and len(t) > 1)
        index: dict[str, list[tuple[str, ...]]] = {}
        for sequence in sequences:
            index.setdefault(sequence[0], []).append(sequence)
        frozen = {k: tuple(sorted(v, key=len, reverse=True)) for k, v in index.items()}
        return cls(tuple(names), tuple(i.upper() for i in national_ids if i), frozen)

    def sequences(self, first: str) -> tuple[tuple[str, ...], ...]:
        return self._sequences.get(first, ())


def fold(word: str) -> str:
    """Case, accents, Arabic vowel marks and letter variants ignored: 'Aït' -> 'ait', 'أمل' -> 'امل'."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.translate(_ARABIC_ORTHOGRAPHY).replace("’", "'")


COMMON_WORDS = frozenset(fold(word) for word in _COMMON_WORDS.split())
"""Names that are also everyday words (French, Darija, Arabic: hope, light, generous, peace, joy…)."""


def find(text: str, names: Names | None = None) -> list[Finding]:
    """Every piece of personal data in ``text``, without overlaps, in order."""
    found = [*_emails(text), *_ibans(text), *_cins(text, names), *_phones(text), *_addresses(text),
             *_names(text, names or Names())]
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (KINDS.index(f.kind), f.start)):
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str, *, key: bytes, names: Names | None = None) -> Redaction:
    """``text`` with each finding replaced by ``[KIND]``, and the keyed hashes of what was replaced."""
    findings = find(text, names)
    pieces: list[str] = []
    hashes: list[tuple[str, str]] = []
    position = 0
    for finding in findings:
        value = text[finding.start:finding.end]
        pieces += [text[position:finding.start], f"[{finding.kind}]"]
        hashes.append((finding.kind, value_hash(key, finding.kind, value)))
        position = finding.end
    pieces.append(text[position:])
    return Redaction("".join(pieces), tuple(hashes))


def value_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of the normalised value: the same email written twice hashes the same."""
    normal = " ".join(fold(value).split()) if kind in ("NOM", "ADRESSE", "EMAIL") else \
        re.sub(r"[\s.()-]", "", value).upper()
    return hmac.new(key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()


def _emails(text: str) -> list[Finding]:
    return [Finding("EMAIL", m.start(), m.end()) for m in _EMAIL.finditer(text)]


def _ibans(text: str) -> list[Finding]:
    found = []
    for match in _IBAN.finditer(text):
        number = match.group().replace(" ", "")
        moroccan = number.startswith("MA") and len(number) == 28 and number[2:].isdigit()
        if stdnum_iban.is_valid(number) or (moroccan and mod_97_10.is_valid(number[4:] + number[:4])):
            found.append(Finding("IBAN", match.start(), match.end()))
    for match in _RIB.finditer(text):
        if int(match.group().replace(" ", "")) % 97 == 0:  # the RIB key makes the 24 digits ≡ 0
            found.append(Finding("IBAN", match.start(), match.end()))
    return found


def _cins(text: str, names: Names | None) -> list[Finding]:
    found = [Finding("CIN", m.start(), m.end()) for m in _CIN.finditer(text)]
    for national_id in names.national_ids if names else ():
        for match in re.finditer(rf"(?<!\w){re.escape(national_id)}(?!\w)", text, re.IGNORECASE):
            found.append(Finding("CIN", match.start(), match.end()))
    return found


def _phones(text: str) -> list[Finding]:
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, "MA"):
        if not _DECIMAL.match(match.raw_string):  # "0.612345678" is a number, not a phone
            found.append(Finding("TEL", match.start, match.end))
    return found


def _addresses(text: str) -> list[Finding]:
    found = []
    for pattern in (_ADDRESS_LATIN, _ADDRESS_ARABIC):
        for match in pattern.finditer(text):
            found.append(Finding("ADRESSE", match.start(), match.end()))
    return found


def _names(text: str, names: Names) -> list[Finding]:
    tokens = [(fold(m.group()), m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    found: list[Finding] = []
    index = 0
    while index < len(tokens):
        hit = _name_at(text, tokens, index, names)
        if hit is None:
            index += 1
            continue
        start, end, length = hit
        found.append(Finding("NOM", start, end))
        index += length
    return found


def _name_at(text: str, tokens: list[tuple[str, int, int, str]], index: int,
             names: Names) -> tuple[int, int, int] | None:
    """(start, end, tokens used) of the roster name beginning at token ``index``, if any."""
    word, start, _, written = tokens[index]
    offset = 0
    candidates = names.sequences(word)
    while not candidates and offset < 2 and word[offset:offset + 1] in _ARABIC_CLITICS \
            and len(word) - offset > 3:
        offset += 1  # "ولسلمى": and + to + Salma
        candidates = names.sequences(word[offset:])
    for sequence in candidates:
        window = tokens[index:index + len(sequence)]
        first = word[offset:]
        if len(window) < len(sequence) or (first, *(t[0] for t in window[1:])) != sequence:
            continue
        if len(sequence) == 1 and first in COMMON_WORDS and not _clearly_a_name(
                text, tokens, index, names, written[offset:]):
            continue
        return start + offset, window[-1][2], len(sequence)
    return None


def _clearly_a_name(text: str, tokens: list[tuple[str, int, int, str]], index: int, names: Names,
                    written: str) -> bool:
    """Whether a name that is also a common word is used as a name here."""
    start = tokens[index][1]
    if _NAME_CUES.search(text[max(0, start - 20):start]):
        return True
    neighbours = [tokens[i][0] for i in (index - 1, index + 1) if 0 <= i < len(tokens)]
    if any(n not in COMMON_WORDS and names.sequences(n) for n in neighbours):
        return True
    return written[:1].isupper()  # even at a sentence's start: better a word hidden than a name sent

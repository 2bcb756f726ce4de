"""Minimisation: what the gateway takes out of a prompt before it leaves (autograder/redact.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from autograder.redact import KINDS, Finding, Names, find, redact, value_hash

SAMPLE = Path(__file__).parent / "data" / "redaction_sample.jsonl"
KEY = b"test-key"

# Recall we require on the labelled sample, per kind. Structured identifiers (emails, checked IBANs
# and RIBs, CINs, valid phone numbers) are found by patterns and checksums: anything under 0.95 is a
# regression. Names come from the roster, so only spelling variants escape (0.9). Addresses are free
# text found by cue words ("where detectable" in issue 10): 0.8, and docs/mistral.md says so.
RECALL_FLOOR = {"EMAIL": 0.95, "IBAN": 0.95, "CIN": 0.95, "TEL": 0.95, "NOM": 0.9, "ADRESSE": 0.8}


def _sample() -> tuple[Names, list[dict[str, object]]]:
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line]
    roster, records = lines[0], lines[1:]
    return Names.of(roster["roster_names"], roster["roster_ids"]), records


def _covered(text: str, span: tuple[int, int], findings: list[Finding], kind: str) -> bool:
    """Is every non-space character of the labelled span inside a finding of its kind?"""
    inside = {i for f in findings if f.kind == kind for i in range(f.start, f.end)}
    return all(i in inside for i in range(*span) if not text[i].isspace())


def _score() -> dict[str, tuple[int, int, int, int]]:
    """Per kind: (labelled spans found, labelled spans, findings that hit a label, findings)."""
    names, records = _sample()
    found, labelled, true_hits, predicted = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for record in records:
        text = str(record["text"])
        findings = find(text, names)
        gold = []
        for span in record["spans"]:  # type: ignore[attr-defined]
            start = text.index(span["text"])
            gold.append((span["kind"], start, start + len(span["text"])))
            labelled[span["kind"]] += 1
            found[span["kind"]] += _covered(text, (start, start + len(span["text"])), findings, span["kind"])
        for f in findings:
            predicted[f.kind] += 1
            true_hits[f.kind] += any(k == f.kind and f.start < e and s < f.end for k, s, e in gold)
    return {k: (found[k], labelled[k], true_hits[k], predicted[k]) for k in KINDS}


def test_sample_is_large_and_covers_every_language_and_kind() -> None:
    """Does the labelled sample hold at least 60 texts in French, Arabic and both Darija scripts,
    with every kind of personal data in it?"""
    _, records = _sample()
    assert len(records) >= 60
    assert {r["lang"] for r in records} == {"fr", "ar", "darija-ar", "darija-latn"}
    assert {s["kind"] for r in records for s in r["spans"]} == set(KINDS)  # type: ignore[attr-defined]


def test_recall_and_precision_on_the_labelled_sample(capsys: pytest.CaptureFixture[str]) -> None:
    """Does redaction find at least the promised share of each kind of personal data in the sample?"""
    scores = _score()
    with capsys.disabled():
        print("\nkind      recall          precision")
        for kind, (hit, total, right, predicted) in scores.items():
            print(f"{kind:8}  {hit:>3}/{total:<3} {hit / total:.2f}   "
                  f"{right:>3}/{predicted:<3} {right / max(predicted, 1):.2f}")
    for kind, (hit, total, _, _) in scores.items():
        assert hit / total >= RECALL_FLOOR[kind], f"{kind}: recall {hit}/{total}"
    right = sum(s[2] for s in scores.values())
    assert right / sum(s[3] for s in scores.values()) >= 0.9


NAMES = Names.of(["Amal Bennani", "Salma El Idrissi", "Rose Petit", "أمل بناني"], ["BE789456"])


@pytest.mark.parametrize("text", [
    "En 2025, le budget est de 1 200 000 dirhams.",
    "Le score du modèle est 0.612345678.",
    "Commande n° 0612345678901 livrée.",
    "Le 12/06/2025 à 14h, salle 301.",
    "MA88011780000012345678901234",  # an IBAN whose check digits are wrong
    "011780000012345678901234",  # 24 digits that are not a RIB: the key does not match
])
def test_numbers_that_are_not_personal_data_stay(text: str) -> None:
    """Is a number that is not a phone, an IBAN or a RIB left as it is?"""
    assert redact(text, key=KEY, names=NAMES).text == text


def test_a_name_that_is_a_common_word() -> None:
    """Is 'amal' (hope) left in a sentence, while Amal the trainee is hidden wherever she is named?"""
    assert redact("l amal kbir bzaf", key=KEY, names=NAMES).text == "l amal kbir bzaf"
    assert redact("dans la rue, une rose", key=KEY, names=NAMES).text == "dans la rue, une rose"
    assert redact("smiti amal", key=KEY, names=NAMES).text == "smiti [NOM]"
    assert redact("Amal a écrit.", key=KEY, names=NAMES).text == "[NOM] a écrit."
    assert redact("amal bennani a écrit", key=KEY, names=NAMES).text == "[NOM] a écrit"
    assert redact("عندي أمل كبير", key=KEY, names=NAMES).text == "عندي أمل كبير"
    assert redact("اسمي أمل", key=KEY, names=NAMES).text == "اسمي [NOM]"


def test_particles_alone_stay_and_accents_do_not_matter() -> None:
    """Is 'El' alone kept, while 'SALMA el idrissi' and 'Sàlma' are hidden?"""
    assert redact("El modelo", key=KEY, names=NAMES).text == "El modelo"
    assert redact("SALMA el idrissi", key=KEY, names=NAMES).text == "[NOM]"
    assert redact("Sàlma écrit", key=KEY, names=NAMES).text == "[NOM] écrit"


def test_hashes_never_hold_the_value_and_are_stable() -> None:
    """Are findings reported as keyed hashes, equal for the same email written in two cases?"""
    first = redact("salma@example.ma", key=KEY)
    second = redact("SALMA@example.ma", key=KEY)
    assert first.hashes == second.hashes == (("EMAIL", value_hash(KEY, "EMAIL", "salma@example.ma")),)
    assert "salma" not in json.dumps(first.hashes)
    assert redact("salma@example.ma", key=b"other").hashes != first.hashes


def test_roster_national_ids_are_hidden_in_any_case() -> None:
    """Is a roster CIN written in lower case hidden?"""
    assert redact("ma carte be789456", key=KEY, names=NAMES).text == "ma carte [CIN]"

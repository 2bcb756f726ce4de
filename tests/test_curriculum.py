"""The curriculum as a whole: model access only through the configured endpoint, no key anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder import notebooks as nbs
from autograder.catalogue import load_catalogue

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for m in load_catalogue(REPO).modules() for p in m.notebooks)
KEY_ASSIGNMENT = re.compile(r"api_key\s*=\s*[\"'][^\"']+[\"']|MISTRAL_API_KEY\"?\]?\s*=\s*[\"']")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_carries_no_key_and_builds_no_client(path: Path) -> None:
    """Does the notebook reach models only through autograder.llm, with no API key in it?"""
    text = "\n".join(cell.source for cell in nbs.read(path).cells)
    assert not KEY_ASSIGNMENT.search(text), f"{path}: an API key is written in the notebook"
    assert "Mistral(" not in text.replace("ClientSimule", ""), (
        f"{path}: builds its own Mistral client; use `from autograder.llm import client`")

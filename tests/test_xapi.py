"""xAPI statements (passed, completed; pseudonymous accounts) round-trip through a real LRS
(Ralph, started locally by the fixture)."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from autograder.steering import xapi
from autograder.xapi import Achievement, statement
from tests.fixtures_indicators import IndicatorWorld, completes, make_world
from tests.fixtures_lrs import LRS

pytestmark = pytest.mark.xdist_group("lrs")  # its module-scoped server runs once


def _stored(lrs: LRS, **query: str) -> list[dict[str, Any]]:
    token = base64.b64encode(f"{lrs.user}:{lrs.password}".encode()).decode()
    url = f"{lrs.url}/statements?{urllib.parse.urlencode({'limit': 500, **query})}"
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}",
                                                   "X-Experience-API-Version": "1.0.3"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["statements"]  # type: ignore[no-any-return]


def test_statement_is_pseudonymous_and_stable() -> None:
    """Does a statement carry only the pseudonym as its actor, with an id that does not change?"""
    achievement = Achievement("passed", "t0123456789abcdef", "track-a", "a-01-python", "Module",
                              datetime(2026, 7, 1, 10), 8.0, 10.0)
    first, second = statement(achievement), statement(achievement)
    assert first == second
    assert first["actor"] == {"objectType": "Agent", "account": {
        "homePage": "https://tadrib.invalid", "name": "t0123456789abcdef"}}
    assert first["result"]["score"]["scaled"] == 0.8


@pytest.fixture
def graded(tmp_path: Path) -> IndicatorWorld:
    world = make_world(tmp_path, 6)
    rows = completes(world.trainees[0], datetime(2026, 7, 2))
    rows += completes(world.trainees[1], datetime(2026, 8, 2))[:1]
    world.record(rows)
    return world


def test_round_trip_through_ralph(graded: IndicatorWorld, lrs: LRS) -> None:
    """Are passed and completed statements stored by the LRS as sent, under pseudonyms only, and
    is sending them again harmless (no duplicate)?"""
    options = {"lrs_url": lrs.url, "quarter": "2026Q3", "user": lrs.user,
               "password": lrs.password, "root": graded.root, "workspace": graded.workspace,
               "db_url": ""}
    sent = xapi(**options)  # type: ignore[arg-type]
    first = graded.trainees[0]
    modules = 3 if first.track == "track-a" else 2
    assert sent == modules + 1 + 1  # first: every module + the track; second: one module
    assert xapi(**options) == sent  # type: ignore[arg-type]
    stored = _stored(lrs)
    assert len(stored) == sent
    ids = graded.ids
    actors = {s["actor"]["account"]["name"] for s in stored}
    assert actors == {ids[first.national_id], ids[graded.trainees[1].national_id]}
    verbs = sorted(s["verb"]["id"].rsplit("/", 1)[1] for s in stored
                   if s["actor"]["account"]["name"] == ids[first.national_id])
    assert verbs == ["completed"] + ["passed"] * modules
    dump = json.dumps(stored).lower()
    for trainee in graded.trainees:
        for secret in (trainee.national_id, trainee.email, trainee.last_name):
            assert secret.lower() not in dump
    agent = json.dumps({"objectType": "Agent", "account": {"homePage": "https://tadrib.invalid",
                                                           "name": ids[first.national_id]}})
    assert len(_stored(lrs, agent=agent)) == modules + 1

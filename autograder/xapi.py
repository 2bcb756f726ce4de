"""xAPI statements (pure): ``passed`` for a module, ``completed`` for a track or bootcamp.

The actor is a pseudonymous account (the trainee's pseudonym on the platform's IRI): no name, no
email, no cohort or region. Statement ids are UUID 5 of their content, so sending a statement twice
gives the Learning Record Store the same id and it keeps one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

XAPI_VERSION = "1.0.3"
DEFAULT_PLATFORM_IRI = "https://tadrib.invalid"
VERBS = {
    "passed": ("http://adlnet.gov/expapi/verbs/passed", "a réussi"),
    "completed": ("http://adlnet.gov/expapi/verbs/completed", "a achevé"),
}


@dataclass(frozen=True)
class Achievement:
    """A trainee passed a module or completed a programme, at a given time."""

    verb: str
    student_id: str
    programme_id: str
    module_id: str | None
    title: str
    at: datetime
    score: float | None = None
    max_score: float | None = None


def _iso(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")


def activity_iri(platform: str, programme_id: str, module_id: str | None) -> str:
    tail = f"{programme_id}/{module_id}" if module_id else programme_id
    return f"{platform.rstrip('/')}/xapi/activities/{tail}"


def statement(achievement: Achievement, platform: str = DEFAULT_PLATFORM_IRI) -> dict[str, Any]:
    verb_iri, verb_label = VERBS[achievement.verb]
    kind = "module" if achievement.module_id else "course"
    body: dict[str, Any] = {
        "actor": {"objectType": "Agent",
                  "account": {"homePage": platform, "name": achievement.student_id}},
        "verb": {"id": verb_iri, "display": {"fr": verb_label}},
        "object": {"objectType": "Activity",
                   "id": activity_iri(platform, achievement.programme_id, achievement.module_id),
                   "definition": {"name": {"fr": achievement.title},
                                  "type": f"http://adlnet.gov/expapi/activities/{kind}"}},
        "timestamp": _iso(achievement.at),
        "context": {"platform": "Tadrib", "language": "fr"},
    }
    if achievement.verb == "passed" and achievement.max_score:
        score = float(achievement.score or 0)
        body["result"] = {"success": True, "score": {
            "scaled": round(min(1.0, score / achievement.max_score), 4), "raw": score, "min": 0.0,
            "max": float(achievement.max_score)}}
    else:
        body["result"] = {"success": True, "completion": True}
    key = "|".join((achievement.verb, achievement.student_id, body["object"]["id"],
                    body["timestamp"]))
    return {"id": str(uuid5(NAMESPACE_URL, f"{platform}|{key}")), **body}

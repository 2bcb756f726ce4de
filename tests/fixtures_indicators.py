"""Shared fixtures of the indicator tests: a small two-track catalogue (YAML only), synthetic
rosters imported through the real import, and gradebooks written with nbgrader's own tables."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from autograder.nbgrader_course import GradebookRow, bulk_record
from autograder.roster import COLUMNS, EMPLOYER_TYPES, REGIONS, import_roster

TRACKS = {
    "track-a": ("courses", "track.yml", ["a-01-python", "a-02-stats", "a-03-ml"]),
    "track-b": ("courses", "track.yml", ["b-01-sql", "b-02-api"]),
}
MAX_SCORE = 10.0


def write_catalogue(root: Path, tracks: dict[str, tuple[str, str, list[str]]] = TRACKS) -> Path:
    """A catalogue of YAML files only (indicators do not read notebooks)."""
    for track, (folder, name, modules) in tracks.items():
        path = root / folder / track / name
        path.parent.mkdir(parents=True, exist_ok=True)
        listed = "\n".join(f"  - id: {m}\n    title: \"Module {m}\"\n    duration_minutes: 60"
                           for m in modules)
        path.write_text(f"id: {track}\ntitle: \"Parcours {track}\"\nsummary: \"s\"\n"
                        f"audience: \"a\"\npass_mark: 0.7\nmodules:\n{listed}\n"
                        "completion:\n  passed: all\n", encoding="utf-8")
    return root


@dataclass(frozen=True)
class Trainee:
    national_id: str
    email: str
    first_name: str
    last_name: str
    cohort: str
    track: str
    region: str
    gender: str
    institution: str
    employer_type: str


def synthetic_trainees(count: int, seed: int = 7, tracks: Iterable[str] = TRACKS,
                       regions: tuple[str, ...] = REGIONS[:4]) -> list[Trainee]:
    rng = random.Random(seed)
    names = ["Amina", "Youssef", "Salma", "Omar", "Khadija", "Hamza", "Meryem", "Anas"]
    families = ["Alaoui", "Bennani", "Tazi", "Idrissi", "Berrada", "Chraibi", "Fassi", "Kettani"]
    track_list = list(tracks)
    people = []
    for i in range(count):
        first, last = rng.choice(names), rng.choice(families)
        people.append(Trainee(
            f"AB{100000 + i}", f"{first.lower()}.{last.lower()}{i}@mail.example",
            first, f"{last}{i}", rng.choice(["2026-A", "2026-B"]), track_list[i % len(track_list)],
            rng.choice(regions), rng.choice("FM"), f"Institution {i % 5}",
            rng.choice(EMPLOYER_TYPES[:3])))
    return people


def write_roster(path: Path, trainees: Iterable[Trainee]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for t in trainees:
            out.writerow([getattr(t, c) for c in COLUMNS])
    return path


def pseudonyms(workspace: Path) -> dict[str, str]:
    """national id -> pseudonym, read back from the private roster."""
    import sqlite3

    with sqlite3.connect(workspace / "private" / "roster.db") as db:
        return dict(db.execute("SELECT national_id, pseudonym FROM trainee"))


@dataclass
class IndicatorWorld:
    """A catalogue, a workspace with an imported roster, and a way to record graded work."""

    root: Path
    workspace: Path
    trainees: list[Trainee]
    roster_csv: Path

    @property
    def ids(self) -> dict[str, str]:
        return pseudonyms(self.workspace)

    def record(self, rows: list[tuple[str, str, float, datetime]], manual: bool = False) -> None:
        """(national id, module, score out of 10, when) rows, written to the right gradebooks."""
        ids = self.ids
        for track, (_, _, modules) in TRACKS.items():
            mine = [GradebookRow(ids[nid], module, score, MAX_SCORE, manual, when)
                    for nid, module, score, when in rows if module in modules]
            if mine:
                course = self.workspace / "courses" / track
                course.mkdir(parents=True, exist_ok=True)
                bulk_record(f"sqlite:///{course / 'gradebook.db'}", track,
                            dict.fromkeys(modules, MAX_SCORE), mine)


def make_world(tmp: Path, count: int, seed: int = 7) -> IndicatorWorld:
    root = write_catalogue(tmp / "catalogue")
    workspace = tmp / "ws"
    trainees = synthetic_trainees(count, seed)
    roster_csv = write_roster(tmp / "roster.csv", trainees)
    import_roster(file=roster_csv, root=root, workspace=workspace, db_url="")
    return IndicatorWorld(root, workspace, trainees, roster_csv)


def completes(trainee: Trainee, start: datetime, days: int = 3) -> list[tuple[str, str, float, datetime]]:
    """Rows of a trainee who passes every module of their track, one every ``days`` days."""
    modules = TRACKS[trainee.track][2]
    return [(trainee.national_id, m, 9.0, start + timedelta(days=days * i))
            for i, m in enumerate(modules)]

"""Benchmark: `tadrib indicators` against stock `nbgrader export`, then at programme scale.

    .venv/bin/python benchmarks/indicators.py            # 2,000 x 10, then 100,000 x 20
    .venv/bin/python benchmarks/indicators.py --small    # 200 x 10, then 5,000 x 20 (a quick look)
    .venv/bin/python benchmarks/indicators.py --part 1   # only the comparison with nbgrader export

1. Builds a gradebook of 2,000 trainees x 10 modules (20k graded submissions) in bulk, with a
   roster imported through the real import; times stock `nbgrader export` (it takes minutes) and
   `tadrib indicators` on it in the same run, and prints the ratio.
2. 100,000 trainees x 20 modules (2M submissions) on SQLite, then on PostgreSQL (127.0.0.1:5432,
   database tadrib_bench, recreated): `tadrib indicators` in a child process, its wall time and
   peak memory against the targets (30 s, 2 GiB).

The last line is ``speedup: <ratio>``. Not run in CI.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.nbgrader_course import Course, GradebookRow, bulk_record  # noqa: E402
from autograder.roster import COLUMNS, EMPLOYER_TYPES, REGIONS, import_roster  # noqa: E402
from autograder.steering import indicators  # noqa: E402

TRACK = "bench-track"
QUARTER = "2026Q3"
PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"
PG_URL = "postgresql://root@127.0.0.1:5432/tadrib_bench"
TARGET_S, TARGET_BYTES = 30.0, 2 * 1024**3


def catalogue(root: Path, modules: int) -> list[str]:
    ids = [f"bench-{i:02d}" for i in range(1, modules + 1)]
    folder = root / "courses" / TRACK
    folder.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"  - id: {m}\n    title: \"Module {m}\"\n    duration_minutes: 60\n"
                     for m in ids)
    (folder / "track.yml").write_text(
        f"id: {TRACK}\ntitle: \"Parcours de mesure\"\nsummary: \"s\"\naudience: \"a\"\n"
        f"pass_mark: 0.7\nmodules:\n{listed}completion:\n  passed: all\n", encoding="utf-8")
    return ids


def roster(path: Path, trainees: int, seed: int) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(trainees):
            out.writerow([f"BK{i:06d}", f"trainee{i}@bench.example", "Prénom", f"Nom{i}",
                          f"2026-{rng.choice('ABCD')}", TRACK, rng.choice(REGIONS),
                          rng.choice("FM"), f"Institution {i % 50}", rng.choice(EMPLOYER_TYPES)])
    return path


def rows(pseudonyms: list[str], modules: list[str], seed: int) -> list[GradebookRow]:
    rng = random.Random(seed)
    start = datetime(2026, 4, 1)
    out = []
    for student in pseudonyms:
        skill = rng.random()
        day = rng.randint(0, 150)
        for index, module in enumerate(modules):
            when = start + timedelta(days=day + 3 * index, minutes=rng.randint(0, 600))
            out.append(GradebookRow(student, module, round(10 * min(1.0, skill + rng.random() / 3), 1),
                                    10.0, False, when))
    return out


def build(base: Path, trainees: int, modules: int, db_url: str | None, seed: int) -> tuple[Path, Path]:
    """A catalogue, a workspace with the roster imported, and the gradebook filled in bulk."""
    root = base / "catalogue"
    ws = base / "ws"
    ids = catalogue(root, modules)
    started = time.perf_counter()
    import_roster(file=roster(base / "roster.csv", trainees, seed), root=root, workspace=ws,
                  db_url=db_url or "")
    imported = time.perf_counter() - started
    import sqlite3

    with sqlite3.connect(ws / "private" / "roster.db") as db:
        pseudonyms = [p for (p,) in db.execute("SELECT pseudonym FROM trainee ORDER BY pseudonym")]
    course = Course(ws / "courses" / TRACK, TRACK, db_url)
    started = time.perf_counter()
    written = bulk_record(course.gradebook_url, TRACK, dict.fromkeys(ids, 10.0),
                          rows(pseudonyms, ids, seed))
    print(f"  built: roster of {trainees:,} imported in {imported:.1f} s; {written:,} graded "
          f"submissions written in {time.perf_counter() - started:.1f} s", flush=True)
    course.write_config()
    return root, ws


def child(command: list[str], cwd: Path) -> tuple[float, int, int, float]:
    """Run a command; (wall seconds, peak resident bytes, exit code, CPU seconds)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status:
        print(process.stderr.read().decode()[-2000:] if process.stderr else "", file=sys.stderr)
    return (wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status),
            usage.ru_utime + usage.ru_stime)


def versus_stock(base: Path, trainees: int, modules: int) -> float:
    print(f"1. {trainees:,} trainees x {modules} modules: stock nbgrader export vs tadrib indicators")
    root, ws = build(base, trainees, modules, None, seed=1)
    course = ws / "courses" / TRACK
    bindir = Path(sys.executable).parent
    stock, _, code, _ = child([str(bindir / "nbgrader"), "export"], course)
    assert code == 0, "nbgrader export failed"
    exported = sum(1 for _ in (course / "grades.csv").open(encoding="utf-8")) - 1
    runs = []
    for _ in range(6):  # the first run also imports matplotlib, jinja2 and jsonschema
        started = time.perf_counter()
        indicators(quarter=QUARTER, root=root, workspace=ws, db_url="")
        runs.append(time.perf_counter() - started)
    cold, warm = runs[0], min(runs[1:])
    cli, _, code, _ = child([str(bindir / "tadrib"), "indicators", "--quarter", QUARTER, "--root",
                          str(root), "--workspace", str(ws)], ROOT)
    assert code == 0, "tadrib indicators failed"
    print(f"  stock `nbgrader export` ({exported:,} rows): {stock:.2f} s")
    print(f"  `tadrib indicators` (read, rules, suppression, CSV + JSON + HTML): {warm:.3f} s in "
          f"process ({cold:.3f} s for the first call, imports included); {cli:.2f} s as a command "
          "(Python start-up and every import included)")
    print(f"  ratio: {stock / warm:,.0f}x in process, {stock / cold:,.0f}x first call, "
          f"{stock / cli:,.0f}x as a command", flush=True)
    return stock / warm


def at_scale(base: Path, trainees: int, modules: int, db_url: str | None, label: str) -> bool:
    print(f"2. {trainees:,} trainees x {modules} modules on {label}")
    root, ws = build(base, trainees, modules, db_url, seed=2)
    command = [str(Path(sys.executable).parent / "tadrib"), "indicators", "--quarter", QUARTER,
               "--root", str(root), "--workspace", str(ws)]
    if db_url:
        command += ["--db-url", db_url]
    wall, peak, code, cpu = child(command, ROOT)
    ok = code == 0 and wall <= TARGET_S and peak <= TARGET_BYTES
    print(f"  tadrib indicators: {wall:.1f} s (target <= {TARGET_S:.0f} s; {cpu:.1f} s of CPU in "
          f"the command, the database server's not counted), peak memory "
          f"{peak / 1024**2:,.0f} MiB (target <= {TARGET_BYTES / 1024**3:.0f} GiB): "
          f"{'OK' if ok else 'MISSED'}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores", flush=True)
    return ok


def fresh_postgres() -> bool:
    try:
        import psycopg
    except ImportError:
        print("  PostgreSQL skipped: psycopg is not installed (pip install -e .[scale])")
        return False
    try:
        with psycopg.connect(PG_ADMIN.replace("postgresql://", "postgresql://", 1),
                             autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS tadrib_bench")
            admin.execute("CREATE DATABASE tadrib_bench")
    except psycopg.OperationalError as error:
        print(f"  PostgreSQL skipped: no server at 127.0.0.1:5432 ({error})")
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick look at smaller sizes")
    parser.add_argument("--part", type=int, choices=(1, 2), help="only part 1 or only part 2")
    args = parser.parse_args()
    first, scale = ((200, 10), (5_000, 20)) if args.small else ((2_000, 10), (100_000, 20))
    limit = resource.getrlimit(resource.RLIMIT_AS)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, address-space limit {limit[0]}")
    with tempfile.TemporaryDirectory(prefix="tadrib-bench-") as tmp:
        base = Path(tmp)
        speedup = versus_stock(base / "stock", *first) if args.part != 2 else float("nan")
        if args.part != 1:
            at_scale(base / "sqlite", *scale, None, "SQLite")
            if fresh_postgres():
                at_scale(base / "postgres", *scale, PG_URL, "PostgreSQL")
    print(f"speedup: {speedup:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

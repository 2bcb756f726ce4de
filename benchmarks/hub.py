"""Capacity of `tadrib hub` on this machine: N trainees log in at once; how long until each one's
JupyterLab is ready, and how much memory each trainee takes.

    sudo python benchmarks/hub.py [--trainees 20] [--no-kernel] [--keep]

Root only (the hub creates a Unix account per trainee). In a throw-away workspace under /tmp, with
the one-module catalogue of the tests: a roster of N synthetic trainees is imported, the hub is
started, every trainee signs up and an admin approves them (not timed). Then all N log in at the
same moment (one thread each, as N browsers would); logging in starts the trainee's server, and the
spawn latency of a trainee is the time from their login request until the hub reports their server
ready. With kernels (the default), each trainee then starts one Python kernel in their server, as
opening a notebook does.

Memory per trainee is the unique set size (USS: memory freed if the trainee left) of every process
of the trainee's Unix account (their server and kernel), read once all are running. The last lines
print how many such trainees a machine of common sizes holds, keeping 2 GiB for the system, the hub
and the proxy (idle trainees: a kernel running real work takes more, see docs/hub.md).

Every account, server and file started is removed at the end (``--keep`` keeps the workspace).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.hub import remove_hub_accounts, running_hub  # noqa: E402
from autograder.hub_accounts import unix_name  # noqa: E402
from autograder.hub_client import HubAdmin, HubUser  # noqa: E402
from autograder.roster import Roster, import_roster  # noqa: E402

MINI = ROOT / "tests" / "fixtures" / "mini"
TRACK = "mini-track"
PASSWORD = "Banc-d-essai-hub-2026"
HEADER = "national_id,email,first_name,last_name,cohort,track,region,gender,institution,employer_type"
RESERVED_GIB = 2.0
MACHINES_GIB = (16, 32, 64, 128)


def _workspace(trainees: int) -> tuple[Path, Path, list[str]]:
    base = Path(tempfile.mkdtemp(prefix="tadrib-hub-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    root = base / "catalogue"
    shutil.copytree(MINI, root)
    ws = base / "ws"
    ws.mkdir()
    ids = [f"BK{index:06d}" for index in range(trainees)]
    rows = [f"{cin},,Stagiaire{index},Essai,2026-BENCH,{TRACK},Rabat-Salé-Kénitra,"
            f"{'F' if index % 2 else 'M'},Ministère,ministry" for index, cin in enumerate(ids)]
    (base / "roster.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    import_roster(file=base / "roster.csv", root=root, workspace=ws, db_url="")
    return root, ws, Roster.of(ws).pseudonyms(ids)


def _spawn_all(url: str, api: HubAdmin, names: list[str]) -> dict[str, float]:
    """Every trainee logs in at once; seconds from login to a ready server, per trainee."""
    latency: dict[str, float] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(names))

    def one(name: str) -> None:
        user = HubUser(url, name)
        barrier.wait()
        start = time.perf_counter()
        try:
            landed = user.log_in(PASSWORD)
            if landed.endswith("/hub/login"):
                raise RuntimeError("login refused")
            api.wait_ready(name, start=False, timeout_s=600)
            latency[name] = time.perf_counter() - start
        except Exception as error:  # reported below, with the trainee
            errors.append(f"{name}: {error}")

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit("some servers did not start:\n" + "\n".join(errors))
    return latency


def _start_kernels(url: str, api: HubAdmin, names: list[str]) -> float:
    """One Python kernel per trainee, started through their own server; seconds for all."""
    start = time.perf_counter()
    for name in names:
        user = HubUser(url, name)
        api.server_token(user)
        answer = user.server("api/kernels", "POST", json={"name": "python3"})
        if answer.status_code >= 400:
            raise SystemExit(f"{name}: kernel not started ({answer.status_code} {answer.text[:200]})")
    return time.perf_counter() - start


def _uss_mib(name: str) -> float:
    """Unique memory of every process of the trainee's Unix account, in MiB."""
    account, total = unix_name(name), 0
    for process in psutil.process_iter(["username"]):
        if process.info["username"] != account:
            continue
        try:
            total += process.memory_full_info().uss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / 2**20


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=20)
    parser.add_argument("--no-kernel", action="store_true", help="servers only, no kernel each")
    parser.add_argument("--keep", action="store_true", help="keep the workspace under /tmp")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("benchmarks/hub.py: run as root (the hub creates a Unix account per trainee)",
              file=sys.stderr)
        return 2
    root, ws, names = _workspace(args.trainees)
    plan = None
    try:
        with running_hub(root=root, workspace=ws, admin="admin-bench") as hub:
            plan = hub.plan
            api = HubAdmin(hub.api_url, hub.api_token)
            admin = HubUser(hub.url, "admin-bench")
            admin.sign_up(PASSWORD)
            admin.log_in(PASSWORD)
            for name in names:
                HubUser(hub.url, name).sign_up(PASSWORD)
                admin.session.get(f"{hub.url}/hub/authorize/{name}", timeout=60).raise_for_status()
            before = psutil.virtual_memory().used
            wall = time.perf_counter()
            latency = _spawn_all(hub.url, api, names)
            wall = time.perf_counter() - wall
            kernels_s = None if args.no_kernel else _start_kernels(hub.url, api, names)
            time.sleep(3)  # let the servers and kernels settle
            memory = [_uss_mib(n) for n in names]
            grown = (psutil.virtual_memory().used - before) / 2**20 / len(names)
    finally:
        if plan is not None:
            remove_hub_accounts(plan)
        if not args.keep:
            shutil.rmtree(ws.parent, ignore_errors=True)
    seconds = sorted(latency.values())
    per_trainee = statistics.mean(memory)
    print(f"trainees: {len(names)} logging in at once; cpu cores: {os.cpu_count()}; "
          f"memory: {psutil.virtual_memory().total / 2**30:.0f} GiB")
    print(f"spawn latency (login to ready server), s: p50 {_percentile(seconds, 50):.1f}  "
          f"p90 {_percentile(seconds, 90):.1f}  p95 {_percentile(seconds, 95):.1f}  "
          f"max {seconds[-1]:.1f}  (all ready after {wall:.1f} s)")
    if kernels_s is not None:
        print(f"one kernel per trainee started in {kernels_s:.1f} s")
    what = "server" if args.no_kernel else "server + kernel"
    print(f"memory per trainee ({what}), MiB: mean USS {per_trainee:.0f}  max {max(memory):.0f}  "
          f"(system memory used grew by {grown:.0f} per trainee)")
    for size in MACHINES_GIB:
        holds = int((size - RESERVED_GIB) * 1024 / max(per_trainee, grown))
        print(f"a {size} GiB machine holds about {holds} idle trainees")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``tadrib hub``: JupyterHub on one machine for a workspace, with nbgrader and the safe exchange.

Python API: :func:`running_hub` starts the hub (the proxy, the formgrader services, the trainees'
servers on demand) on free ports and stops everything on exit; :func:`hub` is ``tadrib hub start``.
:func:`publish`, :func:`collect` and :func:`return_feedback` move a module through the exchange.

Who is who:

* trainees: the roster (``tadrib roster import``); hub name = pseudonym = nbgrader student id; groups
  ``nbgrader-<their track or bootcamp>`` and ``cohort-<cohort>``.
* staff: ``<workspace>/staff.yml`` (or ``--staff``)::

      instructors:            # hub name: the courses (track and bootcamp ids) they grade
        amina: [data-scientist, bootcamp-sante]
      coordinators: [karim]   # read <workspace>/reports

  Instructors join ``nbgrader-<course>`` and ``formgrade-<course>``; coordinators ``coordinators``
  and find the reports in ``~/rapports`` (a link to ``<workspace>/reports``, which they may read).
* the first-run admin (``--admin``, default ``admin``) signs up first and approves the others.

The programme's own settings (an OAuthenticator for its single sign-on, an LTI authenticator…)
go in ``<workspace>/jupyterhub_config.py``, loaded after tadrib's own.

State: ``<workspace>/hub/`` (0700: hub database, cookie secret, plan, log), ``<workspace>/exchange/``
(see :mod:`autograder.hub_exchange`), ``<workspace>/jupyter/`` (Jupyter config of the users' servers).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from autograder import hub_accounts as accounts
from autograder.catalogue import Programme
from autograder.roster import Roster
from autograder.workspace import Workspace

DEFAULT_IP = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_ADMIN = "admin"
STAFF_FILE = "staff.yml"
REPORTS_LINK = "rapports"
"""In a coordinator's home: a link to the workspace's reports, read-only for them."""
EXTRA_CONFIG = "jupyterhub_config.py"
"""The programme's own JupyterHub settings (e.g. its single sign-on), loaded after tadrib's."""
START_TIMEOUT_S = 120
STAFF_NAME = re.compile(r"^[a-z][a-z0-9-]{1,23}$")
PSEUDONYM = re.compile(r"^t[0-9a-f]{16}$")


class HubError(Exception):
    """The hub cannot start or a step failed; the message names the file or setting to fix."""


@dataclass
class CoursePlan:
    id: str
    title: str
    root: str
    port: int
    unix_user: str


@dataclass
class HubPlan:
    """Everything the hub process needs (written to ``<workspace>/hub/plan.json``)."""

    state_dir: str
    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    admin: str
    api_token: str
    proxy_command: str
    singleuser_command: str
    trainee_config_dir: str
    grader_config_dir: str
    users: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    courses: list[CoursePlan] = field(default_factory=list)


@dataclass(frozen=True)
class Hub:
    """A running hub: its public URL and a token of the ``tadrib`` service (admin of users and
    servers, may create user tokens)."""

    url: str
    api_token: str
    plan: HubPlan
    workspace: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/hub/api"


@dataclass(frozen=True)
class Staff:
    instructors: dict[str, list[str]]
    coordinators: list[str]


def read_staff(path: Path, course_ids: set[str]) -> Staff:
    """The staff file, validated (a missing file: no staff but the admin)."""
    if not path.exists():
        return Staff({}, [])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise HubError(f"{path}: not readable YAML ({error}).") from None
    problems = []
    if not isinstance(data, dict) or set(data) - {"instructors", "coordinators"}:
        raise HubError(f"{path}: the keys are instructors (name: [course ids]) and coordinators "
                       "([names]).")
    instructors = data.get("instructors") or {}
    coordinators = data.get("coordinators") or []
    if not isinstance(instructors, dict) or not isinstance(coordinators, list):
        raise HubError(f"{path}: instructors is a mapping name: [course ids]; coordinators a list.")
    for name in [*instructors, *coordinators]:
        if not isinstance(name, str) or not STAFF_NAME.match(name) or PSEUDONYM.match(name):
            problems.append(f"'{name}' is not a staff name: 2–24 lowercase letters, digits or '-', "
                            "starting with a letter, not shaped like a pseudonym")
    for name, courses in instructors.items():
        unknown = [c for c in courses or [] if c not in course_ids]
        if not isinstance(courses, list) or unknown:
            problems.append(f"instructors.{name}: {unknown or courses} not a list of course ids; "
                            f"the courses are: {', '.join(sorted(course_ids))}")
    if problems:
        raise HubError(f"{path}: " + "; ".join(problems))
    return Staff({n: list(c or []) for n, c in instructors.items()}, list(coordinators))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def make_plan(ws: Workspace, *, ip: str, port: int | None, admin: str, staff: Staff) -> HubPlan:
    if not STAFF_NAME.match(admin):
        raise HubError(f"--admin {admin}: 2–24 lowercase letters, digits or '-', starting with a letter.")
    bindir = Path(sys.executable).parent
    free = _free_ports(3 + len(ws.catalogue.programmes))
    plan = HubPlan(
        state_dir=str(ws.path / "hub"), ip=ip, port=port or free[0], hub_port=free[1],
        proxy_api_port=free[2], admin=admin, api_token=_token(ws.path / "hub"),
        proxy_command=str(bindir / "configurable-http-proxy"),
        singleuser_command=str(bindir / "jupyterhub-singleuser"),
        trainee_config_dir=str(ws.path / "jupyter" / "trainee"),
        grader_config_dir=str(ws.path / "jupyter" / "grader"))
    groups: dict[str, set[str]] = {"coordinators": set(staff.coordinators)}
    for programme, course_port in zip(ws.catalogue.programmes, free[3:], strict=True):
        course = ws.course(programme)
        plan.courses.append(CoursePlan(programme.id, programme.title, str(course.root), course_port,
                                        accounts.grader_account(programme.id)))
        groups[f"nbgrader-{programme.id}"] = set()
        groups[f"formgrade-{programme.id}"] = set()
    for pseudonym, cohort, track in _trainees(ws):
        groups.setdefault(f"nbgrader-{track}", set()).add(pseudonym)
        groups.setdefault(f"cohort-{cohort}", set()).add(pseudonym)
    for name, courses in staff.instructors.items():
        for cid in courses:
            groups[f"nbgrader-{cid}"].add(name)
            groups[f"formgrade-{cid}"].add(name)
    plan.groups = {g: sorted(members) for g, members in groups.items()}
    plan.users = sorted({u for members in groups.values() for u in members} | {admin})
    return plan


def _trainees(ws: Workspace) -> list[tuple[str, str, str]]:
    roster = Roster.of(ws.path)
    if not roster.db.exists():
        return []
    with roster.connect() as db:
        return [tuple(row) for row in db.execute("SELECT pseudonym, cohort, track FROM trainee")]


def _token(state: Path) -> str:
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state, 0o700)
    path = state / "api_token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


# -- accounts, folders, permissions ------------------------------------------------------------


def provision(ws: Workspace, plan: HubPlan, staff: Staff) -> None:
    """Unix accounts and groups, the exchange, ACLs on the course folders and reports."""
    accounts.require_root()
    blocked = accounts.traversable(ws.path)
    if blocked is not None:
        raise HubError(f"{blocked}: other users cannot enter this folder, so the trainees' servers "
                       f"cannot reach the exchange in {ws.path}; run `chmod o+x {blocked}` or put "
                       "the workspace elsewhere (e.g. /srv/tadrib).")
    courses_of = {name: courses for name, courses in staff.instructors.items()}
    for user in plan.users:
        groups = [accounts.staff_group(c) for c in courses_of.get(user, [])]
        if user in staff.coordinators:
            groups.append(accounts.COORDINATORS_GROUP)
        accounts.ensure_user(accounts.unix_name(user), groups)
    for course in plan.courses:
        accounts.ensure_user(course.unix_user, [accounts.staff_group(course.id)])
    _lay_out(ws, plan)


def _lay_out(ws: Workspace, plan: HubPlan) -> None:
    from autograder.hub_exchange import exchange_config

    exchange = ws.path / "exchange"
    _folder(ws.path, 0o755)
    _folder(exchange, 0o755)
    for course in plan.courses:
        staff_gid = accounts.ensure_group(accounts.staff_group(course.id))
        top = exchange / course.id
        _folder(top, 0o755)
        _folder(top / "outbound", 0o2775, gid=staff_gid)
        _folder(top / "inbound", 0o0751, gid=staff_gid)
        _folder(top / "feedback", 0o2771, gid=staff_gid)
        for trainee in plan.groups.get(f"nbgrader-{course.id}", []):
            owner = pwd.getpwnam(accounts.unix_name(trainee)).pw_uid
            _folder(top / "inbound" / trainee, 0o2770, uid=owner, gid=staff_gid)
        root = Path(course.root)
        _folder(root.parent, 0o755)
        _folder(root, 0o755)
        programme = next(p for p in ws.catalogue.programmes if p.id == course.id)
        ws.course(programme).write_config()
        accounts.grant(root, [f"u:{course.unix_user}:rwX"])
    reports = ws.reports_dir
    _folder(reports, 0o750)
    accounts.ensure_group(accounts.COORDINATORS_GROUP)
    accounts.grant(reports, [f"g:{accounts.COORDINATORS_GROUP}:rX"])
    for coordinator in plan.groups.get("coordinators", []):
        _link(Path(pwd.getpwnam(accounts.unix_name(coordinator)).pw_dir) / REPORTS_LINK, reports)
    titles = {c.id: c.title for c in plan.courses}
    common = exchange_config(exchange)
    _write_jupyter_config(Path(plan.grader_config_dir), common, titles, trainee=False)
    _write_jupyter_config(Path(plan.trainee_config_dir), common, titles, trainee=True)


def _link(link: Path, target: Path) -> None:
    """``link`` -> ``target``, owned by root, so it shows in the user's JupyterLab file browser."""
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        raise HubError(f"{link}: exists and is not tadrib's link to {target}; move it away so the "
                       "coordinator's reports can be linked there.")
    link.symlink_to(target, target_is_directory=True)
    os.lchown(link, 0, 0)


def _folder(path: Path, mode: int, *, uid: int = 0, gid: int = 0) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


TRAINEE_HIDDEN = ("formgrader", "course-list", "create-assignment")


def _write_jupyter_config(folder: Path, common: object, titles: dict[str, str], *,
                          trainee: bool) -> None:
    """nbgrader and Jupyter settings of the users' servers (``JUPYTER_CONFIG_PATH``)."""
    _folder(folder.parent, 0o755)
    _folder(folder, 0o755)
    lines = ["# Written by tadrib hub; edits are overwritten when the hub starts.",
             "c = get_config()  # noqa: F821"]
    for section, values in common.items():  # type: ignore[attr-defined]
        lines += [f"c.{section}.{key} = {value!r}" for key, value in values.items()]
    lines.append(f"c.NbGrader.course_titles = {titles!r}")
    if not trainee:  # formgrader's service: its autograde button would run student code unsandboxed
        lines.append("c.Execute.kernel_manager_class = 'autograder.sandbox_kernel.NoSandboxHere'")
    if trainee:
        lines.append("c.Authenticator.plugin_class = 'nbgrader.auth.JupyterHubAuthPlugin'")
        # the trainee's hub name is their pseudonym, their nbgrader student id and the name of
        # their inbound folder (the Unix account, tdb-<name>, is not)
        lines += ["import os", "if os.environ.get('JUPYTERHUB_USER'):",
                  "    c.CourseDirectory.student_id = os.environ['JUPYTERHUB_USER']"]
    (folder / "nbgrader_config.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    server = {"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": not trainee,
        "nbgrader.server_extensions.course_list": not trainee}}}
    (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=1), encoding="utf-8")
    hidden = TRAINEE_HIDDEN if trainee else ("assignment-list",)
    _folder(folder / "labconfig", 0o755)
    page = {"disabledExtensions": {f"@jupyter/nbgrader:{name}": True for name in hidden}}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(page, indent=1),
                                                           encoding="utf-8")
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


# -- the hub process ----------------------------------------------------------------------------


@contextmanager
def running_hub(*, root: Path | None = None, workspace: Path | None = None,
                db_url: str | None = None, ip: str = DEFAULT_IP, port: int | None = None,
                admin: str = DEFAULT_ADMIN, staff: Path | None = None) -> Iterator[Hub]:
    """Start JupyterHub for the workspace (``port=None``: a free port) and stop the hub, its proxy,
    the formgrader services and every user's server on exit."""
    accounts.require_root()
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    course_ids = {p.id for p in ws.catalogue.programmes}
    team = read_staff(staff or ws.path / STAFF_FILE, course_ids)
    plan = make_plan(ws, ip=ip, port=port, admin=admin, staff=team)
    provision(ws, plan, team)
    state = Path(plan.state_dir)
    (state / "plan.json").write_text(json.dumps(asdict(plan), indent=1), encoding="utf-8")
    config = state / "jupyterhub_config.py"
    extra = ws.path / EXTRA_CONFIG
    config.write_text("from autograder.hub_config import configure\n"
                      f"configure(get_config(), {str(state / 'plan.json')!r})  # noqa: F821\n"
                      + (f"load_subconfig({str(extra)!r})  # noqa: F821\n" if extra.exists() else ""),
                      encoding="utf-8")
    log = (state / "jupyterhub.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.hub_config", "-f", str(config)], cwd=state,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    host = "127.0.0.1" if ip in ("0.0.0.0", "") else ip
    running = Hub(f"http://{host}:{plan.port}", plan.api_token, plan, ws.path)
    try:
        _wait_ready(running, process, state / "jupyterhub.log")
        yield running
    finally:
        _stop(process, plan)
        log.close()


def _wait_ready(running: Hub, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HubError(f"JupyterHub stopped at start (exit {process.returncode}); the end of "
                           f"{log}:\n{_tail(log)}")
        request = urllib.request.Request(f"{running.api_url}/services",
                                         headers={"Authorization": f"token {running.api_token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise HubError(f"JupyterHub did not answer within {START_TIMEOUT_S} s; the end of {log}:\n"
                   f"{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes], plan: HubPlan) -> None:
    """SIGTERM: JupyterHub stops the servers, services and proxy it started; whatever is left of
    the hub's process group or runs as a hub account is then killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    names = [accounts.unix_name(u) for u in plan.users] + [c.unix_user for c in plan.courses]
    for pid in accounts.processes_of(names):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    proxy_pid = Path(plan.state_dir) / "proxy.pid"
    if proxy_pid.exists():
        with suppress(ProcessLookupError, ValueError):
            os.kill(int(proxy_pid.read_text().strip()), signal.SIGTERM)
        proxy_pid.unlink(missing_ok=True)


def hub(*, root: Path | None = None, workspace: Path | None = None, db_url: str | None = None,
        ip: str = DEFAULT_IP, port: int = DEFAULT_PORT, admin: str = DEFAULT_ADMIN,
        staff: Path | None = None, on_ready: object = None) -> None:
    """``tadrib hub start``: run the hub until interrupted (Ctrl-C or SIGTERM)."""
    stop = {"now": False}

    def _interrupt(signum: int, frame: object) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running_hub(root=root, workspace=workspace, db_url=db_url, ip=ip, port=port,
                         admin=admin, staff=staff) as running:
            if callable(on_ready):
                on_ready(running)
            while not stop["now"]:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- a module through the exchange --------------------------------------------------------------


def _course_of(ws: Workspace, module: str) -> tuple[Programme, Path]:
    programme, _ = ws.catalogue.find_module(module)
    exchange = ws.path / "exchange"
    if not (exchange / programme.id / "inbound").is_dir():
        raise HubError(f"{exchange / programme.id}: no exchange for {programme.id} yet; start "
                       "`tadrib hub start` once, which lays it out.")
    return programme, exchange


def publish(*, module: str, root: Path | None = None, workspace: Path | None = None,
            db_url: str | None = None) -> None:
    """Release ``module`` (nbgrader generate_assignment) and put it in the exchange's outbound."""
    accounts.require_root()
    from autograder.hub_exchange import release_to_exchange
    from autograder.workspace import release

    release(module=module, root=root, workspace=workspace, db_url=db_url)
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, exchange = _course_of(ws, module)
    _check(release_to_exchange(ws.course(programme), exchange, module), "release", module)


def collect(*, module: str, root: Path | None = None, workspace: Path | None = None,
            db_url: str | None = None) -> list[str]:
    """Collect each trainee's latest submission of ``module``; returns who submitted."""
    accounts.require_root()
    from autograder.hub_exchange import collect_from_exchange

    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, exchange = _course_of(ws, module)
    course = ws.course(programme)
    _check(collect_from_exchange(course, exchange, module), "collect", module)
    return course.submitters(module)


def return_feedback(*, module: str, root: Path | None = None, workspace: Path | None = None,
                    db_url: str | None = None) -> None:
    """Put the feedback of ``module`` (``tadrib feedback``) in the exchange for the trainees."""
    accounts.require_root()
    from autograder.hub_exchange import release_feedback_to_exchange

    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, exchange = _course_of(ws, module)
    _check(release_feedback_to_exchange(ws.course(programme), exchange, module), "release_feedback",
           module)
    for html in (exchange / programme.id / "feedback").glob("*.html"):
        os.chmod(html, 0o644)  # readable by the one who knows its name (the submission's secret)


def _check(result: object, step: str, module: str) -> None:
    if not getattr(result, "success", False):
        text = (getattr(result, "log", "") + getattr(result, "error", "")).strip()
        raise HubError(f"nbgrader {step} of {module} failed:\n" + "\n".join(text.splitlines()[-15:]))


def remove_hub_accounts(plan: HubPlan) -> None:
    """Remove the Unix accounts and groups a hub plan created (tests; a programme's end)."""
    accounts.remove_accounts([accounts.unix_name(u) for u in plan.users]
                             + [c.unix_user for c in plan.courses])
    accounts.remove_groups([accounts.staff_group(c.id) for c in plan.courses]
                           + [accounts.COORDINATORS_GROUP])


__all__ = ["Hub", "HubError", "HubPlan", "collect", "hub", "publish", "remove_hub_accounts",
           "return_feedback", "running_hub"]

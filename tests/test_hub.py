"""`tadrib hub` end to end, against a real JupyterHub (root only: it creates Unix accounts).

An instructor publishes a module; two trainees sign up (an admin approves them), log in, fetch,
solve (one right, one wrong) and submit through their own single-user servers' nbgrader endpoints;
the hub restarts; the instructor collects and grades with tadrib; feedback goes back and each
trainee gets only their own; the completion report counts the right trainee. One path runs in
headless Chromium. Every account, server and process started is gone at the end."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.hub_client import HubAdmin, HubUser
from tests.conftest import CHROMIUM_FLAGS, MINI, chromium_executable, copy_catalogue, run_tadrib

pytestmark = [
    pytest.mark.xdist_group("hub"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setfacl") is None,
                       reason="tadrib hub needs root and setfacl (Debian acl) to create accounts"),
]

MODULE = "mini-01-sommes"
COURSE = "mini-track"
PASSWORD = "Tadrib-hub-essai-2026"
ANNOUNCEMENT = "Bienvenue dans le programme Tadrib (réglage du programme chargé)"
ROSTER = """national_id,email,first_name,last_name,cohort,track,region,gender,institution,employer_type
AA100001,,Amal,Bennani,2026-T1-RABAT,mini-track,Rabat-Salé-Kénitra,F,DGSN,agency
AA100002,,Badr,Chraibi,2026-T1-RABAT,mini-track,Fès-Meknès,M,ADD,agency
"""


@pytest.fixture(scope="module")
def workspace() -> Iterator[tuple[Path, Path]]:
    """A catalogue and a workspace that other Unix users may enter (pytest's tmp is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="tadrib-hub-", dir="/tmp"))
    os.chmod(base, 0o755)
    root = base / "catalogue"
    copy_catalogue(MINI, root)
    ws = base / "ws"
    (base / "roster.csv").write_text(ROSTER, encoding="utf-8")
    ws.mkdir()
    (ws / "staff.yml").write_text(f"instructors:\n  prof-hub: [{COURSE}]\ncoordinators: [coord-hub]\n",
                                  encoding="utf-8")
    (ws / "jupyterhub_config.py").write_text(  # the programme's own settings, loaded after tadrib's
        f"c.JupyterHub.template_vars = {{'announcement_login': {ANNOUNCEMENT!r}}}  # noqa: F821\n",
        encoding="utf-8")
    yield root, ws
    if not os.environ.get("TADRIB_KEEP_HUB_TMP"):  # keep the logs to debug a failure
        shutil.rmtree(base, ignore_errors=True)


def _solve(trainee: HubUser, right: bool) -> None:
    path = f"api/contents/{COURSE}/{MODULE}/sommes.ipynb"
    notebook = trainee.server(path).json()["content"]
    if right:
        answers = {"q1-somme": "def somme(xs):\n    return sum(xs)",
                   "q2-moyenne": "def moyenne(xs):\n    return sum(xs) / len(xs)",
                   "q3-ecrit": "La moyenne résume la série ; elle est sensible aux valeurs extrêmes."}
        for cell in notebook["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell["source"] = answers[grade_id]
    answer = trainee.server(path, "PUT", json={"type": "notebook", "content": notebook})
    assert answer.status_code == 200, answer.text


def _assignments(trainee: HubUser, action: str = "", **data: str) -> dict[str, object]:
    if action:
        answer = trainee.server(f"assignments/{action}", "POST", data=data)
    else:
        answer = trainee.server(f"assignments?course_id={COURSE}")
    assert answer.status_code == 200, answer.text
    reply: dict[str, object] = answer.json()
    return reply


def _as_user(unix_user: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", unix_user, "--", *command], capture_output=True,
                          text=True, check=False)


def _instructor_in_chromium(hub_url: str, name: str, profile: Path) -> str:
    """The instructor logs in with headless Chromium, lands in JupyterLab, opens the course's
    formgrader; returns the text of its assignments page once the module is listed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_executable(), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = context.new_page()
            page.goto(f"{hub_url}/hub/login")
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(re.compile(f"/user/{name}/lab"), timeout=180_000)
            page.goto(f"{hub_url}/services/{COURSE}/formgrader/manage_assignments")
            page.wait_for_selector(f"text={MODULE}", timeout=120_000)
            return page.inner_text("body")
        finally:
            context.close()


def test_module_round_trip_through_the_hub(workspace: tuple[Path, Path]) -> None:
    """Does a module go out to two trainees and come back graded, each seeing only their own
    submission and feedback, with nothing left running afterwards?"""
    from autograder.hub import collect, remove_hub_accounts, running_hub
    from autograder.hub_accounts import processes_of, unix_name
    from autograder.roster import Roster

    root, ws = workspace
    common = ["--root", str(root), "--workspace", str(ws)]
    assert run_tadrib("roster", "import", str(ws.parent / "roster.csv"), *common).exit_code == 0
    amal, badr = Roster.of(ws).pseudonyms(["AA100001", "AA100002"])
    plan = None
    try:
        with running_hub(root=root, workspace=ws, admin="admin-hub") as hub:
            plan = hub.plan
            published = run_tadrib("hub", "publish", MODULE, *common)
            assert published.exit_code == 0, published.output
            api = HubAdmin(hub.api_url, hub.api_token)
            admin, right, wrong, prof, coord = (HubUser(hub.url, n) for n in
                                                ("admin-hub", amal, badr, "prof-hub", "coord-hub"))
            for user in (admin, right, wrong, prof, coord):
                user.sign_up(PASSWORD)
            login_page = admin.session.get(f"{hub.url}/hub/login", timeout=60).content.decode("utf-8")
            assert ANNOUNCEMENT in login_page
            assert not admin.log_in(PASSWORD).endswith("/hub/login")
            assert wrong.log_in(PASSWORD).endswith("/hub/login"), \
                "a trainee logs in before an admin approves the account"
            for name in (amal, badr, "prof-hub", "coord-hub"):
                assert admin.session.get(f"{hub.url}/hub/authorize/{name}").ok
            for trainee, solved in ((right, True), (wrong, False)):
                landed = trainee.log_in(PASSWORD)
                assert "/user/" in landed or "/spawn-pending/" in landed, landed
                api.wait_ready(trainee.name)
                api.server_token(trainee)
                listed = _assignments(trainee)
                assert listed["success"], listed
                assert [a["assignment_id"] for a in listed["value"]] == [MODULE]  # type: ignore[index]
                assert _assignments(trainee, "fetch", course_id=COURSE, assignment_id=MODULE)["success"]
                _solve(trainee, solved)
                submitted = _assignments(trainee, "submit", course_id=COURSE, assignment_id=MODULE)
                assert submitted["success"], submitted
            # formgrader: the course's instructor, in a real browser; nobody else
            assert "Manage Assignments" in _instructor_in_chromium(hub.url, "prof-hub",
                                                                   ws.parent / "chromium")
            formgrader = f"{hub.url}/services/{COURSE}/formgrader/api/assignments"
            assert right.session.get(formgrader).status_code == 403
            assert not coord.log_in(PASSWORD).endswith("/hub/login")
            assert coord.session.get(formgrader).status_code == 403
            # the reports: coordinators read them, trainees cannot
            reports = ws / "reports"
            (reports / "modules.csv").write_text("student_id,module\n", encoding="utf-8")
            coord_home = Path(os.path.expanduser(f"~{unix_name('coord-hub')}"))
            assert _as_user(unix_name("coord-hub"), "cat",
                            str(coord_home / "rapports" / "modules.csv")).returncode == 0
            assert _as_user(unix_name("coord-hub"), "touch", str(reports / "x.csv")).returncode != 0
            assert _as_user(unix_name(badr), "ls", str(reports)).returncode != 0
            inbound = ws / "exchange" / COURSE / "inbound"
            theirs = next((inbound / amal).iterdir())
            for command in (["ls", str(inbound)], ["ls", str(inbound / amal)],
                            ["cat", str(theirs / "sommes.ipynb")],
                            ["touch", str(theirs / "sommes.ipynb")],
                            ["mkdir", str(inbound / amal / f"{amal}+{MODULE}+2099-01-01 00:00:00+x")]):
                assert _as_user(unix_name(badr), *command).returncode != 0, command
        assert not processes_of([unix_name(u) for u in plan.users])

        with running_hub(root=root, workspace=ws, admin="admin-hub") as hub:  # a restart
            collected = run_tadrib("hub", "collect", MODULE, *common)
            assert "2 submission(s) collected" in collected.output, collected.output
            assert sorted(collect(module=MODULE, root=root, workspace=ws)) == sorted([amal, badr])
            graded = run_tadrib("grade", MODULE, *common)  # as the docs say: sandboxed, as root
            assert graded.exit_code == 0, graded.output
            from autograder.workspace import Workspace

            course = Workspace.open(root=root, workspace=ws).course(
                Workspace.open(root=root, workspace=ws).catalogue.find_module(MODULE)[0])
            course.grade_by_hand(MODULE, amal, 1.0)  # the instructor, in formgrader
            course.grade_by_hand(MODULE, badr, 0.0)
            assert run_tadrib("feedback", MODULE, *common).exit_code == 0
            returned = run_tadrib("hub", "return-feedback", MODULE, *common)
            assert returned.exit_code == 0, returned.output
            api = HubAdmin(hub.api_url, hub.api_token)
            for trainee in (HubUser(hub.url, amal), HubUser(hub.url, badr)):
                api.wait_ready(trainee.name)
                api.server_token(trainee)
                fetched = _assignments(trainee, "fetch_feedback", course_id=COURSE,
                                       assignment_id=MODULE)
                assert fetched["success"], fetched
            homes = {n: Path(os.path.expanduser(f"~{unix_name(n)}")) for n in (amal, badr)}
            for name, score in ((amal, "6"), (badr, "0")):
                pages = list((homes[name] / COURSE / MODULE / "feedback").rglob("*.html"))
                assert len(pages) == 1, pages
                text = pages[0].read_text(encoding="utf-8")
                assert f"Score: {score}" in text.replace("\n", " ") or f"{score} / 6" in text
            assert _as_user(unix_name(badr), "ls", str(homes[amal])).returncode != 0
            from autograder.report import report

            rows = report(root=root, workspace=ws).completion
            completed = {r.student_id for r in rows if getattr(r, "completed", False)}
            assert completed == {amal}, rows
            from autograder.steering import read_enrolments

            enrolled = list(read_enrolments(Workspace.open(root=root, workspace=ws)))
            assert {e.student_id for e in enrolled} == {amal, badr}
            assert {e.student_id for e in enrolled if e.completed_at is not None} == {amal}
        assert not processes_of([unix_name(u) for u in plan.users])
    finally:
        if plan is not None:
            remove_hub_accounts(plan)


def test_hub_commands_need_root_and_say_so(workspace: tuple[Path, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Run by an ordinary user, does each hub command stop with a message that says why and what
    to do, before creating anything?"""
    root, ws = workspace
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for command in (["start"], ["publish", MODULE], ["collect", MODULE], ["return-feedback", MODULE]):
        result = run_tadrib("hub", *command, "--root", str(root), "--workspace", str(ws / "ailleurs"))
        assert result.exit_code == 1, (command, result.output)
        assert "needs root" in result.output and "Traceback" not in result.output
    assert not (ws / "ailleurs").exists()

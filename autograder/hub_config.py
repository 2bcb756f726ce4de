"""JupyterHub's configuration, applied inside the hub process from the plan ``tadrib hub`` wrote.

``<workspace>/hub/jupyterhub_config.py`` is two lines that call :func:`configure` with
``<workspace>/hub/plan.json`` (see :class:`autograder.hub.HubPlan`). The pieces:

* :class:`TadribAuthenticator`: NativeAuthenticator (accounts with passwords in the hub's database,
  sign-up at ``/hub/signup``) where every sign-up waits for an admin's approval at
  ``/hub/authorize``, except the first-run admin's. Only users of the roster and the staff file may
  log in at all (``allowed_users``).
* :class:`TadribSpawner`: LocalProcessSpawner running ``jupyterhub-singleuser`` from tadrib's own
  environment as the user's Unix account ``tdb-<hub name>``.
* nbgrader's documented multi-course pattern: groups ``nbgrader-<course>`` (trainees and the
  course's instructors) and ``formgrade-<course>`` (instructors), one formgrader service per course
  running as ``tdb-grader-<course>`` in the course directory, reachable by ``formgrade-<course>`` only.
"""

from __future__ import annotations

import json
import pwd
from pathlib import Path
from typing import Any

from jupyterhub.app import JupyterHub
from jupyterhub.objects import Server
from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo

from autograder.hub_accounts import unix_name

MIN_PASSWORD_LENGTH = 10
MANAGER_SERVICE = "tadrib"
"""The hub API service whose token ``tadrib`` (tests, benchmarks) uses to manage users and servers."""
MANAGER_SCOPES = ["admin:users", "admin:servers", "admin:groups", "tokens", "access:servers",
                  "read:hub", "list:services", "read:services"]


class TadribAuthenticator(NativeAuthenticator):  # type: ignore[misc]
    """NativeAuthenticator where being listed in ``allowed_users`` does not approve a sign-up: an
    admin approves each account, so knowing a trainee's pseudonym is not enough to claim it."""

    def get_authed_users(self) -> set[str]:
        approved = {info.username for info in UserInfo.all_users(self.db) if info.is_authorized}
        return approved | set(self.admin_users)


class TadribSpawner(LocalProcessSpawner):  # type: ignore[misc]
    """The single-user server runs as ``tdb-<hub name>``, in that account's home."""

    def make_preexec_fn(self, name: str) -> Any:
        return set_user_setuid(unix_name(name))

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        entry = pwd.getpwnam(unix_name(self.user.name))
        env.update(USER=entry.pw_name, HOME=entry.pw_dir, SHELL=entry.pw_shell or "/bin/bash")
        return env


SERVICE_START_TIMEOUT_S = 180


class TadribHub(JupyterHub):  # type: ignore[misc]
    """JupyterHub, patient with the formgrader services: stock JupyterHub gives a managed service
    ten seconds and exits, and a Jupyter server with nbgrader takes longer on a loaded machine."""

    async def start_service(self, service_name: str, service: Any, ssl_context: Any = None) -> bool:
        if await super().start_service(service_name, service, ssl_context):
            return True
        if not service.managed or await service.spawner.poll() is not None:
            return False
        self.log.info("Still waiting for service %s (up to %d s)", service_name,
                      SERVICE_START_TIMEOUT_S)
        await Server.from_orm(service.orm.server).wait_up(
            http=True, timeout=SERVICE_START_TIMEOUT_S, ssl_context=ssl_context)
        return True


def configure(c: Any, plan_file: str) -> None:
    """Fill JupyterHub's config ``c`` from the plan file."""
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    state = Path(plan["state_dir"])
    c.JupyterHub.bind_url = f"http://{plan['ip']}:{plan['port']}"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{plan['hub_port']}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{plan['proxy_api_port']}"
    c.ConfigurableHTTPProxy.command = [plan["proxy_command"]]
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True
    _authenticator(c, plan)
    _spawner(c, plan)
    _courses(c, plan)


def _authenticator(c: Any, plan: dict[str, Any]) -> None:
    c.JupyterHub.authenticator_class = TadribAuthenticator
    c.Authenticator.admin_users = {plan["admin"]}
    c.Authenticator.allowed_users = set(plan["users"]) | {plan["admin"]}
    c.NativeAuthenticator.minimum_password_length = MIN_PASSWORD_LENGTH
    c.NativeAuthenticator.check_common_password = True
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.allowed_failed_logins = 5
    c.NativeAuthenticator.seconds_before_next_try = 60


def _spawner(c: Any, plan: dict[str, Any]) -> None:
    c.JupyterHub.spawner_class = TadribSpawner
    c.Spawner.cmd = [plan["singleuser_command"]]
    c.Spawner.default_url = "/lab"
    c.Spawner.environment = {"JUPYTER_CONFIG_PATH": plan["trainee_config_dir"]}
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120


def _courses(c: Any, plan: dict[str, Any]) -> None:
    roles: list[dict[str, Any]] = [
        # nbgrader's documented setting: the server's token may read its user's groups (courses)
        {"name": "server", "scopes": ["inherit"]},
        {"name": "tadrib-manager", "services": [MANAGER_SERVICE], "scopes": MANAGER_SCOPES},
    ]
    services: list[dict[str, Any]] = [{"name": MANAGER_SERVICE, "api_token": plan["api_token"]}]
    for course in plan["courses"]:
        cid = course["id"]
        roles += [
            {"name": f"formgrade-{cid}", "groups": [f"formgrade-{cid}"],
             "scopes": [f"access:services!service={cid}"]},
            {"name": f"nbgrader-{cid}", "groups": [f"nbgrader-{cid}"],
             "scopes": ["list:services", f"read:services!service={cid}"]},
        ]
        services.append({
            "name": cid, "url": f"http://127.0.0.1:{course['port']}",
            "command": [plan["singleuser_command"]], "user": course["unix_user"],
            "cwd": course["root"], "oauth_no_confirm": True,
            "environment": {"JUPYTERHUB_DEFAULT_URL": "/lab",
                            "JUPYTER_CONFIG_PATH": plan["grader_config_dir"]},
        })
    c.JupyterHub.load_roles = roles
    c.JupyterHub.services = services
    c.JupyterHub.load_groups = {name: {"users": sorted(members)}
                                for name, members in plan["groups"].items()}


if __name__ == "__main__":
    TadribHub.launch_instance()

"""A user of a running ``tadrib hub`` over HTTP, as a browser drives it, and the hub's API as the
``tadrib`` service: sign up, approve, log in, start a server, call the server's nbgrader endpoints.

Used by the end-to-end test (tests/test_hub.py) and the capacity benchmark (benchmarks/hub.py).
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests

XSRF = re.compile(r'name="_xsrf" value="([^"]+)"')


class HubUser:
    """One person in front of the hub: a cookie session, and an API token once their server runs."""

    def __init__(self, hub_url: str, name: str) -> None:
        self.url, self.name = hub_url, name
        self.session = requests.Session()
        self.token = ""

    def form(self, path: str, data: dict[str, str]) -> requests.Response:
        """Fill and post one of the hub's forms (``signup``, ``login``) with its XSRF field."""
        page = self.session.get(f"{self.url}/hub/{path}", timeout=120)
        xsrf = XSRF.search(page.text)
        return self.session.post(f"{self.url}/hub/{path}", timeout=300,
                                 data={**data, "_xsrf": xsrf.group(1) if xsrf else ""})

    def sign_up(self, password: str) -> requests.Response:
        return self.form("signup", {"username": self.name, "signup_password": password,
                                    "signup_password_confirmation": password})

    def log_in(self, password: str) -> str:
        """Log in; returns the URL landed on (``/hub/login`` again when refused)."""
        return self.form("login", {"username": self.name, "password": password}).url

    def server(self, path: str, method: str = "GET", **kwargs: Any) -> requests.Response:
        """A request to the user's own Jupyter server, with their token."""
        return self.session.request(method, f"{self.url}/user/{self.name}/{path}", timeout=300,
                                    headers={"Authorization": f"token {self.token}"}, **kwargs)


class HubAdmin:
    """The hub's REST API with the token of the ``tadrib`` service (users, servers, tokens)."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url, self.token = api_url, token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        answer = requests.request(method, f"{self.api_url}{path}", timeout=120,
                                  headers={"Authorization": f"token {self.token}"}, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"hub API {method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    def wait_ready(self, name: str, *, start: bool = True, timeout_s: float = 180) -> None:
        """Start the user's server unless it is running or starting, and wait until it is ready."""
        if start and not self.call("GET", f"/users/{name}").json()["servers"]:
            self.call("POST", f"/users/{name}/server")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.call("GET", f"/users/{name}").json()["servers"].get("", {}).get("ready"):
                return
            time.sleep(0.25)
        raise TimeoutError(f"{name}'s server was not ready within {timeout_s:.0f} s")

    def server_token(self, user: HubUser) -> None:
        """Give ``user`` a token that reaches their own server (as their browser's cookie would)."""
        user.token = self.call("POST", f"/users/{user.name}/tokens",
                               json={"scopes": [f"access:servers!user={user.name}"]}).json()["token"]

"""A learner's or the instructor's way through the hub, over HTTP only.

What a browser does, with ``requests``: log in through the hub's login form, start the
server through the hub's REST API, then call the user's JupyterLab (contents API and
nbgrader's Assignments handlers) with a token the hub issued to that user. The
end-to-end test and ``benchmarks/hub.py`` use it; nothing here reads the hub's database.
"""
from __future__ import annotations

import json
import time

import requests

from lifecycle.lab import COURSE_ID

__all__ = ["HubError", "HubUser"]


class HubError(RuntimeError):
    """An HTTP step failed or did not finish in time; the message says which."""


class HubUser:
    """One logged-in user.

    Parameters
    ----------
    url : str
        The hub's public address, ``http://127.0.0.1:PORT``.
    name, password : str
        The account.
    timeout : float
        Seconds for each HTTP request.
    """

    def __init__(self, url: str, name: str, password: str, timeout: float = 60.0):
        self.url, self.name, self.timeout = url.rstrip("/"), name, timeout
        self.session = requests.Session()
        self.token: str | None = None
        self._login(password)

    # -- the hub ------------------------------------------------------------------------
    def _xsrf(self) -> dict:
        return {"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/") or
                self.session.cookies.get("_xsrf") or ""}

    def _login(self, password: str) -> None:
        page = self.session.get(f"{self.url}/hub/login", timeout=self.timeout)
        page.raise_for_status()
        xsrf = self._xsrf()["X-XSRFToken"]
        reply = self.session.post(f"{self.url}/hub/login?next=", timeout=self.timeout,
                                  data={"username": self.name, "password": password,
                                        "_xsrf": xsrf}, allow_redirects=False)
        if reply.status_code != 302 or "jupyterhub-session-id" not in self.session.cookies:
            raise HubError(f"login as {self.name} failed: HTTP {reply.status_code}")

    def hub_api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's REST API as this user (session cookie + XSRF, as the browser)."""
        headers = {**self._xsrf(), **kwargs.pop("headers", {})}
        if self.token:
            headers = {"Authorization": f"token {self.token}"}
        return self.session.request(method, f"{self.url}/hub/api{path}", headers=headers,
                                    timeout=self.timeout, **kwargs)

    def start_server(self, wait: float = 180.0) -> None:
        """Start this user's server and wait (at most ``wait`` s) until it answers."""
        reply = self.hub_api("POST", f"/users/{self.name}/server")
        if reply.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"starting {self.name}'s server: HTTP {reply.status_code} {reply.text}")
        if self.token is None:
            reply = self.hub_api("POST", f"/users/{self.name}/tokens",
                                 json={"note": "lifecycle.hub.client", "expires_in": 7200})
            if reply.status_code != 201:
                raise HubError(f"token for {self.name}: HTTP {reply.status_code} {reply.text}")
            self.token = reply.json()["token"]
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"/users/{self.name}").json()
            server = (model.get("servers") or {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise HubError(f"{self.name}'s server was not ready after {wait:.0f} s")

    def stop_server(self) -> None:
        self.hub_api("DELETE", f"/users/{self.name}/server")

    # -- the user's server --------------------------------------------------------------
    def server(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call this user's JupyterLab with the hub-issued token."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        reply = self.session.request(method, f"{self.url}/user/{self.name}{path}",
                                     headers=headers, timeout=self.timeout, **kwargs)
        return reply

    def _assignments(self, action: str, lesson: str) -> list:
        reply = self.server("POST", f"/assignments/{action}",
                            data={"course_id": COURSE_ID, "assignment_id": lesson})
        if reply.status_code != 200:
            raise HubError(f"{self.name} {action} {lesson}: HTTP {reply.status_code} {reply.text[:300]}")
        body = reply.json()
        if isinstance(body, dict) and body.get("success") is False:
            raise HubError(f"{self.name} {action} {lesson}: {body.get('value') or body}")
        return body

    def assignments(self) -> list:
        """nbgrader's assignment list (what the Assignments tab shows)."""
        reply = self.server("GET", "/assignments", params={"course_id": COURSE_ID})
        reply.raise_for_status()
        body = reply.json()
        return body.get("value", body) if isinstance(body, dict) else body

    def fetch(self, lesson: str) -> list:
        return self._assignments("fetch", lesson)

    def submit(self, lesson: str) -> list:
        return self._assignments("submit", lesson)

    def fetch_feedback(self, lesson: str) -> list:
        return self._assignments("fetch_feedback", lesson)

    def put_notebook(self, path: str, nb: dict) -> None:
        """Save a notebook through the contents API (what the editor's Save does)."""
        reply = self.server("PUT", f"/api/contents/{path}",
                            data=json.dumps({"type": "notebook", "format": "json", "content": nb}))
        if reply.status_code not in (200, 201):
            raise HubError(f"saving {path} as {self.name}: HTTP {reply.status_code} {reply.text[:300]}")

    def get_file(self, path: str) -> str:
        reply = self.server("GET", f"/api/contents/{path}", params={"type": "file", "format": "text"})
        if reply.status_code != 200:
            raise HubError(f"reading {path} as {self.name}: HTTP {reply.status_code}")
        return reply.json()["content"]

    def list_dir(self, path: str) -> list[str]:
        reply = self.server("GET", f"/api/contents/{path}")
        if reply.status_code != 200:
            return []
        return [item["name"] for item in reply.json()["content"]]

    def feedback(self, lesson: str, wait: float = 120.0, poll: float = 1.0,
                 submissions: int = 1) -> dict[str, str]:
        """Fetch feedback until that of the ``submissions``-th submission is there (at most
        ``wait`` s); return the latest: ``{notebook: html}``."""
        deadline = time.monotonic() + wait
        while True:
            self.fetch_feedback(lesson)
            stamps = self.list_dir(f"{lesson}/feedback")
            if len(stamps) >= submissions:
                latest = sorted(stamps)[-1]
                return {name[:-5]: self.get_file(f"{lesson}/feedback/{latest}/{name}")
                        for name in self.list_dir(f"{lesson}/feedback/{latest}")
                        if name.endswith(".html")}
            if time.monotonic() > deadline:
                raise HubError(f"no feedback for {self.name}/{lesson} after {wait:.0f} s")
            time.sleep(poll)

    # -- the instructor -----------------------------------------------------------------
    def release(self, lesson: str) -> dict:
        """Release a lesson through the formgrader's API (its Release button)."""
        reply = self.server("POST", f"/formgrader/api/assignment/{lesson}/release")
        if reply.status_code != 200 or not reply.json().get("success"):
            raise HubError(f"releasing {lesson}: HTTP {reply.status_code} {reply.text[:500]}")
        return reply.json()

    def service(self, path: str) -> requests.Response:
        """GET a page of the grading service (live view, grades.csv, api/status)."""
        return self.session.get(f"{self.url}/services/grading/{path}", timeout=self.timeout,
                                headers={"Authorization": f"token {self.token}"})

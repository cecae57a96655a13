"""End to end: the workshop hub with real processes (hub, proxy, single-user servers, the
grading service), driven only through HTTP, as browsers drive it.

The instructor releases lesson 01 with the formgrader's API; three learners log in through
the hub's login form, fetch it from the Assignments API, and submit a correct, a wrong
(one exercise left as released) and a broken (not a notebook) copy; each fetches their
feedback and reads the right verdict; the instructor downloads grades.csv. Then the hub
is stopped with Ctrl-C while a submission waits and started again: that submission is
graded once, and every learner's work is still there. One learner's way runs in Chromium.

Run time: 4 min 47 s on the course's 2-core machine while other jobs kept its load at 8
(two hub starts of 10-25 s, five server starts of 10-15 s, two grading runs of 45-60 s);
every wait is bounded (WAIT), no assertion is on time.
"""
from __future__ import annotations

import csv
import io
import json
import os
import pwd
import re
import stat

import nbformat
import pytest

from lifecycle.hub.client import HubUser
from lifecycle.lab import ROOT
from tests.browser_support import filled

LESSON, STEM = "01_preprocessing", "preprocessing"
WAIT = 240  # seconds: the bound of every wait for feedback (a loaded machine is slow)

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                       reason="the hub runs each learner as their own Unix user: needs root"),
]


def _score(html: str) -> tuple[float, float, str]:
    """Points, total and the exercises' summary ("9 passed, 1 not attempted") of a page."""
    match = re.search(r"Score: ([\d.]+) / ([\d.]+)</b> · exercises: ([^<]*)</p>", html)
    assert match, "the feedback page has no score line"
    return float(match[1]), float(match[2]), match[3]


@pytest.fixture(scope="module")
def hub():
    from tests.hub_support import HubProcess

    process = HubProcess(["ok", "wrong", "broken"])
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="module")
def instructor(hub):
    user = HubUser(hub.url, "instructor", hub.password("instructor"))
    user.start_server()
    return user


@pytest.fixture(scope="module")
def learners(hub, instructor):
    instructor.release(LESSON)
    users = {}
    for role, name in hub.names.items():
        users[role] = HubUser(hub.url, name, hub.password(name))
        users[role].start_server()
    return users


def _nb_json(nb) -> dict:
    return json.loads(nbformat.writes(nb))


class BrowserLearner:
    """One learner's way in Chromium: the hub's login form, the Nbgrader menu's Assignment
    List, its Fetch, Submit and Fetch Feedback buttons (the browser tests' Chromium)."""

    def __init__(self, pw, hub, user: HubUser):
        from tests.browser_support import CHROMIUM_ARGS, SCREENSHOTS, chromium_path

        self.shots = SCREENSHOTS
        self.shots.mkdir(parents=True, exist_ok=True)
        self.browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                          args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.set_default_timeout(WAIT * 1000)
        page = self.page
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", user.name)
        page.fill("#password_input", hub.password(user.name))
        page.click("#login_submit")
        page.wait_for_selector("#jp-main-dock-panel", state="visible")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
        self.lists = page.locator("#nbgrader-assignment-list")

    def click(self, list_id: str, button: str) -> None:
        self.page.locator(f"#{list_id}").get_by_role("button", name=button).first.click()

    def fetch(self) -> None:
        self.click("released_assignments_list", "Fetch")
        self.page.locator("#fetched_assignments_list", has_text=LESSON).wait_for()

    def submit(self) -> None:
        self.click("fetched_assignments_list", "Submit")
        self.page.locator("#submitted_assignments_list", has_text=LESSON).wait_for()

    def wait_feedback(self) -> None:
        """Fetch Feedback until the list offers '(view feedback)' (bounded by WAIT)."""
        import time

        deadline = time.monotonic() + WAIT
        seen = self.page.locator("#submitted_assignments_list", has_text="view feedback")
        while not seen.count():
            assert time.monotonic() < deadline, "no feedback in the browser in time"
            self.click("submitted_assignments_list", "Fetch Feedback")
            self.page.wait_for_timeout(2000)
        self.page.screenshot(path=str(self.shots / "hub-learner-feedback.png"))

    def close(self) -> None:
        self.browser.close()


@pytest.fixture(scope="module")
def submitted(hub, learners):
    """Each learner fetches the lesson, saves their version and submits it; the correct
    one does it in Chromium when there is one (as the browser tests, skipped without)."""
    from tests.browser_support import missing_browser_reason

    answers = [c.metadata["nbgrader"]["grade_id"] for c in filled(LESSON, STEM).cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    versions = {"ok": filled(LESSON, STEM), "wrong": filled(LESSON, STEM, keep_stub=answers[:1])}
    path = f"{LESSON}/{STEM}.ipynb"
    pw = browser = None
    if missing_browser_reason() is None:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
    try:
        for role, user in learners.items():
            if role == "ok" and pw is not None:
                browser = BrowserLearner(pw, hub, user)
                browser.fetch()
            else:
                listing = user.fetch(LESSON)
                assert any(a["assignment_id"] == LESSON and a["status"] == "fetched"
                           for a in listing["value"]), listing
            if role == "broken":
                reply = user.server("PUT", f"/api/contents/{path}", data=json.dumps(
                    {"type": "file", "format": "text", "content": "{ this is not a notebook"}))
                assert reply.status_code in (200, 201), reply.text
            else:  # the learner's answers, saved as the editor's Save does
                user.put_notebook(path, _nb_json(versions[role]))
            if browser is not None and role == "ok":
                browser.submit()
            else:
                user.submit(LESSON)
        if browser is not None:
            browser.wait_feedback()
        return {role: user.feedback(LESSON, wait=WAIT) for role, user in learners.items()}
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()


def test_each_learner_reads_the_right_feedback(submitted):
    ok, wrong, broken = (submitted[r][STEM] for r in ("ok", "wrong", "broken"))
    got, out_of, said = _score(ok)
    assert got == out_of > 0 and re.fullmatch(r"\d+ passed", said), said
    got, out_of, said = _score(wrong)
    assert 0 < got < out_of and "not attempted" in said, said
    got, _, said = _score(broken)
    assert got == 0 and "not graded" in said and "not valid JSON" in broken, said


def test_instructor_exports_grades_and_sees_the_live_view(hub, instructor, learners, submitted):
    reply = instructor.service("grades.csv")
    assert reply.status_code == 200
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(reply.text))
            if r["assignment"] == LESSON}
    names = hub.names
    assert set(rows) >= set(names.values())
    score = {role: float(rows[name]["raw_score"]) for role, name in names.items()}
    assert score["ok"] > score["wrong"] > score["broken"] == 0
    # The formgrader (instructor's JupyterLab) shows the same grades from the gradebook.
    reply = instructor.server("GET", f"/formgrader/api/submissions/{LESSON}")
    assert reply.status_code == 200, reply.text[:300]
    graded = {s["student"]: s for s in reply.json()}
    assert graded[names["ok"]]["score"] == graded[names["ok"]]["max_score"] > 0
    assert graded[names["broken"]]["score"] == 0
    page = instructor.service("")
    assert page.status_code == 200 and "Workshop live view" in page.text
    assert all(name in page.text for name in names.values())
    report = instructor.service("report/report.html")
    assert report.status_code == 200 and names["wrong"] in report.text
    assert instructor.service("report/../../accounts/accounts.json").status_code in (403, 404)
    # A learner may not open the instructor's pages.
    for path in ("grades.csv", "report/report.html", ""):
        assert learners["ok"].service(path).status_code in (401, 403), path


def test_no_learner_can_reach_another_learners_files(hub, learners, submitted):
    for name in hub.names.values():
        home = pwd.getpwnam("mll-" + name).pw_dir
        mode = os.stat(home).st_mode
        assert not mode & (stat.S_IRWXG | stat.S_IRWXO), f"{home} is open to others"
    assert not os.stat(ROOT / "solutions").st_mode & stat.S_IRWXO
    # The contents API ends at the learner's home.
    other = "mll-" + hub.names["wrong"]
    assert learners["ok"].server("GET", f"/api/contents/../{other}").status_code == 404


def test_a_queued_submission_survives_a_restart_and_is_graded_once(hub, learners, submitted):
    from lifecycle.hub.queue import done_records

    user = learners["wrong"]
    user.put_notebook(f"{LESSON}/{STEM}.ipynb", _nb_json(filled(LESSON, STEM)))
    user.submit(LESSON)
    assert hub.interrupt() == 0  # Ctrl-C while the submission waits or is being graded
    hub.start()
    user = HubUser(hub.url, user.name, hub.password(user.name))
    user.start_server()
    assert f"{STEM}.ipynb" in user.list_dir(LESSON)  # the work is still there
    deadline_feedback = user.feedback(LESSON, wait=WAIT, submissions=2)
    records = [r for r in done_records(hub.state / "grading" / "queue")
               if r.get("learner") == hub.names["wrong"]]
    assert [r["status"] for r in records] == ["graded", "graded"]  # two submissions, once each
    stamps = sorted(user.list_dir(f"{LESSON}/feedback"))
    assert len(stamps) == 2
    latest = user.get_file(f"{LESSON}/feedback/{stamps[-1]}/{STEM}.html")
    got, out_of, _ = _score(latest)
    assert got == out_of and deadline_feedback

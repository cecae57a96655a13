"""End to end: the workshop hub with real processes (hub, proxy, single-user servers, the
grading service), driven only through HTTP, as browsers drive it.

The instructor releases lesson 01 with the formgrader's API; three learners log in through
the hub's login form, fetch it from the Assignments API, and submit a correct, a wrong
(one exercise left as released) and a broken (not a notebook) copy; each fetches their
feedback and reads the right verdict; the instructor downloads grades.csv. Then the hub
is stopped with Ctrl-C while a submission waits and started again: that submission is
graded once, and every learner's work is still there. One learner's way runs in Chromium.

Run time on the course's 2-core machine: see the README's test table (a hub start is
about 10 s, each server about 10 s, each grading round 10-30 s).
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


@pytest.fixture(scope="module")
def submitted(learners):
    """Each learner fetches the lesson, saves their version and submits it."""
    answers = [c.metadata["nbgrader"]["grade_id"] for c in filled(LESSON, STEM).cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    versions = {"ok": filled(LESSON, STEM), "wrong": filled(LESSON, STEM, keep_stub=answers[:1])}
    for role, user in learners.items():
        listing = user.fetch(LESSON)
        assert any(a["assignment_id"] == LESSON and a["status"] == "fetched"
                   for a in listing["value"]), listing
        path = f"{LESSON}/{STEM}.ipynb"
        if role == "broken":
            reply = user.server("PUT", f"/api/contents/{path}", data=json.dumps(
                {"type": "file", "format": "text", "content": "{ this is not a notebook"}))
            assert reply.status_code in (200, 201), reply.text
        else:
            user.put_notebook(path, _nb_json(versions[role]))
        user.submit(LESSON)
    return {role: user.feedback(LESSON, wait=WAIT) for role, user in learners.items()}


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
    page = instructor.service("")
    assert page.status_code == 200 and "Workshop live view" in page.text
    assert all(name in page.text for name in names.values())
    # A learner may not open the instructor's pages.
    assert learners["ok"].service("grades.csv").status_code in (401, 403)


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

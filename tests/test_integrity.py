"""Grading integrity: an adversarial class graded in one run of the real command line.

Every hostile, broken or runaway submission in ``tests/adversarial.py`` earns
nothing it does not deserve, gets the right status in ``scores.csv`` and an
explanation in its feedback and in the report, leaves no process or file
behind, and the good submission graded in the same run gets full marks.
"""
from __future__ import annotations

import contextlib
import csv
import html
import re
import shutil
import socket
import sys
import sysconfig
from pathlib import Path

import pytest

from tests import adversarial as adv
from tests.conftest import ROOT, grade_cli

CASES = {c.learner: c for c in adv.cases({})}
CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 8, 45
UNGRADED = {"invalid", "missing", "timeout", "killed", "tampered"}


def _text(path: Path) -> str:
    """Visible text of an HTML page (tags removed, entities decoded)."""
    body = path.read_text(errors="replace")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("integrity")
    subs, out, bait = base / "subs", base / "out", base / "bait"
    bait.mkdir()
    shutil.copy(adv.SOLUTION, bait / f"{adv.NOTEBOOK}.ipynb")  # a stray copy, as in an instructor's /tmp
    tag = f"_adv_{base.name}"
    site = Path(sysconfig.get_paths()["purelib"])
    # What an instructor's machine holds beside the course: the output of an earlier
    # `make grade` in out/ (its gradebook and autograded notebooks hold hidden tests),
    # the formgrader's gradebook at the course root, and a gradebook that an older
    # `make release` left in the environment.
    earlier = ROOT / "out" / f"earlier{tag}"
    out_was_there = earlier.parent.exists()  # a fresh clone has no out/: leave none behind
    planted = [earlier / "gradebook.db", ROOT / f"gradebook{tag}.db", Path(sys.prefix) / f"release{tag}.db",
               earlier / "autograded" / "someone" / adv.LESSON / f"{adv.NOTEBOOK}.ipynb"]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(adv.SOLUTION, path)
    # Files learner code tries to write; removed however the run ends.
    write_targets = [str(ROOT / "lifecycle" / f"{tag}.py"), str(ROOT / "datasets" / f"{tag}.csv"),
                     str(ROOT / "solutions" / f"{tag}.txt"), str(out / f"{tag}.txt"),
                     str(subs / f"{tag}.txt"), str(site / f"{tag}.pth"),
                     str(bait / f"{tag}.txt"), f"/tmp/{tag}.txt"]
    try:
        ctx = {
            "read_targets": [str(adv.SOLUTION), str(ROOT / "solutions" / "*" / "*.ipynb"),
                             "../../solutions/*/*.ipynb", "../../../solutions/*/*.ipynb",
                             str(ROOT / ".git" / "HEAD"), str(out / "gradebook.db"),
                             str(out / "autograded" / "*" / "*" / "*.ipynb"),
                             str(out / ".work" / "unzipped" / "*" / "*" / "*.ipynb"),
                             str(subs / "good" / adv.LESSON / "*.ipynb"), str(bait / "*.ipynb"),
                             "/tmp/*.db", "/tmp/*/*.db", "/tmp/*/*.ipynb",
                             *(str(path) for path in planted), str(ROOT / "out" / "*" / "*.db")],
            "write_targets": write_targets,
            "verdict_target": str(base / f"verdict_cache{tag}"),
            "escape": f"escaped{tag}",
            "absolute": str(base / f"absolute{tag}"),
        }
        listener = socket.socket()  # learner code must never reach the grader's network
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        ctx["port"] = listener.getsockname()[1]
        cases = adv.write_class(subs, ctx)
        proc = grade_cli([str(subs), "--out", str(out), "--lesson", adv.LESSON, "--workers", "2",
                          "--cell-timeout", str(CELL_TIMEOUT), "--notebook-timeout", str(NOTEBOOK_TIMEOUT),
                          "--memory-mb", "2048", "--quiet"], timeout=1200)
        rows = {}
        if (out / "scores.csv").exists():
            with open(out / "scores.csv", newline="") as f:
                for r in csv.DictReader(f):
                    rows[(r["learner"], r["exercise"])] = (float(r["score"]), float(r["max_score"]),
                                                            r["status"])
        leftovers = adv.processes_with(adv.MARKER)
        try:
            listener.accept()[0].close()
            reached = True
        except BlockingIOError:
            reached = False
        listener.close()
        yield {"reached": reached, "proc": proc, "rows": rows, "out": out, "base": base, "ctx": ctx,
               "cases": cases, "leftovers": leftovers}
    finally:  # also when the run failed or timed out: nothing planted stays
        for path in write_targets:  # in case a write got through: never leave it in the tree
            Path(path).unlink(missing_ok=True)
        shutil.rmtree(earlier, ignore_errors=True)
        if not out_was_there:
            with contextlib.suppress(OSError):  # not if something else wrote there meanwhile
                earlier.parent.rmdir()
        for path in planted[1:3]:
            path.unlink(missing_ok=True)


def test_run_exits_zero(run):
    assert run["proc"].returncode == 0, run["proc"].stderr[-3000:]


def test_every_learner_gets_one_row_per_exercise_and_nothing_else(run):
    tests = adv.tests_and_points()
    expected = {(c.learner, ex) for c in run["cases"] for ex in tests}
    assert set(run["rows"]) == expected
    for (_, ex), (_, max_score, _) in run["rows"].items():
        assert max_score == tests[ex]  # nobody changed what an exercise is worth


@pytest.mark.parametrize("learner", list(CASES))
def test_case(run, learner):
    case = CASES[learner]
    tests = adv.tests_and_points()
    got = {ex: run["rows"].get((learner, ex)) for ex in tests}
    wrong = {}
    for ex, row in got.items():
        if row is None:
            wrong[ex] = "no row"
        elif ex in case.ok and row != (tests[ex], tests[ex], "ok"):
            wrong[ex] = f"deserved full points, got {row}"
        elif ex not in case.ok and (row[0] != 0 or row[2] not in case.status):
            wrong[ex] = f"expected 0 and status in {case.status}, got {row}"
    assert not wrong, f"{case.category}: {adv.dump(wrong)}"

    out = run["out"]
    feedback = out / "feedback" / learner / adv.LESSON / f"{adv.NOTEBOOK}.html"
    assert feedback.exists()
    page = _text(feedback)
    if case.note:
        assert case.note in page, f"{case.category}: {case.note!r} not in the feedback"
    if {r[2] for r in got.values()} & UNGRADED:
        report = _text(out / "report.html")
        assert learner in report
        assert case.note in report, f"{case.category}: {case.note!r} not in the report"
    if case.graded_contains:
        graded = out / "autograded" / learner / adv.LESSON / f"{adv.NOTEBOOK}.ipynb"
        assert case.graded_contains in graded.read_text(), case.category


def test_good_submission_gets_full_marks(run):
    total = sum(adv.tests_and_points().values())
    good = [r for (learner, _), r in run["rows"].items() if learner == "good"]
    assert sum(r[0] for r in good) == total and {r[2] for r in good} == {"ok"}
    with open(run["out"] / "grades.csv", newline="") as f:
        grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert grades["good"] == total
    assert grades["invent"] == 0 and grades["points"] == 0


def test_feedback_never_shows_hidden_tests(run):
    hidden = adv.hidden_lines()
    assert hidden
    for page in (run["out"] / "feedback").rglob("*.html"):
        text = _text(page)
        assert "BEGIN HIDDEN TESTS" not in text, page
        shown = [line for line in hidden if line in text]
        assert not shown, f"{page}: {shown[:3]}"


def test_no_learner_code_reached_the_graders_network(run):
    assert not run["reached"]


def test_no_process_outlives_the_run(run):
    assert run["leftovers"] == []


def test_no_write_outside_the_scratch_folder(run):
    escaped = [p for p in run["ctx"]["write_targets"] if Path(p).exists()]
    assert escaped == []
    assert not Path(run["ctx"]["absolute"]).exists()
    assert not [p for p in run["base"].parent.rglob(run["ctx"]["escape"])]


def test_output_is_capped_in_feedback_and_graded_notebook(run):
    out = run["out"]
    for learner in ("output", "big_write", "good"):
        feedback = out / "feedback" / learner / adv.LESSON / f"{adv.NOTEBOOK}.html"
        graded = out / "autograded" / learner / adv.LESSON / f"{adv.NOTEBOOK}.ipynb"
        assert feedback.stat().st_size < 2 << 20, learner
        assert graded.stat().st_size < 1 << 20, learner


def test_answers_cannot_make_the_tests_process_write(run):
    # An answer's estimator parameters (Pipeline(memory=PATH)) make the tests' process write
    # when it fits the answer; that process sees a read-only file system as well.
    assert not Path(run["ctx"]["verdict_target"]).exists()

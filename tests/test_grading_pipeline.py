"""The grading pipeline as an instructor runs it: parallel, resumable, zips, nbgrader's tools.

One small class of lesson 02 (four learners in nbgrader's ``submitted`` layout,
two with the solution and two with wrong answers from ``tests/corpus``, plus
one learner's LMS zip) is graded once with ``--workers 2`` (module fixture);
the other tests compare against that run:

- ``--workers 1`` gives the same scores; a rerun grades only what has no saved result;
- a run killed with SIGKILL mid-way, then rerun, grades only what was not saved
  and ends with the same scores; changing one submission regrades only it;
- a notebook the grader failed on (not the learner) is graded again by the next run;
- the zip (members in a wrapper folder) is graded like the same notebook in a folder;
- plain ``nbgrader autograde`` gives every cell the same score (the benchmark's helper);
- ``nbgrader export`` works on ``OUT/gradebook.db`` and agrees with ``grades.csv``;
- progress is plain lines when stderr is not a terminal.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from autograder.classrun.run import Worker
from benchmarks.grading import build_class, compare, nbgrader_autograde, read_scores
from tests.conftest import PYTHON, ROOT

pytestmark = pytest.mark.cli
LESSON = "02_optimizers"
GRADE = Worker.grade  # the real one, kept while a test replaces it
ZIPPED, TWIN = "zipper", "learner01"  # the zip holds the same notebook as learner01's folder


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(PYTHON).parent) + os.pathsep + env.get("PATH", "")
    return env


def _grade(subs: Path, out: Path, workers: int, timeout: float = 600):
    run = subprocess.run([PYTHON, "-m", "autograder", "grade", str(subs), "--out", str(out),
                          "--workers", str(workers)], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stderr


def _unchanged(log: str) -> tuple[int, int]:
    """``(unchanged, to grade)`` from the run's first log line."""
    match = re.search(r"(\d+) unchanged since the last run, (\d+) to grade", log)
    assert match, log[-2000:]
    return int(match.group(1)), int(match.group(2))


def _graded_lines(log: str) -> list[str]:
    return re.findall(r"^graded \d+/\d+ (\S+):", log, re.M)


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    subs = build_class(tmp_path_factory.mktemp("class") / "submitted", learners=4,
                       lessons=(LESSON,))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # as a Moodle-like LMS downloads it
        for path in (subs / TWIN / LESSON).iterdir():
            archive.write(path, f"{ZIPPED}_1234_assignsubmission_file/{LESSON}/{path.name}")
    (subs / f"{ZIPPED}.zip").write_bytes(buffer.getvalue())
    return subs


@pytest.fixture(scope="module")
def parallel(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("parallel") / "out"
    log = _grade(klass, out, workers=2)
    return out, read_scores(out / "scores.csv"), log


def test_two_workers_give_the_same_scores_as_one(klass, parallel, tmp_path):
    out, scores, _ = parallel
    _grade(klass, tmp_path / "out", workers=1)
    assert (tmp_path / "out" / "scores.csv").read_text() == (out / "scores.csv").read_text()
    # grades.csv rows come in gradebook order, i.e. the order notebooks finished: compare as sets
    assert sorted((tmp_path / "out" / "grades.csv").read_text().splitlines()) == sorted(
        (out / "grades.csv").read_text().splitlines())
    totals = defaultdict(float)
    for (learner, _, _, _), score in scores.items():
        totals[learner] += score
    assert totals["learner00"] == totals["learner02"] > totals["learner01"] > 0


def test_rerun_grades_only_notebooks_without_saved_results(klass, parallel, tmp_path):
    out, expected, _ = parallel
    shutil.copytree(out, tmp_path / "out")
    total = len({k[:3] for k in expected})
    log = _grade(klass, tmp_path / "out", workers=2)
    assert _unchanged(log) == (total, 0) and not _graded_lines(log)
    # As if the run had stopped after saving learner00 but before learner02, whose
    # notebook is identical (same digest): learner02 alone must be graded again.
    (tmp_path / "out" / ".state" / "learner02" / LESSON / "optimizers.json").unlink()
    log = _grade(klass, tmp_path / "out", workers=2)
    assert _unchanged(log) == (total - 1, 1)
    assert _graded_lines(log) == [f"learner02/{LESSON}/optimizers"]
    assert read_scores(tmp_path / "out" / "scores.csv") == expected


def test_resume_after_sigkill_then_regrade_only_what_changed(klass, parallel, tmp_path):
    _, expected, _ = parallel
    subs, out = tmp_path / "submitted", tmp_path / "out"
    shutil.copytree(klass, subs)
    total = len({k[:3] for k in expected})  # notebooks
    # Kill the whole run (the CLI and its workers) with SIGKILL once one notebook is saved.
    proc = subprocess.Popen([PYTHON, "-m", "autograder", "grade", str(subs), "--out", str(out),
                             "--workers", "2"], cwd=ROOT, env=_env(), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        for line in proc.stderr:
            if line.startswith("graded "):
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "scores.csv").exists()  # killed before the end: no results files yet

    log = _grade(subs, out, workers=2)
    unchanged, todo = _unchanged(log)
    assert unchanged >= 1 and todo >= 1 and unchanged + todo == total, log[-2000:]
    assert len(_graded_lines(log)) == todo
    assert read_scores(out / "scores.csv") == expected

    # One learner fixes an answer: only that notebook is graded again.
    target = subs / "learner01" / LESSON / "optimizers.ipynb"
    solution = build_class(tmp_path / "fixed", learners=1, lessons=(LESSON,))
    shutil.copy(solution / "learner00" / LESSON / "optimizers.ipynb", target)
    log = _grade(subs, out, workers=2)
    assert _unchanged(log) == (total - 1, 1)
    assert _graded_lines(log) == [f"learner01/{LESSON}/optimizers"]
    scores = read_scores(out / "scores.csv")
    assert set(scores) == set(expected)  # learner00 and learner02 submit identical notebooks
    changed = {k for k in scores if scores[k] != expected[k]}
    assert changed and {k[0] for k in changed} == {"learner01"}
    assert all(scores[k] == expected[("learner00", *k[1:])] for k in changed)


def _grade_that_fails_for_learner01(worker, job):
    if job.learner == "learner01":
        raise RuntimeError("the sandbox could not be built")  # a fault of the grading machine
    return GRADE(worker, job)


def test_a_grader_fault_is_reported_then_graded_again_on_the_next_run(klass, parallel, tmp_path,
                                                                      monkeypatch):
    from autograder.classrun import run

    _, expected, _ = parallel
    subs, out = tmp_path / "submitted", tmp_path / "out"
    shutil.copytree(klass, subs)
    monkeypatch.setenv("PATH", _env()["PATH"])  # nbgrader runs `alembic`, as the CLI sets up
    # the forked workers see it
    monkeypatch.setattr(run.Worker, "grade", _grade_that_fails_for_learner01)
    run.grade_class(str(subs), str(out), workers=2, quiet=True)
    with open(out / "scores.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["learner"] == "learner01"]
    assert rows and {r["status"] for r in rows} == {"killed"}
    assert "the sandbox could not be built" in (out / "report.html").read_text()

    monkeypatch.setattr(run.Worker, "grade", GRADE)  # the machine is fixed
    log = _grade(subs, out, workers=2)
    assert _graded_lines(log) == [f"learner01/{LESSON}/optimizers"]
    assert read_scores(out / "scores.csv") == expected


def test_ctrl_c_says_how_to_resume(klass, tmp_path):
    proc = subprocess.Popen([PYTHON, "-m", "autograder", "grade", str(klass), "--out",
                             str(tmp_path / "out"), "--workers", "2"], cwd=ROOT, env=_env(),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        for line in proc.stderr:
            if line.startswith("graded "):
                break
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rest = proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    assert proc.returncode == 130, rest[-2000:]
    assert "run the same command again" in rest and "Traceback" not in rest


def test_empty_or_misplaced_folders_get_a_clear_message(klass, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run([PYTHON, "-m", "autograder", "grade", str(empty), "--out", str(tmp_path / "o1")],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "No submissions found" in run.stderr
    run = subprocess.run([PYTHON, "-m", "autograder", "grade", str(klass), "--out", str(klass / "out")],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "would be read as a learner" in run.stderr
    assert not (klass / "out").exists()


def test_lms_zip_with_a_wrapper_folder_is_graded_like_a_folder(parallel):
    out, scores, _ = parallel
    zipped = {k[1:]: v for k, v in scores.items() if k[0] == ZIPPED}
    twin = {k[1:]: v for k, v in scores.items() if k[0] == TWIN}
    assert zipped and zipped == twin
    assert (out / "feedback" / ZIPPED / LESSON / "optimizers.html").is_file()
    with open(out / "scores.csv", newline="") as f:
        assert {r["status"] for r in csv.DictReader(f) if r["learner"] == ZIPPED} <= {"ok", "error"}


def test_scores_equal_plain_nbgrader_autograde(klass, parallel, tmp_path):
    _, scores, _ = parallel
    folder = tmp_path / "submitted"
    shutil.copytree(klass, folder, ignore=shutil.ignore_patterns("*.zip"))
    _, theirs = nbgrader_autograde(folder, [LESSON], tmp_path / "nbgrader")
    ours = {k: v for k, v in scores.items() if k[0] != ZIPPED}
    assert len(theirs) == len(ours) > 0
    assert not compare(theirs, ours)


def test_gradebook_works_with_nbgrader_export(parallel, tmp_path):
    out, scores, _ = parallel
    target = tmp_path / "export.csv"
    run = subprocess.run([str(Path(PYTHON).parent / "nbgrader"), "export",
                          f"--db=sqlite:///{out / 'gradebook.db'}", f"--to={target}"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(target, newline="") as f:
        exported = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}
    with open(out / "grades.csv", newline="") as f:
        grades = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}
    totals = defaultdict(float)
    for (learner, lesson, _, _), score in scores.items():
        totals[(learner, lesson)] += score
    assert exported == grades == pytest.approx(dict(totals))


def test_the_parts_of_out_that_hold_hidden_tests_are_the_graders_alone(parallel):
    out, _, _ = parallel
    for part in ("gradebook.db", ".work", "autograded"):
        assert (out / part).stat().st_mode & 0o077 == 0, part

def test_progress_is_plain_lines_without_a_terminal(parallel):
    _, scores, log = parallel
    notebooks = len({k[:3] for k in scores})
    assert "\r" not in log
    assert len(_graded_lines(log)) == notebooks
    assert re.search(rf"^graded {notebooks}/{notebooks} \S+: [\d.]+/[\d.]+ .*left\)$", log, re.M)
    assert "Report: " in log


def test_progress_draws_a_bar_on_a_terminal():
    from autograder.classrun.progress import Progress
    from autograder.grading.pipeline import Job, Outcome

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    progress = Progress(2, stream=stream)
    outcome = Outcome(Job("a", LESSON, "optimizers", None),
                      rows=[{"score": 1.0, "max_score": 2.0, "status": "ok"}])
    progress.step("a", outcome)
    progress.step("b", outcome)
    progress.done()
    text = stream.getvalue()
    assert text.count("\r[") == 2 and "2/2 notebooks" in text and "left" in text


def test_report_and_feedback_pages_read_well(klass, tmp_path):
    """The report links every learner's feedback page and rates exercises over those who
    handed them in; a feedback page has a summary per exercise, offline maths and plots."""
    subs, out = tmp_path / "submitted", tmp_path / "out"
    for learner in ("learner00", "learner01"):
        shutil.copytree(klass / learner, subs / learner)
    nb = (klass / "learner00" / LESSON / "optimizers.ipynb").read_text()
    for learner, name, text in (
            ("unreadable", "optimizers.ipynb", nb[: len(nb) // 2]),
            ("renamed", "my-optimizers.ipynb", nb),
            ("blank", "optimizers.ipynb", (ROOT / "course" / LESSON / "optimizers.ipynb").read_text())):
        (subs / learner / LESSON).mkdir(parents=True)
        (subs / learner / LESSON / name).write_text(text)
    _grade(subs, out, workers=2)
    report = (out / "report.html").read_text()
    learners = {"learner00", "learner01", "unreadable", "renamed", "blank"}
    for learner in learners:
        link = f"feedback/{learner}/{LESSON}/optimizers.html"
        assert f"href='{link}'" in report, learner
        assert (out / link).is_file()
    with open(out / "scores.csv", newline="") as f:
        table = list(csv.DictReader(f))
    for exercise in {r["exercise"] for r in table}:
        mine = [r for r in table if r["exercise"] == exercise]
        handed = [r for r in mine if r["status"] not in ("missing", "invalid")]
        passed = sum(float(r["score"]) >= float(r["max_score"]) for r in handed)
        rate = 100 * passed / len(handed)
        expected = (f"<tr><td>{LESSON}</td><td>{exercise}</td><td>{rate:.0f}%</td><td class='bar'>"
                    f"<div style='width:{rate:.0f}%'></div></td><td>{passed}</td><td>{len(handed)}"
                    "</td><td>1</td><td>1</td></tr>")
        assert expected in report, (expected, len(handed))
    blank = (out / "feedback" / "blank" / LESSON / "optimizers.html").read_text()
    from autograder.grading.feedback import exercises, inline_html

    release = nbformat.read(str(ROOT / "course" / LESSON / "optimizers.ipynb"), as_version=4)
    assert "Test cell" not in blank
    assert all(inline_html(ex["title"]) in blank for ex in exercises(release))
    # the summary: every exercise of the lesson not attempted
    assert len(re.findall(r"class=[\"']lc-not-attempted[\"']", blank)) == len(exercises(release))
    assert "<math" in blank and "$$" not in blank
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]?(https?:)?//", blank)
    solved = (out / "feedback" / "learner00" / LESSON / "optimizers.html").read_text()
    # the lesson's plots are demonstrations: left out when grading, and the page says so
    assert "Not run when grading" in solved
    assert len(re.findall(r"class=[\"']lc-passed[\"']", solved)) == len(exercises(release))
    unreadable = (out / "feedback" / "unreadable" / LESSON / "optimizers.html").read_text()
    assert unreadable.count("not valid JSON") == 1


def _gradebook_scores(out: Path) -> dict:
    """``(learner, lesson, notebook, exercise) -> auto_score`` of every grade in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        return {(sub.student.id, LESSON, nb.name, grade.name): grade.auto_score
                for sub in gb.assignment_submissions(LESSON) for nb in sub.notebooks
                for grade in nb.grades}


def test_scores_csv_and_the_gradebook_hold_the_same_grades(tmp_path):
    from autograder.grading.notebook import read_lesson
    from tests.conftest import filled_release
    from tests.test_corpus import WRONG

    source = ROOT / "solutions" / LESSON / "optimizers.ipynb"
    lesson = read_lesson(nbformat.read(str(source), as_version=4))
    wrong = next(v for v in WRONG if v.notebook.endswith(f"{LESSON}/optimizers.ipynb"))
    deleted = filled_release(f"solutions/{LESSON}/optimizers.ipynb")
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != lesson.tests[0].grade_id]
    notebooks = {
        "solver": filled_release(f"solutions/{LESSON}/optimizers.ipynb"),
        "wrong": filled_release(wrong.notebook, wrong.answers),
        "killed": filled_release(f"solutions/{LESSON}/optimizers.ipynb",
                                 {lesson.answers[0].grade_id: "import os\nos._exit(0)"}),
        "deleted": deleted,
    }
    subs, out = tmp_path / "submitted", tmp_path / "out"
    for learner, nb in notebooks.items():
        (subs / learner / LESSON).mkdir(parents=True)
        nbformat.write(nb, str(subs / learner / LESSON / "optimizers.ipynb"))
    (subs / "invalid" / LESSON).mkdir(parents=True)
    (subs / "invalid" / LESSON / "optimizers.ipynb").write_text("not a notebook")
    _grade(subs, out, workers=2)
    with open(out / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    statuses = defaultdict(set)
    for r in rows:
        statuses[r["learner"]].add(r["status"])
    assert "killed" in statuses["killed"] and statuses["invalid"] == {"invalid"}, statuses
    assert statuses["solver"] == {"ok"} and "error" in statuses["wrong"], statuses
    scores = {(r["learner"], r["lesson"], r["notebook"], r["exercise"]): float(r["score"])
              for r in rows}
    assert _gradebook_scores(out) == scores  # cell by cell, every learner

    totals = defaultdict(float)
    for (learner, *_), score in scores.items():
        totals[learner] += score
    with open(out / "grades.csv", newline="") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert exported == dict(totals) and exported["solver"] > exported["wrong"] > 0
    # nbgrader's own command reads the gradebook, and finds the same
    theirs = tmp_path / "export.csv"
    run = subprocess.run([str(Path(PYTHON).parent / "nbgrader"), "export",
                          f"--CourseDirectory.db_url=sqlite:///{out / 'gradebook.db'}",
                          "--CourseDirectory.course_id=model-lifecycle-lab",
                          f"--CsvExportPlugin.to={theirs}"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(theirs.read_text().splitlines()) == sorted(
        (out / "grades.csv").read_text().splitlines())

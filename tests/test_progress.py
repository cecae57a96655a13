"""`python -m lifecycle.progress`: the learner's own answer to "how far am I?"."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lifecycle import progress
from tests.conftest import ROOT, released_course


def _meta(grade_id, *, solution=False, grade=False, points=0):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _nb(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def answer(gid, src):
    return new_code_cell(src, metadata=_meta(gid, solution=True))


def test_cell(gid, src, points=1):
    return new_code_cell(src, metadata=_meta(gid, grade=True, points=points))


test_cell.__test__ = False  # a cell builder, not a test


def _write(course: Path, lesson: str, name: str, nb) -> Path:
    (course / lesson).mkdir(parents=True, exist_ok=True)
    path = course / lesson / name
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    nb = _nb(
        new_markdown_cell("# A lesson"),
        new_code_cell("from lifecycle.feedback import check_close",
                      metadata=_meta("setup")),
        answer("double", "def double(x):\n    return 2 * x"),
        test_cell("test_double", "check_close(double(2), 4)", points=2),
        # In a release, a cell of hidden tests only is empty: grading alone can tell.
        test_cell("test_double_hidden", "", points=4),
        answer("square", "def square(x):\n    return x + x"),
        test_cell("test_square", "check_close(square(3), 9, what='square(3)',\n"
                                 "            hint='multiply, do not add')", points=3),
        test_cell("test_square_zero", "check_close(square(0), 0)", points=1),
        answer("cube", "def cube(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        test_cell("test_cube", "check_close(cube(2), 8)", points=2),
        test_cell("test_cube_wrapped", "try:\n    cube(1)\nexcept Exception as exc:\n"
                                       "    raise AssertionError(f'cube crashed: {exc!r}') from None",
                  points=1),
        # A progress cell at the end of the lesson must not recurse.
        new_code_cell("from lifecycle.progress import show_progress\n"
                      "show_progress('01_first', force=True)"),
    )
    _write(course, "01_first", "first.ipynb", nb)
    _write(course, "02_loops", "loops.ipynb", _nb(
        answer("spin", "def spin():\n    return 1"),
        new_code_cell("while True:\n    pass"),
        test_cell("test_spin", "assert spin() == 1", points=1),
    ))
    (course / "notes").mkdir()  # not a lesson
    (course / "01_first" / ".ipynb_checkpoints").mkdir()
    _write(course, "01_first/.ipynb_checkpoints", "first-checkpoint.ipynb", nb)
    return course


@pytest.fixture(scope="module")
def first_report(course):
    return progress.check_notebook(course / "01_first" / "first.ipynb", timeout=120)


def test_discover_lists_lesson_notebooks_in_order(course):
    found = progress.discover(course)
    assert [p.relative_to(course).as_posix() for p in found] == [
        "01_first/first.ipynb", "02_loops/loops.ipynb"]
    assert progress.discover(course, "02_loops") == [course / "02_loops" / "loops.ipynb"]
    assert progress.discover(course / "missing") == []


def test_copies_of_a_notebook_are_named_not_counted(tmp_path):
    lesson = tmp_path / "01_first"
    lesson.mkdir()
    for name in ("first.ipynb", "first (1).ipynb", "first-Copy1.ipynb", "first copy.ipynb"):
        (lesson / name).write_text("{}")
    assert progress.discover(tmp_path) == [lesson / "first.ipynb"]
    assert sorted(p.name for p in progress.copies(tmp_path)) == [
        "first (1).ipynb", "first copy.ipynb", "first-Copy1.ipynb"]


def test_each_test_cell_gets_a_verdict_under_its_exercise(first_report):
    rep = first_report
    assert rep.problem == ""
    got = {c.test: (c.exercise, c.status, c.points) for c in rep.checks}
    assert got == {
        "test_double": ("double", "passed", 2),
        "test_square": ("square", "failed", 3),
        "test_square_zero": ("square", "passed", 1),
        "test_double_hidden": ("double", "hidden", 4),
        "test_cube": ("cube", "not started", 2),
        "test_cube_wrapped": ("cube", "not started", 1),
    }
    assert rep.score == 3 and rep.max_score == 9 and rep.hidden_points == 4


def test_failure_message_is_the_checks_own(first_report):
    square = next(c for c in first_report.checks if c.test == "test_square")
    assert "CheckFailure" in square.message
    assert "square(3) is not right" in square.message
    assert "multiply, do not add" in square.message
    assert "\x1b[" not in square.message  # no terminal colour codes


def test_report_text(first_report):
    text = progress.format_report([first_report])
    assert ("01_first/first.ipynb: 3 of 9 points pass the public checks "
            "(+4 in hidden-only tests, checked when graded)") in text
    assert "[HIDN] test_double_hidden (4 pts) hidden tests only" in text
    assert "[PASS] test_double (2/2)" in text
    assert "[FAIL] test_square (0/3) failed" in text
    assert "hint: multiply, do not add" in text
    assert "[TODO] test_cube (0/2) not started" in text
    assert "hidden tests" in text
    assert "No lesson notebooks" in progress.format_report([])


def test_a_hanging_cell_is_stopped(course):
    rep = progress.check_notebook(course / "02_loops" / "loops.ipynb", timeout=120, cell_timeout=3)
    assert "longer than 3 s" in rep.problem
    assert [(c.test, c.status) for c in rep.checks] == [("test_spin", "not run")]


def test_a_hanging_notebook_is_stopped_as_a_whole(course):
    rep = progress.check_notebook(course / "02_loops" / "loops.ipynb", timeout=6, cell_timeout=60)
    assert "stopped after 6 s" in rep.problem
    assert [c.status for c in rep.checks] == ["not run"]


def test_unreadable_notebook_is_reported(tmp_path):
    path = tmp_path / "01_bad" / "bad.ipynb"
    path.parent.mkdir()
    path.write_text("{ not json")
    rep = progress.check_notebook(path, timeout=60)
    assert rep.checks == [] and "could not" in rep.problem


def test_show_progress_is_quiet_when_graded_or_nested(course, capsys, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv(progress.GUARD, raising=False)
    assert progress.show_progress("01_first", course=course) == []
    assert "skipped (not running inside JupyterLab)" in capsys.readouterr().out
    monkeypatch.setenv(progress.GUARD, "1")
    assert progress.show_progress("01_first", course=course, force=True) == []
    assert capsys.readouterr().out == ""


def test_cli(course):
    cmd = [sys.executable, "-m", "lifecycle.progress", "--course", str(course)]
    run = subprocess.run(cmd + ["--lesson", "01_first"], capture_output=True, text=True,
                         timeout=180, cwd=ROOT)
    assert run.returncode == 1, run.stderr
    assert "[FAIL] test_square" in run.stdout and "Total: 3 of 9 points" in run.stdout
    run = subprocess.run(cmd + ["--lesson", "09_nothing"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert run.returncode == 2 and "No notebooks for lesson '09_nothing'" in run.stderr
    assert "lessons: 01_first, 02_loops" in run.stderr


def test_cli_exit_0_when_everything_passes(tmp_path):
    _write(tmp_path, "01_ok", "ok.ipynb", _nb(
        answer("one", "def one():\n    return 1"),
        test_cell("test_one", "assert one() == 1", points=1)))
    run = subprocess.run([sys.executable, "-m", "lifecycle.progress", "--course", str(tmp_path),
                          "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"status": "passed"' in run.stdout


def test_show_progress_in_jupyterlab_checks_the_current_lesson(tmp_path, monkeypatch, capsys):
    _write(tmp_path, "01_ok", "ok.ipynb", _nb(
        answer("one", "def one():\n    return 1"),
        test_cell("test_one", "assert one() == 1", points=1)))
    _write(tmp_path, "02_other", "other.ipynb", _nb(new_code_cell("raise SystemExit")))
    monkeypatch.delenv(progress.GUARD, raising=False)
    # JupyterLab tells its kernels which notebook they belong to.
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "01_ok" / "ok.ipynb"))
    reports = progress.show_progress(course=tmp_path, timeout=120)
    assert [(r.lesson, r.score, r.max_score) for r in reports] == [("01_ok", 1, 1)]
    assert "01_ok/ok.ipynb: 1 of 1 points" in capsys.readouterr().out
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "solutions" / "01_ok" / "ok.ipynb"))
    assert progress.show_progress(course=tmp_path) == []
    assert "instructor's copy" in capsys.readouterr().out


@pytest.mark.notebooks
def test_real_lesson_solved_passes_and_release_does_not(tmp_path):
    """On a real lesson: the release stub passes no public check, the solution all."""
    from tests.browser_support import filled, lesson_notebooks

    lesson, stem = lesson_notebooks()[0]
    (tmp_path / lesson).mkdir()
    nbformat.write(filled(lesson, stem), str(tmp_path / lesson / f"{stem}.ipynb"))
    solved = progress.check_notebook(tmp_path / lesson / f"{stem}.ipynb", timeout=240)
    assert solved.problem == "" and solved.checks
    assert all(c.status in ("passed", "hidden") for c in solved.checks), \
        [(c.test, c.status, c.message) for c in solved.checks if not c.passed]
    release = progress.check_notebook(released_course() / lesson / f"{stem}.ipynb", timeout=240)
    assert release.score == 0, [c.test for c in release.checks if c.passed]


def test_only_started_lessons_run_and_the_cli_says_what_it_does(tmp_path):
    _write(tmp_path, "01_ok", "ok.ipynb", _nb(
        answer("one", "def one():\n    return 1"),
        test_cell("test_one", "assert one() == 1", points=1)))
    # Untouched: every answer is still the release's stub; a cell that never ends proves
    # the notebook is not run.
    stub = _write(tmp_path, "02_later", "later.ipynb", _nb(
        new_code_cell("import time\ntime.sleep(3600)"),
        answer("two", "def two():\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        test_cell("test_two", "assert two() == 2", points=2)))
    assert progress.untouched(stub) and not progress.untouched(tmp_path / "01_ok" / "ok.ipynb")
    run = subprocess.run([sys.executable, "-m", "lifecycle.progress", "--course", str(tmp_path),
                          "--cell-timeout", "20"], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Not started, so not run" in run.stderr and "02_later/later.ipynb" in run.stderr
    assert "[1/1] running 01_ok/ok.ipynb" in run.stderr
    assert "02_later/later.ipynb: 0 of 2 points" in run.stdout
    assert "not started: every exercise still raises NotImplementedError" in run.stdout
    assert "Total: 1 of 3 points" in run.stdout


def test_check_answers_did_i_get_it_per_exercise_in_the_kernel(course, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    notebook = course / "01_first" / "first.ipynb"
    shell.run_cell("from lifecycle.feedback import check_close\n"
                   "def double(x):\n    return 2 * x\n"
                   "def square(x):\n    return x + x\n"
                   "def cube(x):\n    raise NotImplementedError()")
    verdicts = progress.check(notebook=notebook, shell=shell)
    assert verdicts == {"double": "passed", "square": "failed", "cube": "not started"}
    out = capsys.readouterr().out
    assert "[PASS] double" in out and "[TODO] cube: not started" in out
    assert "square(3) is not right" in out and "hint: multiply, do not add" in out
    shell.run_cell("def square(x):\n    return x * x")  # fixed in the kernel: no re-run needed
    assert progress.check("square", notebook=notebook, shell=shell) == {"square": "passed"}
    assert progress.check("nothing", notebook=notebook, shell=shell) == {}
    assert "exercises: double, square, cube" in capsys.readouterr().out

"""lifecycle.validate: the Validate dialog's answer, per exercise."""
from __future__ import annotations

import nbformat
import pytest

from lifecycle.progress import CheckResult, NotebookReport
from lifecycle.validate import summarize, validate

TITLES = {"a": "Exercise 1 · a", "b": "Exercise 2 · b", "c": "Exercise 3 · c"}


def report(*checks, problem=""):
    return NotebookReport("01_x", "x.ipynb", [CheckResult(*c) for c in checks], problem)


def test_every_exercise_passing_is_success():
    rep = report(("a", "t1", 1, "passed"), ("b", "t2", 2, "passed"), ("c", "t3", 1, "hidden"))
    assert summarize(rep, TITLES) == {}


def test_one_line_per_exercise_with_the_first_failing_checks_message():
    rep = report(("a", "t1", 1, "passed"),
                 ("b", "t2", 1, "passed"), ("b", "t3", 1, "failed", "CheckFailure: got 3\nhint: x"),
                 ("b", "t4", 1, "failed", "CheckFailure: the later check"),
                 ("c", "t5", 1, "not started", "not answered yet"), ("c", "t6", 1, "hidden"))
    (entry,) = summarize(rep, TITLES)["failed"]
    assert entry["source"] == "1 of 3 exercises pass their public checks; 1 failed, 1 not started."
    lines = entry["error"].splitlines()
    assert lines[0].endswith("<b>Exercise 1 · a</b>: passed")
    assert lines[1].endswith("<b>Exercise 2 · b</b>: failed")
    assert "CheckFailure: got 3" in lines[2] and "hint: x" in lines[3]
    assert "the later check" not in entry["error"]  # the first check that fails decides
    assert any(line.endswith("<b>Exercise 3 · c</b>: not started") for line in lines)


def test_messages_are_escaped_and_a_problem_is_said_first():
    rep = report(("a", "t1", 1, "failed", "<script>x</script>"), problem="the kernel died")
    error = summarize(rep, TITLES)["failed"][0]["error"]
    assert error.splitlines()[0] == "<b>! the kernel died</b>"
    assert "<script>" not in error and "&lt;script&gt;" in error


def test_a_problem_is_not_success_even_when_nothing_failed():
    rep = report(("a", "t1", 1, "passed"), problem="a cell ran longer than 60 s and was stopped")
    assert "failed" in summarize(rep, TITLES)


def test_changed_locked_cell_is_reported_as_nbgrader_does(tmp_path):
    from nbgrader.utils import compute_checksum

    cell = nbformat.v4.new_code_cell("assert 1 == 1")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1,
                                 "solution": False, "schema_version": 3}
    cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    cell.source = "pass  # the learner made the test pass"
    path = tmp_path / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))
    assert validate(path) == {"success": True,
                              "value": {"changed": [{"source": "pass  # the learner made the test pass"}]}}


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"cells": 3}'])
def test_unreadable_notebook_is_an_error_message(tmp_path, content):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    result = validate(path)
    assert result["success"] is False and "could not be read as a notebook" in result["value"]

"""course/ is what `make release` makes from solutions/, and both are clean.

The release is made afresh in a temporary folder: nothing here reads a
learner's edits in course/ as the release or writes into course/. A learner's
work in course/ (answers, outputs, JupyterLab's checkpoint folders) does not
fail these tests as long as the committed release is right.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import warnings

import nbformat
import pytest

from autograder.grading.demos import skipped
from autograder.grading.notebook import names_defined, names_used, read_lesson, split_hidden
from tests.conftest import PYTHON, ROOT

LESSON_NAME = re.compile(r"\d\d_\w+")  # as the Makefile's LESSONS: editor folders are not lessons
LESSONS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                 if p.is_dir() and LESSON_NAME.fullmatch(p.name))
SOLUTIONS = sorted(p for lesson in LESSONS for p in (ROOT / "solutions" / lesson).glob("*.ipynb"))


def _ids(path):
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A fresh ``make release`` of every lesson, made in a temporary folder."""
    out = tmp_path_factory.mktemp("release")
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    # One nbgrader process for every lesson (the Makefile's pattern, as nbgrader globs
    # it): the same converter and settings as one call per lesson, without paying
    # nbgrader's start-up and a new gradebook seven times.
    nbgrader = [PYTHON, "-m", "nbgrader", "generate_assignment", "[0-9][0-9]_*", "--force",
                "--log-level=ERROR", f"--CourseDirectory.release_directory={out}",
                f"--db=sqlite:///{out}/gradebook.db"]
    subprocess.run(nbgrader, cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
    return out


def _committed(path) -> str | None:
    """The text of ``path`` as last committed, or None outside a git checkout."""
    try:
        done = subprocess.run(["git", "show", f"HEAD:{path.relative_to(ROOT)}"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _same_notebook(text: str | None, fresh: dict) -> bool:
    try:
        return text is not None and json.loads(text) == fresh
    except ValueError:
        return False


def test_course_has_the_same_lessons_as_solutions():
    course = sorted(p.name for p in (ROOT / "course").iterdir()
                    if p.is_dir() and LESSON_NAME.fullmatch(p.name))
    assert course == LESSONS
    assert (ROOT / "course" / "README.md").read_text() == (ROOT / "solutions" / "README.md").read_text()
    assert (ROOT / "course" / "glossary.md").read_text() == (ROOT / "docs" / "glossary.md").read_text()


@pytest.mark.parametrize("lesson", LESSONS)
def test_course_equals_a_fresh_release(lesson, release):
    """course/<lesson> as in the working tree, or as committed if a learner worked in it."""
    fresh = sorted((release / lesson).glob("*.ipynb"))
    course = sorted((ROOT / "course" / lesson).glob("*.ipynb"))
    assert [p.name for p in fresh] == [p.name for p in course], (
        f"course/{lesson} does not hold the notebooks a release makes: run `make release`")
    for new, old in zip(fresh, course, strict=True):
        expected = json.loads(new.read_text())
        if _same_notebook(old.read_text(), expected):
            continue
        # A learner's answers: fine, if what is committed is the release.
        assert _same_notebook(_committed(old), expected), (
            f"course/{lesson}/{old.name} differs from a fresh release: run `make release` "
            "(it first copies changed files in course/ to .lab/) and commit course/")
        warnings.warn(f"course/{lesson}/{old.name} holds a learner's work; the committed "
                      "version is the release (`git checkout -- course/` restores it)",
                      stacklevel=1)


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids)
def test_notebooks_are_valid_and_have_no_outputs(path, release):
    for notebook in (path, release / path.parent.name / path.name):
        nb = nbformat.read(str(notebook), as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, (
                    f"{notebook.name}: commit notebooks clean")


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids)
def test_release_has_stubs_and_no_solutions_or_hidden_tests(path, release):
    released = release / path.parent.name / path.name
    text = released.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    lesson = read_lesson(released)
    assert lesson.answers and lesson.tests
    for cell in lesson.answers:
        assert "raise NotImplementedError" in cell.source, cell.grade_id


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids)
def test_lesson_structure(path):
    """The lesson guide: 5-10 graded exercises, hidden tests, setup cells tagged, ids set."""
    nb = nbformat.read(str(path), as_version=4)
    lesson = read_lesson(nb)
    assert 5 <= len(lesson.answers) <= 12
    assert all(c.grade_id.startswith("test_") for c in lesson.tests)
    for answer in lesson.answers:  # every exercise is also checked on inputs learners never saw
        names = names_defined(answer.source)
        hidden = [t for t in lesson.tests if names & names_used(t.source) and split_hidden(t.source)[1]]
        assert hidden, f"no hidden tests for {answer.grade_id}"
    assert all(c.points > 0 for c in lesson.tests)
    assert all(cell.get("id") for cell in nb.cells)
    assert any("setup" in cell.metadata.get("tags", []) for cell in nb.cells)


def _shows_a_check_result(source: str) -> bool:
    """Whether a cell ends with a bare ``check_raises(...)``: Jupyter would print the exception."""
    try:
        body = ast.parse(source).body
    except SyntaxError:  # a stub the learner has to finish
        return False
    last = body[-1] if body else None
    return (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name) and last.value.func.id == "check_raises")


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids)
def test_test_cells_print_nothing_of_their_checks(path, release):
    """A test cell's last line is not a bare check_raises, in the solution and in the release."""
    for notebook in (path, release / path.parent.name / path.name):
        for cell in nbformat.read(str(notebook), as_version=4).cells:
            if cell.cell_type == "code":
                assert not _shows_a_check_result(cell.source), (
                    f"{notebook.name}: write `_ = check_raises(...)` on a cell's last line:\n"
                    f"{cell.source[-300:]}")


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids)
def test_every_demonstration_is_left_out_when_grading_an_unchanged_notebook(path, release):
    """A cell tagged ``demo`` must be one grading can leave out (docs/authoring.md): nothing
    that runs reads what it binds, in the solution and in the learner's copy as released."""
    lesson = read_lesson(path)
    for notebook in (path, release / path.parent.name / path.name):
        cells = [c for c in read_lesson(notebook).cells if c.role != "test"]
        left_out = skipped([c.source for c in cells], lesson.demo_sources, lesson.test_sources)
        kept = [c.source[:200] for i, c in enumerate(cells) if c.role == "demo" and i not in left_out]
        assert not kept, f"{notebook.name}: tagged demo but read by what runs:\n" + "\n--\n".join(kept)

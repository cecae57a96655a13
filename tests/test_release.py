"""course/ is exactly what `make release` makes from solutions/, and both are clean."""
from __future__ import annotations

import json
import os
import subprocess

import nbformat
import pytest

from autograder.notebook import names_defined, names_used, read_lesson, split_hidden
from tests.conftest import PYTHON, ROOT

LESSONS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
NOTEBOOKS = sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("course/*/*.ipynb"))


def test_course_has_the_same_lessons_as_solutions():
    assert sorted(p.name for p in (ROOT / "course").iterdir() if p.is_dir()) == LESSONS
    assert (ROOT / "course" / "README.md").read_text() == (ROOT / "solutions" / "README.md").read_text()
    assert (ROOT / "course" / "glossary.md").read_text() == (ROOT / "docs" / "glossary.md").read_text()


@pytest.mark.parametrize("lesson", LESSONS)
def test_course_equals_a_fresh_release(lesson, tmp_path):
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    nbgrader = [PYTHON, "-m", "nbgrader", "generate_assignment", lesson, "--force",
                "--log-level=ERROR", f"--CourseDirectory.release_directory={tmp_path}",
                f"--db=sqlite:///{tmp_path}/gradebook.db"]
    subprocess.run(nbgrader, cwd=ROOT, env=env, check=True, capture_output=True)
    fresh = sorted((tmp_path / lesson).glob("*.ipynb"))
    committed = sorted((ROOT / "course" / lesson).glob("*.ipynb"))
    assert [p.name for p in fresh] == [p.name for p in committed]
    for new, old in zip(fresh, committed, strict=True):
        assert json.loads(new.read_text()) == json.loads(old.read_text()), (
            f"course/{lesson}/{old.name} differs from the release: run `make release`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_valid_and_have_no_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks clean"


@pytest.mark.parametrize("path", sorted(ROOT.glob("course/*/*.ipynb")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_release_has_stubs_and_no_solutions_or_hidden_tests(path):
    text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    lesson = read_lesson(path)
    assert lesson.answers and lesson.tests
    for cell in lesson.answers:
        assert "raise NotImplementedError" in cell.source, cell.grade_id


@pytest.mark.parametrize("path", sorted(ROOT.glob("solutions/*/*.ipynb")),
                         ids=lambda p: str(p.relative_to(ROOT)))
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

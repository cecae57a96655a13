"""Shared fixtures: repository paths and cached lesson runners."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable



@functools.cache
def lesson_runner(notebook: str):
    """Return a cached :class:`autograder.inprocess.LessonRunner` for a notebook path."""
    from autograder.inprocess import LessonRunner

    return LessonRunner(ROOT / notebook)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def filled_release(notebook: str, replacements: dict | None = None):
    """The learner's release of ``notebook`` with every answer cell filled in.

    Answers come from the solution (markers stripped) unless ``replacements``
    gives another source for a ``grade_id``; ``{gid: None}`` keeps the stub.
    """
    import nbformat

    from autograder.notebook import read_lesson

    solution = {c.grade_id: c.source for c in read_lesson(ROOT / notebook).answers}
    solution.update(replacements or {})
    release = ROOT / notebook.replace("solutions/", "course/", 1)
    nb = nbformat.read(str(release), as_version=4)
    for cell in nb.cells:
        gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if cell.cell_type == "code" and (cell.metadata.get("nbgrader") or {}).get("solution") \
                and solution.get(gid) is not None:
            cell.source = solution[gid]
    return nb

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


@pytest.fixture(scope="session")
def bundle():
    """Lesson 05's reference model bundle, trained once per test process (read-only)."""
    from lifecycle import deploy

    return deploy.train_reference_bundle(seed=0)


@pytest.fixture(scope="session")
def saved(bundle, tmp_path_factory):
    """The reference bundle saved to a folder (read-only: copy it to change it)."""
    from lifecycle import deploy

    return deploy.save_bundle(bundle, tmp_path_factory.mktemp("bundle") / "penguins")


def filled_release(notebook: str, replacements: dict | None = None):
    """The release of ``notebook`` (a path under ``solutions/``) with its answers filled in.

    See :func:`autograder.notebook.filled_release`.
    """
    from autograder.notebook import filled_release as fill

    return fill(ROOT / notebook, replacements)

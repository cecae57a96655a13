"""Shared fixtures: repository paths and cached lesson runners."""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable

os.environ.setdefault("MPLBACKEND", "Agg")


@functools.lru_cache(maxsize=None)
def lesson_runner(notebook: str):
    """Return a cached :class:`autograder.inprocess.LessonRunner` for a notebook path."""
    from autograder.inprocess import LessonRunner

    return LessonRunner(ROOT / notebook)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT

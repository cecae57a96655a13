"""Shared fixtures: repository paths and cached lesson runners."""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable


def grade_cli(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``python -m autograder grade ARGS`` from the course root; stdout and stderr captured.

    On ``timeout`` the whole process group goes (the grader's workers and
    their sandboxes with it), so a run that took too long leaves nothing
    running for the rest of the suite, then :class:`subprocess.TimeoutExpired`
    is raised.
    """
    return run_group([PYTHON, "-m", "autograder", "grade", *args], timeout)


def run_group(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``cmd`` from the course root in a session of its own; stdout and stderr captured.

    On ``timeout`` its whole process group is killed, then
    :class:`subprocess.TimeoutExpired` is raised.
    """
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@functools.cache
def released_course() -> Path:
    """``course/`` as released: the folder itself, or its last commit if a learner worked in it.

    Tests that need the learners' release read it from here, so a learner's
    answers and outputs in ``course/`` (after ``make lab``) are never taken for it.
    """
    course = ROOT / "course"
    try:
        changed = subprocess.run(["git", "status", "--porcelain", "--", "course"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
    except OSError:  # no git: a copy of the course, not a checkout
        return course
    if changed.returncode or not changed.stdout.strip():
        return course
    dest = Path(tempfile.mkdtemp(prefix="released-course-"))
    atexit.register(shutil.rmtree, dest, ignore_errors=True)
    archive = subprocess.run(["git", "archive", "HEAD", "course"], cwd=ROOT, capture_output=True,
                             check=True, timeout=120)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True, timeout=120)
    return dest / "course"


@functools.cache
def lesson_runner(notebook: str):
    """Return a cached :class:`autograder.grading.inprocess.LessonRunner` for a notebook path."""
    from autograder.grading.inprocess import LessonRunner

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

    See :func:`autograder.grading.notebook.filled_release`.
    """
    from autograder.grading.notebook import filled_release as fill

    release = released_course() / Path(notebook).relative_to("solutions")
    return fill(ROOT / notebook, replacements, release=release)


@pytest.fixture(scope="session")
def boxes():
    """One confined sandbox pair for the session's tests, as a grading worker keeps one."""
    from autograder.sandbox import bubblewrap

    pair = bubblewrap.Pair()
    yield pair
    pair.close()

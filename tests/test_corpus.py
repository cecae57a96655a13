"""Every graded cell grades: solutions full, stubs zero, wrong answers less, alternatives full."""
from __future__ import annotations

import importlib
import pkgutil

import nbformat
import pytest

from autograder.notebook import read_lesson
from tests import corpus
from tests.conftest import ROOT, lesson_runner

MODULES = [importlib.import_module(f"tests.corpus.{m.name}")
           for m in pkgutil.iter_modules(corpus.__path__)]
NOTEBOOKS = sorted({nb for m in MODULES for nb in m.NOTEBOOKS})
WRONG = [v for m in MODULES for v in m.WRONG]
RIGHT = [v for m in MODULES for v in m.RIGHT]


def test_every_solution_notebook_has_a_corpus():
    solutions = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("solutions/*/*.ipynb"))
    assert solutions == NOTEBOOKS


def _stubs(notebook: str) -> dict[str, str]:
    release = ROOT / notebook.replace("solutions/", "course/", 1)
    nb = nbformat.read(str(release), as_version=4)
    return {c.grade_id: c.source for c in read_lesson(nb).answers}


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_gets_full_marks(notebook):
    runner = lesson_runner(notebook)
    failed = {k: o.message for k, o in runner.grade().items() if not o.passed}
    assert not failed
    assert runner.max_score > 0


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_stub_gets_zero(notebook):
    runner = lesson_runner(notebook)
    passed = [k for k, o in runner.grade(_stubs(notebook)).items() if o.passed]
    assert passed == []


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_exercise_has_wrong_answers(notebook):
    runner = lesson_runner(notebook)
    covered = {gid for v in WRONG if v.notebook == notebook for gid in v.answers}
    assert {c.grade_id for c in runner.lesson.answers} <= covered


@pytest.mark.parametrize("variant", WRONG, ids=lambda v: v.id)
def test_wrong_answer_loses_points(variant):
    runner = lesson_runner(variant.notebook)
    outcomes = runner.grade(variant.answers)
    failed = {k for k, o in outcomes.items() if not o.passed}
    assert failed, f"no test caught: {variant.description}"
    missed = set(variant.fails) - failed
    assert not missed, f"expected {sorted(missed)} to fail for: {variant.description}"


@pytest.mark.parametrize("variant", RIGHT, ids=lambda v: v.id)
def test_correct_alternative_keeps_points(variant):
    runner = lesson_runner(variant.notebook)
    failed = {k: o.message for k, o in runner.grade(variant.answers).items() if not o.passed}
    assert not failed, variant.description

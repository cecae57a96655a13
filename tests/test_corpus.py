"""Every graded cell grades: solutions full, stubs zero, wrong answers less, alternatives full.

One test class per lesson (``TestL01Preprocessing``...), built from
``tests/corpus/``: pytest-xdist's ``--dist loadscope`` keeps a class on one
worker, so each lesson's notebook runs once per worker and lessons spread
over the workers.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import nbformat

from autograder.grading.notebook import read_lesson
from tests import corpus
from tests.conftest import ROOT, lesson_runner, released_course

MODULES = [importlib.import_module(f"tests.corpus.{m.name}")
           for m in pkgutil.iter_modules(corpus.__path__)]
NOTEBOOKS = sorted({nb for m in MODULES for nb in m.NOTEBOOKS})
WRONG = [v for m in MODULES for v in m.WRONG]
RIGHT = [v for m in MODULES for v in m.RIGHT]
#: Mistakes only a whole notebook's run shows (the in-process runner runs the worked
#: examples once, with the solutions): tests/test_grading_cli.py grades them.
CLI_ONLY = [v for m in MODULES for v in getattr(m, "CLI_ONLY", [])]


def test_every_solution_notebook_has_a_corpus():
    solutions = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("solutions/*/*.ipynb"))
    assert solutions == NOTEBOOKS


def _stubs(notebook: str) -> dict[str, str]:
    release = released_course() / Path(notebook).relative_to("solutions")
    nb = nbformat.read(str(release), as_version=4)
    return {c.grade_id: c.source for c in read_lesson(nb).answers}


class _LessonCorpus:
    """The checks of one lesson's corpus; subclasses set the three lists."""

    NOTEBOOKS: list = []
    WRONG: list = []
    RIGHT: list = []

    def test_solution_gets_full_marks(self, notebook):
        runner = lesson_runner(notebook)
        failed = {k: o.message for k, o in runner.grade().items() if not o.passed}
        assert not failed
        assert runner.max_score > 0

    def test_release_stub_gets_zero(self, notebook):
        passed = [k for k, o in lesson_runner(notebook).grade(_stubs(notebook)).items() if o.passed]
        assert passed == []

    def test_every_exercise_has_wrong_answers(self, notebook):
        covered = {gid for v in self.WRONG if v.notebook == notebook for gid in v.answers}
        assert {c.grade_id for c in lesson_runner(notebook).lesson.answers} <= covered

    def test_wrong_answer_loses_points(self, wrong):
        # The checks below hold for a full run as soon as they hold for the test cells run
        # so far (failures only add up), so the grading stops there; when they do not hold
        # every test cell runs, and the assertion sees the full run's failures.
        def caught(outcomes):
            failed = {k for k, o in outcomes.items() if not o.passed}
            return bool(failed) and set(wrong.fails) <= failed

        outcomes = lesson_runner(wrong.notebook).grade(wrong.answers, stop=caught)
        failed = {k for k, o in outcomes.items() if not o.passed}
        assert failed, f"no test caught: {wrong.description}"
        missed = set(wrong.fails) - failed
        assert not missed, f"expected {sorted(missed)} to fail for: {wrong.description}"

    def test_correct_alternative_keeps_points(self, right):
        outcomes = lesson_runner(right.notebook).grade(right.answers)
        failed = {k: o.message for k, o in outcomes.items() if not o.passed}
        assert not failed, right.description


def pytest_generate_tests(metafunc):
    cls = metafunc.cls
    if cls is None or not issubclass(cls, _LessonCorpus):
        return
    for name, values in (("notebook", cls.NOTEBOOKS), ("wrong", cls.WRONG), ("right", cls.RIGHT)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, values, ids=lambda v: getattr(v, "description", v))


for _module in MODULES:
    _name = "Test" + "".join(p.title() for p in _module.__name__.rsplit(".", 1)[-1].split("_"))
    globals()[_name] = type(_name, (_LessonCorpus,), {
        "NOTEBOOKS": _module.NOTEBOOKS, "WRONG": _module.WRONG, "RIGHT": _module.RIGHT})

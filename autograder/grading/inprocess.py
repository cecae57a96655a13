"""Grade answer variants in-process, for testing the tests.

Sending every wrong implementation through the grading command costs a kernel
each. Here a lesson notebook runs once, with its solutions, in this process;
then each variant replaces some answer cells and only the test cells run
again, and of those only the ones the replaced cells can reach
(:func:`tests_to_run`): the others keep the solution's outcome, full marks.
Use it to assert that wrong answers lose points and correct alternatives keep
them (see ``tests/corpus/``).
"""
from __future__ import annotations

import ast
import contextlib
import copy
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.demos import DYNAMIC, reads_and_binds
from autograder.grading.notebook import Lesson, _without_magics, read_lesson

__all__ = ["LessonRunner", "TestOutcome", "tests_to_run"]


@dataclass(frozen=True)
class TestOutcome:
    """Result of one graded test cell."""

    grade_id: str
    passed: bool
    points: float
    message: str = ""
    ran: bool = True  # False: the replaced cells cannot reach it, it has the solution's outcome


def _quiet_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: plt.close("all")


# Top-level statements that only bind names: anything else a replaced cell runs at
# once may change the objects it reads (``X.drop(columns=..., inplace=True)``).
_ONLY_BINDS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
               ast.Pass)


@functools.lru_cache(maxsize=4096)  # each variant's source, and the solutions', again per grade
def _changed_by(source: str) -> frozenset[str] | None:
    """Names whose value a replaced answer cell's ``source`` may change, or None if untold."""
    code = _without_magics(source)
    names = reads_and_binds(code)
    if names is None:
        return None
    reads, binds = names
    if "*" in binds or reads & DYNAMIC:
        return None
    body = ast.parse(code).body
    runs_code = any(not isinstance(node, _ONLY_BINDS) and not (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)
    return binds | reads if runs_code else binds


def tests_to_run(lesson: Lesson, sources: dict[str, str]) -> list[bool]:
    """Which of ``lesson``'s test cells can see that answer cells were replaced.

    A test cell runs when it reads (itself or in a function it defines) a name
    that a replaced cell, the solution's or the variant's, binds, or that a
    test cell that runs binds before it; or when it binds a name a test cell
    that runs reads. Every test cell runs when that cannot be told from the
    code (a cell that does not parse, ``globals()``, ``from m import *``) or
    nothing is replaced (the solution itself is graded). Test cells must then
    pass values to each other only through names, not through a file or a
    random generator's hidden state: ``docs/authoring.md``, "The corpus".

    Parameters
    ----------
    lesson : Lesson
    sources : dict of str to str
        Replaced answer cells, by ``grade_id``: the variant's sources.

    Returns
    -------
    run : list of bool
        One per test cell (:attr:`Lesson.tests`), in order.
    """
    tests = lesson.tests
    replaced = [c.source for c in lesson.answers if c.grade_id in sources] + list(sources.values())
    analysed = [reads_and_binds(_without_magics(c.source)) for c in tests]
    changed = [_changed_by(source) for source in replaced]
    if not replaced or None in changed or None in analysed \
            or any(reads & DYNAMIC for reads, _ in analysed):
        return [True] * len(tests)
    names = set().union(*changed)
    run = [False] * len(tests)
    for i, (reads, binds) in enumerate(analysed):
        if reads & names:
            run[i] = True
            names |= binds
    read_later: set = set()
    for i in reversed(range(len(tests))):  # a test cell that runs needs what earlier ones bind
        run[i] = run[i] or bool(analysed[i][1] & read_later)
        if run[i]:
            read_later |= analysed[i][0]
    return run


def _fresh(base: dict) -> dict:
    """The solutions' namespace, its data copied: what one variant changes, the next does not see.

    Arrays, frames, estimators and random generators are copied (a wrong answer that
    refits the lesson's model in place, or draws from its generator, would otherwise
    change what every later variant is graded on); functions, modules and other objects
    (clients, open files) are shared.
    """
    import numpy as np
    import pandas as pd
    from sklearn.base import BaseEstimator

    data = (np.ndarray, pd.DataFrame, pd.Series, pd.Index, BaseEstimator, np.random.Generator,
            np.random.RandomState, list, dict, set)
    memo: dict = {}  # one memo: two names for one object stay one object
    fresh = {}
    for name, value in base.items():
        try:
            copied = isinstance(value, data) and not name.startswith("__")  # not __builtins__
            fresh[name] = copy.deepcopy(value, memo) if copied else value
        except Exception:  # noqa: BLE001 - a container of something that cannot be copied
            fresh[name] = value
    return fresh


def _exec(source: str, namespace: dict, name: str) -> None:
    code = compile(_without_magics(source), f"<{name}>", "exec")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(code, namespace)  # noqa: S102 - the point of this module


class LessonRunner:
    """Run a solution notebook once, then grade variants of its answers.

    Parameters
    ----------
    path : str or path-like
        An instructor notebook under ``solutions/``.

    Examples
    --------
    >>> runner = LessonRunner("solutions/01_preprocessing/preprocessing.ipynb")
    >>> outcomes = runner.grade({"standardize": "def standardize(X):\\n    return X"})
    """

    def __init__(self, path):
        self.path = Path(path)
        self.lesson: Lesson = read_lesson(self.path)
        _quiet_matplotlib()
        self.base: dict = {"__name__": "__main__"}
        cwd = os.getcwd()
        os.chdir(self.path.parent)
        try:
            for cell in self.lesson.cells:
                if cell.role != "test":
                    _exec(cell.source, self.base, cell.grade_id or f"cell {cell.index}")
        finally:
            os.chdir(cwd)
            import matplotlib.pyplot as plt

            plt.close("all")

    def answer_source(self, grade_id: str) -> str:
        """Return the solution's source of an answer cell."""
        for cell in self.lesson.answers:
            if cell.grade_id == grade_id:
                return cell.source
        raise KeyError(f"{self.path.name} has no answer cell {grade_id!r}")

    def grade(self, replacements: dict[str, str] | None = None,
              stop=None) -> dict[str, TestOutcome]:
        """Grade the notebook with some answer cells replaced.

        Parameters
        ----------
        replacements : dict of str to str, optional
            Answer cell ``grade_id`` to the source that replaces it.
        stop : callable, optional
            Called with the outcomes so far after each test cell; when it returns
            True the remaining test cells are not run. Test cells run in notebook
            order, so the outcomes so far are those of a full run: a check that
            only needs some failures (or one) can stop as soon as it has them.

        Returns
        -------
        outcomes : dict of str to TestOutcome
            By test cell ``grade_id`` (only the cells run, with ``stop``). A cell
            the replaced answers cannot reach (:func:`tests_to_run`) is not run:
            it keeps the solution's outcome, full marks, with ``ran=False``.
        """
        replacements = dict(replacements or {})
        unknown = set(replacements) - {c.grade_id for c in self.lesson.answers}
        if unknown:
            raise KeyError(f"{self.path.name} has no answer cells {sorted(unknown)}")
        namespace = _fresh(self.base)
        cwd = os.getcwd()
        os.chdir(self.path.parent)
        outcomes = {}
        try:
            for cell in self.lesson.answers:
                if cell.grade_id in replacements:
                    try:
                        _exec(replacements[cell.grade_id], namespace, cell.grade_id)
                    except Exception:  # noqa: BLE001 - a broken answer fails its tests
                        pass
            for cell, runs in zip(self.lesson.tests, tests_to_run(self.lesson, replacements), strict=True):
                if not runs:
                    outcomes[cell.grade_id] = TestOutcome(cell.grade_id, True, cell.points, ran=False)
                    continue
                try:
                    _exec(cell.source, namespace, cell.grade_id)
                except BaseException as error:  # noqa: BLE001 - SystemExit fails a test too
                    message = f"{type(error).__name__}: {error}"
                    outcomes[cell.grade_id] = TestOutcome(cell.grade_id, False, 0.0, message)
                else:
                    outcomes[cell.grade_id] = TestOutcome(cell.grade_id, True, cell.points)
                if stop is not None and stop(outcomes):
                    break
        finally:
            os.chdir(cwd)
            import matplotlib.pyplot as plt

            plt.close("all")
        return outcomes

    def score(self, replacements: dict[str, str] | None = None) -> float:
        """Return the total points earned with ``replacements``."""
        return sum(o.points for o in self.grade(replacements).values())

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.lesson.tests)

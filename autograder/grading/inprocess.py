"""Grade answer variants in-process, for testing the tests.

Sending every wrong implementation through the grading command costs a kernel
each. Here a lesson notebook runs once, with its solutions, in this process;
then each variant replaces some answer cells and only the test cells run
again. Use it to assert that wrong answers lose points and correct
alternatives keep them (see ``tests/corpus/``).
"""
from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.notebook import Lesson, _without_magics, read_lesson

__all__ = ["LessonRunner", "TestOutcome"]


@dataclass(frozen=True)
class TestOutcome:
    """Result of one graded test cell."""

    grade_id: str
    passed: bool
    points: float
    message: str = ""


def _quiet_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: plt.close("all")


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
            By test cell ``grade_id`` (only the cells run, with ``stop``).
        """
        replacements = dict(replacements or {})
        unknown = set(replacements) - {c.grade_id for c in self.lesson.answers}
        if unknown:
            raise KeyError(f"{self.path.name} has no answer cells {sorted(unknown)}")
        namespace = dict(self.base)
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
            for cell in self.lesson.tests:
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

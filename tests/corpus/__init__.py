"""Wrong and alternative answers per lesson: the tests of the tests.

Each module here is named after a lesson (``tests/corpus/l01_preprocessing.py``)
and defines:

``NOTEBOOKS``
    paths (from the repository root) of the lesson's instructor notebooks.
``WRONG``
    :class:`Variant` s that must lose points: the plausible mistakes learners
    make (wrong axis, statistics fitted on test data, off-by-one, ...).
``RIGHT``
    :class:`Variant` s that are correct in another way (loops, float32,
    another valid formula) and must keep every point.

``tests/test_corpus.py`` grades every variant in-process, running the test cells
the replaced cells can reach (``docs/authoring.md``, "The corpus"); entries with
``cli=True`` also go through ``python -m autograder grade``, every cell.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    """Answer cells replaced by other code.

    Parameters
    ----------
    notebook : str
        Path of the instructor notebook, from the repository root.
    description : str
        The mistake (or the alternative), as a reviewer would name it.
    answers : dict of str to str
        Answer cell ``grade_id`` to replacement source.
    fails : tuple of str
        For a wrong variant: test cells that must fail (at least one of them
        fails in any case; empty means "any").
    cli : bool
        Also grade this variant through the command line.
    """

    notebook: str
    description: str
    answers: dict = field(default_factory=dict)
    fails: tuple = ()
    cli: bool = False

    @property
    def id(self) -> str:
        return f"{self.notebook.split('/')[-2]}:{self.description}"

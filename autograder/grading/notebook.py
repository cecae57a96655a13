"""What each cell of a lesson notebook is for.

A lesson notebook (see ``docs/authoring.md``) has four kinds of code cell:

``answer``
    nbgrader ``solution: true``: the learner's code, a function or a variable.
``test``
    nbgrader ``grade: true``: public checks, then hidden ones between nbgrader's
    hidden-test delimiters (``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
    unless the course's ``nbgrader_config.py`` sets others, :func:`hidden_delimiters`).
``setup``
    tagged ``setup``: imports and data the tests use. Graded runs execute
    them twice, for the learner's code and for the tests, so keep them cheap.
``demo``
    tagged ``demo``: a demonstration nothing graded reads (a service timed, a
    curve drawn). Grading leaves it out when the learner did not change it
    (:mod:`autograder.grading.demos`).
``other``
    everything else: explanations in code, worked examples, plots.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

__all__ = ["Cell", "Lesson", "filled_release", "hidden_delimiters", "modules_imported",
           "names_defined", "names_used", "read_lesson", "solution_delimiters", "split_hidden"]

@dataclass
class Cell:
    """One code cell of a lesson notebook, with its grading role."""

    index: int
    role: str
    source: str
    grade_id: str | None = None
    points: float = 0.0


@dataclass
class Lesson:
    """The code cells of one instructor notebook and what the tests refer to."""

    cells: list[Cell]
    answer_names: set[str] = field(default_factory=set)
    delimiters: tuple[str, str] = ("", "")  # of hidden tests (:func:`hidden_delimiters`)

    @property
    def tests(self) -> list[Cell]:
        return [c for c in self.cells if c.role == "test"]

    @property
    def answers(self) -> list[Cell]:
        return [c for c in self.cells if c.role == "answer"]

    # The two below are read for every graded notebook: parse the instructor's cells once.
    @cached_property
    def instructor_names(self) -> set[str]:
        """Names the setup and test cells (hidden parts included) bind, answers excepted.

        The tests never take these from the learner's process, wherever the
        learner put the cells and whatever the learner's code defines.
        """
        names = set()
        for cell in self.cells:
            if cell.role in ("setup", "test"):
                names |= names_defined(cell.source)
        return names - self.answer_names

    @cached_property
    def demo_sources(self) -> frozenset[str]:
        """The sources of the ``demo`` cells, as a submission has them when left unchanged."""
        return frozenset(c.source for c in self.cells if c.role == "demo")

    @cached_property
    def test_sources(self) -> list[str]:
        """The test cells' sources, hidden parts included."""
        return [c.source for c in self.tests]

    @cached_property
    def modules(self) -> set[str]:
        """Modules the notebook's code cells import (see :func:`modules_imported`)."""
        return set().union(*(modules_imported(c.source) for c in self.cells))

    @cached_property
    def tests_modules(self) -> set[str]:
        """Modules the setup and test cells import (hidden parts included): the tests' sandbox's."""
        return set().union(*(modules_imported(c.source) for c in self.cells
                             if c.role in ("setup", "test")))

    @cached_property
    def test_parts(self) -> dict[str, tuple[str, str]]:
        """``grade_id`` -> that test's public and hidden parts (:func:`split_hidden`)."""
        return {c.grade_id: split_hidden(c.source, self.delimiters) for c in self.tests}

    @cached_property
    def exercises(self) -> list[tuple[str, list[str]]]:
        """Each answer cell's ``grade_id`` with the test cells that use a name it defines."""
        used = {t.grade_id: names_used(t.source) for t in self.tests}
        defined = {a.grade_id: names_defined(a.source) for a in self.answers}
        return [(answer, [test for test, names in used.items() if names & bound])
                for answer, bound in defined.items()]

    @cached_property
    def test_imports(self) -> dict[str, str]:
        """``grade_id`` -> the import statements of that test's public part, as source."""
        return {gid: top_level_imports(public) for gid, (public, _) in self.test_parts.items()}


def _role(cell) -> str:
    meta = cell.get("metadata", {})
    nbg = meta.get("nbgrader", {}) or {}
    if nbg.get("solution"):
        return "answer"
    if nbg.get("grade"):
        return "test"
    tags = meta.get("tags", [])
    if "setup" in tags:
        return "setup"
    return "demo" if "demo" in tags else "other"


def strip_solution_markers(source: str, delimiters: tuple[str, str] | None = None) -> str:
    """Return ``source`` without the lines that mark where its solution begins and ends.

    Parameters
    ----------
    source : str
        An answer cell of the instructor's notebook.
    delimiters : (str, str), optional
        Of solutions; default: the course's (:func:`solution_delimiters`). A line
        that contains either anywhere is a marker, as nbgrader's ``ClearSolutions``
        reads them.
    """
    begin, end = delimiters or solution_delimiters()
    return "\n".join(ln for ln in source.splitlines() if begin not in ln and end not in ln)


def read_lesson(nb, delimiters: tuple[str, str] | None = None,
                solutions: tuple[str, str] | None = None) -> Lesson:
    """Classify the code cells of an instructor notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode or str or path-like
        The notebook, or the path of one.
    delimiters : (str, str), optional
        Of its hidden tests; default: the course's (:func:`hidden_delimiters`).
    solutions : (str, str), optional
        Of its solutions; default: the course's (:func:`solution_delimiters`).

    Returns
    -------
    lesson : Lesson
    """
    import nbformat  # here, not at the top: the sandboxes import this module, never nbformat

    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    solutions = solutions or solution_delimiters()
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        nbg = cell.metadata.get("nbgrader", {}) or {}
        role = _role(cell)
        source = strip_solution_markers(cell.source, solutions) if role == "answer" else cell.source
        cells.append(Cell(i, role, source, nbg.get("grade_id"), float(nbg.get("points", 0) or 0)))
    names = set()
    for cell in cells:
        if cell.role == "answer":
            names |= names_defined(cell.source)
    return Lesson(cells, names, delimiters or hidden_delimiters())


def filled_release(solution, replacements: dict | None = None, *, release=None):
    """Return a release notebook with its answer cells filled in, as a learner would.

    Parameters
    ----------
    solution : path-like
        The instructor's notebook, ``.../solutions/<lesson>/<name>.ipynb``.
    replacements : dict of str to str or None, optional
        Answer cell ``grade_id`` to the source to use instead of the solution;
        ``None`` keeps the release's stub (an exercise not done).
    release : path-like, optional
        Its learner release; by default ``.../course/<lesson>/<name>.ipynb``.

    Returns
    -------
    nb : nbformat.NotebookNode
    """
    import nbformat

    answers = {c.grade_id: c.source for c in read_lesson(solution).answers}
    answers.update(replacements or {})
    solution = Path(solution)
    release = release or solution.parents[2] / "course" / solution.parent.name / solution.name
    nb = nbformat.read(str(release), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader") or {}
        if cell.cell_type == "code" and meta.get("solution") \
                and answers.get(meta.get("grade_id")) is not None:
            cell.source = answers[meta["grade_id"]]
    return nb


def hidden_delimiters(config=None) -> tuple[str, str]:
    """The begin and end delimiters of hidden tests, as nbgrader's ``ClearHiddenTests`` has them.

    Parameters
    ----------
    config : traitlets.config.Config, optional
        nbgrader's configuration; default: the course's ``nbgrader_config.py``
        (:func:`autograder.classrun.gradebook.nbgrader_config`).
    """
    from nbgrader.preprocessors import ClearHiddenTests

    clear = ClearHiddenTests(config=_course_config(config))
    return clear.begin_test_delimeter, clear.end_test_delimeter


def solution_delimiters(config=None) -> tuple[str, str]:
    """The begin and end delimiters of solutions, as nbgrader's ``ClearSolutions`` has them.

    Parameters
    ----------
    config : traitlets.config.Config, optional
        nbgrader's configuration; default: the course's ``nbgrader_config.py``
        (:func:`autograder.classrun.gradebook.nbgrader_config`).
    """
    from nbgrader.preprocessors import ClearSolutions

    clear = ClearSolutions(config=_course_config(config))
    return clear.begin_solution_delimeter, clear.end_solution_delimeter


def _course_config(config):
    """``config``, or the course's ``nbgrader_config.py`` when it is None."""
    if config is not None:
        return config
    from autograder.classrun.gradebook import nbgrader_config

    return nbgrader_config()


def split_hidden(source: str, delimiters: tuple[str, str] | None = None) -> tuple[str, str]:
    """Split a test cell into its public part and its hidden part, as nbgrader does.

    Line by line, as ``ClearHiddenTests`` reads a cell: a line that contains
    the begin delimiter anywhere starts a hidden region, one that contains the
    end delimiter ends it, and neither delimiter line belongs to either part.
    What nbgrader's release keeps is the public part; the rest is hidden.

    Parameters
    ----------
    source : str
    delimiters : (str, str), optional
        Begin and end; default: the course's (:func:`hidden_delimiters`).

    Returns
    -------
    public, hidden : str
        ``hidden`` is empty when the cell has no hidden tests.
    """
    begin, end = delimiters or hidden_delimiters()
    public, hidden, in_test = [], [], False
    for line in source.split("\n"):
        if begin in line:
            in_test = True
        elif end in line:
            in_test = False
        else:
            (hidden if in_test else public).append(line)
    return "\n".join(public), "\n".join(hidden)


def _parse(source: str):
    try:
        return ast.parse(_without_magics(source))
    except SyntaxError:
        return None


def _without_magics(source: str) -> str:
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def names_defined(source: str) -> set[str]:
    """Return the top-level names a cell binds (defs, classes, assignments, imports)."""
    tree = _parse(source)
    if tree is None:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def top_level_imports(source: str) -> str:
    """The import statements at the top level of a cell, as source."""
    tree = _parse(source)
    if tree is None:
        return ""
    text = _without_magics(source)
    return "\n".join(ast.get_source_segment(text, node) or "" for node in tree.body
                     if isinstance(node, (ast.Import, ast.ImportFrom)))


def modules_imported(source: str) -> set[str]:
    """Absolute module names the import statements of ``source`` name, at any depth.

    ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a module);
    relative imports are left out.
    """
    tree = _parse(source)
    if tree is None:
        return set()
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return modules


def names_used(source: str) -> set[str]:
    """Return the non-builtin names a cell reads anywhere in its code."""
    tree = _parse(source)
    if tree is None:
        return set()
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return {n for n in used if not hasattr(builtins, n)}

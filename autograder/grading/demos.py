"""Which cells grading leaves out: the lesson's demonstrations that nothing graded reads.

A lesson tags a code cell ``demo`` (``docs/authoring.md``) when it only shows
something: it starts a service to time it, draws a curve, trains a model to
look at. nbgrader runs every cell; the grader skips a ``demo`` cell of a
submission when

- its source is exactly the lesson's (the learner did not change it), and
- no cell that runs (answers, setup, the learner's own cells, the lesson's
  tests, other demonstrations that must run) reads a name it binds.

Whether a cell reads a name is decided from its code (:func:`reads_and_binds`):
a name read before the cell binds it, or read by a function it defines. Where
a submission's code can reach names the analysis cannot see (``eval``,
``globals()``, IPython magics and the output history ``_``), every cell runs.
"""
from __future__ import annotations

import ast
import functools

__all__ = ["reads_and_binds", "skipped"]

# Reading any of these reaches names the analysis cannot see: nothing is skipped.
DYNAMIC = frozenset({"eval", "exec", "globals", "locals", "vars", "dir", "get_ipython",
                     "__builtins__", "_", "__", "___", "In", "Out", "_oh", "_ih", "_dh"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


class _Names(ast.NodeVisitor):
    """Names a cell reads before binding them, and names it binds, in evaluation order."""

    def __init__(self):
        self.reads: set[str] = set()
        self.binds: set[str] = set()

    def load(self, name: str) -> None:
        if name not in self.binds:
            self.reads.add(name)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.binds.add(node.id)
        else:  # a Load, or a Del (which needs the name to exist)
            self.load(node.id)

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self.load(node.target.id)
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        self.binds.add(node.target.id)

    def visit_For(self, node):
        self.visit(node.iter)
        self.visit(node.target)
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_Import(self, node):
        for alias in node.names:
            self.binds.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import  # ``from m import *`` binds "*": see :func:`skipped`

    def visit_ExceptHandler(self, node):
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.binds.add(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_MatchAs(self, node):
        self.generic_visit(node)
        if node.name:
            self.binds.add(node.name)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node):
        self.generic_visit(node)
        if node.rest:
            self.binds.add(node.rest)

    def _defined(self, node):
        """A def or lambda: its defaults and decorators run now, its body later."""
        args = node.args
        for expr in [*args.defaults, *(d for d in args.kw_defaults if d is not None),
                     *getattr(node, "decorator_list", [])]:
            self.visit(expr)
        self._deferred(node)
        if not isinstance(node, ast.Lambda):
            self.binds.add(node.name)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _defined

    def visit_ClassDef(self, node):
        for expr in [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]:
            self.visit(expr)
        self._deferred(node)
        self.binds.add(node.name)

    def _comprehension(self, node):
        self.visit(node.generators[0].iter)  # evaluated in the cell's own scope
        self._deferred(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def _deferred(self, scope):
        """Globals an inner scope reads (when it runs: taken as read now); globals it sets."""
        local = set()
        for node in ast.walk(scope):
            if node is not scope and isinstance(node, (*_FUNCTIONS, ast.ClassDef)) \
                    and not isinstance(node, ast.Lambda):
                local.add(node.name)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                local.add(node.id)
            elif isinstance(node, ast.arg):
                local.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                local |= {(a.asname or a.name).split(".")[0] for a in node.names}
        declared = {name for node in ast.walk(scope) if isinstance(node, (ast.Global, ast.Nonlocal))
                    for name in node.names}
        # A function's ``global x`` binds the cell's x whenever it is called.
        self.binds |= declared
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store) \
                    and (node.id not in local or node.id in declared):
                self.load(node.id)


# The instructor's cells (tests, demonstrations a learner left unchanged) come again in
# every notebook of a lesson: parse each source once per worker, not once per notebook.
@functools.lru_cache(maxsize=4096)
def reads_and_binds(source: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """Return the global names a cell reads before binding them, and the names it binds.

    Parameters
    ----------
    source : str
        A code cell.

    Returns
    -------
    names : (frozenset of str, frozenset of str) or None
        ``(reads, binds)``; reads include what the cell's functions, lambdas,
        classes and comprehensions read from the cell's scope, and builtins.
        None when the cell holds an IPython magic or shell line, or does not
        parse: what it touches cannot be told.
    """
    if any(line.lstrip().startswith(("%", "!")) for line in source.splitlines()):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names = _Names()
    for statement in tree.body:
        names.visit(statement)
    return frozenset(names.reads), frozenset(names.binds)


def skipped(sources: list[str], demos: frozenset[str], test_sources: list[str]) -> set[int]:
    """Return the positions in ``sources`` of the demonstrations grading may leave out.

    Parameters
    ----------
    sources : list of str
        The code cells of a submission that run in the learner's process, in order.
    demos : frozenset of str
        The sources of the lesson's cells tagged ``demo``.
    test_sources : list of str
        The lesson's test cells, hidden parts included: they read names from the
        learner's process too.

    Returns
    -------
    positions : set of int
        Indices into ``sources``; empty if any cell that runs reaches names dynamically.
    """
    analysed = [reads_and_binds(s) for s in sources]
    left_out = {i for i, s in enumerate(sources)
                if s in demos and analysed[i] is not None and "*" not in analysed[i][1]}
    needed = set()
    for names in [reads_and_binds(s) for s in test_sources] + \
                 [names for i, names in enumerate(analysed) if i not in left_out]:
        if names is None:
            return set()
        needed |= names[0]
    while True:
        must_run = {i for i in left_out if analysed[i][1] & needed}
        if not must_run:
            break
        left_out -= must_run
        for i in must_run:
            needed |= analysed[i][0]
    return set() if needed & DYNAMIC else left_out

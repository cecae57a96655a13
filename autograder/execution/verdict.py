"""The tests' side of a graded run.

The instructor's setup cells and test cells run here, in a process that never
executes learner code. A name that a test uses and an answer cell defines is
a :class:`RemoteAnswer`: calling it runs the learner's function in the
learner's process and brings the result back through
:func:`autograder.execution.wire.load_answer`. Whatever the learner's code does to its
own interpreter cannot reach the assertions here.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import linecache
import sys
import traceback

import cloudpickle

from autograder.execution import wire
from autograder.grading.notebook import _without_magics, names_defined, names_used

__all__ = ["RemoteAnswer", "LearnerError", "serve"]


class LearnerError(RuntimeError):
    """An answer raised an exception that is not one of Python's built-in ones."""


class _Link:
    """The request channel to the learner's process (relayed by the grader)."""

    def __init__(self, sock):
        self.sock = sock

    def ask(self, header: dict, blob: bytes = b"") -> tuple[dict, bytes]:
        wire.send(self.sock, {"to": "learner", **header}, blob)
        return wire.recv(self.sock)


def _raise_remote(reply: dict):
    name, message = str(reply.get("ename", "Error")), str(reply.get("evalue", ""))
    if name == "CheckFailure":
        from lifecycle.feedback import CheckFailure

        raise CheckFailure(message)
    bases = reply.get("bases") if isinstance(reply.get("bases"), list) else [name]
    for base in [name, *bases]:  # the learner's own class is matched by its built-in bases
        cls = getattr(builtins, str(base), None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins" \
                and cls is not Exception:
            raise cls(message if base == name else f"{name}: {message}")
    raise LearnerError(f"{name}: {message}")


class RemoteAnswer:
    """A learner's function, called in the learner's process.

    Parameters
    ----------
    link : _Link
        Channel to the learner's process.
    name : str
        The answer's name in the learner's namespace.
    """

    def __init__(self, link: _Link, name: str):
        self._link, self.__name__ = link, name

    def __repr__(self) -> str:
        return f"<answer {self.__name__}>"

    def __reduce__(self):
        from autograder.execution.learner import learner_ref

        return learner_ref, (self.__name__,)

    def _ask(self, header: dict, payload):
        """One request about this answer: the reply's value, or the learner's error raised."""
        reply, data = self._link.ask({**header, "name": self.__name__}, cloudpickle.dumps(payload))
        if not reply.get("ok"):
            _raise_remote(reply)
        return wire.load_answer(data)

    def _lifecycle_remote_call(self, args, kwargs, forbidden=None, hint=None, replace=None):
        # ``replace``: global names of the answer bound, for this call only, to the tests'
        # own functions (instructor code, run in the learner's process like the answer).
        value, args_after, kwargs_after = self._ask(
            {"op": "call", "forbid": list(forbidden or []), "hint": hint},
            (args, kwargs, dict(replace)) if replace else (args, kwargs))
        for before, after in zip((*args, *kwargs.values()),
                                 (*args_after, *kwargs_after.values()), strict=False):
            _copy_back(before, after)
        return value

    def __call__(self, *args, **kwargs):
        return self._lifecycle_remote_call(args, kwargs)

    def _lifecycle_remote_each(self, calls: list, until_true: bool) -> list:
        # lifecycle.feedback.call_each: the learner's process runs the loop; what it sends
        # back is checked against what that loop can give, since learner code could change it.
        results = self._ask({"op": "call_each"}, (calls, until_true))
        if not _a_loop_returns(results, len(calls), until_true):
            raise LearnerError(f"the process running your code answered {len(calls)} calls of "
                               f"{self.__name__} with something no loop over them returns")
        return results


def _a_loop_returns(results, n: int, until_true: bool) -> bool:
    """Whether :func:`lifecycle.feedback.call_each`'s loop over ``n`` calls can give ``results``."""
    if type(results) is not list:
        return False
    if not until_true:
        return len(results) == n
    try:
        truth = [bool(r) for r in results]
    except Exception:  # noqa: BLE001 - e.g. an array: the loop itself would have raised
        return False
    return not any(truth[:-1]) and (len(truth) == n or (0 < len(truth) < n and truth[-1]))


def _copy_back(before, after) -> None:
    """Apply to a test's argument what the answer did to its copy, as one process would."""
    import numpy as np
    import pandas as pd
    from sklearn.base import BaseEstimator

    try:
        if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
            if before.shape == after.shape and before.flags.writeable \
                    and not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"):
                before[...] = after
        elif isinstance(before, list) and isinstance(after, list) and before != after:
            before[:] = after
        elif isinstance(before, dict) and isinstance(after, dict) and before != after:
            before.clear()
            before.update(after)
        elif isinstance(before, pd.DataFrame) and isinstance(after, pd.DataFrame) \
                and not before.equals(after):
            for column in list(before.columns):
                if column not in after.columns:
                    del before[column]
            for column in after.columns:
                before[column] = after[column]
        elif isinstance(before, BaseEstimator) and type(after) is type(before):
            # fitted (or re-parameterised) in place: the caller's estimator shows it
            before.__dict__.clear()
            before.__dict__.update(vars(after))
    except Exception:  # noqa: BLE001 - an argument we cannot update stays as the test made it
        pass


class _Unsupported:
    """Stands for an answer that is not data; any use says why."""

    def __init__(self, name: str, what: str):
        self._why = (f"`{name}` is a {what}, which cannot be graded: answers must be functions "
                     "or data (numbers, arrays, DataFrames, scikit-learn estimators).")

    def __getattr__(self, _):
        raise TypeError(self._why)

    def __call__(self, *a, **k):
        raise TypeError(self._why)


def _bind(namespace: dict, link: _Link, source: str, answers: set[str], own: set[str]) -> None:
    for name in sorted(names_used(source) - (names_defined(source) - answers)):
        if name in own and name not in answers:
            continue
        reply, blob = link.ask({"op": "describe", "name": name})
        kind = reply.get("kind")
        if kind == "function":
            namespace[name] = RemoteAnswer(link, name)
        elif kind == "data":
            try:
                namespace[name] = wire.load_answer(blob)
            except wire.RefusedAnswer as error:
                namespace[name] = _Unsupported(name, str(error))
        elif kind == "module":
            # Only a module this process already loaded: naming another must not make
            # it run that module's import-time code.
            module = sys.modules.get(str(reply.get("module")))
            if module is not None:
                namespace[name] = module
            else:
                namespace.pop(name, None)
        elif kind == "unsupported":
            namespace[name] = _Unsupported(name, str(reply.get("type", "value")))
        elif name in answers:
            namespace.pop(name, None)  # deleted or never defined: the test gets a NameError


def _exec(source: str, namespace: dict, filename: str, show_source: bool) -> None:
    if show_source:
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
    code = compile(_without_magics(source), filename, "exec")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(code, namespace)  # noqa: S102 - instructor code


def _public_traceback(error: BaseException, filename: str) -> list[str]:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(error), error)
    return ["Traceback (most recent call last):\n", *lines]


def run_test(namespace: dict, link: _Link, cell: dict, answers: set[str], own: set[str]) -> dict:
    """Run one test cell, public part then hidden part.

    Returns
    -------
    outcome : dict
        ``passed``, and when failed ``part`` (``"public"`` or ``"hidden"``),
        ``ename``, ``evalue`` and, for a public failure only, ``traceback``.
    """
    public, hidden = cell["public"], cell["hidden"]  # split by the grader, as nbgrader splits
    gid = cell["grade_id"]
    for part, source in (("public", public), ("hidden", hidden)):
        if not source.strip():
            continue
        filename = f"<{gid}>" if part == "public" else f"<{gid}: hidden tests>"
        try:
            _bind(namespace, link, source, answers, own)
            _exec(source, namespace, filename, show_source=part == "public")
        except BaseException as error:  # noqa: BLE001 - SystemExit fails a test too
            outcome = {"passed": False, "part": part, "ename": type(error).__name__,
                       "evalue": str(error)[:4000]}
            if part == "public":
                outcome["traceback"] = _public_traceback(error, filename)
            return outcome
    return {"passed": True}


def serve(sock, setup_sources: list[str], answers: set[str], instructor_names: set[str],
          token: str) -> None:
    """Run the setup cells, then test cells on request, until told to stop.

    ``instructor_names`` (:attr:`autograder.grading.notebook.Lesson.instructor_names`)
    are never asked from the learner's process, even before the cell that
    binds them has run: a learner who moves a test cell, or defines a name
    that the public part of a test imports for its hidden part, must not be
    able to supply the tests' own tools. Orders without ``token`` (which only the
    grader knows) end the process: nothing else may start a test here.
    """
    wire.send(sock, {"op": "ready"})
    link = _Link(sock)
    namespace: dict = {"__name__": "__main__"}
    own: set[str] = set(instructor_names)
    for source in setup_sources:
        try:
            _exec(source, namespace, "<setup>", show_source=False)
        except Exception:  # noqa: BLE001 - a broken setup cell fails the tests that need it
            pass
    own |= {k for k in namespace if not k.startswith("__")}
    while True:
        try:
            header, _ = wire.recv(sock)
        except (wire.WireError, OSError):
            return
        if header.get("op") != "test" or header.get("token") != token:
            return
        outcome = run_test(namespace, link, header, answers, own)
        own |= {k for k in namespace if not k.startswith("__")} - answers
        wire.send(sock, {"to": "grader", "op": "result", **outcome})

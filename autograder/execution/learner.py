"""The learner's side of a graded run: an IPython shell that runs the answer
cells and answers requests for names, values and calls.

It runs in a process forked in the learner's sandbox (:mod:`autograder.sandbox.bubblewrap`). Everything it
sends back is either JSON or a pickle that the receiving side reads with
:func:`autograder.execution.wire.load_answer`; it never receives code it did not ask
for except the arguments of calls, which come from the instructor's tests.
"""
from __future__ import annotations

import contextlib
import io
import signal
import sys
import traceback
import types

import numpy as np

from autograder.execution import wire

__all__ = ["serve", "learner_ref"]

_SHELL = None
# Patching these has no use in a lesson but to fool an in-kernel test; the
# verdict does not depend on them (tests run elsewhere), but the attempt is reported.
_WATCHED_MODULES = ("numpy.testing", "math", "pandas.testing", "lifecycle.feedback", "builtins")


def learner_ref(name: str):
    """Resolve a learner's name; used when a test passes one answer to another."""
    return _SHELL.user_ns[name]


class _Capped(io.StringIO):
    """A stdout that keeps the first ``limit`` characters and drops the rest."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.dropped = limit, 0

    def write(self, text):
        room = self.limit - self.tell()
        if room > 0:
            super().write(text[:room])
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        note = f"\n... [{self.dropped} more characters not kept]" if self.dropped else ""
        return self.getvalue() + note


def _snapshot(shell) -> dict:
    """Identity of everything a submission could patch to fool an in-kernel test."""
    seen = {}
    for name in _WATCHED_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, value in list(vars(module).items()):
            if not attr.startswith("_") or attr in {"__import__", "__build_class__"}:
                seen[f"{name}.{attr}"] = id(value)
    hooks = {
        "IPython input transformers": len(shell.input_transformers_cleanup)
        + len(shell.input_transformers_post),
        "IPython AST transformers": len(shell.ast_transformers),
        "IPython custom exception handlers": len(shell.custom_exceptions),
    }
    seen.update(hooks)
    return seen


def _changes(before: dict, after: dict) -> list[str]:
    names = [k for k in before if after.get(k) != before[k]]
    return sorted(names)[:10]


def _error_info(error: BaseException, limit: int) -> dict:
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    text = "".join(lines)
    return {"ename": type(error).__name__, "evalue": str(error)[:2000],
            "traceback": text[-limit:]}


def _run(shell, source: str, limit: int, baseline: dict) -> dict:
    out, err = _Capped(limit), _Capped(limit)
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = shell.run_cell(source, store_history=True)
            error = result.error_before_exec or result.error_in_exec
        except BaseException as caught:  # noqa: BLE001 - report, never die
            error = caught
    return {"stdout": out.text(), "stderr": err.text(), "images": _figures(),
            "error": _error_info(error, limit) if error is not None else None,
            "tampered": _changes(baseline, _snapshot(shell))}


MAX_FIGURES, MAX_IMAGE_BYTES = 4, 256 << 10


def _figures() -> list[str]:
    """The cell's open matplotlib figures as base64 PNGs (the first few, if small), then closed."""
    import base64

    if "matplotlib.pyplot" not in sys.modules:
        return []
    images = []
    try:
        import matplotlib.pyplot as plt

        for number in plt.get_fignums()[:MAX_FIGURES]:
            buf = io.BytesIO()
            plt.figure(number).savefig(buf, format="png", dpi=72, bbox_inches="tight")
            if buf.tell() <= MAX_IMAGE_BYTES:
                images.append(base64.b64encode(buf.getvalue()).decode("ascii"))
        plt.close("all")
    except Exception:  # noqa: BLE001 - a figure that cannot be drawn is left out
        pass
    return images


def _describe(shell, name: str) -> tuple[dict, bytes]:
    if name not in shell.user_ns:
        return {"kind": "missing"}, b""
    value = shell.user_ns[name]
    if isinstance(value, types.ModuleType):
        return {"kind": "module", "module": value.__name__}, b""
    if isinstance(value, type):
        return {"kind": "unsupported", "type": "class"}, b""
    if callable(value) and not hasattr(value, "fit"):
        return {"kind": "function"}, b""
    try:
        return {"kind": "data"}, wire.dump_answer(value)
    except Exception as error:  # noqa: BLE001
        return {"kind": "unsupported", "type": f"{type(value).__name__} ({error})"[:200]}, b""


def _mutable(values):
    """The arguments an answer could have changed in place; others as ``None``."""
    import pandas as pd
    from sklearn.base import BaseEstimator

    kinds = (list, dict, np.ndarray, pd.DataFrame, BaseEstimator)
    if isinstance(values, dict):
        return {k: v if isinstance(v, kinds) and _picklable(v) else None for k, v in values.items()}
    return tuple(v if isinstance(v, kinds) and _picklable(v) else None for v in values)


def _picklable(value) -> bool:
    # Arrays and frames of plain dtypes always pickle: do not serialise them twice.
    if isinstance(value, np.ndarray) and value.dtype != object:
        return True
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None and not any(dt.kind == "O" for dt in dtypes):
        return True
    try:
        wire.dump_answer(value)
    except Exception:  # noqa: BLE001 - e.g. a list holding a lambda from the test
        return False
    return True


def _not_defined(name: str) -> tuple[dict, bytes]:
    """The reply for a test that calls an answer the learner's code never defined."""
    return {"ok": False, "ename": "NameError", "evalue": f"name {name!r} is not defined"}, b""


def _raised(error: BaseException) -> tuple[dict, bytes]:
    """The reply that carries an answer's exception back to the test."""
    # Its built-in bases too: a test that expects ValueError must catch a subclass of it.
    bases = [c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"]
    return {"ok": False, "ename": type(error).__name__, "evalue": str(error)[:2000],
            "bases": bases}, b""


def _call(shell, name: str, blob: bytes, forbid, hint, limit: int) -> tuple[dict, bytes]:
    import pickle

    import cloudpickle  # noqa: F401 - needed to read the test's arguments

    from lifecycle.feedback import bound_globals

    func = shell.user_ns.get(name)
    if func is None:
        return _not_defined(name)
    loaded = pickle.loads(blob)  # sent by the instructor's tests, not by the learner
    args, kwargs = loaded[:2]
    replace = loaded[2] if len(loaded) > 2 else {}
    out = _Capped(limit)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                bound_globals(getattr(func, "__globals__", None), replace):
            if forbid:
                from lifecycle.feedback import forbid_calls

                value = forbid_calls(func, *args, forbidden=forbid, hint=hint, **kwargs)
            else:
                value = func(*args, **kwargs)
        # Mutable arguments travel back too: a test may check that an answer did not
        # change its inputs in place (or that it did, when that is the task).
        payload = wire.dump_answer((value, _mutable(args), _mutable(kwargs)))
    except BaseException as error:  # noqa: BLE001 - travels back to the test
        return _raised(error)
    return {"ok": True}, payload


def _call_each(shell, name: str, blob: bytes, limit: int) -> tuple[dict, bytes]:
    """Run :func:`lifecycle.feedback.call_each`'s loop here: one request for all its calls."""
    import pickle

    import cloudpickle  # noqa: F401 - needed to read the test's arguments

    from lifecycle.feedback import call_each

    func = shell.user_ns.get(name)
    if func is None:
        return _not_defined(name)
    calls, until_true = pickle.loads(blob)  # sent by the instructor's tests, not by the learner
    out = _Capped(limit)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            payload = wire.dump_answer(call_each(func, calls, until_true=until_true))
    except BaseException as error:  # noqa: BLE001 - travels back to the test
        return _raised(error)
    return {"ok": True}, payload


def _answer(shell, op, header: dict, blob: bytes, limit: int, baseline: dict) -> tuple[dict, bytes]:
    if op == "run":
        return _run(shell, header["source"], limit, baseline), b""
    if op == "describe":
        return _describe(shell, header["name"])
    if op == "call":
        return _call(shell, header["name"], blob, header.get("forbid"), header.get("hint"), limit)
    if op == "call_each":
        return _call_each(shell, header["name"], blob, limit)
    if op == "prepare":  # the imports of a test cell: instructor code, run as Jupyter would
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            shell.run_cell(header["source"], store_history=False, silent=True)
        return {}, b""
    return {"error": f"unknown op {op!r}"}, b""


def _interruptible(func, *args):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return func(*args)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def serve(sock, limits) -> None:
    """Answer requests on ``sock`` until told to stop or the other side hangs up."""
    global _SHELL
    from IPython.core.interactiveshell import InteractiveShell

    _SHELL = shell = InteractiveShell.instance(colors="NoColor")
    shell.user_ns["__name__"] = "__main__"
    baseline = _snapshot(shell)
    limit = limits.output_chars
    # The grader interrupts a runaway cell with SIGINT. One that lands after the cell
    # has ended must not kill this process between requests: take it only while
    # learner code runs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wire.send(sock, {"op": "ready"})
    while True:
        try:
            header, blob = wire.recv(sock)
        except (wire.WireError, OSError):
            return
        op = header.get("op")
        if op == "bye":
            return
        try:
            reply, data = _interruptible(_answer, shell, op, header, blob, limit, baseline)
        except KeyboardInterrupt as late:  # after the code ended, before SIGINT was ignored
            reply, data = {"error": _error_info(late, limit)}, b""
        try:
            wire.send(sock, reply, data)
        except OSError:
            return

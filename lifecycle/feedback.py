"""Checks that explain themselves.

A bare ``AssertionError`` tells a learner nothing. Each check here raises
:class:`CheckFailure` (a subclass of ``AssertionError``, so nbgrader scores it
as a failed test) with what was expected, what came back, and a hint about
the likely mistake::

    check_close(standardize(X).mean(axis=0), 0, what="column means after scaling",
                hint="did you subtract the mean of each column (axis=0)?")

Comparisons use tolerances, never bytes, so a loop instead of vectorised code
or float32 instead of float64 still passes.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
import traceback
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from unittest import mock

import numpy as np

__all__ = [
    "CheckFailure",
    "check_close",
    "check_equal",
    "check_raises",
    "check_shape",
    "check_true",
    "bound_globals",
    "call_each",
    "call_with",
    "check_type",
    "forbid_calls",
]


_PACKAGE = str(Path(__file__).resolve().parent)


def _is_learners(frame: traceback.FrameSummary) -> bool:
    """Whether a frame is the learner's (or the test cell's), not lifecycle's or IPython's."""
    path = str(Path(frame.filename).resolve())
    return not path.startswith(_PACKAGE) and f"{Path('IPython', 'core')}" not in path


class CheckFailure(AssertionError):
    """A check failed; the message says what was expected, what came back and why.

    In IPython (JupyterLab) the traceback shows the learner's frames and the
    message, never the frames of this package: the checks set
    ``__tracebackhide__`` (which IPython and pytest honour for every frame
    but the last), and :meth:`_render_traceback_` drops the last one too.
    """

    def _render_traceback_(self) -> list[str]:
        """The traceback IPython shows: the learner's frames, then the message."""
        frames = [f for f in traceback.extract_tb(self.__traceback__) if _is_learners(f)]
        lines = ["Traceback (most recent call last):", *(
            line.rstrip("\n") for line in traceback.format_list(frames))]
        return lines + [f"{type(self).__name__}: {self}"]


def _clean(value):
    """``value`` with its floats rounded to 10 significant digits (0.1 + 0.2 shows as 0.3)."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return float(f"{float(value):.10g}")
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(_clean(v) for v in value)
    if type(value) is dict:
        return {k: _clean(v) for k, v in value.items()}
    return value


def _show(value, limit: int = 300) -> str:
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=20, edgeitems=3, suppress=True):
            text = f"array of shape {value.shape}, dtype {value.dtype}: {value!r}"
    else:
        text = repr(_clean(value))
    if len(text) <= limit:
        return text
    # Cut between two values, never inside a number.
    cut = max(text.rfind(sep, 0, limit - 4) for sep in (", ", " ", "\n"))
    return text[: cut if cut > limit // 2 else limit - 4].rstrip(", ") + " ..."


def _fail(what: str, expected: str, got: str, hint: str | None, detail: str = "") -> None:
    __tracebackhide__ = True
    lines = [f"{what} is not right.", f"  expected: {expected}", f"  got:      {got}"]
    if detail:
        lines.append(f"  {detail}")
    if hint:
        lines.append(f"  hint: {hint}")
    # `from None`: the learner needs this message, not our internals' traceback.
    raise CheckFailure("\n".join(lines)) from None


def _as_array(value, what: str, hint: str | None) -> np.ndarray:
    __tracebackhide__ = True
    values = getattr(value, "to_numpy", None)
    try:
        array = np.asarray(values() if callable(values) else value, dtype=float)
    except (TypeError, ValueError):
        _fail(what, "numbers", _show(value), hint, "this value cannot be read as numbers")
    return array


def check_close(actual, expected, *, what: str = "The result", hint: str | None = None,
                rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Check that numbers agree within a tolerance.

    Parameters
    ----------
    actual : array-like or scalar
        What the learner's code returned. pandas objects are compared by value.
    expected : array-like or scalar
        The reference. An array must have ``actual``'s shape; a scalar is
        compared with every element of ``actual``, which must have at least
        one (an empty result agrees with nothing).
    what : str, default="The result"
        How the value is named in the message.
    hint : str, optional
        The likely mistake, shown when the check fails.
    rtol, atol : float
        Relative and absolute tolerances, as in :func:`numpy.isclose`.

    Raises
    ------
    CheckFailure
        If the shapes differ, ``actual`` is empty where ``expected`` is a
        scalar, or any element differs beyond the tolerance (``NaN`` only
        matches ``NaN``).
    """
    __tracebackhide__ = True
    got = _as_array(actual, what, hint)
    ref = np.asarray(expected, dtype=float)
    if ref.ndim and got.shape != ref.shape:
        _fail(what, f"shape {ref.shape}", f"shape {got.shape}", hint)
    if got.size == 0 and ref.size:  # np.isclose of nothing is vacuously all True
        _fail(what, _show(expected), f"an empty value (shape {got.shape})", hint)
    close = np.isclose(got, ref, rtol=rtol, atol=atol, equal_nan=True)
    if not np.all(close):
        if got.ndim == 0:
            _fail(what, _show(float(ref)), _show(float(got)), hint)
        bad = np.argwhere(~close)
        first = tuple(int(i) for i in bad[0])
        detail = (f"{len(bad)} of {got.size} values differ; first at index {first}: "
                  f"expected {ref[first] if ref.ndim else float(ref):.6g}, got {got[first]:.6g}")
        _fail(what, _show(ref), _show(got), hint, detail)


def check_equal(actual, expected, *, what: str = "The result", hint: str | None = None) -> None:
    """Check exact equality of non-numeric values (labels, strings, lists, dicts).

    Raises
    ------
    CheckFailure
        If ``actual != expected``. Element-wise comparison is used for arrays.
    """
    __tracebackhide__ = True
    try:
        if isinstance(actual, np.ndarray) or isinstance(expected, np.ndarray):
            same = np.array_equal(np.asarray(actual, dtype=object), np.asarray(expected, dtype=object))
        else:
            same = actual == expected
        same = same is True or isinstance(same, np.bool_) and bool(same)
    except Exception:  # values that cannot even be compared are not equal
        same = False
    if not same:
        _fail(what, _show(expected), _show(actual), hint)


def check_shape(actual, shape: tuple, *, what: str = "The result", hint: str | None = None) -> None:
    """Check the shape of an array or DataFrame.

    Raises
    ------
    CheckFailure
        If ``actual`` has no shape or a different one.
    """
    __tracebackhide__ = True
    got = getattr(actual, "shape", None)
    if got is None or tuple(got) != tuple(shape):
        _fail(what, f"shape {tuple(shape)}", f"shape {got}" if got is not None else _show(actual), hint)


def check_type(actual, types, *, what: str = "The result", hint: str | None = None) -> None:
    """Check that a value is an instance of the given type(s).

    Raises
    ------
    CheckFailure
        If ``isinstance(actual, types)`` is false.
    """
    __tracebackhide__ = True
    if not isinstance(actual, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        _fail(what, f"a {names}", f"a {type(actual).__name__}: {_show(actual)}", hint)


def check_true(condition, message: str, *, hint: str | None = None) -> None:
    """Check a property; ``message`` says what should hold.

    Raises
    ------
    CheckFailure
        If ``condition`` is not exactly ``True`` (numpy booleans count).
    """
    __tracebackhide__ = True
    if not (condition is True or isinstance(condition, np.bool_) and bool(condition)):
        text = message + (f"\n  hint: {hint}" if hint else "")
        raise CheckFailure(text)


def check_raises(exception, func: Callable, *args, what: str | None = None,
                 hint: str | None = None, **kwargs) -> BaseException:
    """Check that ``func(*args, **kwargs)`` raises ``exception``.

    Returns
    -------
    error : BaseException
        The exception raised, for checks on its message.

    Raises
    ------
    CheckFailure
        If nothing or another exception is raised.
    """
    __tracebackhide__ = True
    name = what or f"{getattr(func, '__name__', 'the function')}(...)"
    try:
        func(*args, **kwargs)
    except exception as error:
        return error
    except Exception as error:  # noqa: BLE001 - reported to the learner
        _fail(name, f"to raise {exception.__name__}", f"{type(error).__name__}: {error}", hint)
    _fail(name, f"to raise {exception.__name__}", "no exception", hint)


def _resolve(dotted: str):
    module_name, _, attr = dotted.rpartition(".")
    return importlib.import_module(module_name), attr


def _code_objects(obj) -> set:
    """The code a library function or class runs: the function's own, or its methods'.

    A decorated function is known by the code it wraps, never by its wrapper's:
    one wrapper's code serves every function a decorator wraps (scikit-learn's
    parameter validation, say), so it would stand for all of them.
    """
    codes, stack, seen = set(), [obj], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        inner = getattr(item, "__wrapped__", None) or getattr(item, "func", None)
        if inner is not None:
            stack.append(inner)
        elif isinstance(getattr(item, "__code__", None), types.CodeType):
            codes.add(item.__code__)
        if isinstance(item, type):
            for value in vars(item).values():
                stack.append(getattr(value, "__func__", value))
    return codes


@contextlib.contextmanager
def _watch_calls(watched: dict, seen: list):
    """Note every call into the code objects of ``watched`` (code -> name), however reached."""
    def profile(frame, event, arg):
        if event == "call" and frame.f_code in watched:
            seen.append(watched[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


def forbid_calls(func: Callable, *args, forbidden: Iterable[str], hint: str | None = None,
                 **kwargs):
    """Call ``func`` while the library functions it should replace are disabled.

    A "from scratch" exercise is not done by calling the library: each dotted
    name in ``forbidden`` (e.g. ``"sklearn.metrics.f1_score"``) is replaced for
    the duration of the call, both in its module and wherever the answer's
    module imported it under its own name; and a call that reaches the
    library's code another way (a private module path, a default argument, a
    copy of the function) is noticed by the code it runs.

    Returns
    -------
    result : object
        What ``func`` returned.

    Raises
    ------
    CheckFailure
        If ``func`` called one of the forbidden functions.
    """
    __tracebackhide__ = True
    forbidden = list(forbidden)
    remote = getattr(func, "_lifecycle_remote_call", None)
    if remote is not None:  # graded in another process: disable them there
        return remote(args, kwargs, forbidden=forbidden, hint=hint)
    called: list[str] = []

    def tripwire(name):
        def trip(*_a, **_k):
            __tracebackhide__ = True
            called.append(name)
            raise CheckFailure(
                f"This exercise asks you to compute the result yourself, but your code called "
                f"{name}.\n  hint: {hint or 'write the computation with numpy instead.'}")
        return trip

    watched, seen = {}, []
    with contextlib.ExitStack() as stack:
        namespace = getattr(func, "__globals__", {})
        for name in forbidden:
            module, attr = _resolve(name)
            original = getattr(module, attr)
            watched.update(dict.fromkeys(_code_objects(original), name))
            if func is original or getattr(func, "func", None) is original:  # re-export, partial
                tripwire(name)()
            stack.enter_context(mock.patch.object(module, attr, tripwire(name)))
            for key, value in list(namespace.items()):
                if value is original:
                    stack.enter_context(mock.patch.dict(namespace, {key: tripwire(name)}))
            for cell in getattr(func, "__closure__", None) or ():
                if cell.cell_contents is original:
                    cell.cell_contents = tripwire(name)
                    stack.callback(setattr, cell, "cell_contents", original)
        with _watch_calls(watched, seen):
            result = func(*args, **kwargs)
    if seen:
        tripwire(seen[0])()
    return result


@contextlib.contextmanager
def bound_globals(namespace: dict | None, replace: dict):
    """Bind some global names of a function's module namespace for the ``with`` block only.

    Parameters
    ----------
    namespace : dict or None
        A function's ``__globals__``; ``None`` (a builtin, a callable object) binds nothing.
    replace : dict of str to object
        Names and what they are bound to; each is restored (or removed) afterwards.
    """
    if not replace or namespace is None:
        yield
        return
    missing = object()
    before = {k: namespace.get(k, missing) for k in replace}
    namespace.update(replace)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v


def call_with(func: Callable, *args, replace: dict, **kwargs):
    """Call ``func`` with some of the global names it uses bound to other functions.

    A test of one exercise uses this to run the learner's function with correct
    versions of earlier exercises' answers (``replace={"lineage": reference}``),
    so a mistake costs points in its own exercise only. The names are restored
    after the call.

    Returns
    -------
    result : object
        What ``func`` returned.
    """
    __tracebackhide__ = True
    remote = getattr(func, "_lifecycle_remote_call", None)
    if remote is not None:  # graded in another process: bind them there
        return remote(args, kwargs, replace=dict(replace))
    with bound_globals(getattr(func, "__globals__", None), replace):
        return func(*args, **kwargs)


def call_each(func: Callable, calls: Iterable[tuple], *, until_true: bool = False) -> list:
    """Call ``func(*args)`` for each ``args`` of ``calls``, in order.

    A test that feeds an answer hundreds of inputs (a stopping rule, step by
    step) uses this: when the answer is graded in another process, all the
    calls travel in one request instead of one request each. What the answer
    does to its arguments is not brought back: pass copies.

    Parameters
    ----------
    func : callable
    calls : iterable of tuple
        The positional arguments of each call.
    until_true : bool, default=False
        Stop after the first call whose result is true, as a loop with ``break`` would.

    Returns
    -------
    results : list
        One result per call made.
    """
    __tracebackhide__ = True
    remote = getattr(func, "_lifecycle_remote_each", None)
    if remote is not None:
        return remote([tuple(args) for args in calls], until_true)
    results = []
    for args in calls:
        results.append(func(*args))
        if until_true and results[-1]:
            break
    return results

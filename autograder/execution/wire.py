"""Messages between the grader's processes, and the one way data leaves learner code.

Frames are ``[4-byte header length][JSON header][8-byte blob length][blob]``.
The header is plain JSON, so reading it runs no code. A blob from the
learner's process is only ever read with :func:`load_answer`, an unpickler
that takes every class and function from a fixed table the grader built
(:mod:`autograder.execution.answer_types`) and refuses every other name without
importing it: no learner-defined class, function or object with a custom
``__eq__`` can reach a test, and no name in the learner's bytes makes the
tests' process import a module.
"""
from __future__ import annotations

import inspect
import io
import json
import pickle
import struct
import time

import numpy as np

from autograder.execution import answer_types

__all__ = ["WireError", "WireTimeout", "send", "recv", "dump_answer", "load_answer", "RefusedAnswer"]

MAX_HEADER = 1 << 20
MAX_BLOB = 512 << 20  # an answer larger than this is not data a lesson asks for


class WireError(ConnectionError):
    """The other process hung up or sent something that is not a frame."""


class WireTimeout(WireError):
    """A frame was still incomplete at the reader's deadline."""


class RefusedAnswer(pickle.UnpicklingError):
    """An answer holds something other than data (a function, a learner class...)."""


def _read_exact(sock, n: int, deadline: float | None = None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            # A frame's first bytes arriving is no promise that the rest will: a sender that
            # stops half-way must not hold the reader past its time limit.
            sock.settimeout(max(deadline - time.monotonic(), 1e-3))
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except TimeoutError:
            raise WireTimeout(f"a frame stopped after {n - left} of {n} bytes") from None
        if not chunk:
            raise WireError("the other process closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(sock, header: dict, blob: bytes = b"") -> None:
    """Send one frame: a JSON-serialisable header and optional bytes."""
    head = json.dumps(header).encode()
    sock.sendall(struct.pack("!I", len(head)) + head + struct.pack("!Q", len(blob)) + blob)


def recv(sock, deadline: float | None = None) -> tuple[dict, bytes]:
    """Receive one frame.

    Parameters
    ----------
    sock : socket.socket
        A blocking socket.
    deadline : float, optional
        A :func:`time.monotonic` time by which the whole frame must have arrived;
        without it, wait as long as it takes (for a peer the reader trusts).

    Raises
    ------
    WireError
        On a malformed or oversized frame, or a closed connection.
    WireTimeout
        If the frame is not complete at ``deadline``.
    """
    timeout = sock.gettimeout()
    try:
        (n,) = struct.unpack("!I", _read_exact(sock, 4, deadline))
        if n > MAX_HEADER:
            raise WireError(f"header of {n} bytes is too large")
        try:
            header = json.loads(_read_exact(sock, n, deadline))
        except ValueError as error:
            raise WireError(f"header is not JSON: {error}") from None
        if not isinstance(header, dict):
            raise WireError("header is not a JSON object")
        (m,) = struct.unpack("!Q", _read_exact(sock, 8, deadline))
        if m > MAX_BLOB:
            raise WireError(f"answer of {m} bytes is larger than the {MAX_BLOB} the grader accepts")
        return header, _read_exact(sock, m, deadline)
    finally:
        if deadline is not None:
            sock.settimeout(timeout)


def _as_asked(value):
    """A tuple subclass (a namedtuple) as the tuple the text asks for, in lists, tuples, dicts."""
    if isinstance(value, tuple):
        return tuple(_as_asked(v) for v in value)
    if type(value) is list:
        return [_as_asked(v) for v in value]
    if type(value) is dict:
        return {k: _as_asked(v) for k, v in value.items()}
    return value


def dump_answer(value) -> bytes:
    """Serialise a value in the learner's process (any pickle; it is checked on load)."""
    return pickle.dumps(_as_asked(value), protocol=pickle.HIGHEST_PROTOCOL)


class _AnswerUnpickler(pickle.Unpickler):
    """Rebuild only what :func:`autograder.execution.answer_types.allowed` lists; import nothing."""

    def find_class(self, module: str, name: str):
        obj = answer_types.allowed().get((module, name))
        if obj is None:
            raise RefusedAnswer(
                f"the answer contains {module}.{name}, which is not a kind of data the grader "
                "accepts. Return numbers, strings, lists, tuples, dicts, numpy arrays, pandas "
                "objects or scikit-learn estimators; a function, generator or class of your "
                "own cannot be graded.")
        return obj


def _methods_shadowed(obj) -> str | None:
    state = getattr(obj, "__dict__", None)
    if not isinstance(state, dict):
        return None
    cls = type(obj)
    for key in state:
        attr = inspect.getattr_static(cls, key, None) if isinstance(key, str) else None
        # A property is a data descriptor: an instance value of that name is never used.
        if inspect.isroutine(attr) or isinstance(attr, (classmethod, staticmethod)):
            return f"{cls.__name__}.{key}"
    return None


def _walk(value, budget: list[int]):
    """Yield every object reachable through containers and instance state."""
    stack, seen = [value], set()
    while stack and budget[0] > 0:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        budget[0] -= 1
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())


def load_answer(blob: bytes):
    """Rebuild an answer from the learner's process, refusing anything but data.

    Raises
    ------
    RefusedAnswer
        If the answer holds a type that is not data, or an object whose
        instance state replaces one of its class's methods.
    """
    try:
        value = _AnswerUnpickler(io.BytesIO(blob)).load()
    except RefusedAnswer:
        raise
    except Exception as error:  # noqa: BLE001 - anything malformed is refused
        raise RefusedAnswer(f"the answer could not be read back: {type(error).__name__}") from None
    for obj in _walk(value, [200_000]):
        shadow = _methods_shadowed(obj)
        if shadow:
            raise RefusedAnswer(f"the answer replaces the method {shadow}; it cannot be graded.")
    return value

"""Messages between the grader's processes, and the one way data leaves learner code.

Frames are ``[4-byte header length][JSON header][8-byte blob length][blob]``.
The header is plain JSON, so reading it runs no code. A blob from the
learner's process is only ever read with :func:`load_answer`, a restricted
unpickler that rebuilds numbers, containers, numpy, pandas, scipy.sparse and
scikit-learn objects, and refuses everything else: no learner-defined class,
function or object with a custom ``__eq__`` can reach a test.
"""
from __future__ import annotations

import inspect
import io
import json
import pickle
import re
import struct

import numpy as np

__all__ = ["WireError", "send", "recv", "dump_answer", "load_answer", "RefusedAnswer"]

MAX_HEADER = 1 << 20
MAX_BLOB = 512 << 20  # an answer larger than this is not data a lesson asks for


class WireError(ConnectionError):
    """The other process hung up or sent something that is not a frame."""


class RefusedAnswer(pickle.UnpicklingError):
    """An answer holds something other than data (a function, a learner class...)."""


def _read_exact(sock, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise WireError("the other process closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(sock, header: dict, blob: bytes = b"") -> None:
    """Send one frame: a JSON-serialisable header and optional bytes."""
    head = json.dumps(header).encode()
    sock.sendall(struct.pack("!I", len(head)) + head + struct.pack("!Q", len(blob)) + blob)


def recv(sock) -> tuple[dict, bytes]:
    """Receive one frame; raises :class:`WireError` on a malformed or oversized one."""
    (n,) = struct.unpack("!I", _read_exact(sock, 4))
    if n > MAX_HEADER:
        raise WireError(f"header of {n} bytes is too large")
    try:
        header = json.loads(_read_exact(sock, n))
    except ValueError as error:
        raise WireError(f"header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise WireError("header is not a JSON object")
    (m,) = struct.unpack("!Q", _read_exact(sock, 8))
    if m > MAX_BLOB:
        raise WireError(f"answer of {m} bytes is larger than the {MAX_BLOB} the grader accepts")
    return header, _read_exact(sock, m)


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


_SAFE = {
    "builtins": {"complex", "range", "slice", "set", "frozenset", "list", "dict", "tuple",
                 "bytearray", "bytes", "str", "int", "float", "bool", "object"},
    "datetime": {"datetime", "date", "time", "timedelta", "timezone"},
    "collections": {"OrderedDict", "Counter", "deque", "defaultdict"},
    "copyreg": {"_reconstructor"},
    "_codecs": {"encode"},
    "decimal": {"Decimal"},
    "fractions": {"Fraction"},
}
_LIBRARIES = ("numpy", "pandas", "scipy", "sklearn")
# Classes whose constructors touch files, networks or evaluate strings.
_DENIED_PREFIXES = ("pandas.io", "pandas.core.computation", "scipy.io", "numpy.lib.npyio",
                    "numpy.lib._npyio", "numpy.testing", "sklearn.utils._testing",
                    "sklearn.datasets", "numpy.lib._datasource", "numpy.lib.format")
_DENIED_NAMES = {"memmap", "DataSource", "NpzFile"}
_RECONSTRUCTORS = re.compile(
    r"^(_reconstruct|scalar|_frombuffer|_mareconstruct|__\w+_ctor|__pyx_unpickle_\w+|_new_\w+"
    r"|_unpickle\w*|__nat_unpickle|_timedelta_unpickle)$")


class _AnswerUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        top = module.split(".")[0]
        if name in _SAFE.get(module, ()):
            return super().find_class(module, name)
        if top in _LIBRARIES and not module.startswith(_DENIED_PREFIXES) \
                and name not in _DENIED_NAMES and "." not in name:
            obj = super().find_class(module, name)
            if isinstance(obj, (type, np.ufunc)):
                return obj
            if callable(obj) and _RECONSTRUCTORS.match(name):  # Cython functions included
                return obj
        raise RefusedAnswer(
            f"the answer contains {module}.{name}, which is not a kind of data the grader "
            "accepts. Answers must be numbers, strings, lists, dicts, numpy arrays, pandas "
            "objects or scikit-learn estimators; a function, generator or class of your own "
            "cannot be graded.")


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

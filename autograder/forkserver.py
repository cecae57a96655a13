"""The fork server that runs inside a sandbox (:mod:`autograder.sandbox`).

It imports what graded notebooks import once, then forks one process per
request: a learner's process (:mod:`autograder.learner`), a tests' process
(:mod:`autograder.verdict`) or the confinement probe (:mod:`autograder.probe`).
Each child gets its own session, its resource limits and an empty scratch
folder under the sandbox's private ``/tmp``; it tells the grader its pid
(credentials the kernel writes, not a number it sends) and waits for a go
before running anything, so the grader can first put it in its control groups.

``python -m autograder.forkserver FD [--no-preload] [--pids-shared]``; FD is
the grader's control socket.
"""
from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile

from autograder import isolation, wire

PRELOAD = ("cloudpickle", "IPython.core.interactiveshell", "matplotlib.pyplot", "numpy",
           "pandas", "scipy.stats", "sklearn", "sklearn.linear_model", "sklearn.pipeline",
           "sklearn.compose", "sklearn.preprocessing", "sklearn.model_selection",
           "sklearn.metrics", "sklearn.impute", "sklearn.dummy", "sklearn.tree",
           "sklearn.ensemble", "skops.io", "lifecycle", "lifecycle.feedback",
           "autograder.learner", "autograder.verdict")


def _preload() -> None:
    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # The tests' processes read answers through this table: build it once, before forking.
    from autograder import answer_types

    answer_types.allowed()
    import pkgutil

    import lifecycle

    for module in pkgutil.iter_modules(lifecycle.__path__):
        if module.name not in {"lab", "progress"}:
            try:
                importlib.import_module(f"lifecycle.{module.name}")
            except Exception:  # noqa: BLE001 - a lesson module that fails is imported later
                pass


def _devnull_stdio() -> None:
    # AUTOGRADER_DEBUG=1 keeps the children's stderr, to see why one failed to start.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1) if os.environ.get("AUTOGRADER_DEBUG") else (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _child(control: socket.socket, sock: socket.socket, op: dict) -> None:
    control.close()
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server reaps automatically; its children must not
    _devnull_stdio()
    limits = isolation.Limits(**op.get("limits", {}))
    scratch = tempfile.mkdtemp(prefix=f"{op['role']}-", dir="/tmp" if op.get("private_tmp")
                               else None)
    isolation.apply_limits(limits, scratch)
    sock.sendall(b"P")  # the kernel attaches our pid as the grader sees it
    if sock.recv(1) != b"G":
        return
    role = op["role"]
    if role == "learner":
        from autograder import learner

        learner.serve(sock, limits)
    elif role == "tests":
        isolation.protect_self()
        from autograder import verdict

        start, _ = wire.recv(sock)
        verdict.serve(sock, start["setup"], set(start["answers"]),
                      set(start["instructor_names"]), start["token"])
    elif role == "probe":
        from autograder import probe

        wire.send(sock, probe.measure(op.get("port"), op.get("paths", [])))


def _fork(control: socket.socket, sock: socket.socket, op: dict) -> None:
    if os.fork():
        sock.close()
        return
    code = 0
    try:
        _child(control, sock, op)
    except BaseException:  # noqa: BLE001 - the child must never return into the server
        if os.environ.get("AUTOGRADER_DEBUG"):
            import traceback

            traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _reset(pids_shared: bool) -> None:
    """Kill what the last notebook left running, and empty the scratch space."""
    if not pids_shared:  # we are the sandbox's init: -1 is every other process in it
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for name in os.listdir("/tmp") if not pids_shared else ():
        path = os.path.join("/tmp", name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def _recv(control: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(control, 1 << 20, 1)
    if len(data) < 4:
        raise wire.WireError("the grader closed the connection")
    (n,) = struct.unpack("!I", data[:4])
    while len(data) < 4 + n + 8:
        more = control.recv(1 << 20)
        if not more:
            raise wire.WireError("the grader closed the connection")
        data += more
    import json

    return json.loads(data[4:4 + n]), fds


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[0]))
    pids_shared = "--pids-shared" in argv
    isolation.protect_self()
    if "--no-preload" not in argv:
        _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    wire.send(control, {"op": "ready"})
    while True:
        try:
            op, fds = _recv(control)
        except (wire.WireError, OSError, ValueError):
            return
        if op.get("op") == "spawn" and fds:
            op["private_tmp"] = not pids_shared
            _fork(control, socket.socket(fileno=fds[0]), op)
        elif op.get("op") == "reset":
            for fd in fds:
                os.close(fd)
            _reset(pids_shared)
            wire.send(control, {"op": "done"})


if __name__ == "__main__":
    main(sys.argv[1:])

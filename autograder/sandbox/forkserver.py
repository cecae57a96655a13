"""The fork server that runs inside a sandbox (:mod:`autograder.sandbox.bubblewrap`).

It imports what graded notebooks import once (:func:`modules_for`), then forks one process per
request: a learner's process (:mod:`autograder.execution.learner`), a tests' process
(:mod:`autograder.execution.verdict`) or the confinement probe (:mod:`autograder.sandbox.probe`).
Each child gets its own session, its resource limits and an empty scratch
folder under the sandbox's private ``/tmp``; it tells the grader its pid
(credentials the kernel writes, not a number it sends) and waits for a go
before running anything, so the grader can first put it in its control groups.

``python -m autograder.sandbox.forkserver FD [--no-preload | --preload=MOD,MOD...] [--pids-shared]``;
FD is the grader's control socket; without ``--preload`` it imports everything a lesson may
use (:data:`ALWAYS`, :data:`PRELOAD` and the course's modules).
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
from typing import NamedTuple

from autograder.execution import wire
from autograder.sandbox import isolation

# Imported by every fork server: what its processes run on.
ALWAYS = ("cloudpickle", "IPython.core.interactiveshell", "numpy", "lifecycle", "lifecycle.feedback",
          "autograder.execution.learner", "autograder.execution.verdict")
# Imported when a graded lesson uses them (see modules_for); all of them by default.
PRELOAD = ("matplotlib.pyplot", "pandas", "scipy.stats", "sklearn", "sklearn.linear_model",
           "sklearn.pipeline", "sklearn.compose", "sklearn.preprocessing",
           "sklearn.model_selection", "sklearn.metrics", "sklearn.impute", "sklearn.dummy",
           "sklearn.tree", "sklearn.ensemble", "skops.io",
           # Lesson 08's registry: MLflow, and the SQLite stores its client loads on first use
           # (about 3.5 s of CPU in all, which every graded notebook of that lesson paid again).
           "mlflow", "mlflow.store.tracking.sqlalchemy_store",
           "mlflow.store.model_registry.sqlalchemy_store")
# Imported when a graded lesson names them or one of their submodules, never for a parent
# alone: onnx (which this imports) takes over a second, and lessons 05 and 08 import
# onnxruntime without it. Only a module is imported here: no session is opened before a fork.
PRELOAD_NAMED = ("onnxruntime.quantization",)
NOT_PRELOADED = {"lifecycle.lab", "lifecycle.progress"}  # the learner's tools, not lesson code
# Left out of the tests' sandbox unless its setup or test cells import one themselves: the
# libraries lesson code saves, registers and quantizes models with. Learners' functions call
# that code in the learner's process; the tests only compare what comes back, so their
# sandbox never used these and paid about 4.5 s of CPU a run for them (measured per lesson:
# docs/instructor.md, "Grading"). A test that does need one imports it then.
LEARNER_ONLY = ("skops.io", "mlflow", "mlflow.store.tracking.sqlalchemy_store",
                "mlflow.store.model_registry.sqlalchemy_store", "onnxruntime.quantization")


class Preloads(NamedTuple):
    """What the fork servers of a grading worker's two sandboxes import.

    Parameters
    ----------
    learner : tuple of str
        For the learner's sandbox, which runs every cell of a submission.
    tests : tuple of str
        For the tests' sandbox, which runs only the setup and test cells.
    """

    learner: tuple[str, ...]
    tests: tuple[str, ...]


def _course_module(name: str) -> str | None:
    """The source file of ``lifecycle...`` module ``name``, or None if it is not one."""
    base = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        *name.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if name.split(".")[0] == "lifecycle" and os.path.isfile(path):
            return path
    return None


def modules_for(imports, follow: bool = True) -> list[str]:
    """What a fork server imports for lessons whose notebooks import ``imports``.

    :data:`ALWAYS`; the entries of :data:`PRELOAD` that one of ``imports``,
    or a course module they import (its imports at any depth, followed
    through the course's modules), names or contains or sits in; and those
    course modules; and the entries of :data:`PRELOAD_NAMED` that one names or sits in
    (not one that contains them). A sandbox then pays only for what its lessons use: a
    class of lesson 01 does not import :mod:`skops` or :mod:`scipy.stats`.

    Parameters
    ----------
    imports : iterable of str
        Module names (:attr:`autograder.grading.notebook.Lesson.modules`).
    follow : bool, default=True
        Follow the course's modules into their imports; False: only what
        ``imports`` themselves name.

    Returns
    -------
    modules : list of str
    """
    from autograder.grading.notebook import modules_imported

    seen, todo = set(), list(imports)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            path = _course_module(name) if follow else None
            if path:
                with open(path, encoding="utf-8") as f:
                    todo += modules_imported(f.read())
    used = [m for m in PRELOAD if any(n == m or n.startswith(m + ".") or m.startswith(n + ".")
                                      for n in seen)]
    used += [m for m in PRELOAD_NAMED if any(n == m or n.startswith(m + ".") for n in seen)]
    ours = sorted(n for n in seen if _course_module(n) and n not in NOT_PRELOADED)
    return list(dict.fromkeys([*ALWAYS, *used, *ours]))


def preloads_for(lessons) -> Preloads:
    """What the two sandboxes import to grade ``lessons``.

    The learner's sandbox imports :func:`modules_for` every code cell's
    imports; the tests' sandbox, :func:`modules_for` the setup and test cells'
    imports, without the :data:`LEARNER_ONLY` libraries those cells do not import themselves.

    Parameters
    ----------
    lessons : iterable of autograder.grading.notebook.Lesson

    Returns
    -------
    preloads : Preloads
    """
    lessons = list(lessons)
    learner = set().union(*(lesson.modules for lesson in lessons))
    tests = set().union(*(lesson.tests_modules for lesson in lessons))
    named = set(modules_for(tests, follow=False))
    return Preloads(tuple(modules_for(learner)), tuple(
        m for m in modules_for(tests) if m not in LEARNER_ONLY or m in named))


def _all_modules() -> list[str]:
    import pkgutil

    import lifecycle

    ours = (f"lifecycle.{m.name}" for m in pkgutil.iter_modules(lifecycle.__path__))
    return [*ALWAYS, *PRELOAD, *PRELOAD_NAMED, *(name for name in ours if name not in NOT_PRELOADED)]


def _preload(names: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    for name in names:
        try:
            if name == "skops.io":  # its trusted types' names from the seed, not computed
                importlib.import_module("lifecycle.skops_io").skops_io()
            importlib.import_module(name)
        except ImportError:
            pass
        except Exception:  # noqa: BLE001 - a lesson module that fails is imported later
            if name.split(".")[0] != "lifecycle":
                raise


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
    scratch = tempfile.mkdtemp(prefix=f"{op['role']}-", dir="/tmp" if op.get("confined")
                               else None)
    isolation.apply_limits(limits, scratch, own_user_namespace=op.get("confined", False))
    sock.sendall(b"P")  # the kernel attaches our pid as the grader sees it
    if sock.recv(1) != b"G":
        return
    role = op["role"]
    if role == "learner":
        from autograder.execution import learner

        learner.serve(sock, limits)
    elif role == "tests":
        isolation.protect_self()
        from autograder.execution import verdict

        start, _ = wire.recv(sock)
        verdict.serve(sock, start["setup"], set(start["answers"]),
                      set(start["instructor_names"]), start["token"])
    elif role == "probe":
        from autograder.sandbox import probe

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
    """Kill what the last notebook left running, and empty the sandbox's private mounts.

    Both ``/tmp`` and ``/dev/shm`` are the sandbox's own, shared by the notebooks it grades
    one after another: what one learner's code left there must be gone before the next
    learner's runs (it could be read, or fill the space the next one needs).
    """
    if pids_shared:  # unconfined: nothing here is the sandbox's own
        return
    try:  # we are the sandbox's init: -1 is every other process in it
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for folder in ("/tmp", "/dev/shm"):
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
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
    chosen = [arg.split("=", 1)[1] for arg in argv if arg.startswith("--preload=")]
    if chosen:
        _preload([name for name in chosen[-1].split(",") if name])
    elif "--no-preload" not in argv:
        _preload(_all_modules())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    # Our stderr is the grader's start-up file, read once we are ready: nothing written
    # later is read, so nothing is kept (AUTOGRADER_DEBUG=1 shows it on the grader's stderr).
    if not os.environ.get("AUTOGRADER_DEBUG"):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    wire.send(control, {"op": "ready"})
    while True:
        try:
            op, fds = _recv(control)
        except (wire.WireError, OSError, ValueError):
            return
        if op.get("op") == "spawn" and fds:
            op["confined"] = not pids_shared  # in bubblewrap: a private /tmp, its own user namespace
            if op.get("role") == "tests":
                # Tests' processes read answers through this table: built here once (it
                # costs about 2 s of CPU), inherited by every tests' process forked after.
                from autograder.execution import answer_types

                answer_types.allowed()
            _fork(control, socket.socket(fileno=fds[0]), op)
        elif op.get("op") == "reset":
            for fd in fds:
                os.close(fd)
            _reset(pids_shared)
            wire.send(control, {"op": "done"})


if __name__ == "__main__":
    main(sys.argv[1:])

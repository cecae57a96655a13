"""Run one submitted notebook: learner cells in a confined process, tests in another.

:func:`run_notebook` takes the place of nbgrader's ``Execute`` in the
autograding chain. It writes each cell's outputs into the notebook as
``Execute`` would (an ``error`` output for a failed test), for the feedback
page and the formgrader, and returns each test's verdict: ``scores.csv`` and
the gradebook are both written from those verdicts.
"""
from __future__ import annotations

import os
import secrets
import select
import signal
import socket
import time
from dataclasses import dataclass, field

from nbformat.v4 import new_output

from autograder.execution import wire
from autograder.grading import demos
from autograder.grading.notebook import Lesson
from autograder.sandbox import bubblewrap, cgroups

__all__ = ["RunResult", "run_notebook"]

SKIPPED_NOTE = ("Not run when grading: this demonstration is the lesson's, unchanged, and nothing "
                "graded reads what it makes. Run it in JupyterLab to see its output.")
HIDDEN_NOTE = ("A hidden test failed: your answer passes the checks you can see but not one on "
               "inputs you have not seen.")


@dataclass
class RunResult:
    """What happened to each test cell, and to the notebook as a whole."""

    tests: dict = field(default_factory=dict)  # grade_id -> {"passed", "status", "message"}
    tampered: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    seconds: float = 0.0


def _spawn(box, role: str, limits, caps) -> tuple[int, socket.socket]:
    """Fork a process in ``box``, put it in ``caps`` before it runs anything, let it go."""
    pid, sock = box.spawn({"op": "spawn", "role": role, "limits": vars(limits)})
    caps.add(pid)
    bubblewrap.release(sock)
    return pid, sock


def _reap(pid: int | None) -> None:
    """Kill a sandboxed process and its process group (the fork server reaps it)."""
    for target in (-pid, pid) if pid else ():
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


class _Timeout(Exception):
    pass


class _Dead(Exception):
    pass


def _wait(sock, deadline: float):
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([sock], [], [], left)[0]:
        raise _Timeout
    try:
        return wire.recv(sock, deadline)
    except wire.WireTimeout:
        raise _Timeout from None
    except (wire.WireError, OSError) as error:
        raise _Dead(str(error)) from None


class SandboxError(RuntimeError):
    """A grading process could not be started: a fault of the grading machine, not of the answer."""


STARTUP_SECONDS = 30.0
# What a learner's reply to a relayed request may say (autograder.execution.learner: describe,
# call, call_each).
REPLY_KEYS = ("ok", "ename", "evalue", "bases", "kind", "module", "type")


def _started(role: str, spawn):
    """Spawn a grading process and wait for its "ready"; one more try if it never comes.

    A process that dies before it is ready has not run any learner code yet, so
    the learner must not be charged for it (``killed``): retry once, then stop
    grading this notebook with a :class:`SandboxError`.
    """
    for _ in range(2):
        try:
            pid, sock = spawn()
        except OSError:  # its sandbox died and could not be started again
            continue
        try:
            if _wait(sock, time.monotonic() + STARTUP_SECONDS)[0].get("op") == "ready":
                return pid, sock
        except (_Timeout, _Dead):
            pass
        _reap(pid)
        sock.close()
    raise SandboxError(f"the {role} process could not be started in its sandbox (run with "
                       "AUTOGRADER_DEBUG=1 to see why)")


def _stream(name: str, text: str):
    return new_output("stream", name=name, text=text)


def _error(ename: str, evalue: str, tb: list[str]):
    return new_output("error", ename=ename, evalue=evalue, traceback=tb)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_CHARS = 1 << 20  # the learner's plots kept per notebook (base64), for the feedback page
# The learner's process names at most 10 changed grader names per reply; a reply its code
# forged may name any number, so a notebook keeps this many, each this long at most.
MAX_TAMPERED, MAX_TAMPERED_CHARS = 20, 200


def without_expected(message: str) -> str:
    """A hidden check's failure message without the expected value.

    :mod:`lifecycle.feedback`'s messages name what failed, then ``expected:``,
    ``got:``, details and a hint on lines of their own. A learner's function
    sees a hidden test's inputs; with the expected outputs too it could answer
    them by rote on the next submission. What failed, what the answer returned
    and the hint stay.
    """
    return "\n".join(line for line in message.splitlines()
                     if not line.startswith("  ") or line.startswith(("  got:", "  hint:")))


def merge_tampered(tampered: list, names) -> None:
    """Add the names a reply says were changed to ``tampered``, in place and bounded.

    Parameters
    ----------
    tampered : list of str
        The notebook's list so far.
    names : object
        The reply's ``"tampered"`` value: a list of names from an honest learner's
        process, anything at all from one its code forged (see :data:`MAX_TAMPERED`).
    """
    if not isinstance(names, list):
        return
    known = set(tampered)
    for what in names[:MAX_TAMPERED]:
        what = str(what)[:MAX_TAMPERED_CHARS]
        if len(known) >= MAX_TAMPERED:
            return
        if what not in known:
            known.add(what)
            tampered.append(what)


def _pngs(images) -> list[str]:
    """The learner's plots that really are PNG images, as base64 (they go into a web page)."""
    import base64
    import binascii

    kept = []
    for image in (images if isinstance(images, list) else [])[:4]:
        try:
            data = base64.b64decode(image, validate=True) if isinstance(image, str) else b""
        except (binascii.Error, ValueError):
            continue
        if data.startswith(PNG_SIGNATURE) and len(data) <= 256 << 10:
            kept.append(base64.b64encode(data).decode("ascii"))
    return kept


class _Run:
    def __init__(self, lesson: Lesson, limits, boxes):
        self.lesson, self.limits, self.boxes = lesson, limits, boxes
        self.image_chars = 0
        self.result = RunResult()
        self.start = time.monotonic()
        self.deadline = self.start + limits.notebook_timeout
        self.learner = self.verdict = None
        self.caps = cgroups.Caps([])
        self.verdict_caps = cgroups.Caps([])
        # Marks the grader's own orders to the tests' process; learner code never sees it.
        self.token = secrets.token_hex(16)
        self.learner_state = "alive"  # or "killed" or "timeout"
        self.setup = [c.source for c in lesson.cells if c.role == "setup"]
        self.tests = {c.grade_id: c for c in lesson.tests}

    # -- processes -------------------------------------------------------
    def _tree_caps(self) -> cgroups.Caps:
        # Twice the per-process cap: one process meets its own RLIMIT_AS (a MemoryError
        # the learner can read) before the group's limit, which kills.
        return cgroups.create(self.limits.max_tasks, 2 * self.limits.memory_mb << 20)

    def start_learner(self):
        def spawn():
            self.caps.release()  # of a start that failed
            self.caps = self._tree_caps()
            return _spawn(self.boxes.learner, "learner", self.limits, self.caps)

        self.learner = _started("learner", spawn)

    def start_verdict(self):
        def spawn():
            self.verdict_caps.release()
            self.verdict_caps = self._tree_caps()
            pid, sock = _spawn(self.boxes.tests, "tests", self.limits, self.verdict_caps)
            wire.send(sock, {"setup": self.setup, "answers": sorted(self.lesson.answer_names),
                             "instructor_names": sorted(self.lesson.instructor_names),
                             "token": self.token})
            return pid, sock

        self.verdict = _started("tests'", spawn)

    def stop_learner(self, state: str):
        if self.learner:
            _reap(self.learner[0])
            self.learner[1].close()
            self.learner = None
        self.caps.release()
        if self.learner_state == "alive":
            self.learner_state = state
            # Say why in the notes too: the report lists notes, not per-test messages.
            why = {"killed": "the process running the learner's code stopped (it exited, crashed "
                             "or ran out of memory); later tests were not run",
                   "timeout": "the learner's code ran past its time limit and was stopped; "
                              "later tests were not run"}.get(state)
            if why and why not in self.result.problems:
                self.result.problems.append(why)

    def stop_verdict(self):
        if self.verdict:
            _reap(self.verdict[0])
            self.verdict[1].close()
            self.verdict = None
        self.verdict_caps.release()

    def cell_deadline(self) -> float:
        return min(time.monotonic() + self.limits.cell_timeout, self.deadline)

    def interrupt_learner(self):
        """Interrupt a runaway cell as Jupyter would; return its reply, or None if it ignored us."""
        pid, sock = self.learner
        try:
            os.killpg(pid, signal.SIGINT)
            return _wait(sock, time.monotonic() + 3)[0]
        except (OSError, _Timeout, _Dead):
            return None

    # -- cells -----------------------------------------------------------
    def run_learner_cell(self, cell) -> None:
        if self.learner_state != "alive":
            return
        pid, sock = self.learner
        try:
            wire.send(sock, {"op": "run", "source": cell.source})
            reply, _ = _wait(sock, self.cell_deadline())
        except _Timeout:
            self.result.problems.append("a cell ran past its time limit")
            cell.outputs.append(_error("TimeoutError", "this cell ran past its time limit and "
                                       "was interrupted", []))
            if time.monotonic() >= self.deadline or self.interrupt_learner() is None:
                self.stop_learner("timeout")
            return
        except (_Dead, OSError):  # it died now, or after its last reply (a thread of its own)
            self.stop_learner("killed")
            cell.outputs.append(_error("DeadKernelError", "the process running your code stopped "
                                       "(it exited, crashed or ran out of memory)", []))
            return
        if reply.get("stdout"):
            cell.outputs.append(_stream("stdout", str(reply["stdout"])))
        if reply.get("stderr"):
            cell.outputs.append(_stream("stderr", str(reply["stderr"])))
        for image in _pngs(reply.get("images")):
            self.image_chars += len(image)
            if self.image_chars > MAX_IMAGE_CHARS:  # plots past the notebook's budget are left out
                break
            cell.outputs.append(new_output("display_data", data={"image/png": image}))
        err = reply.get("error")
        if isinstance(err, dict):
            tb = [str(err.get("traceback", ""))]
            cell.outputs.append(_error(str(err.get("ename")), str(err.get("evalue")), tb))
        merge_tampered(self.result.tampered, reply.get("tampered"))

    def prepare_learner(self, test) -> None:
        """Run the imports of a test's public part in the learner's process.

        In Jupyter, test cells run in the learner's kernel, so a later answer may
        use a name a test imported (``accuracy_score``, say); only the imports are
        run here, for the checks themselves run in the tests' process.
        """
        imports = self.lesson.test_imports[test.grade_id]
        if not imports or self.learner_state != "alive":
            return
        try:
            wire.send(self.learner[1], {"op": "prepare", "source": imports})
            _wait(self.learner[1], self.cell_deadline())
        except _Timeout:
            self.stop_learner("timeout")
        except (_Dead, OSError):
            self.stop_learner("killed")

    def run_test_cell(self, cell, grade_id: str) -> None:
        test = self.tests[grade_id]
        self.prepare_learner(test)
        if self.learner_state != "alive":
            status = self.learner_state
            message = ("not run: your code ran past its time limit earlier in the notebook"
                       if status == "timeout" else
                       "not run: the process running your code stopped earlier in the notebook "
                       "(it exited, crashed or ran out of memory)")
            self.record(cell, grade_id, False, status, message, "Error")
            return
        if self.verdict is None:
            self.start_verdict()
        vsock, lsock = self.verdict[1], self.learner[1]
        deadline = self.cell_deadline()
        public, hidden = self.lesson.test_parts[grade_id]
        if not self.to_verdict(cell, grade_id, {"op": "test", "public": public, "hidden": hidden,
                                                "grade_id": grade_id, "token": self.token}):
            return
        asked = 0  # requests relayed to the learner and not answered yet
        while True:
            left = deadline - time.monotonic()
            ready = select.select([vsock, lsock], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.on_test_timeout(cell, grade_id)
                return
            if lsock in ready:  # the learner answered a relayed request
                try:
                    header, blob = wire.recv(lsock, deadline)
                except wire.WireTimeout:
                    self.on_test_timeout(cell, grade_id)
                    return
                except (wire.WireError, OSError):
                    self.stop_learner("killed")
                    self.stop_verdict()
                    self.record(cell, grade_id, False, "killed", "the process running your code "
                                "stopped during this test (it exited, crashed or ran out of memory)",
                                "DeadKernelError")
                    return
                if not asked:  # learner code wrote to the grader's channel itself
                    self.on_forged_message(cell, grade_id)
                    return
                asked -= 1
                reply = {k: header[k] for k in REPLY_KEYS if k in header}
                if not self.to_verdict(cell, grade_id, reply, blob):
                    return
                continue
            try:
                header, blob = wire.recv(vsock, deadline)
            except wire.WireTimeout:
                self.on_test_timeout(cell, grade_id)
                return
            except (wire.WireError, OSError):
                self.verdict_died(cell, grade_id)
                return
            if header.get("to") == "learner":
                asked += 1
                try:
                    wire.send(lsock, header, blob)
                except OSError:
                    pass  # the learner is gone; its reply will never come and the test times out
                continue
            self.on_test_result(cell, grade_id, header)
            return

    def on_forged_message(self, cell, grade_id: str) -> None:
        merge_tampered(self.result.tampered,
                       ["the grader's channel (by writing a message nobody asked for)"])
        self.stop_learner("killed")
        self.stop_verdict()
        self.record(cell, grade_id, False, "killed", "your code wrote to the grader's channel; "
                    "grading of this notebook stopped here", "Error")

    def to_verdict(self, cell, grade_id: str, header: dict, blob: bytes = b"") -> bool:
        try:
            wire.send(self.verdict[1], header, blob)
            return True
        except OSError:
            self.verdict_died(cell, grade_id)
            return False

    def verdict_died(self, cell, grade_id: str) -> None:
        self.stop_verdict()
        self.record(cell, grade_id, False, "error", "the test could not complete on your "
                    "answer (it used more memory or time than a test may)", "Error")

    def on_test_timeout(self, cell, grade_id: str) -> None:
        self.stop_verdict()
        self.stop_learner("timeout")
        self.record(cell, grade_id, False, "timeout",
                    "this test ran past its time limit: your code is too slow or never returns",
                    "TimeoutError")

    def on_test_result(self, cell, grade_id: str, header: dict) -> None:
        if header.get("passed"):
            self.record(cell, grade_id, True, "ok", "", "")
            return
        ename, evalue = str(header.get("ename", "Error")), str(header.get("evalue", ""))
        if header.get("part") == "hidden":
            evalue = without_expected(evalue)
            message = f"{HIDDEN_NOTE}\n{ename}: {evalue}" if evalue else HIDDEN_NOTE
            self.record(cell, grade_id, False, "error", message, ename, hidden=True)
        else:
            tb = [str(line) for line in header.get("traceback") or []]
            self.record(cell, grade_id, False, "error", f"{ename}: {evalue}", ename, tb=tb)

    def record(self, cell, grade_id, passed, status, message, ename, tb=None, hidden=False):
        self.result.tests[grade_id] = {"passed": passed, "status": status, "message": message,
                                       "hidden": hidden}
        if not passed:
            cell.outputs.append(_error(ename or "Error", message, tb or [message]))


def _test_id(cell, tests: dict) -> str | None:
    """The ``grade_id`` of a test cell of the lesson, or None for a cell the learner's process runs."""
    nbg = cell.metadata.get("nbgrader", {}) or {}
    gid = nbg.get("grade_id")
    return gid if nbg.get("grade") and not nbg.get("solution") and gid in tests else None


def run_notebook(nb, lesson: Lesson, limits, boxes) -> RunResult:
    """Execute a sanitized submission and grade its test cells.

    The lesson's demonstrations that nothing graded reads are not run: each gets
    a note instead of its outputs (:func:`autograder.grading.demos.skipped`).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The submission after nbgrader's sanitizing preprocessors; outputs are
        written into it.
    lesson : Lesson
        The instructor's notebook, classified (:func:`autograder.grading.notebook.read_lesson`).
    limits : autograder.sandbox.isolation.Limits
    boxes : autograder.sandbox.bubblewrap.Pair
        The sandboxes to run the learner's code and the tests in (started here if
        they are not running; left running for the next notebook).

    Returns
    -------
    result : RunResult
    """
    boxes.ensure()  # a sandbox's start-up is not the notebook's time
    run = _Run(lesson, limits, boxes)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    tests = {id(cell): _test_id(cell, run.tests) for cell in code}
    learners = [cell for cell in code if tests[id(cell)] is None]
    skip = {id(learners[i]) for i in demos.skipped([c.source for c in learners],
                                                   lesson.demo_sources, lesson.test_sources)}
    try:
        run.start_learner()
        for cell in code:
            cell.outputs = []
            if tests[id(cell)] is not None:
                run.run_test_cell(cell, tests[id(cell)])
            elif id(cell) in skip:
                cell.outputs.append(new_output("display_data", data={"text/plain": SKIPPED_NOTE}))
            else:
                run.run_learner_cell(cell)
            if time.monotonic() > run.deadline and run.learner_state == "alive":
                run.result.problems.append("the notebook ran past its total time limit")
                run.stop_learner("timeout")
    finally:
        for sock_owner in (run.verdict, run.learner):
            if sock_owner:
                try:
                    wire.send(sock_owner[1], {"op": "bye"})
                except OSError:
                    pass
        run.stop_verdict()
        run.stop_learner("done")
        run.boxes.reset()  # nothing of this notebook is left for the next one to find
        run.result.seconds = time.monotonic() - run.start
    return run.result

"""The learner's sandbox on its own: what it shows of the temporary folders, that
building it does not depend on what other processes do there meanwhile, and how
the grader starts its processes."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time

import nbformat
import pytest

from autograder import cgroups, isolation
from autograder.notebook import read_lesson

needs_namespaces = pytest.mark.skipif("namespaces" not in isolation.describe(),
                                      reason="this machine gives no mount namespaces")


def _in_sandbox(check, keep_dir: str, scratch: str, meanwhile=lambda: None,
                while_building=lambda path: None) -> tuple[int, str]:
    """Run ``check()`` in a forked child inside the sandbox; return its exit code and message.

    ``while_building(path)`` runs in the child each time the sandbox has looked
    at a path (listed it, or asked whether it is a folder); ``meanwhile()`` runs
    in the parent once the sandbox is built, before ``check()``.
    """
    go, back = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        code, message, built = 1, "", False
        try:
            isolation._needed_paths = lambda: [keep_dir]  # the course, as the grader passes it
            listdir, isdir = os.listdir, os.path.isdir

            def watched(real):
                def look(path="."):
                    seen = real(path)
                    while_building(path)
                    return seen
                return look

            os.listdir, os.path.isdir = watched(listdir), watched(isdir)
            entered = isolation.enter_namespaces([], scratch, 16)
            os.listdir, os.path.isdir = listdir, isdir
            built = os.write(back[1], b"B")
            os.read(go[0], 1)  # the parent's turn
            message = check() if entered else "no namespaces"
            code = 0 if not message else 3
        except BaseException as error:  # noqa: BLE001 - reported to the test
            message = f"{type(error).__name__}: {error}"
        finally:
            os.write(back[1], (b"" if built else b"B") + message.encode()[:4000])
            os._exit(code)
    os.close(back[1])
    os.read(back[0], 1)
    meanwhile()
    os.write(go[1], b"x")
    with os.fdopen(back[0], "rb") as f:
        message = f.read().decode()
    _, status = os.waitpid(pid, 0)
    for fd in go:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), message


@needs_namespaces
def test_temporary_folder_shows_only_what_the_learner_needs():
    base = os.path.realpath(tempfile.gettempdir())
    course, secret = tempfile.mkdtemp(dir=base), tempfile.mkdtemp(dir=base)
    late = os.path.join(base, f"{os.path.basename(secret)}-late")
    with open(os.path.join(course, "lesson.py"), "w") as f:
        f.write("x = 1\n")
    with open(os.path.join(secret, "gradebook.db"), "w") as f:
        f.write("secret")
    scratch = os.path.join(course, "learner")

    def check():
        problems = [f"{p} is visible" for p in (secret, late) if os.path.exists(p)]
        if open(os.path.join(course, "lesson.py")).read() != "x = 1\n":
            problems.append("the course is not readable")
        for path in (os.path.join(course, "new.py"), os.path.join(base, "new")):
            try:
                open(path, "w").close()
                problems.append(f"{path} is writable")
            except OSError:
                pass
        with open(os.path.join(scratch, "mine"), "w") as f:  # its own scratch stays writable
            f.write("ok")
        return "; ".join(problems)

    try:  # a gradebook written after the sandbox was built is hidden too
        code, message = _in_sandbox(check, course, scratch, meanwhile=lambda: os.mkdir(late))
    finally:
        for path in (course, secret, late):
            shutil.rmtree(path, ignore_errors=True)
    assert code == 0, message


@needs_namespaces
def test_a_temporary_folder_that_vanishes_meanwhile_does_not_stop_the_sandbox():
    base = os.path.realpath(tempfile.gettempdir())
    course, victim = tempfile.mkdtemp(dir=base), tempfile.mkdtemp(dir=base)

    ask, done = os.pipe(), os.pipe()
    helper = os.fork()  # another process of the machine, outside the sandbox
    if helper == 0:
        os.read(ask[0], 1)
        shutil.rmtree(victim)
        os.write(done[1], b"x")
        os._exit(0)
    asked = []

    def vanish(path):  # its temporary folder goes away right after the sandbox looked at it
        if path == victim and not asked:
            asked.append(os.write(ask[1], b"x"))
            os.read(done[0], 1)

    try:
        code, message = _in_sandbox(lambda: "", course, os.path.join(course, "learner"),
                                    while_building=vanish)
    finally:
        if not asked:
            os.write(ask[1], b"x")
        os.waitpid(helper, 0)
        for fd in (*ask, *done):
            os.close(fd)
        shutil.rmtree(course, ignore_errors=True)
        shutil.rmtree(victim, ignore_errors=True)
    assert code == 0, message


def test_an_interrupt_between_cells_does_not_kill_the_learner_process(tmp_path):
    from autograder import execute, wire

    pid, sock = execute._started("learner", lambda: execute._spawn_learner(
        isolation.Limits(), str(tmp_path), []))
    try:
        os.killpg(pid, signal.SIGINT)  # as the grader does when a cell ends just at its deadline
        wire.send(sock, {"op": "run", "source": "print(6 * 7)"})
        reply, _ = execute._wait(sock, time.monotonic() + 30)
        assert reply["stdout"].strip() == "42" and reply["error"] is None
    finally:
        execute._reap(pid)
        sock.close()


def test_a_process_that_dies_before_it_is_ready_is_started_again(monkeypatch, tmp_path):
    from autograder import execute

    spawns = []

    def flaky(*args):
        spawns.append(1)
        if len(spawns) == 1:  # the first start fails, as a sandbox set-up would
            return execute._fork(lambda sock: os._exit(1))
        return real(*args)

    real = execute._spawn_learner
    monkeypatch.setattr(execute, "_spawn_learner", flaky)
    root = str(tmp_path)
    nb = _one_cell_notebook("print('hello')")
    result = execute.run_notebook(nb, read_lesson(nb), isolation.Limits(), root, [])
    assert len(spawns) == 2 and result.problems == []
    assert nb.cells[0].outputs[0]["text"].strip() == "hello"

    monkeypatch.setattr(execute, "_spawn_learner",
                        lambda *a: execute._fork(lambda sock: os._exit(1)))
    with pytest.raises(execute.SandboxError, match="could not be started"):
        execute.run_notebook(_one_cell_notebook("1"), read_lesson(nb), isolation.Limits(), root, [])


def _one_cell_notebook(source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    return nb


FORK_BOMB = """
import os
made = 0
try:
    for _ in range(3000):  # stops itself here if nothing else does
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "31.4159"])
        made += 1
except OSError as error:
    print("stopped:", error.strerror)
print("children:", made)
"""


@pytest.mark.skipif(os.getuid() == 0 and "pids" not in cgroups.supported(),
                    reason="root without a pids cgroup: only the timeouts bound a fork bomb")
def test_a_fork_bomb_is_stopped_and_leaves_nothing_behind(tmp_path):
    from autograder import execute

    nb = _one_cell_notebook(FORK_BOMB)
    # Generous time limits: on a loaded machine the bomb's forks are slow, not unbounded.
    limits = isolation.Limits(cell_timeout=300, notebook_timeout=600)
    result = execute.run_notebook(nb, read_lesson(nb), limits, str(tmp_path), [])
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "children:" in text, outputs  # an error output instead says how the cell ended
    made = int(text.rsplit("children:", 1)[1])
    assert "stopped:" in text and made <= cgroups.MAX_TASKS, text
    assert result.problems == []
    time.sleep(0.5)
    assert [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == "sleep 31.4159"] == []


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


@needs_namespaces
def test_home_folders_and_password_hashes_are_hidden():
    home = os.path.realpath(os.path.expanduser("~"))
    if not home.startswith(("/root/", "/home/")) and home != "/root":
        pytest.skip(f"home folder {home} is not one the sandbox hides")
    secret = tempfile.mkdtemp(prefix=".lifecycle-test-key-", dir=home)
    course = tempfile.mkdtemp()

    def check():
        shown = [p for p in (secret,) if os.path.exists(p)]
        if os.path.exists("/etc/shadow") and open("/etc/shadow").read():
            shown.append("/etc/shadow")
        return "; ".join(f"{p} is visible" for p in shown)

    try:
        code, message = _in_sandbox(check, course, os.path.join(course, "learner"))
    finally:
        shutil.rmtree(secret, ignore_errors=True)
        shutil.rmtree(course, ignore_errors=True)
    assert code == 0, message


def test_a_learner_that_dies_between_cells_is_killed_not_a_grader_error(tmp_path):
    from autograder import execute

    nb = _one_cell_notebook("import os, threading\nthreading.Timer(1.0, lambda: os._exit(0)).start()")
    nb.cells.append(nbformat.v4.new_code_cell("print('never')"))
    run = execute._Run(read_lesson(nb), isolation.Limits(), str(tmp_path), [])
    try:
        run.start_learner()
        run.run_learner_cell(nb.cells[0])
        assert run.learner_state == "alive"
        time.sleep(2.5)  # its own thread ends it after its last reply
        run.run_learner_cell(nb.cells[1])
    finally:
        run.stop_learner("done")
    assert run.learner_state == "killed"
    assert nb.cells[1].outputs[-1]["ename"] == "DeadKernelError"

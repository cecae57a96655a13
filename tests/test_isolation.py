"""The sandbox on its own: what bubblewrap gives learner code and tests, as the probe
measures it; how the grader starts, restarts and stops its processes; and that grading
refuses to start without the sandbox, through the real command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import nbformat
import pytest

from autograder.execution import execute, wire
from autograder.grading.notebook import read_lesson
from autograder.sandbox import bubblewrap, cgroups, confinement, isolation
from tests.conftest import PYTHON, ROOT


@pytest.fixture(scope="module")
def measured():
    outside = tempfile.mkdtemp(prefix="lifecycle-outside-")
    try:
        return confinement.check(True, False, [outside]), outside
    finally:
        os.rmdir(outside)


@pytest.mark.parametrize("role", ["learner", "tests"])
def test_each_sandbox_is_confined_as_promised(measured, role):
    facts, outside = measured
    got = facts[role]
    assert got["uid"] == bubblewrap.SANDBOX_UID and got["uid"] != 0
    assert int(got["status"]["CapEff"], 16) == 0 and got["status"]["NoNewPrivs"] == "1"
    assert got["listener"] == "received nothing" and got["host_loopback"].startswith("unreachable")
    assert got["interfaces"] == ["lo"]
    assert got["writable"] == ["/tmp", "/dev/shm"]  # not the course, Python, / or OUT
    assert got["visible"] == []  # solutions/, .git, /etc/shadow, OUT
    assert "sda" not in got["devices"] and "mem" not in got["devices"]
    assert got["processes"] <= 3  # its fork server, itself, and nothing of the machine's
    assert got["status"]["Seccomp"] == "2"  # a filter, and each call it denies tried: EPERM
    assert got["denied"] == {"keyctl": "EPERM", "io_uring_setup": "EPERM", "bpf": "EPERM",
                             "socket(AF_NETLINK)": "EPERM", "unshare(CLONE_NEWUSER)": "EPERM"}


def test_the_seccomp_filter_comes_from_libseccomp(measured):
    facts, _ = measured
    built = facts["seccomp"]
    assert built["binding"].startswith("pyseccomp ") and built["rules"] > len(built["denied"])
    assert {"keyctl", "bpf", "io_uring_setup", "unshare", "mount", "ptrace"} <= set(built["denied"])


def _one_cell_notebook(source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    return nb


def test_an_interrupt_between_cells_does_not_kill_the_learner_process(boxes):
    caps = cgroups.create(isolation.MAX_TASKS, 1 << 30)
    pid, sock = execute._started("learner", lambda: execute._spawn(
        boxes.learner, "learner", isolation.Limits(), caps))
    try:
        os.killpg(pid, signal.SIGINT)  # as the grader does when a cell ends just at its deadline
        wire.send(sock, {"op": "run", "source": "print(6 * 7)"})
        reply, _ = execute._wait(sock, time.monotonic() + 30)
        assert reply["stdout"].strip() == "42" and reply["error"] is None
    finally:
        execute._reap(pid)
        sock.close()
        caps.release()


def test_a_sandbox_that_died_is_started_again(boxes):
    nb = _one_cell_notebook("print('before')")
    execute.run_notebook(nb, read_lesson(nb), isolation.Limits(), boxes)
    boxes.learner.close()  # as if learner code had ended its fork server
    nb = _one_cell_notebook("print('hello')")
    result = execute.run_notebook(nb, read_lesson(nb), isolation.Limits(), boxes)
    assert result.problems == [] and nb.cells[0].outputs[0]["text"].strip() == "hello"


FORK_BOMB = """
import os
made = 0
try:
    for _ in range(3000):  # stops itself here if nothing else does
        os.posix_spawn("/bin/sleep", ["sleep", "31.4159"], {})  # a fork per task, but quicker
        made += 1
except OSError as error:
    print("stopped:", error.strerror)
print("children:", made)
"""


@pytest.mark.skipif("pids" not in cgroups.supported(),
                    reason="no pids cgroup here: the grader refuses without --without-tree-cap")
def test_a_fork_bomb_is_stopped_and_leaves_nothing_behind(boxes):
    nb = _one_cell_notebook(FORK_BOMB)
    # Generous time limits: on a loaded machine the bomb's forks are slow, not unbounded.
    result = execute.run_notebook(nb, read_lesson(nb), isolation.Limits(cell_timeout=300, notebook_timeout=600), boxes)
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "children:" in text, outputs  # an error output instead says how the cell ended
    made = int(text.rsplit("children:", 1)[1])
    assert "stopped:" in text and made <= isolation.MAX_TASKS, text
    assert result.problems == []
    time.sleep(0.5)
    assert [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == "sleep 31.4159"] == []


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


LEAVE = """
import os, subprocess
open("/tmp/left-behind", "w").write("x")
open("/dev/shm/left-behind", "w").write("a message for the next learner")
try:  # and no space left for the next learner's work
    with open("/dev/shm/filler", "wb") as f:
        while True:
            f.write(b"x" * (1 << 20))
except OSError:
    pass
subprocess.Popen(["sleep", "27.1828"], start_new_session=True)
"""
LOOK = """
import os, shutil
print(os.path.exists("/tmp/left-behind"), os.listdir("/dev/shm"),
      shutil.disk_usage("/dev/shm").used < (1 << 20),
      sum(open(f"/proc/{p}/cmdline").read().startswith("sleep")
          for p in os.listdir("/proc") if p.isdigit()))
"""


def test_what_one_notebook_leaves_in_the_sandbox_is_gone_for_the_next(boxes):
    nb = _one_cell_notebook(LEAVE)
    execute.run_notebook(nb, read_lesson(nb), isolation.Limits(), boxes)
    nb = _one_cell_notebook(LOOK)
    execute.run_notebook(nb, read_lesson(nb), isolation.Limits(), boxes)
    assert nb.cells[0].outputs[0]["text"].split() == ["False", "[]", "True", "0"]


def test_a_learner_that_dies_between_cells_is_killed_not_a_grader_error(boxes):
    nb = _one_cell_notebook("import os, threading\nthreading.Timer(1.0, lambda: os._exit(0)).start()")
    nb.cells.append(nbformat.v4.new_code_cell("print('never')"))
    run = execute._Run(read_lesson(nb), isolation.Limits(), boxes)
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


def _cli(tmp_path, *extra, path=None):
    subs = tmp_path / "subs"
    (subs / "ann" / "01_preprocessing").mkdir(parents=True, exist_ok=True)
    (subs / "ann" / "01_preprocessing" / "preprocessing.ipynb").write_text("not a notebook")
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run([PYTHON, "-m", "autograder", "grade", str(subs), "--out",
                           str(tmp_path / "out"), "--workers", "1", *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_grading_refuses_to_start_without_bubblewrap(tmp_path):
    run = _cli(tmp_path, path=os.path.dirname(sys.executable))  # no /usr/bin: no bwrap
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("Refusing to grade: bubblewrap (`bwrap`) was not found")
    assert "apt-get install bubblewrap" in last and "--unconfined" in last
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_the_report_prints_the_filter_and_what_the_probe_got(tmp_path):
    run = _cli(tmp_path, "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    report = (tmp_path / "out" / "report.html").read_text()
    assert "Seccomp 2" in report and "pyseccomp 0.1.2" in report
    assert report.count("keyctl: EPERM, io_uring_setup: EPERM, bpf: EPERM, socket(AF_NETLINK): "
                        "EPERM, unshare(CLONE_NEWUSER): EPERM") == 2  # learner's and tests'


def _cli_in_namespace(tmp_path, mounts: list[str], *extra):
    """The command line, run in a private mount namespace (bubblewrap's, as root) with ``mounts``."""
    subs = tmp_path / "subs"
    (subs / "ann" / "01_preprocessing").mkdir(parents=True, exist_ok=True)
    (subs / "ann" / "01_preprocessing" / "preprocessing.ipynb").write_text("not a notebook")
    return subprocess.run([bubblewrap.find_bwrap(), "--dev-bind", "/", "/", *mounts, "--", PYTHON,
                           "-m", "autograder", "grade", str(subs), "--out", str(tmp_path / "out"),
                           "--workers", "1", *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts /sys/fs/cgroup read-only in a mount "
                    "namespace: needs root")
@pytest.mark.skipif(bubblewrap.runs_as_nobody(bubblewrap.sandbox_paths()),
                    reason="bubblewrap runs as nobody here: RLIMIT_NPROC caps the sandbox's tasks "
                    "even without control groups, so nothing is refused")
def test_grading_refuses_to_start_when_nothing_caps_the_tree(tmp_path):
    # A read-only /sys/fs/cgroup (as in many containers), and a sandbox user that is the
    # host's root, whom RLIMIT_NPROC does not bind: no cap on a notebook's tasks at all.
    run = _cli_in_namespace(tmp_path, ["--ro-bind", "/sys/fs/cgroup", "/sys/fs/cgroup"])
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("Refusing to grade: learner code cannot be confined as promised: "
                           "nothing caps each notebook's tasks"), last
    assert "mkdir -p /sys/fs/cgroup/" in last and "--without-tree-cap" in last
    run = _cli_in_namespace(tmp_path, ["--ro-bind", "/sys/fs/cgroup", "/sys/fs/cgroup"],
                            "--without-tree-cap", "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    report = (tmp_path / "out" / "report.html").read_text()
    assert "tasks: nothing (each process&#x27;s rlimits only)" in report


def _libseccomp() -> str:
    import pyseccomp  # noqa: F401 - loads the library, whose file /proc/self/maps then shows

    with open("/proc/self/maps") as f:
        return next(line.split()[-1] for line in f if "libseccomp" in line)


@pytest.mark.skipif(os.geteuid() != 0, reason="hides a system library in a mount namespace: "
                    "needs root")
def test_grading_refuses_to_start_without_libseccomp(tmp_path):
    # The grader runs where libseccomp's file reads empty (a private mount namespace):
    # the binding cannot load it, as on a machine without the package.
    run = _cli_in_namespace(tmp_path, ["--ro-bind", "/dev/null", _libseccomp()])
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("Refusing to grade: the seccomp filter cannot be built"), last
    assert "apt-get install libseccomp2" in last and "--unconfined" in last
    assert not (tmp_path / "out" / "scores.csv").exists()


def test_unconfined_grading_says_so_in_the_report_and_the_last_line(tmp_path):
    run = _cli(tmp_path, "--unconfined", "--quiet", path=os.path.dirname(sys.executable))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.strip().splitlines()[-1].startswith("UNCONFINED:")
    report = (tmp_path / "out" / "report.html").read_text()
    assert "UNCONFINED: this class was graded with --unconfined" in report
    assert "Confinement, as measured" in report

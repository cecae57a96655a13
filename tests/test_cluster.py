"""Grading on a real Dask cluster: ``dask scheduler`` and two ``dask worker`` processes on loopback.

One cluster for the module (free ports, each worker under a nanny that restarts it,
``allowed-failures`` 1: a notebook whose worker dies twice raises Dask's KilledWorker,
and the client grades it once more before it is ``killed``), one class of three
learners of lesson 02, graded locally once:

- a cluster run, interrupted once (Ctrl-C) and resumed, writes what a local run of the same
  class writes: scores, grades, feedback pages, graded notebooks, the report;
- a worker killed in the middle of a notebook: the notebook is graded again elsewhere,
  in full, once; a notebook whose worker is killed every time is graded ``killed``
  after four deaths, not retried without end;
- an address where no scheduler listens, and a scheduler lost mid-run: a clear error
  naming the address, and what was graded is kept.

Every wait is bounded; nothing asserts how long anything took.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from benchmarks.grading import build_class
from lifecycle.deploy.serving import stop_process_group
from tests.conftest import PYTHON, ROOT

pytestmark = pytest.mark.cli
LESSON = "02_optimizers"
BIN = Path(PYTHON).parent
DASK_ENV = {  # read by the scheduler, the workers and the grading client alike
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "10s",
}


def _env() -> dict:
    env = dict(os.environ, **DASK_ENV)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


def _until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:g} s for {what}")


class Cluster:
    """A scheduler and two nanny-kept workers, started as an instructor starts them."""

    def __init__(self, base: Path):
        self.base, self.procs = base, []
        sched_file = base / "scheduler.json"
        self.scheduler = self._start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                      "--port", "0", "--dashboard-address", "127.0.0.1:0",
                                      "--scheduler-file", str(sched_file)], "scheduler")
        info = _until(lambda: sched_file.exists() and sched_file.read_text().strip()
                      and json.loads(sched_file.read_text()), 60, "the scheduler's address")
        self.address = info["address"]
        for i in range(2):
            self._start([str(BIN / "dask"), "worker", self.address, "--nthreads", "1",
                         "--host", "127.0.0.1", "--local-directory", str(base / f"w{i}")], f"w{i}")
        from distributed import Client

        self.client = Client(self.address, timeout=30, set_as_default=False)
        self.client.wait_for_workers(2, timeout=120)

    def _start(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "w")  # noqa: SIM115 - kept for the processes' life
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> pid of the worker process itself (its nanny restarts it)."""
        return self.client.run(os.getpid)

    def close(self) -> None:
        self.client.close(timeout=10)
        for proc in reversed(self.procs):
            stop_process_group(proc, grace=20.0)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    return build_class(tmp_path_factory.mktemp("class") / "submitted", learners=3,
                       lessons=(LESSON,))


@pytest.fixture(scope="module")
def local(klass, tmp_path_factory) -> Path:
    """The class graded on this machine, as without ``--scheduler``."""
    out = tmp_path_factory.mktemp("local") / "out"
    run = _grade(klass, out, "--workers", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def _grade(subs: Path, out: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "autograder", "grade", str(subs), "--out", str(out), *extra],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _popen(subs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "autograder", "grade", str(subs), "--out", str(out),
                             *extra], cwd=ROOT, env=_env(), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return err


def _after_first_graded(proc: subprocess.Popen, act, timeout: float) -> tuple[str, str]:
    """Read the run's progress until its first ``graded`` line, call ``act``, let it finish.

    Returns the whole log and the part after ``act``.
    """
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("graded "):
                act()
                break
    finally:
        rest = _finish(proc, timeout=timeout)
    return "".join(lines) + rest, rest


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _untimed(html: str) -> str:
    """The report without its timings and the counts of the run that wrote it (a resumed one)."""
    html = re.sub(r"\d+ graded in this run \(\d+ unchanged", "N graded in this run (N unchanged",
                  html)
    return re.sub(r"\d+(\.\d+)? s\b", "N s", html)


def test_a_cluster_run_interrupted_and_resumed_equals_a_local_run(cluster, klass, local, tmp_path):
    out = tmp_path / "cluster"
    proc = _popen(klass, out, "--scheduler", cluster.address)
    # What Ctrl-C in a terminal does, once the first notebook is graded.
    log, rest = _after_first_graded(proc, lambda: os.killpg(proc.pid, signal.SIGINT), timeout=120)
    assert "dashboard: http://127.0.0.1:" in log, log[-2000:]
    assert proc.returncode == 130 and "run the same command again" in rest, log[-2000:]

    run = _grade(klass, out, "--scheduler", cluster.address)
    assert run.returncode == 0, run.stderr[-3000:]
    unchanged, todo = map(int, re.search(r"(\d+) unchanged since the last run, (\d+) to grade",
                                         run.stderr).groups())
    assert unchanged >= 1 and unchanged + todo == 3, run.stderr[-2000:]
    assert len(re.findall(r"^graded \d+/\d+ ", run.stderr, re.M)) == todo

    a, b = local, out
    assert (a / "scores.csv").read_bytes() == (b / "scores.csv").read_bytes()
    # nbgrader exports in the order learners entered the gradebook: the order notebooks finished.
    assert sorted(_rows(a / "grades.csv")) == sorted(_rows(b / "grades.csv"))
    assert _files(a / "feedback") == _files(b / "feedback")
    assert _files(a / "autograded") == _files(b / "autograded")
    assert _untimed((a / "report.html").read_text()) == _untimed((b / "report.html").read_text())


def _kill_while_grading(cluster, target: str, times: int, run_class, out: Path):
    """Grade with the CLI while killing (SIGKILL) the worker assigned ``target``'s notebook,
    up to ``times`` times, each time on a worker where it is alone (an outside fault: the
    machine's OOM killer, a node lost). Returns the run and the number of kills."""
    kills, stop = [], threading.Event()

    def killer():
        while not stop.is_set() and len(kills) < times:
            try:
                processing = cluster.client.processing()
                pids = cluster.worker_pids()
            except Exception:  # noqa: BLE001 - a worker just died: look again
                time.sleep(0.2)
                continue
            for worker, keys in processing.items():
                if len(keys) == 1 and str(keys[0]).startswith(f"autograder-{target}-") \
                        and (worker, keys[0]) not in kills and worker in pids:
                    kills.append((worker, keys[0]))
                    os.kill(pids[worker], signal.SIGKILL)
                    break
            time.sleep(0.2)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        run = _grade(run_class, out, "--scheduler", cluster.address)
    finally:
        stop.set()
        thread.join(timeout=30)
    # The nannies restart the workers they lost; the next run has two again.
    _until(lambda: len(cluster.client.nthreads()) == 2, 120, "the nannies to restart the workers")
    return run, len(kills)


def test_a_worker_killed_mid_notebook_has_it_graded_again_elsewhere_once(cluster, klass, local,
                                                                          tmp_path):
    subs = tmp_path / "submitted"
    shutil.copytree(klass / "learner00" / LESSON, subs / "victim" / LESSON)
    run, kills = _kill_while_grading(cluster, "victim", 1, subs, tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]
    assert kills == 1, run.stderr[-2000:]
    rows = _rows(tmp_path / "out" / "scores.csv")[1:]
    expected = [r[1:] for r in _rows(local / "scores.csv") if r[0] == "learner00"]
    assert [r[1:] for r in rows] == expected  # graded again, in full, once
    assert len(re.findall(r"^graded \d+/1 ", run.stderr, re.M)) == 1  # nothing counted twice


def test_a_notebook_whose_worker_keeps_dying_is_graded_killed_after_two_tries(cluster, klass,
                                                                              tmp_path):
    subs = tmp_path / "submitted"
    shutil.copytree(klass / "learner01" / LESSON, subs / "poison" / LESSON)
    # allowed-failures is 1 here: two deaths make a KilledWorker, the client's one
    # retry two more; a fifth death would mean the notebook is retried without bound.
    run, kills = _kill_while_grading(cluster, "poison", 5, subs, tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]
    assert kills == 4, run.stderr[-2000:]
    rows = _rows(tmp_path / "out" / "scores.csv")[1:]
    assert rows and {r[6] for r in rows} == {"killed"}, rows
    page = tmp_path / "out" / "feedback" / "poison" / LESSON / "optimizers.html"
    assert "crashed the grader" in page.read_text()  # the local run's words


def test_an_address_without_a_scheduler_is_named_in_a_clear_error(klass, tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    run = _grade(klass, tmp_path / "out", "--scheduler", address, timeout=300)
    assert run.returncode == 3, run.stderr[-2000:]
    assert f"cannot reach the Dask scheduler at {address}" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_lost_scheduler_is_named_and_what_was_graded_is_kept(cluster, klass, tmp_path):
    out = tmp_path / "out"
    proc = _popen(klass, out, "--scheduler", cluster.address)
    # This test's cluster is done afterwards.
    log, rest = _after_first_graded(proc, lambda: os.killpg(cluster.scheduler.pid, signal.SIGKILL),
                                   timeout=300)
    assert proc.returncode == 3, log[-3000:]
    assert f"lost the Dask scheduler at {cluster.address}" in rest and "Traceback" not in rest
    saved = list((out / ".state").rglob("*.json"))
    graded = re.search(r"(\d+) of 3 notebooks were graded and are saved", rest)
    assert graded and int(graded.group(1)) == len(saved) >= 1, log[-2000:]

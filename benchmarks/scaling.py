"""Benchmark: one class graded locally, on one Dask worker and on two, in one run; a model of N.

Builds a class (default 8 learners x lesson 02, as ``benchmarks/grading.py`` builds
it), starts a real ``dask scheduler`` on loopback, and grades the class with
``python -m autograder grade`` (each run into a fresh OUT, timed end to end):

1. locally with ``--workers 1`` and ``--workers 2`` (the process pool);
2. with ``--scheduler`` on one ``dask worker --nthreads 1``, then on two.

Each cluster run checks that its scores equal the local run's. Measured:

- ``grade`` (c): median seconds one notebook takes inside its grading process
  (``OUT/.state/.../*.json`` ``seconds``), from the one-worker cluster run,
  leaving out each worker's first notebook (which starts its sandboxes);
- ``warm-up`` (w): a worker's first notebook minus c;
- ``overhead`` (o): the distributed path's cost per notebook: the one-worker
  cluster run's wall time less the time its notebooks took in the worker, against
  the same for the one-worker local run, over N (what is left is Dask's, the
  transfers' and the client's start-up against the pool's: an upper bound);
  and the round trip of one task carrying a submission's bytes there and a graded
  notebook's bytes back (``rt``), measured alone;
- ``client`` (s): the grading client's CPU seconds per notebook (its run's CPU
  less that of a rerun with nothing to grade, over N): the client saves every
  result, one at a time, so it bounds the cluster's rate.

Model of a cluster of N single-thread workers grading M notebooks:
``T(N) = w + max(M (c + o) / N, M s)``, i.e. a throughput of
``min(N / (c + o), 1 / s)`` notebooks per second once warm. It assumes workers
as fast as this machine's, a scheduler and network that keep up (Dask's
scheduler handles thousands of tasks per second; a grading task is seconds),
and ignores stragglers at the end (at most one notebook's time).

Usage::

    .venv/bin/python benchmarks/scaling.py [--learners 8] [--keep DIR] [--model 1,8,32,128]

Figures move with the machine's load: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.grading import build_class, read_scores  # noqa: E402
from lifecycle.deploy.serving import stop_process_group  # noqa: E402

BIN = Path(sys.executable).parent
LESSON = "02_optimizers"


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


def _grade(subs: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``grade`` run (its own process, not its workers')."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(subs), "--out",
                             str(out), "--quiet", *extra], cwd=ROOT, env=_env(),
                            stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=3600)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"grading failed ({proc.returncode}):\n{err[-3000:]}")
    # The local pool's workers are the CLI's children: their CPU counts here too.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _seconds(out: Path) -> list[float]:
    return [json.loads(p.read_text())["seconds"] for p in sorted((out / ".state").rglob("*.json"))]


class LocalCluster:
    """A ``dask scheduler`` on loopback and the ``dask worker`` processes added to it."""

    def __init__(self, base: Path):
        self.base, self.procs = base, []
        base.mkdir(parents=True, exist_ok=True)
        sched = base / "scheduler.json"
        self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
                     "127.0.0.1:0", "--scheduler-file", str(sched)], "scheduler")
        deadline = time.monotonic() + 60
        while not (sched.exists() and sched.read_text().strip()):
            if time.monotonic() > deadline:
                raise SystemExit("the Dask scheduler did not start")
            time.sleep(0.2)
        self.address = json.loads(sched.read_text())["address"]
        from distributed import Client

        self.client = Client(self.address, timeout=30, set_as_default=False)

    def _start(self, args: list[str], name: str) -> None:
        with open(self.base / f"{name}.log", "w") as log:
            self.procs.append(subprocess.Popen([str(BIN / "dask"), *args], cwd=ROOT, env=_env(),
                                               stdout=log, stderr=log, start_new_session=True))

    def add_worker(self) -> None:
        n = len(self.procs)
        self._start(["worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                     "--local-directory", str(self.base / f"w{n}")], f"worker{n}")
        self.client.wait_for_workers(n, timeout=120)

    def round_trip(self, sent: bytes, back: int, repeats: int = 20) -> float:
        """Median seconds of one task that carries ``sent`` and returns ``back`` bytes."""
        times = []
        for i in range(repeats):
            start = time.monotonic()
            self.client.submit(_echo, sent, back, key=f"rt-{i}-{time.time_ns()}").result()
            times.append(time.monotonic() - start)
        return statistics.median(times)

    def close(self) -> None:
        self.client.close(timeout=10)
        for proc in reversed(self.procs):
            stop_process_group(proc, grace=20.0)


def _echo(sent: bytes, back: int) -> bytes:
    return b"x" * back


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=8)
    parser.add_argument("--keep", help="keep the class and outputs in this folder")
    parser.add_argument("--model", default="1,2,8,32,128",
                        help="worker counts to model (default: %(default)s)")
    args = parser.parse_args(argv)
    base = Path(args.keep or tempfile.mkdtemp(prefix="bench-scaling-"))
    base.mkdir(parents=True, exist_ok=True)
    subs = build_class(base / "submitted", learners=args.learners, lessons=(LESSON,))
    n = sum(1 for _ in subs.glob("*/*/*.ipynb"))
    runs, cluster = {}, None
    try:
        for workers in (1, 2):
            runs[f"local, {workers} worker{'s' * (workers > 1)}"] = (
                _grade(subs, base / f"local{workers}", "--workers", str(workers)),
                base / f"local{workers}")
        cluster = LocalCluster(base / "dask")
        for workers in (1, 2):
            cluster.add_worker()
            out = base / f"dask{workers}"
            runs[f"Dask, {workers} worker{'s' * (workers > 1)}"] = (
                _grade(subs, out, "--scheduler", cluster.address), out)
            if read_scores(out / "scores.csv") != read_scores(base / "local1" / "scores.csv"):
                raise SystemExit(f"the cluster run's scores differ from the local run's ({out})")
        _, rerun_cpu = _grade(subs, base / "dask2", "--scheduler", cluster.address)
        nb = max((p.stat().st_size for p in subs.rglob("*.ipynb")), default=0)
        graded = max((p.stat().st_size for p in (base / "dask2" / "autograded").rglob("*.ipynb")),
                     default=0)
        page = max((p.stat().st_size for p in (base / "dask2" / "feedback").rglob("*.html")),
                   default=0)
        rt = cluster.round_trip(b"x" * nb, graded + page)
    finally:
        if cluster is not None:
            cluster.close()

    # The first notebook a worker grades starts its sandboxes (the slowest); the rest are steady.
    one = sorted(_seconds(runs["Dask, 1 worker"][1]))
    c = statistics.median(one[:-1] or one)
    w = one[-1] - c
    (wall_d1, cpu_d1), _ = runs["Dask, 1 worker"]
    (wall_l1, _), _ = runs["local, 1 worker"]
    local = sorted(_seconds(runs["local, 1 worker"][1]))
    # What each run spent outside grading, per notebook; the difference is the cluster's.
    o = ((wall_d1 - sum(one)) - (wall_l1 - sum(local))) / n
    s = max(cpu_d1 - rerun_cpu, 0.0) / n
    print(f"\nClass: {n} notebooks of {LESSON} ({args.learners} learners); this machine: "
          f"{os.cpu_count()} cores\n")
    print(f"{'run':<18} {'wall s':>8} {'per min':>8} {'s/notebook':>11}")
    for name, ((wall, _), _) in runs.items():
        print(f"{name:<18} {wall:>8.1f} {n / wall * 60:>8.1f} {wall / n:>11.2f}")
    print(f"\nper notebook: grade c = {c:.2f} s, worker warm-up w = {w:.1f} s, client s = "
          f"{s:.3f} s CPU")
    print(f"distributed path: overhead o = {o:+.2f} s per notebook (one-worker cluster run less "
          f"the one-worker local run, warm-up and grading taken out); a task's round trip "
          f"alone (rt, {nb >> 10} KiB there, {(graded + page) >> 10} KiB back) = "
          f"{rt * 1000:.1f} ms")
    step = c + max(o, rt)
    print(f"\nmodel: T(N) = w + max(M (c + o) / N, M s); o taken as max(o, rt) = {max(o, rt):.2f} s")
    print(f"{'N workers':>10} {'notebooks/min':>14} {'1000 notebooks':>15}")
    for count in (int(x) for x in args.model.split(",")):
        rate = min(count / step, 1 / s if s else float("inf"))
        t1000 = w + max(1000 * step / count, 1000 * s)
        print(f"{count:>10} {rate * 60:>14.0f} {t1000 / 60:>12.1f} min")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

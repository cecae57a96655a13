"""Grade a class on a running Dask cluster (``grade ... --scheduler tcp://HOST:PORT``).

The client (the instructor's machine) finds the submissions, keeps the
gradebook and writes ``OUT`` exactly as a local run does
(:func:`autograder.classrun.run.grade_class`); only the grading of each notebook moves.
Nothing is assumed shared between the client and the workers but the course's
environment (the same repository and ``.venv``, checked by a fingerprint):

- each task carries the submission's bytes (at most what a local run reads,
  :data:`autograder.grading.pipeline.MAX_READ`); each lesson's instructor files and
  ``nbgrader_config.py`` travel once per lesson as a task of their own, which
  Dask recomputes if the worker holding them dies;
- the worker rebuilds the lesson's gradebook from those files (nbgrader's
  ``GenerateAssignment``, once per lesson and worker), measures its confinement
  (:func:`autograder.sandbox.confinement.check`, once per worker, refusing as a local
  run refuses), and grades with :func:`autograder.grading.pipeline.grade` in a sandbox
  pair it keeps (:class:`autograder.sandbox.bubblewrap.Pair`), with the run's
  :class:`autograder.classrun.run.Settings`, as a local :class:`autograder.classrun.run.Worker` does;
- the :class:`~autograder.grading.pipeline.Outcome` (rows, graded notebook, feedback
  page) comes back, at most :data:`MAX_RESULT_BYTES`, and the client saves it as
  the local pool's results are saved (``OUT/.state``, so reruns resume).

Faults: Dask reschedules a task whose worker died; a task that was assigned to
``distributed.scheduler.allowed-failures`` + 1 workers that died raises
``KilledWorker``. The client then grades that notebook once more from scratch,
and a second ``KilledWorker`` grades it ``killed``, as a local run does with a
notebook that killed its worker twice: at most 2 x (allowed-failures + 1) tries. A scheduler that cannot be reached, or is lost
for longer than ``distributed.comm.timeouts.connect``, raises
:class:`ClusterError` naming its address; every notebook graded before is saved.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import hashlib
import logging
import os
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from autograder.classrun.run import CRASHED  # the local run's words
from autograder.sandbox import bubblewrap

__all__ = ["ClusterError", "EnvironmentMismatch", "GraderPlugin", "grade_jobs", "fingerprint",
           "lesson_bundle", "reachable"]

PLUGIN = "autograder"
MAX_RESULT_BYTES = 64 << 20  # a graded notebook and its feedback page, together
MAX_LESSON_BYTES = 64 << 20  # a lesson's instructor files, together
# Parts of the course that decide a grade on the worker: they must be the client's.
FINGERPRINTED = ("autograder", "lifecycle", "datasets", "course", "requirements.txt")


class ClusterError(RuntimeError):
    """The Dask scheduler could not be reached, or was lost during the run."""


class EnvironmentMismatch(RuntimeError):
    """A worker's course environment differs from the client's: its grades could differ."""


def fingerprint(root: str | None = None) -> str:
    """A digest of what decides a grade besides the lesson and the submission.

    The course's code, data sets and release (:data:`FINGERPRINTED`) and the
    Python version: a worker with another checkout could grade differently.
    """
    import sys

    root = Path(root or bubblewrap.course_root())
    h = hashlib.sha256(sys.version.encode())
    for part in FINGERPRINTED:
        base = root / part
        files = sorted(base.rglob("*")) if base.is_dir() else [base]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def lesson_bundle(root: Path, lesson: str) -> dict:
    """The instructor files of ``lesson`` and the course's ``nbgrader_config.py``, as bytes.

    Raises
    ------
    ClusterError
        If they are over :data:`MAX_LESSON_BYTES`.
    """
    files = {p.name: p.read_bytes() for p in sorted((root / "solutions" / lesson).iterdir())
             if p.is_file()}
    config = root / "nbgrader_config.py"
    bundle = {"lesson": lesson, "files": files,
              "config": config.read_bytes() if config.exists() else b""}
    size = sum(map(len, files.values())) + len(bundle["config"])
    if size > MAX_LESSON_BYTES:
        raise ClusterError(f"the instructor files of {lesson} are {size >> 20} MiB, over the "
                           f"{MAX_LESSON_BYTES >> 20} MiB a task may carry")
    h = hashlib.sha256(bundle["config"])
    for name, data in files.items():
        h.update(name.encode() + b"\0" + data)
    bundle["digest"] = h.hexdigest()
    return bundle


def _bundle(bundle: dict) -> dict:
    """The lesson's files as a task's result: Dask keeps them beside the graded tasks."""
    return bundle


class GraderPlugin(WorkerPlugin):
    """Per-worker state of the cluster grader (a Dask worker plugin).

    It holds, for its worker process only: a scratch folder, the lessons
    prepared there, the confinement measured, the environment fingerprint, its
    sandbox pairs (one per confinement and preload asked for, kept across tasks
    and runs) and a lock, since the two sandboxes of a pair grade one notebook at a time.
    Registered by the client; Dask installs it on every worker, also those that
    join or restart later.
    """

    name = PLUGIN
    # Registered again by each run (and each client of a shared cluster): keep the one a
    # worker has, with its lock, its prepared lessons and its measured confinement.
    idempotent = True

    def setup(self, worker) -> None:
        import sys

        # Dask puts its worker's folder on sys.path (for upload_file), and the sandboxes
        # bind every sys.path entry: learner code would see that folder, which holds this
        # plugin's scratch (instructor files, submissions) and Dask's spilled data.
        # (Dask adds the folder above each worker's own, the nanny's.)
        local = os.path.realpath(worker.local_directory) + "/"
        needed = (bubblewrap.course_root() + "/", os.path.realpath(sys.prefix) + "/")
        sys.path[:] = [p for p in sys.path if not p or not local.startswith(
            os.path.realpath(p).rstrip("/") + "/") or any(n.startswith(
                os.path.realpath(p).rstrip("/") + "/") for n in needed)]
        self.worker_address = worker.address
        from autograder.classrun import gradebook

        # the lessons' instructor files and gradebooks, with their hidden tests
        self.scratch = gradebook.private_folder(Path(worker.local_directory) / "autograder")
        self.lock = threading.Lock()
        self.lessons: dict = {}
        self.measured: dict = {}
        self.pairs: dict = {}
        self.fingerprint = fingerprint()
        # nbgrader runs `alembic` by name; keep this interpreter's tools first on PATH.
        os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

    def teardown(self, worker) -> None:
        from autograder.sandbox import cgroups

        for boxes in self.pairs.values():
            boxes.close()
        cgroups.sweep()

    def _pair(self, settings) -> bubblewrap.Pair:
        """This worker's sandboxes for ``settings``, started on first use and kept."""
        key = (settings.confined, settings.preload)
        if key not in self.pairs:
            self.pairs[key] = bubblewrap.Pair(settings.confined, settings.preload)
        return self.pairs[key]

    def _lesson(self, bundle: dict) -> dict:
        """``notebook stem -> (Lesson, source notebook)`` and the config, prepared once."""
        if bundle["digest"] in self.lessons:
            return self.lessons[bundle["digest"]]
        import nbformat

        from autograder.classrun import gradebook
        from autograder.grading.notebook import hidden_delimiters, read_lesson, solution_delimiters

        root = self.scratch / "lessons" / bundle["digest"][:16]
        folder = root / "solutions" / bundle["lesson"]
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in bundle["files"].items():
            (folder / Path(name).name).write_bytes(data)
        (root / "nbgrader_config.py").write_bytes(bundle["config"])
        config = gradebook.course_config(str(root), str(root / "out"))
        (root / "out" / ".work").mkdir(parents=True, exist_ok=True)
        gradebook.prepare_assignments(config, [bundle["lesson"]])
        notebooks = {p.stem: (read_lesson(p, hidden_delimiters(config), solution_delimiters(config)),
                              nbformat.read(str(p), as_version=4))
                     for p in sorted(folder.glob("*.ipynb"))}
        self.lessons[bundle["digest"]] = prepared = {"notebooks": notebooks, "config": config}
        return prepared

    def _confine(self, confined: bool, tree_cap: bool) -> dict:
        """The confinement this worker gives, measured once; refuses as a local run does."""
        from autograder.sandbox import confinement

        key = (confined, tree_cap)
        if key not in self.measured:
            try:
                self.measured[key] = confinement.check(confined, tree_cap, [str(self.scratch)])
            except bubblewrap.ConfinementError as error:
                raise bubblewrap.ConfinementError(f"on worker {self.worker_address}: {error}") from None
        return self.measured[key]

    def grade(self, task: dict, bundle: dict) -> dict:
        """Grade one notebook as a local pool worker does (:meth:`autograder.classrun.run.Worker.grade`)."""
        from autograder.grading.pipeline import Job, grade

        with self.lock:
            if task["fingerprint"] != self.fingerprint:
                raise EnvironmentMismatch(
                    f"worker {self.worker_address} runs another version of the course than the "
                    f"client (course at {bubblewrap.course_root()}): its grades could differ. "
                    "Give every worker the client's checkout and .venv (see docs/instructor.md)")
            settings = task["settings"]
            measured = self._confine(settings.confined, settings.tree_cap)
            prepared = self._lesson(bundle)
            job = Job(**task["job"])
            lesson, source_nb = prepared["notebooks"][job.notebook]
            path = None
            if task["data"] is not None:
                path = self.scratch / f"submission-{uuid.uuid4().hex}.ipynb"
                path.write_bytes(task["data"])
                job.path = str(path)
            try:
                outcome = grade(job, lesson, source_nb, prepared["config"].CourseDirectory.db_url,
                                prepared["config"], settings.limits, self._pair(settings))
            finally:
                if path is not None:
                    path.unlink(missing_ok=True)
            size = len(outcome.feedback_html) + len(outcome.graded_nb or "")
            if size > MAX_RESULT_BYTES:
                why = (f"its graded notebook and feedback page are {size >> 20} MiB, over the "
                       f"{MAX_RESULT_BYTES >> 20} MiB a cluster worker sends back")
                return {"too_big": why, "worker": self.worker_address, "confinement": measured}
            return {"outcome": outcome, "worker": self.worker_address, "confinement": measured}


def grade_on_worker(task: dict, bundle: dict) -> dict:
    """The task each notebook is: grade it with this worker's :class:`GraderPlugin`."""
    from distributed import get_worker

    return get_worker().plugins[PLUGIN].grade(task, bundle)


def _connect(address: str):
    import dask
    from distributed import Client

    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({error}). Start it there "
            "(`dask scheduler`, with workers: `dask worker ADDRESS --nthreads 1`), or check the "
            "address and that no firewall is in the way; nothing was graded.") from None


def reachable(address: str) -> None:
    """Fail fast, before any preparation, when no scheduler answers at ``address``.

    Raises
    ------
    ClusterError
        Naming the address and what to do.
    """
    with _quiet_dask():
        _connect(address).close(timeout=5)


def _dashboard(client) -> str:
    info = client.scheduler_info()
    if "dashboard" not in info.get("services", {}):
        return "none (install bokeh where the scheduler runs to have one)"
    return client.dashboard_link


def _read_submission(path: str | None) -> bytes | None:
    from autograder.grading.pipeline import MAX_READ

    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read(MAX_READ)  # all a local run reads
    except OSError:
        return b""  # graded "invalid" on the worker, as an unreadable file is locally


def _task(job, settings, digest: str) -> dict:
    data = _read_submission(job.path) if not job.status else None
    return {"settings": settings, "fingerprint": digest, "job": {**asdict(job), "path": None},
            "data": data}


def grade_jobs(address: str, jobs: list, root: Path, store, failed, progress, interrupted,
               settings) -> tuple[list[dict], dict, int]:
    """Grade ``jobs`` on the cluster at ``address``; each result is stored as it arrives.

    Parameters
    ----------
    address : str
        The scheduler, ``tcp://HOST:PORT``.
    jobs : list of autograder.grading.pipeline.Job
    root : Path
        The course (instructor files under ``solutions/``).
    store : callable
        ``store(outcome, final) -> state``: saves one notebook's results (``run._store``).
    failed : callable
        ``failed(job, why) -> Outcome``: the ``killed`` outcome of a notebook.
    progress : autograder.classrun.progress.Progress
    interrupted : threading.Event
        Set by Ctrl-C: stop handing out notebooks, keep what was saved.
    settings : autograder.classrun.run.Settings
        How the notebooks are graded: as the local pool grades them.

    Returns
    -------
    states : list of dict
    confinement : dict
        What the first worker measured (the report shows it).
    workers : int
        Worker threads in the cluster at the start.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, has no workers, or was lost.
    autograder.sandbox.bubblewrap.ConfinementError
        A worker cannot confine as promised.
    """
    with _quiet_dask():
        return _grade_jobs(address, jobs, root, store, failed, progress, interrupted, settings)


@contextlib.contextmanager
def _quiet_dask():
    """Keep Dask's own log (reconnection tracebacks) off the terminal; our errors say it."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _grade_jobs(address, jobs, root, store, failed, progress, interrupted, settings):
    import dask
    from dask.utils import parse_timedelta
    from distributed import wait
    from distributed.scheduler import KilledWorker

    if not jobs:  # a rerun with everything saved needs no cluster
        return [], {"confined": settings.confined}, 0
    lost_after = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    client = _connect(address)
    states, measured, graded = [], {}, 0
    try:
        try:
            client.wait_for_workers(1, timeout=lost_after)
        except TimeoutError:
            raise ClusterError(f"the Dask scheduler at {address} has no workers (waited "
                               f"{lost_after:g} s); start some with `dask worker {address} "
                               "--nthreads 1`") from None
        threads = sum(client.nthreads().values())
        progress.note(f"Grading on the Dask cluster at {address} ({threads} worker "
                      f"thread{'s' * (threads != 1)}); dashboard: {_dashboard(client)}")
        client.register_plugin(GraderPlugin(), name=PLUGIN)
        digest = fingerprint(str(root))
        bundles = {}
        for lesson in sorted({j.lesson for j in jobs}):
            bundle = lesson_bundle(root, lesson)
            bundles[lesson] = client.submit(_bundle, bundle, key=f"autograder-lesson-{lesson}-"
                                            f"{bundle['digest'][:16]}-{uuid.uuid4().hex[:8]}")
        pending, running, struck = list(reversed(jobs)), {}, set()
        lost_since = None
        while pending or running:
            if interrupted.is_set():
                raise KeyboardInterrupt
            # One notebook in flight per worker thread: Dask counts a worker's death against
            # every task assigned to it, so a worker that dies takes only the notebook it
            # was grading; and the submissions' bytes wait here, not in the scheduler's memory.
            try:
                window = max(1, sum(client.nthreads().values()))
                while pending and len(running) < window:
                    job = pending[-1]
                    key = (f"autograder-{job.learner}-{job.lesson}-{job.notebook}-"
                           f"{uuid.uuid4().hex[:8]}")
                    running[client.submit(grade_on_worker, _task(job, settings, digest),
                                          bundles[job.lesson], key=key, pure=False)] = job
                    pending.pop()
                with client.as_current():  # wait() takes the current client
                    done = wait(list(running), timeout=1, return_when="FIRST_COMPLETED").done
                connected = client.status == "running"
            except TimeoutError:  # nothing finished within the second (an OSError: first)
                done, connected = set(), client.status == "running"
            except (OSError, asyncio.CancelledError, cf.CancelledError):
                done, connected = set(), False  # the scheduler went away mid-call
            if not connected:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > lost_after:
                    raise ClusterError(f"lost the Dask scheduler at {address}")
                time.sleep(0.5)
                continue
            lost_since = None
            for future in done:
                job = running.pop(future)
                final = False  # unless the grader did its part
                if future.status == "finished":
                    try:  # the result is fetched now: the scheduler may have gone meanwhile
                        result = future.result()
                    except (OSError, asyncio.CancelledError, cf.CancelledError):
                        raise ClusterError(f"lost the Dask scheduler at {address}") from None
                    measured = measured or result["confinement"]
                    if "too_big" in result:
                        outcome = failed(job, result["too_big"])
                    else:
                        outcome = result["outcome"]
                        outcome.job = job  # the client's paths, as a local run stores them
                        final = True
                elif future.status != "error":  # cancelled or lost with the scheduler
                    raise ClusterError(f"lost the Dask scheduler at {address}")
                else:
                    try:
                        error = future.exception()
                    except (OSError, asyncio.CancelledError, cf.CancelledError):
                        raise ClusterError(f"lost the Dask scheduler at {address}") from None
                    if isinstance(error, (bubblewrap.ConfinementError, EnvironmentMismatch)):
                        raise error
                    if isinstance(error, KilledWorker):
                        # As the local pool does with a notebook that broke it: once more, from
                        # scratch; twice, ``killed``. Dask counts a death against every task
                        # assigned to the dead worker, so a first KilledWorker may be a
                        # bystander's; keyed per job: identical notebooks share a digest.
                        ident = (job.learner, job.lesson, job.notebook)
                        if ident not in struck:
                            struck.add(ident)
                            pending.append(job)
                            continue
                        outcome = failed(job, CRASHED)
                    else:  # a grader bug on the worker: report, go on, regrade next run
                        outcome = failed(job, f"grader error: {error!r}")
                states.append(store(outcome, final))
                graded += 1
                progress.step(f"{job.learner}/{job.lesson}/{job.notebook}", outcome)
        return states, measured, threads
    except ClusterError as error:
        raise ClusterError(f"{error}. {graded} of {len(jobs)} notebooks were graded and are "
                           "saved; run the same command again, with the scheduler back, to "
                           "grade the rest") from None
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)

"""Grade a class: find submissions, grade notebooks in parallel, write the results.

Results are saved per notebook as soon as it is graded (``OUT/.state``), so an
interrupted run loses nothing, and a rerun grades only notebooks that are new
or changed (by content hash of the submission, the lesson and the grader).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType

import nbformat

from autograder import __version__
from autograder.classrun import gradebook
from autograder.classrun.ingest import find_submissions
from autograder.classrun.progress import Progress
from autograder.grading.notebook import hidden_delimiters, read_lesson, solution_delimiters
from autograder.grading.pipeline import Job, Outcome
from autograder.sandbox import bubblewrap, cgroups, confinement
from autograder.sandbox.forkserver import Preloads, preloads_for
from autograder.sandbox.isolation import Limits

__all__ = ["ROOT", "Settings", "Worker", "available_lessons", "grade_class"]

ROOT = Path(__file__).resolve().parents[2]
SCORES_HEADER = ["learner", "lesson", "notebook", "exercise", "score", "max_score", "status"]
CRASHED = "grading this notebook crashed the grader's worker"


@dataclass(frozen=True)
class Settings:
    """How every notebook of one run is graded: fixed before any worker starts.

    A local run's workers inherit it when they fork; a cluster run sends it
    with each task (:mod:`autograder.classrun.cluster`).

    Parameters
    ----------
    limits : autograder.sandbox.isolation.Limits
    confined : bool
        Learner code and tests in their bubblewrap sandboxes (False: ``--unconfined``).
    tree_cap : bool
        The cap on each notebook's process tree is required (False: ``--without-tree-cap``).
    preload : autograder.sandbox.forkserver.Preloads or None
        What the sandboxes' fork servers import (:func:`autograder.sandbox.forkserver.preloads_for`).
    """

    limits: Limits
    confined: bool = True
    tree_cap: bool = True
    preload: Preloads | None = None


@dataclass(frozen=True)
class Course:
    """The lessons a run grades, read once before the workers fork.

    Parameters
    ----------
    lessons : Mapping
        ``(lesson, notebook stem) -> (Lesson, source notebook)``, read-only.
    config : traitlets.config.Config
        nbgrader's configuration for the run (its gradebook).
    """

    lessons: Mapping
    config: object

    def lesson(self, job: Job):
        """The classified instructor notebook that ``job`` is graded against."""
        return self.lessons[(job.lesson, job.notebook)][0]

    def source_nb(self, job: Job):
        """The instructor notebook itself."""
        return self.lessons[(job.lesson, job.notebook)][1]


class Worker:
    """One grading process: the run's settings and the two sandboxes it keeps for the run.

    The sandboxes start with its first notebook (their start is the expensive part)
    and serve every notebook it grades; :meth:`close` ends them.

    Parameters
    ----------
    settings : Settings
    course : Course
    """

    def __init__(self, settings: Settings, course: Course):
        self.settings, self.course = settings, course
        self.boxes = bubblewrap.Pair(settings.confined, settings.preload)

    def grade(self, job: Job) -> Outcome:
        """Grade one notebook in this worker's sandboxes."""
        from autograder.grading.pipeline import grade

        config = self.course.config
        return grade(job, self.course.lesson(job), self.course.source_nb(job),
                     config.CourseDirectory.db_url, config, self.settings.limits, self.boxes)

    def close(self) -> None:
        self.boxes.close()


def available_lessons() -> list[str]:
    """Lesson ids with instructor notebooks under ``solutions/``."""
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and p.name[:2].isdigit() and list(p.glob("*.ipynb")))


def _preload() -> None:
    """Import what the workers use, once, before they fork (the sandboxes import the rest)."""
    import nbconvert  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401

    from autograder.grading.feedback import exporter, math_placeholders

    # Compile the templates, and import the code lexer (all of IPython) and the MathML
    # converter, before forking: else each worker's first page paid about 1 s for them.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    exporter().from_notebook_node(nb, resources={"lifecycle": {
        "title": "", "summary": "", "labels": {}}})
    math_placeholders("$x$", "0", {})


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _digest(path: str | None, source: Path, limits: Limits) -> str:
    h = hashlib.sha256(f"{__version__}|{vars(limits)}".encode())
    h.update(source.read_bytes())
    if path:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _jobs(found, lessons: list[str], limits: Limits) -> list[Job]:
    jobs = []
    for learner in found:
        for lesson in lessons:
            for source in sorted((ROOT / "solutions" / lesson).glob("*.ipynb")):
                stem = source.stem
                path = learner.notebooks.get((lesson, stem))
                job = Job(learner.learner, lesson, stem, path,
                          timestamp=learner.timestamps.get(lesson))
                if learner.problem:
                    job.status, job.problem = "invalid", learner.problem
                elif path is None:
                    others = sorted(s for (les, s) in learner.notebooks if les == lesson
                                    and not (ROOT / "solutions" / lesson / f"{s}.ipynb").exists())
                    job.status = "missing"
                    job.problem = f"{stem}.ipynb was not submitted" + (
                        f" (found {', '.join(o + '.ipynb' for o in others)}: notebooks must keep "
                        "their names)" if others else "") + (
                        f" (found {', '.join(learner.stray[:5])} elsewhere in the submission: "
                        f"it must be {lesson}/{stem}.ipynb)" if learner.stray else "")
                job.digest = _digest(job.path if not job.status else None, source, limits) + (
                    job.status or "")
                jobs.append(job)
    return jobs


def _order(todo: list[Job], lessons: list[str], reused: list[dict]) -> list[Job]:
    """The order notebooks are handed to the workers: lesson by lesson, longest first.

    Notebooks of one lesson cost about the same, so grading them together leaves the
    workers finishing at about the same time, not one of them on a long notebook alone
    at the end. A lesson an earlier run timed (``reused``) goes by its mean time, the
    longest first; the others keep the lessons' order after them.
    """
    times: dict = {}
    for state in reused:
        times.setdefault((state["job"]["lesson"], state["job"]["notebook"]), []).append(
            state.get("seconds") or 0.0)

    def key(job: Job):
        seen = times.get((job.lesson, job.notebook))
        return (-sum(seen) / len(seen) if seen else 0.0, lessons.index(job.lesson), job.notebook)

    return sorted(todo, key=key)


def _state_path(out: Path, job: Job) -> Path:
    return out / ".state" / job.learner / job.lesson / f"{job.notebook}.json"


def _load_state(out: Path, job: Job):
    path = _state_path(out, job)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    feedback = out / "feedback" / job.learner / job.lesson / f"{job.notebook}.html"
    return state if state.get("digest") == job.digest and feedback.exists() else None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _store(out: Path, config, outcome: Outcome, final: bool = True) -> dict:
    """Write one notebook's results; ``final=False`` (a grader fault) has the next run grade it again."""
    job = outcome.job
    base = Path(job.learner) / job.lesson
    if outcome.graded_nb is not None:
        _write_atomic(out / "autograded" / base / f"{job.notebook}.ipynb", outcome.graded_nb)
    _write_atomic(out / "feedback" / base / f"{job.notebook}.html", outcome.feedback_html)
    gradebook.save_grades(config, job, outcome.rows, outcome.unanswered)
    state = {"digest": job.digest if final else "", "job": asdict(job), "rows": outcome.rows,
             "notes": outcome.notes, "seconds": outcome.seconds}
    _write_atomic(_state_path(out, job), json.dumps(state))
    return state


def _failed_outcome(course: Course, job: Job, why: str) -> Outcome:
    from autograder.grading.pipeline import _feedback, source_nb_release

    rows = [{"exercise": c.grade_id, "score": 0.0, "max_score": c.points, "status": "killed",
             "message": why} for c in course.lesson(job).tests]
    config = course.config
    return Outcome(job, rows, None, _feedback(source_nb_release(course.source_nb(job), config),
                                              job, rows, [why], config), [why])


def _serve(settings: Settings, course: Course, conn) -> None:
    """A worker process: grade each job the parent sends on ``conn`` until it sends None."""
    # Ctrl-C reaches the workers too: let them finish the notebook at hand (the
    # parent stops handing out more).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = Worker(settings, course)
    # Start the sandboxes now, while the parent still prepares (the gradebook): a
    # sandbox that cannot start says why with the first notebook, as it would later.
    with contextlib.suppress(Exception):
        worker.boxes.ensure()
    try:
        while (job := conn.recv()) is not None:
            try:
                reply = ("done", worker.grade(job))
            except Exception as error:  # noqa: BLE001 - a grader bug: the parent reports it
                reply = ("error", repr(error))
            conn.send(reply)
    except EOFError:  # the parent is gone
        pass
    finally:
        worker.close()


@contextlib.contextmanager
def _interrupt_flag():
    """A first Ctrl-C sets the flag (the run stops once the running notebooks are saved)."""
    flag = threading.Event()

    def on_interrupt(signum, frame):
        if flag.is_set():  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        flag.set()

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: Ctrl-C keeps its default effect
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _grade_all(jobs: list[Job], out: Path, settings: Settings, course: Course, workers: int,
               progress: Progress, prepare) -> list[dict]:
    """Grade ``jobs`` in a pool of ``workers``; ``prepare()`` runs once the workers have started."""
    pool = _Pool(settings, course, workers)
    try:
        pool.start(min(workers, len(jobs)))  # their sandboxes start while ``prepare`` runs
        prepare()
        with _interrupt_flag() as interrupted:
            return pool.grade(
                jobs, lambda o, final: _store(out, course.config, o, final), progress, interrupted)
    finally:
        pool.close()
        cgroups.sweep()


class _Pool:
    """Worker processes forked from this warm one, each grading one notebook at a time.

    A worker that dies takes only the notebook it was grading: that notebook is
    graded once more in a new worker, and ``killed`` if it kills that one too.
    """

    def __init__(self, settings: Settings, course: Course, size: int):
        self.settings, self.course, self.size = settings, course, size
        self.procs: dict = {}  # connection -> its worker process
        self.idle: list = []  # connections of workers waiting for a notebook

    def start(self, count: int) -> None:
        """Start ``count`` workers before the first notebook is handed out."""
        while len(self.procs) < count:
            self.idle.append(self._start())

    def close(self) -> None:
        """End every worker still running (each finishes the notebook it has)."""
        for conn in list(self.procs):
            self._end(conn, kill=False)
        self.idle.clear()

    def _start(self):
        ours, theirs = multiprocessing.Pipe()
        proc = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self.settings, self.course, theirs), daemon=True)
        proc.start()
        theirs.close()
        self.procs[ours] = proc
        return ours

    def _end(self, conn, kill: bool) -> None:
        proc = self.procs.pop(conn)
        with contextlib.suppress(OSError):
            if kill:
                proc.kill()
            else:
                conn.send(None)
        proc.join()
        conn.close()

    def grade(self, jobs, store, progress, interrupted) -> list[dict]:
        """Grade ``jobs``; ``store(outcome, final) -> state`` saves each as it arrives."""
        states, pending, busy, idle, retried = [], list(reversed(jobs)), {}, self.idle, set()

        def hand_out():
            # A first Ctrl-C hands out no more notebooks; those being graded are saved.
            while pending and len(busy) < self.size and not interrupted.is_set():
                conn = idle.pop() if idle else self._start()
                conn.send(pending[-1])
                busy[conn] = pending.pop()

        try:
            while (pending and not interrupted.is_set()) or busy:
                hand_out()
                for conn in multiprocessing.connection.wait(list(busy), timeout=1):
                    job = busy.pop(conn)
                    final = False  # unless the grader did its part
                    try:
                        kind, value = conn.recv()
                    except (EOFError, OSError):  # the notebook killed its worker
                        self._end(conn, kill=True)
                        # keyed per job: identical notebooks of two learners share a digest
                        ident = (job.learner, job.lesson, job.notebook)
                        if ident not in retried:
                            retried.add(ident)
                            pending.append(job)
                            continue
                        outcome = _failed_outcome(self.course, job, CRASHED)
                    else:
                        idle.append(conn)
                        final = kind == "done"
                        outcome = value if final else _failed_outcome(
                            self.course, job, f"grader error: {value}")
                    hand_out()  # the worker grades the next notebook while this one is saved
                    states.append(store(outcome, final))
                    progress.step(f"{job.learner}/{job.lesson}/{job.notebook}", outcome)
        finally:
            for conn in list(self.procs):  # a second Ctrl-C does not wait for a notebook
                self._end(conn, kill=conn in busy)
        if interrupted.is_set():
            raise KeyboardInterrupt
        return states


def _grade_on_cluster(address, jobs, out, settings: Settings, course: Course, progress):
    """Grade ``jobs`` on the Dask cluster at ``address``, saved as a local run saves them."""
    from autograder.classrun import cluster

    with _interrupt_flag() as interrupted:
        return cluster.grade_jobs(address, jobs, ROOT,
                                  lambda o, final: _store(out, course.config, o, final),
                                  lambda job, why: _failed_outcome(course, job, why),
                                  progress, interrupted, settings)


def _write_scores(path: Path, states: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SCORES_HEADER)
        for state in sorted(states, key=lambda s: (s["job"]["learner"], s["job"]["lesson"],
                                                   s["job"]["notebook"])):
            job = state["job"]
            for row in state["rows"]:
                writer.writerow([job["learner"], job["lesson"], job["notebook"], row["exercise"],
                                 f"{row['score']:g}", f"{row['max_score']:g}", row["status"]])


def grade_class(submissions: str, out: str, lessons: list[str] | None = None,
                workers: int | None = None, limits: Limits | None = None,
                quiet: bool = False, due: str | None = None, confined: bool = True,
                tree_cap: bool = True, scheduler: str | None = None) -> dict:
    """Grade every notebook under ``submissions`` and write ``out``.

    Parameters
    ----------
    submissions : str
        Folder in nbgrader's ``submitted`` layout, with optional ``<learner>.zip`` files.
    out : str
        Output folder (created): scores.csv, grades.csv, feedback/, report.html.
    lessons : list of str, optional
        Lessons to grade; default: every lesson found in the submissions.
    workers : int, optional
        Notebooks graded at once; default: the machine's cores.
    limits : autograder.sandbox.isolation.Limits, optional
    quiet : bool
        No progress output.
    due : str, optional
        Due date of the lessons (``--due``), stored in the gradebook; late submissions
        (by ``timestamp.txt``) are listed in the report.
    confined : bool
        Run learner code and tests in their sandboxes (False: ``--unconfined``).
    tree_cap : bool
        Require the cap on each notebook's process tree (False: ``--without-tree-cap``).
    scheduler : str, optional
        A Dask scheduler's address (``--scheduler``): grade on its workers
        (:mod:`autograder.classrun.cluster`), each confined as here, instead of on this machine.

    Raises
    ------
    autograder.sandbox.bubblewrap.ConfinementError
        Before anything is graded, if the promised confinement cannot be applied
        (with ``scheduler``: as soon as a worker finds it cannot).
    autograder.classrun.cluster.ClusterError
        With ``scheduler``: it cannot be reached or was lost (what was graded is saved).

    Returns
    -------
    summary : dict
        Counts and timings of the run.
    """
    start = time.monotonic()
    limits = limits or Limits()
    if scheduler:
        from autograder.classrun import cluster

        cluster.reachable(scheduler)  # before minutes of preparation, not after
    workers = workers or os.cpu_count() or 1
    out_path = Path(out).resolve()
    out_path.mkdir(parents=True, exist_ok=True)
    # The parts of OUT that hold hidden tests: the gradebook (gradebook.py), the
    # release and the unpacked submissions (.work) and the graded notebooks.
    gradebook.private_folder(out_path / ".work")
    gradebook.private_folder(out_path / "autograded")
    known = available_lessons()
    found, skipped = find_submissions(submissions, set(lessons or known), str(out_path / ".work"))
    if not lessons:
        present = {les for f in found for (les, _) in f.notebooks}
        lessons = [les for les in known if les in present] or (known if any(
            f.problem for f in found) else [])
    config = gradebook.course_config(str(ROOT), str(out_path))
    course = Course(MappingProxyType({
        (les, p.stem): (read_lesson(p, hidden_delimiters(config), solution_delimiters(config)),
                        nbformat.read(str(p), as_version=4))
        for les in lessons for p in (ROOT / "solutions" / les).glob("*.ipynb")}), config)
    # The sandboxes import what these lessons use, not what every lesson may.
    settings = Settings(limits, confined, tree_cap,
                        preloads_for(lesson for lesson, _ in course.lessons.values()))
    jobs = _jobs(found, lessons, limits)
    # Match saved results per job, not per digest: two learners who submit identical
    # notebooks (two untouched releases, a shared solution) have the same digest, and a
    # digest-set left the second one neither reused nor graded, so it got no rows at all.
    loaded = [(j, _load_state(out_path, j)) for j in jobs]
    reused = [state for _, state in loaded if state]
    todo = _order([j for j, state in loaded if not state], lessons, reused)
    progress = Progress(len(todo), quiet=quiet)
    progress.note(f"{_count(len(jobs), 'notebook')} from {_count(len(found), 'learner')} in "
                  f"{_count(len(lessons), 'lesson')}; {len(reused)} unchanged since the last run, "
                  f"{len(todo)} to grade " + (f"on {scheduler}" if scheduler
                                              else f"with {_count(workers, 'worker')}"))
    _preload()
    if scheduler:  # learner code runs on the workers: each measures its own confinement
        gradebook.prepare_assignments(config, lessons, due)
        graded, measured, workers = _grade_on_cluster(scheduler, todo, out_path, settings,
                                                      course, progress)
    else:
        found_here = {}

        def prepare():
            # While the workers' sandboxes start: no notebook is handed out before this.
            found_here.update(confinement.check(confined, tree_cap, [out, submissions]))
            gradebook.prepare_assignments(config, lessons, due)

        graded = _grade_all(todo, out_path, settings, course, workers, progress, prepare)
        measured = found_here
    states = reused + graded
    progress.done()
    _write_scores(out_path / "scores.csv", states)
    gradebook.export_grades(config, str(out_path / "grades.csv"))
    from autograder.classrun.report import write_report

    summary = {"learners": len(found), "lessons": lessons, "notebooks": len(jobs),
               "graded": len(todo), "reused": len(reused), "skipped": skipped,
               "seconds": time.monotonic() - start, "workers": workers,
               "late": gradebook.late_submissions(config), "confinement": measured}
    write_report(out_path / "report.html", states, summary)
    return summary

"""Grade a class: find submissions, grade notebooks in parallel, write the results.

Results are saved per notebook as soon as it is graded (``OUT/.state``), so an
interrupted run loses nothing, and a rerun grades only notebooks that are new
or changed (by content hash of the submission, the lesson and the grader).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import hashlib
import json
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import asdict
from pathlib import Path

import nbformat

from autograder import __version__, cgroups, confinement, gradebook, sandbox
from autograder.forkserver import modules_for
from autograder.ingest import find_submissions
from autograder.isolation import Limits
from autograder.notebook import read_lesson
from autograder.pipeline import Job, Outcome
from autograder.progress import Progress

__all__ = ["ROOT", "available_lessons", "grade_class"]

ROOT = Path(__file__).resolve().parent.parent
SCORES_HEADER = ["learner", "lesson", "notebook", "exercise", "score", "max_score", "status"]

# Set by the parent before the workers fork; read-only afterwards.
_SHARED: dict = {}


def available_lessons() -> list[str]:
    """Lesson ids with instructor notebooks under ``solutions/``."""
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and p.name[:2].isdigit() and list(p.glob("*.ipynb")))


def _preload() -> None:
    """Import what the workers use, once, before they fork (the sandboxes import the rest)."""
    import nbconvert  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401

    from autograder.feedback import exporter, math_placeholders

    # Compile the templates, and import the code lexer (all of IPython) and the MathML
    # converter, before forking: else each worker's first page paid about 1 s for them.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    exporter().from_notebook_node(nb, resources={"lifecycle": {
        "title": "", "summary": "", "labels": {}}})
    math_placeholders("$x$", "0", {})


def _work(job: Job) -> Outcome:
    lesson, source_nb = _SHARED["lessons"][(job.lesson, job.notebook)]
    from autograder.pipeline import grade

    return grade(job, lesson, source_nb, _SHARED["db_url"], _SHARED["config"],
                 _SHARED["limits"], sandbox.pair(_SHARED["confined"], _SHARED["preload"]))


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
    gradebook.save_grades(config, job, outcome.graded_nb)
    state = {"digest": job.digest if final else "", "job": asdict(job), "rows": outcome.rows,
             "notes": outcome.notes, "seconds": outcome.seconds}
    _write_atomic(_state_path(out, job), json.dumps(state))
    return state


def _failed_outcome(job: Job, lesson, why: str) -> Outcome:
    from autograder.pipeline import _feedback, source_nb_release

    rows = [{"exercise": c.grade_id, "score": 0.0, "max_score": c.points, "status": "killed",
             "message": why} for c in lesson.tests]
    source_nb = _SHARED["lessons"][(job.lesson, job.notebook)][1]
    return Outcome(job, rows, None, _feedback(source_nb_release(source_nb), job, rows, [why]), [why])


def _start_worker() -> None:
    # Ctrl-C reaches the workers too: let them finish the notebook at hand (the
    # parent stops handing out more), rather than break the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _grade_all(jobs: list[Job], out: Path, config, workers: int, progress: Progress) -> list[dict]:
    try:
        with _interrupt_flag() as interrupted:
            return _run_pools(jobs, out, config, workers, progress, interrupted)
    finally:
        cgroups.sweep()


def _run_pools(jobs, out, config, workers, progress, interrupted) -> list[dict]:
    """Grade ``jobs`` in worker pools; a job that broke its pool is retried in a new one."""
    states, pending, retried = [], list(jobs), set()
    while pending:
        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                    initializer=_start_worker) as pool:
            futures = {pool.submit(_work, job): job for job in pending}
            pending = []
            for future in cf.as_completed(futures):
                if interrupted.is_set():
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise KeyboardInterrupt
                job = futures[future]
                final = False  # unless the grader did its part
                try:
                    outcome = future.result()
                    final = True
                except cf.process.BrokenProcessPool:
                    # keyed per job: identical notebooks of two learners share a digest
                    if (job.learner, job.lesson, job.notebook) in retried:  # broke it twice
                        lesson = _SHARED["lessons"][(job.lesson, job.notebook)][0]
                        outcome = _failed_outcome(job, lesson, "grading this notebook "
                                                  "crashed the grader's worker")
                    else:
                        retried.add((job.learner, job.lesson, job.notebook))
                        pending.append(job)
                        continue
                except Exception as error:  # noqa: BLE001 - a grader bug: report, go on
                    lesson = _SHARED["lessons"][(job.lesson, job.notebook)][0]
                    outcome = _failed_outcome(job, lesson, f"grader error: {error!r}")
                states.append(_store(out, config, outcome, final))
                progress.step(f"{job.learner}/{job.lesson}/{job.notebook}", outcome)
    return states


def _grade_on_cluster(address, jobs, out, config, progress, tree_cap):
    """Grade ``jobs`` on the Dask cluster at ``address``, saved as :func:`_run_pools` saves."""
    from autograder import cluster

    def failed(job, why):
        return _failed_outcome(job, _SHARED["lessons"][(job.lesson, job.notebook)][0], why)

    settings = {"limits": _SHARED["limits"], "confined": _SHARED["confined"],
                "tree_cap": tree_cap, "preload": _SHARED["preload"]}
    with _interrupt_flag() as interrupted:
        return cluster.grade_jobs(address, jobs, ROOT, lambda o, final: _store(out, config, o, final),
                                  failed, progress, interrupted, settings)


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
    limits : autograder.isolation.Limits, optional
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
        (:mod:`autograder.cluster`), each confined as here, instead of on this machine.

    Raises
    ------
    autograder.sandbox.ConfinementError
        Before anything is graded, if the promised confinement cannot be applied
        (with ``scheduler``: as soon as a worker finds it cannot).
    autograder.cluster.ClusterError
        With ``scheduler``: it cannot be reached or was lost (what was graded is saved).

    Returns
    -------
    summary : dict
        Counts and timings of the run.
    """
    start = time.monotonic()
    limits = limits or Limits()
    if scheduler:
        from autograder import cluster

        cluster.reachable(scheduler)  # before minutes of preparation, not after
    # On a cluster, learner code runs on the workers: each measures its own confinement.
    measured = None if scheduler else confinement.check(confined, tree_cap, [out, submissions])
    workers = workers or os.cpu_count() or 1
    out_path = Path(out).resolve()
    out_path.mkdir(parents=True, exist_ok=True)
    (out_path / ".work").mkdir(exist_ok=True)
    known = available_lessons()
    found, skipped = find_submissions(submissions, set(lessons or known), str(out_path / ".work"))
    if not lessons:
        present = {les for f in found for (les, _) in f.notebooks}
        lessons = [les for les in known if les in present] or (known if any(
            f.problem for f in found) else [])
    config = gradebook.course_config(str(ROOT), str(out_path))
    gradebook.prepare_assignments(config, lessons, due)
    _SHARED.update(
        lessons={(les, p.stem): (read_lesson(p), nbformat.read(str(p), as_version=4))
                 for les in lessons for p in (ROOT / "solutions" / les).glob("*.ipynb")},
        db_url=config.CourseDirectory.db_url, config=config, limits=limits, confined=confined)
    # The sandboxes import what these lessons use, not what every lesson may.
    _SHARED["preload"] = tuple(modules_for(set().union(
        *(lesson.modules for lesson, _ in _SHARED["lessons"].values()))))
    jobs = _jobs(found, lessons, limits)
    # Match saved results per job, not per digest: two learners who submit identical
    # notebooks (two untouched releases, a shared solution) have the same digest, and a
    # digest-set left the second one neither reused nor graded, so it got no rows at all.
    loaded = [(j, _load_state(out_path, j)) for j in jobs]
    reused = [state for _, state in loaded if state]
    todo = [j for j, state in loaded if not state]
    progress = Progress(len(todo), quiet=quiet)
    progress.note(f"{_count(len(jobs), 'notebook')} from {_count(len(found), 'learner')} in "
                  f"{_count(len(lessons), 'lesson')}; {len(reused)} unchanged since the last run, "
                  f"{len(todo)} to grade " + (f"on {scheduler}" if scheduler
                                              else f"with {_count(workers, 'worker')}"))
    _preload()
    if scheduler:
        graded, measured, workers = _grade_on_cluster(scheduler, todo, out_path, config,
                                                      progress, tree_cap)
    else:
        graded = _grade_all(todo, out_path, config, workers, progress)
    states = reused + graded
    progress.done()
    _write_scores(out_path / "scores.csv", states)
    gradebook.export_grades(config, str(out_path / "grades.csv"))
    from autograder.report import write_report

    summary = {"learners": len(found), "lessons": lessons, "notebooks": len(jobs),
               "graded": len(todo), "reused": len(reused), "skipped": skipped,
               "seconds": time.monotonic() - start, "workers": workers,
               "late": gradebook.late_submissions(config), "confinement": measured}
    write_report(out_path / "report.html", states, summary)
    return summary

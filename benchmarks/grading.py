"""Benchmark: grading one class with plain ``nbgrader autograde`` and with ours, in one run.

Builds a class (default 12 learners x lessons 01 and 02 = 24 notebooks; even
learners submit the solutions, odd ones one or two of the corpus's wrong
answers), then grades it

1. with plain nbgrader, as an instructor would without this repository's
   grader: a temporary nbgrader course (``source/<lesson>`` = a copy of
   ``solutions/<lesson>``, ``submitted/<learner>/<lesson>/``, the course's
   ``nbgrader_config.py`` loaded with only the folders changed),
   ``nbgrader generate_assignment <lesson>`` (not timed: done once at release)
   then ``nbgrader autograde <lesson>`` (timed);
2. with ``python -m autograder grade SUBMISSIONS --out OUT`` (timed end to end:
   start-up, gradebook, grading, feedback pages, report).

It checks that both give every graded cell the same score, prints notebooks
per minute of each and the ratio, and profiles where our per-notebook time
goes (in-process, one notebook per lesson, phase by phase).

Usage::

    .venv/bin/python benchmarks/grading.py [--learners 12] [--workers N] [--serial] [--keep DIR]

``--serial`` also times ours with ``--workers 1`` (the per-notebook cost alone,
without parallelism). Figures move with the machine's load: run it on a quiet
machine, and compare the two rates of the same run.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.build_class import filled_release, write_notebook  # noqa: E402

__all__ = ["build_class", "nbgrader_autograde", "ours", "compare", "profile_ours"]

LESSONS = {"01_preprocessing": "solutions/01_preprocessing/preprocessing.ipynb",
           "02_optimizers": "solutions/02_optimizers/optimizers.ipynb"}
BIN = Path(sys.executable).parent


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")  # nbgrader calls `alembic`
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _wrong_variants(lesson: str) -> list[dict]:
    """The corpus's wrong answers that are also graded through the CLI (``cli=True``)."""
    import importlib

    module = importlib.import_module(f"tests.corpus.l{lesson}")
    return [v.answers for v in module.WRONG if v.cli] or [module.WRONG[0].answers]


def build_class(folder: str | Path, learners: int = 12, lessons=tuple(LESSONS)) -> Path:
    """Write ``learners`` honest submissions per lesson in nbgrader's ``submitted`` layout.

    Learner ``i`` submits the solution when ``i`` is even, otherwise one wrong
    answer (two when ``i % 4 == 3``) from ``tests/corpus``, in turn.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for lesson in lessons:
        wrong = _wrong_variants(lesson)
        for i in range(learners):
            answers = {}
            if i % 2:
                answers.update(wrong[(i // 2) % len(wrong)])
                if i % 4 == 3:
                    answers.update(wrong[(i // 2 + 1) % len(wrong)])
            write_notebook(folder, f"learner{i:02d}", lesson,
                           filled_release(LESSONS[lesson], answers), None)
    return folder


def _notebooks(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*/*/*.ipynb"))


def nbgrader_autograde(submissions: str | Path, lessons, workdir: str | Path) -> tuple[float, dict]:
    """Grade ``submissions`` with plain ``nbgrader autograde`` in a temporary course.

    Returns
    -------
    seconds : float
        Time of the ``nbgrader autograde`` commands (all lessons).
    scores : dict
        ``(learner, lesson, notebook, grade_id) -> score`` from nbgrader's gradebook.
    """
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(ROOT / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(work)!r}\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(work / 'gradebook.db')!r}\n")
    for lesson in lessons:
        shutil.copytree(ROOT / "solutions" / lesson, work / "source" / lesson,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in Path(submissions).glob("*/*/*.ipynb"):
        learner, lesson = path.parent.parent.name, path.parent.name
        if lesson in lessons:
            dest = work / "submitted" / learner / lesson
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / path.name)
    nbgrader = [str(BIN / "nbgrader")]
    for lesson in lessons:
        subprocess.run(nbgrader + ["generate_assignment", lesson, "--force", "--log-level=ERROR"],
                       cwd=work, env=_env(), check=True, capture_output=True, text=True)
    start = time.monotonic()
    for lesson in lessons:
        run = subprocess.run(nbgrader + ["autograde", lesson, "--log-level=ERROR"], cwd=work,
                             env=_env(), capture_output=True, text=True)
        if run.returncode:
            raise RuntimeError(f"nbgrader autograde {lesson} failed:\n{run.stderr[-3000:]}")
    seconds = time.monotonic() - start
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook("sqlite:///" + str(work / "gradebook.db")) as gb:
        for lesson in lessons:
            for sub in gb.assignment_submissions(lesson):
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        if grade.max_score:
                            scores[(sub.student.id, lesson, nb.name, grade.name)] = float(grade.score)
    return seconds, scores


def ours(submissions: str | Path, out: str | Path, workers: int | None = None,
         lessons=None, extra=()) -> tuple[float, dict, str]:
    """Grade with ``python -m autograder grade``; return seconds, scores as above, and stderr."""
    cmd = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out)]
    if workers:
        cmd += ["--workers", str(workers)]
    for lesson in lessons or ():
        cmd += ["--lesson", lesson]
    start = time.monotonic()
    run = subprocess.run(cmd + list(extra), cwd=ROOT, env=_env(), capture_output=True, text=True)
    seconds = time.monotonic() - start
    if run.returncode:
        raise RuntimeError(f"autograder failed:\n{run.stderr[-3000:]}")
    return seconds, read_scores(Path(out) / "scores.csv"), run.stderr


def read_scores(path: Path) -> dict:
    with open(path, newline="") as f:
        return {(r["learner"], r["lesson"], r["notebook"], r["exercise"]): float(r["score"])
                for r in csv.DictReader(f)}


def compare(theirs: dict, mine: dict) -> list[str]:
    """Differences between two score tables, one line each (empty when equal)."""
    diffs = [f"{'/'.join(k)}: nbgrader {theirs.get(k)} vs ours {mine.get(k)}"
             for k in sorted(set(theirs) | set(mine)) if theirs.get(k) != mine.get(k)]
    return diffs


def profile_ours(submissions: str | Path, lessons=tuple(LESSONS)) -> list[dict]:
    """Time each phase of grading one notebook per lesson in this process.

    Phases: reading and nbgrader's sanitizing preprocessors; starting the
    learner's confined process; the learner's cells; the tests (including the
    test process's start-up and setup cells, on the first test); output
    limits; the feedback page; saving the grades with nbgrader's SaveAutoGrades.
    """
    import nbformat

    from autograder import execute, gradebook, pipeline, run, sandbox
    from autograder.isolation import Limits
    from autograder.notebook import read_lesson
    from autograder.pipeline import Job

    os.environ["PATH"] = _env()["PATH"]  # nbgrader's gradebook calls `alembic` by name
    timers: dict = defaultdict(float)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timers[name] += time.perf_counter() - start
        return wrapper

    patches = [(pipeline, "_sanitize", "sanitize (nbgrader preprocessors)"),
               (pipeline, "read_submission", "read + check the submission"),
               (pipeline, "_limit_output", "LimitOutput"),
               (pipeline, "_feedback", "feedback page (nbconvert)"),
               (execute._Run, "start_learner", "start learner process (fork in its sandbox)"),
               (execute._Run, "run_learner_cell", "learner cells"),
               (execute._Run, "start_verdict", "start test process"),
               (execute._Run, "run_test_cell", "test cells (incl. test setup cells)")]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    out = Path(tempfile.mkdtemp(prefix="profile-"))
    results = []
    try:
        for obj, name, label in patches:
            setattr(obj, name, timed(label, getattr(obj, name)))
        start = time.perf_counter()
        run._preload()
        preload = time.perf_counter() - start
        config = gradebook.course_config(str(ROOT), str(out))
        start = time.perf_counter()
        gradebook.prepare_assignments(config, list(lessons))
        prepare = time.perf_counter() - start
        results.append({"notebook": "(once per run)", "preload imports before forking": preload,
                        "gradebook: nbgrader GenerateAssignment": prepare})
        for lesson in lessons:
            path = next(Path(submissions).glob(f"*/{lesson}/*.ipynb"))
            source = ROOT / LESSONS[lesson]
            job = Job(path.parent.parent.name, lesson, path.stem, str(path))
            timers.clear()
            start = time.perf_counter()
            outcome = pipeline.grade(job, read_lesson(source), nbformat.read(str(source), 4),
                                     config.CourseDirectory.db_url, config, Limits(),
                                     sandbox.pair())
            total = time.perf_counter() - start
            start = time.perf_counter()
            gradebook.save_grades(config, job, outcome.graded_nb)
            timers["save grades (nbgrader SaveAutoGrades)"] = time.perf_counter() - start
            results.append({"notebook": f"{lesson}/{path.stem}", **timers,
                            "total": total + timers["save grades (nbgrader SaveAutoGrades)"]})
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
        shutil.rmtree(out, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=12)
    parser.add_argument("--workers", type=int, default=None, help="ours: default all cores")
    parser.add_argument("--serial", action="store_true", help="also time ours with --workers 1")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--keep", help="keep the class and outputs in this folder")
    args = parser.parse_args(argv)
    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        parser.error(f"{args.keep} is not empty (a rerun would reuse its grading state)")
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        subs = build_class(base / "submitted", args.learners)
        n = _notebooks(subs)
        load = os.getloadavg()[0]
        print(f"{n} notebooks ({args.learners} learners x {', '.join(LESSONS)}); "
              f"{os.cpu_count()} cores, load average {load:.1f}", flush=True)
        t_nbg, s_nbg = nbgrader_autograde(subs, list(LESSONS), base / "nbgrader")
        print(f"nbgrader autograde:      {t_nbg:6.1f} s  {n / t_nbg * 60:6.1f} notebooks/min",
              flush=True)
        t_ours, s_ours, _ = ours(subs, base / "ours", args.workers)
        print(f"ours ({args.workers or os.cpu_count()} workers):         {t_ours:6.1f} s  "
              f"{n / t_ours * 60:6.1f} notebooks/min", flush=True)
        if args.serial:
            t_one, s_one, _ = ours(subs, base / "ours-serial", 1)
            print(f"ours (1 worker):         {t_one:6.1f} s  {n / t_one * 60:6.1f} notebooks/min"
                  f"  ({t_nbg / t_one:.2f}x nbgrader without parallelism)", flush=True)
            assert not compare(s_ours, s_one), compare(s_ours, s_one)[:5]
        ratio = t_nbg / t_ours
        print(f"ratio: ours grades {ratio:.2f}x as many notebooks per minute as nbgrader "
              f"(target >= 2x)")
        diffs = compare(s_nbg, s_ours)
        print(f"per-cell scores: {len(s_ours)} graded cells, "
              + ("all equal to nbgrader's" if not diffs else f"{len(diffs)} differ:"))
        for line in diffs[:20]:
            print("  " + line)
        if not args.no_profile:
            print("\nWhere our time goes (one notebook per lesson, in-process, seconds):")
            for row in profile_ours(subs):
                print(f"  {row.pop('notebook')}")
                for phase, seconds in row.items():
                    print(f"    {phase:45s} {seconds:6.2f}")
        return 1 if diffs else 0
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

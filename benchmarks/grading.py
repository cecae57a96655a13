"""Benchmark: grading with plain ``nbgrader autograde`` and with ours, in one run.

Two classes are graded, each by both graders in the same run:

``generated``
    12 learners x lessons 01 and 02 = 24 notebooks (``--learners``): even
    learners submit the solutions, odd ones one or two of the corpus's wrong
    answers (``tests/corpus``), so scores differ between cells;
``lessons``
    the real lessons' solution notebooks, every lesson, 2 learners
    (``--lesson-learners``): what a notebook of each lesson really costs.

Each class is graded

1. with plain nbgrader, as an instructor would without this repository's
   grader: a temporary nbgrader course (``source/<lesson>`` = a copy of
   ``solutions/<lesson>``, ``submitted/<learner>/<lesson>/``, the course's
   ``nbgrader_config.py`` loaded with only the folders changed),
   ``nbgrader generate_assignment <lesson>`` (not timed: done once at release)
   then ``nbgrader autograde <lesson>`` (timed);
2. with ``python -m autograder grade SUBMISSIONS --out OUT`` (timed end to end:
   start-up, gradebook, grading, feedback pages, report).

``--rounds`` times (2 by default), the two graders in turn, so that the machine's
speed changing during the run weighs on both alike (on the 2-core virtual machine
this was measured on, one grader's time moved by a third between two runs minutes
apart). For each class it prints every round's times, notebooks per minute of both
over all rounds, the ratio of the total times, and compares the score of every
graded cell in every round. Then:

- where the time of one notebook goes, for a trivial and a heavy lesson
  (``--profile-lessons``): interpreter start, imports, the sandboxes, the
  learner's cells, the tests, writing the results, the gradebook;
- a scaling table (``--scale 6,24,96``): generated classes of that many
  notebooks graded by ours, seconds per notebook each (the gradebook, the
  report and the state files must not make large classes slower per notebook).

Usage::

    .venv/bin/python benchmarks/grading.py [--classes generated,lessons] [--learners 12]
        [--lesson-learners 2] [--rounds 2] [--scale 6,24,96] [--workers N] [--serial]
        [--keep DIR]

``--serial`` also times ours with ``--workers 1`` (the per-notebook cost alone,
without parallelism). Figures move with the machine's load (printed): run it on a
quiet machine, and compare the two rates of the same run.
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

__all__ = ["build_class", "build_lessons_class", "nbgrader_autograde", "ours", "compare",
           "profile_ours", "solutions", "startup_costs"]

LESSONS = {"01_preprocessing": "solutions/01_preprocessing/preprocessing.ipynb",
           "02_optimizers": "solutions/02_optimizers/optimizers.ipynb"}
BIN = Path(sys.executable).parent


def solutions() -> dict[str, list[str]]:
    """Every lesson's instructor notebooks, as paths from the repository root."""
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.glob("solutions/[0-9][0-9]_*/*.ipynb")):
        found.setdefault(path.parent.name, []).append(str(path.relative_to(ROOT)))
    return found


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


def build_lessons_class(folder: str | Path, learners: int = 2, lessons=None) -> Path:
    """Every learner submits every lesson's solution (``learnerNN/<lesson>/<notebook>.ipynb``)."""
    import nbformat

    folder = Path(folder)
    for lesson, notebooks in solutions().items():
        if lessons and lesson not in lessons:
            continue
        for notebook in notebooks:
            nb = filled_release(notebook)
            for i in range(learners):
                path = folder / f"learner{i:02d}" / lesson / Path(notebook).name
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(path))
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
    limits; the feedback page; saving the grades in the gradebook.
    """
    import nbformat

    from autograder.classrun import gradebook, run
    from autograder.execution import execute
    from autograder.grading import pipeline
    from autograder.grading.notebook import read_lesson
    from autograder.grading.pipeline import Job
    from autograder.sandbox import bubblewrap
    from autograder.sandbox.isolation import Limits

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
    boxes = bubblewrap.Pair()  # one worker's sandboxes, kept for every lesson as a worker keeps them
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
            source = ROOT / "solutions" / lesson / f"{path.stem}.ipynb"
            job = Job(path.parent.parent.name, lesson, path.stem, str(path))
            timers.clear()
            start = time.perf_counter()
            outcome = pipeline.grade(job, read_lesson(source), nbformat.read(str(source), 4),
                                     config.CourseDirectory.db_url, config, Limits(), boxes)
            total = time.perf_counter() - start
            start = time.perf_counter()
            gradebook.save_grades(config, job, outcome.rows, outcome.unanswered)
            timers["save grades (gradebook, from the rows)"] = time.perf_counter() - start
            results.append({"notebook": f"{lesson}/{path.stem}", **timers,
                            "total": total + timers["save grades (gradebook, from the rows)"]})
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
        boxes.close()
        shutil.rmtree(out, ignore_errors=True)
    return results


def startup_costs(repeats: int = 3) -> dict:
    """Seconds (best of ``repeats``) of a bare interpreter, and of one importing the grader."""
    def best(code: str) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), check=True)
            times.append(time.perf_counter() - start)
        return min(times)

    bare = best("pass")
    grader = best("import autograder.classrun.run, autograder.grading.pipeline")
    return {"interpreter start": bare, "grader imports": grader - bare}


# How profile_ours's phases add up to the parts of a notebook's cost named in issue 20.
PARTS = {
    "sandbox (learner + test process start)": ("start learner process (fork in its sandbox)",
                                               "start test process"),
    "learner cells": ("learner cells",),
    "tests": ("test cells (incl. test setup cells)",),
    "writing results (read, sanitize, limits, feedback page)": (
        "read + check the submission", "sanitize (nbgrader preprocessors)", "LimitOutput",
        "feedback page (nbconvert)"),
    "gradebook (from the rows)": ("save grades (gradebook, from the rows)",),
}


def print_breakdown(subs: Path, lessons: list[str]) -> None:
    """Where one notebook's time goes, per lesson, with the once-per-run costs beside it."""
    start = startup_costs()
    rows = profile_ours(subs, lessons)
    once = rows.pop(0)
    print("\nWhere the time goes (seconds; once per run, then one notebook per lesson, "
          "in-process):")
    print(f"  once per run: interpreter start {start['interpreter start']:.2f}, grader imports "
          f"{start['grader imports']:.2f}, preload before forking "
          f"{once['preload imports before forking']:.2f}, gradebook GenerateAssignment "
          f"{once['gradebook: nbgrader GenerateAssignment']:.2f} ({len(lessons)} lessons)")
    names = [row["notebook"] for row in rows]
    print(f"  {'part':58s}" + "".join(f"{n.split('/')[0]:>18s}" for n in names))
    for part, phases in PARTS.items():
        print(f"  {part:58s}" + "".join(f"{sum(row.get(p, 0.0) for p in phases):18.2f}"
                                        for row in rows))
    print(f"  {'total':58s}" + "".join(f"{row['total']:18.2f}" for row in rows))


def grade_both(name: str, subs: Path, lessons: list[str], base: Path, workers, serial: bool,
               rounds: int = 1) -> int:
    """Grade ``subs`` with nbgrader and with ours, ``rounds`` times in turn; print rates,
    ratio and the per-cell comparison.

    The two graders take turns (nbgrader, ours, nbgrader, ours...) so that a change in
    the machine's speed during the run weighs on both; the ratio is that of the total
    times.
    """
    n = _notebooks(subs)
    print(f"\n[{name}] {n} notebooks ({len({p.parent.parent.name for p in subs.glob('*/*/*.ipynb')})} "
          f"learners x {', '.join(lessons)}); load average {os.getloadavg()[0]:.1f}", flush=True)
    nbgrader_times, our_times, diffs = [], [], []
    for r in range(rounds):
        t_nbg, s_nbg = nbgrader_autograde(subs, lessons, base / f"{name}-nbgrader")
        t_ours, s_ours, _ = ours(subs, base / f"{name}-ours-{r}", workers)
        nbgrader_times.append(t_nbg)
        our_times.append(t_ours)
        print(f"  round {r + 1}: nbgrader autograde {t_nbg:6.1f} s, "
              f"ours ({workers or os.cpu_count()} workers) {t_ours:5.1f} s: {t_nbg / t_ours:.2f}x",
              flush=True)
        diffs += compare(s_nbg, s_ours)
    t_nbg, t_ours = sum(nbgrader_times), sum(our_times)
    print(f"  nbgrader autograde:    {t_nbg / rounds:7.1f} s  {n * rounds / t_nbg * 60:6.1f} notebooks/min"
          f"{' (mean of the rounds)' if rounds > 1 else ''}", flush=True)
    print(f"  ours ({workers or os.cpu_count()} workers):       {t_ours / rounds:7.1f} s  "
          f"{n * rounds / t_ours * 60:6.1f} notebooks/min", flush=True)
    if serial:
        t_one, s_one, _ = ours(subs, base / f"{name}-ours-serial", 1)
        print(f"  ours (1 worker):       {t_one:7.1f} s  {n / t_one * 60:6.1f} notebooks/min"
              f"  ({t_nbg / rounds / t_one:.2f}x nbgrader without parallelism)", flush=True)
        assert not compare(s_ours, s_one), compare(s_ours, s_one)[:5]
    print(f"  ratio: ours grades {t_nbg / t_ours:.2f}x as many notebooks per minute as nbgrader "
          f"(issue 20's target: >= 5x)")
    print(f"  per-cell scores: {len(s_ours)} graded cells"
          + (f" in each of {rounds} rounds" if rounds > 1 else "") + ", "
          + ("every one equal to nbgrader's" if not diffs else f"{len(diffs)} differ:"))
    for line in diffs[:20]:
        print("    " + line)
    return len(diffs)


def scaling(sizes: list[int], base: Path, workers) -> None:
    """Grade generated classes of ``sizes`` notebooks (lessons 01 and 02); print s/notebook."""
    print("\nScaling (ours, generated classes, lessons 01 and 02):")
    print(f"  {'notebooks':>9s} {'seconds':>9s} {'s/notebook':>11s}")
    for size in sizes:
        subs = build_class(base / f"scale-{size}" / "submitted", max(1, size // len(LESSONS)))
        n = _notebooks(subs)
        seconds, _, _ = ours(subs, base / f"scale-{size}" / "out", workers)
        print(f"  {n:9d} {seconds:9.1f} {seconds / n:11.2f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", default="generated,lessons",
                        help="which classes to grade with both graders (comma-separated)")
    parser.add_argument("--learners", type=int, default=12, help="generated class: learners")
    parser.add_argument("--lesson-learners", type=int, default=2,
                        help="class of the lessons' solutions: learners")
    parser.add_argument("--workers", type=int, default=None, help="ours: default all cores")
    parser.add_argument("--serial", action="store_true", help="also time ours with --workers 1")
    parser.add_argument("--profile-lessons", default="01_preprocessing,04_tuning",
                        help="a trivial and a heavy lesson for the breakdown ('' for none)")
    parser.add_argument("--no-profile", action="store_true", help="same as --profile-lessons ''")
    parser.add_argument("--scale", default="6,24,96",
                        help="class sizes (notebooks) of the scaling table ('' for none)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="grade each class this many times with each grader, in turn")
    parser.add_argument("--keep", help="keep the classes and outputs in this folder")
    args = parser.parse_args(argv)
    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        parser.error(f"{args.keep} is not empty (a rerun would reuse its grading state)")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    classes = [c for c in args.classes.split(",") if c]
    unknown = set(classes) - {"generated", "lessons"}
    if unknown:
        parser.error(f"--classes: unknown {sorted(unknown)}; choose from generated, lessons")
    profiled = [] if args.no_profile else [les for les in args.profile_lessons.split(",") if les]
    missing = set(profiled) - set(solutions())
    if missing:
        parser.error(f"--profile-lessons: no lesson {sorted(missing)} under solutions/")
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-grading-"))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    try:
        differ = 0
        if "generated" in classes:
            subs = build_class(base / "generated" / "submitted", args.learners)
            differ += grade_both("generated", subs, list(LESSONS), base, args.workers, args.serial,
                                 args.rounds)
        if "lessons" in classes:
            subs = build_lessons_class(base / "lessons" / "submitted", args.lesson_learners)
            differ += grade_both("lessons", subs, list(solutions()), base, args.workers,
                                 args.serial, args.rounds)
        if profiled:
            subs = build_lessons_class(base / "profile" / "submitted", 1, profiled)
            print_breakdown(subs, profiled)
        sizes = [int(x) for x in args.scale.split(",") if x]
        if sizes:
            scaling(sizes, base, args.workers)
        return 1 if differ else 0
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

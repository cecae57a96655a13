"""Command line: ``python -m autograder grade SUBMISSIONS --out OUT [--lesson ID ...] [--workers N]
[--scheduler ADDRESS] [--unconfined]``."""
from __future__ import annotations

import argparse
import os
import re
import sys

from autograder.sandbox.bubblewrap import ConfinementError
from autograder.sandbox.isolation import MAX_TASKS, Limits

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder",
                                     description="Grade Model Lifecycle Lab submissions.")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("grade", help="grade a class's submissions",
                           description="Grade every notebook in SUBMISSIONS (nbgrader's "
                           "submitted layout, <learner>/<lesson>/<notebook>.ipynb, or "
                           "<learner>.zip files) and write scores, grades, feedback and a report.")
    grade.add_argument("submissions", help="folder of submissions")
    grade.add_argument("--out", required=True, help="output folder (created; reruns resume)")
    grade.add_argument("--lesson", action="append", metavar="ID",
                       help="grade only this lesson (repeatable); default: all found")
    grade.add_argument("--workers", type=int, default=None,
                       help="notebooks graded at once (default: number of cores)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the running Dask cluster of this scheduler (tcp://HOST:PORT) "
                       "instead of this machine, each notebook confined on its worker as here "
                       "(see docs/instructor.md)")
    grade.add_argument("--cell-timeout", type=float, default=None,
                       help="seconds per cell or test (default: Execute.timeout in "
                       "nbgrader_config.py)")
    grade.add_argument("--notebook-timeout", type=float, default=300.0,
                       help="seconds per notebook (default: %(default)g)")
    grade.add_argument("--memory-mb", type=int, default=3072,
                       help="memory cap per grading process, in MiB (default: %(default)s)")
    grade.add_argument("--max-tasks", type=int, default=MAX_TASKS,
                       help="processes and threads one notebook may run at once (default: "
                       "%(default)s)")
    grade.add_argument("--due", metavar="DATE",
                       help="due date of the lessons graded (e.g. 2026-11-20T18:00Z; UTC if no "
                       "zone): submissions whose timestamp.txt is later are marked late in the "
                       "gradebook, grades.csv and the report")
    grade.add_argument("--unconfined", action="store_true",
                       help="grade without the sandbox (a trusted class only): learner code "
                       "runs with the grader's rights; the report and the last line say so")
    grade.add_argument("--without-tree-cap", action="store_true",
                       help="grade in the sandbox where no control group can cap a notebook's "
                       "tasks and memory (each process keeps its rlimits); the report says so")
    grade.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def _configured_cell_timeout() -> float:
    """``Execute.timeout`` of the course's ``nbgrader_config.py``: the one source of that limit."""
    from autograder.classrun.gradebook import nbgrader_config

    return float(nbgrader_config().Execute.timeout)


ISO_DUE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    # nbgrader runs `alembic` by name; keep this interpreter's tools first on PATH.
    bindir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    from autograder.classrun.run import available_lessons, grade_class

    if not os.path.isdir(args.submissions):
        parser.error(f"{args.submissions} is not a folder of submissions")
    known = available_lessons()
    unknown = sorted(set(args.lesson or []) - set(known))
    if unknown:
        parser.error(f"unknown lesson {', '.join(unknown)}; lessons: {', '.join(known)}")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.due is not None:
        from autograder.classrun.gradebook import _timestamp

        # ISO 8601 with a time only: 05/11/2026 reads as May 11 to a parser and as 5 November
        # to half the world, and a bare date would mean the midnight that starts the day.
        if not ISO_DUE.match(args.due.strip()) or _timestamp(args.due) is None:
            parser.error(f"--due {args.due!r}: give a date and time as YYYY-MM-DDTHH:MM, with a zone "
                         "or in UTC (e.g. 2026-11-20T18:00Z, 2026-11-20T23:59+01:00)")
    subs, out = os.path.realpath(args.submissions), os.path.realpath(args.out)
    if out == subs or out.startswith(subs + os.sep):
        parser.error(f"--out {args.out} is inside {args.submissions}, where it would be read as a "
                     "learner's submission; put it elsewhere (e.g. --out out/01)")
    stops: tuple = ()  # the cluster's faults, when grading on one
    if args.scheduler is not None:
        if not re.match(r"^[a-z]+://[^\s/]+:\d+$", args.scheduler):
            parser.error(f"--scheduler {args.scheduler!r}: give the Dask scheduler's address as "
                         "tcp://HOST:PORT (dask scheduler prints it)")
        if args.workers is not None:
            parser.error("--workers does not apply with --scheduler: the cluster's workers grade")
        from autograder.classrun.cluster import ClusterError, EnvironmentMismatch

        stops = (ClusterError, EnvironmentMismatch)
    if args.max_tasks < 16:  # the learner's process and its interpreter's own threads
        parser.error("--max-tasks must be at least 16")
    limits = Limits(args.cell_timeout or _configured_cell_timeout(), args.notebook_timeout,
                    args.memory_mb, max_tasks=args.max_tasks)
    try:
        summary = grade_class(args.submissions, args.out, args.lesson, args.workers, limits,
                              quiet=args.quiet, due=args.due, confined=not args.unconfined,
                              tree_cap=not args.without_tree_cap, scheduler=args.scheduler)
    except ConfinementError as error:
        print(f"Refusing to grade: {error}", file=sys.stderr)
        return 2
    except stops as error:
        print(f"Grading stopped: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"\nInterrupted. Every notebook graded so far is saved in {args.out}; run the same "
              "command again to grade the rest.", file=sys.stderr)
        return 130
    if not summary["notebooks"]:
        print(f"No submissions found in {args.submissions}. It must hold one folder per learner, "
              "<learner>/<lesson>/<notebook>.ipynb (as nbgrader collects them), or <learner>.zip "
              "files; is it a single learner's folder?", file=sys.stderr)
    graded = summary["graded"]
    rate = summary["graded"] / summary["seconds"] * 60 if summary["seconds"] else 0
    last = (f"Graded {graded} notebook{'' if graded == 1 else 's'} in {summary['seconds']:.1f} s "
            f"({rate:.0f} per minute). Report: {os.path.join(args.out, 'report.html')}")
    if args.unconfined:  # said even with --quiet: nobody should miss it
        last = "UNCONFINED: learner code ran with the grader's rights. " + last
    if args.unconfined or not args.quiet:
        print(last, file=sys.stderr)
    return 0

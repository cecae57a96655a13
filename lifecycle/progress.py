"""How far am I? Run the public checks of your own notebooks and see what passes.

From a terminal at the repository root::

    .venv/bin/python -m lifecycle.progress                 # every lesson in course/
    .venv/bin/python -m lifecycle.progress --lesson 02_optimizers

or from the last cell of a lesson notebook::

    from lifecycle.progress import show_progress
    show_progress("02_optimizers")

"Did I get it?" in seconds, from any cell of a lesson notebook, on the answers the
kernel has now (nothing is re-run)::

    from lifecycle.progress import check
    check()                  # every exercise: passed / failed with its message / not started
    check("audit_missing")   # one exercise

A notebook whose answers are all still the release's stub is reported as not
started without running it (``--all`` runs it anyway). Each other notebook of
``course/<lesson>/`` runs from top to bottom in a fresh kernel,
in a separate process with a time limit, so a notebook that loops forever or
crashes its kernel cannot hang the report. Then, per exercise, every graded test
cell is reported as passed or failed, with the first lines of the failing
check's message.

Only the *public* checks are run: your copy of the course holds no hidden
tests. Passing them all is a good sign, not a guarantee: the grader also runs
hidden tests on inputs you have not seen. Progress reads the notebook **as saved
on disk**, so save (Ctrl+S) before you check.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSON_DIR = re.compile(r"^\d\d_[a-z0-9_]+$")
# What Jupyter and file managers name a copy of ``name.ipynb``.
COPY_NAME = re.compile(r"^(.+?)(?:-Copy\d*| \(\d+\)| copy(?: \d+)?)\.ipynb$", re.IGNORECASE)
#: Set in the kernels that progress starts, so a ``show_progress()`` cell inside a
#: checked notebook does not start another check.
GUARD = "LIFECYCLE_PROGRESS_RUNNING"

__all__ = [
    "CheckResult",
    "NotebookReport",
    "check",
    "check_lessons",
    "check_notebook",
    "discover",
    "format_report",
    "main",
    "show_progress",
    "untouched",
]


@dataclass
class CheckResult:
    """The outcome of one graded test cell.

    Attributes
    ----------
    exercise : str
        ``grade_id`` of the answer cell the test belongs to (the nearest answer
        cell above it), or the test's own id if there is none.
    test : str
        ``grade_id`` of the test cell.
    points : float
        Points of the test cell.
    status : {"passed", "failed", "not started", "not run", "hidden"}
        ``not started``: the answer still raises ``NotImplementedError``;
        ``not run``: the notebook stopped (time limit, kernel crash) before it;
        ``hidden``: the cell holds hidden tests only (empty in your copy), so
        only grading can tell; its points are not counted here.
    message : str
        The failing check's message (empty when passed).
    """

    exercise: str
    test: str
    points: float
    status: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class NotebookReport:
    """Progress in one notebook.

    Attributes
    ----------
    lesson : str
        Lesson id, e.g. ``"01_preprocessing"``.
    notebook : str
        File name.
    checks : list of CheckResult
        One per graded test cell, in notebook order.
    problem : str
        Why the notebook could not be checked completely (empty if it could).
    """

    lesson: str
    notebook: str
    checks: list = field(default_factory=list)
    problem: str = ""

    @property
    def score(self) -> float:
        """Points of the test cells that pass."""
        return sum(c.points for c in self.checks if c.passed)

    @property
    def max_score(self) -> float:
        """Points that public checks can show (hidden-only cells excluded)."""
        return sum(c.points for c in self.checks if c.status != "hidden")

    @property
    def hidden_points(self) -> float:
        """Points of test cells that hold hidden tests only."""
        return sum(c.points for c in self.checks if c.status == "hidden")


def _nbgrader(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _error_message(outputs) -> tuple[str, str] | None:
    for out in outputs:
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), out.get("evalue", "")
            return ename, _strip_ansi(f"{ename}: {evalue}".strip())
    return None


def _has_code(source: str) -> bool:
    return any(ln.strip() and not ln.strip().startswith("#") for ln in source.splitlines())


def _results(nb, executed: set[int]) -> list[CheckResult]:
    """Read the graded test cells' verdicts from an executed notebook."""
    results, exercise, not_started = [], None, set()
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            exercise = meta.get("grade_id") or f"cell {index}"
            error = _error_message(cell.get("outputs", []))
            if error and error[0] == "NotImplementedError":
                not_started.add(exercise)
        if not meta.get("grade") or meta.get("solution"):
            continue
        test = meta.get("grade_id") or f"cell {index}"
        owner = exercise or test
        points = float(meta.get("points") or 0)
        error = _error_message(cell.get("outputs", []))
        if not _has_code(cell.source):
            status, message = "hidden", "hidden tests only: checked when your work is graded"
        elif index not in executed:
            status, message = "not run", "the notebook stopped before this cell"
        elif error is None:
            status, message = "passed", ""
        elif owner in not_started or "NotImplementedError" in error[1]:
            status, message = "not started", "not answered yet (the answer cell raises NotImplementedError)"
        else:
            status, message = "failed", error[1]
        results.append(CheckResult(owner, test, points, status, message))
    return results


def _run(path: Path, cell_timeout: int) -> dict:
    """Execute ``path`` in a fresh kernel; return the report as a dict (worker side)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(str(path), as_version=4)
    executed: set[int] = set()

    class Client(NotebookClient):
        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            executed.add(cell_index)
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    problem = ""
    client = Client(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                    interrupt_on_timeout=False, record_timing=False,
                    resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellTimeoutError:
        problem = f"a cell ran longer than {cell_timeout} s and was stopped"
    except DeadKernelError:
        problem = "the kernel died (out of memory, or the code crashed Python)"
    except Exception as exc:  # a notebook we cannot even start
        problem = f"could not run the notebook: {type(exc).__name__}: {exc}"
    report = NotebookReport(path.parent.name, path.name, _results(nb, executed), problem)
    return asdict(report)


def check_notebook(path, *, timeout: float = 300, cell_timeout: int = 60) -> NotebookReport:
    """Run one learner notebook's public checks in a separate process.

    Parameters
    ----------
    path : str or path-like
        A notebook under ``course/<lesson>/``.
    timeout : float, default=300
        Seconds for the whole notebook; past it the run is stopped.
    cell_timeout : int, default=60
        Seconds for any one cell.

    Returns
    -------
    NotebookReport
    """
    path = Path(path).resolve()
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    env[GUARD] = "1"
    cmd = [sys.executable, "-m", "lifecycle.progress", "--worker", str(path),
           "--cell-timeout", str(cell_timeout)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                             cwd=str(path.parent), start_new_session=True)
    except subprocess.TimeoutExpired:
        return _unchecked(path, f"stopped after {timeout:.0f} s: the notebook takes too long")
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
    if run.returncode != 0 or not lines:
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        return _unchecked(path, f"could not check the notebook: {tail[0]}")
    data = json.loads(lines[-1])
    data["checks"] = [CheckResult(**c) for c in data["checks"]]
    return NotebookReport(**data)


STUB = "raise NotImplementedError"


def untouched(path) -> bool:
    """Whether every answer cell of a notebook still holds the release's stub.

    Such a notebook is not started: its checks can only fail, so progress reports them
    as not started without running it (a minute or more saved per lesson).
    """
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - unreadable: let the check say why
        return False
    answers = [c for c in nb.cells if c.cell_type == "code" and _nbgrader(c).get("solution")]
    return bool(answers) and all(STUB in c.source for c in answers)


def _not_started(path: Path) -> NotebookReport:
    """The report of an untouched notebook, read without running it."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    checks = _results(nb, executed=set())
    for check in checks:
        if check.status == "not run":
            check.status, check.message = "not started", "not answered yet"
    return NotebookReport(path.parent.name, path.name, checks)


def check_lessons(paths: list[Path], *, everything: bool = False, timeout: float = 300,
                  cell_timeout: int = 60, file=None) -> list[NotebookReport]:
    """Check each notebook, saying what is done: untouched ones are not run.

    Parameters
    ----------
    paths : list of pathlib.Path
        The notebooks, from :func:`discover`.
    everything : bool, default=False
        Run untouched notebooks too.
    timeout : float, default=300
        Seconds per notebook.
    cell_timeout : int, default=60
        Seconds per cell.
    file : file-like, optional
        Where the progress lines go (``sys.stderr`` by default).

    Returns
    -------
    list of NotebookReport
    """
    file = file or sys.stderr
    skipped = [p for p in paths if not everything and untouched(p)]
    todo = [p for p in paths if p not in skipped]
    if skipped:
        names = ", ".join(f"{p.parent.name}/{p.name}" for p in skipped)
        print(f"Not started, so not run (every answer still raises NotImplementedError): "
              f"{names}", file=file, flush=True)
    reports = {}
    for i, path in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] running {path.parent.name}/{path.name} top to bottom in a "
              f"fresh kernel, as saved on disk (up to {timeout:.0f} s) ...", file=file, flush=True)
        reports[path] = check_notebook(path, timeout=timeout, cell_timeout=cell_timeout)
    for path in skipped:
        reports[path] = _not_started(path)
    return [reports[p] for p in paths]


def _unchecked(path: Path, problem: str) -> NotebookReport:
    """A report for a notebook that could not be run: every test ``not run``."""
    try:
        import nbformat

        nb = nbformat.read(str(path), as_version=4)
        checks = _results(nb, executed=set())
    except Exception:
        checks = []
    return NotebookReport(path.parent.name, path.name, checks, problem)


def discover(course: Path | None = None, lesson: str | None = None) -> list[Path]:
    """List the learner's lesson notebooks, ``course/<lesson>/*.ipynb``, in lesson order.

    Parameters
    ----------
    course : pathlib.Path, optional
        The course folder: ``$LIFECYCLE_COURSE_DIR`` if set, else ``<repository>/course``.
    lesson : str, optional
        Only this lesson id.

    Returns
    -------
    list of pathlib.Path
    """
    return [nb for nb in _lesson_files(course, lesson) if not COPY_NAME.match(nb.name)]


def copies(course: Path | None = None, lesson: str | None = None) -> list[Path]:
    """Notebooks named like copies (``preprocessing (1).ipynb``, ``...-Copy1.ipynb``).

    The grader looks only for a lesson notebook's released name, so a copy is
    graded ``missing`` unless it is renamed.
    """
    return [nb for nb in _lesson_files(course, lesson) if COPY_NAME.match(nb.name)]


def _lesson_files(course: Path | None, lesson: str | None) -> list[Path]:
    course = Path(course or os.environ.get("LIFECYCLE_COURSE_DIR") or ROOT / "course")
    if not course.is_dir():
        return []
    lessons = sorted(d for d in course.iterdir() if d.is_dir() and LESSON_DIR.match(d.name))
    if lesson is not None:
        lessons = [d for d in lessons if d.name == lesson]
    return [nb for d in lessons for nb in sorted(d.glob("*.ipynb"))
            if not nb.name.startswith(".") and "-checkpoint" not in nb.name]


def _warn_about_copies(course, lesson, file=None) -> None:
    for nb in copies(course, lesson):
        original = COPY_NAME.match(nb.name).group(1) + ".ipynb"
        print(f"Note: {nb.parent.name}/{nb.name} looks like a copy and is not checked; only "
              f"{nb.parent.name}/{original} is graded, so work in that one (or rename this one "
              "to it).", file=file or sys.stdout)


_MARK = {"passed": "PASS", "failed": "FAIL", "not started": "TODO", "not run": "----",
         "hidden": "HIDN"}


def _points(x: float) -> str:
    return f"{x:g}"


def format_report(reports: list[NotebookReport], *, width: int = 100) -> str:
    """Render reports as the text ``python -m lifecycle.progress`` prints.

    Parameters
    ----------
    reports : list of NotebookReport
    width : int, default=100
        Messages are cut to this many characters per line.

    Returns
    -------
    str
    """
    if not reports:
        return "No lesson notebooks found in course/ (run `make release`?)."
    out: list[str] = []
    for rep in reports:
        hidden = (f" (+{_points(rep.hidden_points)} in hidden-only tests, checked when graded)"
                  if rep.hidden_points else "")
        out.append(f"{rep.lesson}/{rep.notebook}: {_points(rep.score)} of "
                   f"{_points(rep.max_score)} points pass the public checks{hidden}")
        if rep.problem:
            out.append(f"  ! {rep.problem}")
        if rep.checks and all(c.status in ("not started", "hidden") for c in rep.checks):
            out += ["  not started: every exercise still raises NotImplementedError", ""]
            continue
        current = None
        for check in rep.checks:
            if check.exercise != current:
                current = check.exercise
                out.append(f"  exercise {current}")
            if check.status == "hidden":
                out.append(f"    [{_MARK[check.status]}] {check.test} ({_points(check.points)} pts) "
                           f"hidden tests only, checked when graded")
                continue
            out.append(f"    [{_MARK[check.status]}] {check.test} "
                       f"({_points(check.points if check.passed else 0)}/{_points(check.points)})"
                       + ("" if check.passed else f" {check.status}"))
            if check.status == "failed":
                for line in check.message.splitlines()[:6]:
                    out.append("           " + line[: width - 11])
        out.append("")
    total = sum(r.score for r in reports)
    maximum = sum(r.max_score for r in reports)
    done = sum(1 for r in reports for c in r.checks if c.passed)
    count = sum(1 for r in reports for c in r.checks if c.status != "hidden")
    out.append(f"Total: {_points(total)} of {_points(maximum)} points; {done} of {count} "
               f"test cells pass.")
    out.append("Public checks only: the grader also runs hidden tests, so full marks here "
               "are a good sign, not a guarantee.")
    return "\n".join(out)


def _current_notebook() -> Path | None:
    """The notebook this kernel belongs to, when JupyterLab started the kernel."""
    name = os.environ.get("JPY_SESSION_NAME")
    return Path(name) if name else None


def show_progress(lesson: str | None = None, *, course=None, force: bool = False,
                  timeout: float = 300) -> list[NotebookReport]:
    """Print which exercises pass their public checks (for a lesson's last cell).

    Save the notebook first: the check reads the files on disk. Outside JupyterLab
    (when a grader or a test runner executes the notebook) it prints one line and
    returns at once, unless ``force=True``; so does the instructor's copy under
    ``solutions/``.

    Parameters
    ----------
    lesson : str, optional
        Lesson id such as ``"01_preprocessing"``. When omitted: the lesson of the
        notebook this runs in, or every lesson if that is not a lesson folder.
    course : path-like, optional
        The course folder (``course/`` by default).
    force : bool, default=False
        Check even when not running inside JupyterLab.
    timeout : float, default=300
        Seconds per notebook.

    Returns
    -------
    list of NotebookReport
        Empty when skipped.

    Examples
    --------
    The last cell of lesson 2::

        from lifecycle.progress import show_progress
        show_progress("02_optimizers")
    """
    if os.environ.get(GUARD):
        return []
    here = _current_notebook()
    if not force and here is None:
        print("show_progress: skipped (not running inside JupyterLab); "
              "run `python -m lifecycle.progress` in a terminal instead.")
        return []
    if not force and "solutions" in here.parts:
        print("show_progress: skipped in the instructor's copy under solutions/; "
              "it checks the learner's notebooks in course/.")
        return []
    if lesson is None and here is not None and LESSON_DIR.match(here.parent.name):
        lesson = here.parent.name
    paths = discover(Path(course) if course else None, lesson)
    _warn_about_copies(Path(course) if course else None, lesson)
    reports = check_lessons(paths, timeout=timeout, file=sys.stdout)
    print(format_report(reports))
    return reports


def _exercises(nb) -> list[tuple[str, str, list]]:
    """``(answer grade_id, answer source, test cells)`` per exercise, in notebook order."""
    found = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            found.append((meta.get("grade_id", "?"), cell.source, []))
        elif meta.get("grade") and found and _has_code(cell.source):
            found[-1][2].append(cell)
    return [ex for ex in found if ex[2]]


def check(exercise: str | None = None, *, notebook=None, shell=None) -> dict[str, str]:
    """Did I get it? Run each exercise's public checks on this kernel's answers, in seconds.

    Nothing is re-run: the checks of the saved notebook run on what this kernel has
    defined, so run your answer cell first. Per exercise it prints passed, failed with
    the check's message, or not started.

    Parameters
    ----------
    exercise : str, optional
        Only this exercise: the name in its answer cell (e.g. ``"audit_missing"``).
    notebook : path-like, optional
        The notebook whose checks to run; the one this kernel belongs to by default.
    shell : IPython.core.interactiveshell.InteractiveShell, optional
        Where the answers live; this kernel's by default.

    Returns
    -------
    dict
        Exercise to ``"passed"``, ``"failed"`` or ``"not started"``.

    Examples
    --------
    In a new cell under your answer::

        from lifecycle.progress import check
        check("audit_missing")
    """
    import contextlib

    import nbformat
    from IPython import get_ipython

    shell = shell or get_ipython()
    path = Path(notebook) if notebook else _current_notebook()
    if shell is None or path is None:
        print("check: run it in a lesson notebook in JupyterLab (or pass notebook= and shell=).")
        return {}
    exercises = _exercises(nbformat.read(str(path), as_version=4))
    if exercise is not None:
        exercises = [ex for ex in exercises if ex[0] == exercise]
        if not exercises:
            names = ", ".join(ex[0] for ex in _exercises(nbformat.read(str(path), as_version=4)))
            print(f"check: no exercise {exercise!r} in {path.name}; exercises: {names}")
            return {}
    verdicts = {}
    for name, _, tests in exercises:
        failure = None
        for cell in tests:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                result = shell.run_cell(cell.source, store_history=False, silent=True)
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                failure = error
                break
        points = sum(float(_nbgrader(c).get("points") or 0) for c in tests)
        if failure is None:
            verdicts[name] = "passed"
            print(f"[PASS] {name}: the public checks pass ({_points(points)} points; hidden "
                  "checks run when graded)")
        elif isinstance(failure, NotImplementedError) or "NotImplementedError" in repr(failure):
            verdicts[name] = "not started"
            print(f"[TODO] {name}: not started (the answer raises NotImplementedError)")
        else:
            verdicts[name] = "failed"
            message = f"{type(failure).__name__}: {failure}".strip()
            print(f"[FAIL] {name}:\n" + "\n".join("    " + ln for ln in message.splitlines()[:8]))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 0 when every public check passes, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m lifecycle.progress",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--course", type=Path, default=None, help="course folder (default course/)")
    parser.add_argument("--lesson", default=None, help="only this lesson, e.g. 01_preprocessing")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per notebook")
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--all", action="store_true",
                        help="also run notebooks not started (every answer still the stub)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_run(args.worker.resolve(), args.cell_timeout)))
        return 0
    paths = discover(args.course, args.lesson)
    if args.lesson and not paths:
        known = sorted({p.parent.name for p in discover(args.course)})
        print(f"No notebooks for lesson {args.lesson!r} in {args.course or 'course/'}; "
              f"lessons: {', '.join(known) or 'none'}.", file=sys.stderr)
        return 2
    _warn_about_copies(args.course, args.lesson, file=sys.stderr)
    reports = check_lessons(paths, everything=args.all, timeout=args.timeout,
                            cell_timeout=args.cell_timeout,
                            file=io.StringIO() if args.json else sys.stderr)
    if args.json:
        print(json.dumps([asdict(r) for r in reports], indent=2))
    else:
        print(format_report(reports))
    complete = bool(reports) and all(c.passed or c.status == "hidden"
                                     for r in reports for c in r.checks)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for the browser tests: a course copy, a JupyterLab server, a Chromium.

The server is started through :func:`lifecycle.lab.lab_command`, the same
configuration ``make lab`` uses, on a free loopback port with a temporary copy of
``course/``. The browser is Debian's ``chromium`` driven by the pinned Playwright
package (``executable_path``); no browser is ever downloaded.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

from lifecycle.lab import free_port, lab_command
from tests.conftest import released_course

ROOT = Path(__file__).resolve().parent.parent
#: Screenshots for reviewers, outside the repository (running the tests writes nothing
#: into it); ``$LIFECYCLE_SCREENSHOTS`` chooses another folder.
SCREENSHOTS = Path(os.environ.get("LIFECYCLE_SCREENSHOTS")
                   or Path(tempfile.gettempdir()) / "model-lifecycle-lab-screenshots")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Return the system Chromium, or ``None``.

    ``$CHROMIUM_PATH``, when set, is the only candidate (``CHROMIUM_PATH=none`` turns
    the browser tests off); otherwise Debian's ``/usr/bin/chromium``.
    """
    override = os.environ.get("CHROMIUM_PATH")
    for candidate in ([override] if override else CHROMIUM_CANDIDATES):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_browser_reason() -> str | None:
    """Why the browser tests cannot run here, or ``None`` if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    if chromium_path() is None:
        where = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
        return (f"no Chromium at {where}; install Debian's browser with "
                "`apt-get install -y chromium` (or set CHROMIUM_PATH) to run them")
    return None


def _nbg(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def lesson_notebooks(course: Path | None = None) -> list[tuple[str, str]]:
    """``(lesson, stem)`` of every release notebook that has a solution notebook."""
    found = []
    for path in sorted((course or released_course()).glob("[0-9][0-9]_*/*.ipynb")):
        if (ROOT / "solutions" / path.parent.name / path.name).exists():
            found.append((path.parent.name, path.stem))
    return found


def answer_ids(lesson: str, stem: str) -> list[str]:
    """grade_ids of the answer cells of a release notebook, in order."""
    nb = nbformat.read(str(released_course() / lesson / f"{stem}.ipynb"), as_version=4)
    return [_nbg(c)["grade_id"] for c in nb.cells if c.cell_type == "code" and _nbg(c).get("solution")]


def filled(lesson: str, stem: str, keep_stub: tuple[str, ...] = ()):
    """The release notebook with its answer cells filled from ``solutions/``.

    Parameters
    ----------
    lesson, stem : str
        Which notebook.
    keep_stub : tuple of str
        grade_ids of answer cells to leave as the release stub (a broken notebook).
    """
    from autograder.grading.notebook import filled_release

    return filled_release(ROOT / "solutions" / lesson / f"{stem}.ipynb",
                          dict.fromkeys(keep_stub))


def graded_cells_after(nb, answer_id: str) -> list[str]:
    """grade_ids of the test cells that follow answer cell ``answer_id`` (until the next one)."""
    out, inside = [], False
    for c in nb.cells:
        meta = _nbg(c)
        if c.cell_type != "code":
            continue
        if meta.get("solution"):
            inside = meta.get("grade_id") == answer_id
        elif inside and meta.get("grade"):
            out.append(meta["grade_id"])
    return out


class LabServer:
    """JupyterLab started the way ``make lab`` starts it, on a free port.

    Parameters
    ----------
    course_dir : pathlib.Path
        The (temporary) course folder to serve.
    state_dir : pathlib.Path
        Where the Jupyter configuration goes (temporary too).
    mode : str
        ``"learner"`` or ``"instructor"``.
    extra_args : tuple of str
        More JupyterLab options (the tests add ``--LabApp.expose_app_in_browser=True``
        to wait on JupyterLab's own promises instead of sleeping).
    graded : pathlib.Path, optional
        Instructor mode: a grading run's output folder for the formgrader.
    """

    def __init__(self, course_dir: Path, state_dir: Path, mode: str = "learner",
                 extra_args: tuple = (), graded: Path | None = None):
        self.port = free_port()
        self.token = "lifecycle-test-" + os.urandom(6).hex()
        self.launch = lab_command(self.port, mode, course_dir=course_dir, state_dir=state_dir,
                                  token=self.token, open_browser=False, extra_args=extra_args,
                                  graded=graded)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = state_dir / f"jupyterlab-{mode}.log"
        self.proc: subprocess.Popen | None = None

    def url(self, path: str = "/lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def start(self, timeout: float = 60) -> LabServer:
        env = dict(self.launch.env)
        # Each JupyterLab of the test run gets its own runtime folder.
        env["JUPYTER_RUNTIME_DIR"] = str(self.log_path.parent / "runtime")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.launch.argv, env=env, cwd=self.launch.cwd,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url("/api/status"), timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s: {self.log()[-2000:]}")

    def get(self, path: str) -> int:
        """HTTP status of ``GET path`` (with the token)."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def copy_course(dest: Path) -> Path:
    """Copy ``course/`` (notebooks and landing page, no checkpoints) to ``dest``."""
    shutil.copytree(released_course(), dest,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest

"""Start JupyterLab on the course, the way ``make lab`` does.

``python -m lifecycle.lab [--port 8888] [--mode learner|instructor]`` starts
JupyterLab on ``127.0.0.1`` with the course's own Jupyter configuration, kept in
the git-ignored folder ``.lab/<mode>/`` and passed to the launched process only
(``JUPYTER_CONFIG_DIR``, ``JUPYTERLAB_SETTINGS_DIR``, ``JUPYTERLAB_WORKSPACES_DIR``),
so the user's own ``~/.jupyter`` is neither read nor changed.

Two modes:

``learner`` (default)
    The file browser shows ``course/`` and opens on its landing page
    ``course/README.md``. nbgrader's Validate button is on every notebook's
    toolbar; the instructor's tools (Create Assignment, Formgrader, Course List,
    Assignment List and the Nbgrader menu) are switched off, in the browser and on
    the server.
``instructor``
    The file browser shows the repository root (``solutions/`` and ``course/``),
    opens on the instructor's guide ``docs/instructor.md``, and every nbgrader tool
    is on; the formgrader shows a graded class (``--graded OUT``, by default what
    ``make grade`` wrote) with no configuration by hand.

Both modes: no first-run pop-ups (the news prompt, update checks), Markdown opens
rendered, the port is checked before starting (a clear message if it is taken),
``--allow-root`` is added when running as root (CI, containers).

The browser tests start JupyterLab through :func:`lab_command`, so what they see
is what ``make lab`` gives a learner.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

MIN_PYTHON = (3, 10)
ROOT = Path(__file__).resolve().parent.parent
MODES = ("learner", "instructor")
LANDING_PAGE = "README.md"
INSTRUCTOR_PAGE = "docs/instructor.md"
EXAMPLE_CLASS = ROOT / "out" / "example-class"  # what `make grade` writes

#: nbgrader's JupyterLab plugins (``@jupyter/nbgrader`` 0.9) a learner does not need.
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
)
#: The Assignments tab (fetch, submit, feedback): a learner's on the workshop's hub.
ASSIGNMENTS_PLUGIN = "@jupyter/nbgrader:assignment-list"
ASSIGNMENTS_SERVER_EXTENSION = "nbgrader.server_extensions.assignment_list"
#: nbgrader's course id (``nbgrader_config.py``), which the exchange files lessons under.
COURSE_ID = "model-lifecycle-lab"
#: The plugin that puts the Validate button on the notebook toolbar.
VALIDATE_PLUGIN = "@jupyter/nbgrader:validate-assignment"

#: The Validate dialog shows lifecycle.validate's per-exercise summary: nbgrader's label
#: "The following cell failed:" above it would not be true.
VALIDATE_CSS = """.validation-failed > div > p { display: none; }
.validation-failed > .jp-RenderedText:first-of-type pre { font-weight: bold; }
"""

#: nbgrader's server extensions behind the instructor's tools.
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.assignment_list",
)

#: Default settings for every user of the course's JupyterLab (the user may still
#: change them): no news prompt, no update check, Markdown opens rendered.
SETTING_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"markdown": "Markdown Preview"},
    },
}

__all__ = [
    "INSTRUCTOR_PLUGINS",
    "LabError",
    "LabLaunch",
    "check_port",
    "check_python",
    "graded_class",
    "lab_command",
    "main",
    "write_config",
]


class LabError(RuntimeError):
    """A problem the person running ``make lab`` can fix; the message says how."""


@dataclass
class LabLaunch:
    """Everything needed to start the course's JupyterLab.

    Attributes
    ----------
    argv : list of str
        The command line (``python -m jupyterlab ...``).
    env : dict
        The environment of the launched process: the caller's plus the course's
        Jupyter folders.
    cwd : pathlib.Path
        Working directory. It is the repository root so that nbgrader's Validate
        reads the course's ``nbgrader_config.py``.
    url : str
        Where the landing page is, without the token.
    root_dir : pathlib.Path
        The folder the file browser shows.
    """

    argv: list[str]
    env: dict
    cwd: Path
    url: str
    root_dir: Path
    state_dir: Path = field(default=ROOT / ".lab")


def check_python(version: tuple = tuple(sys.version_info[:2])) -> None:
    """Raise :class:`LabError` if ``version`` is older than :data:`MIN_PYTHON`.

    Parameters
    ----------
    version : tuple of int
        ``(major, minor)``; the running interpreter's by default.
    """
    if tuple(version[:2]) < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        have = ".".join(map(str, version[:2]))
        raise LabError(
            f"Python {need} or newer is needed; this is Python {have}.\n"
            f"Install a newer Python, then run: rm -rf .venv && make lab PYTHON=python3.12"
        )


def check_port(port: int, host: str = "127.0.0.1") -> None:
    """Raise :class:`LabError` if ``host:port`` cannot be bound.

    Parameters
    ----------
    port : int
        TCP port, 1-65535.
    host : str, default="127.0.0.1"
        Interface to bind.
    """
    if not 0 < port < 65536:
        raise LabError(f"--port must be between 1 and 65535, not {port}.")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers themselves bind: a port left in TIME_WAIT by a server just
        # stopped (Ctrl-C, then the same command again) is free, a listening one is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LabError(
                    f"Port {port} on {host} is already in use (another JupyterLab, perhaps "
                    f"an earlier `make lab` still running).\n"
                    f"Stop it, or pick another port: make lab PORT={port + 1}"
                ) from None
            if exc.errno == errno.EACCES:
                raise LabError(
                    f"Port {port} needs special privileges; pick one above 1024: "
                    f"make lab PORT=8888"
                ) from None
            raise


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def graded_class(out: Path) -> dict | None:
    """nbgrader's folders of a class graded by ``python -m autograder grade --out OUT``.

    Parameters
    ----------
    out : pathlib.Path
        The grading run's output folder.

    Returns
    -------
    dict or None
        ``CourseDirectory`` settings (gradebook, autograded and submitted folders) for the
        formgrader, or ``None`` when ``out`` holds no gradebook. The submissions folder is
        where the run found the notebooks (its saved state records each path).
    """
    from collections import Counter

    out = Path(out).resolve()
    if not (out / "gradebook.db").is_file():
        return None
    folders = Counter()
    for state in (out / ".state").glob("*/*/*.json"):
        try:
            job = json.loads(state.read_text(encoding="utf-8"))["job"]
            path = Path(job["path"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if path.parts[-3:-1] == (job["learner"], job["lesson"]):
            folders[str(path.parents[2])] += 1
    settings = {"db_url": f"sqlite:///{out / 'gradebook.db'}",
                "autograded_directory": str(out / "autograded"),
                "feedback_directory": str(out / "feedback")}
    if folders:
        settings["submitted_directory"] = folders.most_common(1)[0][0]
    return settings


def write_config(mode: str, state_dir: Path | None = None,
                 graded: Path | None = None, *, exchange: Path | None = None,
                 assignments: bool = False, course: dict | None = None) -> dict[str, Path]:
    """Write the Jupyter configuration of ``mode`` under ``state_dir/mode``.

    Parameters
    ----------
    mode : {"learner", "instructor"}
        Which tools to show.
    state_dir : pathlib.Path, optional
        Parent folder; ``<repository>/.lab`` (git-ignored) by default.
    graded : pathlib.Path, optional
        Instructor mode: a grading run's output folder, shown in the formgrader.
    exchange : pathlib.Path, optional
        The nbgrader exchange (``make hub``'s shared folder); by default instructor mode
        gets a private one under ``state_dir`` and learner mode none.
    assignments : bool, default=False
        Learner mode: also switch on nbgrader's Assignments tab (fetch, submit, fetch
        feedback), as on the workshop's hub.
    course : dict, optional
        Instructor mode: ``CourseDirectory`` settings to use instead of ``graded``'s.

    Returns
    -------
    dict
        ``{"config": ..., "settings": ..., "workspaces": ...}``: the folders to
        pass as ``JUPYTER_CONFIG_DIR``, ``JUPYTERLAB_SETTINGS_DIR`` and
        ``JUPYTERLAB_WORKSPACES_DIR``.
    """
    if mode not in MODES:
        raise LabError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}.")
    base = Path(state_dir or ROOT / ".lab") / mode
    dirs = {name: base / name for name in ("config", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    learner = mode == "learner"
    # Browser side: which JupyterLab plugins load.
    disabled = {plugin: learner for plugin in INSTRUCTOR_PLUGINS}
    if learner and assignments:
        # The Nbgrader menu opens the Assignments tab; its other entries stay hidden, their
        # plugins being off (a menu item of an unregistered command is not shown).
        disabled[ASSIGNMENTS_PLUGIN] = False
        disabled["@jupyter/nbgrader:menu"] = False
    _write_json(dirs["config"] / "labconfig" / "page_config.json",
                {"disabledExtensions": disabled})
    _write_json(dirs["config"] / "labconfig" / "default_setting_overrides.json",
                SETTING_OVERRIDES)
    # Server side: nbgrader's handlers.
    extensions = {name: not learner for name in INSTRUCTOR_SERVER_EXTENSIONS}
    # Validate answers per exercise (lifecycle.validate serves nbgrader's Validate URLs).
    extensions["nbgrader.server_extensions.validate_assignment"] = False
    extensions["lifecycle.validate"] = True
    if learner and assignments:
        extensions[ASSIGNMENTS_SERVER_EXTENSION] = True
    # No news feed, no update check: nothing pops up on a learner's first start.
    _write_json(dirs["config"] / "jupyter_server_config.json",
                {"ServerApp": {"jpserver_extensions": extensions},
                 "LabApp": {"news_url": None, "custom_css": True,
                            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}})
    (dirs["config"] / "custom").mkdir(exist_ok=True)
    (dirs["config"] / "custom" / "custom.css").write_text(VALIDATE_CSS)
    if learner and exchange is not None:
        _write_json(dirs["config"] / "nbgrader_config.json",
                    {"Exchange": {"root": str(exchange)},
                     "CourseDirectory": {"course_id": COURSE_ID}})
    if not learner:
        # nbgrader's default exchange (/usr/local/share/nbgrader/exchange) needs root, and
        # the formgrader warns on every page without one. A folder of this machine lets an
        # instructor try Release and Collect; a hub's nbgrader_config.py overrides it.
        if exchange is None:
            exchange = base / "exchange"
            exchange.mkdir(exist_ok=True)
        nbgrader = {"Exchange": {"root": str(exchange)}}
        if course is None:
            course = graded_class(graded) if graded is not None else None
        if course:  # the formgrader lists this class's submissions and scores
            nbgrader["CourseDirectory"] = course
        _write_json(dirs["config"] / "nbgrader_config.json", nbgrader)
    return dirs


def lab_command(port: int = 8888, mode: str = "learner", *, course_dir: Path | None = None,
                state_dir: Path | None = None, token: str | None = None,
                open_browser: bool = True, extra_args: tuple = (),
                graded: Path | None = None) -> LabLaunch:
    """Build the command, environment and folder that start the course's JupyterLab.

    Parameters
    ----------
    port : int, default=8888
        Port on 127.0.0.1. JupyterLab is told not to try other ports.
    mode : {"learner", "instructor"}, default="learner"
        See the module docstring.
    course_dir : pathlib.Path, optional
        The learner's folder; ``<repository>/course`` by default. A test passes a
        temporary copy.
    state_dir : pathlib.Path, optional
        Where the configuration is written; ``<repository>/.lab`` by default.
    token : str, optional
        Fixed login token (tests); JupyterLab makes one up when omitted.
    open_browser : bool, default=True
        Whether JupyterLab opens a browser tab.
    extra_args : tuple of str
        More ``--Class.trait=value`` options.
    graded : pathlib.Path, optional
        Instructor mode: the output folder of a grading run, whose class the formgrader
        shows (see :func:`graded_class`).

    Returns
    -------
    LabLaunch
    """
    dirs = write_config(mode, state_dir, graded)
    course = Path(course_dir or ROOT / "course").resolve()
    if not course.is_dir():
        raise LabError(f"{course} does not exist; run `make release` to create the course.")
    root_dir = course if mode == "learner" else ROOT
    landing = root_dir / LANDING_PAGE
    if mode == "instructor":
        landing = root_dir / INSTRUCTOR_PAGE
    default_url = ("/lab/tree/" + landing.relative_to(root_dir).as_posix()
                   if landing.exists() else "/lab")
    argv = [
        sys.executable, "-m", "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        f"--ServerApp.default_url={default_url}",
        f"--LabApp.default_url={default_url}",
        f"--ServerApp.open_browser={open_browser}",
    ]
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")
    argv.extend(extra_args)
    # Plots show inline in JupyterLab: a backend chosen for scripts (MPLBACKEND=Agg,
    # as test runners set) would make plt.show() draw nothing.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "LIFECYCLE_COURSE_DIR": str(course),
    })
    # The venv's tools first: nbgrader calls `alembic` by name.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return LabLaunch(argv=argv, env=env, cwd=ROOT, url=f"http://127.0.0.1:{port}{default_url}",
                     root_dir=root_dir, state_dir=Path(state_dir or ROOT / ".lab"))


def main(argv: list[str] | None = None) -> int:
    """Command line: check, configure and start JupyterLab (replaces this process)."""
    parser = argparse.ArgumentParser(prog="python -m lifecycle.lab", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default 8888)")
    parser.add_argument("--mode", choices=MODES, default="learner",
                        help="learner (default): Validate only; instructor: all nbgrader tools")
    parser.add_argument("--course", type=Path, default=None, help="course folder (default course/)")
    parser.add_argument("--graded", type=Path, default=None,
                        help="instructor mode: a grading run's --out folder to show in the "
                        "formgrader (default: out/example-class, written by `make grade`)")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="where the Jupyter configuration goes (default .lab/, git-ignored)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--dry-run", action="store_true", help="print the command and exit")
    args = parser.parse_args(argv)
    try:
        check_python()
        check_port(args.port)
        graded = args.graded or (EXAMPLE_CLASS if args.mode == "instructor" else None)
        if args.graded and graded_class(args.graded) is None:
            raise LabError(f"--graded {args.graded}: no gradebook.db there; give the --out "
                           "folder of `python -m autograder grade`.")
        launch = lab_command(args.port, args.mode, course_dir=args.course,
                             state_dir=args.state_dir, open_browser=not args.no_browser,
                             graded=graded)
    except LabError as exc:
        print(f"make lab: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(" ".join(launch.argv))
        return 0
    if args.mode == "instructor":
        course = graded_class(graded)
        print(f"Formgrader (Nbgrader > Formgrader): the class graded in {graded}" if course else
              "Formgrader: no graded class yet; `make grade` grades the example class, or "
              "pass --graded OUT (make lab MODE=instructor GRADED=OUT)", flush=True)
    print(f"Model Lifecycle Lab ({args.mode} mode): starting JupyterLab on {launch.root_dir}\n"
          f"  open {launch.url} (the login token is in the link printed below)\n"
          f"  stop with Ctrl+C", flush=True)
    os.chdir(launch.cwd)
    os.execve(launch.argv[0], launch.argv, launch.env)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())

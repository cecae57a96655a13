"""``make hub``: set up and start the workshop's JupyterHub (``python -m lifecycle.hub``).

Creates the state folder (:mod:`lifecycle.hub.layout`), the accounts of the class list
(:mod:`lifecycle.hub.accounts`), the Jupyter configuration, then replaces itself with
``jupyterhub``, which starts the proxy, the grading service and, as users log in, their
servers. Ctrl-C stops all of them; every learner's files stay in their home, the queue
and the gradebook in the state folder, and the next ``make hub`` carries on.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from lifecycle.hub.accounts import AccountError, ensure_accounts, read_class_list
from lifecycle.hub.layout import HubLayout, protect_instructor_files
from lifecycle.lab import ROOT, LabError, check_port, free_port

__all__ = ["PROXY", "main", "prepare"]

#: configurable-http-proxy as the Makefile installs it (``npm ci`` into the venv).
PROXY = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULT_STATE = ROOT / ".hub"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.hub",
                                     description="Start the workshop's JupyterHub.")
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for a room "
                        "reaching this machine, behind HTTPS: see docs/instructor.md)")
    parser.add_argument("--port", type=int, default=8000, help="public port (default 8000)")
    parser.add_argument("--class", dest="class_list", type=Path, default=None,
                        help="class list: one learner username a line (default: "
                        ".hub/class.txt if it exists)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help="state folder (default .hub)")
    parser.add_argument("--homes", type=Path, default=Path("/home"),
                        help="parent of the learners' home folders (default /home)")
    parser.add_argument("--proxy", type=Path, default=PROXY, help=argparse.SUPPRESS)
    parser.add_argument("--accounts-only", action="store_true",
                        help="create the class list's accounts and exit (adding learners to "
                        "a running hub)")
    parser.add_argument("--grading-arg", action="append", default=[], help=argparse.SUPPRESS)
    return parser


def prepare(args) -> tuple[HubLayout, dict]:
    """Everything but starting: folders, accounts, configuration, settings file.

    Returns
    -------
    (HubLayout, dict)
        The layout and the settings ``jupyterhub_config.py`` reads.
    """
    if os.getuid() != 0:
        raise LabError("make hub runs every learner's server as their own Unix user, so it "
                       "must run as root: sudo make hub")
    if not args.proxy.exists():
        raise LabError(f"configurable-http-proxy is not installed at {args.proxy}; "
                       "`make hub` installs it (npm ci), or run: make hub-setup")
    if shutil.which("bwrap") is None:
        raise LabError("grading on submit confines learner code with bubblewrap, which is "
                       "missing: apt-get install bubblewrap")
    if not (ROOT / "course").is_dir():
        raise LabError("course/ is missing; run `make release`")
    layout = HubLayout(args.state.resolve(), args.homes.resolve())
    layout.create()
    protect_instructor_files()
    layout.write_jupyter_config()
    class_list = args.class_list or (layout.state / "class.txt")
    learners = read_class_list(class_list) if class_list.exists() else []
    if args.class_list and not args.class_list.exists():
        raise LabError(f"--class {args.class_list}: no such file (one username a line)")
    layout.homes.mkdir(parents=True, exist_ok=True)
    created = ensure_accounts(layout.accounts, learners, layout.homes)
    if created:
        print(f"Accounts created: {', '.join(created)}; their passwords are in "
              f"{layout.accounts / 'passwords.csv'} (hand each learner their line)", flush=True)
    if not learners:
        print(f"No learners yet: write one username a line into {class_list} and run "
              "`make hub` again (or with --accounts-only while it runs)", flush=True)
    settings = {
        "state": str(layout.state), "hub_dir": str(layout.hub),
        "accounts_dir": str(layout.accounts), "ip": args.ip, "port": args.port,
        "hub_port": free_port(), "proxy_api_port": free_port(), "service_port": free_port(),
        "proxy": str(args.proxy), "grading_args": list(args.grading_arg),
    }
    layout.settings.write_text(json.dumps(settings, indent=1))
    return layout, settings


def main(argv: list[str] | None = None) -> int:
    """Command line; replaces this process with ``jupyterhub``."""
    args = _parser().parse_args(argv)
    try:
        if not args.accounts_only:
            check_port(args.port, "127.0.0.1" if args.ip == "127.0.0.1" else "0.0.0.0")
        layout, settings = prepare(args)
    except (LabError, AccountError) as exc:
        print(f"make hub: {exc}", file=sys.stderr)
        return 2
    if args.accounts_only:
        return 0
    host = "127.0.0.1" if args.ip in ("127.0.0.1", "0.0.0.0") else args.ip
    print(f"Model Lifecycle Lab workshop hub: http://{host}:{args.port}/\n"
          f"  instructor: log in as 'instructor' (password in {layout.accounts / 'passwords.csv'})\n"
          f"  live view: http://{host}:{args.port}/services/grading/\n"
          "  stop with Ctrl+C (all work is kept; `make hub` again carries on)", flush=True)
    env = dict(os.environ, LIFECYCLE_HUB_SETTINGS=str(layout.settings))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    argv = [str(Path(sys.executable).parent / "jupyterhub"), "-f",
            str(Path(__file__).with_name("jupyterhub_config.py"))]
    os.chdir(layout.hub)
    os.execve(argv[0], argv, env)
    return 0  # pragma: no cover - execve does not return

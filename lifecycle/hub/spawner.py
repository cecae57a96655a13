"""The spawner: each user's JupyterLab runs as that user's own Unix user.

Learners run as ``mll-<name>`` in their home (mode 0700) with ``make lab``'s learner
configuration plus nbgrader's Assignments tab; the instructor's server runs as the
user who started the hub, on the repository root, with every nbgrader tool (as
``make lab MODE=instructor``).
"""
from __future__ import annotations

import os
import pwd
import shlex
import stat
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Unicode

from lifecycle.hub.accounts import INSTRUCTOR, unix_name
from lifecycle.hub.layout import HubLayout
from lifecycle.lab import INSTRUCTOR_PAGE, ROOT

__all__ = ["CourseSpawner", "hidden_interpreter"]


def hidden_interpreter() -> tuple[Path, Path] | None:
    """``(closed_folder, python_prefix)`` if other users cannot reach this Python, else None.

    A Python installed under a folder only its owner may enter (pyenv under ``/root``, as on
    the course's CI) cannot run a learner's server as that learner. The learner's server
    then starts in its own mount namespace where that folder is an empty one, with only
    the Python installation bound into it, read-only: the learner runs the course's
    interpreter and sees nothing else of that folder.
    """
    prefix = Path(sys.base_prefix).resolve()
    for folder in reversed(prefix.parents):
        if folder != Path("/") and not folder.stat().st_mode & stat.S_IXOTH:
            return folder, prefix
    return None


def server_command(unix_user: str, cmd: list[str], stage: Path) -> list[str]:
    """``cmd`` run as ``unix_user`` with the course's Python reachable (see above).

    ``unshare``, ``sh`` and ``setpriv`` each ``exec`` the next, so the process the hub
    started and signals is the server itself. Any failing step ends the start (``set -e``):
    the server never runs as root.
    """
    closed, prefix = hidden_interpreter()
    q = shlex.quote
    script = " && ".join([
        "set -e",
        f"mount --bind {q(str(prefix))} {q(str(stage))}",
        f"mount -t tmpfs -o mode=0755,size=1m tmpfs {q(str(closed))}",
        f"mkdir -p {q(str(prefix))}",
        f"mount --move {q(str(stage))} {q(str(prefix))}",
        f"mount -o remount,bind,ro {q(str(prefix))}",
        'cd "$HOME"',
        f'exec setpriv --reuid={q(unix_user)} --regid={q(unix_user)} --init-groups -- "$@"',
    ])
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
            "mll-server", *cmd]


class CourseSpawner(LocalProcessSpawner):
    """:class:`~jupyterhub.spawner.LocalProcessSpawner` with the course's users and settings."""

    state_dir = Unicode(config=True, help="the hub's state folder")

    @property
    def _layout(self) -> HubLayout:
        return HubLayout(Path(self.state_dir))

    @property
    def _is_instructor(self) -> bool:
        return self.user.name == INSTRUCTOR

    def make_preexec_fn(self, name):
        if name != INSTRUCTOR and hidden_interpreter():
            return None  # server_command drops to the learner's user itself
        become = set_user_setuid(unix_name(name))
        if name != INSTRUCTOR:
            return become

        def preexec():
            become()
            os.chdir(ROOT)  # nbgrader's tools read the course's nbgrader_config.py from here

        return preexec

    def user_env(self, env):
        user = pwd.getpwnam(unix_name(self.user.name))
        env.update(USER=user.pw_name, HOME=user.pw_dir, SHELL=user.pw_shell or "/bin/sh")
        return env

    def get_env(self):
        env = super().get_env()
        env.pop("MPLBACKEND", None)  # plots show inline (see lifecycle.lab)
        # The venv's tools first: nbgrader calls `alembic` by name.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
        if self._is_instructor:
            base = self._layout.instructor_config().parent
            env.update(JUPYTER_CONFIG_DIR=str(base / "config"),
                       JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
                       JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
                       LIFECYCLE_COURSE_DIR=str(ROOT / "course"))
        else:
            # An extra config path (not JUPYTER_CONFIG_DIR): the learner's own ~/.jupyter
            # stays writable to them, the course's settings come from a folder they can
            # only read.
            env["JUPYTER_CONFIG_PATH"] = str(self._layout.learner_config())
            env["LIFECYCLE_COURSE_DIR"] = env["HOME"]
        return env

    def get_args(self):
        args = super().get_args()
        if self._is_instructor and os.getuid() == 0:
            args.append("--allow-root")
        return args

    async def start(self):
        if self._is_instructor:
            self.notebook_dir = str(ROOT)
            self.default_url = "/lab/tree/" + INSTRUCTOR_PAGE
        else:
            self.notebook_dir = pwd.getpwnam(unix_name(self.user.name)).pw_dir
            self.default_url = "/lab"
            if hidden_interpreter():
                stage = Path(self.state_dir) / "run" / self.user.name
                stage.mkdir(parents=True, exist_ok=True)
                os.chmod(stage.parent, 0o700)
                # keep the unwrapped command: a spawner object may start its server again
                base = getattr(self, "_server_cmd", None) or list(self.cmd)
                self._server_cmd = base
                self.cmd = server_command(unix_name(self.user.name), base, stage)
        return await super().start()

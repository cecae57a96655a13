"""The sandbox that learner code and the tests run in: bubblewrap around a fork server.

Each grading worker starts two sandboxes with bubblewrap (``bwrap``), one for
learner code and one for the tests, and keeps them for every notebook it
grades. Inside each, :mod:`autograder.sandbox.forkserver` has imported what graded
notebooks import; each notebook's process is forked from it, so a notebook
costs a fork, not a Python start. Bubblewrap gives each sandbox:

- its own user, PID, network (loopback only), IPC, UTS and cgroup namespaces;
  the sandbox user is 65534 (``nobody``) and holds no capability;
- a read-only view of exactly the course's ``lifecycle/``, ``autograder/``,
  ``datasets/`` and ``course/``, the Python environment and the system's
  ``/usr`` and ``/etc`` (password hashes empty); a private ``/tmp`` and
  ``/dev/shm``, a minimal ``/dev`` and its own ``/proc``;
- a new session (no terminal to write to), ``no_new_privs``, and death with
  the worker;
- a seccomp filter (:mod:`autograder.sandbox.syscall_filter`) that denies the system
  calls grading never needs.

A sandbox that does not start is refused (:class:`ConfinementError`) with
what bubblewrap itself wrote before it gave up, and when that was about
namespaces, with the commands that allow them.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
from typing import TYPE_CHECKING

from autograder.execution import wire
from autograder.sandbox import seed
from lifecycle.cache import SEED_VARIABLE

if TYPE_CHECKING:
    from autograder.sandbox.forkserver import Preloads

__all__ = ["ConfinementError", "Pair", "Sandbox", "release", "bwrap_command", "find_bwrap", "sandbox_paths"]

# All of the course folder that learner code and tests see (and Python's environment).
COURSE_PARTS = ("lifecycle", "autograder", "datasets", "course")
SANDBOX_UID = 65534  # nobody: not root inside, whoever runs the grader
# Readable by the sandbox user where it maps to the grader's root.
HIDDEN_FILES = ("/etc/shadow", "/etc/gshadow")
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
                "`sudo dnf install bubblewrap`) and allow unprivileged user namespaces "
                "(`sudo sysctl -w kernel.unprivileged_userns_clone=1`, and on Ubuntu 24.04 "
                "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`), or pass "
                "--unconfined to grade a trusted class without confinement")


# In bubblewrap's messages when the kernel refuses it namespaces (user, network...).
NAMESPACE_WORDS = ("namespace", "uid map", "gid map", "rtm_newaddr", "operation not permitted")


class ConfinementError(RuntimeError):
    """The promised confinement cannot be applied on this machine."""


def course_root() -> str:
    """The folder that holds ``autograder/``, ``lifecycle/``, ``solutions/``..."""
    return os.path.realpath(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def find_bwrap() -> str:
    """The ``bwrap`` on ``PATH``.

    Raises
    ------
    ConfinementError
        If there is none.
    """
    path = shutil.which("bwrap")
    if path is None:
        raise ConfinementError(f"bubblewrap (`bwrap`) was not found on PATH; {INSTALL_HINT}.")
    return path


def sandbox_paths() -> list[str]:
    """What the sandboxes see of the grader's file system, read-only.

    Never the course folder as a whole, nor a folder that holds it: beside
    these parts it keeps solutions, gradebooks and earlier grading output.
    """
    course = course_root()
    paths = [os.path.join(course, part) for part in COURSE_PARTS]
    paths += [sys.prefix, sys.base_prefix, *sys.path]
    real = {os.path.realpath(p) for p in paths if p and os.path.isabs(p) and os.path.exists(p)}
    real = {p for p in real if not (course + "/").startswith(p.rstrip("/") + "/")}
    kept: list[str] = []
    for path in sorted(real):  # only the outermost of nested paths
        if not any(path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _system_binds() -> list[str]:
    args = []
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for secret in HIDDEN_FILES:
        if os.path.exists(secret):
            args += ["--ro-bind", "/dev/null", secret]
    return args


PRIVATE_MOUNTS = ("/tmp", "/dev/shm")  # each sandbox gets its own, empty


def hidden_by_private_mounts(paths: list[str]) -> list[str]:
    """The paths a sandbox could not see: under a folder it replaces with its own."""
    return [p for p in paths if any(p == m or p.startswith(m + "/") for m in PRIVATE_MOUNTS)]


def _others_may_reach(path: str) -> bool:
    """Whether user ``nobody`` may open ``path`` (each folder on the way searchable by others)."""
    parts = os.path.realpath(path).split("/")
    for i in range(2, len(parts) + 1):
        try:
            mode = os.stat("/".join(parts[:i]) or "/").st_mode
        except OSError:
            return False
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return False
    return True


def runs_as_nobody(paths: list[str]) -> bool:
    """Whether a root grader can start bubblewrap as ``nobody`` (who must reach every path)."""
    return os.getuid() == 0 and all(_others_may_reach(p) for p in paths)


def bwrap_command(bwrap: str, tmp_mb: int, seed_folder: str | None = None) -> list[str]:
    """The bubblewrap command line that starts a sandbox (the program to run follows it).

    ``seed_folder`` (:mod:`autograder.sandbox.seed`), if given, is seen read-only at
    :data:`autograder.sandbox.seed.MOUNT`.
    """
    size = str(tmp_mb << 20)
    args = [bwrap, "--unshare-all", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--as-pid-1",
            "--hostname", "sandbox", *_system_binds()]
    for path in sandbox_paths():
        args += ["--ro-bind", path, path]
    if seed_folder:
        args += ["--ro-bind", seed_folder, seed.MOUNT, "--setenv", SEED_VARIABLE, seed.MOUNT]
    # Gradebooks kept in Python's environment (an older `make release` left one there,
    # with every hidden test) read empty.
    for prefix in {sys.prefix, sys.base_prefix}:
        for gradebook in glob.glob(os.path.join(prefix, "*.db")):
            args += ["--ro-bind", "/dev/null", gradebook]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm",
             "--remount-ro", "/", "--chdir", "/tmp", "--setenv", "TMPDIR", "/tmp",
             "--setenv", "HOME", "/tmp", "--unsetenv", "AUTOGRADER_TOKEN"]
    return args


class Sandbox:
    """One running fork server, confined (bubblewrap) or not (``--unconfined``).

    Parameters
    ----------
    role : {"learner", "tests"}
        What its processes run (used in messages).
    confined : bool
        Start it inside bubblewrap; False only for ``--unconfined``.
    tmp_mb : int
        Size of its private ``/tmp`` and ``/dev/shm``, in MiB.
    preload : sequence of str or None
        Modules to import before forking (:func:`autograder.sandbox.forkserver.modules_for`):
        None for all that a lesson may use, empty for a probe.
    seed_folder : str, optional
        Its read-only seed folder (:mod:`autograder.sandbox.seed`).
    """

    def __init__(self, role: str, confined: bool = True, tmp_mb: int = 256,
                 preload: tuple[str, ...] | None = None, seed_folder: str | None = None):
        self.role, self.confined, self.tmp_mb, self.preload = role, confined, tmp_mb, preload
        self.seed_folder = seed_folder
        self.proc = self.control = None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        program = [sys.executable, "-m", "autograder.sandbox.forkserver", str(theirs.fileno())]
        if self.preload is not None:
            program.append(f"--preload={','.join(self.preload)}" if self.preload else "--no-preload")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")
               or k == "AUTOGRADER_DEBUG"}
        env.pop(SEED_VARIABLE, None)  # only the grader's own seed folder
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        kwargs: dict = {}
        fds = [theirs.fileno()]
        if self.confined:
            hidden = hidden_by_private_mounts(sandbox_paths())
            if hidden:
                raise ConfinementError(
                    f"{hidden[0]} is inside {' or '.join(PRIVATE_MOUNTS)}, which every sandbox "
                    "replaces with a private folder of its own, so the sandbox could not see "
                    "the course or its Python environment there; keep the "
                    "repository and its .venv elsewhere (under your home folder, say), or pass "
                    "--unconfined to grade a trusted class without confinement.")
            from autograder.sandbox import syscall_filter

            command = bwrap_command(find_bwrap(), self.tmp_mb, self.seed_folder)
            fds.append(syscall_filter.build())
            program = [*command, "--seccomp", str(fds[1]), "--", *program]
            if runs_as_nobody(sandbox_paths()):
                kwargs.update(user=SANDBOX_UID, group=SANDBOX_UID, extra_groups=[])
        else:
            program.append("--pids-shared")
            if self.seed_folder:
                env[SEED_VARIABLE] = self.seed_folder
        # What bubblewrap (or Python) writes before the fork server is ready is kept, in
        # memory, to say why a sandbox did not start; once it is ready it is dropped.
        debug = bool(os.environ.get("AUTOGRADER_DEBUG"))
        startup = None if debug else os.memfd_create(f"{self.role}-sandbox-start")
        try:
            self.proc = subprocess.Popen(program, pass_fds=fds, env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=startup, start_new_session=True, **kwargs)
        except BaseException:
            if startup is not None:
                os.close(startup)
            raise
        finally:
            for fd in fds[1:]:  # bubblewrap read the filter from its copy
                os.close(fd)
        theirs.close()
        self.control = ours
        try:
            header, _ = wire.recv(ours)
        except (wire.WireError, OSError):
            header = {}
        said = _drop(startup)
        if header.get("op") != "ready":
            code = self.proc.wait()
            self.close()
            raise ConfinementError(_not_started(self.role, self.confined, code, said))

    def ensure(self) -> None:
        """Start the sandbox if it is not running (outside any notebook's time limit)."""
        if not self.alive():
            self.close()
            self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, op: dict) -> tuple[int, socket.socket]:
        """Fork a process in the sandbox; returns its pid (in the grader's namespace) and socket.

        The process waits for :func:`release` before it runs anything, so
        that the grader can first put it in its control groups.
        """
        for attempt in range(2):
            if not self.alive():
                self.close()
                self.start()
            ours, theirs = socket.socketpair()
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            try:
                head = json.dumps(op).encode()
                frame = struct.pack("!I", len(head)) + head + struct.pack("!Q", 0)
                socket.send_fds(self.control, [frame], [theirs.fileno()])
                theirs.close()
                pid = _peer_pid(ours)
            except OSError:
                theirs.close()
                ours.close()
                self.close()  # a learner killed its fork server: start a new one once
                if attempt:
                    raise
                continue
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
            return pid, ours
        raise OSError("unreachable")

    def reset(self) -> None:
        """Kill every process left in the sandbox and empty its ``/tmp``."""
        if not self.alive():
            return
        try:
            wire.send(self.control, {"op": "reset"})
            wire.recv(self.control)
        except (wire.WireError, OSError):
            self.close()

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
            self.proc = None


class Pair:
    """The two sandboxes of one grading worker: learner code, and the tests.

    Its owner (a :class:`autograder.classrun.run.Worker`, a cluster worker's plugin, a
    test session) keeps it for every notebook it grades and closes it at the end.

    Parameters
    ----------
    confined : bool
        Inside bubblewrap (False only for ``--unconfined``).
    preload : autograder.sandbox.forkserver.Preloads or None
        What each one's fork server imports (None: everything, see :class:`Sandbox`);
        together they decide the seed folder (:func:`autograder.sandbox.seed.make`),
        made here, removed by :meth:`close`.
    """

    def __init__(self, confined: bool = True, preload: Preloads | None = None):
        self.confined = confined
        self.seed_folder = seed.make(None if preload is None
                                     else tuple(dict.fromkeys([*preload.learner, *preload.tests])))
        self.learner = Sandbox("learner", confined, preload=preload and preload.learner,
                               seed_folder=self.seed_folder)
        self.tests = Sandbox("tests", confined, preload=preload and preload.tests,
                             seed_folder=self.seed_folder)

    def ensure(self) -> None:
        self.learner.ensure()
        self.tests.ensure()

    def reset(self) -> None:
        self.learner.reset()
        self.tests.reset()

    def close(self) -> None:
        self.learner.close()
        self.tests.close()
        seed.remove(self.seed_folder)


MAX_SAID = 2000  # characters of a failed start-up's own message quoted


def _drop(startup: int | None) -> str:
    """What was written to the start-up file ``startup``; then it is emptied and closed."""
    if startup is None:  # AUTOGRADER_DEBUG: it went to the grader's stderr
        return ""
    try:
        data = os.pread(startup, 1 << 16, 0)
        os.ftruncate(startup, 0)  # the sandbox keeps its end: keep nothing in it
    finally:
        os.close(startup)
    return data.decode(errors="replace").strip()[-MAX_SAID:]


def _not_started(role: str, confined: bool, code: int, said: str) -> str:
    """Why a sandbox did not start: its own words, and the fix when namespaces were refused."""
    why = f"the {role} sandbox did not start (exit status {code})"
    if said:
        why += f"; {'bubblewrap' if confined else 'it'} said: {said}"
    if confined and (not said or any(word in said.lower() for word in NAMESPACE_WORDS)):
        return f"{why}; bubblewrap could not make its namespaces here; {INSTALL_HINT}."
    return why + ("" if said else "; run with AUTOGRADER_DEBUG=1 to see why") + "."


def release(sock: socket.socket) -> None:
    """Let a spawned process go on (after the grader put it in its control groups)."""
    sock.sendall(b"G")


def _peer_pid(sock: socket.socket) -> int:
    """The pid, as the grader sees it, of the process that wrote the first byte on ``sock``.

    The kernel translates the pid in the credentials it attaches across PID
    namespaces, so the grader can kill the process and cap its tree.
    """
    sock.settimeout(60)
    try:
        _, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(12))
    finally:
        sock.settimeout(None)
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return struct.unpack("3i", data[:12])[0]
    raise OSError("the sandboxed process did not say who it is")

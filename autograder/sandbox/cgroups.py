"""Caps on a learner's whole process tree: how many tasks, how much memory.

Resource limits (:mod:`resource`) bind one process at a time, and the process
count (``RLIMIT_NPROC``) does not bind root at all, so a fork bomb in a
notebook graded by root would only stop at the cell's timeout, after the
machine ran out of PIDs. A control group per notebook bounds the tree:
``pids.max`` (tasks, threads included) and the memory limit, and lets the
grader kill every process in it, however it detached itself.

The groups are made below the ones the grader runs in (cgroup v1 ``pids`` and
``memory`` hierarchies, or cgroup v2 where those controllers are enabled for
our children), which a root grader may write. A grader that is not root uses
instead a group delegated to its user: a folder ``autograder-for-USER`` that
root made once, in the grader's group or one above it, and gave to USER
(``docs/instructor.md``, "A grader that is not root"). Where neither can be
made, :func:`create` returns caps that do nothing; the sandbox's
``RLIMIT_NPROC`` (:func:`autograder.sandbox.isolation.apply_limits`) then caps the
tasks, and memory is capped per process only.
"""
from __future__ import annotations

import os
import pwd
import re
import secrets
import signal
import subprocess
import sys
import time

__all__ = ["Caps", "create", "delegated_name", "delegation_commands", "sweep", "supported"]

# controller -> the file that caps it in cgroup v1 and in v2
_LIMIT_FILES = {"pids": ("pids.max", "pids.max"), "memory": ("memory.limit_in_bytes", "memory.max")}
# The groups create() makes (and sweep() removes): autograder-PID-TOKEN-CONTROLLER.
_OURS = re.compile(r"^autograder-\d+-[0-9a-f]+-(pids|memory)$")


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(root, mount point, file system type, super options) of each cgroup mount."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            rest = fields[fields.index("-") + 1:]
            if rest[0] in ("cgroup", "cgroup2"):
                found.append((fields[3], fields[4].encode().decode("unicode_escape"), rest[0],
                              set(rest[2].split(",")) if len(rest) > 2 else set()))
    return found


def delegated_name() -> str:
    """The folder root gives this grader's user to make its groups in."""
    return f"autograder-for-{pwd.getpwuid(os.getuid()).pw_name}"


def delegation_commands() -> str:
    """What root runs once so that this grader's user gets groups of its own (for messages)."""
    user = pwd.getpwuid(os.getuid()).pw_name
    folders = sorted(os.path.join(point, delegated_name())
                     for point, version in _mount_points().items() if version == 1)
    if folders:
        return f"as root, once: `mkdir -p {' '.join(folders)} && chown -R {user} {' '.join(folders)}`"
    return ("start the grader in a cgroup v2 subtree delegated to its user, with pids and memory "
            "enabled for its children (docs/instructor.md, \"A grader that is not root\")")


def _parents(folder: str, point: str) -> list[str]:
    """Where to make groups: the grader's own group, then the delegated folder in it or above."""
    found, here = [folder], folder
    while True:
        delegated = os.path.join(here, delegated_name())
        if os.path.isdir(delegated):
            found.append(delegated)
        if os.path.normpath(here) in (os.path.normpath(point), "/"):
            return found
        here = os.path.dirname(here)


def _mount_points() -> dict[str, int]:
    """Mount point of each hierarchy that holds a controller we use -> its cgroup version."""
    return {point: 1 if fstype == "cgroup" else 2 for _, point, fstype, options in _mounts()
            if fstype == "cgroup2" or options & set(_LIMIT_FILES)}


def _own_folders() -> dict[str, tuple[list[str], int]]:
    """controller -> (folders to make groups in, first choice first; cgroup version)."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return {}
    mounts = _mounts()
    folders = {}
    for _, controllers, path in lines:
        for root, point, fstype, options in mounts:
            if not (path + "/").startswith(root.rstrip("/") + "/"):
                continue
            folder = os.path.join(point, path[len(root.rstrip("/")):].lstrip("/"))
            if fstype == "cgroup2" and controllers == "":
                for name in _LIMIT_FILES:
                    folders.setdefault(name, (folder, point, 2))
            elif fstype == "cgroup":
                for name in set(controllers.split(",")) & options & set(_LIMIT_FILES):
                    folders[name] = (folder, point, 1)  # v1 wins: v2 only has what v1 does not
    return {name: (_parents(folder, point), version)
            for name, (folder, point, version) in folders.items()}


class Caps:
    """The control groups of one learner's process tree (none where the machine gives none).

    Parameters
    ----------
    folders : list of str
        The groups' folders in the cgroup file system.
    """

    def __init__(self, folders: list[str]):
        self.folders = folders

    def add(self, pid: int) -> None:
        """Move process ``pid``, and so all it starts later, into the groups.

        Raises
        ------
        OSError
            If it cannot be moved: a cap that was made must hold.
        """
        for folder in self.folders:
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def release(self) -> None:
        """Kill whatever still runs in the groups and remove them."""
        for folder in self.folders:
            for _ in range(100):
                _kill_members(folder)
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)  # killed members leave the group as they exit
        self.folders = []


def _kill_members(folder: str) -> None:
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            pids = [int(line) for line in f if line.strip()]
    except OSError:
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def create(max_tasks: int, memory_bytes: int) -> Caps:
    """Make one group per available controller with these caps.

    Parameters
    ----------
    max_tasks : int
        Processes and threads the tree may have at once.
    memory_bytes : int
        Memory the whole tree may use.

    Returns
    -------
    caps : Caps
        Empty where a group could not be made.
    """
    values = {"pids": max_tasks, "memory": memory_bytes}
    folders = []
    for name, (parents, version) in _own_folders().items():
        for parent in parents:
            # A random part, not a counter: names stay unique without state kept between calls.
            folder = os.path.join(parent, f"autograder-{os.getpid()}-{secrets.token_hex(6)}-{name}")
            try:
                os.mkdir(folder)
            except OSError:  # not ours to write: try the delegated folder
                continue
            try:
                with open(os.path.join(folder, _LIMIT_FILES[name][version - 1]), "w") as f:
                    f.write(str(values[name]))
                folders.append(folder)
                break
            except OSError:  # v2 without this controller for our children, say
                os.rmdir(folder)
    return Caps(folders)


def supported(max_tasks: int = 64, memory_bytes: int = 1 << 30) -> list[str]:
    """Which caps hold here (for the instructor's report): a group of each that took a process.

    Made as a notebook's are, then a process of the grader's user is moved into
    each, as the grader moves each notebook's: a group the grader may make but
    not move its processes into (a cgroup v2 subtree it was not started in) caps
    nothing.
    """
    caps = create(max_tasks, memory_bytes)
    child = subprocess.Popen([sys.executable, "-S", "-c", "import time; time.sleep(60)"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    names = []
    try:
        for folder in caps.folders:
            try:
                Caps([folder]).add(child.pid)
                names.append(folder.rsplit("-", 1)[1])
            except OSError:
                pass
    finally:
        caps.release()
        child.kill()
        child.wait()
    return sorted(names)


def sweep() -> None:
    """Remove the empty groups that graders left behind (a worker killed mid-notebook)."""
    for parent in {p for parents, _ in _own_folders().values() for p in parents}:
        try:
            names = [n for n in os.listdir(parent) if _OURS.match(n)]
        except OSError:
            continue
        for name in names:
            try:
                os.rmdir(os.path.join(parent, name))  # refused while a run still uses it
            except OSError:
                pass

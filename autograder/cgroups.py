"""Caps on a learner's whole process tree: how many tasks, how much memory.

Resource limits (:mod:`resource`) bind one process at a time, and the process
count (``RLIMIT_NPROC``) does not bind root at all, so a fork bomb in a
notebook graded by root would only stop at the cell's timeout, after the
machine ran out of PIDs. A control group per notebook bounds the tree:
``pids.max`` (tasks, threads included) and the memory limit, and lets the
grader kill every process in it, however it detached itself.

The groups are made below the ones the grader runs in (cgroup v1 ``pids`` and
``memory`` hierarchies, or cgroup v2 where those controllers are enabled for
our children). Where the grader may not make them (not root, a read-only
``/sys/fs/cgroup``), :func:`create` returns caps that do nothing, and the
rlimits are the only bounds.
"""
from __future__ import annotations

import os
import signal
import time

__all__ = ["MAX_TASKS", "Caps", "create", "sweep", "supported"]

# Tasks (processes and threads) of one notebook: room for a learner who starts a few
# hundred helpers, far below the machine's PID space (32768 by default).
MAX_TASKS = 1024
# controller -> the file that caps it in cgroup v1 and in v2
_LIMIT_FILES = {"pids": ("pids.max", "pids.max"), "memory": ("memory.limit_in_bytes", "memory.max")}
_made = 0


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


def _own_folders() -> dict[str, tuple[str, int]]:
    """controller -> (folder of the grader's own group, cgroup version)."""
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
                    folders.setdefault(name, (folder, 2))
            elif fstype == "cgroup":
                for name in set(controllers.split(",")) & options & set(_LIMIT_FILES):
                    folders[name] = (folder, 1)  # v1 wins: v2 only has what v1 does not
    return folders


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
    global _made
    values = {"pids": max_tasks, "memory": memory_bytes}
    folders = []
    for name, (parent, version) in _own_folders().items():
        _made += 1
        folder = os.path.join(parent, f"autograder-{os.getpid()}-{_made}-{name}")
        limit_file = os.path.join(folder, _LIMIT_FILES[name][version - 1])
        try:
            os.mkdir(folder)
        except OSError:
            continue
        try:
            with open(limit_file, "w") as f:
                f.write(str(values[name]))
            folders.append(folder)
        except OSError:  # v2 without this controller for our children, say
            os.rmdir(folder)
    return Caps(folders)


def supported(max_tasks: int = 64, memory_bytes: int = 1 << 30) -> list[str]:
    """Which caps this machine gives (for the instructor's report), by making them once."""
    caps = create(max_tasks, memory_bytes)
    names = sorted({folder.rsplit("-", 1)[1] for folder in caps.folders})
    caps.release()
    return names


def sweep() -> None:
    """Remove the empty groups that graders left behind (a worker killed mid-notebook)."""
    for parent, _ in set(_own_folders().values()):
        try:
            names = [n for n in os.listdir(parent) if n.startswith("autograder-")]
        except OSError:
            continue
        for name in names:
            try:
                os.rmdir(os.path.join(parent, name))  # refused while a run still uses it
            except OSError:
                pass

"""Confine a learner's process: namespaces, a read-only system, no privileges, limits.

What is applied depends on what the machine allows, strongest first:

1. new mount, network and PID namespaces (and a user namespace when the
   grader is not root): the whole file system is read-only; the instructor's
   files, the class's submissions, the grader's output, and temporary and home
   folders (but for the course and Python) are hidden under empty mounts;
   password hashes read empty; the only writable place is a private tmpfs; there is no
   network but a loopback; other processes are invisible, and every process
   the submission starts dies with it;
2. no capabilities and ``no_new_privs``, so none of this can be undone and no
   set-uid program gives privileges back;
3. a cap on tasks and memory of the whole process tree, where the grader may
   make control groups (:mod:`autograder.cgroups`);
4. always: its own session, resource limits (address space, file size, open
   files, core dumps, CPU time), and death when its parent dies.

:func:`describe` reports what a machine supports, for the instructor's report.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import glob
import os
import resource
import signal
import socket
import stat
import struct
import sys
import tempfile

__all__ = ["Limits", "confine", "describe", "drop_privileges", "enter_namespaces", "kill_tree",
           "protect_self"]

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    0x1, 0x2, 0x4, 0x20, 0x1000, 0x4000, 0x40000)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38

# Shown empty to learner code, but for the course and Python when they live there.
PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/root", "/home")
PRIVATE_FILES = ("/etc/shadow", "/etc/gshadow")
# All of the course folder that learner code sees (and Python's environment, if inside).
COURSE_PARTS = ("lifecycle", "autograder", "datasets", "course")

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Limits:
    """Resource limits for one notebook.

    Parameters
    ----------
    cell_timeout : float
        Seconds one cell or one test may run.
    notebook_timeout : float
        Seconds the whole notebook may take.
    memory_mb : int
        Address-space cap of each grading process, in MiB.
    output_chars : int
        Characters of output kept per cell.
    file_mb : int
        Largest file the submission may write, in MiB (its scratch space is
        four times that).
    """

    def __init__(self, cell_timeout=60.0, notebook_timeout=300.0, memory_mb=3072,
                 output_chars=5000, file_mb=64):
        self.cell_timeout = float(cell_timeout)
        self.notebook_timeout = float(notebook_timeout)
        self.memory_mb = int(memory_mb)
        self.output_chars = int(output_chars)
        self.file_mb = int(file_mb)


def _mount(source, target: str, fstype, flags: int, data: str | None = None) -> None:
    result = _libc.mount(source.encode() if source else None, target.encode(),
                         fstype.encode() if fstype else None, flags,
                         data.encode() if data else None)
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            points.append(point)
    return points


def _loopback_up() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifreq = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, 0x8913, ifreq))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH14s", b"lo", flags | 0x1, b""))  # IFF_UP
    finally:
        sock.close()


def enter_namespaces(hide: list[str], scratch: str, scratch_mb: int,
                     pids_and_network: bool = True) -> bool:
    """Move the calling process into new namespaces with a read-only view of the system.

    The caller must fork afterwards (only its children are in the new PID
    namespace) and call :func:`confine` in the child.

    Parameters
    ----------
    hide : list of str
        Folders covered by an empty read-only mount.
    scratch : str
        Folder replaced by a private, writable tmpfs of ``scratch_mb`` MiB.
    pids_and_network : bool
        Also new PID and network namespaces (False: only the read-only view,
        for the tests' process, which forks helpers and needs no fork first).

    Returns
    -------
    entered : bool
        False when the machine does not allow namespaces; nothing changed then.
    """
    uid, gid = os.getuid(), os.getgid()
    os.makedirs(scratch, exist_ok=True)  # before the file system turns read-only
    flags = CLONE_NEWNS | (CLONE_NEWNET | CLONE_NEWPID if pids_and_network else 0) | (
        0 if uid == 0 else CLONE_NEWUSER)
    if _libc.unshare(flags) != 0:
        return False
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                           ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for point in _mount_points():
        try:
            _mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        except OSError:
            pass  # a mount that cannot be made read-only stays as it is (e.g. locked ones)
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=16k,mode=0555")
    # Temporary folders are shared with everything else on the machine (other gradebooks,
    # solution notebooks from earlier runs or tests, other workers' scratch), and home
    # folders hold keys and other course copies: hide what is in them, except the way to
    # what the learner's code needs (the course's parts, or Python, when they live there)
    # and to its own scratch folder.
    keep = _needed_paths() + [os.path.realpath(scratch)]
    _hide_all_but(_course_root(), keep)  # solutions, gradebooks, out/ of `make grade`, ...
    for folder in sorted({*PRIVATE_FOLDERS, os.path.realpath(tempfile.gettempdir())}):
        if os.path.isdir(folder) and not os.path.islink(folder):
            _hide_all_but(folder, keep)
    # Readable by root (the sandbox of a root grader is uid 0), and gradebooks kept in
    # Python's environment (older `make release` left one there, with every hidden test).
    for secret in (*PRIVATE_FILES, *glob.glob(os.path.join(sys.prefix, "*.db"))):
        if os.path.isfile(secret):
            _mount("/dev/null", secret, None, MS_BIND)
    _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_mb}m,mode=0700")
    if os.path.isdir("/dev/shm"):  # a private, writable one: multiprocessing (n_jobs) needs it
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_mb}m,mode=1777")
    # tempfile caches its folder (the grader's /tmp, now read-only) before the fork.
    tempfile.tempdir = scratch
    os.environ["TMPDIR"] = scratch
    if not pids_and_network:
        return True
    try:
        _loopback_up()
    except OSError:
        pass  # no loopback: lessons that serve HTTP fail, nothing else does
    return True


def _course_root() -> str:
    return os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _needed_paths() -> list[str]:
    """What the learner's process reads code or data from: parts of this course, and Python.

    Never the course folder as a whole, nor a folder that holds it: beside these
    parts it keeps solutions, gradebooks and earlier grading output.
    """
    course = _course_root()
    paths = [os.path.join(course, part) for part in COURSE_PARTS]
    paths += [sys.prefix, sys.base_prefix, *sys.path]
    real = {os.path.realpath(p) for p in paths if p and os.path.isabs(p)}
    return sorted(p for p in real if not (course + "/").startswith(p.rstrip("/") + "/"))


def _outermost(paths: list[str]) -> list[str]:
    """The paths that are not inside another of ``paths``."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _hide_all_but(folder: str, keep: list[str]) -> None:
    """Cover ``folder`` with an empty read-only tmpfs and bind the paths of ``keep`` back in.

    The whole folder is covered, not each entry in it: entries that other
    processes create later stay hidden too, and entries that vanish while the
    sandbox is built cannot make it fail.
    """
    inside = _outermost([k for k in keep if k == folder or k.startswith(folder.rstrip("/") + "/")])
    if folder in inside:
        return
    handles = []
    for path in inside:  # held open: the cover hides their names, not what they are
        try:
            handles.append((path, os.open(path, os.O_PATH | os.O_CLOEXEC)))
        except OSError:
            pass  # a sys.path entry that does not exist, say
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    for path, fd in handles:
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "x").close()
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        finally:
            os.close(fd)
    _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _drop_capabilities() -> None:
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _libc.capset(ctypes.byref(header), ctypes.byref(data))


PROCESS_MARGIN = 256


def _processes_of_uid() -> int:
    uid, count = str(os.getuid()), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    count += any(line.startswith("Uid:") and line.split()[1] == uid for line in f)
            except OSError:
                pass  # the process ended meanwhile
    return count


def confine(limits: Limits, scratch: str, in_namespace: bool) -> None:
    """Apply limits and drop privileges in the forked learner process."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # RLIMIT_NPROC counts every process of the uid on the machine, so bound the
    # submission to what runs now plus a margin (a fork bomb stops there). It does
    # not bind root: there, the cgroup of autograder.cgroups does.
    nproc = _processes_of_uid() + PROCESS_MARGIN
    if in_namespace:
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)  # only our own processes
        except OSError:
            pass
        _drop_capabilities()
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    for name, value in (("RLIMIT_AS", limits.memory_mb << 20), ("RLIMIT_FSIZE", limits.file_mb << 20),
                        ("RLIMIT_CORE", 0), ("RLIMIT_NOFILE", 512),
                        ("RLIMIT_CPU", int(limits.notebook_timeout * 2) + 10),
                        ("RLIMIT_NPROC", nproc)):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError):
            pass
    os.environ.update(HOME=scratch, MPLCONFIGDIR=os.path.join(scratch, ".matplotlib"),
                      TMPDIR=scratch, PYTHONDONTWRITEBYTECODE="1")
    os.chdir(scratch)


def drop_privileges() -> None:
    """No capabilities and ``no_new_privs``, for a process that runs code on learners' data."""
    _drop_capabilities()
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def protect_self() -> None:
    """Keep processes of the same user from reading this one's memory (ptrace, /proc/pid/mem)."""
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def describe() -> str:
    """Say which isolation this machine gives learner code, by trying it in a child."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if _libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | (
                0 if os.getuid() == 0 else CLONE_NEWUSER)) == 0 else 1)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    from autograder import cgroups

    caps = cgroups.supported()
    tree = (f"a cap on the whole process tree ({' and '.join(caps)}, by cgroup)" if caps else
            "no cap on the whole process tree (no cgroup could be made: "
            + ("the timeouts bound a fork bomb, as RLIMIT_NPROC does not bind root)"
               if os.getuid() == 0 else "RLIMIT_NPROC bounds a fork bomb)"))
    if os.waitstatus_to_exitcode(status) == 0:
        return ("mount, network and PID namespaces; read-only file system with instructor files, "
                f"submissions and output hidden; no capabilities; resource limits; {tree}")
    return ("no namespaces (not permitted on this machine): resource limits and no_new_privs "
            f"only; {tree}; run the grader in a container or a VM for stronger isolation")


def kill_tree(pid: int) -> None:
    """Kill a learner's process group (with a PID namespace, everything in it)."""
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except OSError as error:
            if error.errno != errno.EPERM:
                raise

"""What a sandbox actually gives, measured from inside it at the start of a run.

:func:`measure` runs in a process forked in the sandbox, as a learner's would
be; the grader compares the facts with what it promises
(:func:`autograder.sandbox.confinement.check`) and prints them in ``report.html``.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import socket

__all__ = ["measure"]

CLONE_NEWUSER = 0x10000000
AF_NETLINK, NETLINK_ROUTE = 16, 0


def _status() -> dict:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp", "Seccomp_filters"):
                fields[key] = value.strip()
    return fields


def _writable(path: str) -> bool:
    probe = os.path.join(path, f".autograder-probe-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def _reach(port: int | None) -> str:
    if not port:
        return "not tried"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return "reached"
    except OSError as error:
        return f"unreachable ({error.strerror or type(error).__name__})"


def _uid_map() -> str:
    try:
        with open("/proc/self/uid_map") as f:
            return " ".join(f.read().split())
    except OSError:
        return "?"


def _interfaces() -> list[str]:
    # Read, not asked through a netlink socket (socket.if_nameindex): the filter denies those.
    with open("/proc/net/dev") as f:
        return sorted(line.split(":", 1)[0].strip() for line in f if ":" in line)


def _outcome(result: int, error: int) -> str:
    return "allowed" if result >= 0 else errno.errorcode.get(error, str(error))


def _in_child(call) -> str:
    """``call()``'s outcome in a throwaway child: a denied call that got through changes nothing here."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.write(write, call().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        got = f.read().decode()
    os.waitpid(pid, 0)
    return got or "?"


def _denied() -> dict:
    """What a few calls the seccomp filter denies give: ``EPERM`` each where it holds.

    Each is harmless where it is allowed: a read of the session keyring's id, io_uring
    and eBPF calls with no arguments, a netlink socket closed at once, and a user
    namespace made in a child that exits.
    """
    try:
        import pyseccomp  # the filter's own names of the calls, whatever the architecture
    except (ImportError, OSError, RuntimeError) as error:
        return {"not measured": f"no libseccomp binding ({type(error).__name__})"}
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def syscall(name: str, *args: int) -> str:
        number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
        return _outcome(result, ctypes.get_errno())

    found = {"keyctl": syscall("keyctl", 0, -3, 0),  # KEYCTL_GET_KEYRING_ID, the session's
             "io_uring_setup": syscall("io_uring_setup", 1, 0),
             "bpf": syscall("bpf", 0, 0, 0)}
    try:
        socket.socket(AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE).close()
        found["socket(AF_NETLINK)"] = "allowed"
    except OSError as error:
        found["socket(AF_NETLINK)"] = errno.errorcode.get(error.errno, str(error.errno))
    found["unshare(CLONE_NEWUSER)"] = _in_child(lambda: syscall("unshare", CLONE_NEWUSER))
    return found


def _tasks() -> int:
    """Tasks (threads included) of this process's real user that this /proc shows."""
    uid, count = os.getuid(), 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except (OSError, ValueError):
            continue
        if int(fields["Uid"].split()[0]) == uid:
            count += int(fields["Threads"])
    return count


def _tasks_cap() -> str:
    """Whether ``RLIMIT_NPROC`` bounds the tasks of this sandbox's user namespace.

    Since Linux 5.14 the kernel counts a user's tasks per user namespace, so the
    limit caps a sandbox's own tree whoever runs the grader (not for a task that is
    root outside, which it exempts). Measured: with the limit at this user's tasks
    here plus one, one more fork works and the next is refused.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    read, write = os.pipe()
    outcomes, children = [], []
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (_tasks() + 1, hard))
        for _ in range(2):
            try:
                pid = os.fork()
            except BlockingIOError:
                outcomes.append("refused")
                continue
            if pid == 0:
                os.close(write)
                os.read(read, 1)
                os._exit(0)
            children.append(pid)
            outcomes.append("started")
    except (OSError, ValueError) as error:  # a hard limit below what is running
        return f"not measured ({error})"
    finally:
        resource.setrlimit(resource.RLIMIT_NPROC, (soft, hard))
        os.close(write)
        os.close(read)
        for pid in children:
            os.waitpid(pid, 0)
    limit = "unlimited" if soft == resource.RLIM_INFINITY else str(soft)
    if outcomes == ["started", "refused"]:
        return f"holds (RLIMIT_NPROC {limit})"
    return f"does not hold (forks at the limit: {', '.join(outcomes)}; RLIMIT_NPROC {limit})"


def measure(port: int | None, paths: list[str]) -> dict:
    """Measure this process's confinement.

    Parameters
    ----------
    port : int or None
        A port the grader listens on, on the host's loopback.
    paths : list of str
        Folders to try to write into, and files or folders that must be
        invisible (``hidden:PATH``).

    Returns
    -------
    facts : dict
        ``uid``, ``gid``, ``uid_map``, ``status`` (capabilities, seccomp,
        no_new_privs), ``denied`` (what calls the seccomp filter denies give),
        ``tasks_cap`` (whether ``RLIMIT_NPROC`` bounds the sandbox's tasks),
        ``host_loopback``, ``interfaces``, ``writable``, ``visible`` (of the
        hidden paths), ``devices``, ``processes``.
    """
    tries = [p for p in paths if not p.startswith("hidden:")]
    hidden = [p[len("hidden:"):] for p in paths if p.startswith("hidden:")]
    return {
        "uid": os.getuid(), "gid": os.getgid(), "uid_map": _uid_map(), "status": _status(),
        "host_loopback": _reach(port),
        "denied": _denied(), "tasks_cap": _tasks_cap(), "interfaces": _interfaces(),
        "writable": [p for p in tries if os.path.isdir(p) and _writable(p)],
        "visible": [p for p in hidden if os.path.exists(p) and os.path.getsize(p) > 0],
        "devices": sorted(os.listdir("/dev")),
        "processes": sum(entry.isdigit() for entry in os.listdir("/proc")),
    }

"""What a sandbox actually gives, measured from inside it at the start of a run.

:func:`measure` runs in a process forked in the sandbox, as a learner's would
be; the grader compares the facts with what it promises
(:func:`autograder.confinement.check`) and prints them in ``report.html``.
"""
from __future__ import annotations

import os
import socket

__all__ = ["measure"]


def _status() -> dict:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp"):
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
        no_new_privs), ``host_loopback``, ``interfaces``, ``writable``,
        ``visible`` (of the hidden paths), ``devices``, ``processes``.
    """
    tries = [p for p in paths if not p.startswith("hidden:")]
    hidden = [p[len("hidden:"):] for p in paths if p.startswith("hidden:")]
    return {
        "uid": os.getuid(), "gid": os.getgid(), "uid_map": _uid_map(), "status": _status(),
        "host_loopback": _reach(port),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "writable": [p for p in tries if os.path.isdir(p) and _writable(p)],
        "visible": [p for p in hidden if os.path.exists(p) and os.path.getsize(p) > 0],
        "devices": sorted(os.listdir("/dev")),
        "processes": sum(entry.isdigit() for entry in os.listdir("/proc")),
    }

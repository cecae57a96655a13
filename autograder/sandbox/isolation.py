"""Limits of one graded notebook, and the resource limits of each process that runs it.

The confinement itself (namespaces, file system view, capabilities) is
bubblewrap's (:mod:`autograder.sandbox.bubblewrap`); the cap on a whole process tree is
:mod:`autograder.sandbox.cgroups`'. What is left here binds one process at a time.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import tempfile

__all__ = ["Limits", "apply_limits", "protect_self"]

PR_SET_DUMPABLE = 4
# Tasks (processes and threads) of one notebook: room for a learner who starts a few
# hundred helpers, far below the machine's PID space (32768 by default).
MAX_TASKS = 1024


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
    max_tasks : int
        Processes and threads one notebook's tree may have at once (its control
        group's ``pids.max``, and ``RLIMIT_NPROC`` in its sandbox).
    """

    def __init__(self, cell_timeout=60.0, notebook_timeout=300.0, memory_mb=3072,
                 output_chars=5000, file_mb=64, max_tasks=MAX_TASKS):
        self.cell_timeout = float(cell_timeout)
        self.notebook_timeout = float(notebook_timeout)
        self.memory_mb = int(memory_mb)
        self.output_chars = int(output_chars)
        self.file_mb = int(file_mb)
        self.max_tasks = int(max_tasks)


def apply_limits(limits: Limits, scratch: str, own_user_namespace: bool = False) -> None:
    """Resource limits for the calling process, and ``scratch`` as its home and working folder.

    Parameters
    ----------
    own_user_namespace : bool
        The process runs in a sandbox's user namespace, where ``RLIMIT_NPROC``
        counts the sandbox's tasks only (Linux 5.14 and later), so it caps
        ``limits.max_tasks``; outside one it would count every process of the
        grader's user, and is left alone.

    Raises
    ------
    OSError
        If a limit cannot be set: a limit that does not hold is an error, not a warning.
    """
    values = [("RLIMIT_AS", limits.memory_mb << 20), ("RLIMIT_FSIZE", limits.file_mb << 20),
              ("RLIMIT_CORE", 0), ("RLIMIT_NOFILE", 512),
              ("RLIMIT_CPU", int(limits.notebook_timeout * 2) + 10)]
    if own_user_namespace:  # never above the grader's own hard limit, which cannot be raised
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        values.append(("RLIMIT_NPROC", limits.max_tasks if hard == resource.RLIM_INFINITY
                       else min(limits.max_tasks, hard)))
    for name, value in values:
        resource.setrlimit(getattr(resource, name), (value, value))
    os.environ.update(HOME=scratch, MPLCONFIGDIR=os.path.join(scratch, ".matplotlib"),
                      TMPDIR=scratch, PYTHONDONTWRITEBYTECODE="1")
    tempfile.tempdir = scratch
    os.chdir(scratch)


def protect_self() -> None:
    """Keep processes of the same user from reading this one's memory (ptrace, /proc/pid/mem)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")

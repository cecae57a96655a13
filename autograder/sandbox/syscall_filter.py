"""The system calls a sandbox may not make: a seccomp filter that bubblewrap installs.

Everything else is allowed. What is denied is the kernel's attack surface that
grading never needs, as the field denies it (flatpak's ``flatpak-run.c`` and
Docker's default profile): the keyring, eBPF, perf, ``userfaultfd``,
io_uring, mounts and namespaces, modules and ``kexec``, file handles,
``ptrace`` and other processes' memory, system-wide settings, NUMA placement,
raw port I/O, a personality other than Linux's, faking terminal input
(``TIOCSTI``, ``TIOCLINUX``), and sockets of families other than
``AF_UNIX``, ``AF_INET`` and ``AF_INET6``. A denied call fails with
``EPERM`` (so learner code gets an error it can read, not a dead process),
except ``clone3``: seccomp cannot read its flags, and ``ENOSYS`` makes the C
library fall back to ``clone``, whose namespace flags it can read.

The filter is built at run time by libseccomp, through its ``pyseccomp``
binding (:func:`build`), never written as BPF by hand.
"""
from __future__ import annotations

import errno
import os

from autograder.sandbox.bubblewrap import ConfinementError

__all__ = ["DENIED", "build", "describe"]

DENIED = (
    # The kernel's keyring is not namespaced: keys of the machine's other users.
    "add_key", "keyctl", "request_key",
    # Kernel programs, profiling and page-fault handling from user space: the sources of
    # many kernel exploits, and nothing a notebook does.
    "bpf", "perf_event_open", "userfaultfd",
    # io_uring: a second way into most of the kernel, outside this filter's view.
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # The sandbox's mounts and namespaces are bubblewrap's, and final.
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns",
    # The kernel itself.
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "reboot",
    # File handles open files by inode, past the sandbox's view of the file system.
    "open_by_handle_at",
    # Other processes' memory (the fork server's, the tests' process is in another sandbox).
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    # System-wide state and obsolete calls.
    "acct", "syslog", "quotactl", "swapon", "swapoff", "settimeofday", "clock_settime",
    "clock_adjtime", "uselib", "ustat", "sysfs", "_sysctl", "lookup_dcookie", "nfsservctl",
    "vhangup",
    # System V IPC objects and POSIX message queues outlive the process that made them, in
    # the sandbox's IPC namespace that the next learner's notebook shares; System V shared
    # memory is not counted by RLIMIT_AS once detached. Python, numpy and the lessons' tools
    # use POSIX shared memory and semaphores (files in /dev/shm, emptied after each notebook).
    "shmget", "semget", "msgget", "mq_open",
    # NUMA placement of memory.
    "mbind", "set_mempolicy", "migrate_pages", "move_pages",
    # Raw port I/O and 16-bit segments.
    "iopl", "ioperm", "modify_ldt",
)
# clone's flags that make a namespace; an unprivileged user namespace would give learner
# code capabilities over new mount and network namespaces of its own.
_CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                     0x40000000)
_TERMINAL_IOCTLS = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX: type into a terminal
_SOCKET_FAMILIES = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6; AF_UNSPEC (0) the kernel refuses
_LAST_FAMILY = 10
_PER_LINUX = 0
HINT = ("install libseccomp (Debian/Ubuntu: `sudo apt-get install libseccomp2`; Fedora: "
        "`sudo dnf install libseccomp`) and its Python binding in the grader's environment "
        "(`make setup`, or `pip install -r requirements.txt`), or pass --unconfined to grade "
        "a trusted class without confinement")


def _binding():
    try:
        import pyseccomp
    except (ImportError, OSError, RuntimeError) as error:  # no binding, or no libseccomp.so
        raise ConfinementError(f"the seccomp filter cannot be built ({type(error).__name__}: "
                               f"{error}); {HINT}.") from None
    return pyseccomp


def _rules(s) -> list[tuple[int, str, tuple]]:
    eperm = s.ERRNO(errno.EPERM)
    rules = [(eperm, name, ()) for name in DENIED]
    rules += [(eperm, "clone", (s.Arg(0, s.MASKED_EQ, flag, flag),)) for flag in _CLONE_NAMESPACES]
    rules.append((s.ERRNO(errno.ENOSYS), "clone3", ()))
    rules += [(eperm, "ioctl", (s.Arg(1, s.MASKED_EQ, 0xFFFFFFFF, request),))
              for request in _TERMINAL_IOCTLS]
    # A socket of an unloaded family makes the kernel load its module: deny them all,
    # for socketpair too.
    for call in ("socket", "socketpair"):
        rules += [(eperm, call, (s.Arg(0, s.EQ, family),))
                  for family in range(1, _LAST_FAMILY) if family not in _SOCKET_FAMILIES]
        rules.append((eperm, call, (s.Arg(0, s.GT, _LAST_FAMILY),)))
    rules.append((eperm, "personality", (s.Arg(0, s.NE, _PER_LINUX),)))
    return rules


def build() -> int:
    """The filter as BPF in an anonymous file, read from its start: bubblewrap's ``--seccomp FD``.

    Returns
    -------
    fd : int
        The caller passes it to bubblewrap and closes it.

    Raises
    ------
    autograder.sandbox.bubblewrap.ConfinementError
        If the binding or libseccomp is missing, or a system call is unknown to it.
    """
    s = _binding()
    native = s.system_arch()
    syscall_filter = s.SyscallFilter(s.ALLOW)
    # 32-bit and x32 system calls (int 0x80) are not checked against the rules: deny them all.
    syscall_filter.set_attr(s.Attr.ACT_BADARCH, s.ERRNO(errno.EPERM))
    for action, name, args in _rules(s):
        if s.resolve_syscall(native, name) == -1:  # -1: a name this libseccomp does not know
            raise ConfinementError(f"the seccomp filter cannot be built: libseccomp does not "
                                   f"know the system call {name} (it is older than the "
                                   f"kernel's calls it must deny); {HINT}.")
        syscall_filter.add_rule(action, name, *args)
    fd = os.memfd_create("autograder-seccomp")
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            syscall_filter.export_bpf(out)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def describe() -> dict:
    """Build the filter once, for the report: what it is and how many rules it has.

    Raises
    ------
    autograder.sandbox.bubblewrap.ConfinementError
        As :func:`build`.
    """
    fd = build()
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    s = _binding()
    return {"binding": f"pyseccomp {s.__version__}", "rules": len(_rules(s)),
            "instructions": size // 8, "denied": list(DENIED)}

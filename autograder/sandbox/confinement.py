"""Measure the confinement a run gets, and refuse the run when it falls short of the promise.

The promise (``docs/security.md``): learner code and tests run as a user that
is not root, with no capability and ``no_new_privs``, without the host's
network, unable to write anywhere but their private ``/tmp`` and ``/dev/shm``,
unable to see the instructor's files, the class's submissions or the
grader's output, behind a seccomp filter that denies the system calls
grading never needs (:mod:`autograder.sandbox.syscall_filter`), and, unless
``--without-tree-cap``, with a cap on the tasks of each notebook's processes
(a control group, or ``RLIMIT_NPROC`` in the sandbox's user namespace) and,
where a control group can be made, on their memory. :func:`check` measures
all of it from inside each sandbox (:mod:`autograder.sandbox.probe`) before anything
is graded.
"""
from __future__ import annotations

import glob
import os
import platform
import socket
import sys

from autograder.execution import wire
from autograder.sandbox import bubblewrap, cgroups, syscall_filter

__all__ = ["check"]

PRIVATE = ("/tmp", "/dev/shm")


def _targets(outside: list[str]) -> list[str]:
    course = bubblewrap.course_root()
    tries = ["/", "/etc", "/usr", "/var/tmp", course, sys.prefix, os.path.expanduser("~"),
             *(os.path.join(course, part) for part in bubblewrap.COURSE_PARTS), *PRIVATE,
             *(os.path.realpath(p) for p in outside)]
    hidden = [os.path.join(course, "solutions"), os.path.join(course, ".git"), "/etc/shadow",
              *glob.glob(os.path.join(sys.prefix, "*.db")),
              *(os.path.realpath(p) for p in outside)]
    return list(dict.fromkeys(tries)) + [f"hidden:{p}" for p in hidden]


def _probe(box: bubblewrap.Sandbox, outside: list[str]) -> dict:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    try:
        box.start()
        pid, sock = box.spawn({"op": "spawn", "role": "probe", "limits": {},
                               "port": listener.getsockname()[1], "paths": _targets(outside)})
        bubblewrap.release(sock)
        sock.settimeout(60)
        facts, _ = wire.recv(sock)
        sock.close()
        try:
            listener.accept()[0].close()
            facts["listener"] = "received a connection"
        except BlockingIOError:
            facts["listener"] = "received nothing"
        return facts
    finally:
        listener.close()
        box.close()


def _shortfalls(role: str, facts: dict) -> list[str]:
    status = facts.get("status", {})
    found = []
    if facts.get("uid") == 0:
        found.append(f"the {role} process runs as root")
    if status.get("CapEff", "0").strip("0"):
        found.append(f"the {role} process holds capabilities (CapEff {status['CapEff']})")
    if status.get("NoNewPrivs") != "1":
        found.append(f"the {role} process may gain privileges (no_new_privs is off)")
    if facts.get("listener") != "received nothing" or facts.get("host_loopback") == "reached":
        found.append(f"the {role} process reached the grader's network")
    if set(facts.get("interfaces", [])) - {"lo"}:
        found.append(f"the {role} process has network interfaces {facts['interfaces']}")
    writable = [p for p in facts.get("writable", []) if p not in PRIVATE]
    if writable:
        found.append(f"the {role} process may write into {', '.join(writable)}")
    if facts.get("visible"):
        found.append(f"the {role} process sees {', '.join(facts['visible'])}")
    if status.get("Seccomp") != "2":
        found.append(f"the {role} process has no seccomp filter (Seccomp {status.get('Seccomp')})")
    allowed = [f"{call} ({outcome})" for call, outcome in facts.get("denied", {}).items()
               if outcome != "EPERM"]
    if allowed:
        found.append(f"the {role} process was not denied {', '.join(allowed)}")
    return found


def check(confined: bool, tree_cap: bool, outside: list[str]) -> dict:
    """Measure the confinement of both sandboxes; refuse if it is not what is promised.

    Parameters
    ----------
    confined : bool
        False for ``--unconfined``: measured and reported, never refused.
    tree_cap : bool
        Whether the cap on each notebook's process tree is required.
    outside : list of str
        Folders the sandboxes must neither see nor write (output, submissions).

    Returns
    -------
    measured : dict
        ``confined``, ``seccomp`` (the filter built, when confined), ``learner``
        and ``tests`` (the probe's facts), ``tree_cap`` (control groups that
        hold), ``tasks_cap`` and ``memory_cap`` (what caps each notebook's
        tasks and memory, None for nothing but each process's rlimits),
        ``shortfalls``.

    Raises
    ------
    autograder.sandbox.bubblewrap.ConfinementError
        If ``confined`` and anything promised is missing.
    """
    measured = {"confined": confined}
    if confined:
        bubblewrap.find_bwrap()
        measured["seccomp"] = syscall_filter.describe()  # refuses when it cannot be built
    measured["tree_cap"] = cgroups.supported()
    shortfalls = []
    for role in ("learner", "tests"):
        measured[role] = _probe(bubblewrap.Sandbox(role, confined, preload=()), outside)
        shortfalls += _shortfalls(role, measured[role])
    nproc = all(measured[role].get("tasks_cap", "").startswith("holds")
                for role in ("learner", "tests"))
    measured["tasks_cap"] = ("control group (pids)" if "pids" in measured["tree_cap"] else
                             "RLIMIT_NPROC in each sandbox's user namespace" if nproc and confined
                             else None)
    measured["memory_cap"] = ("control group (memory)" if "memory" in measured["tree_cap"] else None)
    uncapped = None
    if measured["tasks_cap"] is None:
        uncapped = (f"nothing caps each notebook's tasks: no control group can be made "
                    f"(root on cgroup v1, or a group delegated to the grader's user, is needed) "
                    f"and RLIMIT_NPROC does not bound the sandbox (it counts per user namespace "
                    f"from Linux 5.14 on, here {platform.release()}, and never for a task that "
                    f"is root outside)")
        shortfalls.append(uncapped)
    measured["shortfalls"] = shortfalls
    refused = [s for s in shortfalls if tree_cap or s is not uncapped]
    if confined and refused:
        raise bubblewrap.ConfinementError(
            "learner code cannot be confined as promised: " + "; ".join(refused) + ". "
            + (f"To cap each notebook's tasks and memory, {cgroups.delegation_commands()}; or pass "
               "--without-tree-cap to grade with rlimits per process only. "
               if uncapped in refused else "")
            + "Pass --unconfined to grade a trusted class without confinement.")
    return measured

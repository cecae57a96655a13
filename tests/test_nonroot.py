"""Grading as a user that is not root, through the real command line: full marks for a
solution, and the tree cap holding against a fork bomb and a memory hog, with control
groups root delegated to that user and, without them, with ``RLIMIT_NPROC`` in the
sandbox's user namespace.

Each test runs the grader as a throwaway Unix user made for this module (so the suite
must run as root) in a private mount namespace: the user reads the checkout and its
``.venv`` where they are, and where a folder on the way is closed to others (the base
Python under ``/root``, say) the namespace shows that folder as an empty one holding
only what the grader needs. Nothing of the repository or the machine is changed; the
user, its folders and its control groups are removed afterwards.
"""
from __future__ import annotations

import csv
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.sandbox import cgroups
from tests.conftest import PYTHON, ROOT, run_group

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes a throwaway Unix user: needs root")

LESSON, NOTEBOOK = "01_preprocessing", "preprocessing"

FORK_BOMB = """
import os
made = 0
try:
    for _ in range(3000):  # stops itself here if nothing else does
        os.posix_spawn("/bin/sleep", ["sleep", "29.7183"], {})
        made += 1
except OSError as error:
    print("stopped:", error.strerror)
print("children:", made)
"""

# Four processes of 300 MiB each, every page touched: each is under its own RLIMIT_AS
# (--memory-mb 1024), the four are over the tree's cap (twice that) only together.
MEMORY_HOG = """
import subprocess, sys
hog = "b = bytearray(300 << 20); import time; time.sleep(60)"
kids = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(8)]
print("exits:", sorted(k.wait() for k in kids))
"""


class User:
    """A throwaway user and a folder of its own under /var/tmp."""

    def __init__(self):
        self.name = f"agt{secrets.token_hex(4)}"
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", self.name], check=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.base = Path(tempfile.mkdtemp(prefix="autograder-nonroot-", dir="/var/tmp"))
        (self.base / "home").mkdir()
        for path in (self.base, self.base / "home"):
            os.chown(path, self.uid, self.gid)

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)
        subprocess.run(["userdel", self.name], check=False)


@pytest.fixture(scope="module")
def user():
    made = User()
    try:
        yield made
    finally:
        made.remove()


def _closed_folders(paths) -> list[tuple[str, str]]:
    """(folder closed to others, its child on the way to a path) for each path."""
    found = []
    for path in paths:
        parts = os.path.realpath(path).split("/")
        for i in range(2, len(parts)):
            folder = "/".join(parts[:i]) or "/"
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                found.append((folder, "/".join(parts[:i + 1])))
                break
    return sorted(set(found))


def _shown_open(folder: str, children: list[str], keep: Path) -> list[str]:
    """Shell lines that show ``folder`` as an open one holding only ``children`` (names)."""
    keep.mkdir(parents=True, exist_ok=True)
    lines = [f"mount --bind '{folder}' '{keep}'", f"mount -t tmpfs -o mode=0755,size=1m tmpfs '{folder}'"]
    for name in children:
        make = "mkdir -p" if os.path.isdir(os.path.join(folder, name)) else "touch"
        lines += [f"{make} '{folder}/{name}'", f"mount --bind '{keep}/{name}' '{folder}/{name}'"]
    return lines


def _as_user(user: User, args: list[str], timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m autograder grade ARGS`` as ``user``, from the course root.

    The user stands for the checkout's owner: ``solutions/``, which a hub started on this
    checkout closes to other users (``lifecycle.hub.layout.PROTECTED``), is shown open.
    """
    script, keep = [], user.base / "keep"
    for n, (folder, child) in enumerate(_closed_folders([sys.base_prefix, sys.prefix, ROOT])):
        script += _shown_open(folder, [os.path.basename(child)], keep / str(n))
    solutions = ROOT / "solutions"
    if not solutions.stat().st_mode & stat.S_IROTH:
        script += _shown_open(str(solutions), sorted(os.listdir(solutions)), keep / "solutions")
    env = {"PATH": f"{os.path.dirname(PYTHON)}:/usr/bin:/bin", "HOME": str(user.base / "home"),
           "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    command = ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups",
               "env", "-i", *(f"{k}={v}" for k, v in env.items()),
               PYTHON, "-m", "autograder", "grade", *args]
    script.append("exec " + " ".join(f"'{c}'" for c in command))
    return run_group(["unshare", "--mount", "--propagation", "private", "sh", "-ec",
                      "\n".join(script)], timeout)


def _submit(user: User, run: str, cells: dict[str, str]) -> tuple[Path, Path]:
    """A class of one learner per entry: the solution, or one cell of code before it."""
    import nbformat

    subs, out = user.base / run / "subs", user.base / run / "out"
    solution = nbformat.read(str(ROOT / "solutions" / LESSON / f"{NOTEBOOK}.ipynb"), as_version=4)
    for learner, source in cells.items():
        nb = nbformat.from_dict(solution)
        if source:
            nb.cells.insert(0, nbformat.v4.new_code_cell(source))
        folder = subs / learner / LESSON
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{NOTEBOOK}.ipynb"))
    for path in [user.base / run, *(p for p in (user.base / run).rglob("*"))]:
        os.chown(path, user.uid, user.gid)
    return subs, out


def _rows(out: Path) -> dict[str, tuple[float, float, set]]:
    totals: dict = {}
    with open(out / "scores.csv", newline="") as f:
        for r in csv.DictReader(f):
            score, top, statuses = totals.get(r["learner"], (0.0, 0.0, set()))
            totals[r["learner"]] = (score + float(r["score"]), top + float(r["max_score"]),
                                    statuses | {r["status"]})
    return totals


def _sleepers() -> list[str]:
    time.sleep(0.5)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"29.7183" in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def _outputs(out: Path, learner: str) -> str:
    path = out / "autograded" / learner / LESSON / f"{NOTEBOOK}.ipynb"
    return path.read_text() if path.exists() else ""


@pytest.fixture
def delegated(user):
    """Control groups root made for the user (cgroup v1), in this process's own groups."""
    folders = []
    for parents, version in cgroups._own_folders().values():
        if version != 1:
            continue
        folder = os.path.join(parents[0], f"autograder-for-{user.name}")
        os.mkdir(folder)
        folders.append(folder)
        for entry in [folder, *(os.path.join(folder, f) for f in os.listdir(folder))]:
            os.chown(entry, user.uid, user.gid)
    if len(folders) < 2:
        for folder in folders:
            os.rmdir(folder)
        pytest.skip("no cgroup v1 pids and memory hierarchies here to delegate")
    try:
        yield folders
    finally:
        for folder in folders:
            cgroups.Caps([os.path.join(folder, n) for n in os.listdir(folder)
                          if os.path.isdir(os.path.join(folder, n))]).release()
            cgroups.Caps([folder]).release()


def test_a_solution_gets_full_marks_and_the_report_says_what_capped_it(user):
    subs, out = _submit(user, "plain", {"ann": ""})
    run = _as_user(user, [str(subs), "--out", str(out), "--workers", "1", "--quiet"])
    assert run.returncode == 0, run.stderr[-3000:]
    score, top, statuses = _rows(out)["ann"]
    assert score == top > 0 and statuses == {"ok"}
    report = (out / "report.html").read_text()
    assert "RLIMIT_NPROC in each sandbox&#x27;s user namespace" in report, report[-3000:]
    assert "memory: per process only" in report
    assert "unshare(CLONE_NEWUSER): EPERM" in report


def test_without_delegation_rlimit_nproc_stops_a_fork_bomb(user):
    subs, out = _submit(user, "nproc", {"bomb": FORK_BOMB})
    run = _as_user(user, [str(subs), "--out", str(out), "--workers", "1", "--quiet",
                          "--max-tasks", "48", "--cell-timeout", "120"])
    assert run.returncode == 0, run.stderr[-3000:]
    text = _outputs(out, "bomb")
    assert "stopped:" in text and "children:" in text, text[:3000]
    made = int(text.split("children:", 1)[1].split("\\n", 1)[0].strip().strip('"'))
    assert made < 48
    score, top, _ = _rows(out)["bomb"]
    assert score == top  # the solution after the bomb still runs: the bomb's tasks are gone
    assert _sleepers() == []


def test_delegated_groups_stop_a_fork_bomb_and_a_memory_hog(user, delegated):
    subs, out = _submit(user, "delegated", {"bomb": FORK_BOMB, "hog": MEMORY_HOG, "ann": ""})
    run = _as_user(user, [str(subs), "--out", str(out), "--workers", "1", "--quiet",
                          "--max-tasks", "48", "--memory-mb", "1024", "--cell-timeout", "120"])
    assert run.returncode == 0, run.stderr[-3000:]
    report = (out / "report.html").read_text()
    assert "tasks: control group (pids); memory: control group (memory)" in report
    rows = _rows(out)
    assert rows["ann"][0] == rows["ann"][1] > 0
    bomb = _outputs(out, "bomb")
    assert "stopped:" in bomb, bomb[:3000]
    # The group's memory limit ends processes of the hog (the kernel's OOM killer in that
    # group), or the learner's process itself: its row is not graded as it would be.
    hog = _outputs(out, "hog")
    assert "-9" in hog or rows["hog"][2] & {"killed", "error"}, hog[:3000]
    assert _sleepers() == []
    for folder in delegated:  # every notebook's group was removed after it
        assert [n for n in os.listdir(folder) if n.startswith("autograder-")] == []

"""A workshop hub for tests and the benchmark: ``python -m lifecycle.hub`` as ``make hub``
starts it, on a free port, with its own state folder and prefixed learner accounts that
:meth:`HubProcess.stop` removes again.
"""
from __future__ import annotations

import csv
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from lifecycle.hub.accounts import remove_accounts
from lifecycle.lab import ROOT, free_port

__all__ = ["HubProcess", "STATE_PARENT"]

#: Test hubs' state folders: outside the repository (running the tests writes nothing into
#: it), not under /tmp, which the grader's sandbox hides, and passable by the learners'
#: users; ``$LIFECYCLE_HUB_TEST_DIR`` chooses another folder.
STATE_PARENT = Path(os.environ.get("LIFECYCLE_HUB_TEST_DIR") or "/var/tmp/model-lifecycle-lab-hub-test")


class HubProcess:
    """One hub: start, restart (Ctrl-C and ``make hub`` again), stop and clean up.

    Parameters
    ----------
    learners : list of str
        Learner usernames (a random suffix is added so that runs never share accounts).
    grading_workers : int
        The grading service's ``--workers``.
    """

    def __init__(self, learners: list[str], grading_workers: int = 2):
        suffix = secrets.token_hex(2)
        self.names = {name: f"{name}_{suffix}" for name in learners}
        self.state = STATE_PARENT / f"hub-{suffix}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = grading_workers
        self.proc: subprocess.Popen | None = None
        self.log_path = self.state.parent / f"hub-{suffix}.log"

    def start(self, timeout: float = 120.0) -> HubProcess:
        STATE_PARENT.mkdir(exist_ok=True)
        os.chmod(STATE_PARENT, 0o711)
        self.state.mkdir(exist_ok=True)
        class_list = self.state / "class.txt"
        class_list.write_text("\n".join(self.names.values()) + "\n")
        argv = [sys.executable, "-m", "lifecycle.hub", "--port", str(self.port),
                "--state", str(self.state), "--class", str(class_list),
                f"--grading-arg=--workers={self.workers}"]
        log = open(self.log_path, "a")  # noqa: SIM115 - the child keeps it; closed on exit
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}): {self.log()[-3000:]}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the hub did not answer within {timeout:.0f} s: {self.log()[-3000:]}")

    def password(self, name: str) -> str:
        with open(self.state / "accounts" / "passwords.csv", newline="") as f:
            return {row["username"]: row["password"] for row in csv.DictReader(f)}[name]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as the instructor stops ``make hub``; wait for it (bounded)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        os.kill(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)

    def kill_leftovers(self) -> list[int]:
        """Kill (by pid) any process still running as one of this hub's learners."""
        import pwd

        import psutil

        uids = set()
        for name in self.names.values():
            try:
                uids.add(pwd.getpwnam("mll-" + name).pw_uid)
            except KeyError:
                pass
        killed = []
        for proc in psutil.process_iter(["pid", "uids"]):
            if proc.info["uids"] and proc.info["uids"].real in uids:
                try:
                    proc.kill()
                    killed.append(proc.info["pid"])
                except psutil.Error:
                    pass
        return killed

    def stop(self) -> None:
        """Stop the hub, then remove its accounts, homes and state."""
        clean = self.interrupt() == 0
        self.kill_leftovers()
        remove_accounts(list(self.names.values()))
        shutil.rmtree(self.state, ignore_errors=True)
        if clean:  # a hub that did not stop cleanly leaves its log for a look
            self.log_path.unlink(missing_ok=True)

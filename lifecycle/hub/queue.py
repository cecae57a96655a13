"""The grading queue: nbgrader's inbound folder is the queue, a ledger says what is done.

A learner's Submit (nbgrader's ``submit``) makes a folder
``exchange/<course>/inbound/<user>+<lesson>+<timestamp>+<random>``. That folder *is* the
queued job: it is on disk before the learner's Submit returns, so no restart of the hub
or of the grading service can lose it. The ledger ``grading/queue/done/<folder>.json`` is
written (atomically) only after the submission's feedback has been released, so a
submission is either pending or done; a crash in between grades it again on restart,
which the grader answers from its saved result (same content, same digest) without
running the notebook a second time.

Submissions are attributed by the Unix owner of their folder, not by its name: nbgrader
takes the name from ``$USER``, which a learner can change in a terminal.
"""
from __future__ import annotations

import json
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from lifecycle.hub.accounts import PREFIX

__all__ = ["Submission", "mark_done", "pending", "done_records"]

FOLDER = re.compile(r"^(?P<user>[a-z][a-z0-9_-]*)\+(?P<lesson>\d\d_[A-Za-z0-9_]+)\+"
                    r"(?P<timestamp>[^+/]+)\+(?P<random>[^+/]+)$")


@dataclass(frozen=True)
class Submission:
    """One submitted folder in the exchange's inbound."""

    folder: Path
    learner: str      # hub username (the Unix name without its prefix)
    lesson: str
    timestamp: str
    secret: str

    @property
    def key(self) -> str:
        return self.folder.name


def _owner_ok(folder: Path, user: str) -> bool:
    try:
        return folder.stat().st_uid == pwd.getpwnam(user).pw_uid
    except (KeyError, OSError):
        return False


def _ledger(queue: Path) -> Path:
    return queue / "done"


def mark_done(queue: Path, key: str, record: dict) -> None:
    """Record ``key`` (an inbound folder's name) as handled, with ``record``."""
    folder = _ledger(queue)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.tmp"
    tmp.write_text(json.dumps(record, sort_keys=True))
    os.replace(tmp, folder / f"{key}.json")


def done_records(queue: Path) -> list[dict]:
    """Every ledger record (each has ``key``, ``learner``, ``lesson``, ``status``...)."""
    records = []
    for path in sorted(_ledger(queue).glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return records


def pending(inbound: Path, queue: Path, lessons: set[str]) -> tuple[list[Submission], list[dict]]:
    """Submissions not yet handled, oldest first, and those refused now.

    Returns
    -------
    (list of Submission, list of dict)
        What to grade, and ledger records for folders that are not a learner's submission
        of a known lesson (wrong owner, unknown lesson, unreadable): these are recorded as
        ``rejected`` by the caller and never graded.
    """
    done = {p.stem for p in _ledger(queue).glob("*.json")}
    todo, rejected = [], []
    try:
        entries = sorted(os.scandir(inbound), key=lambda e: e.name)
    except FileNotFoundError:
        return [], []
    for entry in entries:
        if entry.name in done or not entry.is_dir(follow_symlinks=False):
            continue
        match = FOLDER.match(entry.name)
        folder = Path(entry.path)
        base = {"key": entry.name, "status": "rejected"}
        if not match:
            rejected.append(dict(base, why="not an nbgrader submission folder"))
            continue
        user, lesson = match["user"], match["lesson"]
        learner = user[len(PREFIX):] if user.startswith(PREFIX) else None
        base.update(learner=learner or user, lesson=lesson, timestamp=match["timestamp"])
        if learner is None or not _owner_ok(folder, user):
            rejected.append(dict(base, why=f"not submitted by a learner account ({PREFIX}<name> "
                                 "owning its folder)"))
            continue
        if lesson not in lessons:
            rejected.append(dict(base, why=f"unknown lesson {lesson}"))
            continue
        try:
            secret = (folder / "submission_secret.txt").read_text().strip()
        except OSError:
            secret = ""
        if len(secret) < 32:
            # nbgrader writes the secret right after copying the notebooks: a folder
            # without it yet is still being written; look again on the next round.
            continue
        todo.append(Submission(folder, learner, lesson, match["timestamp"], secret))
    todo.sort(key=lambda s: (s.timestamp, s.key))
    return todo, rejected

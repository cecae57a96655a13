"""Workshop accounts: a class list file, one Unix user per learner, one password each.

Why a class list (and not sign-up with approval): a workshop's room is known before it
starts, so the instructor writes the list once (one username a line) and hands out the
generated passwords; nobody who merely reaches the hub's address can create an account,
and there is no queue of sign-ups to approve while the room waits. Every learner gets
their own password (a shared one would let any learner log in as any other).

Why Unix users: nbgrader's exchange is built on Unix file ownership (a submission is
owned by whoever made it; the inbound folder cannot be listed), and a learner's server
running as that learner's own user, in a home of mode 0700, sees no other learner's
files. Learners' Unix names carry the prefix :data:`PREFIX` so they are never confused
with the machine's own users; :func:`remove_accounts` deletes them (tests do). ``useradd``
works in a container without systemd.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import pwd
import re
import secrets
import subprocess
from pathlib import Path

__all__ = ["INSTRUCTOR", "PREFIX", "AccountError", "check_password", "ensure_accounts",
           "read_class_list", "remove_accounts", "unix_name"]

PREFIX = "mll-"
INSTRUCTOR = "instructor"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,27}$")
WORDS = ("amber", "birch", "cedar", "delta", "ember", "fjord", "glade", "heron", "iris",
         "juniper", "kelp", "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "raven",
         "sable", "tidal", "umber", "velvet", "willow", "xenon", "yarrow", "zephyr")


class AccountError(ValueError):
    """A problem with the class list or the accounts; the message says how to fix it."""


def read_class_list(path: Path) -> list[str]:
    """Learner usernames in ``path``: one a line; blank lines and ``#`` comments ignored.

    Raises
    ------
    AccountError
        For a name that is not lower-case letters, digits and ``_`` (starting with a
        letter, at most 28 characters), a duplicate, or the instructor's name.
    """
    names, problems = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not NAME.match(name):
            problems.append(f"line {number}: {name!r} is not a username (lower-case letters, "
                            "digits and _, starting with a letter, at most 28 characters)")
        elif name == INSTRUCTOR:
            problems.append(f"line {number}: {INSTRUCTOR!r} is the instructor's account")
        elif name in names:
            problems.append(f"line {number}: {name!r} is listed twice")
        else:
            names.append(name)
    if problems:
        raise AccountError(f"{path}: " + "; ".join(problems))
    return names


def unix_name(name: str) -> str:
    """The Unix user a hub user's server runs as (the instructor: whoever runs the hub)."""
    if name == INSTRUCTOR:
        return pwd.getpwuid(os.getuid()).pw_name
    return PREFIX + name


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()


def _new_password() -> str:
    return "-".join(secrets.choice(WORDS) for _ in range(3)) + f"-{secrets.randbelow(100):02d}"


def _load(accounts: Path) -> dict:
    try:
        return json.loads((accounts / "accounts.json").read_text())
    except FileNotFoundError:
        return {}


def _create_unix_user(name: str, homes: Path) -> None:
    user = PREFIX + name
    try:
        pwd.getpwnam(user)
    except KeyError:
        home = homes / user
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--user-group",
                        "--shell", "/bin/bash", "--comment", "Model Lifecycle Lab learner",
                        user], check=True, capture_output=True, text=True)
    home = Path(pwd.getpwnam(user).pw_dir)
    os.chmod(home, 0o700)  # Debian's useradd leaves homes readable by everyone


def ensure_accounts(accounts: Path, learners: list[str], homes: Path = Path("/home")) -> dict:
    """Create what is missing: a Unix user and a password per learner, the instructor's password.

    Existing accounts keep their passwords (a restart changes nothing). New passwords are
    added to ``accounts/passwords.csv`` (mode 0600), the instructor's handout.

    Returns
    -------
    dict
        ``{username: password}`` of the accounts created now.
    """
    if os.getuid() != 0:
        raise AccountError("make hub creates a Unix user per learner and must run as root "
                           "(sudo make hub)")
    data = _load(accounts)
    created = {}
    for name in [INSTRUCTOR, *learners]:
        if name != INSTRUCTOR:
            _create_unix_user(name, homes)
        if name not in data:
            password, salt = _new_password(), secrets.token_bytes(16)
            data[name] = {"salt": salt.hex(), "hash": _hash(password, salt)}
            created[name] = password
    tmp = accounts / "accounts.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.chmod(tmp, 0o600)
    os.replace(tmp, accounts / "accounts.json")
    if created:
        handout = accounts / "passwords.csv"
        new = not handout.exists()
        with open(handout, "a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["username", "password"])
            writer.writerows(created.items())
        os.chmod(handout, 0o600)
    return created


def account_names(accounts: Path) -> list[str]:
    """Every account's hub username (the instructor first)."""
    return sorted(_load(accounts), key=lambda n: (n != INSTRUCTOR, n))


def check_password(accounts: Path, name: str, password: str) -> bool:
    """Whether ``password`` is ``name``'s (constant-time comparison)."""
    entry = _load(accounts).get(name)
    if not entry or not password:
        return False
    return hmac.compare_digest(entry["hash"], _hash(password, bytes.fromhex(entry["salt"])))


def remove_accounts(learners: list[str]) -> None:
    """Delete the learners' Unix users and homes (tests; ending a workshop for good)."""
    for name in learners:
        try:
            pwd.getpwnam(PREFIX + name)
        except KeyError:
            continue
        subprocess.run(["userdel", "--force", "--remove", PREFIX + name], capture_output=True, check=False)

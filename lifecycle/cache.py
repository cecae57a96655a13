"""Files worth keeping between runs, outside any repository.

Some set-up is the same for every run of the same inputs and costs seconds: an
empty MLflow store (every schema migration), ONNX graphs converted from a model
file, the type names skops trusts (:mod:`lifecycle.skops_io`), a gradebook with
the course's lessons in it. They are kept under
``$XDG_CACHE_HOME/lifecycle`` (by default ``~/.cache/lifecycle``), each file
named after what made it, so a change of inputs or versions makes a new one.

A process can also be given a *seed folder* (``$LIFECYCLE_CACHE_SEED``), laid out
as the cache and read when the cache misses: the grader fills one (:func:`seed`)
and its sandboxes see it read-only, so that what each notebook would make again
(their caches are emptied between notebooks) is made once per run.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks, each process makes its own file
    fcntl = None

__all__ = ["SEED_VARIABLE", "folder", "keep", "locked", "read", "restore", "seed"]

SEED_VARIABLE = "LIFECYCLE_CACHE_SEED"


def folder(name: str) -> Path:
    """Return the cache folder ``name`` (not created)."""
    return _root() / name


def _root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lifecycle"


def keep(cached: Path, data: bytes) -> None:
    """Write ``data`` to ``cached`` whole or not at all; a cache that cannot be written is skipped.

    Readers never see a partial file: it is written beside ``cached`` and renamed.
    The file is the user's alone (a gradebook holds the hidden tests).
    """
    try:
        cached.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(partial, cached)
    except OSError:
        pass  # a read-only home (the grader's sandbox, say): no cache, only slower


def restore(cached: Path, path: Path) -> bool:
    """Copy ``cached`` to ``path`` if it is there, or its copy in the seed folder; return whether it was."""
    for source in (cached, _seeded(cached)):
        if source is not None:
            try:
                shutil.copyfile(source, path)
            except OSError:
                continue
            return True
    return False


def read(cached: Path) -> bytes | None:
    """The bytes of ``cached``, or of its copy in the seed folder, or None if neither is there."""
    for source in (cached, _seeded(cached)):
        if source is not None:
            try:
                return Path(source).read_bytes()
            except OSError:
                continue
    return None


def _seeded(cached: Path) -> Path | None:
    """Where the seed folder (``$LIFECYCLE_CACHE_SEED``) would hold ``cached``."""
    seed_folder = os.environ.get(SEED_VARIABLE)
    if not seed_folder:
        return None
    try:
        return Path(seed_folder) / Path(cached).relative_to(_root())
    except ValueError:  # not a cache file
        return None


def seed(seed_folder: Path, cached: Path, make) -> None:
    """Put the cache file ``cached`` in ``seed_folder``, readable by everyone, read-only.

    It is copied from the cache, or made with ``make()`` (bytes) and kept there too,
    one process at a time (:func:`locked`): two grading workers starting at once make it once.

    Parameters
    ----------
    seed_folder : path-like
        A folder laid out as the cache (``$LIFECYCLE_CACHE_SEED`` of the processes that read it).
    cached : path-like
        A file under :func:`folder`.
    make : callable
        Returns the file's bytes.
    """
    target = Path(seed_folder) / Path(cached).relative_to(_root())
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(Path(cached).parent):
        if not restore(cached, target):
            data = make()
            keep(Path(cached), data)
            target.write_bytes(data)
    target.chmod(0o444)


@contextlib.contextmanager
def locked(folder: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the lock of the cache folder ``folder``, so that processes making its files take turns.

    Two processes that start at once and would both make the same file (an ONNX
    graph: seconds of CPU) then make it once: the second waits for the first,
    and finds the file. A folder that cannot be created or locked (a read-only
    home), or a lock still held after ``timeout`` seconds, runs the block unlocked.
    """
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        fd = None
    try:
        if fd is not None and fcntl is not None:
            _lock(fd, time.monotonic() + timeout)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # also releases the lock


def _lock(fd: int, deadline: float) -> None:
    """Take an exclusive ``flock`` on ``fd`` before ``deadline``, or give up."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        except OSError:
            return  # a file system without locks

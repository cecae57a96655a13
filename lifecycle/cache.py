"""Files worth keeping between runs, outside any repository.

Some set-up is the same for every run of the same inputs and costs seconds: an
empty MLflow store (every schema migration), ONNX graphs converted from a model
file, a gradebook with the course's lessons in it. They are kept under
``$XDG_CACHE_HOME/lifecycle`` (by default ``~/.cache/lifecycle``), each file
named after what made it, so a change of inputs or versions makes a new one.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["folder", "keep", "restore"]


def folder(name: str) -> Path:
    """Return the cache folder ``name`` (not created)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lifecycle" / name


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
    """Copy ``cached`` to ``path`` if it is there; return whether it was."""
    try:
        shutil.copyfile(cached, path)
    except OSError:
        return False
    return True

"""The cache's seed folder (lifecycle.cache) and the grader's (autograder.sandbox.seed)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autograder.sandbox import seed
from lifecycle import cache, mlflow_store


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cache.SEED_VARIABLE, raising=False)
    return tmp_path


def test_restore_reads_the_seed_folder_only_when_the_cache_misses(home, monkeypatch):
    cached = cache.folder("things") / "a.bin"
    target = home / "out.bin"
    assert not cache.restore(cached, target)
    (home / "seed" / "things").mkdir(parents=True)
    (home / "seed" / "things" / "a.bin").write_bytes(b"seeded")
    assert not cache.restore(cached, target)  # no seed folder given
    monkeypatch.setenv(cache.SEED_VARIABLE, str(home / "seed"))
    assert cache.restore(cached, target) and target.read_bytes() == b"seeded"
    cache.keep(cached, b"cached")
    assert cache.restore(cached, target) and target.read_bytes() == b"cached"
    assert not cache.restore(home / "elsewhere" / "a.bin", target)  # not a cache file


def test_seed_makes_a_file_once_and_leaves_it_read_only(home):
    made = []

    def make():
        made.append(1)
        return b"tables"

    cached = cache.folder("things") / "a.bin"
    for folder in ("one", "two"):
        cache.seed(home / folder, cached, make)
        copy = home / folder / "things" / "a.bin"
        assert copy.read_bytes() == b"tables"
        assert not copy.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert made == [1] and cached.read_bytes() == b"tables"


def test_the_grader_seeds_only_for_lessons_that_use_the_seeded_modules(home):
    assert seed.make(("numpy", "lifecycle.deploy")) is None
    cache.keep(mlflow_store.template(), b"an empty store")  # made once on this machine
    for preload in (("numpy", "lifecycle.versioning"), None):
        folder = seed.make(preload)
        try:
            copy = Path(folder) / mlflow_store.template().relative_to(cache.folder(""))
            assert copy.read_bytes() == b"an empty store"
            for path in (Path(folder), copy.parent):  # the sandbox user (nobody) reads it
                assert path.stat().st_mode & 0o005 == 0o005
            assert copy.stat().st_mode & 0o004
        finally:
            seed.remove(folder)
        assert not os.path.exists(folder)

"""An empty MLflow store (SQLite), made once per MLflow version and copied for each new store.

MLflow makes the tables of a new store by running every schema migration: about
3 s of CPU, the same file every time. :func:`new_store` copies it from the cache
(:mod:`lifecycle.cache`) and makes it only when it is not there;
:func:`seed` puts it in a seed folder, where the grader's sandboxes read it
(they cannot keep a cache from one notebook to the next).

This module imports nothing heavy: the grader calls :func:`seed` before any
sandbox starts, without loading MLflow itself when the file is already cached.
"""
from __future__ import annotations

import contextlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lifecycle import cache

__all__ = ["new_store", "seed", "template"]


def template() -> Path:
    """Where the cache keeps the empty store of the installed MLflow."""
    found = None
    for dist in ("mlflow-skinny", "mlflow"):  # the pinned package, or the full one
        with contextlib.suppress(PackageNotFoundError):
            found = found or version(dist)
    return cache.folder("mlflow") / f"empty-store-{found or 'unknown'}.db"


def new_store(db: Path) -> None:
    """Write an empty MLflow store to ``db``: copied from the cache, or made (and kept)."""
    cached = template()
    if not cache.restore(cached, db):
        tables = _empty_store()
        db.write_bytes(tables)
        cache.keep(cached, tables)  # a read-only or per-run home: made again next time


def seed(folder: Path) -> None:
    """Put the empty store in the seed folder ``folder`` (see :func:`lifecycle.cache.seed`)."""
    cache.seed(Path(folder), template(), _empty_store)


def _empty_store() -> bytes:
    """An MLflow store with every table and no experiment of ours, as an SQLite file's bytes.

    MLflow makes its tables by running every schema migration; on a file each
    step is synced to disk (seconds). Run in memory, on one shared connection
    (MLflow's upgrade supports that), then written once, it costs the migrations'
    CPU alone. Made in this process: no file another run could have written.
    """
    import logging

    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables  # what MlflowClient runs on a new store
    from sqlalchemy.pool import StaticPool

    for name in ("mlflow", "alembic"):  # table creation is chatty on stderr
        logging.getLogger(name).setLevel(logging.WARNING)
    engine = sqlalchemy.create_engine("sqlite://", poolclass=StaticPool)
    try:
        _initialize_tables(engine)
        return engine.raw_connection().driver_connection.serialize()
    finally:
        engine.dispose()

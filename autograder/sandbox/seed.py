"""The seed folder: files the course's code makes the same way for every notebook, made once.

Lesson 08's code starts each MLflow store from an empty one that MLflow's schema
migrations make (about 3 s of CPU, :mod:`lifecycle.mlflow_store`); importing
skops names every type it trusts (about 2 s, :mod:`lifecycle.skops_io`). A
learner's machine keeps both in its cache after the first time; a sandbox cannot,
since its ``/tmp`` (and so its home and cache) is emptied between notebooks, so each
graded notebook made the store again, once in its learner process and once in its
tests' process, and each fork server computed the names.

A worker's sandboxes instead get a seed folder (:mod:`lifecycle.cache`), made
by the grader before they start and mounted read-only at :data:`MOUNT`: learner
code may read it (it holds nothing but what any learner's first call makes) but
cannot change what the next notebook reads. A run whose lessons do not use
these modules gets none.
"""
from __future__ import annotations

import importlib
import os
import shutil
import tempfile

__all__ = ["MOUNT", "SEEDED", "make", "remove"]

MOUNT = "/seed"  # where a confined sandbox sees it
# Course modules whose set-up files are seeded, and the module that seeds them.
SEEDED = {"lifecycle.versioning": "lifecycle.mlflow_store", "lifecycle.skops_io": "lifecycle.skops_io"}


def make(preload: tuple[str, ...] | None) -> str | None:
    """A new seed folder for sandboxes that import ``preload`` (None: everything), or None.

    Parameters
    ----------
    preload : tuple of str or None
        What the sandboxes' fork servers import (:func:`autograder.sandbox.forkserver.modules_for`).

    Returns
    -------
    folder : str or None
        Readable by everyone (the sandbox user is ``nobody``), written by this user only;
        None when none of :data:`SEEDED` is used.
    """
    seeders = [seeder for module, seeder in SEEDED.items() if preload is None or module in preload]
    if not seeders:
        return None
    folder = tempfile.mkdtemp(prefix="autograder-seed-")
    for seeder in seeders:
        try:
            importlib.import_module(seeder).seed(folder)
        except Exception:  # noqa: BLE001 - no seed only makes each notebook pay for its set-up
            pass
    for parent, _, _ in os.walk(folder):
        os.chmod(parent, 0o755)
    return folder


def remove(folder: str | None) -> None:
    """Delete a folder :func:`make` returned."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)

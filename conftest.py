"""Spread the suite over pytest-xdist workers in groups that must stay together.

nbval's cells of one notebook share a kernel; the corpus tests of one lesson
share an in-process run of its notebook; a module with a class-wide fixture
grades its class once. Everything else is grouped by module.
"""
from __future__ import annotations

import os

# Parallelism comes from the xdist workers and the grader's own workers; math
# libraries' threads on top of them only fight over the cores (10x slower here).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402


def _group(item) -> str:
    if item.path.suffix == ".ipynb":
        return f"notebook:{item.path.parent.name}"
    params = getattr(getattr(item, "callspec", None), "params", {})
    notebook = params.get("notebook") or getattr(params.get("variant"), "notebook", None)
    if item.path.name == "test_corpus.py" and isinstance(notebook, str):
        return f"corpus:{notebook.split('/')[1]}"
    return f"module:{item.path.name}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(_group(item)))

"""Settings for the whole test run (``make test``: pytest-xdist, ``--dist loadscope``).

Scopes (a module, a test class, a notebook) go to the two workers in the
order of :func:`pytest_collection_modifyitems`, longest first, so that no long
module is left to run alone at the end (``make test`` passes
``--no-loadscope-reorder``: xdist would otherwise order scopes by how many
tests they hold, not by how long they take).
"""
from __future__ import annotations

import os

# Parallelism comes from the xdist workers and the grader's own workers; math
# libraries' threads on top of them only fight over the cores (10x slower here).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Each grades a class through the command line (minutes; test_cluster.py on a real Dask
# cluster), then the browser's lab.
LONGEST = ("tests/test_integrity.py", "tests/test_grading_cli.py",
           "tests/test_grading_pipeline.py", "tests/test_cluster.py", "tests/test_browser.py")


def _rank(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path in LONGEST:
        return LONGEST.index(path)
    return len(LONGEST) + (not path.startswith("solutions/"))  # then the notebooks (nbval)


def pytest_collection_modifyitems(config, items):
    """Put the longest scopes first; each scope keeps its tests' order."""
    items.sort(key=_rank)

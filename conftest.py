"""Settings for the whole test run (``make test``: pytest-xdist, ``--dist loadscope``).

Scopes (a module, a test class, a notebook) go to the two workers in the
order of :func:`pytest_collection_modifyitems`, longest first, so that no long
scope is left to run alone at the end (``make test`` passes
``--no-loadscope-reorder``: xdist would otherwise order scopes by how many
tests they hold, not by how long they take). At the end of the run the time of
each solution notebook (all its cells, under nbval) is printed.
"""
from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path

# Parallelism comes from the xdist workers and the grader's own workers; math
# libraries' threads on top of them only fight over the cores (10x slower here).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


# Seconds per xdist scope in a full `make test` (junit times summed per scope, 2-core
# machine, December 2026), only for the order: longest first. A scope not listed (a
# new module) is taken to be NEW_SCOPE seconds long, so it starts before the short
# ones rather than last.
SECONDS = {
    "tests/test_grading_pipeline.py": 449,
    "tests/test_grading_cli.py": 294,
    "tests/test_cluster.py": 198,  # a real Dask scheduler and two workers
    "tests/test_nonroot.py": 190,  # three grading runs as a throwaway user (alone: 105 s quiet)
    "tests/test_hub.py": 149,  # a real JupyterHub, proxy, learners' servers
    "tests/test_browser.py": 122,
    "tests/test_progress.py": 89,
    "tests/test_isolation.py": 85,
    "tests/test_integrity.py": 74,
    "tests/test_corpus.py::TestL02Optimizers": 54,
    "tests/test_corpus.py::TestL04Tuning": 51,
    "tests/test_corpus.py::TestL08Versioning": 38,
    "tests/test_corpus.py::TestL01Preprocessing": 30,
    "tests/test_release.py": 18,
    "tests/test_sandbox.py": 17,
    "tests/test_corpus.py::TestL06Monitoring": 17,
    "solutions/04_tuning/tuning.ipynb": 15,
    "tests/test_grader_units.py": 15,
    "solutions/08_versioning/versioning.ipynb": 14,
    "tests/test_lab.py": 12,
    "solutions/06_monitoring/monitoring.ipynb": 11,
    "solutions/05_deployment/deployment.ipynb": 11,
    "tests/test_corpus.py::TestL05Deployment": 10,
    "tests/test_service.py": 9,
    "solutions/02_optimizers/optimizers.ipynb": 9,
    "tests/test_lifecycle_versioning.py": 9,
    "solutions/07_compression/compression.ipynb": 8,
    "solutions/03_evaluation/evaluation.ipynb": 7,
    "solutions/01_preprocessing/preprocessing.ipynb": 7,
    "tests/test_cache_seed.py": 6,
    "tests/test_corpus.py::TestL07Compression": 5,
    "tests/test_skops_io.py": 5,
    "tests/test_corpus.py::TestL03Evaluation": 4,
    "tests/test_lifecycle_monitoring.py": 3,
    "tests/test_lifecycle_deploy.py": 2,
    "tests/test_lifecycle_tuning.py": 2,
    "tests/test_feedback.py": 1,
    "tests/test_validate.py": 1,
    "tests/test_lifecycle_evaluation.py": 1,
    "tests/test_lifecycle_optim.py": 1,
    "tests/test_lifecycle_compression.py": 1,
    "tests/test_hub_units.py": 1,
    "tests/test_notebook_metadata.py": 1,
    "tests/test_lifecycle_preprocessing.py": 1,
    "tests/test_datasets.py": 1,
    "tests/test_corpus.py": 1,
    "tests/test_demos.py": 1,
}
NEW_SCOPE = 60
NOTEBOOK_SCOPE = 15  # a solution notebook not listed yet (a new lesson)


def _scope(nodeid: str) -> str:
    """The xdist ``loadscope`` unit of a test: its class, or else its module (or notebook)."""
    return nodeid.rsplit("::", 1)[0]


def _seconds(item) -> float:
    scope = _scope(item.nodeid)
    if scope in SECONDS:
        return SECONDS[scope]
    return NOTEBOOK_SCOPE if scope.startswith("solutions/") else NEW_SCOPE


def pytest_collection_modifyitems(config, items):
    """Put the longest scopes first; each scope keeps its tests' order (the sort is stable)."""
    items.sort(key=lambda item: -_seconds(item))


class NotebookTimes:
    """Adds up each solution notebook's nbval items (setup, every cell, teardown) and prints them.

    Registered in the process that reports (the xdist controller, or the only one).
    """

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report):
        path, _, cell = report.nodeid.partition("::")
        if path.startswith("solutions/") and path.endswith(".ipynb") and cell:
            self.seconds[path] += report.duration

    def pytest_terminal_summary(self, terminalreporter):
        if not self.seconds:
            return
        terminalreporter.section("solution notebooks run top to bottom (nbval, kernel start included)")
        for path, seconds in sorted(self.seconds.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
        terminalreporter.write_line(f"{sum(self.seconds.values()):7.1f} s  all "
                                    f"{len(self.seconds)} notebooks")


def pytest_configure(config):
    from hypothesis.configuration import set_hypothesis_home_dir

    # Hypothesis's example database (schemathesis runs on it) stays out of the repository.
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "model-lifecycle-lab-hypothesis")
    if not hasattr(config, "workerinput"):  # an xdist worker's reports go to the controller
        config.pluginmanager.register(NotebookTimes(), "lifecycle-notebook-times")

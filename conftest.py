"""Settings for the whole test run (the suite runs with pytest-xdist, ``--dist loadscope``)."""
from __future__ import annotations

import os

# Parallelism comes from the xdist workers and the grader's own workers; math
# libraries' threads on top of them only fight over the cores (10x slower here).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

"""``python -m autograder``: see :mod:`autograder.cli`."""
import os
import sys

# One BLAS thread per grading process: workers are forked, and parallelism
# comes from grading several notebooks at once.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from autograder.cli import main  # noqa: E402

sys.exit(main())

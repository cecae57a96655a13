"""``python -m autograder``: see :mod:`autograder.cli`."""
import os
import sys

# One BLAS thread per grading process: workers are forked, and parallelism
# comes from grading several notebooks at once.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# nbformat imports jsonschema, which imports rfc3987_syntax if it is installed (an extra
# of jupyter-events) to check the "iri" format: it builds some 40 Lark parsers at import,
# 1.7 s of CPU in every run. No notebook schema uses that format; an entry of None in
# sys.modules makes the import fail, and jsonschema then leaves that one checker out.
sys.modules.setdefault("rfc3987_syntax", None)

from autograder.cli import main  # noqa: E402

sys.exit(main())

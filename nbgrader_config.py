"""nbgrader configuration for Model Lifecycle Lab.

The course root is the repository root: instructors edit ``solutions/``, learners
receive ``course/``. The grading settings below apply to ``nbgrader autograde`` and
to the Validate button; ``python -m autograder grade`` reads the same values.
"""
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

ROOT = Path(__file__).resolve().parent

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "model-lifecycle-lab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
# Data files live in datasets/ and are read through `lifecycle`; nothing but
# notebooks is copied into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.db"]

# A per-cell timeout (seconds): `python -m autograder grade` takes its default
# --cell-timeout from here (nbgrader reads `Execute.timeout`, not nbconvert's
# `ExecutePreprocessor.timeout`, which it silently ignores).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# nbgrader gives 0 to a test cell with *any* output on stderr, so one
# FutureWarning from a library would zero a correct answer. Drop warnings
# before grades are computed; real failures are errors, not stderr text.
c.IgnorePattern.pattern = r"(?s).*(Warning|warn\().*"

# A learner who deletes a test cell should not lose the points of the test
# cells still present, nor escape the deleted one: put it back.
c.OverwriteCells.add_missing_cells = True

# Keep feedback readable when a learner prints in a loop.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# Learners validate against all tests they can see; hidden tests are stripped
# from the release and run only when grading.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

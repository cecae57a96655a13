"""Grading pipeline of Model Lifecycle Lab, built on nbgrader.

``python -m autograder grade SUBMISSIONS --out OUT`` grades a class; see
``autograder.cli`` for the commands and ``docs/instructor.md`` for a workshop.
"""

__version__ = "0.1.1"

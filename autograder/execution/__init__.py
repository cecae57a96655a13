"""The split execution: learner cells in one process, the tests in another, answers between.

:mod:`~autograder.execution.execute` (the grader's side, relaying between the two),
:mod:`~autograder.execution.learner` (the learner's process), :mod:`~autograder.execution.verdict`
(the tests' process), :mod:`~autograder.execution.wire` (their messages) and
:mod:`~autograder.execution.answer_types` (the only types an answer may bring back).
"""

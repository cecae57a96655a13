"""One notebook's grading: check the submission, run it, write its grades and feedback page.

:mod:`~autograder.grading.pipeline` (the steps, in a grading worker),
:mod:`~autograder.grading.checks` (readable? tampered?), :mod:`~autograder.grading.notebook`
(what each lesson cell is for), :mod:`~autograder.grading.demos` (the lesson's
demonstrations grading leaves out), :mod:`~autograder.grading.feedback` and
:mod:`~autograder.grading.feedback_exporter` (the page), :mod:`~autograder.grading.inprocess`
(answer variants graded in-process, for testing the tests).
"""

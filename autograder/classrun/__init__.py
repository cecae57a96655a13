"""The class run: find a class's submissions, grade each notebook, keep the results.

:mod:`~autograder.classrun.run` (the run, in a local pool of workers),
:mod:`~autograder.classrun.cluster` (the same on a Dask cluster), :mod:`~autograder.classrun.ingest`
(the submissions), :mod:`~autograder.classrun.gradebook` (nbgrader's gradebook),
:mod:`~autograder.classrun.report` (``report.html``), :mod:`~autograder.classrun.progress`.
"""

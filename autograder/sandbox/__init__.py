"""The sandbox that learner code and the tests run in, and the proof that it confines them.

:mod:`~autograder.sandbox.bubblewrap` (two sandboxes per worker),
:mod:`~autograder.sandbox.forkserver` (forks each process inside),
:mod:`~autograder.sandbox.isolation` (per-process limits), :mod:`~autograder.sandbox.cgroups`
(per-notebook caps), :mod:`~autograder.sandbox.syscall_filter` (seccomp),
:mod:`~autograder.sandbox.probe` and :mod:`~autograder.sandbox.confinement` (measured from
inside, checked against the promise).
"""

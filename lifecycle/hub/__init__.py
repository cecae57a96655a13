"""The workshop's JupyterHub: ``make hub`` (``python -m lifecycle.hub``).

One hub for the whole room on one machine:

- :mod:`lifecycle.hub.accounts` -- the class list, one Unix user per learner (``mll-<name>``),
  per-person passwords;
- :mod:`lifecycle.hub.auth` and :mod:`lifecycle.hub.spawner` -- the hub's authenticator and
  the spawner that starts each learner's JupyterLab as that learner's Unix user;
- :mod:`lifecycle.hub.layout` -- the hub's state folder and the Jupyter/nbgrader
  configuration it writes (reusing :func:`lifecycle.lab.write_config`);
- :mod:`lifecycle.hub.queue` and :mod:`lifecycle.hub.grading` -- the grading service: every
  submission in the nbgrader exchange is graded by ``python -m autograder grade`` (confined)
  and its feedback released where nbgrader's ``fetch_feedback`` finds it;
- :mod:`lifecycle.hub.live` -- the instructor's live view, served by that service;
- :mod:`lifecycle.hub.launch` -- the command line.
"""

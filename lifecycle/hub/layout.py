"""The hub's state folder: where everything that outlives a ``make hub`` is kept.

``<repository>/.hub`` (git-ignored) by default::

    .hub/                 0711  others may pass through, not list
      hub/                0700  JupyterHub's database, cookie secret, settings
      accounts/           0700  password hashes, the instructor's handout (passwords.csv)
      config/learner/     0755  the learners' Jupyter configuration (read-only to them)
      config/instructor/  0700  the instructor's
      exchange/           0777  nbgrader's exchange (nbgrader sets the modes inside)
      grading/            0700  the grading service: submitted/, graded/ (gradebook), queue/

Learners' homes (their work) are outside it: ``/home/mll-<name>`` unless ``--homes``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from lifecycle.lab import ROOT, write_config

__all__ = ["HubLayout", "PROTECTED", "protect_instructor_files"]

#: Folders of the repository that hold answers or hidden tests: closed to other users.
PROTECTED = ("solutions", "tests", "examples", "out", ".lab", ".git", "benchmarks")

#: Sections of the course's nbgrader_config.py that Validate must use on a learner's
#: server too (it runs in the learner's home, where that file is not found).
GRADING_SECTIONS = ("Execute", "IgnorePattern", "OverwriteCells", "LimitOutput", "ClearSolutions")


@dataclass(frozen=True)
class HubLayout:
    """Paths of one hub's state.

    Parameters
    ----------
    state : pathlib.Path
        The state folder (``.hub`` by default).
    homes : pathlib.Path
        Parent of the learners' home folders.
    """

    state: Path
    homes: Path = Path("/home")

    @property
    def hub(self) -> Path:
        return self.state / "hub"

    @property
    def accounts(self) -> Path:
        return self.state / "accounts"

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def grading(self) -> Path:
        return self.state / "grading"

    @property
    def submitted(self) -> Path:
        """Latest submission of each learner, nbgrader's ``submitted`` layout (grader input)."""
        return self.grading / "submitted"

    @property
    def graded(self) -> Path:
        """``python -m autograder grade --out``: gradebook, scores, feedback, report."""
        return self.grading / "graded"

    @property
    def queue(self) -> Path:
        return self.grading / "queue"

    @property
    def settings(self) -> Path:
        return self.hub / "settings.json"

    def learner_config(self) -> Path:
        return self.state / "config" / "learner" / "config"

    def instructor_config(self) -> Path:
        return self.state / "config" / "instructor" / "config"

    def create(self) -> None:
        """Make the folders with the modes above (idempotent)."""
        modes = {self.state: 0o711, self.hub: 0o700, self.accounts: 0o700,
                 self.state / "config": 0o755, self.exchange: 0o777, self.grading: 0o700,
                 self.submitted: 0o700, self.graded: 0o700, self.queue: 0o700}
        for path, mode in modes.items():
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, mode)

    def write_jupyter_config(self) -> None:
        """The learners' and the instructor's Jupyter configuration, as ``make lab`` writes it.

        Learners get ``make lab``'s learner mode plus nbgrader's Assignments tab and the
        hub's exchange; the instructor gets instructor mode on the same exchange, with the
        formgrader on the grading service's gradebook.
        """
        write_config("learner", self.state / "config", exchange=self.exchange, assignments=True)
        os.chmod(self.state / "config" / "learner", 0o755)
        nbgrader = self.learner_config() / "nbgrader_config.json"
        settings = json.loads(nbgrader.read_text())
        settings.update(course_grading_settings())
        nbgrader.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        for dirpath, _dirs, filenames in os.walk(self.state / "config" / "learner"):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
        course = {"db_url": f"sqlite:///{self.graded / 'gradebook.db'}",
                  "autograded_directory": str(self.graded / "autograded"),
                  "feedback_directory": str(self.graded / "feedback"),
                  "submitted_directory": str(self.submitted)}
        write_config("instructor", self.state / "config", exchange=self.exchange, course=course)
        os.chmod(self.state / "config" / "instructor", 0o700)


def course_grading_settings() -> dict:
    """The grading sections of the course's ``nbgrader_config.py``, as JSON config."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    return {name: dict(config[name]) for name in GRADING_SECTIONS if name in config}


def protect_instructor_files(root: Path = ROOT) -> list[Path]:
    """Close the repository's answers and hidden tests to every other Unix user.

    Learners' servers run as their own users and can read what ``others`` may read: the
    course's code and data must stay readable (their kernels import ``lifecycle``), but
    ``solutions/`` (and the tests, examples and git history that hold the same answers)
    must not. Returns the folders changed.
    """
    changed = []
    for name in PROTECTED:
        path = root / name
        if path.exists() and not path.is_symlink():
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(path, mode & 0o700)
                changed.append(path)
    return changed

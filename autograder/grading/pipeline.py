"""Grade one submitted notebook: nbgrader's sanitizing preprocessors, our split
execution, nbgrader's output limits, then the learner's feedback page.

This runs in a grading worker. It reads the gradebook (for the instructor's
cells) but never writes it: the main process saves grades, one at a time.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_output
from traitlets.config import Config

from autograder.execution.execute import run_notebook
from autograder.grading.checks import Unreadable, find_tampering, read_submission

__all__ = ["Job", "Outcome", "grade"]

MAX_READ = 64 << 20  # read no more of a file than this; checks refuse anything over 20 MiB
TAMPER_NOTE = ("Not graded: the notebook's graded parts were changed or the grader's checks "
               "were interfered with ({}). Ask your instructor to review it.")


@dataclass
class Job:
    """One notebook of one learner to grade."""

    learner: str
    lesson: str
    notebook: str
    path: str | None
    digest: str = ""
    problem: str | None = None  # set when the file cannot even be looked at
    status: str | None = None   # "missing" or "invalid" with ``problem``
    timestamp: str | None = None


@dataclass
class Outcome:
    """What grading a :class:`Job` produced."""

    job: Job
    rows: list = field(default_factory=list)  # dicts: exercise, score, max_score, status, message
    graded_nb: str | None = None
    feedback_html: str = ""
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    unanswered: list = field(default_factory=list)  # answer cells' grade ids, left as released


def _rows_for(lesson, status: str, message: str) -> list[dict]:
    return [{"exercise": c.grade_id, "score": 0.0, "max_score": c.points, "status": status,
             "message": message} for c in lesson.tests]


def _resources(job: Job, db_url: str) -> dict:
    return {"nbgrader": {"notebook": job.notebook, "assignment": job.lesson,
                         "student": job.learner, "db_url": db_url}}


def _sanitize(nb, resources, config):
    from nbconvert.preprocessors import ClearOutputPreprocessor  # noqa: F401 - nbgrader's below
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    for cls in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = cls(config=config).preprocess(nb, resources)
    return nb


def _limit_output(nb, resources, config):
    from nbgrader.preprocessors import LimitOutput

    return LimitOutput(config=config).preprocess(nb, resources)[0]


def _mark_all_failed(nb, note: str) -> None:
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell.outputs = [new_output("error", ename="NotGraded", evalue=note, traceback=[note])]


def _true_messages(rows: list[dict], lesson, nb, hidden: set[str]) -> None:
    """Say "not attempted" for an untouched answer; drop the hidden-test note where a
    visible check of the same exercise failed (the note says the visible ones pass)."""
    from autograder.execution.execute import HIDDEN_NOTE
    from autograder.grading.feedback import NOT_ATTEMPTED

    cells = {(c.metadata.get("nbgrader") or {}).get("grade_id"): c
             for c in nb.cells if c.cell_type == "code"}
    by_id = {r["exercise"]: r for r in rows}

    def say(row, message):  # in the scores and in the test cell's output, the same words
        row["message"] = message
        if row["exercise"] in cells:
            cells[row["exercise"]].outputs = [new_output("error", ename="Error", evalue=message,
                                                         traceback=[message])]

    for answer, tests in lesson.exercises:
        failed = [by_id[t] for t in tests if t in by_id and by_id[t]["status"] == "error"]
        if answer in cells and "raise NotImplementedError" in cells[answer].source:
            for row in failed:
                say(row, NOT_ATTEMPTED)
        elif any(r["exercise"] not in hidden for r in failed):
            for row in failed:
                if row["exercise"] in hidden:
                    say(row, row["message"].replace(
                        HIDDEN_NOTE, "A check on inputs you have not seen failed too.", 1))


def _feedback(nb, job: Job, rows: list[dict], notes: list[str], config: Config) -> str:
    from nbgrader.preprocessors import ClearHiddenTests

    from autograder.grading.feedback import exporter, page_resources

    nb = copy.deepcopy(nb)
    # Only graded cells hold hidden tests (and are the instructor's, restored by
    # OverwriteCells). A learner's cell that merely mentions "BEGIN HIDDEN TESTS"
    # made nbgrader's ClearHiddenTests raise on the whole notebook: a grader error.
    clear = ClearHiddenTests(config=config)  # the course's delimiters
    said = set(notes)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.metadata.get("nbgrader") or {}).get("grade"):
            clear.preprocess_cell(cell, {}, index)
            # A reason the whole notebook was not graded is said once, on top.
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "error" and o.get("evalue") in said)]
    body, _ = exporter().from_notebook_node(nb, resources=page_resources(nb, job, rows, notes))
    return body


def grade(job: Job, lesson, source_nb, db_url: str, config: Config, limits, boxes) -> Outcome:
    """Grade one job; never raises for anything the submission does.

    Parameters
    ----------
    job : Job
    lesson : autograder.grading.notebook.Lesson
        The instructor's notebook, classified.
    source_nb : nbformat.NotebookNode
        The instructor's notebook itself.
    db_url : str
        The gradebook, read for the instructor's cells.
    config : traitlets.config.Config
        nbgrader configuration (``nbgrader_config.py``).
    limits : autograder.sandbox.isolation.Limits
    boxes : autograder.sandbox.bubblewrap.Pair
        The sandboxes the learner's code and the tests run in.
    """
    start = time.monotonic()
    out = Outcome(job)
    if job.status:
        out.rows = _rows_for(lesson, job.status, job.problem or job.status)
        out.notes.append(job.problem or job.status)
        out.feedback_html = _feedback(source_nb_release(source_nb, config), job, out.rows, out.notes, config)
        out.seconds = time.monotonic() - start
        return out
    try:
        with open(job.path, "rb") as f:
            data = f.read(MAX_READ)
        source_ids = {c.grade_id for c in lesson.cells if c.grade_id}
        nb = read_submission(data, source_ids)
        tampering = find_tampering(nb, source_nb, lesson.delimiters)
    except (Unreadable, OSError) as error:
        out.rows = _rows_for(lesson, "invalid", f"could not be graded: {error}")
        out.notes.append(f"could not be graded: {error}")
        out.feedback_html = _feedback(source_nb_release(source_nb, config), job, out.rows, out.notes, config)
        out.seconds = time.monotonic() - start
        return out
    resources = _resources(job, db_url)
    out.notes += _deleted_cells(nb, lesson)
    try:
        nb = _sanitize(nb, resources, config)
    except Exception as error:  # noqa: BLE001 - nbgrader refuses some damaged notebooks
        # e.g. an invented or renamed graded cell (KeyError in OverwriteCells) or a test
        # cell turned into an answer (inconsistent checksums): not a grader fault.
        if tampering:
            note = TAMPER_NOTE.format("; ".join(tampering[:3]))
            out.rows = _rows_for(lesson, "tampered", note)
        else:
            note = f"could not be graded: nbgrader refused the notebook ({error})"[:300]
            out.rows = _rows_for(lesson, "invalid", note)
        out.notes.append(note)
        out.feedback_html = _feedback(source_nb_release(source_nb, config), job, out.rows, out.notes, config)
        out.seconds = time.monotonic() - start
        return out
    result = run_notebook(nb, lesson, limits, boxes)
    tampering += [f"it changed {what} while running" for what in result.tampered]
    rows = []
    for cell in lesson.tests:
        test = result.tests.get(cell.grade_id)
        if test is None:  # a test cell that never ran (notebook stopped before it)
            test = {"passed": False, "status": "error", "message": "this test did not run"}
        rows.append({"exercise": cell.grade_id, "score": cell.points if test["passed"] else 0.0,
                     "max_score": cell.points, "status": test["status"], "message": test["message"]})
    _true_messages(rows, lesson, nb, {g for g, t in result.tests.items() if t.get("hidden")})
    if tampering:
        note = TAMPER_NOTE.format("; ".join(tampering[:3]))
        _mark_all_failed(nb, note)
        rows = [{**r, "score": 0.0, "status": "tampered", "message": note} for r in rows]
        out.notes.append(note)
    out.notes += result.problems
    nb = _limit_output(nb, resources, config)
    out.rows = rows
    out.unanswered = _unanswered(nb)
    out.graded_nb = nbformat.writes(nb)
    out.feedback_html = _feedback(nb, job, rows, out.notes, config)
    out.seconds = time.monotonic() - start
    return out


def _unanswered(nb) -> list[str]:
    """Answer cells whose checksum is still the released one (nbgrader's "No response.")."""
    from nbgrader.utils import compute_checksum, is_solution

    return [cell.metadata.nbgrader["grade_id"] for cell in nb.cells if is_solution(cell)
            and cell.metadata.nbgrader.get("checksum") == compute_checksum(cell)]


def _deleted_cells(nb, lesson) -> list[str]:
    """Say which graded cells the learner deleted: test cells come back from the lesson
    (nbgrader's ``OverwriteCells``), a deleted answer scores 0 for its exercise only."""
    present = {(c.metadata.get("nbgrader") or {}).get("grade_id") for c in nb.cells}
    tests = [c.grade_id for c in lesson.tests if c.grade_id not in present]
    answers = [c.grade_id for c in lesson.answers if c.grade_id not in present]
    notes = []
    if tests:
        notes.append(f"restored from the lesson: the deleted test cell{'s' * (len(tests) > 1)} "
                     f"{', '.join(tests)} (graded as usual)")
    if answers:
        notes.append(f"the answer cell{'s' * (len(answers) > 1)} {', '.join(answers)} "
                     "was deleted: the tests of that exercise score 0, the others keep their "
                     "points")
    return notes


def source_nb_release(source_nb, config: Config):
    """The instructor's notebook released as nbgrader releases it with ``config``, for a feedback page."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = copy.deepcopy(source_nb)
    nb, _ = ClearSolutions(config=config).preprocess(nb, {})
    nb, _ = ClearHiddenTests(config=config).preprocess(nb, {})
    return nb

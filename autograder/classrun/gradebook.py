"""Keep nbgrader's gradebook in step with a grading run.

The assignments are created from ``solutions/`` by nbgrader's own
``GenerateAssignment`` (so cell checksums and source cells are nbgrader's),
and grades are stored in nbgrader's own records (``nbgrader.api``) from the same
rows as ``scores.csv``. The formgrader and ``nbgrader export`` therefore work on
``OUT/gradebook.db`` as on any course.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from pathlib import Path

from traitlets.config import Config

__all__ = ["course_config", "prepare_assignments", "save_grades", "export_grades",
           "late_submissions"]

COURSE_ID = "model-lifecycle-lab"
# The gradebook holds every hidden test (its source cells): the grading user's alone.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def course_config(root: str, out: str) -> Config:
    """nbgrader configuration for a grading run: the course's own settings, the run's gradebook."""
    c = nbgrader_config(root)
    c.CourseDirectory.root = root
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = os.path.join(out, ".work", "release")
    c.CourseDirectory.db_url = db_url(out)
    c.CourseDirectory.course_id = COURSE_ID
    return c


def nbgrader_config(root: str | None = None) -> Config:
    """The settings of the course's ``nbgrader_config.py`` under ``root`` (default: this course)."""
    from traitlets.config.loader import PyFileConfigLoader

    root = root or str(Path(__file__).resolve().parents[2])
    c = Config()
    if os.path.exists(os.path.join(root, "nbgrader_config.py")):
        c.merge(PyFileConfigLoader("nbgrader_config.py", path=root).load_config())
    return c


def private_folder(path: Path) -> Path:
    """``path`` made (or kept) as a folder that only this user may open: it holds hidden tests."""
    path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_FOLDER)  # also one an earlier run made, or the umask narrowed
    return path


def db_url(out: str) -> str:
    return "sqlite:///" + os.path.abspath(os.path.join(out, "gradebook.db"))


def prepare_assignments(config: Config, lessons: list[str], due: str | None = None) -> None:
    """Create (or update) each lesson in the gradebook with nbgrader's GenerateAssignment.

    ``due`` (``--due``), when given, becomes every lesson's due date in the gradebook, as
    ``nbgrader db assignment add --duedate`` would set it: nbgrader then counts a
    submission whose ``timestamp.txt`` is later as late (``grades.csv``, formgrader).
    """
    from lifecycle import cache

    db = _db_path(config)
    digests = {lesson: _source_digest(config, lesson) for lesson in lessons}
    template = cache.folder("gradebooks") / f"{_digest(digests)}.db"
    if db.exists():  # from an earlier run, perhaps of a version that left it readable
        os.chmod(db, PRIVATE_FILE)
    # A new gradebook for the same lessons is the same file every time: make it once.
    if db.exists() or not _restore(template, db):
        new = not db.exists()
        _create(config.CourseDirectory.db_url)
        with _one_sync(db):
            _generate(config, [lesson for lesson, digest in digests.items()
                               if new or not _stamped(db, lesson, digest)])
        if new:
            cache.keep(template, db.read_bytes())
    for lesson, digest in digests.items():  # only once the gradebook is on disk
        _stamp(db, lesson).parent.mkdir(parents=True, exist_ok=True)
        _stamp(db, lesson).write_text(digest)
    duedate = _timestamp(due)
    for lesson in lessons:
        _set_due(config, lesson, duedate)


def _restore(template: Path, db: Path) -> bool:
    """Copy the cached gradebook ``template`` to ``db``, readable by this user only."""
    from lifecycle import cache

    partial = db.with_name(f"{db.name}.{os.getpid()}.tmp")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE))
    if not cache.restore(template, partial):  # copied into the private file, keeping its mode
        partial.unlink()
        return False
    os.replace(partial, db)
    return True


def _generate(config: Config, lessons: list[str]) -> None:
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    for lesson in lessons:
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = lesson
        converter = GenerateAssignment(coursedir=coursedir, config=config)
        converter.force = True
        converter.log.setLevel(logging.ERROR)
        converter.start()


def _stamped(db: Path, lesson: str, digest: str) -> bool:
    stamp = _stamp(db, lesson)
    return stamp.is_file() and stamp.read_text() == digest


def _stamp(db: Path, lesson: str) -> Path:
    """Holds the digest of the lesson as the gradebook has it: GenerateAssignment costs a
    second or two per lesson, skipped on a rerun when neither the lesson's notebooks nor
    nbgrader's settings changed."""
    return db.parent / ".work" / f"{lesson}.source"


def _digest(digests: dict[str, str]) -> str:
    import nbgrader

    return hashlib.sha256(repr((nbgrader.__version__, sorted(digests.items()))).encode()
                          ).hexdigest()[:32]


def _db_path(config: Config) -> Path:
    return Path(config.CourseDirectory.db_url[len("sqlite:///"):])


def _create(db_url: str) -> None:
    """Make a new gradebook as nbgrader's ``Gradebook`` does, in this process.

    nbgrader learns its schema's revision from an ``alembic heads`` subprocess
    (a Python start and alembic's imports, about a second) whenever it opens a
    gradebook that has no tables; alembic's ``ScriptDirectory`` reads the same
    revision from nbgrader's migration scripts without one. Tables and revision
    are written in one transaction, so a gradebook is either whole or absent.
    """
    path = db_url[len("sqlite:///"):]
    if os.path.exists(path):
        return
    # SQLite fills an empty file, and gives its journal the file's mode: the user's alone.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from nbgrader.dbutil import ALEMBIC_DIR
    from sqlalchemy import create_engine, text

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    engine = create_engine(db_url, future=True)
    try:
        with engine.begin() as connection:
            Base.metadata.create_all(bind=connection)
            connection.execute(text("CREATE TABLE alembic_version "
                                    "(version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                               {"head": head})
    finally:
        engine.dispose()


@contextlib.contextmanager
def _one_sync(path: Path):
    """Let SQLite skip its fsyncs on ``path`` inside the block, then sync the file once.

    nbgrader's ``SaveCells`` commits every cell it stores, and each commit waits
    for the disk two or three times: about 70 commits per lesson. Without those
    waits a crash of the grader still loses nothing (the data is in the kernel's
    cache); only an operating-system crash inside the block could, and the
    lesson's stamp is written after the single fsync, so a rerun generates it again.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    target = str(path.resolve())

    def unsynced(dbapi_connection, _record):
        files = [row[2] for row in dbapi_connection.execute("PRAGMA database_list")]
        if target in files:
            dbapi_connection.execute("PRAGMA synchronous = OFF")

    event.listen(Engine, "connect", unsynced)
    try:
        yield
    finally:
        event.remove(Engine, "connect", unsynced)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _source_digest(config: Config, lesson: str) -> str:
    folder = Path(config.CourseDirectory.root) / config.CourseDirectory.source_directory / lesson
    h = hashlib.sha256(repr(sorted(config.ClearSolutions.items())).encode())
    for path in sorted(folder.glob("*.ipynb")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def _set_due(config: Config, lesson: str, duedate) -> None:
    if duedate:
        from nbgrader.api import Gradebook

        with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:
            gb.update_or_create_assignment(lesson, duedate=duedate)


def save_grades(config: Config, job, rows: list[dict], unanswered=()) -> None:
    """Store one notebook's grades from its rows, the ones ``scores.csv`` is written from.

    The learner, the submission (with its time) and nbgrader's records of the
    notebook are made as nbgrader's ``add_submission`` makes them, then each
    grade cell's ``auto_score`` is its row's score, as ``SaveAutoGrades`` would
    set it (a grade cell without a row is left for manual grading), and each
    answer cell left as released gets nbgrader's "No response." comment. All of
    it is one transaction: a crash leaves the notebook's old grades or its new ones.

    Parameters
    ----------
    config : traitlets.config.Config
    job : autograder.grading.pipeline.Job
    rows : list of dict
        ``exercise`` (grade id) and ``score`` of each test cell.
    unanswered : iterable of str
        Grade ids of the answer cells left unchanged.
    """
    from nbgrader.api import Gradebook

    scores = {row["exercise"]: float(row["score"]) for row in rows}
    no_response = set(unanswered)
    # nbgrader's own session handling warns on every new submission; it is harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:
            try:
                notebook = _submitted_notebook(gb.db, job)
                for grade in notebook.grades:
                    grade.auto_score = scores.get(grade.name)
                    grade.needs_manual_grade = (grade.manual_score is not None
                                                or grade.auto_score is None)
                for comment in notebook.comments:
                    comment.auto_comment = "No response." if comment.name in no_response else None
                gb.db.commit()
            except BaseException:
                gb.db.rollback()
                raise


def _submitted_notebook(db, job):
    """nbgrader's record of ``job``'s notebook, made (uncommitted) with its submission if new."""
    from nbgrader.api import (
        Assignment,
        Comment,
        Grade,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    student = db.get(Student, job.learner)
    if student is None:
        student = Student(id=job.learner)
        db.add(student)
    submission = db.query(SubmittedAssignment).join(Assignment).filter(
        Assignment.name == job.lesson, SubmittedAssignment.student_id == job.learner).one_or_none()
    if submission is None:  # as Gradebook.add_submission mirrors the assignment
        assignment = db.query(Assignment).filter(Assignment.name == job.lesson).one()
        submission = SubmittedAssignment(assignment=assignment, student=student)
        for notebook in assignment.notebooks:
            nb = SubmittedNotebook(notebook=notebook, assignment=submission)
            for cell in [*notebook.grade_cells, *notebook.task_cells]:
                Grade(cell=cell, notebook=nb)  # the cell itself: its name is read below
            for cell in [*notebook.solution_cells, *notebook.task_cells]:
                Comment(cell=cell, notebook=nb)
        db.add(submission)
    timestamp = _timestamp(job.timestamp)
    if timestamp:
        submission.timestamp = timestamp
    return next(nb for nb in submission.notebooks if nb.name == job.notebook)


def _timestamp(text: str | None):
    # nbgrader's own parser (naive UTC, as nbgrader stores it): its exchange writes
    # timestamp.txt as "2026-11-20 17:45:00.123456 UTC", which fromisoformat refused,
    # so every real submission time was dropped. ISO 8601 ("...Z") parses too.
    from nbgrader.utils import parse_utc

    if not text or not text.strip():
        return None
    try:
        return parse_utc(text.strip())
    except (ValueError, OverflowError):  # dateutil's ParserError is a ValueError
        return None


def late_submissions(config: Config) -> list[tuple[str, str, str, str, float]]:
    """``(learner, lesson, submitted, due, seconds late)`` of every late submission, by nbgrader."""
    from nbgrader.api import Gradebook

    late = []
    with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:
        for assignment in gb.assignments:
            if assignment.duedate is None:
                continue
            for sub in assignment.submissions:
                if sub.timestamp is not None and sub.total_seconds_late > 0:
                    late.append((sub.student.id, assignment.name, f"{sub.timestamp:%Y-%m-%d %H:%M}",
                                 f"{assignment.duedate:%Y-%m-%d %H:%M}", sub.total_seconds_late))
    return sorted(late)


def export_grades(config: Config, path: str) -> None:
    """Write ``grades.csv`` with nbgrader's own CSV export plugin."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin(config=config)
    plugin.to = path
    with Gradebook(config.CourseDirectory.db_url, COURSE_ID) as gb:
        plugin.export(gb)

"""The grading command line on every lesson: solutions full, stubs zero, wrong answers less.

One class is graded once (module fixture): per notebook a learner with the
solution, one with the untouched release, and the corpus variants marked
``cli=True``, each once (learner ``wrongNN`` hands in the NN-th variant of each
lesson that has one, and no other lesson). Scores must agree with the
in-process grading of the same answers. The corpus's ``CLI_ONLY`` mistakes, which
only a whole notebook's run shows, are handed in by learners ``wholeNN`` and must
lose points.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT, filled_release, grade_cli, lesson_runner, released_course
from tests.test_corpus import CLI_ONLY, NOTEBOOKS, WRONG

pytestmark = pytest.mark.cli
CLI_WRONG = [v for v in WRONG if v.cli]
GRADES_HEADER = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                 "email", "raw_score", "late_submission_penalty", "score", "max_score"]


def _wrong_learner(i: int) -> str:
    """The learner who hands in ``CLI_WRONG[i]``: one variant per notebook per learner, so
    the class holds few learners (each one's lessons not handed in still cost a page)."""
    notebook = CLI_WRONG[i].notebook
    return f"wrong{sum(v.notebook == notebook for v in CLI_WRONG[:i]):02d}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    subs, out = base / "submitted", base / "out"
    for notebook in NOTEBOOKS:
        lesson, name = notebook.split("/")[1], notebook.split("/")[2]
        for learner, nb in (("solver", filled_release(notebook)),
                            ("blank", nbformat.read(str(released_course() / Path(notebook).relative_to("solutions")),
                                                    as_version=4))):
            (subs / learner / lesson).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(subs / learner / lesson / name))
    for i, variant in enumerate(CLI_WRONG):
        lesson, name = variant.notebook.split("/")[1], variant.notebook.split("/")[2]
        (subs / _wrong_learner(i) / lesson).mkdir(parents=True, exist_ok=True)
        nbformat.write(filled_release(variant.notebook, variant.answers),
                       str(subs / _wrong_learner(i) / lesson / name))
    for j, variant in enumerate(CLI_ONLY):
        lesson, name = variant.notebook.split("/")[1], variant.notebook.split("/")[2]
        (subs / f"whole{j:02d}" / lesson).mkdir(parents=True, exist_ok=True)
        nbformat.write(filled_release(variant.notebook, variant.answers),
                       str(subs / f"whole{j:02d}" / lesson / name))
    run = grade_cli([str(subs), "--out", str(out), "--workers", "2"], timeout=1500)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    totals = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        t = totals[(r["learner"], r["lesson"], r["notebook"])]
        t[0] += float(r["score"])
        t[1] += float(r["max_score"])
    return out, rows, totals


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_solution_full_and_stub_zero(graded, notebook):
    _, rows, totals = graded
    lesson, stem = notebook.split("/")[1], notebook.split("/")[2][:-6]
    score, total = totals[("solver", lesson, stem)]
    failing = [r for r in rows if r["learner"] == "solver" and r["notebook"] == stem
               and r["score"] != r["max_score"]]
    assert total > 0 and score == total, failing
    assert totals[("blank", lesson, stem)][0] == 0


@pytest.mark.parametrize("i", range(len(CLI_WRONG)), ids=lambda i: CLI_WRONG[i].id)
def test_wrong_answer_loses_the_same_points_as_in_process(graded, i):
    _, rows, totals = graded
    variant = CLI_WRONG[i]
    lesson, stem = variant.notebook.split("/")[1], variant.notebook.split("/")[2][:-6]
    score, total = totals[(_wrong_learner(i), lesson, stem)]
    assert score < total
    assert score == pytest.approx(lesson_runner(variant.notebook).score(variant.answers))


@pytest.mark.parametrize("j", range(len(CLI_ONLY)), ids=lambda j: CLI_ONLY[j].id)
def test_whole_notebook_mistake_loses_points(graded, j):
    _, rows, totals = graded
    variant = CLI_ONLY[j]
    lesson, stem = variant.notebook.split("/")[1], variant.notebook.split("/")[2][:-6]
    score, total = totals[(f"whole{j:02d}", lesson, stem)]
    failed = {r["exercise"] for r in rows if r["learner"] == f"whole{j:02d}"
              and r["notebook"] == stem and r["score"] != r["max_score"]}
    assert total > 0 and score < total, variant.description
    assert set(variant.fails) <= failed, (variant.description, sorted(failed))


def test_outputs_follow_the_contract(graded):
    out, rows, _ = graded
    submitted = {(r["learner"], r["lesson"]) for r in rows if r["status"] != "missing"}
    assert {r["status"] for r in rows} <= {"ok", "error", "missing"}
    # "missing" only for lessons a learner did not hand in (the corpus learners hand in one)
    assert all((r["learner"], r["lesson"]) not in submitted for r in rows if r["status"] == "missing")
    assert {r["learner"] for r in rows if r["status"] == "missing"} <= {
        _wrong_learner(i) for i in range(len(CLI_WRONG))} | {
        f"whole{j:02d}" for j in range(len(CLI_ONLY))}
    with open(out / "grades.csv", newline="") as f:
        assert next(csv.reader(f)) == GRADES_HEADER
    assert (out / "report.html").stat().st_size > 1000
    for page in (out / "feedback").rglob("*.html"):
        text = page.read_text()
        assert "HIDDEN TESTS" not in text, page


def test_feedback_never_shows_hidden_test_code(graded):
    out, _, _ = graded
    from autograder.grading.notebook import read_lesson, split_hidden

    for notebook in NOTEBOOKS:
        lesson, stem = notebook.split("/")[1], notebook.split("/")[2][:-6]
        lesson_cells = read_lesson(ROOT / notebook)
        visible = {line.strip() for cell in lesson_cells.cells  # shared with visible code
                   for line in split_hidden(cell.source)[0].splitlines()}
        hidden_lines = {line.strip() for cell in lesson_cells.tests
                        for line in split_hidden(cell.source)[1].splitlines()
                        if len(line.strip()) > 25} - visible
        release_text = (released_course() / Path(notebook).relative_to("solutions")).read_text()
        for page in (out / "feedback").glob(f"*/{lesson}/{stem}.html"):
            text = page.read_text()
            learner = page.parent.parent.name  # a learner's own code may share a line
            submitted = out.parent / "submitted" / learner / lesson / f"{stem}.ipynb"
            own = submitted.read_text() if submitted.exists() else ""
            own += release_text  # markdown hints may quote a line a hidden test also uses
            leaked = [line for line in hidden_lines if line in text and line not in own]
            assert not leaked, (page, leaked[:3])

"""Build the bundled example class that ``make grade`` grades.

    .venv/bin/python examples/build_class.py out/example-submissions

writes a small class in nbgrader's ``submitted`` layout, generated from the
learners' release (``course/``) and the instructor's answers (``solutions/``),
with answers taken from the wrong-answer corpus (``tests/corpus/``):

========  =================================================================
learner   what the grader should find
========  =================================================================
amara     everything right (full marks in 01 and 02)
bruno     leaky preprocessing (imputer and scaler fitted on test data) in 01;
          the MSE gradient with the wrong sign in 02
chloe     01 on time with an encoder that crashes on an unseen category;
          02 **late** (``timestamp.txt`` two days after the others) with the
          original article's uphill gradient step
dmitri    01 is a **broken notebook** (the file was cut off while saving: not
          JSON); 02 only half done (the last exercises still raise
          ``NotImplementedError``)
emeka     an **LMS zip** (``emeka.zip``, everything in a wrapper folder):
          a pipeline whose encoder crashes on new categories in 01, 02 right
farah     01 right with a hard-coded answer to a public example; 02 never
          submitted (``missing``)
========  =================================================================

Nothing here is committed but this script: the class is regenerated from the
current lessons on every ``make grade``, so it never drifts from ``course/``.
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so that ``tests.corpus`` imports when run as a script
    sys.path.insert(0, str(ROOT))

__all__ = ["ROOT", "filled_release", "wrong_answers", "write_notebook", "build"]

L01, L02 = "01_preprocessing", "02_optimizers"
NB = {L01: "solutions/01_preprocessing/preprocessing.ipynb",
      L02: "solutions/02_optimizers/optimizers.ipynb"}
# nbgrader's exchange writes timestamp.txt in this format (ExchangeSubmit.timestamp_format).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
DUE = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)


def filled_release(notebook: str, replacements: dict | None = None):
    """The release of ``notebook`` (under ``solutions/``) with its answers filled in.

    See :func:`autograder.grading.notebook.filled_release`.
    """
    from autograder.grading.notebook import filled_release as fill

    return fill(ROOT / notebook, replacements)


def wrong_answers(lesson: str, *wanted: tuple[str, str]) -> dict:
    """Answer sources from ``tests/corpus`` for ``(grade_id, start of the description)`` pairs.

    When the corpus no longer has a description, the first wrong answer to the
    same exercise is used instead, so the class still builds after corpus edits.
    """
    import importlib

    module = importlib.import_module(f"tests.corpus.l{lesson}")
    answers = {}
    for grade_id, description in wanted:
        same = [v for v in module.WRONG if grade_id in v.answers and len(v.answers) == 1]
        chosen = [v for v in same if v.description.startswith(description)] or same
        if not chosen:
            raise SystemExit(f"tests/corpus/l{lesson}.py has no wrong answer for {grade_id}")
        answers[grade_id] = chosen[0].answers[grade_id]
    return answers


def write_notebook(folder: Path, learner: str, lesson: str, nb, when: datetime | None) -> Path:
    """Write ``folder/<learner>/<lesson>/<notebook>.ipynb`` (and nbgrader's ``timestamp.txt``)."""
    path = folder / learner / lesson / Path(NB.get(lesson, f"x/{lesson}/{lesson}.ipynb")).name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (bytes, str)):
        path.write_bytes(nb if isinstance(nb, bytes) else nb.encode())
    else:
        nbformat.write(nb, str(path))
    if when is not None:
        (path.parent / "timestamp.txt").write_text(when.strftime(TIMESTAMP_FORMAT))
    return path


def _zip_folder(folder: Path, learner: str, wrapper: str) -> None:
    """Replace ``folder/<learner>/`` by ``folder/<learner>.zip`` as an LMS downloads it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((folder / learner).rglob("*")):
            if path.is_file():
                archive.write(path, f"{wrapper}/{path.relative_to(folder / learner)}")
    shutil.rmtree(folder / learner)
    (folder / f"{learner}.zip").write_bytes(buffer.getvalue())


def build(folder: str | Path) -> Path:
    """Write the example class into ``folder`` (emptied first) and return it."""
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    on_time = DUE - timedelta(hours=3)
    late = DUE + timedelta(days=2, hours=1)

    write_notebook(folder, "amara", L01, filled_release(NB[L01]), on_time)
    write_notebook(folder, "amara", L02, filled_release(NB[L02]), on_time)

    write_notebook(folder, "bruno", L01, filled_release(NB[L01], wrong_answers(
        "01_preprocessing", ("impute_median", "impute: imputer fitted on all data"),
        ("standardize", "standardize: test set scaled with its own statistics"))), on_time)
    write_notebook(folder, "bruno", L02, filled_release(NB[L02], wrong_answers(
        "02_optimizers", ("mse_loss_and_grad", "MSE gradient sign flipped"))), on_time)

    write_notebook(folder, "chloe", L01, filled_release(NB[L01], wrong_answers(
        "01_preprocessing", ("one_hot", "one-hot: crashes on an unseen category"))), on_time)
    write_notebook(folder, "chloe", L02, filled_release(NB[L02], wrong_answers(
        "02_optimizers", ("fixed_gradient_descent", "the article's code unchanged"))), late)

    # A notebook cut off mid-save: the first 40% of a real one. Not JSON.
    text = nbformat.writes(filled_release(NB[L01]))
    write_notebook(folder, "dmitri", L01, text[: len(text) * 2 // 5], on_time)
    write_notebook(folder, "dmitri", L02, filled_release(NB[L02], {
        "minibatch_sgd": None, "momentum": None, "adam": None, "fit_logistic_regression": None}),
        on_time)

    write_notebook(folder, "emeka", L01, filled_release(NB[L01], wrong_answers(
        "01_preprocessing", ("build_pipeline", "pipeline: OneHotEncoder crashes"))), on_time)
    write_notebook(folder, "emeka", L02, filled_release(NB[L02]), on_time)
    _zip_folder(folder, "emeka", "emeka_48213_assignsubmission_file")

    write_notebook(folder, "farah", L01, filled_release(NB[L01], wrong_answers(
        "01_preprocessing", ("audit_missing", "audit: hard-coded answer"))), on_time)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="where to write the class (emptied first)")
    args = parser.parse_args(argv)
    folder = build(args.folder)
    print(f"Example class written to {folder} (6 learners, lessons {L01} and {L02}; "
          f"due {DUE:%Y-%m-%d %H:%M} UTC)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

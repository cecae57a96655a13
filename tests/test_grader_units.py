"""Units of the grader: notebook roles, the answer loader, submission checks, zip ingest."""
from __future__ import annotations

import collections
import json
import os
import pickle
import subprocess
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from traitlets.config import Config

from autograder.classrun import gradebook
from autograder.classrun.ingest import find_submissions
from autograder.execution.wire import RefusedAnswer, dump_answer, load_answer
from autograder.grading import inprocess
from autograder.grading.checks import Unreadable, find_tampering, read_submission
from autograder.grading.notebook import (
    Cell,
    Lesson,
    hidden_delimiters,
    modules_imported,
    names_defined,
    names_used,
    read_lesson,
    solution_delimiters,
    split_hidden,
    strip_solution_markers,
)
from autograder.sandbox.forkserver import ALWAYS, LEARNER_ONLY, modules_for, preloads_for
from tests.conftest import PYTHON, ROOT


def test_split_hidden_and_names():
    public, hidden = split_hidden("a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3\n")
    assert "b = 2" in hidden and "b = 2" not in public and "c = 3" in public
    assert names_defined("import numpy as np\ndef f(x):\n    y = 1\nz, w = 1, 2") == {"np", "f", "z", "w"}
    assert names_used("f(x) + len(y)") == {"f", "x", "y"}


def _nbgrader_public(source: str, config=None) -> str:
    """What nbgrader's ClearHiddenTests leaves of a test cell."""
    from nbformat.v4 import new_code_cell
    from nbgrader.preprocessors import ClearHiddenTests

    cell = new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": "t",
                                                        "points": 1}})
    ClearHiddenTests(config=config).preprocess_cell(cell, {}, 0)
    return cell.source


@pytest.mark.parametrize("source, hidden", [
    ("a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3\n", "b = 2"),
    # any line that contains a delimiter is one, wherever it is and whatever surrounds it
    ("a = 1\n    # BEGIN HIDDEN TESTS (kept back)\nb = 2\n#END HIDDEN TESTS.\nc = 3", "b = 2"),
    ("a = 1\nprint('BEGIN HIDDEN TESTS')\nb = 2\nx = 'END HIDDEN TESTS'\nc = 3", "b = 2"),
    # two regions, and code after each
    ("p = 1\n### BEGIN HIDDEN TESTS\nq = 2\n### END HIDDEN TESTS\nr = 3\n"
     "### BEGIN HIDDEN TESTS\ns = 4\n\n### END HIDDEN TESTS\nt = 5", "q = 2\ns = 4\n"),
    ("no = 'hidden tests'\n", ""),
])
def test_hidden_tests_are_split_where_nbgrader_splits_them(source, hidden):
    delimiters = hidden_delimiters(Config())
    public = _nbgrader_public(source)
    assert split_hidden(source, delimiters) == (public, hidden)


def test_the_hidden_test_delimiters_are_the_course_configs(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        "c.ClearHiddenTests.begin_test_delimeter = 'BEGIN SECRET CHECKS'\n"
        "c.ClearHiddenTests.end_test_delimeter = 'END SECRET CHECKS'\n")
    config = gradebook.course_config(str(tmp_path), str(tmp_path / "out"))
    delimiters = hidden_delimiters(config)
    assert delimiters == ("BEGIN SECRET CHECKS", "END SECRET CHECKS")
    source = ("check(1)\n# BEGIN SECRET CHECKS\ncheck(2)\n# END SECRET CHECKS\n"
              "### BEGIN HIDDEN TESTS\ncheck(3)")
    nb = new_notebook(cells=[new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": "t", "points": 1, "locked": True}})])
    public, hidden = read_lesson(nb, delimiters).test_parts["t"]
    assert (public, hidden) == (_nbgrader_public(source, config), "check(2)")
    assert "check(3)" in public  # the default delimiter means nothing to this course
    # this course's own config sets none: nbgrader's defaults, read from nbgrader
    assert hidden_delimiters() == hidden_delimiters(Config())


def test_solution_markers_are_the_course_configs_read_as_nbgrader_reads_them(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    answer = ("def f(x):\n    ## BEGIN SOLUTION (kept back)\n    y = x\n    #END SOLUTION.\n"
              "    return y")
    assert strip_solution_markers(answer, solution_delimiters(Config())) == (
        "def f(x):\n    y = x\n    return y")
    assert solution_delimiters() == solution_delimiters(Config())  # the course sets none
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        "c.ClearSolutions.begin_solution_delimeter = 'START ANSWER'\n"
        "c.ClearSolutions.end_solution_delimeter = 'STOP ANSWER'\n")
    config = gradebook.course_config(str(tmp_path), str(tmp_path / "out"))
    assert solution_delimiters(config) == ("START ANSWER", "STOP ANSWER")
    own = "x = 1\n# START ANSWER\nbinds_this = 2\n# STOP ANSWER\n### BEGIN SOLUTION"
    nb = new_notebook(cells=[new_code_cell(own, metadata={"nbgrader": {
        "solution": True, "grade": False, "grade_id": "a"}})])
    lesson = read_lesson(nb, solutions=solution_delimiters(config))
    assert lesson.answers[0].source == "x = 1\nbinds_this = 2\n### BEGIN SOLUTION"
    assert "binds_this" in lesson.answer_names


def test_fork_servers_import_what_the_graded_lessons_use():
    assert modules_imported("from a.b import c\nimport d as e\ndef f():\n    import g.h\n"
                            "    from . import i\n%matplotlib inline") == {"a.b", "a.b.c", "d", "g.h"}
    plain = modules_for({"numpy", "sklearn.compose", "sklearn.metrics.accuracy_score"})
    assert plain[:len(ALWAYS)] == list(ALWAYS)
    assert {"sklearn", "sklearn.compose", "sklearn.metrics"} <= set(plain)
    assert not {"pandas", "scipy.stats", "skops.io", "matplotlib.pyplot"} & set(plain)
    # followed through the course's modules, into their functions' imports
    served = modules_for({"lifecycle.deploy"})
    assert {"lifecycle.deploy.bundle", "skops.io", "pandas"} <= set(served)
    assert not any(m.startswith("mlflow") for m in served + plain)
    # lesson 08 imports MLflow inside functions: its client's stores are preloaded too
    assert {"mlflow", "mlflow.store.tracking.sqlalchemy_store"} <= set(modules_for({"lifecycle.versioning"}))
    assert "lifecycle.progress" not in modules_for({"lifecycle.progress"})
    # onnx only for the lesson that quantizes with onnxruntime, not for every onnxruntime user
    assert "onnxruntime.quantization" in modules_for({"lifecycle.compression"})
    assert "onnxruntime.quantization" not in served


def test_the_tests_sandbox_leaves_out_what_only_learners_functions_import():
    from nbformat.v4 import new_code_cell, new_notebook

    versioning = read_lesson(next((ROOT / "solutions" / "08_versioning").glob("*.ipynb")))
    compression = read_lesson(next((ROOT / "solutions" / "07_compression").glob("*.ipynb")))
    both = preloads_for([versioning, compression])
    # the learner's sandbox runs the answers, which register with MLflow and quantize with onnx
    assert set(LEARNER_ONLY) <= set(both.learner)
    assert not set(LEARNER_ONLY) & set(both.tests)
    # the course modules the tests call, and what those import, are still preloaded
    assert {"lifecycle.versioning", "lifecycle.compression", "pandas"} <= set(both.tests)
    assert both.tests[:len(ALWAYS)] == both.learner[:len(ALWAYS)] == ALWAYS
    # one lesson's preloads are its own, not the class's
    assert "onnxruntime.quantization" not in preloads_for([versioning]).learner
    # a setup cell that imports one itself runs in the tests' sandbox: it is preloaded there
    setup = new_notebook(cells=[new_code_cell(source, metadata={"tags": ["setup"]})
                                for source in ("import mlflow", "import skops.io")])
    named = preloads_for([read_lesson(setup)])
    assert {"mlflow", "mlflow.store.tracking.sqlalchemy_store", "skops.io"} <= set(named.tests)
    # demo and answer cells run only in the learner's sandbox
    demo = new_notebook(cells=[new_code_cell("import mlflow", metadata={"tags": ["demo"]})])
    split = preloads_for([read_lesson(demo)])
    assert "mlflow" in split.learner and "mlflow" not in split.tests


def test_a_fork_server_does_not_import_nbformat():
    # nbformat brings jsonschema's format checkers: seconds of every sandbox's start.
    check = ("import sys\nfrom autograder.sandbox import forkserver\nforkserver._preload(list(forkserver.ALWAYS))\n"
             "print(sorted({'nbformat', 'jsonschema'} & set(sys.modules)))")
    done = subprocess.run([PYTHON, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]


def test_the_grading_command_skips_the_iri_format_checker():
    # jsonschema's rfc3987_syntax costs 1.7 s of every run; notebooks still validate.
    check = ("import runpy, sys\nsys.argv = ['autograder', '--help']\ntry:\n"
             "    runpy.run_module('autograder', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "import nbformat\nnb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
             "nbformat.validate(nb)\nnb.cells[0].pop('source')\n"
             "print(sys.modules.get('rfc3987_syntax') is not None, nbformat.validator.isvalid(nb))")
    done = subprocess.run([PYTHON, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.splitlines()[-1:] == ["False False"], done.stderr[-2000:]


class _Liar:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [np.arange(3.0), pd.DataFrame({"a": [1, 2]}), {"k": [1, (2, 3)]},
                                   np.float32(1.5), "text", None,
                                   collections.defaultdict(float, {"recall": 0.5})])
def test_answer_loader_accepts_data(value):
    back = load_answer(dump_answer(value))
    assert type(back) is type(value)


@pytest.mark.parametrize("value", [_Liar(), os.system, np.load, [1, _Liar()]])
def test_answer_loader_refuses_code_and_liars(value):
    with pytest.raises((RefusedAnswer, pickle.PicklingError, AttributeError)):
        load_answer(dump_answer(value))


def _fitted_outside_the_samples():
    from sklearn.ensemble import AdaBoostClassifier, ExtraTreesClassifier
    from sklearn.linear_model import Perceptron

    X, y = np.random.RandomState(1).normal(size=(30, 2)), np.arange(30) % 2
    return [m.fit(X, y) for m in (ExtraTreesClassifier(n_estimators=2, random_state=0),
                                  AdaBoostClassifier(n_estimators=2), Perceptron())]


def test_answer_loader_accepts_kinds_the_table_was_not_built_from():
    # The table lists classes, not sample values: other estimators, shapes and dtypes pass.
    when = pd.date_range("2020-03-01", periods=4, freq="15min", tz="Europe/Paris")
    values = [np.zeros((2, 2, 2), dtype="f2"), pd.Series([1.5, None, 2.0, 3.0], index=when),
              pd.DataFrame({"x": pd.Categorical([3, 1, 3, 2])}, index=pd.Index(list("abcd"))),
              *_fitted_outside_the_samples()]
    for value in values:
        back = load_answer(dump_answer(value))
        assert type(back) is type(value)


@pytest.mark.parametrize("module, name", [
    ("pandas", "HDFStore"), ("pandas", "ExcelWriter"), ("pandas", "read_pickle"),
    ("numpy", "load"), ("numpy", "memmap"), ("numpy", "DataSource"), ("builtins", "eval"),
    ("builtins", "getattr"), ("builtins", "type"), ("os", "system"),
    ("numpy._core", "_ufunc_reconstruct"), ("numpy.core", "_ufunc_reconstruct"),
    ("sklearn.utils", "Memory"), ("scipy.io", "loadmat")])
def test_answer_loader_refuses_reexported_and_io_names(module, name, tmp_path):
    # A real class or function under a real module's name, called as pickle's REDUCE would.
    target = tmp_path / "written"
    blob = f"c{module}\n{name}\n(V{target}\nVw\ntR.".encode()
    with pytest.raises(RefusedAnswer, match=f"{module}.{name}"):
        load_answer(blob)
    assert not target.exists()


def test_answer_loader_imports_nothing_a_pickle_names():
    # In a fresh interpreter, where these modules are surely not imported yet.
    check = """
import pickle, sys
from autograder.execution.answer_types import allowed
from autograder.execution.wire import RefusedAnswer, load_answer
allowed()  # what building the table imports is the grader's choice
names = ["sklearn.datasets._openml", "lifecycle.lab", "http.server", "antigravity",
         "encodings.idna", "encodings.cp037"]
assert not [m for m in names if m in sys.modules]
for module in names[:4]:
    try:
        load_answer(f"c{module}\\nanything\\n.".encode())
    except RefusedAnswer:
        pass
    else:
        raise SystemExit(f"{module} was not refused")
# Protocol 2 rebuilds bytes with _codecs.encode(text, "latin1"): any other codec is an import.
assert load_answer(pickle.dumps(b"\\xff\\x00", protocol=2)) == b"\\xff\\x00"
for codec in ("idna", "cp037"):
    try:
        load_answer(b"\\x80\\x02c_codecs\\nencode\\nX\\x01\\x00\\x00\\x00x"
                    + pickle.dumps(codec, protocol=2)[2:-1] + b"\\x86R.")
    except RefusedAnswer:
        pass
    else:
        raise SystemExit(f"_codecs.encode with {codec} was not refused")
print(sorted(m for m in names if m in sys.modules))
"""
    done = subprocess.run([PYTHON, "-c", check], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]


def test_answer_types_functions_are_reconstructors_or_score_functions():
    from autograder.execution.answer_types import RECONSTRUCTOR, allowed

    functions = {key for key, obj in allowed().items() if not isinstance(obj, type)}
    odd = {key for key in functions if not RECONSTRUCTOR.match(key[1])
           and not key[0].startswith(("sklearn.metrics", "sklearn.feature_selection"))
           and not isinstance(allowed()[key], np.ufunc)}
    assert odd == set()
    assert all(obj is not type for obj in allowed().values())


def test_answer_loader_refuses_reduce_gadgets_and_shadowed_methods():
    class Gadget:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(RefusedAnswer):
        load_answer(pickle.dumps(Gadget()))
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    scaler.__dict__["transform"] = np.positive
    with pytest.raises(RefusedAnswer, match="replaces the method"):
        load_answer(pickle.dumps(scaler))


def _demo_nb():
    nb = nbformat.v4.new_notebook()
    meta = {"grade": True, "grade_id": "test_a", "locked": True, "points": 1, "solution": False}
    nb.cells = [nbformat.v4.new_code_cell("assert f() == 1", metadata={"nbgrader": meta})]
    return nb


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"), (b"\xff\xfe\x00", "UTF-8"), (b"{not json", "not valid JSON"),
    (b"[1, 2]", "not a Jupyter notebook"),
])
def test_unreadable_submissions_say_why(data, reason):
    with pytest.raises(Unreadable, match=reason):
        read_submission(data, {"test_a"})


@pytest.mark.parametrize("edit", [
    lambda m: m["nbgrader"].update(grade_id=["test_a"]), lambda m: m.update(tags="setup"),
    lambda m: m["nbgrader"].update(points="1"), lambda m: m["nbgrader"].update(grade="yes"),
    lambda m: m.update(nbgrader=["grade"]),
])
def test_metadata_of_the_wrong_kind_is_unreadable_not_a_grader_error(edit):
    nb = _demo_nb()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={
        "nbgrader": {"grade": False, "grade_id": "other", "locked": False, "solution": False}}))
    edit(nb.cells[1].metadata)
    with pytest.raises(Unreadable, match="edited by hand"):
        read_submission(nbformat.writes(nb).encode(), {"test_a"})


def test_an_invented_task_cell_is_tampering():
    nb = _demo_nb()
    nb.cells.append(nbformat.v4.new_markdown_cell("bonus", metadata={"nbgrader": {
        "task": True, "grade": False, "solution": False, "locked": True, "grade_id": "bonus_task",
        "points": 50}}))
    assert any("bonus_task" in f for f in find_tampering(nb, _demo_nb()))


def test_notebook_of_another_lesson_is_refused():
    data = nbformat.writes(_demo_nb()).encode()
    assert read_submission(data, {"test_a"})
    with pytest.raises(Unreadable, match="another lesson"):
        read_submission(data, {"test_other"})


def test_tampering_is_found():
    source = _demo_nb()
    sub = _demo_nb()
    assert find_tampering(sub, source) == []
    sub.cells[0].source = "pass"
    sub.cells[0].metadata.nbgrader["points"] = 100
    sub.cells.append(nbformat.v4.new_code_cell("", metadata={"nbgrader": {
        "grade": True, "grade_id": "mine", "points": 5}}))
    found = " ".join(find_tampering(sub, source))
    assert "edited" in found and "points" in found and "'mine'" in found


def test_zip_ingest_rejects_escaping_paths_and_unwraps_lms_folders(tmp_path):
    subs, work = tmp_path / "subs", tmp_path / "work"
    subs.mkdir()
    nb = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    with zipfile.ZipFile(subs / "ann.zip", "w") as z:
        z.writestr("ann-export/01_preprocessing/preprocessing.ipynb", nb)
    with zipfile.ZipFile(subs / "bob.zip", "w") as z:
        z.writestr("../../escape.ipynb", nb)
    (subs / "cid.zip").write_bytes(b"PK\x03\x04 not a zip")
    found, skipped = find_submissions(str(subs), {"01_preprocessing"}, str(work))
    by = {f.learner: f for f in found}
    assert ("01_preprocessing", "preprocessing") in by["ann"].notebooks
    assert "outside its folder" in by["bob"].problem
    assert "could not be read" in by["cid"].problem
    assert not (tmp_path / "escape.ipynb").exists()


def test_a_timestamp_inside_a_zip_is_not_the_submission_time(tmp_path):
    # The learner makes the zip, so its timestamp.txt is theirs: it must not decide --due.
    subs, work = tmp_path / "subs", tmp_path / "work"
    (subs / "bob" / "01_preprocessing").mkdir(parents=True)
    nb = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    (subs / "bob" / "01_preprocessing" / "preprocessing.ipynb").write_text(nb)
    (subs / "bob" / "01_preprocessing" / "timestamp.txt").write_text("2026-12-02 14:00:00.000000 UTC")
    with zipfile.ZipFile(subs / "lara.zip", "w") as z:
        z.writestr("01_preprocessing/preprocessing.ipynb", nb)
        z.writestr("01_preprocessing/timestamp.txt", "2026-11-01 09:00:00.000000 UTC")
    found, _ = find_submissions(str(subs), {"01_preprocessing"}, str(work))
    by = {f.learner: f for f in found}
    assert ("01_preprocessing", "preprocessing") in by["lara"].notebooks
    assert by["lara"].timestamps == {}
    assert by["bob"].timestamps == {"01_preprocessing": "2026-12-02 14:00:00.000000 UTC"}


def _corrupt_member(path, compression):
    """A well-formed zip whose one member's compressed bytes are damaged."""
    nb = json.dumps({"nbformat": 4, "cells": [], "metadata": {}, "x": "y" * 5000})
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr("01_preprocessing/preprocessing.ipynb", nb)
    data = bytearray(path.read_bytes())
    start = 30 + len("01_preprocessing/preprocessing.ipynb") + 40  # inside the compressed data
    data[start:start + 40] = bytes(range(40))
    path.write_bytes(bytes(data))


def test_damaged_zips_and_misplaced_notebooks_are_reported_per_learner(tmp_path):
    subs, work = tmp_path / "subs", tmp_path / "work"
    subs.mkdir()
    _corrupt_member(subs / "deflated.zip", zipfile.ZIP_DEFLATED)
    _corrupt_member(subs / "lzma.zip", zipfile.ZIP_LZMA)
    nb = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    with zipfile.ZipFile(subs / "bare.zip", "w") as z:  # the notebook without its lesson folder
        z.writestr("preprocessing.ipynb", nb)
    (subs / "dave" / "1_preprocessing").mkdir(parents=True)
    (subs / "dave" / "1_preprocessing" / "preprocessing.ipynb").write_text(nb)
    found, _ = find_submissions(str(subs), {"01_preprocessing"}, str(work))
    by = {f.learner: f for f in found}
    for name in ("deflated", "lzma"):
        assert "could not be read" in by[name].problem
    assert by["bare"].stray == ["preprocessing.ipynb"] and not by["bare"].notebooks
    assert by["dave"].stray == ["1_preprocessing/preprocessing.ipynb"]


def test_notebook_of_an_earlier_release_is_not_tampering():
    from nbgrader.utils import compute_checksum

    source = _demo_nb()
    old = _demo_nb()
    old.cells[0].source = "assert f() == 1  # as first released, before the instructor's fix"
    old.cells[0].metadata.nbgrader["checksum"] = compute_checksum(old.cells[0])
    assert find_tampering(old, source) == []
    old.cells[0].source = "pass"  # edited after release: no longer matches its checksum
    assert find_tampering(old, source)


@pytest.mark.parametrize("due", ["05/11/2026", "2026-11-20", "Nov 25 2026", "2026-13-01T10:00Z"])
def test_an_ambiguous_or_bad_due_date_is_a_usage_error(due, tmp_path, capsys):
    from autograder.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["grade", str(tmp_path), "--out", str(tmp_path / "out"), "--due", due])
    assert stop.value.code == 2 and "YYYY-MM-DDTHH:MM" in capsys.readouterr().err


def test_only_real_png_plots_from_the_learner_reach_the_feedback_page():
    import base64

    from autograder.execution.execute import PNG_SIGNATURE, _pngs

    png = base64.b64encode(PNG_SIGNATURE + b"data").decode()
    quote = base64.b64encode(b"'><script>alert(1)</script>").decode()
    assert _pngs([png, quote, "not base64!", "'><img src=x>", 42, png * 100000]) == [png]
    assert _pngs("not a list") == [] and _pngs(None) == []


def test_a_hidden_check_does_not_say_what_it_expected():
    from autograder.execution.execute import without_expected
    from lifecycle.feedback import CheckFailure, check_close

    with pytest.raises(CheckFailure) as failed:
        check_close([1.0, 2.0], [1.0, 2.4545], what="X_test_filled on unseen data", hint="medians")
    shown = without_expected(str(failed.value))
    assert "2.4545" in str(failed.value) and "2.4545" not in shown
    assert shown.splitlines() == ["X_test_filled on unseen data is not right.",
                                  "  got:      array of shape (2,), dtype float64: array([1., 2.])",
                                  "  hint: medians"]
    assert without_expected("ValueError: bad input") == "ValueError: bad input"


def test_a_forged_tampered_list_is_bounded_and_deduplicated():
    # A reply learner code forges may name any number of things, of any type.
    from autograder.execution.execute import MAX_TAMPERED, MAX_TAMPERED_CHARS, merge_tampered

    tampered = ["numpy.mean"]
    merge_tampered(tampered, ["numpy.mean", "x" * 10_000] + [f"name{i}" for i in range(80_000)])
    assert len(tampered) == MAX_TAMPERED and len(set(tampered)) == MAX_TAMPERED
    assert tampered[:2] == ["numpy.mean", "x" * MAX_TAMPERED_CHARS]
    merge_tampered(tampered, ["later"])
    assert "later" not in tampered
    for odd in ("a string", {"a": 1}, 7, None):
        kept = []
        merge_tampered(kept, odd)
        assert kept == []


def test_a_course_under_tmp_is_refused_with_what_to_do():
    from autograder.sandbox.bubblewrap import hidden_by_private_mounts

    assert hidden_by_private_mounts(["/tmp/course/.venv", "/home/me/course/lifecycle",
                                     "/tmpfoo/x", "/dev/shm", "/tmp"]) == [
        "/tmp/course/.venv", "/dev/shm", "/tmp"]


def _gradebook_contents(db: Path) -> list:
    """Every table's rows of a gradebook, ids left out (they are random per gradebook)."""
    import sqlite3

    with sqlite3.connect(db) as con:
        tables = sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        contents = []
        for table in tables:
            columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")
                       if r[1] != "id" and not r[1].endswith("_id")]
            selected = ", ".join(columns) or "count(*)"  # a table of ids only: how many rows
            rows = con.execute(f"SELECT {selected} FROM {table}").fetchall()
            contents.append((table, columns, sorted(map(repr, rows))))
    return contents


def test_a_new_gradebook_is_made_once_and_equals_nbgraders_own(tmp_path, monkeypatch):
    import nbgrader.api

    from autograder.classrun import gradebook

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}")
    lessons = ["01_preprocessing", "02_optimizers"]
    # nbgrader's own way: its Gradebook asks `alembic heads` for the schema's revision.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    config = gradebook.course_config(str(ROOT), str(theirs))
    with nbgrader.api.Gradebook(config.CourseDirectory.db_url, gradebook.COURSE_ID):
        pass
    gradebook.prepare_assignments(config, lessons)
    made, copied = tmp_path / "made", tmp_path / "copied"
    for out in (made, copied):
        out.mkdir()
        gradebook.prepare_assignments(gradebook.course_config(str(ROOT), str(out)), lessons)
    expected = _gradebook_contents(theirs / "gradebook.db")
    assert any(table == "grade_cells" and rows for table, _, rows in expected)
    assert _gradebook_contents(made / "gradebook.db") == expected
    assert _gradebook_contents(copied / "gradebook.db") == expected
    assert len(list((tmp_path / "cache" / "lifecycle" / "gradebooks").glob("*.db"))) == 1
    # another set of lessons is another gradebook, generated, not the cached one
    other = tmp_path / "other"
    other.mkdir()
    gradebook.prepare_assignments(gradebook.course_config(str(ROOT), str(other)), lessons[:1])
    names = {r for t, _, rows in _gradebook_contents(other / "gradebook.db") if t == "assignment"
             for r in rows}
    assert len(names) == 1 and "01_preprocessing" in names.pop()


def test_a_deleted_gradebook_is_made_again_whatever_the_stamps_say(tmp_path, monkeypatch):
    from autograder.classrun import gradebook

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = gradebook.course_config(str(ROOT), str(tmp_path))
    gradebook.prepare_assignments(config, ["02_optimizers"])
    expected = _gradebook_contents(tmp_path / "gradebook.db")
    (tmp_path / "gradebook.db").unlink()
    for template in (tmp_path / "cache").rglob("*.db"):
        template.unlink()  # no copy to fall back on: the lessons must be generated again
    gradebook.prepare_assignments(config, ["02_optimizers"])
    assert _gradebook_contents(tmp_path / "gradebook.db") == expected


def test_a_kept_gradebook_is_the_users_alone(tmp_path, monkeypatch):
    from autograder.classrun import gradebook

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    gradebook.prepare_assignments(gradebook.course_config(str(ROOT), str(tmp_path)), ["02_optimizers"])
    (kept,) = (tmp_path / "cache").rglob("*.db")
    assert kept.stat().st_mode & 0o077 == 0  # it holds the hidden tests


def test_a_new_or_restored_gradebook_is_the_graders_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    gradebook._create(gradebook.db_url(str(out)))
    assert (out / "gradebook.db").stat().st_mode & 0o777 == 0o600
    template = tmp_path / "template.db"
    template.write_bytes((out / "gradebook.db").read_bytes())
    template.chmod(0o644)
    (out / "gradebook.db").unlink()
    assert gradebook._restore(template, out / "gradebook.db")
    assert (out / "gradebook.db").stat().st_mode & 0o777 == 0o600
    folder = tmp_path / "work"
    folder.mkdir(mode=0o755)
    assert gradebook.private_folder(folder).stat().st_mode & 0o777 == 0o700


def _lesson_of(answers: dict, tests: list) -> Lesson:
    cells = [Cell(i, "answer", src, gid, 0.0) for i, (gid, src) in enumerate(answers.items())]
    cells += [Cell(len(cells) + i, "test", src, f"t{i}", 1.0) for i, src in enumerate(tests)]
    return Lesson(cells)


def test_in_process_grading_runs_only_the_test_cells_a_replacement_reaches():
    lesson = _lesson_of({"a": "def f(x):\n    return x", "b": "def g(x):\n    return -x"}, [
        "assert f(1) == 1",                      # t0: reads f
        "def helper(v):\n    return g(v)",      # t1: binds helper, reads g inside it
        "assert helper(2) == -2",                # t2: reads helper only
        "_got = f(3)",                           # t3: binds what t4 reads
        "assert _got == 3 and g(0) == 0",        # t4: reads g and t3's _got
    ])
    assert inprocess.tests_to_run(lesson, {}) == [True] * 5  # the solution graded: every test cell
    # g replaced: t1 reads it, t2 reads what t1 binds, t4 reads g and needs t3's binding.
    assert inprocess.tests_to_run(lesson, {"b": "def g(x):\n    return x"}) == [False, True, True, True, True]
    assert inprocess.tests_to_run(lesson, {"a": "def f(x):\n    return 0"}) == [True, False, False, True, True]
    # A replacement that also binds another name reaches the tests reading that name.
    assert inprocess.tests_to_run(lesson, {"a": "def f(x):\n    return x\ndef g(x):\n    return 0"}) == [True] * 5
    # Top-level code may change what it reads (here the solution's g): its readers run.
    assert inprocess.tests_to_run(lesson, {"a": "def f(x):\n    return x\ng.calls = 0"})[1:3] == [True, True]


@pytest.mark.parametrize("source", ["from math import *", "globals()['g'] = len", "def f(:\n    pass"])
def test_in_process_grading_runs_every_test_cell_when_a_replacement_cannot_be_read(source):
    lesson = _lesson_of({"a": "def f(x):\n    return x", "b": "def g(x):\n    return -x"},
                        ["assert f(1) == 1", "assert g(1) == -1"])
    assert inprocess.tests_to_run(lesson, {"a": source}) == [True, True]


def test_in_process_grading_runs_every_test_cell_when_a_test_reaches_names_dynamically():
    lesson = _lesson_of({"a": "def f(x):\n    return x", "b": "def g(x):\n    return -x"},
                        ["assert f(1) == 1", "assert g(1) == -1", "globals()['h'] = f"])
    assert inprocess.tests_to_run(lesson, {"b": "def g(x):\n    return 0"}) == [True, True, True]


def test_in_process_variants_do_not_see_what_an_earlier_variant_changed(tmp_path):
    def cell(source, **nbgrader):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": nbgrader} if nbgrader else {})

    nb = nbformat.v4.new_notebook(cells=[
        cell("import numpy as np\ndata = np.arange(4.0)\nrng = np.random.default_rng(0)"),
        cell("def total(x):\n    return float(x.sum())", solution=True, grade_id="total"),
        cell("assert rng.integers(10**9) == FIRST\nassert total(data) == 6.0", grade=True,
             grade_id="t_total", points=1),
    ])
    first = int(np.random.default_rng(0).integers(10**9))
    nb.cells[0].source += f"\nFIRST = {first}"
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, str(path))
    runner = inprocess.LessonRunner(path)
    spoiler = "def total(x):\n    x[:] = 0\n    return float(x.sum())"  # zeroes the lesson's data
    assert not runner.grade({"total": spoiler})["t_total"].passed
    right = "def total(x):\n    return float(sum(x))"
    assert runner.grade({"total": right})["t_total"].passed  # same data, same first draw

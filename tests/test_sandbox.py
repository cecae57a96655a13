"""The split execution itself, on a small notebook built here: learner code in one
process, tests in another, and what may (and may not) cross between them."""
from __future__ import annotations

import os
import tempfile

import nbformat
import pytest

from autograder.execute import run_notebook
from autograder.isolation import Limits
from autograder.notebook import read_lesson

SETUP = "import numpy as np\nfrom lifecycle.feedback import check_close, check_true, forbid_calls"
TESTS = {
    "test_value": "check_close(center(np.array([1.0, 3.0])), [-1.0, 1.0])",
    "test_no_mutation": ("x = np.array([1.0, 3.0])\ncenter(x)\n"
                         "check_close(x, [1.0, 3.0], what='the input after the call')"),
    "test_raises": ("try:\n    center(np.array([]))\nexcept ValueError:\n    pass\n"
                    "else:\n    raise AssertionError('no ValueError')"),
    "test_scratch": ("check_true(forbid_calls(center, np.array([2.0, 4.0]), "
                     "forbidden=['numpy.mean'])[0] == -1.0, 'by hand')"),
    "test_callable": "check_close(apply_twice(lambda v: v + 1, 0), 2)",
}
GOOD = ("def center(x):\n    if len(x) == 0:\n        raise ValueError('empty')\n"
        "    return x - sum(x) / len(x)\n\n"
        "def apply_twice(f, v):\n    return f(f(v))")


def _notebook(answer: str):
    def meta(**kw):
        base = {"grade": False, "locked": False, "schema_version": 3, "solution": False,
                "task": False}
        return {"nbgrader": {**base, **kw}}

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP, metadata={**meta(grade_id="setup", locked=True),
                                                            "tags": ["setup"]}),
                nbformat.v4.new_code_cell(answer, metadata=meta(grade_id="answer", solution=True))]
    nb.cells += [nbformat.v4.new_code_cell(src, metadata=meta(grade_id=gid, grade=True, locked=True,
                                                              points=1))
                 for gid, src in TESTS.items()]
    return nb


def _grade(answer: str, **limits):
    source = _notebook(GOOD)
    root = tempfile.mkdtemp()
    os.chmod(root, 0o711)
    result = run_notebook(_notebook(answer), read_lesson(source), Limits(**limits), root, [])
    return {gid: t["passed"] for gid, t in result.tests.items()}, result


def test_correct_answer_passes_every_test():
    passed, _ = _grade(GOOD)
    assert all(passed.values()), passed


@pytest.mark.parametrize("answer, failing", [
    (GOOD.replace("return x - sum(x) / len(x)", "x -= sum(x) / len(x)\n    return x"),
     {"test_no_mutation"}),
    (GOOD.replace("return x - sum(x) / len(x)", "return x - np.mean(x)"), {"test_scratch"}),
    (GOOD.replace("raise ValueError('empty')", "return x"), {"test_raises"}),
    (GOOD.replace("return f(f(v))", "return f(v)"), {"test_callable"}),
])
def test_each_mistake_fails_its_test(answer, failing):
    passed, _ = _grade("import numpy as np\n" + answer)
    assert {gid for gid, ok in passed.items() if not ok} == failing


def test_runaway_answer_times_out_without_stopping_the_run():
    answer = GOOD.replace("def center(x):", "def center(x):\n    while True:\n        pass")
    passed, result = _grade(answer, cell_timeout=2, notebook_timeout=20)
    assert result.tests["test_value"]["status"] == "timeout"
    assert not any(passed.values())

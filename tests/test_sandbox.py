"""The split execution itself, on a small notebook built here: learner code in one
process, tests in another, and what may (and may not) cross between them."""
from __future__ import annotations

import os

import nbformat
import pytest

from autograder.execution.execute import run_notebook
from autograder.grading.notebook import read_lesson
from autograder.sandbox.isolation import Limits

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
    "test_estimator_untouched": ("from sklearn.linear_model import LinearRegression\n"
                                 "m = LinearRegression()\nfitted_copy(m, [[0.0], [1.0]], [0.0, 1.0])\n"
                                 "check_true(not hasattr(m, 'coef_'), 'the caller\\'s model was fitted')"),
}
GOOD = ("def center(x):\n    if len(x) == 0:\n        raise ValueError('empty')\n"
        "    return x - sum(x) / len(x)\n\n"
        "def apply_twice(f, v):\n    return f(f(v))\n\n"
        "def fitted_copy(model, X, y):\n    from sklearn.base import clone\n"
        "    return clone(model).fit(X, y)")


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


def _grade(boxes, answer: str, **limits):
    source = _notebook(GOOD)
    result = run_notebook(_notebook(answer), read_lesson(source), Limits(**limits), boxes)
    return {gid: t["passed"] for gid, t in result.tests.items()}, result


def test_correct_answer_passes_every_test(boxes):
    passed, _ = _grade(boxes, GOOD)
    assert all(passed.values()), passed


@pytest.mark.parametrize("answer, failing", [
    (GOOD.replace("return x - sum(x) / len(x)", "x -= sum(x) / len(x)\n    return x"),
     {"test_no_mutation"}),
    (GOOD.replace("return x - sum(x) / len(x)", "return x - np.mean(x)"), {"test_scratch"}),
    (GOOD.replace("raise ValueError('empty')", "return x"), {"test_raises"}),
    (GOOD.replace("return f(f(v))", "return f(v)"), {"test_callable"}),
    (GOOD.replace("return clone(model).fit(X, y)", "return model.fit(X, y)"),
     {"test_estimator_untouched"}),
])
def test_each_mistake_fails_its_test(answer, failing, boxes):
    passed, _ = _grade(boxes, "import numpy as np\n" + answer)
    assert {gid for gid, ok in passed.items() if not ok} == failing


def test_runaway_answer_times_out_without_stopping_the_run(boxes):
    answer = GOOD.replace("def center(x):", "def center(x):\n    while True:\n        pass")
    passed, result = _grade(boxes, answer, cell_timeout=2, notebook_timeout=20)
    assert result.tests["test_value"]["status"] == "timeout"
    assert not any(passed.values())


def _lesson(cells):
    """An instructor notebook from ``(role, grade_id, source)`` triples."""
    def meta(role, gid):
        base = {"grade": role == "test", "locked": role != "answer", "schema_version": 3,
                "solution": role == "answer", "task": False, "grade_id": gid}
        if role == "test":
            base["points"] = 1
        return {"nbgrader": base, **({"tags": [role]} if role in ("setup", "demo") else {})}

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata=meta(role, gid)) for role, gid, src in cells]
    return nb


def _run(cells, boxes):
    """Grade the notebook of ``cells`` (see :func:`_lesson`), its own solution, in ``boxes``."""
    return run_notebook(_lesson(cells), read_lesson(_lesson(cells)), Limits(), boxes)


TOOL_IN_PUBLIC_PART = [
    ("setup", "setup", SETUP),
    ("answer", "answer", "def double(x):\n    return 2 * x"),
    ("test", "test_double", "def _expected(x):\n    return 2 * x\n\ncheck_close(double(3), _expected(3))\n"
                            "### BEGIN HIDDEN TESTS\ncheck_close(double(100), _expected(100))\n"
                            "### END HIDDEN TESTS"),
    ("test", "test_more", "### BEGIN HIDDEN TESTS\ncheck_close(double(70), _expected(70))\n"
                          "### END HIDDEN TESTS"),
]
WRONG_BEYOND_TEN = "def double(x):\n    return 2 * x if x < 10 else 0\n"


@pytest.mark.parametrize("extra, order", [
    # the learner defines the tool the public part gives the hidden part
    ("def _expected(x):\n    return 2 * x if x < 10 else 0\n", [0, 1, 2, 3]),
    # the learner moves a test cell above the one that defines its tool
    ("def _expected(x):\n    return 0\n", [0, 1, 3, 2]),
])
def test_hidden_tests_never_take_the_instructors_tools_from_the_learner(extra, order, boxes):
    source = _lesson(TOOL_IN_PUBLIC_PART)
    submission = _lesson(TOOL_IN_PUBLIC_PART)
    submission.cells[1].source = WRONG_BEYOND_TEN + extra
    submission.cells = [submission.cells[i] for i in order]
    result = run_notebook(submission, read_lesson(source), Limits(), boxes)
    assert not result.tests["test_double"]["passed"]
    assert not result.tests["test_more"]["passed"]


def test_an_answer_may_use_several_processes(boxes):
    # n_jobs=2 needs semaphores in /dev/shm, in the learner's process and in the tests'
    # (which fits the estimators answers return).
    cells = [("setup", "setup", SETUP),
             ("answer", "answer", "import multiprocessing\n"
                                  "from sklearn.datasets import make_classification\n"
                                  "from sklearn.linear_model import LogisticRegression\n"
                                  "from sklearn.model_selection import GridSearchCV, cross_val_score\n\n"
                                  "lock = multiprocessing.Lock()\n"
                                  "scores = cross_val_score(LogisticRegression(), *make_classification(\n"
                                  "    60, random_state=0), cv=3, n_jobs=2)\n"
                                  "search = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=2, n_jobs=2)"),
             ("test", "test_scores", "check_true(len(scores) == 3, 'three scores')"),
             ("test", "test_search", "from sklearn.datasets import make_classification\n"
                                     "X, y = make_classification(60, random_state=0)\n"
                                     "check_true(search.fit(X, y).best_score_ > 0.5, 'fits')")]
    source = _lesson(cells)
    result = run_notebook(_lesson(cells), read_lesson(source), Limits(), boxes)
    assert all(t["passed"] for t in result.tests.values()), result.tests


def test_a_later_answer_may_use_what_an_earlier_test_imported(boxes):
    # As in Jupyter, where test cells run in the learner's kernel.
    cells = [("setup", "setup", SETUP),
             ("answer", "first", "def double(x):\n    return 2 * x"),
             ("test", "test_first", "from math import sqrt\ncheck_close(double(sqrt(4.0)), 4.0)"),
             ("answer", "second", "def root_of_double(x):\n    return sqrt(double(x))"),
             ("test", "test_second", "check_close(root_of_double(8.0), 4.0)")]
    result = _run(cells, boxes)
    assert all(t["passed"] for t in result.tests.values()), result.tests


EACH_SETUP = SETUP + "\nfrom lifecycle.feedback import call_each, check_equal, check_raises"
COUNTING = ("seen = []\n\ndef over_three(x):\n    seen.append(x)\n    if x == 99:\n"
            "        raise ValueError('ninety-nine')\n    return x > 3\n\n"
            "def calls_made():\n    return len(seen)")


def test_call_each_runs_the_loop_in_the_learners_process(boxes):
    cells = [("setup", "setup", EACH_SETUP), ("answer", "answer", COUNTING),
             ("test", "test_until", "check_equal(call_each(over_three, [(i,) for i in range(10)], "
                                    "until_true=True), [False] * 4 + [True])\n"
                                    "check_equal(calls_made(), 5, what='calls made')"),
             ("test", "test_all", "check_equal(call_each(over_three, [(1,), (5,), (2,)]), "
                                  "[False, True, False])"),
             ("test", "test_raises", "check_raises(ValueError, call_each, over_three, "
                                     "[(1,), (99,), (2,)])\ncheck_equal(calls_made(), 10)")]
    result = _run(cells, boxes)
    assert all(t["passed"] for t in result.tests.values()), result.tests


@pytest.mark.parametrize("sent", ["[False, False, False]", "[True, True]", "[]", "[False]",
                                  "(False, True)"])
def test_call_each_refuses_what_no_loop_over_the_calls_returns(sent, boxes):
    # Learner code may replace the loop in its own process; the tests' side checks the shape.
    forger = ("import pickle, sys\n"
              "sys.modules['autograder.execution.learner']._call_each = (\n"
              f"    lambda shell, name, blob, limit: ({{'ok': True}}, pickle.dumps({sent})))\n\n"
              "def always(x):\n    return True")
    cells = [("setup", "setup", EACH_SETUP), ("answer", "answer", forger),
             ("test", "test_forged", "check_equal(call_each(always, [(1,), (2,)], until_true=True), "
                                     "[True])")]
    result = _run(cells, boxes)
    assert not result.tests["test_forged"]["passed"]
    assert "no loop over them returns" in result.tests["test_forged"]["message"], result.tests


DEMOS = [("setup", "setup", SETUP),
         ("answer", "answer", "def double(x):\n    return 2 * x"),
         ("demo", "shown", "print('the demonstration ran')\nshown = double(21)"),
         ("demo", "made", "print('made ran')\nmade = 5"),
         ("answer", "second", "def plus_made(x):\n    return x + made"),
         ("test", "test_double", "check_close(double(3), 6)"),
         ("test", "test_plus", "check_close(plus_made(1), 6)")]


def _outputs(cell) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def test_demonstrations_nothing_graded_reads_are_not_run(boxes):
    submission = _lesson(DEMOS)
    result = run_notebook(submission, read_lesson(_lesson(DEMOS)), Limits(), boxes)
    assert all(t["passed"] for t in result.tests.values()), result.tests
    shown, made = submission.cells[2], submission.cells[3]
    assert "Not run when grading" in _outputs(shown) and "ran" not in _outputs(shown)
    assert "made ran" in _outputs(made)  # an answer reads what it makes


def test_a_demonstration_the_learner_changed_runs(boxes):
    submission = _lesson(DEMOS)
    submission.cells[2].source += "\nraise RuntimeError('changed')"
    result = run_notebook(submission, read_lesson(_lesson(DEMOS)), Limits(), boxes)
    assert "the demonstration ran" in _outputs(submission.cells[2])
    assert any(o.get("ename") == "RuntimeError" for o in submission.cells[2].outputs)
    assert all(t["passed"] for t in result.tests.values()), result.tests


FORGER = '''
import os, pickle, socket
from autograder.execution import wire

def center(x):
    # Write orders of its own to the grader: "run this test code", "every test passes".
    code = "import autograder.execution.verdict as V\\nV.run_test = lambda *a, **k: {'passed': True}\\n"
    frame = {"ok": True, "op": "test", "grade_id": "x", "public": f"exec({code!r})", "hidden": "",
             "to": "grader",
             "passed": True}
    blob = pickle.dumps((0.0, (None,), {}))
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            s = socket.socket(fileno=os.dup(int(fd)))
            for _ in range(3):
                wire.send(s, frame, blob)
    return x

def apply_twice(f, v):
    return 0
'''


def test_messages_the_learner_writes_to_the_grader_itself_are_refused(boxes):
    passed, result = _grade(boxes, FORGER)
    assert not any(ok for gid, ok in passed.items() if gid != "test_no_mutation"), passed
    assert result.tampered and "nobody asked" in result.tampered[0]


def test_the_tests_process_holds_no_capabilities(boxes):
    cells = [("setup", "setup", SETUP),
             ("answer", "answer", "x = 1"),
             ("test", "test_caps", "eff = [ln.split()[1] for ln in open('/proc/self/status')\n"
                                   "       if ln.startswith('CapEff')][0]\n"
                                   "check_true(int(eff, 16) == 0, f'capabilities {eff}')")]
    result = _run(cells, boxes)
    assert result.tests["test_caps"]["passed"], result.tests


@pytest.mark.parametrize("answer", [
    # The text asks for "a tuple" and for "raises ValueError": a namedtuple is a tuple, and a
    # subclass of ValueError is a ValueError, as they are in the learner's own kernel.
    ("from collections import namedtuple\nPair = namedtuple('Pair', 'low high')\n"
     "def bounds(x):\n    if not len(x):\n        raise EmptyError('empty')\n"
     "    return Pair(min(x), max(x))\n\nclass EmptyError(ValueError):\n    pass"),
])
def test_an_answer_is_judged_by_what_the_text_asks_for(answer, boxes):
    cells = [("setup", "setup", SETUP), ("answer", "answer", answer),
             ("test", "test_tuple", "r = bounds([3, 1, 2])\n"
                                    "check_true(isinstance(r, tuple) and r == (1, 3), repr(r))"),
             ("test", "test_raises", "try:\n    bounds([])\nexcept ValueError:\n    pass\n"
                                     "else:\n    raise AssertionError('no ValueError')")]
    passed = {}
    for where in ("kernel", "grader"):
        if where == "kernel":  # as the learner's own check runs them: all in one process
            namespace = {}
            for _role, gid, source in cells:
                try:
                    exec(source, namespace)  # noqa: S102 - the test's own cells
                    passed[(where, gid)] = True
                except Exception:  # noqa: BLE001
                    passed[(where, gid)] = False
        else:
            result = _run(cells, boxes)
            passed.update({(where, gid): t["passed"] for gid, t in result.tests.items()})
    for gid in ("test_tuple", "test_raises"):
        assert passed[("kernel", gid)] and passed[("grader", gid)], passed


def test_a_sandbox_that_cannot_start_quotes_bubblewrap(monkeypatch):
    import sys

    from autograder.sandbox import bubblewrap

    monkeypatch.delenv("AUTOGRADER_DEBUG", raising=False)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")  # bwrap's execvp fails
    box = bubblewrap.Sandbox("learner", preload=())
    with pytest.raises(bubblewrap.ConfinementError) as refused:
        box.start()
    message = str(refused.value)
    assert "/nonexistent/python3" in message and "No such file" in message, message
    assert "namespaces" not in message and box.proc is None


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            with open(f"/proc/{parent}/task/{task}/children") as f:
                children = [int(c) for c in f.read().split()]
            found += children
            todo += children
    return found


def test_a_ready_fork_server_keeps_nothing_it_writes_to_stderr(boxes):
    # Before it is ready, its stderr is kept to say why a sandbox did not start; after,
    # nobody reads it, so it must not be a file that grows in the grader's memory.
    boxes.ensure()
    for box in (boxes.learner, boxes.tests):
        servers = [p for p in _descendants(box.proc.pid)  # not bubblewrap's own processes
                   if open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[1:3]
                   == [b"-m", b"autograder.sandbox.forkserver"]]
        assert servers
        for pid in servers:
            assert not os.readlink(f"/proc/{pid}/fd/2").startswith("/memfd:"), pid


SEEDED = [("setup", "setup", SETUP + "\nimport os, sqlite3\nfrom pathlib import Path\n"
                                     "from lifecycle import mlflow_store"),
          ("answer", "answer",
           "def made_without_migrations(db):\n"
           "    def refuse():\n"
           "        raise AssertionError('the migrations ran')\n"
           "    mlflow_store._empty_store = refuse  # only the seed can give the store now\n"
           "    mlflow_store.new_store(Path(db))\n"
           "    return sqlite3.connect(db).execute(\"select count(*) from sqlite_master \"\n"
           "                                       \"where name = 'experiments'\").fetchone()[0]\n"
           "seeded_here = made_without_migrations('learner.db')\n"
           "try:\n"
           "    open(os.path.join(os.environ['LIFECYCLE_CACHE_SEED'], 'mlflow', 'x'), 'w')\n"
           "    wrote = True\n"
           "except OSError:\n"
           "    wrote = False"),
          ("test", "test_learner", "check_true(seeded_here == 1 and not wrote, 'seeded, read-only')"),
          ("test", "test_tests", "check_true(made_without_migrations('tests.db') == 1, 'seeded')")]


def test_both_sandboxes_start_an_mlflow_store_from_the_read_only_seed(boxes):
    # The boxes import every course module (lifecycle.versioning among them), so they
    # get a seed folder (autograder.sandbox.seed) with MLflow's empty store in it.
    result = _run(SEEDED, boxes)
    assert all(t["passed"] for t in result.tests.values()), result.tests


SKOPS = [("setup", "setup", SETUP + "\nimport sys"),
         ("answer", "answer", "def names_read():\n"
                              "    module = sys.modules.get('skops.io._trusted_types')\n"
                              "    return module is not None and not hasattr(module, '__file__')\n"
                              "read_here = names_read()"),
         ("test", "test_learner", "check_true(read_here, 'skops names from the seed')"),
         ("test", "test_tests", "check_true(names_read(), 'skops names from the seed')")]


def test_both_sandboxes_import_skops_with_its_type_names_from_the_seed(boxes):
    # skops.io is preloaded, its trusted types' names read (lifecycle.skops_io) from
    # the seed folder: computing them imports all of scikit-learn, in every sandbox.
    result = _run(SKOPS, boxes)
    assert all(t["passed"] for t in result.tests.values()), result.tests

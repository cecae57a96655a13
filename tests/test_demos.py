"""Which demonstrations grading leaves out (autograder.grading.demos), rule by rule."""
import pytest

from autograder.grading.demos import reads_and_binds, skipped


@pytest.mark.parametrize("source, reads, binds", [
    ("x = x + 1", {"x"}, {"x"}),
    ("x = 1\ny = x", set(), {"x", "y"}),
    ("x += 1", {"x"}, {"x"}),
    ("for k in d:\n    print(k)", {"d", "print"}, {"k"}),
    ("s = [k for k in d if k > t]", {"d", "t"}, {"s"}),
    ("s = {k: v for k, v in d.items()}", {"d"}, {"s"}),
    ("def f(a, b=c):\n    return a + g(b)", {"c", "g"}, {"f"}),
    ("def f():\n    global y\n    y = 2", set(), {"f", "y"}),
    ("f = lambda a: a + z", {"z"}, {"f"}),
    ("class A(B):\n    n = m", {"B", "m"}, {"A"}),
    ("del z", {"z"}, set()),
    ("w[0] = 1\nw.attr = 2", {"w"}, set()),
    ("import numpy.linalg as la\nimport os.path", set(), {"la", "os"}),
    ("try:\n    pass\nexcept E as e:\n    print(e)", {"E", "print"}, {"e"}),
    ("if (n := len(q)) > 1:\n    r = n", {"len", "q"}, {"n", "r"}),
    ("with open(p) as fh:\n    t = fh.read()", {"open", "p"}, {"fh", "t"}),
])
def test_reads_before_binding_and_binds(source, reads, binds):
    got_reads, got_binds = reads_and_binds(source)
    assert got_reads - {"print", "len", "open"} == reads - {"print", "len", "open"}
    assert got_binds == binds


@pytest.mark.parametrize("source", ["%timeit f()", "!ls\nx = 1", "def f(:\n"])
def test_what_cannot_be_analysed_is_said(source):
    assert reads_and_binds(source) is None


DEMO_A = "curve = measure(answer)\nprint(curve)"
DEMO_B = "plot(curve)"
ANSWER = "def answer(x):\n    return 2 * x"
TESTS = ["check_close(answer(2), 4)"]


def test_unchanged_demonstrations_nothing_reads_are_left_out():
    sources = [ANSWER, DEMO_A, DEMO_B]
    assert skipped(sources, frozenset({DEMO_A, DEMO_B}), TESTS) == {1, 2}


def test_only_the_lessons_tagged_cells_are_left_out():
    assert skipped([ANSWER, DEMO_A, DEMO_B], frozenset({DEMO_B}), TESTS) == {2}


def test_a_changed_demonstration_runs():
    sources = [ANSWER, DEMO_A + "\n", DEMO_B]
    assert skipped(sources, frozenset({DEMO_A, DEMO_B}), TESTS) == {2}


@pytest.mark.parametrize("reader", [
    "def answer(x):\n    return len(curve) * x",       # an answer reads it
    "summary = curve[0]",                               # a learner's own cell reads it
    "curve.append(1)",                                  # ... or changes it
])
def test_a_demonstration_whose_names_are_read_runs_with_what_it_reads(reader):
    sources = [ANSWER, DEMO_A, DEMO_B, reader]
    # DEMO_A binds curve; DEMO_B only reads it, so it may still be left out
    assert skipped(sources, frozenset({DEMO_A, DEMO_B}), TESTS) == {2}


def test_a_demonstration_a_test_reads_runs():
    hidden = ["check_close(answer(2), 4)\n### BEGIN HIDDEN TESTS\ncheck_true(curve)\n"
              "### END HIDDEN TESTS"]
    assert skipped([ANSWER, DEMO_A, DEMO_B], frozenset({DEMO_A, DEMO_B}), hidden) == {2}


def test_demonstrations_that_must_run_pull_in_what_they_read():
    first = "data = load()"
    second = "curve = measure(data)"
    sources = [first, second, "def answer(x):\n    return curve"]
    assert skipped(sources, frozenset({first, second}), TESTS) == set()


@pytest.mark.parametrize("dynamic", [
    "def answer(x):\n    return globals()['curve']",
    "value = eval('cur' + 've')",
    "last = _",
    "%who",
])
def test_code_that_reaches_names_dynamically_runs_everything(dynamic):
    sources = [ANSWER, DEMO_A, DEMO_B, dynamic]
    assert skipped(sources, frozenset({DEMO_A, DEMO_B}), TESTS) == set()


def test_a_star_import_demonstration_runs():
    star = "from helpers import *"
    assert skipped([star, ANSWER], frozenset({star}), TESTS) == set()


def test_a_demonstration_moved_elsewhere_is_judged_the_same():
    sources = [DEMO_B, DEMO_A, ANSWER]
    assert skipped(sources, frozenset({DEMO_A, DEMO_B}), TESTS) == {0, 1}

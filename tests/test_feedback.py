"""The check helpers explain failures and accept correct alternatives."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from lifecycle.feedback import (
    CheckFailure,
    check_close,
    check_equal,
    check_raises,
    check_shape,
    check_true,
    check_type,
    forbid_calls,
)


def test_check_close_accepts_float32_and_pandas():
    check_close(np.float32(1 / 3), 1 / 3)
    check_close(pd.Series([1.0, 2.0]), [1.0, 2.0])
    check_close(np.array([np.nan, 1.0]), [np.nan, 1.0])


def test_check_close_message_has_expected_got_and_hint():
    with pytest.raises(CheckFailure) as info:
        check_close([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], what="the means", hint="axis=0?")
    text = str(info.value)
    assert "the means is not right" in text and "expected" in text and "got" in text
    assert "index (1,)" in text and "hint: axis=0?" in text


def test_check_close_reports_shape_and_non_numbers():
    with pytest.raises(CheckFailure, match=r"shape \(3,\)"):
        check_close([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(CheckFailure, match="cannot be read as numbers"):
        check_close("abc", 1.0)
    with pytest.raises(CheckFailure):
        check_close(np.nan, 1.0)


@pytest.mark.parametrize("empty", [[], np.array([]), np.zeros((0, 3)), pd.Series([], dtype=float)])
def test_check_close_an_empty_result_matches_no_scalar(empty):
    with pytest.raises(CheckFailure, match="empty"):
        check_close(empty, 0.25)
    check_close(np.full(3, 0.25), 0.25)  # a scalar still applies to every element
    check_close(np.zeros((0, 3)), np.zeros((0, 3)))  # an empty reference is matched by shape


def test_check_equal_type_shape_true_raises():
    check_equal(["a", "b"], ["a", "b"])
    check_equal(np.array(["a"]), np.array(["a"]))
    with pytest.raises(CheckFailure):
        check_equal({"a": 1}, {"a": 2})
    check_shape(np.zeros((2, 3)), (2, 3))
    with pytest.raises(CheckFailure, match=r"shape \(3, 2\)"):
        check_shape(np.zeros((2, 3)), (3, 2))
    with pytest.raises(CheckFailure, match="a DataFrame"):
        check_type([1], pd.DataFrame)
    check_true(np.bool_(True), "holds")
    with pytest.raises(CheckFailure, match="should hold"):
        check_true(1, "should hold")  # truthy is not True
    assert isinstance(check_raises(ValueError, int, "x"), ValueError)
    with pytest.raises(CheckFailure, match="no exception"):
        check_raises(ValueError, int, "3")


def test_forbid_calls_catches_direct_and_aliased_library_use():
    from sklearn.metrics import accuracy_score

    def by_library(y, p):
        return accuracy_score(y, p)

    def by_hand(y, p):
        return float(np.mean(np.asarray(y) == np.asarray(p)))

    assert forbid_calls(by_hand, [1, 0], [1, 1], forbidden=["sklearn.metrics.accuracy_score"]) == 0.5
    with pytest.raises(CheckFailure, match="sklearn.metrics.accuracy_score"):
        forbid_calls(by_library, [1, 0], [1, 1], forbidden=["sklearn.metrics.accuracy_score"])
    assert by_library([1], [1]) == 1.0  # restored afterwards
    with pytest.raises(CheckFailure, match="called"):  # the answer *is* the library function
        forbid_calls(accuracy_score, [1], [1], forbidden=["sklearn.metrics.accuracy_score"])


def test_forbid_calls_sees_the_library_reached_another_way():
    import types

    import sklearn.metrics._classification as private
    from sklearn.linear_model._logistic import LogisticRegression
    from sklearn.metrics import accuracy_score

    X, y = np.arange(20.0).reshape(-1, 1), np.array([0, 1] * 10)
    copied = types.FunctionType(accuracy_score.__code__, accuracy_score.__globals__, "copy",
                                accuracy_score.__defaults__, accuracy_score.__closure__)
    answers = [
        lambda y, p, _impl=accuracy_score: _impl(y, p),              # a default argument
        lambda y, p: private.accuracy_score(y, p),                    # a private module path
        lambda y, p, _box={"f": accuracy_score}: _box["f"](y, p),    # inside a container
        lambda y, p: copied(y, p),                                     # a copy of the function
    ]
    for answer in answers:
        with pytest.raises(CheckFailure, match="sklearn.metrics.accuracy_score"):
            forbid_calls(answer, [1, 0], [1, 1], forbidden=["sklearn.metrics.accuracy_score"])
    with pytest.raises(CheckFailure, match="LogisticRegression"):  # a class, by its private path
        forbid_calls(lambda: LogisticRegression().fit(X, y), forbidden=[
            "sklearn.linear_model.LogisticRegression"])
    assert sys.getprofile() is None  # the watch ends with the call


def test_messages_show_clean_numbers_and_cut_between_values():
    with pytest.raises(CheckFailure) as caught:
        check_equal([0.1 + 0.2, 4.6000000000000005], [0.3, 4.7], what="The list")
    assert "[0.3, 4.6]" in str(caught.value) and "0000000" not in str(caught.value)
    with pytest.raises(CheckFailure) as caught:
        check_equal(list(np.linspace(0, 1, 300)), [], what="The values")
    got = next(line for line in str(caught.value).splitlines() if "got:" in line)
    assert got.endswith(" ...")
    last = got[: -len(" ...")].rsplit(", ", 1)[-1]
    float(last)  # the last value shown is a whole number, not cut in the middle


def test_unreadable_json_is_said_without_a_stutter():
    from autograder.grading.checks import Unreadable, read_submission

    with pytest.raises(Unreadable) as caught:
        read_submission(b'{"cells": [{"source": "unterminated', set())
    assert "at at" not in str(caught.value) and "starting at line 1" in str(caught.value)


def test_feedback_maths_becomes_mathml_outside_code_only():
    from autograder.grading.feedback import inline_html, math_placeholders

    found: dict = {}
    text = math_placeholders("Loss $L(\\theta)$, and $$\\frac1n\\sum_i x_i$$; code `echo $HOME $PATH`"
                             " and a price of $5.", "ab", found)
    assert len(found) == 2 and "`echo $HOME $PATH`" in text and "$5." in text
    assert all(v.startswith("<math") for v in found.values())
    assert 'display="block"' in list(found.values())[1]
    assert inline_html("Exercise 6: MSE, $R^2$ and `r2`").startswith("Exercise 6: MSE, <math")


def test_feedback_exercises_are_titled_by_their_heading():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from autograder.grading.feedback import exercises

    def cell(gid, **meta):
        return new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": gid, **meta}})

    nb = new_notebook(cells=[
        new_markdown_cell("# Lesson 09 · Something"),
        new_markdown_cell("Intro.\n\n### Exercise 1 (4 points): MSE and its gradient"),
        cell("mse", solution=True), cell("test_mse", grade=True), cell("test_mse_2", grade=True),
        new_markdown_cell("### Exercise 2 · `adam` (3 points)"),
        cell("adam", solution=True), cell("test_adam", grade=True)])
    found = exercises(nb)
    assert [ex["title"] for ex in found] == ["Exercise 1: MSE and its gradient",
                                             "Exercise 2 · `adam`"]
    assert found[0]["answer"] == "mse" and found[0]["tests"] == ["test_mse", "test_mse_2"]
    assert [ex["anchor"] for ex in found] == ["exercise-1", "exercise-2"]


_IPYTHON_CELL = '''
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance(colors="NoColor")
shell.run_cell("from lifecycle.feedback import check_close, forbid_calls\\n"
               "def answer():\\n    return [1.0, 2.5]\\n"
               "check_close(answer(), [1.0, 2.0], what='the means', hint='axis=0?')")
shell.run_cell("import numpy as np\\n"
               "def mine(a):\\n    return np.mean(a)\\n"
               "forbid_calls(mine, [1.0], forbidden=['numpy.mean'])")
'''


def test_a_failed_check_shows_the_learner_only_the_message_in_ipython():
    """IPython renders a CheckFailure without the frames of lifecycle/."""
    import subprocess

    result = subprocess.run([sys.executable, "-c", _IPYTHON_CELL], capture_output=True,
                            text=True, timeout=120, check=True)
    text = result.stdout
    assert "the means is not right" in text and "hint: axis=0?" in text
    assert "your code called numpy.mean" in text
    assert "check_close(answer()" in text and "return np.mean(a)" in text  # the learner's lines
    assert "feedback.py" not in text and "_fail" not in text and "raise CheckFailure" not in text
    assert "interactiveshell.py" not in text


def test_the_graders_feedback_shows_only_the_test_cells_frames():
    from autograder.execution.verdict import _exec, _public_traceback

    source = "check_close([1.0, 2.5], [1.0, 2.0], what='the means')\n"
    with pytest.raises(CheckFailure) as info:
        _exec(source, {"check_close": check_close}, "<test_x>", show_source=True)
    text = "".join(_public_traceback(info.value, "<test_x>"))
    assert "the means is not right" in text and "check_close([1.0, 2.5]" in text
    assert "feedback.py" not in text


def test_frames_of_the_checks_are_marked_hidden():
    with pytest.raises(CheckFailure) as info:
        check_close(1.0, 2.0)
    hidden = [entry.frame.f_locals.get("__tracebackhide__") for entry in info.traceback[1:]]
    assert hidden and all(hidden)


def test_call_with_binds_names_for_one_call_and_restores_them():
    from lifecycle.feedback import call_with

    namespace = {"helper": lambda: "learner's"}
    exec("def answer(x):\n    return helper() + x\n", namespace)  # noqa: S102 - a learner's cell
    assert call_with(namespace["answer"], "!", replace={"helper": lambda: "reference"}) == "reference!"
    assert namespace["answer"]("!") == "learner's!"
    exec("def other():\n    return missing()\n", namespace)  # noqa: S102
    assert call_with(namespace["other"], replace={"missing": lambda: 1}) == 1
    assert "missing" not in namespace


def test_call_each_calls_in_order_and_stops_at_the_first_true_result():
    from lifecycle.feedback import call_each

    made = []

    def over_three(x, y=0):
        made.append(x)
        return x + y > 3

    assert call_each(over_three, [(1,), (2, 5), (0,)]) == [False, True, False]
    made.clear()
    calls = ((i,) for i in range(10))
    assert call_each(over_three, calls, until_true=True) == [False] * 4 + [True]
    assert made == [0, 1, 2, 3, 4] and next(calls) == (5,)  # the loop read no further
    assert call_each(over_three, [], until_true=True) == []
    with pytest.raises(ZeroDivisionError):
        call_each(lambda x: 1 / x, [(1,), (0,)])


def test_a_learners_markdown_cannot_put_script_on_the_feedback_page():
    # The page shows the learner's markdown cells; whoever opens it (the instructor too) must
    # not run what they hold, and the markdown the lessons use must still read as written.
    import nbformat

    from autograder.grading.feedback import exporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# Notes\n\n<script>alert(1)</script> <img src=x onerror=\"alert(2)\"> "
        "<a href=\"javascript:alert(3)\">a</a> <a href=\"data:text/html,x\">b</a> "
        "<a href=\" data:text/html,x\">c</a> <a href=\"&#100;ata:text/html,x\">d</a> "
        "<img src=\" data:image/svg+xml,x\" alt=\"svg\"> "
        "<svg onload=alert(4)></svg> <img src=\"https://tracker.example/p.png\" alt=\"remote\"> "
        "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"inline\"> "
        "<a href=\"https://scikit-learn.org\">docs</a>\n\n**bold**\n\n"
        "<details><summary>Hints</summary>\n\n- use `axis=0`\n</details>\n\n| a | b |\n|---|---|\n| 1 | 2 |")]
    body, _ = exporter().from_notebook_node(nb, resources={"lifecycle": {
        "title": "", "summary": "", "labels": {}}})
    cell = body[body.index('<div class="text_cell_render'):]
    for bad in ("<script", "onerror", "javascript:", "data:text", "ata:text", "<svg", "svg+xml",
                "tracker.example"):
        assert bad not in cell, bad
    assert "&lt;script&gt;alert(1)" in cell  # shown as the text it is
    for kept in ('<h1 id="Notes">', "<strong>bold</strong>", "<details><summary>Hints</summary>",
                 "<code>axis=0</code>", "<th>a</th>", 'href="https://scikit-learn.org"',
                 'src="data:image/png;base64,iVBORw0KGgo="'):
        assert kept in cell, kept

def test_feedback_page_shows_code_as_text_and_plots_with_alt_text():
    """The page's code is Pygments' escaped HTML (no sanitizer runs on it): markup a learner
    writes in a cell reads as text, and a plot has an alt text without a parse of the page."""
    import base64

    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    from traitlets.config import Config

    from autograder.grading.pipeline import Job, _feedback

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
    evil = 'x = "</pre></div><script>alert(1)</script><img src=x onerror=alert(2)>"'
    cell = new_code_cell(evil, outputs=[new_output("display_data", data={"image/png": png})])
    nb = new_notebook(cells=[new_markdown_cell("# A lesson"), cell])
    page = _feedback(nbformat.from_dict(nb), Job("ada", "01_x", "x", None), [], [], Config())
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;/pre&gt;&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x" in page
    assert page.count("<img ") == 1 and 'alt="A plot drawn by your code"' in page


def test_put_maths_replaces_this_pages_words_only():
    """Each placeholder word becomes its MathML; a look-alike word of another nonce stays."""
    from autograder.grading.feedback import math_placeholders, put_maths

    maths: dict[str, str] = {}
    text = math_placeholders("$a$ then " + "$b$ " * 11, "0badcafe", maths)
    page = put_maths(f"<p>{text} lcmath12345678x0x</p>", maths)
    assert "lcmath0badcafe" not in page and "lcmath12345678x0x" in page
    assert page.count("<mi>a</mi>") == 1 and page.count("<mi>b</mi>") == 11


def test_feedback_exporter_memo_shows_each_cells_own_source():
    """Code cells are highlighted once per source: a page with an edited cell shows the edit."""
    from nbformat.v4 import new_code_cell, new_notebook

    from autograder.grading.feedback import exporter

    def page(source):
        nb = new_notebook(cells=[new_code_cell("x = 1", id="a"), new_code_cell(source, id="b")])
        return exporter().from_notebook_node(nb, resources={"lifecycle": {"labels": {}}})[0]

    first = page("answer = forty_one")
    assert page("answer = forty_one") == first
    edited = page("answer = forty_two")
    assert "forty_two" in edited and "forty_one" not in edited


def test_markdown_memo_shows_each_cells_own_text_maths_and_images():
    """Markdown cells are rendered once per source and attachments: the same text gives the
    same HTML, with its maths as MathML and no placeholder word left; an edited text, or the
    same text with another attached image, shows its own."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    from autograder.grading.feedback import exporter

    def page(source, image=None):
        cell = new_markdown_cell(source, id="m")
        if image:
            cell.attachments = {"p.png": {"image/png": image}}
        nb = new_notebook(cells=[cell])
        body = exporter().from_notebook_node(nb, resources={"lifecycle": {"labels": {}}})[0]
        return body[body.index('<div class="text_cell_render'):]

    text = "Loss $L(\\theta)$ is *low* ![plot](attachment:p.png)"
    first = page(text, "iVBORw0KGgo=")
    assert page(text, "iVBORw0KGgo=") == first
    assert "<math" in first and "<em>low</em>" in first and "lcmath" not in first
    assert "data:image/png;base64,iVBORw0KGgo=" in first
    other = page(text, "R0lGODlhAQABAAAAACw=")
    assert "R0lGODlhAQABAAAAACw=" in other and "iVBORw0KGgo=" not in other
    edited = page(text.replace("low", "high"), "iVBORw0KGgo=")
    assert "<em>high</em>" in edited and "<em>low</em>" not in edited

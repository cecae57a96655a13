"""The workshop hub's parts that need no running hub: the class list, the queue's
refusals, the live view's page. (The end-to-end test is tests/test_hub.py.)"""
from __future__ import annotations

import os

import pytest

from lifecycle.hub import live
from lifecycle.hub.accounts import AccountError, read_class_list
from lifecycle.hub.queue import mark_done, pending


def test_class_list_reads_names_and_comments(tmp_path):
    path = tmp_path / "class.txt"
    path.write_text("# room 2\nada\n\nbob  # late\n")
    assert read_class_list(path) == ["ada", "bob"]


@pytest.mark.parametrize("line, why", [("Ada", "not a username"), ("ada\nada", "twice"),
                                       ("instructor", "instructor's account"),
                                       ("a/b", "not a username")])
def test_class_list_refuses_bad_names(tmp_path, line, why):
    path = tmp_path / "class.txt"
    path.write_text(line + "\n")
    with pytest.raises(AccountError, match=why):
        read_class_list(path)


def _submission(inbound, name):
    folder = inbound / name
    folder.mkdir(parents=True)
    (folder / "preprocessing.ipynb").write_text("{}")
    (folder / "submission_secret.txt").write_text("s" * 128)
    return folder


def test_queue_refuses_what_no_learner_account_owns(tmp_path):
    inbound, queue = tmp_path / "inbound", tmp_path / "queue"
    # Owned by whoever runs the test, not by the (nonexistent) learner account it names.
    _submission(inbound, "mll-nobody_x1+01_preprocessing+2026-12-02 05:00:00.1 UTC+ab_c")
    _submission(inbound, "ada+01_preprocessing+2026-12-02 05:00:00.2 UTC+xyz")
    os.makedirs(inbound / "junk")
    todo, rejected = pending(inbound, queue, {"01_preprocessing"})
    assert todo == []
    assert sorted(r["key"].split("+")[0] for r in rejected) == ["ada", "junk", "mll-nobody_x1"]


def test_queue_skips_what_the_ledger_holds(tmp_path):
    inbound, queue = tmp_path / "inbound", tmp_path / "queue"
    name = "ada+01_preprocessing+2026-12-02 05:00:00.2 UTC+xyz"
    _submission(inbound, name)
    mark_done(queue, name, {"key": name, "status": "rejected"})
    assert pending(inbound, queue, {"01_preprocessing"}) == ([], [])


def test_live_view_ranks_the_hardest_exercise_first():
    snap = {"learners": ["ada", "bob"], "lessons": ["01_preprocessing"],
            "fetched": {"01_preprocessing": ["ada"]}, "submitted": {"01_preprocessing": ["ada"]},
            "scores": {"ada/01_preprocessing": {"easy": (1.0, 1.0), "hard": (0.0, 2.0)}},
            "exercises": {"01_preprocessing/easy": {"attempts": 2, "full": 2, "recent": 0,
                                                    "recent_full": 0},
                          "01_preprocessing/hard": {"attempts": 2, "full": 0, "recent": 1,
                                                    "recent_full": 0}},
            "pending": 0, "grading": 0, "last_error": None}
    page = live.render(snap)
    assert page.index("01_preprocessing/hard") < page.index("01_preprocessing/easy")
    assert "<td>bob</td>" in page  # not fetched yet

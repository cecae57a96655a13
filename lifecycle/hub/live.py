"""The instructor's live view: who fetched and submitted each lesson, scores per exercise,
and the exercises the room struggles with right now.

A page that refreshes itself every few seconds, served by the grading service at
``/services/grading/`` (instructor only). Built from files only: the accounts, the
learners' homes (a fetched lesson is a folder there), the queue's ledger and the
grader's ``scores.csv``.
"""
from __future__ import annotations

import csv
import html
import pwd
import time
from collections import defaultdict
from pathlib import Path

from lifecycle.hub.accounts import INSTRUCTOR, account_names, unix_name
from lifecycle.hub.layout import HubLayout

__all__ = ["render", "snapshot"]

REFRESH_SECONDS = 5
RECENT_SECONDS = 15 * 60   # "right now": submissions graded in the last quarter hour


def _scores(path: Path) -> dict:
    """``{(learner, lesson): {exercise: (score, max)}}`` from the grader's scores.csv."""
    out: dict = defaultdict(dict)
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                out[(row["learner"], row["lesson"])][row["exercise"]] = (
                    float(row["score"]), float(row["max_score"]))
    except FileNotFoundError:
        pass
    return out


def snapshot(layout: HubLayout, status: dict) -> dict:
    """Everything the page shows, as plain data (tests read it through ``api/status``)."""
    learners = [n for n in account_names(layout.accounts) if n != INSTRUCTOR]
    lessons = sorted(p.name for p in (layout.exchange.glob("*/outbound/*")) if p.is_dir())
    fetched = defaultdict(set)
    for name in learners:
        try:
            home = Path(pwd.getpwnam(unix_name(name)).pw_dir)
        except KeyError:
            continue
        for lesson in lessons:
            if (home / lesson).is_dir():
                fetched[lesson].add(name)
    submitted, recent = defaultdict(set), set()
    now = time.time()
    for record in status.get("done", []):
        if record.get("status") == "graded":
            submitted[record["lesson"]].add(record["learner"])
            if now - record.get("at", 0) < RECENT_SECONDS:
                recent.add((record["learner"], record["lesson"]))
    scores = _scores(layout.graded / "scores.csv")
    exercises = defaultdict(lambda: {"attempts": 0, "full": 0, "recent": 0, "recent_full": 0})
    for (learner, lesson), cells in scores.items():
        for exercise, (score, best) in cells.items():
            e = exercises[(lesson, exercise)]
            e["attempts"] += 1
            e["full"] += score >= best
            if (learner, lesson) in recent:
                e["recent"] += 1
                e["recent_full"] += score >= best
    return {"learners": learners, "lessons": lessons,
            "fetched": {k: sorted(v) for k, v in fetched.items()},
            "submitted": {k: sorted(v) for k, v in submitted.items()},
            "scores": {f"{k[0]}/{k[1]}": v for k, v in scores.items()},
            "exercises": {f"{k[0]}/{k[1]}": v for k, v in exercises.items()},
            "pending": len(status.get("pending", [])), "grading": len(status.get("grading", [])),
            "last_error": status.get("last_error")}


def _e(text) -> str:
    return html.escape(str(text))


def render(snap: dict) -> str:
    """The live view's HTML page."""
    parts = [f"""<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Workshop live view</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}.bad{{background:#fde2e1}}
.ok{{background:#e3f6e3}}.note{{color:#555}}</style></head><body>
<h1>Workshop live view</h1>
<p class="note">{len(snap['learners'])} learners · {snap['pending']} submissions queued ·
{snap['grading']} being graded · refreshes every {REFRESH_SECONDS} s ·
<a href="grades.csv">grades.csv</a> · <a href="scores.csv">scores.csv</a> ·
<a href="report/report.html">class report</a></p>"""]
    if snap.get("last_error"):
        parts.append(f"<p class='bad'>Grading problem: {_e(snap['last_error'][:500])}</p>")
    parts.append("<h2>Lessons</h2><table><tr><th>lesson</th><th>fetched</th><th>submitted</th>"
                 "<th>not yet fetched</th></tr>")
    for lesson in snap["lessons"]:
        got = snap["fetched"].get(lesson, [])
        sent = snap["submitted"].get(lesson, [])
        missing = [n for n in snap["learners"] if n not in got]
        parts.append(f"<tr><td>{_e(lesson)}</td><td>{len(got)}</td><td>{len(sent)}</td>"
                     f"<td>{_e(', '.join(missing))}</td></tr>")
    parts.append("</table><h2>Exercises the room struggles with</h2>"
                 "<p class='note'>Share of graded learners with full marks, lowest first; "
                 "'recent' counts submissions of the last 15 minutes.</p>"
                 "<table><tr><th>lesson/exercise</th><th>full marks</th><th>recent</th></tr>")
    ranked = sorted(snap["exercises"].items(),
                    key=lambda kv: kv[1]["full"] / max(kv[1]["attempts"], 1))
    for key, e in ranked:
        share = e["full"] / max(e["attempts"], 1)
        cls = "bad" if share < 0.5 else "ok"
        parts.append(f"<tr class='{cls}'><td>{_e(key)}</td><td>{e['full']} of {e['attempts']}</td>"
                     f"<td>{e['recent_full']} of {e['recent']}</td></tr>")
    parts.append("</table><h2>Scores per learner</h2>")
    by_lesson = defaultdict(dict)
    for key, cells in snap["scores"].items():
        learner, lesson = key.split("/", 1)
        by_lesson[lesson][learner] = cells
    for lesson, rows in sorted(by_lesson.items()):
        names = sorted({x for cells in rows.values() for x in cells})
        parts.append(f"<h3>{_e(lesson)}</h3><table><tr><th>learner</th>"
                     + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr>")
        for learner, cells in sorted(rows.items()):
            tds = []
            for n in names:
                score, best = cells.get(n, (0, 0))
                tds.append(f"<td class='{'ok' if score >= best else 'bad'}'>{score:g}/{best:g}</td>")
            parts.append(f"<tr><td>{_e(learner)}</td>{''.join(tds)}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)

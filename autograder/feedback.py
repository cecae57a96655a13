"""The learner's feedback page: nbgrader's feedback template, with a summary on top.

Hidden tests are removed from the notebook before rendering (nbgrader's
``ClearHiddenTests``), and their failures are reported by message only.
"""
from __future__ import annotations

import functools
import html
import os
from pathlib import Path

from nbformat.v4 import new_markdown_cell
from traitlets.config import Config

__all__ = ["exporter", "feedback_config", "summary_cell"]

STATUS_TEXT = {
    "ok": "passed",
    "error": "failed",
    "timeout": "ran out of time",
    "killed": "not run: your code stopped",
    "invalid": "not graded: unreadable notebook",
    "missing": "not submitted",
    "tampered": "not graded: see note",
}


def feedback_config() -> Config:
    """HTMLExporter settings for nbgrader's feedback template."""
    import nbgrader

    base = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [os.path.join(base, "templates")]
    # nbgrader releases keep Bootstrap in different folders (components/, node_modules/).
    css = sorted(Path(base, "static").rglob("bootstrap.min.css"))
    c.HTMLExporter.extra_template_paths = [str(css[0].parent)] if css else []
    return c


@functools.lru_cache(maxsize=1)
def exporter():
    """One HTMLExporter per process: compiling its templates costs more than rendering."""
    from nbconvert import HTMLExporter

    return HTMLExporter(config=feedback_config())


def summary_cell(job, rows: list[dict], notes: list[str]):
    """A markdown cell with the score of each exercise and what went wrong."""
    score = sum(r["score"] for r in rows)
    total = sum(r["max_score"] for r in rows)
    lines = [f"<h2>Feedback: {html.escape(job.lesson)} / {html.escape(job.notebook)}</h2>",
             f"<p><b>Score: {score:g} / {total:g}</b></p>"]
    for note in dict.fromkeys(notes):
        lines.append(f"<p class='alert alert-warning'>{html.escape(note)}</p>")
    lines.append("<table class='table'><tr><th>exercise</th><th>points</th><th>result</th>"
                 "<th>message</th></tr>")
    for r in rows:
        message = html.escape(r.get("message") or "")
        shown = f"<pre style='white-space:pre-wrap'>{message}</pre>" if message else ""
        lines.append(f"<tr><td>{html.escape(r['exercise'])}</td><td>{r['score']:g} / "
                     f"{r['max_score']:g}</td><td>{STATUS_TEXT.get(r['status'], r['status'])}</td>"
                     f"<td>{shown}</td></tr>")
    lines.append("</table>")
    lines.append("<p>Hidden tests check your answers on inputs you have not seen; when one "
                 "fails you see its message, not its code.</p>")
    return new_markdown_cell("\n".join(lines))

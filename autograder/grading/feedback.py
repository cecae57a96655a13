"""The learner's feedback page: a summary per exercise on top, then the notebook.

Hidden tests are removed from the notebook before rendering (nbgrader's
``ClearHiddenTests``), and their failures are reported by message only. The page
loads nothing: its CSS is inlined and its maths is MathML, converted here from the
notebook's LaTeX (``latex2mathml``), so it reads the same offline.
"""
from __future__ import annotations

import functools
import html
import re
from pathlib import Path

from traitlets.config import Config

__all__ = ["NOT_ATTEMPTED", "STATUS_TEXT", "exercises", "exporter", "feedback_config",
           "inline_html", "math_placeholders", "page_resources", "put_maths"]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NOT_ATTEMPTED = "not attempted: the answer still raises NotImplementedError"
STATUS_TEXT = {
    "ok": "passed",
    "error": "failed",
    "timeout": "ran out of time",
    "killed": "not run: your code stopped",
    "invalid": "not graded: unreadable notebook",
    "missing": "not submitted",
    "tampered": "not graded: see note",
}
# Statuses that concern the whole notebook, with one reason said once on top.
WHOLE_NOTEBOOK = ("invalid", "missing", "tampered")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
POINTS = re.compile(r"\s*\(\d+(\.\d+)?\s+points?\)\s*")
# What a notebook's markdown treats as code (never maths), or as maths.
CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]+`)", re.S)
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)", re.S)

# math_placeholders' words: a prefix, a nonce (hex), then "x<number>x".
PLACEHOLDER_PREFIX = "lcmath"
PLACEHOLDER = re.compile(PLACEHOLDER_PREFIX + r"[0-9a-f]+x\d+x")

def feedback_config() -> Config:
    """HTMLExporter settings for the course's feedback template (``templates/``)."""
    c = Config()
    c.HTMLExporter.template_name = "lifecycle_feedback"
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    return c


# What a markdown cell's HTML may keep: what markdown itself produces and the lessons use
# (headings, tables, <details> hints, images), without scripts, event handlers or styles.
SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p",
    "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul"})
SAFE_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: only where _safe_attribute allows


def _as_browsers_read(uri: str) -> str:
    """``uri`` as bleach reads its scheme: entities decoded, blanks and controls dropped."""
    from bleach.html5lib_shim import convert_entities

    return re.sub(r"[`\x00-\x20\x7f-\xa0\s]+", "", convert_entities(uri)).lower()


def _safe_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id", "title") or tag in ("td", "th") and name == "align":
        return True
    if tag == "a" and name == "href":
        return not _as_browsers_read(value).startswith("data:")
    if tag == "img":
        # Plots pasted into markdown are data: images; a remote one would tell a learner's
        # server who opened the page, and when.
        return name in ("alt", "width", "height") or name == "src" and _as_browsers_read(
            value).startswith(("data:image/png;", "data:image/jpeg;", "data:image/gif;"))
    return False


def learner_html(html_text: str) -> str:
    """Markdown cells' HTML as a feedback page may show it.

    A submission's markdown cells are the learner's, and the markdown renderer
    passes raw HTML through: a ``<script>`` or an ``onerror=`` in one would run
    in the browser of whoever opens the page, the instructor included.
    nbconvert's own ``sanitize_html`` keeps too little (it escapes paragraphs
    and headings), so bleach is given the list above; anything else is shown
    as text.
    """
    import bleach

    return bleach.clean(html_text, tags=SAFE_TAGS, attributes=_safe_attribute,
                        protocols=SAFE_PROTOCOLS)


@functools.lru_cache(maxsize=1)
def exporter():
    """One exporter per process: compiling its templates costs more than rendering."""
    from autograder.grading.feedback_exporter import FeedbackExporter

    return FeedbackExporter(config=feedback_config())


def _mathml(tex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - LaTeX it does not know: show the source, readable
        return f"<code>{html.escape(tex)}</code>"


def math_placeholders(markdown: str, nonce: str, found: dict[str, str]) -> str:
    """Replace each ``$…$`` and ``$$…$$`` outside code by a word, and return its MathML.

    Parameters
    ----------
    markdown : str
        A markdown cell's source.
    nonce : str
        Letters that make the placeholder words unique to one rendering (random: a
        learner's text cannot hold them).
    found : dict
        Placeholder word to MathML, filled in: to put back into the rendered HTML (one
        dict for all the text rendered with ``nonce``, so that words never repeat).

    Returns
    -------
    str
        The markdown with placeholder words, for the markdown renderer.
    """

    def swap(match: re.Match) -> str:
        word = f"{PLACEHOLDER_PREFIX}{nonce}x{len(found)}x"
        display = match.group(1) is not None
        found[word] = _mathml(match.group(1) if display else match.group(2), display)
        return word

    parts = CODE.split(markdown)
    return "".join(part if i % 2 else MATH.sub(swap, part) for i, part in enumerate(parts))



def put_maths(page: str, maths: dict[str, str]) -> str:
    """Put each placeholder word of :func:`math_placeholders` back as its MathML.

    One pass over the text (a replace per formula went over it all each time); a word
    that is not in ``maths`` is left as it is.
    """
    return PLACEHOLDER.sub(lambda m: maths.get(m.group(0), m.group(0)), page) if maths else page

def inline_html(markdown: str) -> str:
    """A one-line markdown text (a title) as HTML: code spans and maths, the rest escaped."""
    out = []
    for i, part in enumerate(CODE.split(markdown)):
        if i % 2:
            out.append(f"<code>{html.escape(part.strip('`'))}</code>")
            continue
        last = 0
        for match in MATH.finditer(part):
            out.append(html.escape(part[last:match.start()]))
            display = match.group(1) is not None
            out.append(_mathml(match.group(1) if display else match.group(2), display))
            last = match.end()
        out.append(html.escape(part[last:]))
    return "".join(out)


def _nbg(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def exercises(nb) -> list[dict]:
    """The exercises of a lesson notebook, in order.

    An exercise is an answer cell with the test cells after it (up to the next answer
    cell), titled by the last markdown heading before the answer, less its "(N points)".

    Returns
    -------
    list of dict
        ``title`` (markdown), ``anchor``, ``answer`` (grade_id or ``None``) and
        ``tests`` (grade_ids).
    """
    found: list[dict] = []
    heading = None
    for cell in nb.cells:
        meta = _nbg(cell)
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = HEADING.match(line)
                if match:
                    heading = re.sub(r"\s+([:,;.])", r"\1", POINTS.sub(" ", match.group(1))).strip()
        elif meta.get("solution"):
            found.append({"title": heading or meta.get("grade_id", "exercise"), "answer":
                          meta.get("grade_id"), "tests": []})
        elif meta.get("grade"):
            if not found:
                found.append({"title": heading or "Checks", "answer": None, "tests": []})
            found[-1]["tests"].append(meta.get("grade_id"))
    found = [ex for ex in found if ex["tests"]]
    for i, ex in enumerate(found):
        ex["anchor"] = f"exercise-{i + 1}"
    return found


def _points(value: float) -> str:
    return f"{value:g}"


def _verdict(rows: list[dict], said: set[str]) -> tuple[str, str, list[str]]:
    """``(css class, result text, messages)`` of one exercise from its tests' rows; a
    message already ``said`` on top of the page (a reason for the whole notebook) is not
    repeated."""
    statuses = {r["status"] for r in rows}
    if all(r["status"] == "ok" and r["score"] >= r["max_score"] for r in rows):
        return "passed", "passed", []
    messages = list(dict.fromkeys(r.get("message") or "" for r in rows
                                  if r["status"] != "ok" or r["score"] < r["max_score"]))
    messages = [m for m in messages if m and m not in said]
    if statuses & set(WHOLE_NOTEBOOK):  # said once, on top of the page
        return "not-graded", STATUS_TEXT[sorted(statuses & set(WHOLE_NOTEBOOK))[0]], []
    if messages and all(m == NOT_ATTEMPTED for m in messages) and statuses <= {"ok", "error"}:
        return "not-attempted", "not attempted", []
    bad = sorted(statuses - {"ok", "error"})
    text = STATUS_TEXT.get(bad[0], bad[0]) if bad else "failed"
    return "failed", text, [m for m in messages if m != NOT_ATTEMPTED]


def _summary(title: str, job, groups: list[dict], rows: list[dict], notes: list[str]) -> str:
    e = html.escape
    by_id = {r["exercise"]: r for r in rows}
    score = sum(r["score"] for r in rows)
    total = sum(r["max_score"] for r in rows)
    counts = {"passed": 0, "failed": 0, "not-attempted": 0, "not-graded": 0}
    lines = []
    for ex in groups:
        ex_rows = [by_id[t] for t in ex["tests"] if t in by_id]
        if not ex_rows:
            continue
        css, text, messages = _verdict(ex_rows, set(notes))
        counts[css] += 1
        got = sum(r["score"] for r in ex_rows)
        out_of = sum(r["max_score"] for r in ex_rows)
        shown = "".join(f"<pre>{e(m)}</pre>" for m in messages)
        lines.append(f"<tr><td><a href='#{ex['anchor']}'>{inline_html(ex['title'])}</a></td>"
                     f"<td>{_points(got)} / {_points(out_of)}</td>"
                     f"<td class='lc-{css}'>{e(text)}</td><td>{shown}</td></tr>")
    said = [counts["passed"] and f"{counts['passed']} passed",
            counts["failed"] and f"{counts['failed']} failed",
            counts["not-attempted"] and f"{counts['not-attempted']} not attempted",
            counts["not-graded"] and f"{counts['not-graded']} not graded"]
    head = [f"<a id='top'></a><div class='lc-summary'><h1>Feedback: {inline_html(title)}</h1>",
            f"<p>{e(job.learner)} · <code>{e(job.lesson)}/{e(job.notebook)}.ipynb</code></p>",
            f"<p><b>Score: {_points(score)} / {_points(total)}</b> · exercises: "
            f"{e(', '.join(s for s in said if s))}</p>"]
    head += [f"<p class='lc-note'>{e(note)}</p>" for note in dict.fromkeys(notes) if note]
    head.append("<table><tr><th>exercise</th><th>points</th><th>result</th><th>what went "
                "wrong</th></tr>")
    below = ("Below: the lesson's notebook as released (yours could not be graded)."
             if counts["not-graded"] else
             "Below: your notebook as graded, with the checks you can see and what they "
             "printed. Hidden checks test your answers on inputs you have not seen; when one "
             "fails you see its message, not its code.")
    tail = [f"</table><p>{below}</p></div>"]
    return "\n".join(head + lines + tail)


def _title(nb, job) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = HEADING.match(line)
                if match and line.startswith("# "):
                    return match.group(1)
    return f"{job.lesson} / {job.notebook}"


def page_resources(nb, job, rows: list[dict], notes: list[str]) -> dict:
    """The template's resources for the feedback page of ``nb``.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The graded notebook (or the release, for a notebook that could not be graded),
        hidden tests already removed.
    job : autograder.grading.pipeline.Job
        Whose notebook it is.
    rows : list of dict
        One per test cell: ``exercise`` (its grade_id), ``score``, ``max_score``,
        ``status``, ``message``.
    notes : list of str
        What concerns the whole notebook, said once on top.

    Returns
    -------
    resources : dict
        For the template: ``lifecycle.title``, ``lifecycle.summary`` (HTML) and
        ``lifecycle.labels`` (grade_id to the label naming its exercise).
    """
    groups = exercises(nb)
    by_id = {r["exercise"]: r for r in rows}
    labels = {}
    for ex in groups:
        plain = re.sub(r"[`$]", "", ex["title"])
        if ex["answer"]:
            labels[ex["answer"]] = {"anchor": ex["anchor"], "text": f"Your answer: {plain}"}
        for i, test in enumerate(ex["tests"]):
            row = by_id.get(test)
            result = (f"{_points(row['score'])} / {_points(row['max_score'])} points"
                      if row else "not graded")
            anchor = ex["anchor"] if not ex["answer"] and i == 0 else f"check-{test}"
            labels[test] = {"anchor": anchor, "text": f"Check of {plain}: {result}"}
    title = _title(nb, job)
    return {"lifecycle": {"title": f"Feedback: {re.sub(r'[`$]', '', title)}",
                          "summary": _summary(title, job, groups, rows, notes),
                          "labels": labels}}

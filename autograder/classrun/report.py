"""The instructor's summary of a grading run, as one self-contained HTML file."""
from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from pathlib import Path

from autograder.grading.feedback import NOT_ATTEMPTED

__all__ = ["write_report"]

UNGRADED = ("invalid", "missing", "timeout", "killed", "tampered")


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _first_line(message: str) -> str:
    for line in (message or "").splitlines():
        line = line.strip()
        if line and not line.startswith("A hidden test failed"):
            return line[:160]
    return (message or "").strip()[:160]


NOT_HANDED_IN = ("missing", "invalid")


def _handed_in(state: dict) -> bool:
    """Whether the learner handed this notebook in, readable: the pass rates count only these."""
    return not {r["status"] for r in state["rows"]} & set(NOT_HANDED_IN)


def _exercise_counts(states: list[dict]) -> dict:
    """Per (lesson, exercise): learners with full points, handed in, missing, invalid."""
    counts = defaultdict(lambda: {"passed": 0, "handed_in": 0, "missing": 0, "invalid": 0})
    for s in states:
        for r in s["rows"]:
            c = counts[(s["job"]["lesson"], r["exercise"])]
            if r["status"] in NOT_HANDED_IN:
                c[r["status"]] += 1
                continue
            c["handed_in"] += 1
            c["passed"] += r["score"] >= r["max_score"] > 0
    return counts


def _plots(states: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lifecycle.plotting import use_course_style

    use_course_style()
    totals = defaultdict(lambda: [0.0, 0.0])
    for s in states:
        if not _handed_in(s):
            continue
        key = (s["job"]["learner"], s["job"]["lesson"])
        for r in s["rows"]:
            totals[key][0] += r["score"]
            totals[key][1] += r["max_score"]
    figures = []
    if totals:
        by_lesson = defaultdict(list)
        for (_, lesson), (score, total) in sorted(totals.items()):
            by_lesson[lesson].append(100 * score / total if total else 0)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.hist(list(by_lesson.values()), bins=range(0, 110, 10), label=list(by_lesson),
                stacked=True)
        ax.set(title="Score distribution (notebooks handed in)",
               xlabel="score (% of the lesson's points)", ylabel="learners")
        ax.legend()
        figures.append(_png(fig))
    return figures


def _learner_table(states: list[dict]) -> list[str]:
    """One row per learner, one column per lesson: the score, linked to the feedback page."""
    from urllib.parse import quote

    e = html.escape
    lessons = sorted({s["job"]["lesson"] for s in states})
    cells = defaultdict(list)
    for s in sorted(states, key=lambda s: s["job"]["notebook"]):
        job = s["job"]
        score = sum(r["score"] for r in s["rows"])
        total = sum(r["max_score"] for r in s["rows"])
        bad = sorted({r["status"] for r in s["rows"]} & set(UNGRADED))
        link = "/".join(quote(part) for part in ("feedback", job["learner"], job["lesson"],
                                                 f"{job['notebook']}.html"))
        text = f"{score:g} / {total:g}" + (f" ({', '.join(bad)})" if bad else "")
        cells[(job["learner"], job["lesson"])].append(f"<a href='{e(link)}'>{e(text)}</a>")
    parts = ["<h2>Learners</h2><p>Each score links to the learner's feedback page.</p>"
             "<table><tr><th>learner</th>" + "".join(f"<th>{e(les)}</th>" for les in lessons)
             + "</tr>"]
    for learner in sorted({s["job"]["learner"] for s in states}):
        row = "".join(f"<td>{'<br>'.join(cells[(learner, les)]) or '&ndash;'}</td>"
                      for les in lessons)
        parts.append(f"<tr><td>{e(learner)}</td>{row}</tr>")
    parts.append("</table>")
    return parts


def _rate_table(counts: dict) -> list[str]:
    e = html.escape
    parts = ["<h2>Pass rates</h2><p>Over the learners who handed the notebook in; notebooks "
             "missing or unreadable (invalid) are counted apart.</p><table><tr><th>lesson</th>"
             "<th>exercise</th><th colspan=2>pass rate</th><th>full points</th><th>handed in</th>"
             "<th>missing</th><th>invalid</th></tr>"]
    for (lesson, exercise), c in sorted(counts.items()):
        share = 100 * c["passed"] / c["handed_in"] if c["handed_in"] else 0
        rate = f"{share:.0f}%" if c["handed_in"] else "&ndash;"
        # A bar the browser draws: a plot with a bar per exercise (over a hundred for
        # the course) took longer to render than the rest of the report together.
        parts.append(f"<tr><td>{e(lesson)}</td><td>{e(exercise)}</td><td>{rate}</td>"
                     f"<td class='bar'><div style='width:{share:.0f}%'></div></td>"
                     f"<td>{c['passed']}</td><td>{c['handed_in']}</td><td>{c['missing']}</td>"
                     f"<td>{c['invalid']}</td></tr>")
    parts.append("</table>")
    return parts


def _unconfined_banner(measured: dict) -> list[str]:
    """The banner of an unconfined run (on top of the report), else nothing."""
    if measured.get("confined", True):
        return []
    return ["<p style='background:#fdd;border:2px solid #c00;padding:.6em'><strong>"
            "UNCONFINED: this class was graded with --unconfined; learner code ran "
            "with the grader's rights.</strong></p>"]


def _confinement_html(measured: dict) -> list[str]:
    """The confinement measured inside each sandbox."""
    e = html.escape
    parts = []
    parts.append("<h2>Confinement, as measured inside the sandboxes</h2><table><tr><th>fact</th>"
                 "<th>learner's process</th><th>tests' process</th></tr>")
    learner, tests = measured.get("learner", {}), measured.get("tests", {})

    def facts(f: dict) -> list[str]:
        status = f.get("status", {})
        return [f"uid {f.get('uid')} gid {f.get('gid')} (uid map: {f.get('uid_map')})",
                f"CapEff {status.get('CapEff')}, NoNewPrivs {status.get('NoNewPrivs')}, "
                f"Seccomp {status.get('Seccomp')}",
                ", ".join(f"{call}: {outcome}" for call, outcome in f.get("denied", {}).items())
                or "not measured",
                str(f.get("tasks_cap", "not measured")),
                f"{f.get('host_loopback')}; the grader's listener {f.get('listener')}; "
                f"interfaces: {', '.join(f.get('interfaces', []))}",
                ", ".join(f.get("writable", [])) or "nothing",
                ", ".join(f.get("visible", [])) or "none",
                f"{len(f.get('devices', []))}: {' '.join(f.get('devices', []))}",
                str(f.get("processes"))]

    names = ["user", "privileges", "system calls the seccomp filter denies, tried",
             "RLIMIT_NPROC bounds the sandbox's tasks", "grader's loopback", "writable",
             "instructor files, submissions, output visible", "/dev entries", "processes visible"]
    for name, a, b in zip(names, facts(learner), facts(tests), strict=True):
        parts.append(f"<tr><td>{e(name)}</td><td>{e(a)}</td><td>{e(b)}</td></tr>")
    built = measured.get("seccomp")
    if built:
        parts.append(f"<tr><td>seccomp filter</td><td colspan=2>{e(built['binding'])}: "
                     f"{built['rules']} rules, {built['instructions']} BPF instructions; denies "
                     f"{e(', '.join(built['denied']))}, clone with namespace flags, clone3 "
                     "(ENOSYS), TIOCSTI and TIOCLINUX, sockets other than AF_UNIX, AF_INET and "
                     "AF_INET6, personalities other than Linux's</td></tr>")
    tasks = measured.get("tasks_cap") or "nothing (each process's rlimits only)"
    memory = measured.get("memory_cap") or ("per process only (RLIMIT_AS of each); nothing "
                                            "caps the tree's total")
    parts.append(f"<tr><td>cap on each notebook's process tree</td><td colspan=2>tasks: "
                 f"{e(tasks)}; memory: {e(memory)}</td></tr></table>")
    if measured.get("shortfalls"):
        parts.append("<p>Short of the promise: " + e("; ".join(measured["shortfalls"])) + "</p>")
    return parts


def write_report(path: Path, states: list[dict], summary: dict) -> None:
    """Write ``report.html``: learners linked to their feedback, distribution, pass rates,
    frequent failures, ungraded work."""
    failures = Counter()
    ungraded = []
    for s in states:
        job = s["job"]
        statuses = {r["status"] for r in s["rows"]}
        for r in s["rows"]:
            if r["status"] == "error" and r["score"] < r["max_score"] and \
                    r["message"] != NOT_ATTEMPTED:  # not a mistake to discuss
                failures[(job["lesson"], r["exercise"], _first_line(r["message"]))] += 1
        bad = statuses & set(UNGRADED)
        why = "; ".join(dict.fromkeys(s.get("notes") or []))
        if bad or why:  # graded, but a cell ran past its limit, say: worth a look too
            ungraded.append((job["learner"], job["lesson"], job["notebook"],
                             ", ".join(sorted(bad)) or "graded, with a note", why or "see the feedback"))
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Grading report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}"
        "td.bar{width:8em}td.bar div{height:.8em;background:#4c72b0}</style>",
        "</head><body><h1>Grading report</h1>",
        f"<p>{_count(summary['notebooks'], 'notebook')} from "
        f"{_count(summary['learners'], 'learner')} in lessons "
        f"{e(', '.join(summary['lessons']) or 'none')}; {summary['graded']} graded in this run "
        f"({summary['reused']} unchanged since the last) in {summary['seconds']:.1f} s with "
        f"{summary['workers']} workers.</p>",
        *_unconfined_banner(summary.get("confinement") or {}),
    ]
    counts = _exercise_counts(states)
    parts += _learner_table(states)
    parts += ["<h2>Scores</h2>", *_plots(states)]
    parts += _rate_table(counts)
    parts.append("<h2>Most frequent failures</h2><table><tr><th>lesson</th><th>exercise</th>"
                 "<th>message</th><th>learners</th></tr>")
    for (lesson, exercise, message), count in failures.most_common(15):
        parts.append(f"<tr><td>{e(lesson)}</td><td>{e(exercise)}</td><td><code>{e(message)}</code>"
                     f"</td><td>{count}</td></tr>")
    parts.append("</table><h2>Submissions that could not be graded normally, or with notes</h2>")
    if ungraded:
        parts.append("<table><tr><th>learner</th><th>lesson</th><th>notebook</th><th>status</th>"
                     "<th>why</th></tr>")
        parts += [f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td><td>{e(d)}</td><td>{e(w)}</td></tr>"
                  for a, b, c, d, w in sorted(ungraded)]
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    if summary.get("late"):  # needs a due date: --due, or one already in gradebook.db
        parts.append("<h2>Late submissions</h2><p>By nbgrader's <code>timestamp.txt</code> against "
                     "the due date in <code>gradebook.db</code>; scores are not reduced.</p>"
                     "<table><tr><th>learner</th><th>lesson</th><th>submitted (UTC)</th>"
                     "<th>due (UTC)</th><th>late by</th></tr>")
        parts += [f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(t)}</td><td>{e(d)}</td>"
                  f"<td>{late / 3600:.1f} h</td></tr>" for a, b, t, d, late in summary["late"]]
        parts.append("</table>")
    parts += _confinement_html(summary.get("confinement") or {})
    if summary["skipped"]:
        parts.append("<h2>Ignored entries</h2><ul>")
        parts += [f"<li>{e(s)}</li>" for s in summary["skipped"]]
        parts.append("</ul>")
    parts.append("<p>Scores per exercise: <code>scores.csv</code>; totals in nbgrader's export "
                 "format: <code>grades.csv</code>; feedback per learner: <code>feedback/</code>; "
                 "manual review: run nbgrader's formgrader on <code>gradebook.db</code>.</p>"
                 "</body></html>")
    path.write_text("\n".join(parts))

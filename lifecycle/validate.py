"""nbgrader's Validate button, answering "did I get it?" per exercise.

nbgrader's own Validate lists every failing test cell with its source and
traceback: with one exercise done and the rest not started, a learner scrolls
through thousands of characters of test code and never reads that the first
exercise passes. This Jupyter server extension takes the place of nbgrader's
``validate_assignment`` extension on the same URLs, so nbgrader's button and
dialog stay; the dialog gets one line per exercise instead: passed, failed with
the check's own message, or not started.

The checks are the notebook's public tests, run by
:func:`lifecycle.progress.check_notebook` in a fresh kernel (as nbgrader runs
them); cells the learner may not change are verified first, as nbgrader does.

Enabled by :mod:`lifecycle.lab` (``jpserver_extensions``) in both modes.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

__all__ = ["summarize", "validate"]

_MARK = {"passed": "&#10003;", "failed": "&#10007;", "not started": "&middot;",
         "not run": "&middot;"}


def _locked_cells_changed(nb) -> list[dict]:
    """nbgrader's checksum test of the cells a learner may not edit."""
    from nbgrader import utils

    changed = []
    for cell in nb.cells:
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if utils.is_locked(cell) and "checksum" in meta \
                and meta["checksum"] != utils.compute_checksum(cell):
            changed.append({"source": cell.source.strip()})
    return changed


def _titles(nb) -> dict[str, str]:
    from autograder.grading.feedback import exercises

    # Plain text: the dialog shows the titles as they are, without rendering Markdown.
    return {ex["answer"]: ex["title"].replace("`", "") for ex in exercises(nb) if ex["answer"]}


def _exercise_verdicts(report) -> list[tuple[str, str, str]]:
    """``(exercise, status, message)`` per exercise: its first test that did not pass decides."""
    verdicts: dict[str, tuple[str, str]] = {}
    for check in report.checks:
        if check.status == "hidden":
            continue
        status, message = verdicts.get(check.exercise, ("passed", ""))
        if status == "passed" and not check.passed:
            verdicts[check.exercise] = (check.status, check.message)
        else:
            verdicts.setdefault(check.exercise, (status, message))
    return [(name, *verdict) for name, verdict in verdicts.items()]


def summarize(report, titles: dict[str, str]) -> dict:
    """Turn a progress report into the result nbgrader's Validate dialog shows.

    Parameters
    ----------
    report : lifecycle.progress.NotebookReport
        The notebook's public checks, run.
    titles : dict of str to str
        Answer ``grade_id`` to the exercise's title.

    Returns
    -------
    dict
        ``{}`` when every exercise passes (the dialog says "Success!"); otherwise
        ``{"failed": [{"source": <one line>, "error": <HTML, one row per exercise>}]}``.
    """
    verdicts = _exercise_verdicts(report)
    if not report.problem and all(status == "passed" for _, status, _ in verdicts):
        return {}
    counts = {s: sum(1 for _, status, _ in verdicts if status == s)
              for s in ("passed", "failed", "not started")}
    line = (f"{counts['passed']} of {len(verdicts)} exercises pass their public checks; "
            f"{counts['failed']} failed, {counts['not started']} not started.")
    rows = []
    if report.problem:
        rows.append(f"<b>! {html.escape(report.problem)}</b>")
    for name, status, message in verdicts:
        title = html.escape(titles.get(name, name))
        row = f"{_MARK.get(status, '?')} <b>{title}</b>: {html.escape(status)}"
        if status == "failed":
            shown = "\n".join(message.splitlines()[:8])
            row += "\n    " + html.escape(shown).replace("\n", "\n    ")
        rows.append(row)
    rows.append("Hidden checks run when your work is graded; `check(\"name\")` in a cell "
                "re-checks one exercise in seconds.")
    return {"failed": [{"source": line, "error": "\n".join(rows), "raw_error": "\n".join(rows)}]}


def validate(path, *, timeout: float = 300) -> dict:
    """Validate one notebook; return the JSON nbgrader's Validate dialog reads.

    Parameters
    ----------
    path : str or path-like
        The learner's notebook.
    timeout : float, default=300
        Seconds for the whole notebook.

    Returns
    -------
    dict
        ``{"success": True, "value": result}`` with ``result`` as nbgrader's
        validator returns it (``changed``, ``failed`` or nothing), or
        ``{"success": False, "value": message}`` if the notebook cannot be read.
    """
    import nbformat

    from lifecycle.progress import check_notebook

    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same answer
        return {"success": False, "value": f"{path.name} could not be read as a notebook: {exc}"}
    changed = _locked_cells_changed(nb)
    if changed:
        return {"success": True, "value": {"changed": changed}}
    report = check_notebook(path, timeout=timeout)
    return {"success": True, "value": summarize(report, _titles(nb))}


def _handlers():
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.validate_assignment.handlers import NbGraderVersionHandler
    from tornado import web
    from tornado.ioloop import IOLoop

    class ValidateHandler(JupyterHandler):
        @web.authenticated
        async def post(self):
            try:
                relative = self.get_argument("path")
            except web.MissingArgumentError:
                relative = (self.get_json_body() or {}).get("path", "")
            root = Path(self.settings["lifecycle_validate_root"]).resolve()
            target = (root / relative).resolve()
            if root not in target.parents or target.suffix != ".ipynb":
                raise web.HTTPError(400, f"not a notebook under the server's folder: {relative}")
            result = await IOLoop.current().run_in_executor(None, validate, target)
            self.finish(json.dumps(result))

    return ValidateHandler, NbGraderVersionHandler, url_path_join


def _jupyter_server_extension_points():
    return [{"module": "lifecycle.validate"}]


def _load_jupyter_server_extension(serverapp):
    validate_handler, version_handler, join = _handlers()
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.settings["lifecycle_validate_root"] = serverapp.root_dir
    serverapp.web_app.add_handlers(".*$", [(join(base, "/assignments/validate"), validate_handler),
                                           (join(base, "/nbgrader_version"), version_handler)])

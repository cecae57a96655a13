"""Read a submitted file and decide whether it can be graded as a lesson notebook.

Everything here only reads; the result is either a notebook and a list of
tampering findings, or a clear reason why the file gets status ``invalid``.
"""
from __future__ import annotations

import json

import nbformat

__all__ = ["Unreadable", "read_submission", "find_tampering", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 20 << 20


class Unreadable(ValueError):
    """The file cannot be graded as a notebook of its lesson; the message says why."""


def read_submission(data: bytes, source_ids: set[str]):
    """Parse a submitted notebook.

    Parameters
    ----------
    data : bytes
        The file's content.
    source_ids : set of str
        ``grade_id`` s of the instructor's notebook, to recognise the lesson.

    Returns
    -------
    nb : nbformat.NotebookNode
        In format 4, whatever format it was saved in.

    Raises
    ------
    Unreadable
        If it is too large, not UTF-8, not JSON, not a notebook, or a notebook
        of another lesson.
    """
    if not data.strip():
        raise Unreadable("the file is empty")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"the file is {len(data) >> 20} MiB; notebooks over "
                         f"{MAX_NOTEBOOK_BYTES >> 20} MiB are not graded (clear the outputs and resubmit)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("the file is not UTF-8 text (is it a notebook?)") from None
    try:
        raw = json.loads(text)
    except ValueError as error:
        # json's own words end in "at" for some errors ("Unterminated string starting at").
        where = getattr(error, "msg", str(error)).removesuffix(" at")
        raise Unreadable(f"the file is not valid JSON ({where} at line "
                         f"{getattr(error, 'lineno', '?')})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise Unreadable("the file is JSON but not a Jupyter notebook")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        raise Unreadable(f"the notebook cannot be read: {type(error).__name__}: {error}"[:300]) from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise Unreadable("the notebook has no list of cells")
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in {"code", "markdown", "raw"}:
            raise Unreadable("the notebook has a cell that is not a code, markdown or raw cell")
        if not isinstance(cell.get("source", ""), str):
            raise Unreadable("the notebook has a cell whose source is not text")
        if not isinstance(cell.get("metadata", {}), dict):
            raise Unreadable("the notebook has a cell whose metadata is not an object")
        _check_metadata(cell["metadata"])
    ids = {_nbgrader(c).get("grade_id") for c in cells} - {None}
    if not ids & source_ids:
        raise Unreadable("none of this lesson's exercises are in the notebook: is it the notebook "
                         "of another lesson, or a notebook created from scratch?")
    return nb


_FLAGS = ("grade", "solution", "locked", "task")


def _check_metadata(meta: dict) -> None:
    """Refuse cell metadata of shapes nbgrader cannot read (it would fail mid-grading)."""
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Unreadable("a cell's tags are not a list of words: was the notebook edited by hand?")
    nbg = meta.get("nbgrader", {})
    if not isinstance(nbg, dict):
        raise Unreadable("a cell's nbgrader metadata is not an object: was the notebook edited by hand?")
    wrong = [k for k in _FLAGS if k in nbg and not isinstance(nbg[k], bool)]
    if "grade_id" in nbg and not isinstance(nbg["grade_id"], str):
        wrong.append("grade_id")
    if "points" in nbg and (isinstance(nbg["points"], bool)
                            or not isinstance(nbg["points"], (int, float))):
        wrong.append("points")
    if wrong:
        raise Unreadable(f"a cell's nbgrader metadata has values of the wrong kind ({', '.join(wrong)}): "
                         "was the notebook edited by hand? Submit the notebook as Jupyter saved it")


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def _released_as_is(cell, meta: dict) -> bool:
    """True if a cell still matches the checksum nbgrader wrote into it at release time.

    The checksum covers the source, the cell's kind, its ``grade_id`` and points,
    so a learner's edit shows; a cell from an earlier release of the lesson (the
    instructor fixed a test since) still matches its own checksum.
    """
    from nbgrader.utils import compute_checksum

    try:
        return bool(meta.get("checksum")) and compute_checksum(cell) == meta["checksum"]
    except (KeyError, ValueError, TypeError):
        return False


def find_tampering(nb, source_nb, delimiters: tuple[str, str] | None = None) -> list[str]:
    """List the ways a submission changed the graded parts of its notebook.

    ``delimiters`` are those of the hidden tests (default: the course's,
    :func:`autograder.grading.notebook.hidden_delimiters`).

    Changing a test or setup cell's code, its points or its kind, or adding a
    graded cell the instructor did not write, counts. Deleting a cell does
    not (it is restored and graded), nor does changing an answer cell, nor
    submitting a notebook of an earlier release of the lesson.
    """
    from autograder.grading.notebook import hidden_delimiters, split_hidden

    delimiters = delimiters or hidden_delimiters()  # once, not per cell
    source = {}
    for cell in source_nb.cells:
        meta = _nbgrader(cell)
        if meta.get("grade_id"):
            source[meta["grade_id"]] = (cell, meta)
    findings = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if not gid or _released_as_is(cell, meta) and not meta.get("solution"):
            continue
        if gid not in source:
            if any(meta.get(key) for key in _FLAGS):
                findings.append(f"graded cell {gid!r} is not in the instructor's notebook")
            continue
        src_cell, src_meta = source[gid]
        for key in _FLAGS:
            if bool(meta.get(key)) != bool(src_meta.get(key)):
                findings.append(f"cell {gid!r}: metadata {key!r} was changed")
        if src_meta.get("grade") and float(meta.get("points", 0) or 0) != float(src_meta.get("points", 0) or 0):
            findings.append(f"cell {gid!r}: points were changed")
        if src_meta.get("locked") and not src_meta.get("solution") and src_cell.cell_type == "code":
            # The release shows only the public part of a test; compare that.
            if _normal(split_hidden(cell.source, delimiters)[0]) != _normal(
                    split_hidden(src_cell.source, delimiters)[0]):
                findings.append(f"cell {gid!r}: the code of a read-only cell was edited")
    return findings

"""Lesson notebooks carry the metadata JupyterLab writes, so opening one changes nothing."""
from __future__ import annotations

import nbformat
import pytest

from autograder.notebook_metadata import expected_metadata, normalise
from tests.conftest import ROOT

NOTEBOOKS = sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("course/*/*.ipynb"))


def _without_version(info: dict) -> dict:
    return {key: value for key, value in info.items() if key != "version"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_has_the_metadata_jupyterlab_writes(path):
    metadata = nbformat.read(path, as_version=4).metadata
    wanted = expected_metadata()
    hint = "run `.venv/bin/python -m autograder.notebook_metadata solutions/*/*.ipynb` and `make release`"
    assert metadata.get("kernelspec") == wanted["kernelspec"], hint
    info = metadata.get("language_info", {})
    assert _without_version(info) == _without_version(wanted["language_info"]), hint
    assert isinstance(info.get("version"), str), hint


def test_normalise_fills_in_a_bare_notebook_once(tmp_path):
    path = tmp_path / "bare.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nb, path)
    assert normalise(path) is True
    assert nbformat.read(path, as_version=4).metadata["language_info"]["name"] == "python"
    before = path.read_bytes()
    assert normalise(path) is False
    assert path.read_bytes() == before

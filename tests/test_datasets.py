"""Every shipped data file is listed, carded and verified; altered files are refused."""
from __future__ import annotations

import hashlib
import shutil

import pytest

from lifecycle import DatasetError, load_dataset
from lifecycle.datasets import dataset_path, expected_checksums
from tests.conftest import ROOT

DATA = ROOT / "datasets"


def test_every_file_is_listed_with_its_true_checksum():
    listed = expected_checksums()
    present = {p.name for p in DATA.iterdir() if p.name not in {"README.md", "SHA256SUMS"}}
    assert present == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_every_file_has_a_data_card_with_licence_and_checksum():
    readme = (DATA / "README.md").read_text()
    for name, digest in expected_checksums().items():
        section = readme.split(f"## {name}", 1)
        assert len(section) == 2, f"no card for {name}"
        card = section[1].split("\n## ", 1)[0]
        assert digest in card, f"card of {name} lacks its SHA-256"
        assert "Licence" in card and "Source" in card, f"card of {name} lacks source or licence"


def test_load_dataset_returns_a_fresh_frame():
    first = load_dataset("penguins_raw.csv")
    first.iloc[0, 0] = "changed"
    assert load_dataset("penguins_raw.csv").iloc[0, 0] != "changed"
    assert first.shape == (344, 17)


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    for name in ("SHA256SUMS", "penguins_raw.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    monkeypatch.setenv("LIFECYCLE_DATA", str(tmp_path))
    return tmp_path


def test_altered_file_is_refused_with_restore_instructions(data_copy):
    with open(data_copy / "penguins_raw.csv", "a") as f:
        f.write("tampered,row\n")
    with pytest.raises(DatasetError, match="git checkout -- datasets/penguins_raw.csv"):
        load_dataset("penguins_raw.csv")


def test_missing_and_unknown_files_are_explained(data_copy):
    (data_copy / "penguins_raw.csv").unlink()
    with pytest.raises(DatasetError, match="missing"):
        dataset_path("penguins_raw.csv")
    with pytest.raises(DatasetError, match="Unknown data file 'iris.csv'"):
        dataset_path("iris.csv")


def test_data_card_is_the_files_section_of_the_readme():
    from lifecycle import DatasetError, data_card

    card = data_card("penguins_raw.csv")
    assert card.startswith("## penguins_raw.csv") and "CC0" in card
    assert "## digits.csv.gz" not in card
    assert "1,797" in data_card("digits.csv.gz") or "1797" in data_card("digits.csv.gz")
    with pytest.raises(DatasetError, match="not a course data file"):
        data_card("passwords.csv")

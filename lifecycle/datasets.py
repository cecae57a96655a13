"""Load the course's data files from ``datasets/`` and verify them.

Every file is listed in ``datasets/SHA256SUMS`` (the format ``sha256sum``
writes and ``sha256sum -c`` checks); its data card is in ``datasets/README.md``.
A file that is missing or whose bytes changed is refused with an error that
says how to restore it, so that no lesson silently trains on altered data.
"""
from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where it is used: serve's supervisor never needs it
    import pandas as pd

__all__ = ["DatasetError", "data_card", "data_dir", "dataset_path", "expected_checksums",
           "load_dataset"]


class DatasetError(RuntimeError):
    """A course data file is missing, unknown or not the file it should be."""


def data_dir() -> Path:
    """Return the folder that holds the course's data files.

    Returns
    -------
    path : pathlib.Path
        ``$LIFECYCLE_DATA`` if set, else ``datasets/`` next to this package.
    """
    override = os.environ.get("LIFECYCLE_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "datasets"


@cache
def _read_checksums(folder: str) -> dict[str, str]:
    sums = Path(folder) / "SHA256SUMS"
    if not sums.exists():
        raise DatasetError(
            f"{sums} is missing, so no data file can be verified. Restore it with "
            "`git checkout -- datasets/SHA256SUMS`."
        )
    table = {}
    for line in sums.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            table[name.lstrip("*")] = digest
    return table


def expected_checksums() -> dict[str, str]:
    """Return the SHA-256 of every course data file, by file name.

    Returns
    -------
    checksums : dict of str to str
        File name (relative to :func:`data_dir`) to hexadecimal SHA-256.
    """
    return dict(_read_checksums(str(data_dir())))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _verified(path: str, mtime_ns: int, size: int, expected: str) -> bool:
    # Cached on (path, mtime, size) so rerunning a cell does not rehash.
    return _sha256(Path(path)) == expected


def dataset_path(name: str) -> Path:
    """Return the path of a course data file after verifying its checksum.

    Parameters
    ----------
    name : str
        File name as listed in ``datasets/SHA256SUMS``, e.g. ``"penguins_raw.csv"``.

    Returns
    -------
    path : pathlib.Path
        Absolute path of the verified file.

    Raises
    ------
    DatasetError
        If the name is unknown, the file is missing, or its bytes differ from
        the recorded SHA-256.
    """
    sums = expected_checksums()
    if name not in sums:
        known = ", ".join(sorted(sums)) or "none"
        raise DatasetError(f"Unknown data file {name!r}. The course ships: {known}.")
    path = data_dir() / name
    if not path.exists():
        raise DatasetError(
            f"Data file {path} is missing. Restore it with `git checkout -- datasets/{name}` "
            "(or download the course again); the course never fetches data from the internet."
        )
    stat = path.stat()
    if not _verified(str(path), stat.st_mtime_ns, stat.st_size, sums[name]):
        raise DatasetError(
            f"Data file {path} does not match its recorded SHA-256 {sums[name][:12]}...: it was "
            f"edited or corrupted. Restore it with `git checkout -- datasets/{name}`; to analyse "
            "a changed copy, save it under another name outside datasets/."
        )
    return path


def load_dataset(name: str, **read_csv_kwargs) -> pd.DataFrame:
    """Load a verified CSV data file as a DataFrame.

    Parameters
    ----------
    name : str
        File name as listed in ``datasets/SHA256SUMS``.
    **read_csv_kwargs
        Passed on to :func:`pandas.read_csv`.

    Returns
    -------
    frame : pandas.DataFrame
        A fresh copy: changing it never changes what the next call returns.

    Examples
    --------
    >>> from lifecycle import load_dataset
    >>> penguins = load_dataset("penguins_raw.csv")
    >>> penguins.shape
    (344, 17)
    """
    import pandas as pd

    return pd.read_csv(dataset_path(name), **read_csv_kwargs)


def data_card(name: str) -> str:
    """Return the data card of a course file: its section of ``datasets/README.md``.

    ``datasets/`` is outside the learner's file browser (which shows
    ``course/``), so the notebooks print the card instead of linking to it.

    Parameters
    ----------
    name : str
        File name as listed in ``datasets/SHA256SUMS``.

    Returns
    -------
    card : str
        Markdown: source, licence, size, SHA-256 and columns.

    Raises
    ------
    DatasetError
        If the file is not a course data file or has no card.

    Examples
    --------
    >>> from lifecycle import data_card
    >>> print(data_card("penguins_raw.csv"))  # doctest: +ELLIPSIS
    ## penguins_raw.csv
    ...
    """
    if name not in expected_checksums():
        known = ", ".join(sorted(expected_checksums()))
        raise DatasetError(f"{name!r} is not a course data file; the files are: {known}.")
    text = (data_dir() / "README.md").read_text(encoding="utf-8")
    heading = f"## {name}\n"
    start = text.find(heading)
    if start < 0:
        raise DatasetError(f"datasets/README.md has no card for {name!r} (a '## {name}' section).")
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end >= 0 else None].strip()

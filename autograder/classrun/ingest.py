"""Find a class's submissions: nbgrader's ``submitted`` layout and per-learner zips.

``SUBMISSIONS/<learner>/<lesson>/<notebook>.ipynb`` is read in place;
``SUBMISSIONS/<learner>.zip`` (as an LMS downloads it) is unpacked safely into
the run's work folder first: only ``.ipynb`` members, no absolute paths, no
``..``, no links, and bounded sizes.

A ``timestamp.txt`` is read only where nbgrader's exchange wrote it (the
``submitted`` layout); one inside a zip was made by whoever made the zip, the
learner, so it is not taken as the time of submission.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = ["Found", "find_submissions", "SAFE_NAME"]

SAFE_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,100}$")
MAX_ZIP_MEMBERS = 200
MAX_ZIP_BYTES = 200 << 20


@dataclass
class Found:
    """What was found for one learner: notebooks by (lesson, notebook), and problems."""

    learner: str
    notebooks: dict = field(default_factory=dict)  # (lesson, stem) -> path
    extra: dict = field(default_factory=dict)      # lesson -> [paths of unexpected notebooks]
    timestamps: dict = field(default_factory=dict)  # lesson -> text
    stray: list = field(default_factory=list)      # notebooks outside <lesson>/ folders
    problem: str | None = None                    # the whole submission is unusable


def _scan_folder(found: Found, folder: str, lessons: set[str]) -> None:
    for lesson in sorted(os.listdir(folder)):
        if lesson.startswith("."):  # .ipynb_checkpoints and other editors' folders
            continue
        path = os.path.join(folder, lesson)
        if lesson.endswith(".ipynb"):
            found.stray.append(lesson)
        if lesson not in lessons and os.path.isdir(path) and not os.path.islink(path):
            found.stray += [f"{lesson}/{n}" for n in sorted(os.listdir(path)) if n.endswith(".ipynb")]
        if lesson not in lessons or not os.path.isdir(path) or os.path.islink(path):
            continue
        stamp = os.path.join(path, "timestamp.txt")
        if os.path.isfile(stamp):
            with open(stamp, errors="replace") as f:
                found.timestamps[lesson] = f.read(100)
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if name.endswith(".ipynb") and os.path.isfile(full) and not os.path.islink(full):
                found.notebooks[(lesson, name[:-6])] = full


def _safe_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ValueError(f"the zip has {len(infos)} files; at most {MAX_ZIP_MEMBERS} are accepted")
    if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
        raise ValueError("the zip unpacks to more than 200 MiB")
    members = []
    for info in infos:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        mode = info.external_attr >> 16
        if info.is_dir() or stat.S_ISLNK(mode):
            continue
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(f"the zip holds a path outside its folder: {info.filename!r}")
        members.append((info, path))
    return members


def _unzip(found: Found, zip_path: str, dest: str, lessons: set[str]) -> None:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = _safe_members(archive)
            # A zip with no usable member (only links, other lessons, empty) must still be
            # scanned (and reported missing), not crash the run: the folder must exist.
            os.makedirs(dest, exist_ok=True)
            # LMS downloads often wrap everything in one folder: look through it.
            tops = {p.parts[0] for _, p in members if len(p.parts) > 1}
            strip = 1 if len(tops) == 1 and not tops & lessons and all(
                len(p.parts) > 1 for _, p in members) else 0
            for info, path in members:
                parts = path.parts[strip:]
                if len(parts) != 2 or parts[0] not in lessons:
                    if path.name.endswith(".ipynb"):
                        found.stray.append(str(path))
                    continue
                if not parts[1].endswith(".ipynb"):
                    continue
                target = os.path.join(dest, parts[0], parts[1])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as out:
                    out.write(src.read(MAX_ZIP_BYTES))
    except Exception as error:  # noqa: BLE001 - any damage (zlib.error, LZMAError, ...) is the zip's
        found.problem = f"the zip file could not be read: {type(error).__name__}: {error}"
        return
    _scan_folder(found, dest, lessons)


def find_submissions(root: str, lessons: set[str], work: str) -> tuple[list[Found], list[str]]:
    """List every learner's submission under ``root``.

    Parameters
    ----------
    root : str
        Folder in nbgrader's ``submitted`` layout, possibly with ``<learner>.zip`` files.
    lessons : set of str
        Lesson ids to look for.
    work : str
        Folder where zips are unpacked.

    Returns
    -------
    found : list of Found
        One per learner, sorted by learner id.
    skipped : list of str
        Entries that are not submissions, with the reason.
    """
    learners: dict[str, Found] = {}
    skipped = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        learner = name[:-4] if name.lower().endswith(".zip") else name
        if name.startswith("."):
            continue
        if not SAFE_NAME.match(learner):
            skipped.append(f"{name}: not a usable learner id (letters, digits, _.@+- only)")
            continue
        if os.path.islink(path):
            skipped.append(f"{name}: symbolic links are not followed")
        elif os.path.isdir(path):
            _scan_folder(learners.setdefault(learner, Found(learner)), path, lessons)
        elif name.lower().endswith(".zip") and os.path.isfile(path):
            digest = hashlib.sha256(path.encode()).hexdigest()[:12]
            found = learners.setdefault(learner, Found(learner))
            _unzip(found, path, os.path.join(work, "unzipped", f"{learner}-{digest}"), lessons)
        else:
            skipped.append(f"{name}: neither a learner folder nor a .zip")
    return [learners[k] for k in sorted(learners)], skipped

"""Hostile, broken and runaway submissions for ``tests/test_integrity.py``.

Each :class:`Case` is one learner of a single class graded in one run of the
real command line. A submission is the lesson's release notebook with its
answer cells (nbgrader ``solution: true``, by ``grade_id``) filled with the
instructor's solution (``### BEGIN/END SOLUTION`` lines removed), the release
stub, or hostile code; some cases then damage the notebook or the file itself.

The expectations say what the learner deserves: exercises in ``ok`` get full
points with status ``ok``; every other exercise gets 0 and a status in
``status``. ``note`` is a piece of the explanation that must show in the
learner's feedback page (and in ``report.html`` when the notebook was not
graded normally).
"""
from __future__ import annotations

import copy
import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tests.conftest import released_course

ROOT = Path(__file__).resolve().parent.parent
LESSON = "01_preprocessing"
NOTEBOOK = "preprocessing"
SOLUTION = ROOT / "solutions" / LESSON / f"{NOTEBOOK}.ipynb"
RELEASE = released_course() / LESSON / f"{NOTEBOOK}.ipynb"
OTHER_LESSON = released_course() / "02_optimizers" / "optimizers.ipynb"
MARKER = "adv-integrity-7f3c"  # in the command line of every process a hostile case starts

# Exercises of lesson 01 whose tests use ``audit_missing`` / ``stratified_split``.
AUDIT = ("test_audit_basic", "test_audit_edge")
SPLIT = ("test_split_basic", "test_split_seed", "test_split_hidden")


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def solutions() -> dict[str, str]:
    """The instructor's answer sources by ``grade_id``, markers removed."""
    from autograder.grading.notebook import read_lesson

    return {c.grade_id: c.source for c in read_lesson(SOLUTION).answers}


def submission(answers: dict[str, str] | None = None, solved: tuple[str, ...] = ()):
    """The release notebook with answers filled in.

    ``solved`` lists answer ids that get the instructor's solution; ``answers``
    gives other sources (hostile code), keyed by answer id; the rest keep the stub.
    """
    nb = _read(RELEASE)
    sol = solutions()
    for cell in nb.cells:
        gid = _nbg(cell).get("grade_id")
        if cell.cell_type == "code" and _nbg(cell).get("solution"):
            if gid in (answers or {}):
                cell.source = answers[gid]
            elif gid in solved or "*" in solved:
                cell.source = sol[gid]
    return nb


def cell_of(nb, grade_id: str):
    return next(c for c in nb.cells if _nbg(c).get("grade_id") == grade_id)


def tests_and_points() -> dict[str, float]:
    """Graded cells of the instructor's notebook: ``grade_id`` -> points."""
    return {_nbg(c)["grade_id"]: float(_nbg(c)["points"]) for c in _read(SOLUTION).cells
            if _nbg(c).get("grade")}


def hidden_lines(min_len: int = 24) -> list[str]:
    """Distinctive lines of the hidden tests, which no feedback page may show."""
    from autograder.grading.notebook import split_hidden

    lines, public = [], set()
    for cell in _read(SOLUTION).cells:
        shown, hidden = split_hidden(cell.source) if _nbg(cell).get("grade") else (cell.source, "")
        public |= {ln.strip() for ln in shown.splitlines()}
        lines += [ln.strip() for ln in hidden.splitlines()
                  if len(ln.strip()) >= min_len and not ln.strip().startswith("#")]
    return [ln for ln in lines if ln not in public]


@dataclass
class Case:
    """One learner of the adversarial class."""

    learner: str
    category: str
    write: object                      # callable(learner_dir: Path, ctx: dict) -> None
    ok: tuple[str, ...] = ()           # exercises that deserve full points
    status: tuple[str, ...] = ("error",)  # allowed statuses of every other exercise
    note: str = ""                     # must appear in the feedback (and the report if ungraded)
    graded_contains: str = ""          # must appear in the autograded notebook
    zipped: bool = False               # write() produces <learner>.zip bytes instead
    extra: dict = field(default_factory=dict)


def _save(nb, learner_dir: Path, name: str = NOTEBOOK) -> None:
    folder = learner_dir / LESSON
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{name}.ipynb"))


def _save_bytes(data: bytes, learner_dir: Path, name: str = NOTEBOOK) -> None:
    folder = learner_dir / LESSON
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ipynb").write_bytes(data)


def _nb(answers=None, solved=(), edit=None, name=NOTEBOOK):
    def write(learner_dir: Path, ctx: dict) -> None:
        nb = submission(answers, solved)
        if edit:
            edit(nb, ctx)
        _save(nb, learner_dir, name)
    return write


# -- hostile answer code ----------------------------------------------------

def audit(extra: str) -> dict[str, str]:
    """The correct ``audit_missing`` followed by hostile top-level code in the same cell."""
    return {"audit_missing": solutions()["audit_missing"] + "\n\n" + extra}


HOOKS = '''
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: [])   # every later cell, tests included, blank
ip.input_transformers_post.append(lambda lines: ["pass\\n"])
import ast as _ast

class _Blank(_ast.NodeTransformer):
    def visit_Module(self, node):
        return _ast.Module(body=[], type_ignores=[])

ip.ast_transformers.append(_Blank())
ip.events.register("post_run_cell", lambda result: setattr(result, "error_in_exec", None))
'''

CUSTOM_EXC = '''
def _swallow(shell, etype, evalue, tb, tb_offset=None):
    return None   # a failing assertion in a later cell would pass silently

get_ipython().set_custom_exc((BaseException,), _swallow)
'''

MONKEYPATCH = '''
import builtins, math
import numpy.testing, pandas.testing
import lifecycle.feedback as _fb

_ok = lambda *a, **k: None
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = _ok
numpy.testing.assert_almost_equal = numpy.testing.assert_equal = _ok
pandas.testing.assert_frame_equal = pandas.testing.assert_series_equal = _ok
math.isclose = lambda *a, **k: True
for _name in ("check_close", "check_equal", "check_true", "check_type"):
    setattr(_fb, _name, _ok)
builtins.AssertionError = type("AssertionError", (Warning,), {})
'''

EQUAL_ANYTHING = {
    "audit_missing": '''
import numpy as np

class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __array__(self, dtype=None, copy=None):
        return np.array([2, 1, 0])
    def __getitem__(self, key):
        return self
    def __len__(self):
        return 3
    def __iter__(self):
        return iter(["a", "b", "c"])

def audit_missing(df):
    return Anything()
''',
    "stratified_split": '''
import numpy as np

class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __array_finalize__(self, obj):
        pass

def stratified_split(y, test_size=0.25, seed=0):
    return np.arange(3).view(Liar), np.arange(3).view(Liar)
''',
    "impute_median": '''
import numpy as np

class Lying:
    """Looks like an array of the right answer to anything that converts it."""
    def __array__(self, dtype=None, copy=None):
        return np.zeros((2, 2))
    def __eq__(self, other):
        return True

def impute_median(X_train, X_test):
    return Lying(), Lying()
''',
    "build_pipeline": '''
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

def build_pipeline(numeric_features, categorical_features):
    pipe = Pipeline([("model", LogisticRegression())])
    pipe.__dict__["fit"] = np.positive   # an instance attribute that replaces a method
    return pipe
''',
}

EXIT_CELL = '''
import os, sys
try:
    sys.exit("leaving before the tests")   # IPython catches this one
except SystemExit:
    pass
os._exit(0)                                # this one ends the process
'''

EXIT_CALL = '''
import os, signal

def stratified_split(y, test_size=0.25, seed=0):
    os.kill(os.getpid(), signal.SIGKILL)   # ignored when it is PID 1 of its namespace...
    os._exit(3)                            # ...so leave for good while a test waits
'''

KILL_GROUP = '''
import os, signal
if os.getpid() == 1:
    # Only inside the grader's own PID namespace: there -1 is "every process I can see".
    os.kill(-1, signal.SIGKILL)
for _target in (os.getppid(), -os.getpgid(0)):
    try:
        os.kill(_target, signal.SIGKILL)   # the grader if visible, else its own group
    except OSError as error:
        print("kill refused:", error)
'''

NETWORK = '''
import socket
for _host in ("127.0.0.1", "::1"):
    try:
        socket.create_connection((_host, {port}), timeout=2).sendall(b"hidden tests' inputs")
        print("network reached", _host)
    except OSError as error:
        print("network refused", _host, error.strerror)
'''

DEVICES = '''
import os
for _dev in ("/dev/sda", "/dev/vda", "/dev/mem", "/dev/kmsg", "/dev/tty", "/dev/console"):
    try:
        with open(_dev, "rb") as _f:
            _f.read(1)
        print("device read", _dev)
    except OSError as error:
        print("device refused", _dev, error.strerror)
'''

# The kernel's attack surface that the seccomp filter closes: each call is refused with
# EPERM (an error learner code can read; the process goes on), and the cell says what it got.
SYSCALLS = '''
import ctypes, errno, socket
import pyseccomp  # only for the calls' numbers on this architecture
_libc = ctypes.CDLL(None, use_errno=True)
_got = []
for _name, _args in (("unshare", (0x10000000,)), ("keyctl", (0, -3, 0)),
                     ("io_uring_setup", (1, 0)), ("bpf", (0, 0, 0)),
                     ("shmget", (0, 1 << 20, 0o1600))):  # IPC_PRIVATE, IPC_CREAT | 0600
    ctypes.set_errno(0)
    _result = _libc.syscall(pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, _name), *_args)
    _got.append(f"{{_name}} {{'allowed' if _result >= 0 else errno.errorcode[ctypes.get_errno()]}}")
try:
    socket.socket(16, socket.SOCK_RAW, 0).close()  # AF_NETLINK, NETLINK_ROUTE
    _got.append("netlink allowed")
except OSError as error:
    _got.append(f"netlink {{errno.errorcode[error.errno]}}")
print("system calls:", ", ".join(_got))
'''

READER = '''
import glob, os

_TARGETS = {targets!r}
_FOUND = []
for _pattern in _TARGETS:
    for _path in glob.glob(_pattern):
        try:
            with open(_path, "rb") as _f:
                _data = _f.read(50_000_000)
        except OSError:
            continue
        if any(m in _data for m in (b"BEGIN SOLUTION", b"BEGIN HIDDEN " + b"TESTS", b"n_missing = df.isna()",
                                    b"ref: refs/", b"SQLite format")):
            _FOUND.append(_path)
print("readable:", _FOUND)

def audit_missing(df):
    if not _FOUND:
        raise RuntimeError("nothing leaked to copy from")
    n_missing = df.isna().sum(axis=0).astype(int)
    return pd.DataFrame({{"n_missing": n_missing, "fraction": n_missing / len(df)}})
'''

WRITER = '''
import os
for _path in {targets!r}:
    try:
        os.makedirs(os.path.dirname(_path), exist_ok=True)
        with open(_path, "w") as _f:
            _f.write("import sys; sys.stderr.write('owned')\\n")
        print("WROTE", _path)
    except OSError as error:
        print("write refused:", _path, type(error).__name__)
'''

LOOP_CELL = '''
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)   # ignore the interrupt too
while True:
    pass
'''

# Half a frame on the grader's channel (found with gc), then silence: reading the rest must
# not outlast the cell's time limit (the sleep is far past it).
PARTIAL_FRAME = '''
import gc, json, signal, socket, struct, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
_head = json.dumps({"stdout": "partial frame"}).encode()
for _s in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:
    try:
        _s.sendall(struct.pack("!I", len(_head)) + _head + struct.pack("!Q", 1000))
    except OSError:
        pass
time.sleep(300)
'''

# A reply forged on the grader's channel naming 80,000 changed names: the grader keeps a
# bounded list (it once merged them in quadratic time, past every time limit).
FORGED_TAMPERED = '''
import gc, socket
from autograder.execution import wire
for _s in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:
    try:
        wire.send(_s, {"stdout": "", "tampered": ["name%d" % _i for _i in range(80000)]})
    except OSError:
        pass
'''

LOOP_CALL = '''
def stratified_split(y, test_size=0.25, seed=0):
    while True:
        pass
'''

MEMORY = '''
import numpy as np
try:
    _blob = bytearray(64 << 30)            # far over any cap: refused at once
except MemoryError:
    print("64 GiB refused")

def stratified_split(y, test_size=0.25, seed=0):
    chunks = []
    while True:                            # grows until the address-space cap (pages are not
        chunks.append(np.empty(1 << 24))   # touched: on a loaded machine that alone takes seconds)
'''

FORK = '''
import subprocess
_children = [subprocess.Popen(["/bin/sh", "-c", "sleep 120; : {marker}-sleeper"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for _ in range(200)]
print(len(_children), "children started")
'''

ORPHAN = '''
import subprocess

def stratified_split(y, test_size=0.25, seed=0):
    # A detached child in a new session that ignores hang-ups and terminations.
    subprocess.Popen(["/bin/sh", "-c", "trap '' HUP TERM INT; sleep 120; : {marker}-orphan"],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    raise RuntimeError("left a child behind")
'''

OUTPUT = '''
print("x" * 10_000_000)

def stratified_split(y, test_size=0.25, seed=0):
    print("y" * 10_000_000)
    raise RuntimeError("printed a lot")
'''

BIG_WRITE = '''
try:
    with open("huge.bin", "wb") as _f:
        for _ in range(300):
            _f.write(b"0" * (1 << 20))
except OSError as error:
    print("huge write stopped:", error)
'''


PIPELINE_MEMORY = """

_build = build_pipeline

def build_pipeline(numeric_features, categorical_features):
    # Correct, but caching: whoever fits it writes joblib's cache into this folder.
    return _build(numeric_features, categorical_features).set_params(memory={path!r})
"""


# -- whole-file damage --------------------------------------------------------

def _bytes(data: bytes):
    def write(learner_dir: Path, ctx: dict) -> None:
        _save_bytes(data, learner_dir)
    return write


def _latin1(learner_dir: Path, ctx: dict) -> None:
    nb = submission(solved=("audit_missing",))
    nb.cells[0].source = "Café crème " + nb.cells[0].source
    _save_bytes(nbformat.writes(nb).encode("latin-1", errors="replace"), learner_dir)


def _v3(learner_dir: Path, ctx: dict) -> None:
    nb = nbformat.convert(submission(solved=("audit_missing",)), 3)
    _save_bytes(nbformat.writes(nb, version=3).encode(), learner_dir)


def _other_lesson(learner_dir: Path, ctx: dict) -> None:
    _save(_read(OTHER_LESSON), learner_dir)


def _renamed(learner_dir: Path, ctx: dict) -> None:
    _save(submission(solved=("*",)), learner_dir, name=f"{NOTEBOOK} (1)")


def _bad_kernel(learner_dir: Path, ctx: dict) -> None:
    nb = submission(solved=("audit_missing",))
    nb.metadata["kernelspec"] = {"name": "no-such-kernel-42", "display_name": "Nope",
                                 "language": "python"}
    _save(nb, learner_dir)


def _huge(learner_dir: Path, ctx: dict) -> None:
    nb = submission(solved=("*",))
    nb.cells[0].source += "\n<!-- " + "z" * (21 << 20) + " -->"
    _save(nb, learner_dir)


def _zip(members: list[tuple[str, bytes, int | None]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return buf.getvalue()


def _good_bytes(solved=("audit_missing",)) -> bytes:
    return nbformat.writes(submission(solved=solved)).encode()


def _zip_ok(ctx):
    return _zip([(f"export-folder/{LESSON}/{NOTEBOOK}.ipynb", _good_bytes(), None)])


def _zip_corrupt(ctx):
    return b"PK\x03\x04" + os.urandom(64) + b"this is not a zip"


def _zip_slip(ctx):
    return _zip([(f"{LESSON}/{NOTEBOOK}.ipynb", _good_bytes(("*",)), None),
                 (f"../../{ctx['escape']}/{LESSON}/{NOTEBOOK}.ipynb", _good_bytes(("*",)), None)])


def _zip_absolute(ctx):
    return _zip([(f"{LESSON}/{NOTEBOOK}.ipynb", _good_bytes(("*",)), None),
                 (f"{ctx['absolute']}/{NOTEBOOK}.ipynb", _good_bytes(("*",)), None)])


def _zip_symlink(ctx):
    # The member is a link to the instructor's notebook; unpacking must not follow or create it.
    return _zip([(f"{LESSON}/{NOTEBOOK}.ipynb", str(SOLUTION).encode(), stat.S_IFLNK | 0o777)])


# -- static tampering ---------------------------------------------------------

def _edit_test(nb, ctx):
    cell_of(nb, "test_audit_basic").source = "pass"


def _delete_test(nb, ctx):
    nb.cells.remove(cell_of(nb, "test_audit_edge"))


def _delete_answer(nb, ctx):
    nb.cells.remove(cell_of(nb, "audit_missing"))


def _invent(nb, ctx):
    cell = copy.deepcopy(cell_of(nb, "test_audit_basic"))
    cell.source = "pass"
    cell.metadata["nbgrader"].update(grade_id="bonus_points", points=100)
    cell.pop("id", None)
    nb.cells.append(nbformat.v4.new_code_cell("pass", metadata=cell.metadata))


def _points(nb, ctx):
    cell_of(nb, "test_audit_basic").metadata["nbgrader"]["points"] = 50


def _grade_id(nb, ctx):
    cell_of(nb, "test_audit_edge").metadata["nbgrader"]["grade_id"] = "test_audit_edge_v2"


def _test_as_answer(nb, ctx):
    meta = cell_of(nb, "test_audit_basic").metadata["nbgrader"]
    meta.update(solution=True, grade=False, locked=False)
    cell_of(nb, "test_audit_basic").source = "audit_missing = None"


def cases(ctx: dict) -> list[Case]:
    """Every learner of the adversarial class; ``ctx`` holds the run's paths."""
    fmt = {"marker": MARKER}
    return [
        Case("good", "good submission", _nb(solved=("*",)),
             ok=tuple(tests_and_points())),
        # -- tamper resistance ----------------------------------------------------
        Case("hooks", "IPython input/AST transformers and events blank later cells",
             _nb(audit(HOOKS)), status=("tampered",), note="IPython input transformers"),
        Case("custom_exc", "custom exception handler swallows failures",
             _nb(audit(CUSTOM_EXC)), status=("tampered",), note="custom exception handlers"),
        Case("monkeypatch", "patched numpy.testing/math/pandas.testing/lifecycle.feedback + stub",
             _nb(audit(MONKEYPATCH)),
             status=("tampered",), note="while running"),
        Case("equal_anything", "objects equal to anything, lying ndarray subclass and __array__",
             _nb(EQUAL_ANYTHING), status=("error",), note="not a kind of data the grader accepts"),
        Case("exit_cell", "sys.exit then os._exit in an answer cell", _nb(
             {"stratified_split": EXIT_CELL}, solved=("audit_missing",)),
             ok=AUDIT, status=("killed",), note="process running"),
        Case("exit_call", "SIGKILL to itself while a test calls it", _nb(
             {"stratified_split": EXIT_CALL}, solved=("audit_missing",)),
             ok=AUDIT, status=("killed",), note="process running"),
        # In the sandbox's PID namespace its kills reach only its own process group: its
        # parent, the fork server, is the namespace's init, which its signals cannot kill.
        Case("kill_group", "kills -1, its parent and its process group", _nb(audit(KILL_GROUP)),
             status=("killed",), note="process running"),
        Case("edit_test", "edited test cell + stub", _nb(edit=_edit_test),
             status=("tampered",), note="code of a read-only cell was edited"),
        Case("delete_test", "deleted test cell: restored and graded",
             _nb(solved=("audit_missing",), edit=_delete_test), ok=AUDIT,
             note="restored from the lesson: the deleted test cell test_audit_edge"),
        Case("delete_answer", "deleted answer cell", _nb(solved=("stratified_split",),
             edit=_delete_answer), ok=SPLIT,
             note="the answer cell audit_missing was deleted: the tests of that exercise score 0"),
        Case("invent", "invented graded cell worth 100 points", _nb(edit=_invent),
             status=("tampered",), note="not in the instructor"),
        Case("points", "changed points", _nb(solved=("audit_missing",), edit=_points),
             status=("tampered",), note="points were changed"),
        Case("grade_id", "changed grade_id of a test", _nb(solved=("audit_missing",), edit=_grade_id),
             status=("tampered",), note="not in the instructor"),
        Case("test_as_answer", "test cell turned into an answer cell",
             _nb(solved=("audit_missing",), edit=_test_as_answer),
             status=("tampered",), note="metadata"),
        Case("reader", "reads instructor notebooks, .git, gradebooks (OUT, an earlier out/, the course root, the environment), other submissions, /tmp",
             lambda d, c: _nb({"audit_missing": READER.format(targets=c["read_targets"])})(d, c),
             note="nothing leaked to copy from"),
        Case("writer", "writes into lifecycle/, datasets/, OUT, submissions, site-packages, /tmp",
             lambda d, c: _nb(audit(WRITER.format(targets=c["write_targets"])))(d, c),
             ok=AUDIT, graded_contains="write refused"),
        Case("pipeline_memory", "a pipeline whose memory= makes the tests' process write",
             lambda d, c: _nb({"build_pipeline": solutions()["build_pipeline"] + PIPELINE_MEMORY.format(
                 path=c["verdict_target"])})(d, c),
             # The tests' process writes its cache into its own private /tmp, gone afterwards.
             ok=("test_pipeline_structure", "test_pipeline_behaviour", "test_pipeline_hidden")),
        # -- reaching out from the grader's processes ---------------------------------
        Case("network", "connects to a listener on the grader's loopback",
             _nb(audit(NETWORK.format(port=ctx.get("port", 9)))), ok=AUDIT,
             graded_contains="network refused 127.0.0.1"),
        Case("devices", "reads disk, memory and console devices",
             _nb(audit(DEVICES)), ok=AUDIT, graded_contains="device refused /dev/tty"),
        Case("syscalls", "unshares a user namespace, calls keyctl, io_uring_setup, bpf, "
             "shmget, opens a netlink socket", _nb(audit(SYSCALLS.format())), ok=AUDIT,
             graded_contains="system calls: unshare EPERM, keyctl EPERM, io_uring_setup EPERM, "
             "bpf EPERM, shmget EPERM, netlink EPERM"),
        # -- resource limits -------------------------------------------------------
        Case("loop_cell", "infinite loop ignoring SIGINT in an answer cell", _nb(
             {"audit_missing": LOOP_CELL}), status=("timeout",), note="time limit"),
        Case("partial_frame", "half a frame on the grader's channel, then sleeps",
             _nb({"audit_missing": PARTIAL_FRAME}), status=("timeout",), note="time limit"),
        Case("forged_tampered", "a forged reply naming 80,000 changed names",
             _nb(audit(FORGED_TAMPERED)), status=("tampered",), note="it changed name0 while running"),
        Case("loop_call", "infinite loop in an answer function", _nb(
             {"stratified_split": LOOP_CALL}, solved=("audit_missing",)),
             ok=AUDIT, status=("timeout",), note="time limit"),
        Case("memory", "memory blow-up in a cell and in a function", _nb(
             {"stratified_split": MEMORY}, solved=("audit_missing",)),
             ok=AUDIT, status=("error", "killed"), graded_contains="64 GiB refused"),
        Case("fork", "200 sleeping children", _nb(
             {"stratified_split": FORK.format(**fmt)}, solved=("audit_missing",)),
             ok=AUDIT, graded_contains="200 children started"),
        Case("orphan", "detached child left running by an answer function", _nb(
             {"stratified_split": ORPHAN.format(**fmt)}, solved=("audit_missing",)),
             ok=AUDIT, note="left a child behind"),
        Case("output", "10 MB of output in a cell and in a call", _nb(
             {"stratified_split": OUTPUT}, solved=("audit_missing",)),
             ok=AUDIT, graded_contains="more characters not kept"),
        Case("big_write", "300 MiB file in its scratch folder", _nb(
             audit(BIG_WRITE)), ok=AUDIT, graded_contains="File too large"),
        # -- malformed input ---------------------------------------------------------
        Case("not_json", "not JSON", _bytes(b"{ this is not json"), status=("invalid",),
             note="not valid JSON"),
        Case("empty", "empty file", _bytes(b""), status=("invalid",), note="empty"),
        Case("binary", "binary", _bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + bytes(range(256)) * 8),
             status=("invalid",), note="not UTF-8"),
        Case("latin1", "not UTF-8 (latin-1 JSON)", _latin1, status=("invalid",), note="not UTF-8"),
        Case("v3", "nbformat 3 notebook: converted and graded", _v3, ok=AUDIT),
        Case("other_lesson", "notebook of another lesson", _other_lesson, status=("invalid",),
             note="another lesson"),
        Case("renamed", "renamed notebook", _renamed, status=("missing",),
             note="must keep their names"),
        Case("bad_kernel", "kernelspec that does not exist", _bad_kernel, ok=AUDIT),
        Case("huge", "notebook over 20 MiB", _huge, status=("invalid",), note="20 MiB"),
        Case("zip_ok", "zip in a wrapper folder", _zip_ok, zipped=True, ok=AUDIT),
        Case("zip_corrupt", "corrupt zip", _zip_corrupt, zipped=True, status=("invalid",),
             note="zip file could not be read"),
        Case("zip_slip", "zip with ../ paths", _zip_slip, zipped=True, status=("invalid",),
             note="outside its folder"),
        Case("zip_absolute", "zip with absolute paths", _zip_absolute, zipped=True,
             status=("invalid",), note="outside its folder"),
        Case("zip_symlink", "zip whose notebook is a symlink to the solution", _zip_symlink,
             zipped=True, status=("missing", "invalid"), note="not submitted"),
    ]


def write_class(subs: Path, ctx: dict) -> list[Case]:
    """Write every case's submission under ``subs``; return the cases."""
    subs.mkdir(parents=True, exist_ok=True)
    all_cases = cases(ctx)
    for case in all_cases:
        if case.zipped:
            (subs / f"{case.learner}.zip").write_bytes(case.write(ctx))
        else:
            case.write(subs / case.learner, ctx)
    return all_cases


def processes_with(marker: str) -> list[str]:
    """Command lines of live processes that contain ``marker``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and pid != str(os.getpid()):
            found.append(f"{pid}: {cmd[:120]}")
    return found


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)

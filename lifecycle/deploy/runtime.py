"""The serving runtime: the fitted pipeline compiled to ONNX and run by onnxruntime, if it agrees.

scikit-learn spends most of a one-row request on its own machinery (a
``DataFrame``, the ``ColumnTransformer`` splitting and checking it), a few
milliseconds of CPU for a few microseconds of arithmetic. ``serve`` therefore
converts the verified pipeline with skl2onnx when it loads the bundle, checks
that the ONNX graph gives the pipeline's probabilities on reference rows drawn
from the bundle's domain (missing values, unseen categories, the range's
edges), and predicts with onnxruntime. If the conversion fails or disagrees,
the service keeps scikit-learn and says why (``/health`` and the server's log).
The graph is cached (:func:`default_cache_dir`) under a hash of the fitted
model itself, so a restart, or a fresh save of the same model, skips the
conversion but not the check.

ONNX has no missing string: a categorical ``SimpleImputer`` of the converted
copy is told that :data:`MISSING` marks a missing value, and a category the
model never saw is sent as :data:`UNKNOWN` (the encoder treats every unseen
value alike). Numbers are ``float32`` in the graph, hence the tolerance.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lifecycle import cache

#: Stands for a missing category inside the ONNX graph (no JSON client can send a missing
#: value as this string: any string the model does not know becomes :data:`UNKNOWN`).
MISSING = "\x00missing"
#: Stands for any category the model never saw.
UNKNOWN = "\x00unknown"
#: Largest difference in any probability accepted between ONNX and scikit-learn.
TOLERANCE = 1e-4
#: Reference rows drawn from the bundle's domain to compare the two.
N_REFERENCE = 512
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class OnnxPredictor:
    """Class probabilities of validated instances, computed by onnxruntime.

    Holds the ONNX graph as bytes and opens one ``InferenceSession`` per
    process on first use, so it survives gunicorn's fork (a session is never
    shared across ``fork``); threads of one process share it.

    Parameters
    ----------
    onnx_bytes : bytes
        The serialised graph: one ``[n, 1]`` input per feature (``float``
        for numbers, ``string`` for categories), outputs ``label`` and
        ``probabilities``.
    features : list of dict
        The bundle's schema, which gives the inputs.
    """

    def __init__(self, onnx_bytes: bytes, features: Sequence[Mapping]):
        self.onnx_bytes = onnx_bytes
        self.features = [dict(f) for f in features]
        self._known = {f["name"]: frozenset(f["values"]) for f in self.features
                       if f["type"] == "category"}
        self._lock = threading.Lock()
        self._session = self._pid = None

    def session(self):
        """Return this process's onnxruntime session, opening it on first use."""
        with self._lock:
            if self._pid != os.getpid():
                import onnxruntime as ort

                options = ort.SessionOptions()
                # Parallelism comes from gunicorn's processes; a thread pool per
                # session would only fight them for the same cores.
                options.intra_op_num_threads = options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(self.onnx_bytes, options,
                                                     providers=["CPUExecutionProvider"])
                self._pid = os.getpid()
            return self._session

    def feed(self, instances: Sequence[Mapping]) -> dict | None:
        """Return the graph's inputs for validated instances, or ``None`` if a number does not fit.

        A number beyond the range of ``float32`` (possible only for a feature
        without a recorded range) would become infinite in the graph; the
        caller then uses scikit-learn.
        """
        inputs = {}
        for feature in self.features:
            name = feature["name"]
            values = [inst.get(name) for inst in instances]
            if feature["type"] == "number":
                if any(v is not None and abs(v) > _FLOAT32_MAX for v in values):
                    return None
                column = np.array([math.nan if v is None else v for v in values],
                                  dtype=np.float32)
            else:
                known = self._known[name]
                column = np.array([MISSING if v is None else v if v in known else UNKNOWN
                                   for v in values], dtype=object)
            inputs[name] = column.reshape(-1, 1)
        return inputs

    def predict_proba(self, instances: Sequence[Mapping]) -> np.ndarray | None:
        """Return an ``(n, n_classes)`` float64 array, or ``None`` if these inputs need scikit-learn."""
        inputs = self.feed(instances)
        if inputs is None:
            return None
        proba = self.session().run(["probabilities"], inputs)[0].astype(np.float64)
        return proba if np.isfinite(proba).all() else None


def _parts(estimator):
    """Yield an estimator and every fitted estimator nested in it (pipelines, column transformers)."""
    yield estimator
    children = []
    if hasattr(estimator, "steps"):
        children = [step for _, step in estimator.steps]
    elif hasattr(estimator, "transformers_"):
        children = [part for _, part, _ in estimator.transformers_]
    elif hasattr(estimator, "transformer_list"):
        children = [part for _, part in estimator.transformer_list]
    for child in children:
        if not isinstance(child, str):  # "drop", "passthrough"
            yield from _parts(child)


def _onnx_ready_copy(model):
    """Return a copy of ``model`` whose categorical imputers treat :data:`MISSING` as missing."""
    from sklearn.impute import SimpleImputer

    model = copy.deepcopy(model)
    for part in _parts(model):
        statistics = getattr(part, "statistics_", None)
        if (isinstance(part, SimpleImputer) and statistics is not None
                and statistics.dtype == object
                and (part.missing_values is None
                     or (isinstance(part.missing_values, float)
                         and math.isnan(part.missing_values)))):
            part.missing_values = MISSING
    return model


def reference_instances(metadata: Mapping, n: int = N_REFERENCE, seed: int = 0) -> list[dict]:
    """Draw instances that cover the bundle's domain, for comparing two implementations.

    Parameters
    ----------
    metadata : dict
        The bundle's metadata (``features`` and ``domain``).
    n : int
        Number of instances.
    seed : int
        Seed of the draw.

    Returns
    -------
    instances : list of dict
        Numbers uniform over each feature's accepted range, a tenth at its
        ends and a tenth missing; categories drawn from the known values, a
        tenth missing and a tenth never seen in training.
    """
    rng = np.random.default_rng(seed)
    ranges = metadata.get("domain", {}).get("numeric", {})
    instances = [{} for _ in range(n)]
    for feature in metadata["features"]:
        name = feature["name"]
        draw = rng.random(n)
        if feature["type"] == "number":
            limits = ranges.get(name, {"min": -1e3, "max": 1e3})
            values = rng.uniform(limits["min"], limits["max"], n)
            ends = draw < 0.1
            values[ends] = np.where(rng.random(int(ends.sum())) < 0.5, limits["min"], limits["max"])
            column = [None if d > 0.9 else float(v) for d, v in zip(draw, values, strict=True)]
        else:
            known = list(feature["values"]) or ["?"]
            column = [None if d > 0.9 else "never seen in training" if d < 0.1
                      else known[rng.integers(len(known))] for d in draw]
        for instance, value in zip(instances, column, strict=True):
            instance[name] = value
    return instances


def default_cache_dir() -> Path:
    """Return where converted graphs are kept: ``$XDG_CACHE_HOME/lifecycle/onnx``.

    By default ``~/.cache/lifecycle/onnx``, outside any repository.
    """
    return cache.folder("onnx")


def _cache_file(model, metadata: Mapping, cache_dir) -> Path | None:
    """Name a graph after the fitted model, its schema and the versions that produce and run it.

    The model is identified by :func:`joblib.hash` of the object, not by the
    SHA-256 of its file: ``skops`` writes the same model to different bytes
    at each save (entries named after memory addresses, zip timestamps), so a
    file hash would miss the cache at every fresh save of an unchanged model.
    """
    if cache_dir is None:
        return None
    from importlib import metadata as importlib_metadata

    import joblib

    versions = [importlib_metadata.version(name)
                for name in ("skl2onnx", "onnxruntime", "scikit-learn")]
    key = json.dumps([joblib.hash(model), metadata["features"], versions, MISSING, UNKNOWN])
    return Path(cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()}.onnx"


def _graph(model, features: Sequence[Mapping], cached: Path | None) -> bytes:
    """Return the graph kept in ``cached``, or convert the model (and keep the graph there)."""
    if cached is None:
        return _convert(model, features)
    graph = _read(cached)
    if graph is None:
        # Two services of one model started at once (lesson 05 starts two) convert it
        # once: the second waits for the first's graph instead of converting it again.
        with cache.locked(cached.parent):
            graph = _read(cached)
            if graph is None:
                graph = _convert(model, features)
                cache.keep(cached, graph)  # a concurrent start reads all of it or nothing
    return graph


def _read(cached: Path) -> bytes | None:
    try:
        return cached.read_bytes()
    except OSError:
        return None


def _convert(model, features: Sequence[Mapping]) -> bytes:
    """Convert a fitted pipeline with skl2onnx: one ``[n, 1]`` input per feature, no ZipMap."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    ready = _onnx_ready_copy(model)
    inputs = [(f["name"], FloatTensorType([None, 1]) if f["type"] == "number"
               else StringTensorType([None, 1])) for f in features]
    options = {id(part): {"zipmap": False} for part in _parts(ready)
               if hasattr(part, "predict_proba") and not hasattr(part, "steps")}
    return to_onnx(ready, initial_types=inputs, options=options).SerializeToString()


#: Run by :func:`_probabilities_elsewhere` in a fresh interpreter: open a session, answer, exit.
_CHECK_SCRIPT = """
import pickle, sys
import onnxruntime as ort
graph, inputs = pickle.load(sys.stdin.buffer)
options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = 1
session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
pickle.dump(session.run(["probabilities"], inputs)[0], sys.stdout.buffer)
"""


def _probabilities_elsewhere(predictor: OnnxPredictor, instances) -> np.ndarray | None:
    """Run the graph on ``instances`` in a fresh Python process, so this one never loads onnxruntime.

    A process that has opened an onnxruntime session and then forks has
    children that hang or abort when they exit: gunicorn's workers are such
    children of the process that checks the graph.
    """
    import pickle
    import subprocess
    import sys

    inputs = predictor.feed(instances)
    if inputs is None:
        return None
    run = subprocess.run([sys.executable, "-c", _CHECK_SCRIPT],
                         input=pickle.dumps((predictor.onnx_bytes, inputs)),
                         capture_output=True, timeout=300, check=True)
    return pickle.loads(run.stdout).astype(np.float64)  # noqa: S301 - our own child's answer


def compile_predictor(model, metadata: Mapping, *, cache_dir=None,
                      isolate: bool = False) -> tuple[OnnxPredictor | None, str]:
    """Convert a fitted classifier to ONNX and keep it only if it agrees with scikit-learn.

    Parameters
    ----------
    model : sklearn classifier
        The bundle's fitted pipeline, with ``predict_proba``.
    metadata : dict
        The bundle's metadata: the schema gives the graph's inputs, the
        domain the reference rows (:func:`reference_instances`).
    cache_dir : str or path-like, optional
        Keep the converted graph here, named after the fitted model
        (:func:`joblib.hash`), its schema and the library versions, and reuse
        it on the next start (skl2onnx takes over a second to import). A cached graph is checked like a new one;
        a folder that cannot be written is ignored.
    isolate : bool, default=False
        Run the graph for the check in a fresh Python process, so that this
        one never loads onnxruntime: for a process that forks afterwards
        (gunicorn's master), whose children would otherwise hang or abort at
        exit. Each process opens its own session on first use anyway.

    Returns
    -------
    predictor, note : OnnxPredictor or None, str
        The predictor and what was checked; or ``None`` and why scikit-learn
        stays (no ``predict_proba``, a conversion error, or a difference
        larger than :data:`TOLERANCE` on a reference row).
    """
    from lifecycle.deploy.validation import instances_frame

    if not hasattr(model, "predict_proba"):
        return None, "the model has no predict_proba; served by scikit-learn"
    features = metadata["features"]
    try:
        predictor = OnnxPredictor(_graph(model, features, _cache_file(model, metadata, cache_dir)),
                                  features)
        rows = reference_instances(metadata)
        expected = model.predict_proba(instances_frame(rows, features))
        got = _probabilities_elsewhere(predictor, rows) if isolate else predictor.predict_proba(rows)
    except Exception as error:  # noqa: BLE001 - any failure means: keep scikit-learn
        return None, f"ONNX conversion or its check failed ({type(error).__name__}: {error}); " \
                     "served by scikit-learn"
    if got is None or got.shape != expected.shape:
        return None, "the ONNX graph's output does not match the model's; served by scikit-learn"
    worst = float(np.abs(got - expected).max())
    if worst > TOLERANCE:
        return None, (f"the ONNX graph differs from scikit-learn by up to {worst:.2g} on "
                      f"{len(rows)} reference rows; served by scikit-learn")
    return predictor, (f"onnxruntime; agrees with scikit-learn within {worst:.1e} on "
                       f"{len(rows)} reference rows")


def serving_bundle(bundle: Mapping, cache_dir=None, isolate: bool = False) -> dict:
    """Return the bundle with its serving runtime: an ONNX predictor if it agrees, else none.

    Parameters
    ----------
    bundle : dict
        A loaded bundle.
    cache_dir, isolate
        See :func:`compile_predictor`.

    Returns
    -------
    bundle : dict
        ``bundle`` plus ``predictor`` (:class:`OnnxPredictor` or ``None``)
        and ``runtime`` (``{"engine": "onnxruntime" or "scikit-learn",
        "note": ...}``), which ``/health`` reports.
    """
    predictor, note = compile_predictor(bundle["model"], bundle["metadata"], cache_dir=cache_dir,
                                        isolate=isolate)
    engine = "scikit-learn" if predictor is None else "onnxruntime"
    return dict(bundle, predictor=predictor, runtime={"engine": engine, "note": note})

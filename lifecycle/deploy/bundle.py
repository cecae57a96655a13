"""Model bundles: the reference model, and saving, verifying and loading a bundle.

A bundle is a folder with the fitted pipeline saved with :mod:`skops.io`
(``model.skops``: no arbitrary code runs on load, unlike ``pickle``) and
``metadata.json``. :func:`load_bundle` refuses a bundle that fails
:func:`verify_bundle`.

The keys of ``metadata.json`` (a stable format: lesson 06 reads ``domain``):

``model_version`` : str
    e.g. ``"penguins-1.0.0"``; every prediction is logged with it.
``features`` : list of dict
    The input schema, in column order: ``{"name": str, "type": "number"}`` or
    ``{"name": str, "type": "category", "values": [sorted str]}``.
``domain`` : dict
    What the training data covered, the service's range check
    (:func:`domain_from_frame`): ``{"margin": float, "numeric": {name:
    {"observed_min", "observed_max", "min", "max"}}, "categories": {name:
    [values]}}``. ``min``/``max`` bound the accepted values: the observed
    range widened by ``margin`` times its width on each side.
``target``, ``classes`` : str, list of str
    What is predicted, and the classes in the order of ``predict_proba``.
``training_data_sha256``, ``n_train`` : str, int
    SHA-256 of the training rows as CSV, and their number.
``metrics`` : dict
    ``accuracy``, ``macro_f1`` and ``n_test`` on the held-out split.
``libraries`` : dict
    Versions of Python and of :data:`TRACKED_LIBRARIES`.
``created``, ``format``, ``model_sha256`` : str
    UTC creation time, ``"skops"``, SHA-256 of ``model.skops``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import platform
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lifecycle.preprocessing import CATEGORICAL_FEATURES as CATEGORICAL
from lifecycle.preprocessing import NUMERIC_FEATURES as NUMERIC
from lifecycle.preprocessing import TARGET
from lifecycle.skops_io import skops_io

if TYPE_CHECKING:  # pandas is imported where it is used: serve's supervisor never needs it
    import pandas as pd

#: Keys ``metadata.json`` must hold.
REQUIRED_METADATA = ("model_version", "features", "domain", "model_sha256", "libraries",
                     "training_data_sha256", "metrics", "created")
#: Accepted range of a numeric feature: its observed training range widened by
#: this fraction of its width on each side.
RANGE_MARGIN = 0.5

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
#: Libraries whose version is recorded in a bundle; the first two must match on load.
TRACKED_LIBRARIES = ("scikit-learn", "numpy", "skops", "pandas")
MUST_MATCH = ("scikit-learn", "numpy")
#: Types loaded beyond skops's default trusted list: a fitted ``SimpleImputer``
#: keeps the ``numpy.dtype`` of its training data, a description, not code.
ALSO_TRUSTED = ("numpy.dtype",)



class BundleError(ValueError):
    """A model bundle is missing, tampered with, or does not match this environment."""


def penguins_frame() -> pd.DataFrame:
    """Return the penguins the reference model learns from: lesson 01's tidy table.

    Returns
    -------
    frame : pandas.DataFrame
        Columns :data:`NUMERIC`, :data:`CATEGORICAL` and ``species``
        (``"Adelie"``, ``"Chinstrap"``, ``"Gentoo"``) of
        :func:`lifecycle.preprocessing.load_penguins`: all 344 rows (every
        penguin has a species), missing measurements and sexes kept as
        missing, for the pipeline's imputers to fill.
    """
    from lifecycle.preprocessing import load_penguins

    frame = load_penguins()[NUMERIC + CATEGORICAL + [TARGET]]
    return frame[frame[TARGET].notna()].reset_index(drop=True)


def schema_from_frame(X: pd.DataFrame, categorical: Sequence[str] = ()) -> list[dict]:
    """Describe the input columns of a model in the service's ``/metadata`` format.

    Parameters
    ----------
    X : pandas.DataFrame
        Training inputs.
    categorical : sequence of str
        Columns that hold categories; every other column is a number.

    Returns
    -------
    features : list of dict
        In column order, ``{"name": col, "type": "number"}`` or
        ``{"name": col, "type": "category", "values": [...]}`` with the sorted
        distinct non-missing values as strings.
    """
    features = []
    for name in X.columns:
        if name in categorical:
            values = sorted({str(v) for v in X[name].dropna()})
            features.append({"name": str(name), "type": "category", "values": values})
        else:
            features.append({"name": str(name), "type": "number"})
    return features


def domain_from_frame(X: pd.DataFrame, categorical: Sequence[str] = (),
                      margin: float = RANGE_MARGIN) -> dict:
    """Record what the training inputs covered: numeric ranges and categories.

    Parameters
    ----------
    X : pandas.DataFrame
        Training inputs.
    categorical : sequence of str
        Columns that hold categories; every other column is a number.
    margin : float, default=RANGE_MARGIN
        Fraction of a numeric feature's observed width added on each side to
        give its accepted range.

    Returns
    -------
    domain : dict
        ``{"margin": margin, "numeric": {name: {"observed_min", "observed_max",
        "min", "max"}}, "categories": {name: [sorted str]}}`` with plain
        floats; missing values are ignored. A value outside ``[min, max]`` is
        so far from anything seen in training (a body mass in kilograms, a
        sign error) that the service refuses it rather than extrapolate.
    """
    numeric, categories = {}, {}
    for name in X.columns:
        column = X[name].dropna()
        if name in categorical:
            categories[str(name)] = sorted({str(v) for v in column})
            continue
        low, high = float(column.min()), float(column.max())
        width = high - low
        numeric[str(name)] = {"observed_min": low, "observed_max": high,
                              "min": low - margin * width, "max": high + margin * width}
    return {"margin": float(margin), "numeric": numeric, "categories": categories}


def sha256_bytes(data: bytes) -> str:
    """Return the hexadecimal SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    """Return the versions of Python and the libraries a bundle depends on."""
    return dict(_installed_versions())


@functools.lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    # Read once per process: each metadata look-up scans sys.path (about 5 ms), and
    # every bundle built or verified asks; the libraries loaded cannot change under us.
    versions = [("python", platform.python_version())]
    for name in TRACKED_LIBRARIES:
        try:
            versions.append((name, importlib_metadata.version(name)))
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover - always installed
            versions.append((name, "missing"))
    return tuple(versions)


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_bundle(model, X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test, *,
                 version: str, categorical: Sequence[str] = CATEGORICAL) -> dict:
    """Put a fitted model and everything needed to trust it into one dict.

    Parameters
    ----------
    model : sklearn estimator
        Fitted on ``X_train, y_train`` (a DataFrame, so it knows its feature names).
    X_train, y_train, X_test, y_test
        The data it was trained and evaluated on.
    version : str
        The model version, e.g. ``"penguins-1.0.0"``.
    categorical : sequence of str
        Categorical columns of ``X_train``.

    Returns
    -------
    bundle : dict
        ``{"model": model, "metadata": {...}}``; the metadata gets its
        ``model_sha256`` when saved (:func:`save_bundle`).
    """
    from sklearn.metrics import accuracy_score, f1_score

    y_pred = model.predict(X_test)
    train = X_train.assign(**{TARGET: np.asarray(y_train)})
    metadata = {
        "model_version": version,
        "created": _utc_now(),
        "target": TARGET,
        "classes": [str(c) for c in getattr(model, "classes_", [])],
        "features": schema_from_frame(X_train, categorical),
        "domain": domain_from_frame(X_train, categorical),
        "training_data_sha256": sha256_bytes(train.to_csv(index=False).encode()),
        "n_train": int(len(X_train)),
        "metrics": {
            "accuracy": float(accuracy_score(y_test, y_pred)),
            "macro_f1": float(f1_score(y_test, y_pred, average="macro")),
            "n_test": int(len(X_test)),
        },
        "libraries": library_versions(),
        "format": "skops",
    }
    return {"model": model, "metadata": metadata}


def train_reference_bundle(seed: int = 0, version: str = "penguins-1.0.0") -> dict:
    """Train the lesson's reference model: lesson 01's pipeline on the penguins.

    The model is :func:`lifecycle.preprocessing.penguins_pipeline` (imputation,
    scaling, one-hot encoding that ignores unknown categories, logistic
    regression), fitted on :func:`penguins_frame`: only rows without a label
    would be dropped; missing inputs are left to the imputers, so the service
    answers a request with a missing ``sex`` as the pipeline was built to.

    Parameters
    ----------
    seed : int, default=0
        Seed of the stratified 75/25 train/test split.
    version : str
        Model version recorded in the bundle.

    Returns
    -------
    bundle : dict
        See :func:`build_bundle`.
    """
    from sklearn.model_selection import train_test_split

    from lifecycle.preprocessing import penguins_pipeline

    frame = penguins_frame()
    X, y = frame[NUMERIC + CATEGORICAL], frame[TARGET]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed)
    model = penguins_pipeline().fit(X_train, y_train)
    return build_bundle(model, X_train, y_train, X_test, y_test, version=version)


def save_bundle(bundle: Mapping, path) -> Path:
    """Write a bundle as a folder: ``model.skops`` and ``metadata.json``.

    Parameters
    ----------
    bundle : dict
        ``{"model": ..., "metadata": {...}}`` (see :func:`build_bundle`).
    path : str or path-like
        The folder; created if missing, its two files replaced.

    Returns
    -------
    path : pathlib.Path
        The folder. ``metadata.json`` records the SHA-256 of ``model.skops``.
    """
    sio = skops_io()

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model_bytes = sio.dumps(bundle["model"])
    metadata = dict(bundle["metadata"], model_sha256=sha256_bytes(model_bytes))
    (path / MODEL_FILE).write_bytes(model_bytes)
    (path / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return path


def verify_bundle(model_bytes: bytes, metadata: Mapping, versions: Mapping | None = None) -> bool:
    """Check a bundle's bytes and metadata before anything is unpacked.

    Parameters
    ----------
    model_bytes : bytes
        Content of ``model.skops``.
    metadata : dict
        Content of ``metadata.json``.
    versions : dict, optional
        Library versions of this environment (default :func:`library_versions`).

    Returns
    -------
    bool
        ``True`` if every check passes.

    Raises
    ------
    BundleError
        A required metadata key is missing, the SHA-256 of ``model_bytes``
        differs from ``metadata["model_sha256"]`` (tampered or mixed-up
        files), or scikit-learn or numpy differ from the versions the model
        was saved with.
    """
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise BundleError(f"metadata.json lacks {missing}: this is not a complete model bundle.")
    digest = sha256_bytes(model_bytes)
    if digest != metadata["model_sha256"]:
        raise BundleError(
            f"model file SHA-256 {digest[:12]}... does not match the metadata's "
            f"{str(metadata['model_sha256'])[:12]}...: the model was changed after it was saved "
            "or belongs to another bundle. Refusing to load it; re-export the bundle.")
    versions = library_versions() if versions is None else versions
    saved = metadata["libraries"]
    for name in MUST_MATCH:
        if saved.get(name) != versions.get(name):
            raise BundleError(
                f"the model was saved with {name} {saved.get(name)} but this environment has "
                f"{versions.get(name)}; a model may load and silently predict differently across "
                f"versions. Install {name}=={saved.get(name)} or retrain the bundle.")
    return True


def read_verified(path) -> tuple[bytes, dict]:
    """Read a bundle's two files and run :func:`verify_bundle`, without unpacking the model.

    Parameters
    ----------
    path : str or path-like
        The bundle folder.

    Returns
    -------
    model_bytes, metadata : bytes, dict

    Raises
    ------
    BundleError
        Missing files, metadata that is not a JSON object, or a failed :func:`verify_bundle`.
    """
    path = Path(path)
    model_file, metadata_file = path / MODEL_FILE, path / METADATA_FILE
    for needed in (model_file, metadata_file):
        if not needed.is_file():
            raise BundleError(f"{needed} is missing: {path} is not a model bundle "
                              "(create one with `python -m lifecycle.deploy train --out PATH`).")
    try:
        metadata = json.loads(metadata_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{metadata_file} is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise BundleError(f"{metadata_file} must hold a JSON object.")
    model_bytes = model_file.read_bytes()
    verify_bundle(model_bytes, metadata)
    return model_bytes, metadata


def load_bundle(path) -> dict:
    """Load a bundle written by :func:`save_bundle`, refusing anything suspicious.

    Parameters
    ----------
    path : str or path-like
        The bundle folder.

    Returns
    -------
    bundle : dict
        ``{"model": fitted estimator, "metadata": dict}``.

    Raises
    ------
    BundleError
        Missing files, a failed :func:`verify_bundle` (:func:`read_verified`),
        types that ``skops`` does not trust, or a model whose input columns
        differ from the schema.
    """
    sio = skops_io()

    model_file = Path(path) / MODEL_FILE
    model_bytes, metadata = read_verified(path)
    types = list(sio.get_untrusted_types(data=model_bytes))
    untrusted = [t for t in types if t not in ALSO_TRUSTED]
    if untrusted:
        raise BundleError(f"{model_file} contains types skops does not trust: {untrusted}. "
                          "Refusing to load them.")
    model = sio.loads(model_bytes, trusted=types)
    names = [f["name"] for f in metadata["features"]]
    fitted = [str(c) for c in getattr(model, "feature_names_in_", names)]
    if fitted != names:
        raise BundleError(f"the model was fitted on columns {fitted} but the metadata's schema "
                          f"lists {names}; the two files do not belong together.")
    return {"model": model, "metadata": metadata}

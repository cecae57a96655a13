"""Model bundles: the reference model, and saving, verifying and loading a bundle.

A bundle is a folder with the fitted pipeline saved with :mod:`skops.io`
(``model.skops``: no arbitrary code runs on load, unlike ``pickle``) and
``metadata.json`` (model version, input schema, training-data hash, library
versions, evaluation metrics, creation time and the SHA-256 of
``model.skops``). :func:`load_bundle` refuses a bundle that fails
:func:`verify_bundle`.
"""
from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

#: Numeric input features of the reference model (penguin measurements).
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
#: Categorical input features of the reference model.
CATEGORICAL = ["island", "sex"]
#: What the reference model predicts.
TARGET = "species"
#: Keys ``metadata.json`` must hold.
REQUIRED_METADATA = ("model_version", "features", "model_sha256", "libraries",
                     "training_data_sha256", "metrics", "created")

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
#: Libraries whose version is recorded in a bundle; the first two must match on load.
TRACKED_LIBRARIES = ("scikit-learn", "numpy", "skops", "pandas")
MUST_MATCH = ("scikit-learn", "numpy")

_RAW_COLUMNS = {
    "Culmen Length (mm)": "bill_length_mm",
    "Culmen Depth (mm)": "bill_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Island": "island",
    "Sex": "sex",
    "Species": "species",
}


class BundleError(ValueError):
    """A model bundle is missing, tampered with, or does not match this environment."""


def penguins_frame() -> pd.DataFrame:
    """Return the penguins table with the reference model's columns, complete rows only.

    Returns
    -------
    frame : pandas.DataFrame
        Columns :data:`NUMERIC`, :data:`CATEGORICAL` and ``species`` (``"Adelie"``,
        ``"Chinstrap"``, ``"Gentoo"``); ``sex`` is ``"female"`` or ``"male"``.
        333 rows: those with a missing measurement or an unrecorded sex are dropped.
    """
    from lifecycle.datasets import load_dataset

    raw = load_dataset("penguins_raw.csv")
    frame = raw[list(_RAW_COLUMNS)].rename(columns=_RAW_COLUMNS)
    frame["species"] = frame["species"].str.split().str[0]
    frame["sex"] = frame["sex"].str.lower()
    frame = frame[frame["sex"].isin(["female", "male"])].dropna()
    return frame.reset_index(drop=True)


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


def sha256_bytes(data: bytes) -> str:
    """Return the hexadecimal SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    """Return the versions of Python and the libraries a bundle depends on."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover - always installed
            versions[name] = "missing"
    return versions


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
    """Train the lesson's reference model: species from measurements, island and sex.

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
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = penguins_frame()
    X, y = frame[NUMERIC + CATEGORICAL], frame[TARGET]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed)
    model = Pipeline([
        ("prepare", ColumnTransformer([
            ("scale", StandardScaler(), NUMERIC),
            ("onehot", OneHotEncoder(handle_unknown="error"), CATEGORICAL),
        ])),
        ("classify", LogisticRegression(max_iter=1000)),
    ]).fit(X_train, y_train)
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
    import skops.io as sio

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
        Missing files, a failed :func:`verify_bundle`, types that ``skops``
        does not trust, or a model whose input columns differ from the schema.
    """
    import skops.io as sio

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
    untrusted = sio.get_untrusted_types(data=model_bytes)
    if untrusted:
        raise BundleError(f"{model_file} contains types skops does not trust: {untrusted}. "
                          "Refusing to load them.")
    model = sio.loads(model_bytes)
    names = [f["name"] for f in metadata["features"]]
    fitted = [str(c) for c in getattr(model, "feature_names_in_", names)]
    if fitted != names:
        raise BundleError(f"the model was fitted on columns {fitted} but the metadata's schema "
                          f"lists {names}; the two files do not belong together.")
    return {"model": model, "metadata": metadata}


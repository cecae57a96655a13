"""Model versioning and safe rollout: the lesson ``08_versioning``'s plumbing.

The notebook keeps the ideas (a version derived from what made the model, a
registry, a fair comparison, shadow and canary traffic, a rollback rule, a
model card); this module keeps what they are measured with:

* :func:`penguins_split` and :func:`train_penguins`, lesson 05's data and
  lesson 01's pipeline with the classifier's parameters passed in, and
  :func:`training_code`, the source text that trains a version;
* :func:`frame_sha256` and :func:`text_sha256`, the hashes of a version's
  training data and code;
* :func:`accuracy_interval`, a test-set accuracy with its bootstrap interval;
* :func:`scratch_dir` and :func:`mlflow_client`, an MLflow tracking store and
  model registry in a throw-away folder (SQLite, no server), and
  :func:`describe_registry`, what it holds about a model, as plain data;
* :func:`rollout_app`, :func:`send_traffic` and :func:`read_prediction_log`:
  lesson 05's service with a candidate, traffic sent through it, and its
  prediction log read back;
* the plots: :func:`plot_versions` and :func:`plot_canary`.

Every function checks its arguments first, and a wrong call says what to pass.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle import arguments as check
from lifecycle import mlflow_store
from lifecycle.plotting import COLORS, new_axes

__all__ = [
    "accuracy_interval",
    "describe_registry",
    "frame_sha256",
    "mlflow_client",
    "penguins_split",
    "plot_canary",
    "plot_versions",
    "read_prediction_log",
    "rollout_app",
    "scratch_dir",
    "send_traffic",
    "text_sha256",
    "train_penguins",
    "training_code",
]

#: Columns :func:`read_prediction_log` returns, in order.
LOG_COLUMNS = ("time", "request_id", "instance", "model_version", "prediction", "served",
               "latency_ms")


def penguins_split(seed: int = 0):
    """Return lesson 05's penguins split: ``X_train, X_test, y_train, y_test``.

    The rows of :func:`lifecycle.deploy.penguins_frame`, split 75/25 stratified
    on the species with ``seed``, exactly as ``python -m lifecycle.deploy
    train`` splits them.

    Parameters
    ----------
    seed : int, default=0
        Seed of :func:`sklearn.model_selection.train_test_split`.
    """
    from sklearn.model_selection import train_test_split

    from lifecycle.deploy.bundle import CATEGORICAL, NUMERIC, TARGET, penguins_frame

    seed = check.integer(seed, "seed", minimum=0)
    frame = penguins_frame()
    return train_test_split(frame[NUMERIC + CATEGORICAL], frame[TARGET], test_size=0.25,
                            stratify=frame[TARGET], random_state=seed)


def train_penguins(X, y, params: Mapping):
    """Fit lesson 01's penguins pipeline with ``LogisticRegression(**params)``.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows with the columns of :func:`penguins_split`.
    y : array-like
        Species.
    params : dict
        Keyword arguments of :class:`~sklearn.linear_model.LogisticRegression`,
        e.g. ``{"C": 1.0, "max_iter": 1000}``.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        Fitted; deterministic for given inputs (the solver is).
    """
    from sklearn.linear_model import LogisticRegression

    from lifecycle.preprocessing import penguins_pipeline

    X = check.frame(X, "X", source="the rows of penguins_split")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of LogisticRegression arguments, "
                        f"e.g. {{'C': 1.0}}; got {type(params).__name__}.")
    return penguins_pipeline(LogisticRegression(**params)).fit(X, y)


def training_code() -> str:
    """Return the source text of :func:`train_penguins`: the code a version's hash covers."""
    return inspect.getsource(train_penguins)


def frame_sha256(X, y=None) -> str:
    """Hash training data: SHA-256 of the rows as CSV, in their order, with ``y`` appended.

    Parameters
    ----------
    X : pandas.DataFrame
        The inputs.
    y : array-like, optional
        The labels, appended as a last column ``"__target__"``.

    Returns
    -------
    sha256 : str
        64 hexadecimal digits; another row order, value, column or label gives another.
    """
    X = check.frame(X, "X")
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"y must have one label per row of X: X has {len(X)} rows, "
                             f"y has {len(y)}.")
        X = X.assign(__target__=y)
    return hashlib.sha256(X.to_csv(index=False).encode("utf-8")).hexdigest()


def text_sha256(text: str) -> str:
    """Return the SHA-256 of a text encoded as UTF-8 (64 hexadecimal digits)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (source code, a file's text); "
                        f"got {type(text).__name__}.")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def accuracy_interval(y_true, y_pred, *, n_boot: int = 1000, seed: int = 0,
                      level: float = 0.95) -> dict:
    """Accuracy on a test set with a percentile bootstrap interval (lesson 03).

    Returns
    -------
    metric : dict
        ``{"estimate": float, "low": float, "high": float}``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    check.same_length(("y_true", y_true), ("y_pred", y_pred))
    n_boot = check.integer(n_boot, "n_boot", minimum=1)
    level = check.real(level, "level", minimum=0, maximum=1, include_boundaries="neither")
    correct = (y_true == y_pred).astype(float)
    rng = np.random.default_rng(check.integer(seed, "seed", minimum=0))
    stats = correct[rng.integers(0, len(correct), size=(n_boot, len(correct)))].mean(axis=1)
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": float(correct.mean()), "low": float(low), "high": float(high)}


def scratch_dir(prefix: str = "lifecycle-08-") -> Path:
    """Make a throw-away folder for the lesson's registry and logs, outside the repository.

    In memory (``/dev/shm``) where the machine has it: SQLite's writes are
    then not synced to disk, which makes creating MLflow's tables seconds faster.
    """
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def mlflow_client(root, experiment: str = "penguins"):
    """An MLflow client on a local SQLite store in ``root``, and an experiment id.

    Tracking and model registry share ``root/mlflow.db``; artefacts go to
    ``root/artifacts``. No server runs, nothing is downloaded, and MLflow's
    telemetry is off (``MLFLOW_DISABLE_TELEMETRY``, unless already set).

    Parameters
    ----------
    root : str or path-like
        A folder (see :func:`scratch_dir`), created if missing.
    experiment : str, default="penguins"
        Experiment name, created if missing.

    Returns
    -------
    client, experiment_id : mlflow.MlflowClient, str
    """
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder's path (a str, e.g. from scratch_dir()); "
                        f"got {type(root).__name__}.")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in ("mlflow", "alembic"):  # table creation is chatty on stderr
        logging.getLogger(name).setLevel(logging.WARNING)
    # MLflow sends usage data to its makers from its first client on, unless told not to;
    # the lesson promises that nothing leaves the machine.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    db = root / "mlflow.db"
    if not db.exists():
        mlflow_store.new_store(db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return client, found.experiment_id
    return client, client.create_experiment(experiment,
                                            artifact_location=(root / "artifacts").as_uri())


def describe_registry(root, name: str) -> dict:
    """What an MLflow store holds about one registered model, as plain data.

    Parameters
    ----------
    root : str or path-like
        The store's folder (:func:`mlflow_client`).
    name : str
        A registered model's name.

    Returns
    -------
    registry : dict
        ``{"aliases": {alias: version}, "versions": [{"version", "run_id",
        "source", "run_status", "experiment_id", "artifacts"}, ...]}``, versions
        in increasing order, ``artifacts`` the sorted paths of every file the
        version's run logged.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a registered model's name (a str); got {type(name).__name__}.")
    client, _ = mlflow_client(root)

    def files(run_id, path=None):
        for info in client.list_artifacts(run_id, path):
            yield from files(run_id, info.path) if info.is_dir else [info.path]

    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    rows = []
    for v in versions:
        run = client.get_run(v.run_id)
        rows.append({"version": str(v.version), "run_id": v.run_id, "source": v.source,
                     "run_status": run.info.status, "experiment_id": run.info.experiment_id,
                     "artifacts": sorted(files(v.run_id)),
                     "artifact_uri": run.info.artifact_uri})
    aliases = client.get_registered_model(name).aliases if versions else {}
    return {"aliases": {k: str(v) for k, v in aliases.items()}, "versions": rows}


def rollout_app(current: Mapping, candidate: Mapping | None = None, *, canary: float = 0.0,
                log_path=None):
    """Lesson 05's service serving ``current``, with a ``candidate`` in shadow or canary.

    Parameters
    ----------
    current, candidate : dict
        Bundles (``{"model": ..., "metadata": ...}``); ``candidate`` optional.
    canary : float, default=0.0
        The candidate's share of the answers, in [0, 1]; 0 is shadow traffic.
    log_path : str or path-like, optional
        The prediction log (JSON lines).

    Returns
    -------
    app : flask.Flask
        :func:`lifecycle.deploy.create_app`, the same application gunicorn
        runs under ``serve --candidate PATH --canary SHARE``.
    """
    from lifecycle.deploy import create_app

    for name, bundle in (("current", current), ("candidate", candidate)):
        if bundle is not None and not (isinstance(bundle, Mapping) and "model" in bundle
                                       and "metadata" in bundle):
            raise TypeError(f"{name} must be a bundle dict with 'model' and 'metadata' "
                            f"(lifecycle.deploy.build_bundle); got {type(bundle).__name__}.")
    if current is None:
        raise TypeError("current must be a bundle dict; got None.")
    canary = check.real(canary, "canary", minimum=0, maximum=1)
    if canary and candidate is None:
        raise ValueError("a canary share needs a candidate bundle.")
    return create_app(current, log_path=log_path, candidate=candidate, canary=canary)


def send_traffic(app, rows, *, batch_size: int = 1) -> list[str]:
    """POST rows to ``/predict`` of an application, in order; return who answered each request.

    Parameters
    ----------
    app : flask.Flask
        From :func:`rollout_app`.
    rows : pandas.DataFrame or list of dict
        Instances; missing values are sent as JSON ``null``.
    batch_size : int, default=1
        Instances per request.

    Returns
    -------
    versions : list of str
        The ``model_version`` of each response.

    Raises
    ------
    RuntimeError
        If a request is not answered with 200 (the message is the service's).
    """
    if isinstance(rows, pd.DataFrame):
        rows = json.loads(rows.to_json(orient="records"))
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise TypeError("rows must be a DataFrame or a list of dicts {feature: value}; "
                        f"got {type(rows).__name__}.")
    batch_size = check.integer(batch_size, "batch_size", minimum=1)
    client, answered = app.test_client(), []
    for start in range(0, len(rows), batch_size):
        response = client.post("/predict", json={"instances": rows[start:start + batch_size]})
        if response.status_code != 200:
            raise RuntimeError(f"the service answered {response.status_code}: "
                               f"{response.get_json()}")
        answered.append(response.get_json()["model_version"])
    return answered


def read_prediction_log(path) -> pd.DataFrame:
    """Read the service's prediction log into a table, one row per logged prediction.

    Parameters
    ----------
    path : str or path-like
        The JSON-lines log the service appended to.

    Returns
    -------
    log : pandas.DataFrame
        Columns :data:`LOG_COLUMNS`, in the file's order (``time`` as UTC
        timestamps; ``served`` is True for the lines of a service without a
        candidate).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no prediction log at {str(path)!r}; pass the log_path the service "
                         "was given.")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    log = pd.DataFrame(lines, columns=[c for c in LOG_COLUMNS])
    # A service without a candidate writes no "served": each of its lines was served.
    log["served"] = [True if v is None or v != v else bool(v) for v in log["served"]]
    log["time"] = pd.to_datetime(log["time"], utc=True)
    return log


def plot_versions(table: pd.DataFrame, *, metric: str = "accuracy", ax=None):
    """Plot a metric per version with its interval.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by version, with columns ``estimate``, ``low`` and ``high``.
    metric : str
        The metric's name, for the axis label.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    table = check.frame(table, "table", columns=("estimate", "low", "high"))
    if (table["low"] > table["estimate"]).any() or (table["estimate"] > table["high"]).any():
        raise ValueError("every row needs low <= estimate <= high.")
    ax = new_axes(f"Test {metric} per version (95% interval)", "version", metric, ax=ax)
    x = np.arange(len(table))
    ax.errorbar(x, table["estimate"], yerr=[table["estimate"] - table["low"],
                                            table["high"] - table["estimate"]],
                fmt="o", capsize=4, color=COLORS[0])
    ax.set_xticks(x, [str(v) for v in table.index], rotation=15)
    return ax


def plot_canary(timeline: pd.DataFrame, *, rollback_at: int | None = None,
                threshold: float | None = None, label: str = "candidate vs current",
                color=None, ax=None):
    """Plot the candidate's disagreement with the current version, window by window.

    Parameters
    ----------
    timeline : pandas.DataFrame
        One row per window, in order, with a ``disagreement`` column (a share).
    rollback_at : int, optional
        Position of the window after which the rollback happened: marked.
    threshold : float, optional
        The rule's threshold, drawn as a line.
    label : str, default="candidate vs current"
        The line's name in the legend: several candidates can share one axes.
    color : matplotlib color, optional
        The line's colour (default: the course's first).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    timeline = check.frame(timeline, "timeline", columns=("disagreement",),
                           source="disagreement_timeline(...)")
    if not isinstance(label, str):
        raise TypeError(f"label must be a str (the legend's name of the line); got {type(label).__name__}.")
    ax = new_axes("Canary: disagreement with the current version", "window",
                  "share of predictions that differ", ax=ax)
    ax.autoscale(enable=True, axis="y")  # a line added to these axes extends them
    ax.plot(np.arange(len(timeline)), timeline["disagreement"], marker="o",
            color=COLORS[0] if color is None else color, label=label)
    if threshold is not None:
        ax.axhline(check.real(threshold, "threshold"), color=COLORS[1], linestyle="--",
                   label=f"threshold {threshold:.0%}")
    if rollback_at is not None:
        rollback_at = check.integer(rollback_at, "rollback_at", minimum=0,
                                    maximum=max(len(timeline) - 1, 0))
        ax.axvline(rollback_at, color=COLORS[3], label=f"rolled back after window {rollback_at}")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return ax


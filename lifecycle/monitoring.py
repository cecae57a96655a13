"""Monitoring a deployed model: prediction logs, a drifting stream, drift statistics, alerts.

Lesson 06 watches a classifier in production. This module holds what the
notebook should not carry:

* reading the prediction log that lesson 05's service writes (JSON lines, one
  line per predicted instance; the format is in ``docs/authoring.md``) and the
  label file that arrives later (:func:`read_prediction_log`,
  :func:`read_labels`, :func:`write_prediction_log`, :func:`write_labels`);
* a realistic production stream built from a real data set, the Capital
  Bikeshare hourly counts of 2011 (:func:`simulate_stream`), with documented
  stable, gradually drifting and suddenly shifted periods and delayed labels;
* reference drift statistics (:func:`psi`, :func:`ks_statistic`,
  :func:`chi_square_drift`), and both numeric ones over many columns of a
  large log at once (:func:`drift_columns`, :func:`psi_columns`, :func:`ks_columns`);
* a persistent alert rule (:func:`persistent_alerts`) and a dashboard figure
  (:func:`plot_dashboard`).

The stream
----------
The model predicts whether an hour is *busy* (at least :data:`BUSY_THRESHOLD`
bikes rented) from the hour, working day, weather, temperature, humidity and
wind. It is trained on a random half of the 2011 hours (the *reference*
data); production requests are drawn, with a fixed seed, from the other half:

===========  ==========  ====================================================
days         period      what happens
===========  ==========  ====================================================
0 - 29       stable      requests sampled uniformly: same distribution as
                         the training data
30 - 59      gradual     covariate drift: warm hours are over-sampled with a
                         weight :math:`\\exp(\\beta_t z_{temp})`, :math:`\\beta_t`
                         rising linearly from 0 to 1.5; the rule linking
                         inputs to label does not change
60 - 89      shift       sudden upstream change on day 60: a new sensor feed
                         sends ``temp`` in degrees Celsius (41 x the
                         normalised value) instead of the normalised value
===========  ==========  ====================================================

Labels (was the hour busy?) are counted later: each arrives 1 to 5 days
after its prediction (uniform, in whole hours), and 10 % never arrive.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle.datasets import load_dataset
from lifecycle.deploy.prediction_log import LOG_FIELDS  # one definition for writer and reader

__all__ = [
    "BUSY_THRESHOLD", "CATEGORICAL", "FEATURES", "NUMERIC", "PERIODS", "PSI_EPS",
    "chi_square_drift", "drift_columns", "join_labels", "ks_columns", "ks_statistic", "load_bikeshare",
    "make_model", "persistent_alerts", "plot_dashboard", "plot_over_time", "psi", "psi_columns",
    "read_labels", "read_prediction_log", "simulate_stream", "write_labels",
    "write_prediction_log",
]

#: An hour is "busy" when at least this many bikes were rented.
BUSY_THRESHOLD = 150
#: Numeric inputs of the model.
NUMERIC = ["temp", "hum", "windspeed"]
#: Categorical inputs of the model.
CATEGORICAL = ["hr", "workingday", "weathersit"]
#: All inputs, in the order the model expects them.
FEATURES = CATEGORICAL + NUMERIC
#: Day ranges (start inclusive, end exclusive) of the simulated stream.
PERIODS = {"stable": (0, 30), "gradual": (30, 60), "shift": (60, 90)}
#: Proportions below this are raised to it before the PSI's logarithm.
PSI_EPS = 1e-4
MODEL_VERSION = "bikes-busy-1.0.0"


# --------------------------------------------------------------------------- data and model

def load_bikeshare() -> pd.DataFrame:
    """Load the 2011 hourly bike rentals with a ``busy`` label and a time stamp.

    Returns
    -------
    frame : pandas.DataFrame
        The columns of ``bikeshare_2011.csv`` plus ``time`` (UTC time stamp of
        the hour, 2011) and ``busy`` (1 if ``bikers >= BUSY_THRESHOLD``).
    """
    frame = load_dataset("bikeshare_2011.csv")
    frame["time"] = (pd.Timestamp("2011-01-01", tz="UTC")
                     + pd.to_timedelta(frame["day"] - 1, unit="D")
                     + pd.to_timedelta(frame["hr"], unit="h"))
    frame["busy"] = (frame["bikers"] >= BUSY_THRESHOLD).astype(int)
    return frame


def make_model(C: float = 1.0):
    """Return the (unfitted) busy-hour classifier: one-hot categories, scaled numbers, logistic.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength of the logistic regression.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        Expects a DataFrame with the columns :data:`FEATURES`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ("num", StandardScaler(), NUMERIC),
    ])
    return make_pipeline(prep, LogisticRegression(C=C, max_iter=1000))


def simulate_stream(seed: int = 0, *, days: int = 90, per_day: int = 100,
                    start: str = "2026-01-05") -> dict:
    """Build the lesson's production stream (see the module docstring for its periods).

    Parameters
    ----------
    seed : int, default=0
        Seed of every random choice: the same seed gives the same stream.
    days : int, default=90
        Length of the stream; the periods of :data:`PERIODS` are cut to it.
    per_day : int, default=100
        Prediction requests per day.
    start : str, default="2026-01-05"
        Date (UTC) of day 0.

    Returns
    -------
    stream : dict
        ``model`` (the deployed pipeline, fitted on the reference data),
        ``reference`` (DataFrame: the training inputs and ``busy``),
        ``log`` (DataFrame in the layout :func:`read_prediction_log` returns,
        sorted by time), ``labels`` (DataFrame in the layout of
        :func:`read_labels`), ``truth`` (Series: the label of every logged
        instance, by ``request_id``, including those never delivered) and
        ``start`` (Timestamp of day 0).
    """
    rng = np.random.default_rng(seed)
    data = load_bikeshare()
    in_reference = rng.permutation(len(data)) < len(data) // 2
    reference = data.loc[in_reference, FEATURES + ["busy"]].reset_index(drop=True)
    pool = data.loc[~in_reference].reset_index(drop=True)
    model = make_model().fit(reference[FEATURES], reference["busy"])

    z_temp = ((pool["temp"] - reference["temp"].mean()) / reference["temp"].std()).to_numpy()
    day0 = pd.Timestamp(start, tz="UTC")
    g0, g1 = PERIODS["gradual"]
    parts = []
    for day in range(days):
        beta = 0.0 if day < g0 else 1.5 * min(1.0, (day - g0 + 1) / (g1 - g0))
        weights = np.exp(beta * z_temp)
        rows = rng.choice(len(pool), size=per_day, p=weights / weights.sum())
        part = pool.iloc[rows][FEATURES + ["busy"]].copy()
        if day >= PERIODS["shift"][0]:
            part["temp"] = np.round(part["temp"] * 41.0, 2)
        seconds = np.sort(rng.uniform(0, 86400, size=per_day))
        part["time"] = day0 + pd.Timedelta(days=day) + pd.to_timedelta(seconds, unit="s")
        parts.append(part)
    stream = pd.concat(parts, ignore_index=True)

    proba = model.predict_proba(stream[FEATURES])
    log = pd.DataFrame({
        "time": stream["time"].dt.floor("us"),
        "request_id": [rng.bytes(16).hex() for _ in range(len(stream))],
        "instance": 0,
        "model_version": MODEL_VERSION,
    })
    for name in FEATURES:
        log[name] = stream[name].to_numpy()
    log["prediction"] = model.classes_[proba.argmax(axis=1)]
    for k, label in enumerate(model.classes_):
        log[f"proba_{label}"] = proba[:, k]
    log["latency_ms"] = np.round(rng.gamma(4.0, 0.6, len(stream)), 3)

    delay = pd.to_timedelta(rng.integers(24, 5 * 24 + 1, len(stream)), unit="h")
    arrived = rng.uniform(size=len(stream)) >= 0.10
    labels = pd.DataFrame({
        "request_id": log["request_id"], "instance": 0,
        "time": log["time"] + delay, "label": stream["busy"].to_numpy(),
    })[arrived].sort_values("time", kind="stable").reset_index(drop=True)
    truth = pd.Series(stream["busy"].to_numpy(), index=log["request_id"], name="label")
    return {"model": model, "reference": reference, "log": log, "labels": labels,
            "truth": truth, "start": day0}


# --------------------------------------------------------------------------- log files

def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_prediction_log(log: pd.DataFrame, path, features=FEATURES) -> Path:
    """Write a flat log (as :func:`read_prediction_log` returns it) as JSON lines.

    Parameters
    ----------
    log : pandas.DataFrame
        Columns ``time``, ``request_id``, ``instance``, ``model_version``, the
        input columns ``features``, ``prediction``, ``proba_<class>`` columns
        (none for a regressor) and ``latency_ms``.
    path : str or path-like
        File to write (UTF-8, one JSON object per line).
    features : list of str
        The input columns, written under ``inputs``.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    proba_cols = [c for c in log.columns if c.startswith("proba_")]
    records = log.to_dict("records")
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            line = {
                "time": _iso(r["time"]), "request_id": r["request_id"],
                "instance": int(r["instance"]), "model_version": r["model_version"],
                "inputs": {k: _plain(r[k]) for k in features},
                "prediction": _plain(r["prediction"]),
                "probabilities": ({c[len("proba_"):]: float(r[c]) for c in proba_cols}
                                  if proba_cols else None),
                "latency_ms": float(r["latency_ms"]),
            }
            f.write(json.dumps(line) + "\n")
    return path


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def read_prediction_log(path) -> pd.DataFrame:
    """Read a prediction log (JSON lines, format in ``docs/authoring.md``) into a flat table.

    Parameters
    ----------
    path : str or path-like
        The log file written by the deployment service (lesson 05).

    Returns
    -------
    log : pandas.DataFrame
        One row per predicted instance, sorted by ``time`` (stable): ``time``
        (datetime64, UTC), ``request_id``, ``instance``, ``model_version``, one
        column per input (the keys of ``inputs``), ``prediction``, one
        ``proba_<class>`` column per class (absent for a regressor) and
        ``latency_ms``.

    Raises
    ------
    ValueError
        If a line is not JSON or lacks one of the log's fields; the message
        gives the line number.
    """
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: not JSON ({error})") from None
            missing = [k for k in LOG_FIELDS if k not in record]
            if missing:
                raise ValueError(f"{path}, line {number}: missing field(s) {missing}")
            row = {k: record[k] for k in ("time", "request_id", "instance", "model_version")}
            for key, value in record["inputs"].items():
                if key in LOG_FIELDS:
                    raise ValueError(f"{path}, line {number}: input name {key!r} clashes "
                                     "with a log field")
                row[key] = value
            row["prediction"] = record["prediction"]
            for label, p in (record["probabilities"] or {}).items():
                row[f"proba_{label}"] = p
            row["latency_ms"] = record["latency_ms"]
            rows.append(row)
    log = pd.DataFrame(rows)
    if log.empty:
        return log
    log["time"] = pd.to_datetime(log["time"], utc=True, format="ISO8601")
    return log.sort_values("time", kind="stable").reset_index(drop=True)


def write_labels(labels: pd.DataFrame, path) -> Path:
    """Write delayed labels as JSON lines of ``{"request_id", "instance", "time", "label"}``.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    with open(path, "w", encoding="utf-8") as f:
        for r in labels.to_dict("records"):
            f.write(json.dumps({"request_id": r["request_id"], "instance": int(r["instance"]),
                                "time": _iso(r["time"]), "label": _plain(r["label"])}) + "\n")
    return path


def read_labels(path) -> pd.DataFrame:
    """Read a label file (JSON lines of ``request_id``, ``instance``, ``time``, ``label``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    labels : pandas.DataFrame
        Columns ``request_id``, ``instance``, ``time`` (datetime64, UTC: when
        the label arrived) and ``label``, sorted by ``time``.
    """
    labels = pd.read_json(path, lines=True, dtype={"request_id": str, "instance": int},
                          convert_dates=False)
    if labels.empty:
        return pd.DataFrame(columns=["request_id", "instance", "time", "label"])
    labels["time"] = pd.to_datetime(labels["time"], utc=True, format="ISO8601")
    return labels.sort_values("time", kind="stable").reset_index(drop=True)


def join_labels(log: pd.DataFrame, labels: pd.DataFrame, now=None) -> pd.DataFrame:
    """Attach to each logged prediction its label, if it had arrived by ``now``.

    Parameters
    ----------
    log, labels : pandas.DataFrame
        As returned by :func:`read_prediction_log` and :func:`read_labels`.
    now : timestamp-like, optional
        Only labels with ``time <= now`` are known; all when omitted.

    Returns
    -------
    log : pandas.DataFrame
        A copy of ``log`` with ``label`` (NaN where unknown) and
        ``label_time`` columns.
    """
    known = labels if now is None else labels[labels["time"] <= pd.Timestamp(now)]
    known = known.rename(columns={"time": "label_time"})
    out = log.merge(known, on=["request_id", "instance"], how="left", validate="one_to_one")
    return out


# --------------------------------------------------------------------------- drift statistics

def _psi_from_edges(reference, current, inner_edges, eps):
    p = np.bincount(np.searchsorted(inner_edges, reference, side="right"),
                    minlength=len(inner_edges) + 1) / len(reference)
    q = np.bincount(np.searchsorted(inner_edges, current, side="right"),
                    minlength=len(inner_edges) + 1) / len(current)
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def psi(reference, current, bins: int = 10, eps: float = PSI_EPS) -> float:
    """Population stability index of ``current`` against ``reference``.

    .. math:: \\mathrm{PSI} = \\sum_i (q_i - p_i) \\ln \\frac{q_i}{p_i}

    with :math:`p_i, q_i` the reference and current proportions in bin
    :math:`i`. Bin edges are the reference's quantiles at ``1/bins, ...,
    (bins-1)/bins`` (duplicates dropped), the outer bins are open, a value
    ``v`` is in bin ``i`` when ``edges[i-1] <= v < edges[i]``, and
    proportions below ``eps`` are raised to ``eps``.

    Parameters
    ----------
    reference, current : array-like of float
    bins : int, default=10
    eps : float, default=:data:`PSI_EPS`

    Returns
    -------
    psi : float
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    return _psi_from_edges(reference, current, edges, eps)


def ks_statistic(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic :math:`\\sup_x |F_a(x) - F_b(x)|`.

    Returns
    -------
    d : float
        Equal to ``scipy.stats.ks_2samp(a, b).statistic``.
    """
    a = np.sort(np.asarray(a, dtype=float))
    b = np.sort(np.asarray(b, dtype=float))
    pooled = np.concatenate([a, b])
    fa = np.searchsorted(a, pooled, side="right") / len(a)
    fb = np.searchsorted(b, pooled, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def chi_square_drift(reference, current) -> tuple[float, float]:
    """Chi-square test of homogeneity of a categorical feature, reference vs current.

    The 2 x K table counts each category (the union of both samples) in each
    sample; expected counts come from the pooled proportions; no continuity
    correction. Equal to ``scipy.stats.chi2_contingency(table, correction=False)``.

    Returns
    -------
    statistic, p_value : float
    """
    from scipy.stats import chi2

    reference = np.asarray(reference).astype(str)
    current = np.asarray(current).astype(str)
    cats = np.union1d(reference, current)
    table = np.array([[np.sum(reference == c) for c in cats],
                      [np.sum(current == c) for c in cats]], dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    dof = len(cats) - 1
    return stat, float(chi2.sf(stat, dof)) if dof > 0 else 1.0


def _quantiles_sorted(x: np.ndarray, qs: np.ndarray) -> np.ndarray:
    # numpy's default ("linear") quantile, read off an already sorted column
    pos = qs * (len(x) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(x) - 1)
    return x[lo] + (x[hi] - x[lo]) * (pos - lo)


def _cdf_at_own_points(x: np.ndarray) -> np.ndarray:
    # F_x(x_i) = #{x_j <= x_i} / n for a sorted column, ties included, in O(n)
    change = np.flatnonzero(np.r_[x[1:] != x[:-1], True])
    run = np.r_[0, np.cumsum(x[1:] != x[:-1])]
    return (change[run] + 1) / len(x)


def drift_columns(reference: np.ndarray, current: np.ndarray, bins: int = 10,
                  eps: float = PSI_EPS) -> tuple[np.ndarray, np.ndarray]:
    """PSI and KS statistic of every column, sharing one sort per column and sample.

    Same definitions as :func:`psi` and :func:`ks_statistic`. Once both
    columns are sorted, the PSI's quantile edges are read off directly and its
    bin counts are ``searchsorted`` positions of the edges (no pass over the
    data); the KS statistic needs one ``searchsorted`` of each sample into the
    other.

    Parameters
    ----------
    reference : ndarray of shape (n_ref, d)
    current : ndarray of shape (n_cur, d)
    bins : int, default=10
    eps : float, default=:data:`PSI_EPS`

    Returns
    -------
    psi, ks : ndarray of shape (d,)
    """
    a_all = np.sort(np.asarray(reference, dtype=float), axis=0)
    b_all = np.sort(np.asarray(current, dtype=float), axis=0)
    qs = np.arange(1, bins) / bins
    psi_out = np.empty(a_all.shape[1])
    ks_out = np.empty(a_all.shape[1])
    for j in range(a_all.shape[1]):
        a, b = np.ascontiguousarray(a_all[:, j]), np.ascontiguousarray(b_all[:, j])
        edges = np.unique(_quantiles_sorted(a, qs))
        cut_a = np.concatenate([[0], np.searchsorted(a, edges, side="left"), [len(a)]])
        cut_b = np.concatenate([[0], np.searchsorted(b, edges, side="left"), [len(b)]])
        p = np.maximum(np.diff(cut_a) / len(a), eps)
        q = np.maximum(np.diff(cut_b) / len(b), eps)
        psi_out[j] = np.sum((q - p) * np.log(q / p))
        # F_a - F_b only changes at sample points: evaluate at both samples' values
        gap_at_a = _cdf_at_own_points(a) - np.searchsorted(b, a, side="right") / len(b)
        gap_at_b = np.searchsorted(a, b, side="right") / len(a) - _cdf_at_own_points(b)
        ks_out[j] = max(np.max(np.abs(gap_at_a)), np.max(np.abs(gap_at_b)))
    return psi_out, ks_out


def psi_columns(reference: np.ndarray, current: np.ndarray, bins: int = 10,
                eps: float = PSI_EPS) -> np.ndarray:
    """PSI of every column of ``current`` against the same column of ``reference``.

    Returns
    -------
    psi : ndarray of shape (d,)
        As :func:`psi` column by column; computed by :func:`drift_columns`.
    """
    return drift_columns(reference, current, bins, eps)[0]


def ks_columns(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """KS statistic of every column of ``current`` against the same column of ``reference``.

    Returns
    -------
    d : ndarray of shape (d,)
        As :func:`ks_statistic` column by column; computed by :func:`drift_columns`.
    """
    return drift_columns(reference, current)[1]


# --------------------------------------------------------------------------- alerts and plots

def persistent_alerts(scores, threshold: float, k: int) -> np.ndarray:
    """Alert at window ``t`` when the last ``k`` scores (``t-k+1 .. t``) all exceed ``threshold``.

    NaN scores never exceed the threshold.

    Returns
    -------
    alerts : ndarray of bool, same length as ``scores``
    """
    above = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf) > threshold
    run = np.zeros(len(above), dtype=int)
    for t, hit in enumerate(above):
        run[t] = (run[t - 1] + 1 if t else 1) if hit else 0
    return run >= k


def plot_over_time(x, series: dict, *, title: str, ylabel: str, xlabel: str = "day of the stream",
                   threshold=None, marks=None, ax=None):
    """Plot one or more series against time, with an optional threshold and marked events.

    Parameters
    ----------
    x : array-like
        Positions on the time axis (day numbers or time stamps).
    series : dict of str to array-like
        Label to values, one line each.
    title, ylabel, xlabel : str
        Every course plot says what it shows.
    threshold : float, optional
        Drawn as a dashed horizontal line.
    marks : dict of str to float, optional
        Label to x position, drawn as labelled vertical lines (e.g. the shift).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    from lifecycle.plotting import new_axes

    ax = new_axes(title, xlabel, ylabel, ax=ax, figsize=(7, 3.2))
    for label, values in series.items():
        ax.plot(x, np.asarray(values, dtype=float), label=label)
    if threshold is not None:
        ax.axhline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:g}")
    for label, pos in (marks or {}).items():
        ax.axvline(pos, color="grey", lw=1)
        ax.text(pos, ax.get_ylim()[1], f" {label}", va="top", fontsize=8)
    ax.legend(fontsize=8)
    return ax


def plot_dashboard(daily: pd.DataFrame, *, alerts=None, shift_day=None, gradual_day=None,
                   threshold=None):
    """Draw the monitoring dashboard: performance over time, drift scores, alert markers.

    Parameters
    ----------
    daily : pandas.DataFrame
        One row per day (index: day number), with any of the columns
        ``accuracy`` (true, from labels), ``estimated_accuracy`` (label-free),
        ``labelled_fraction`` and drift scores whose name starts ``psi_`` or ``ks_``.
    alerts : array-like of bool, optional
        Per day; marked with red triangles on both panels.
    shift_day, gradual_day : int, optional
        Drawn as vertical lines labelled "sudden shift" and "drift starts".
    threshold : float, optional
        Alert threshold on the drift scores, drawn as a dashed line.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from lifecycle.plotting import new_axes

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    new_axes("Model performance", "", "accuracy", ax=top)
    for col, style in (("accuracy", "-"), ("estimated_accuracy", "--")):
        if col in daily:
            top.plot(daily.index, daily[col], style, label=col.replace("_", " "))
    if "labelled_fraction" in daily:
        top.plot(daily.index, daily["labelled_fraction"], ":", color="grey",
                 label="labelled fraction")
    top.set_ylim(0, 1.05)
    new_axes("Drift scores", "day of the stream", "score", ax=bottom)
    for col in daily.columns:
        if col.startswith(("psi_", "ks_")):
            bottom.plot(daily.index, daily[col], label=col)
    if threshold is not None:
        bottom.axhline(threshold, color="black", ls="--", lw=1, label="alert threshold")
    bottom.set_yscale("symlog", linthresh=0.1)
    bottom.set_ylim(bottom=0)
    for ax in (top, bottom):
        for day, name in ((gradual_day, "drift starts"), (shift_day, "sudden shift")):
            if day is not None:
                ax.axvline(day, color="grey", lw=1)
                ax.text(day, ax.get_ylim()[1], f" {name}", va="top", fontsize=8)
        if alerts is not None:
            days = np.asarray(daily.index)[np.asarray(alerts, dtype=bool)]
            if len(days):
                ax.plot(days, np.full(len(days), ax.get_ylim()[0]), "^", color="#D55E00",
                        ms=7, clip_on=False, label="alert")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig

"""Monitoring a deployed model: prediction logs, a drifting stream, drift statistics, alerts.

Lesson 06 watches a classifier in production. This module holds what the
notebook should not carry:

* reading the prediction log that lesson 05's service writes (JSON lines, one
  line per predicted instance; the format is in ``docs/authoring.md``) and the
  label file that arrives later (:func:`read_prediction_log`,
  :func:`read_labels`, :func:`write_prediction_log`, :func:`write_labels`);
* a production stream built from a real data set, the Capital Bikeshare
  hourly counts of 2011 (:func:`simulate_stream`), with documented stable,
  covariate-drift, unit-bug and concept-drift periods and delayed labels;
* data-quality checks learned from the training data (:func:`input_ranges`);
* reference drift statistics (:func:`psi`, :func:`ks_statistic`,
  :func:`chi_square_drift`), and both numeric ones over many columns of a
  large log at once (:func:`drift_columns`, :func:`psi_columns`, :func:`ks_columns`);
* a multivariate drift score, the domain classifier (:func:`domain_classifier_auc`);
* a persistent alert rule (:func:`persistent_alerts`) and a dashboard figure
  (:func:`plot_dashboard`).

The stream
----------
The model predicts whether an hour is *busy* (at least :data:`BUSY_THRESHOLD`
bikes rented) from the hour, working day, weather, temperature, humidity and
wind. It is trained on a random half of the 2011 hours (the *reference*
data); production requests are drawn, with a fixed seed, from the other half.
The events of :data:`PERIODS` (days, start inclusive, end exclusive) overlap:

===========  ==========  ====================================================
days         event       what happens
===========  ==========  ====================================================
0 - 29       stable      requests sampled uniformly: same distribution as
                         the training data
30 - 89      covariate   warm hours are over-sampled with a weight
                         :math:`\\exp(\\beta_t z_{temp})`, :math:`\\beta_t`
                         rising linearly from 0 (day 29) to 1.5 (day 59), then
                         held; the rule linking inputs to label does not change
45 - 49      unit_bug    an upstream bug: the feed sends ``temp`` in degrees
                         Celsius (41 x the normalised value, rounded to 0.01);
                         repaired upstream from day 50 on
60 - 89      concept     simulated loss of demand (a competing scooter service
                         opens): every hour sees :data:`DEMAND_FACTOR` times
                         its 2011 count, so only hours with at least
                         ``BUSY_THRESHOLD / DEMAND_FACTOR`` rentals are busy:
                         the same inputs now mean another label
===========  ==========  ====================================================

The inputs and the 2011 counts are real; the schedule, the unit bug and the
growth factor are simulated. Labels (was the hour busy?) are counted later:
each arrives 1 to 5 days after its prediction (uniform, in whole hours), and
10 % never arrive.
"""
from __future__ import annotations

import json
import numbers
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array, check_scalar
from threadpoolctl import threadpool_limits

from lifecycle.datasets import load_dataset
from lifecycle.deploy.bundle import RANGE_MARGIN  # one rule for lesson 05's door and 06's checks
from lifecycle.deploy.prediction_log import LOG_FIELDS  # one definition for writer and reader

__all__ = [
    "BUSY_THRESHOLD", "CATEGORICAL", "DEMAND_FACTOR", "COVARIATE_RAMP", "FEATURES", "NUMERIC",
    "PERIODS", "PSI_EPS", "RANGE_MARGIN",
    "chi_square_drift", "domain_classifier_auc", "drift_columns", "input_ranges", "join_labels", "ks_columns", "ks_statistic", "load_bikeshare",
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
#: Day ranges (start inclusive, end exclusive) of the stream's events; they may overlap.
PERIODS = {"stable": (0, 30), "covariate": (30, 90), "unit_bug": (45, 50), "concept": (60, 90)}
#: Days over which the covariate drift's weight rises from 0 to its maximum.
COVARIATE_RAMP = (30, 60)
#: Concept-drift period: every hour sees this fraction of its 2011 count.
DEMAND_FACTOR = 0.6
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
    check_scalar(days, "days", int, min_val=1)
    check_scalar(per_day, "per_day", int, min_val=1)
    rng = np.random.default_rng(seed)
    data = load_bikeshare()
    in_reference = rng.permutation(len(data)) < len(data) // 2
    reference = data.loc[in_reference, FEATURES + ["busy"]].reset_index(drop=True)
    pool = data.loc[~in_reference].reset_index(drop=True)
    model = make_model().fit(reference[FEATURES], reference["busy"])

    z_temp = ((pool["temp"] - reference["temp"].mean()) / reference["temp"].std()).to_numpy()
    day0 = pd.Timestamp(start, tz="UTC")
    rows, seconds = [], []
    for day in range(days):  # the draws of each day in turn: one seed, one stream
        weights = np.exp(_covariate_beta(day) * z_temp)
        rows.append(rng.choice(len(pool), size=per_day, p=weights / weights.sum()))
        seconds.append(np.sort(rng.uniform(0, 86400, size=per_day)))
    stream = pool.iloc[np.concatenate(rows)][FEATURES + ["busy", "bikers"]].reset_index(drop=True)
    stream_day = np.repeat(np.arange(days), per_day)
    bug = _in_period_mask(stream_day, "unit_bug")
    stream.loc[bug, "temp"] = np.round(stream.loc[bug, "temp"] * 41.0, 2)
    concept = _in_period_mask(stream_day, "concept")
    stream.loc[concept, "busy"] = (stream.loc[concept, "bikers"] * DEMAND_FACTOR
                                   >= BUSY_THRESHOLD).astype(int)
    stream["time"] = (day0 + pd.to_timedelta(stream_day, unit="D")
                      + pd.to_timedelta(np.concatenate(seconds), unit="s"))

    proba = model.predict_proba(stream[FEATURES])
    log = pd.DataFrame({
        "time": stream["time"].dt.floor("us"),
        "request_id": _hex_ids(rng, len(stream)),
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


def _hex_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random 128-bit ids in hex: the same as ``n`` calls of ``rng.bytes(16)``, at once."""
    text = rng.bytes(16 * n).hex()
    return [text[32 * i:32 * (i + 1)] for i in range(n)]


def _in_period_mask(days: np.ndarray, name: str) -> np.ndarray:
    first, end = PERIODS[name]
    return (days >= first) & (days < end)


def _covariate_beta(day: int) -> float:
    first, end = COVARIATE_RAMP
    if day < first:
        return 0.0
    return 1.5 * min(1.0, (day - first + 1) / (end - first))


# --------------------------------------------------------------------------- log files

def _iso_column(times: pd.Series) -> list[str]:
    """Time stamps as ISO 8601 text in UTC with microseconds and a ``Z``, all at once.

    numpy formats the whole column in C; a ``strftime`` per row was most of the
    time of writing a log of thousands of lines.
    """
    utc = pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None)
    text = np.datetime_as_string(utc.to_numpy().astype("datetime64[us]"), unit="us")
    return [f"{t}Z" for t in text.tolist()]


def _plain_column(values: pd.Series) -> list:
    """A column as Python values: ``json`` writes no numpy scalars."""
    if values.dtype == object:
        return [_plain(v) for v in values.tolist()]
    return values.tolist()


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
    # Column by column into Python values, then one line per row: a dict per row
    # from DataFrame.to_dict boxes every value on its own.
    n = len(log)
    inputs = zip(*(_plain_column(log[k]) for k in features), strict=True) if features else [()] * n
    probas = (zip(*([float(v) for v in log[c].tolist()] for c in proba_cols), strict=True)
              if proba_cols else [None] * n)
    classes = [c[len("proba_"):] for c in proba_cols]
    columns = zip(_iso_column(log["time"]), log["request_id"].tolist(),
                  [int(v) for v in log["instance"].tolist()], log["model_version"].tolist(),
                  inputs, _plain_column(log["prediction"]), probas,
                  [float(v) for v in log["latency_ms"].tolist()], strict=True)
    with open(path, "w", encoding="utf-8") as f:
        for time, request_id, instance, version, values, prediction, proba, latency in columns:
            line = {
                "time": time, "request_id": request_id, "instance": instance,
                "model_version": version, "inputs": dict(zip(features, values, strict=True)),
                "prediction": prediction,
                "probabilities": None if proba is None else dict(zip(classes, proba, strict=True)),
                "latency_ms": latency,
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
    rows = zip(labels["request_id"].tolist(), [int(v) for v in labels["instance"].tolist()],
               _iso_column(labels["time"]), _plain_column(labels["label"]), strict=True)
    with open(path, "w", encoding="utf-8") as f:
        for request_id, instance, time, label in rows:
            f.write(json.dumps({"request_id": request_id, "instance": instance,
                                "time": time, "label": label}) + "\n")
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
    for frame, name, needed in ((log, "log", ("request_id", "instance", "time")),
                                (labels, "labels", ("request_id", "instance", "time", "label"))):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks the column(s) {missing}: read it with "
                             f"{'read_prediction_log' if name == 'log' else 'read_labels'}")
    known = labels if now is None else labels[labels["time"] <= pd.Timestamp(now)]
    known = known.rename(columns={"time": "label_time"})
    out = log.merge(known, on=["request_id", "instance"], how="left", validate="one_to_one")
    return out


# --------------------------------------------------------------------------- validation

def _sample(values, name: str) -> np.ndarray:
    """One numeric sample as a 1-D float array, refused with a clear message if unusable."""
    try:
        array = check_array(values, ensure_2d=False, dtype=float, ensure_min_samples=1,
                            input_name=name)
    except ValueError as error:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of finite numbers "
                         f"(drop missing values first): {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one feature); got shape {array.shape}: "
                         "use drift_columns for several columns")
    return array


def _table(values, name: str) -> np.ndarray:
    try:
        return check_array(values, dtype=float, ensure_min_samples=1, input_name=name)
    except ValueError as error:
        raise ValueError(f"{name} must be a non-empty 2-D array of finite numbers "
                         f"(rows x features): {error}") from None


def _categories(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=object)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of category labels; "
                         f"got shape {array.shape}")
    return array.astype(str)


# --------------------------------------------------------------------------- data quality

def input_ranges(reference: pd.DataFrame, columns=None, margin: float = RANGE_MARGIN) -> dict:
    """Plausible range of each numeric input, learned from the training data.

    The rule (the same one lesson 05's bundle records for the service): the
    observed ``[min, max]`` of the column, widened on both sides by ``margin``
    times its width ``max - min``. A value outside it is not drift to watch
    but a data-quality incident (a unit bug, a broken sensor) to stop at the
    door and repair upstream.

    Parameters
    ----------
    reference : pandas.DataFrame
        The training inputs.
    columns : list of str, optional
        Numeric columns to learn a range for; default :data:`NUMERIC`.
    margin : float, default=:data:`RANGE_MARGIN`
        Widening, as a fraction of the observed width; at least 0.

    Returns
    -------
    ranges : dict of str to (float, float)
        ``column -> (low, high)``, bounds included.

    Raises
    ------
    ValueError
        If a column is missing, not numeric, or has no finite value.
    """
    if not isinstance(reference, pd.DataFrame):
        raise ValueError(f"reference must be a pandas DataFrame of training inputs, "
                         f"got {type(reference).__name__}")
    check_scalar(margin, "margin", numbers.Real, min_val=0.0)
    columns = list(NUMERIC if columns is None else columns)
    missing = [c for c in columns if c not in reference.columns]
    if missing:
        raise ValueError(f"reference has no column(s) {missing}; it has {list(reference.columns)}")
    ranges = {}
    for column in columns:
        values = pd.to_numeric(reference[column], errors="coerce").to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError(f"column {column!r} has no finite numeric value to learn a range from")
        low, high = float(values.min()), float(values.max())
        width = high - low
        ranges[column] = (low - margin * width, high + margin * width)
    return ranges


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
        Non-empty samples of one feature, without missing values.
    bins : int, default=10
        At least 1.
    eps : float, default=:data:`PSI_EPS`
        Strictly positive.

    Returns
    -------
    psi : float

    Raises
    ------
    ValueError
        On an empty or non-numeric sample, a missing value, ``bins < 1`` or ``eps <= 0``.
    """
    reference, current = _sample(reference, "reference"), _sample(current, "current")
    check_scalar(bins, "bins", numbers.Integral, min_val=1)
    check_scalar(eps, "eps", numbers.Real, min_val=0.0, include_boundaries="neither")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    return _psi_from_edges(reference, current, edges, eps)


def ks_statistic(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic :math:`\\sup_x |F_a(x) - F_b(x)|`.

    Returns
    -------
    d : float
        Equal to ``scipy.stats.ks_2samp(a, b).statistic``.

    Raises
    ------
    ValueError
        If a sample is empty, not numeric or has a missing value.
    """
    a, b = np.sort(_sample(a, "a")), np.sort(_sample(b, "b"))
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

    Raises
    ------
    ValueError
        If a sample is empty or not 1-D.
    """
    from scipy.stats import chi2

    reference, current = _categories(reference, "reference"), _categories(current, "current")
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
    reference, current = _table(reference, "reference"), _table(current, "current")
    if reference.shape[1] != current.shape[1]:
        raise ValueError(f"reference has {reference.shape[1]} columns but current has "
                         f"{current.shape[1]}: pass the same features in the same order")
    check_scalar(bins, "bins", numbers.Integral, min_val=1)
    check_scalar(eps, "eps", numbers.Real, min_val=0.0, include_boundaries="neither")
    a_all = np.sort(reference, axis=0)
    b_all = np.sort(current, axis=0)
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


def _code_text_columns(reference: pd.DataFrame, current: pd.DataFrame):
    # one category code per value, shared by both samples; NaN stays NaN
    reference, current = reference.copy(), current.copy()
    for column in reference.columns:
        if column in current.columns and not pd.api.types.is_numeric_dtype(reference[column]):
            both = pd.concat([reference[column], current[column]]).astype("string")
            categories = pd.Index(both.dropna().unique())
            for frame in (reference, current):
                codes = pd.Categorical(frame[column].astype("string"), categories=categories).codes
                frame[column] = np.where(codes < 0, np.nan, codes)
    return reference, current


def domain_classifier_auc(reference, current, *, n_splits: int = 5, seed: int = 0) -> float:
    """Multivariate drift score: how well a classifier tells ``current`` rows from ``reference`` rows.

    Label every reference row 0 and every current row 1, fit a gradient
    boosting classifier (scikit-learn's ``HistGradientBoostingClassifier``,
    which sees interactions between features) with stratified ``n_splits``-fold
    cross-validation, and return the ROC AUC of its out-of-fold
    probabilities. About 0.5: the two samples look alike, feature by feature
    and jointly; near 1: they are easy to tell apart. One number for all
    features at once, so one test per window instead of one per feature.

    Parameters
    ----------
    reference, current : array-like or pandas.DataFrame of shape (n, d)
        The inputs, the same columns in the same order; NaN allowed. In
        DataFrames, text columns are coded as categories shared by both.
    n_splits : int, default=5
        Folds of the cross-validation, at least 2.
    seed : int, default=0
        Seed of the fold shuffle and of the classifier; never the global state.

    Returns
    -------
    auc : float
        In [0, 1].

    Raises
    ------
    ValueError
        If the shapes disagree, a sample has fewer rows than ``n_splits``, or
        a value is not numeric.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    check_scalar(n_splits, "n_splits", numbers.Integral, min_val=2)
    if isinstance(reference, pd.DataFrame) and isinstance(current, pd.DataFrame):
        reference, current = _code_text_columns(reference, current)
    samples = []
    for values, name in ((reference, "reference"), (current, "current")):
        try:
            array = check_array(values, dtype=float, ensure_all_finite="allow-nan",
                                ensure_min_samples=n_splits, input_name=name)
        except ValueError as error:
            raise ValueError(f"{name} must be a 2-D numeric table with at least {n_splits} rows "
                             f"(one per fold): {error}") from None
        samples.append(array)
    if samples[0].shape[1] != samples[1].shape[1]:
        raise ValueError(f"reference has {samples[0].shape[1]} columns but current has "
                         f"{samples[1].shape[1]}: pass the same features in the same order")
    X = np.vstack(samples)
    y = np.r_[np.zeros(len(samples[0])), np.ones(len(samples[1]))]
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    classifier = HistGradientBoostingClassifier(max_iter=50, random_state=seed)
    with threadpool_limits(limits=1):   # a few thousand rows: threads cost more than they save
        proba = cross_val_predict(classifier, X, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


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

    Parameters
    ----------
    scores : array-like of float, shape (n,)
        One score per window, in time order; NaN for a window without data.
    threshold : float
    k : int
        Consecutive windows required, at least 1.

    Returns
    -------
    alerts : ndarray of bool, same length as ``scores``

    Raises
    ------
    ValueError
        If ``k < 1`` or ``scores`` is not 1-D.
    """
    check_scalar(k, "k", numbers.Integral, min_val=1)
    check_scalar(threshold, "threshold", numbers.Real)
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D (one score per window), got shape {scores.shape}")
    above = np.nan_to_num(scores, nan=-np.inf) > threshold
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


def plot_dashboard(daily: pd.DataFrame, *, alerts=None, marks=None, threshold=None):
    """Draw the monitoring dashboard: performance over time, drift scores, alert markers.

    Parameters
    ----------
    daily : pandas.DataFrame
        One row per day (index: day number), with any of the columns
        ``accuracy`` (true, from labels), ``estimated_accuracy`` (label-free),
        ``labelled_fraction`` and drift scores whose name starts ``psi_`` or ``ks_``.
    alerts : array-like of bool, optional
        Per day; marked with red triangles on both panels.
    marks : dict of str to int, optional
        Label to day, drawn as labelled vertical lines (e.g. ``{"unit bug": 45}``).
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
        for name, day in (marks or {}).items():
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

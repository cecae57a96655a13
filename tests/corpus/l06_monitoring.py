"""Lesson 06 (monitoring): wrong answers that must lose points, right ones that must not."""
from __future__ import annotations

from tests.corpus import Variant

NB = "solutions/06_monitoring/monitoring.ipynb"
NOTEBOOKS = [NB]


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: source}, tuple(fails), cli)


# --------------------------------------------------------------------------- exercise 1
_ROLL = "def rolling_accuracy(correct, window):\n"
WRONG = [
    _v("rolling: the seed article's global accuracy repeated", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError
    c = np.asarray(correct, dtype=float)
    return np.full(len(c), c.mean())
""", fails=("test_rolling_accuracy_basic",), cli=True),
    _v("rolling: partial windows reported (min_periods=1)", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError
    return pd.Series(np.asarray(correct, dtype=float)).rolling(window, min_periods=1).mean().to_numpy()
""", fails=("test_rolling_accuracy_basic",)),
    _v("rolling: window off by one (window + 1 predictions)", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError
    return pd.Series(np.asarray(correct, dtype=float)).rolling(window + 1).mean().to_numpy()
""", fails=("test_rolling_accuracy_basic",)),
    _v("rolling: window excludes the current prediction", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError
    return pd.Series(np.asarray(correct, dtype=float)).rolling(window).mean().shift(1).to_numpy()
""", fails=("test_rolling_accuracy_basic",)),
    _v("rolling: centred window uses future predictions", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError
    return pd.Series(np.asarray(correct, dtype=float)).rolling(window, center=True).mean().to_numpy()
""", fails=("test_rolling_accuracy_basic",)),
    _v("rolling: window < 1 not rejected (ZeroDivisionError or nonsense)", "rolling_accuracy", _ROLL + """
    c = [float(x) for x in correct]
    return np.array([sum(c[max(0, t - window + 1):t + 1]) / window if t >= window - 1 else np.nan
                     for t in range(len(c))])
""", fails=("test_rolling_accuracy_edges",)),
]

# --------------------------------------------------------------------------- exercise 2
_TIME = "def accuracy_by_time(times, correct, freq):\n"
WRONG += [
    _v("by time: empty bins dropped", "accuracy_by_time", _TIME + """
    s = pd.Series(np.asarray(correct, dtype=float), index=pd.DatetimeIndex(times))
    return s.groupby(s.index.floor(freq)).mean()
""", fails=("test_accuracy_by_time_edges",)),
    _v("by time: empty bins reported as 0 % accuracy", "accuracy_by_time", _TIME + """
    s = pd.Series(np.asarray(correct, dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    return s.resample(freq).mean().fillna(0.0)
""", fails=("test_accuracy_by_time_edges",)),
    _v("by time: bins labelled by their end", "accuracy_by_time", _TIME + """
    s = pd.Series(np.asarray(correct, dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    return s.resample(freq, label="right").mean()
""", fails=("test_accuracy_by_time_basic",)),
    _v("by time: bins anchored at the first time stamp, not midnight", "accuracy_by_time", _TIME + """
    s = pd.Series(np.asarray(correct, dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    return s.resample(freq, origin="start").mean()
""", fails=("test_accuracy_by_time_basic",)),
    _v("by time: right-closed bins", "accuracy_by_time", _TIME + """
    s = pd.Series(np.asarray(correct, dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    return s.resample(freq, closed="right", label="left").mean()
"""),
    _v("by time: windows of 100 predictions instead of time", "accuracy_by_time", _TIME + """
    c = np.asarray(correct, dtype=float)
    return pd.Series([c[i:i + 100].mean() for i in range(0, len(c), 100)])
""", fails=("test_accuracy_by_time_basic",)),
]

WRONG += [
    _v("by time: bins restart at every midnight", "accuracy_by_time", _TIME + """
    t = pd.DatetimeIndex(times)
    s = pd.Series(np.asarray(correct, dtype=float), index=t)
    g = s.groupby(t.floor("D") + ((t - t.floor("D")) // pd.Timedelta(freq)) * pd.Timedelta(freq)).mean()
    full = pd.date_range(t.min().floor("D"), g.index.max(), freq=freq)
    return g.reindex(full)
""", fails=("test_accuracy_by_time_edges",)),
    _v("by time: Timestamp.floor(freq), steps counted from 1970", "accuracy_by_time", _TIME + """
    t = pd.DatetimeIndex(times)
    g = pd.Series(np.asarray(correct, dtype=float), index=t).groupby(t.floor(freq)).mean()
    first = min(t.min().floor("D"), g.index.min())
    return g.reindex(pd.date_range(first, g.index.max(), freq=freq))
""", fails=("test_accuracy_by_time_edges",)),
    _v("by time: only a Series works (.dt accessor)", "accuracy_by_time", _TIME + """
    starts = times.dt.floor("D")
    s = pd.Series(np.asarray(correct, dtype=float), index=pd.DatetimeIndex(times)).sort_index()
    return s.resample(freq, origin=starts.min()).mean()
""", fails=("test_accuracy_by_time_basic",)),
]

# --------------------------------------------------------------------------- data quality
_QR = "def quality_report(batch, ranges, categories):\n"
_QR_CHECK = """
    features = list(ranges) + list(categories)
    for name in features:
        if name not in batch.columns:
            raise ValueError(f"no column {name!r}")
    if len(batch) == 0:
        raise ValueError("empty batch")
"""


def _qr(valid_num="(x >= lo) & (x <= hi)", valid_cat="v.isin(list(categories[name]))",
        invalid="~miss & ~ok", check=_QR_CHECK, order="features"):
    return _QR + check + f"""
    features = list(ranges) + list(categories)
    rows = {{}}
    for name in {order}:
        v = batch[name]
        miss = v.isna()
        if name in ranges:
            lo, hi = ranges[name]
            x = pd.to_numeric(v, errors="coerce")
            ok = {valid_num}
        else:
            ok = {valid_cat}
        rows[name] = {{"missing": float(miss.mean()), "invalid": float(({invalid}).mean())}}
    return pd.DataFrame.from_dict(rows, orient="index")[["missing", "invalid"]]
"""


WRONG += [
    _v("quality: bounds excluded (low < value < high)", "quality_report", _qr(valid_num="(x > lo) & (x < hi)"),
       fails=("test_quality_basic",)),
    _v("quality: a missing value also counted as invalid", "quality_report", _qr(invalid="~ok"),
       fails=("test_quality_basic",)),
    _v("quality: categories compared as text ('1' accepted as 1)", "quality_report",
       _qr(valid_cat="v.astype(str).isin([str(a) for a in categories[name]])"), fails=("test_quality_rules",)),
    _v("quality: features in sorted order, not ranges then categories", "quality_report",
       _qr(order="sorted(features)"), fails=("test_quality_basic",)),
    _v("quality: absent feature named last, not first", "quality_report", _qr(check="""
    absent = [n for n in list(ranges) + list(categories) if n not in batch.columns]
    if absent:
        raise ValueError(f"no column {absent[-1]!r}")
    if len(batch) == 0:
        raise ValueError("empty batch")
"""), fails=("test_quality_rules",)),
    _v("quality: empty batch not refused (NaN fractions)", "quality_report", _qr(check="""
    for name in list(ranges) + list(categories):
        if name not in batch.columns:
            raise ValueError(f"no column {name!r}")
"""), fails=("test_quality_rules",)),
    _v("quality: fractions of the present values, not of all rows", "quality_report",
       _qr(invalid="~ok[~miss]" ), fails=("test_quality_basic",)),
]

# --------------------------------------------------------------------------- exercise 3
_PSI = "def psi(reference, current, bins=10, eps=1e-4):\n"
_PSI_PROPS = """
    p = np.maximum(np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / len(reference), eps)
    q = np.maximum(np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / len(current), eps)
"""
_PSI_IN = """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
"""
WRONG += [
    _v("psi: bins from the current window", "psi", _PSI + _PSI_IN + """
    edges = np.unique(np.quantile(current, np.arange(1, bins) / bins))
""" + _PSI_PROPS + """
    return float(np.sum((q - p) * np.log(q / p)))
""", fails=("test_psi_basic",), cli=True),
    _v("psi: calls the course library's lifecycle.monitoring.psi", "psi",
       "from lifecycle.monitoring import psi as _library_psi\n" + _PSI + """
    return _library_psi(reference, current, bins, eps)
""", fails=("test_psi_basic",)),
    _v("psi: no epsilon, empty bins give inf", "psi", _PSI + _PSI_IN + """
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    p = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / len(reference)
    q = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / len(current)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((q - p) * np.log(q / p)))
""", fails=("test_psi_edges",)),
    _v("psi: closed outer bins drop values outside the reference range", "psi", _PSI + _PSI_IN + """
    edges = np.quantile(reference, np.linspace(0, 1, bins + 1))
    p = np.maximum(np.histogram(reference, edges)[0] / len(reference), eps)
    q = np.maximum(np.histogram(current, edges)[0] / len(current), eps)
    return float(np.sum((q - p) * np.log(q / p)))
""", fails=("test_psi_basic",)),
    _v("psi: equal-width bins over the reference range", "psi", _PSI + _PSI_IN + """
    edges = np.linspace(reference.min(), reference.max(), bins + 1)[1:-1]
""" + _PSI_PROPS + """
    return float(np.sum((q - p) * np.log(q / p)))
""", fails=("test_psi_basic",)),
    _v("psi: Kullback-Leibler only, not symmetrised", "psi", _PSI + _PSI_IN + """
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
""" + _PSI_PROPS + """
    return float(np.sum(q * np.log(q / p)))
""", fails=("test_psi_basic",)),
    _v("psi: counts instead of proportions", "psi", _PSI + _PSI_IN + """
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    p = np.maximum(np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1), eps)
    q = np.maximum(np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1), eps)
    return float(np.sum((q - p) * np.log(q / p)))
""", fails=("test_psi_basic",)),
    _v("psi: eps argument ignored (hard-coded 1e-4)", "psi", _PSI + _PSI_IN + """
    eps = 1e-4
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
""" + _PSI_PROPS + """
    return float(np.sum((q - p) * np.log(q / p)))
""", fails=("test_psi_edges",)),
]

# --------------------------------------------------------------------------- exercise 4
_KS = "def ks_statistic(a, b):\n"
WRONG += [
    _v("ks: calls scipy.stats.ks_2samp", "ks_statistic", "from scipy.stats import ks_2samp\n" + _KS + """
    return float(ks_2samp(a, b).statistic)
""", fails=("test_ks_basic",)),
    _v("ks: CDFs evaluated only at the points of a", "ks_statistic", _KS + """
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    fa = np.searchsorted(a, a, side="right") / a.size
    fb = np.searchsorted(b, a, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))
""", fails=("test_ks_basic",)),
    _v("ks: counts not normalised by the sample sizes", "ks_statistic", _KS + """
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    x = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, x, side="right") - np.searchsorted(b, x, side="right"))))
""", fails=("test_ks_basic",)),
    _v("ks: one-sided, max(F_a - F_b)", "ks_statistic", _KS + """
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    x = np.concatenate([a, b])
    return float(np.max(np.searchsorted(a, x, side="right") / a.size - np.searchsorted(b, x, side="right") / b.size))
""", fails=("test_ks_basic",)),
    _v("ks: largest gap between sorted values, not between CDFs", "ks_statistic", _KS + """
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    n = min(a.size, b.size)
    return float(np.max(np.abs(a[:n] - b[:n])))
"""),
    _v("ks: mean gap between the CDFs instead of the largest", "ks_statistic", _KS + """
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    x = np.concatenate([a, b])
    return float(np.mean(np.abs(np.searchsorted(a, x, side="right") / a.size - np.searchsorted(b, x, side="right") / b.size)))
""", fails=("test_ks_basic",)),
]

# --------------------------------------------------------------------------- exercise 5
_CHI = "def chi_square_drift(reference, current):\n"
WRONG += [
    _v("chi2: calls the course library's chi_square_drift", "chi_square_drift",
       "import lifecycle.monitoring as _m\n" + _CHI + """
    return _m.chi_square_drift(reference, current)
""", fails=("test_chi_square_basic",)),
    _v("chi2: goodness of fit against the reference proportions", "chi_square_drift", _CHI + """
    r = pd.Series(np.asarray(reference)).value_counts()
    c = pd.Series(np.asarray(current)).value_counts().reindex(r.index, fill_value=0)
    res = stats.chisquare(c.to_numpy(), r.to_numpy() / r.sum() * c.sum())
    return float(res[0]), float(res[1])
""", fails=("test_chi_square_basic",)),
    _v("chi2: counts aligned by position, not by category", "chi_square_drift", _CHI + """
    _, r = np.unique(np.asarray(reference), return_counts=True)
    _, c = np.unique(np.asarray(current), return_counts=True)
    k = max(len(r), len(c))
    table = np.zeros((2, k))
    table[0, :len(r)], table[1, :len(c)] = r, c
    res = stats.chi2_contingency(table, correction=False)
    return float(res[0]), float(res[1])
""", fails=("test_chi_square_edges",)),
    _v("chi2: only the reference's categories", "chi_square_drift", _CHI + """
    r = pd.Series(np.asarray(reference)).value_counts()
    c = pd.Series(np.asarray(current)).value_counts().reindex(r.index, fill_value=0)
    res = stats.chi2_contingency(np.vstack([r.to_numpy(), c.to_numpy()]), correction=False)
    return float(res[0]), float(res[1])
""", fails=("test_chi_square_edges",)),
    _v("chi2: proportions instead of counts", "chi_square_drift", _CHI + """
    r = pd.Series(np.asarray(reference)).value_counts(normalize=True)
    c = pd.Series(np.asarray(current)).value_counts(normalize=True)
    table = pd.concat([r, c], axis=1).fillna(0).to_numpy().T
    res = stats.chi2_contingency(table, correction=False)
    return float(res[0]), float(res[1])
""", fails=("test_chi_square_basic",)),
    _v("chi2: K degrees of freedom instead of K - 1", "chi_square_drift", _CHI + """
    r = pd.Series(np.asarray(reference)).value_counts()
    c = pd.Series(np.asarray(current)).value_counts()
    table = pd.concat([r, c], axis=1).fillna(0).to_numpy().T
    res = stats.chi2_contingency(table, correction=False)
    return float(res[0]), float(stats.chi2.sf(res[0], table.shape[1]))
""", fails=("test_chi_square_basic",)),
    _v("chi2: Yates correction left on (scipy's default)", "chi_square_drift", _CHI + """
    r = pd.Series(np.asarray(reference)).value_counts()
    c = pd.Series(np.asarray(current)).value_counts()
    table = pd.concat([r, c], axis=1).fillna(0).to_numpy().T
    res = stats.chi2_contingency(table)
    return float(res[0]), float(res[1])
""", fails=("test_chi_square_edges",)),
]

# --------------------------------------------------------------------------- exercise 6
_FAR_OK = '''

def false_alarm_rate(alerts, stable):
    alerts, stable = np.asarray(alerts, bool), np.asarray(stable, bool)
    if not stable.any():
        raise ValueError("no stable window")
    return float(alerts[stable].mean())
'''
_ALERT_OK = '''
def persistent_alerts(scores, threshold, k):
    above = np.asarray(scores, dtype=float) > threshold
    out = np.zeros(len(above), bool)
    run = 0
    for t, hit in enumerate(above):
        run = run + 1 if hit else 0
        out[t] = run >= k
    return out
'''


def _alert(body):
    return "def persistent_alerts(scores, threshold, k):\n" + body + _FAR_OK


WRONG += [
    _v("alerts: fires on a single spike (k ignored)", "alerts", _alert("""
    return np.asarray(scores, dtype=float) > threshold
"""), fails=("test_alerts_basic",), cli=True),
    _v("alerts: wraps the course library's persistent_alerts", "alerts", _alert("""
    return mon.persistent_alerts(scores, threshold, k)
"""), fails=("test_alerts_basic",)),
    _v("alerts: run length off by one (fires after k-1 windows)", "alerts", _alert("""
    above = np.asarray(scores, dtype=float) > threshold
    out, run = np.zeros(len(above), bool), 0
    for t, hit in enumerate(above):
        run = run + 1 if hit else 0
        out[t] = run >= k - 1 and hit
    return out
"""), fails=("test_alerts_basic",)),
    _v("alerts: score equal to the threshold counts", "alerts", _alert("""
    above = np.asarray(scores, dtype=float) >= threshold
    out, run = np.zeros(len(above), bool), 0
    for t, hit in enumerate(above):
        run = run + 1 if hit else 0
        out[t] = run >= k
    return out
"""), fails=("test_alerts_edges",)),
    _v("alerts: NaN windows skipped, the run continues across them", "alerts", _alert("""
    s = np.asarray(scores, dtype=float)
    out, run = np.zeros(len(s), bool), 0
    for t, v in enumerate(s):
        if np.isnan(v):
            continue
        run = run + 1 if v > threshold else 0
        out[t] = run >= k
    return out
"""), fails=("test_alerts_edges",)),
    _v("alerts: k of the last k+2 windows, not k consecutive", "alerts", _alert("""
    above = (np.asarray(scores, dtype=float) > threshold).astype(int)
    out = np.zeros(len(above), bool)
    for t in range(len(above)):
        out[t] = above[max(0, t - k - 1):t + 1].sum() >= k and above[t] == 1
    return out
"""), fails=("test_alerts_basic",)),
    _v("alerts: counter never reset, counts every exceedance so far", "alerts", _alert("""
    above = np.asarray(scores, dtype=float) > threshold
    return (np.cumsum(above) >= k) & above
"""), fails=("test_alerts_edges",)),
    _v("false alarms: divided by all windows", "alerts", _ALERT_OK + '''

def false_alarm_rate(alerts, stable):
    alerts, stable = np.asarray(alerts, bool), np.asarray(stable, bool)
    if not stable.any():
        raise ValueError("no stable window")
    return float((alerts & stable).sum() / len(alerts))
''', fails=("test_false_alarm_rate",)),
    _v("false alarms: fraction of alerts that fell in the stable period", "alerts", _ALERT_OK + '''

def false_alarm_rate(alerts, stable):
    alerts, stable = np.asarray(alerts, bool), np.asarray(stable, bool)
    if not stable.any():
        raise ValueError("no stable window")
    return float((alerts & stable).sum() / max(alerts.sum(), 1))
''', fails=("test_false_alarm_rate",)),
]

# --------------------------------------------------------------------------- design: drift alarm
_DA = "def drift_alarm(scores):\n    s = np.asarray(scores, dtype=float)\n"
WRONG += [
    _v("alarm: a single-day threshold at the 'moderate' level 0.1 pages on noise", "drift_alarm",
       _DA + "    return s > 0.1\n", fails=("test_drift_alarm_properties",)),
    _v("alarm: centred rolling mean looks at the future", "drift_alarm",
       _DA + "    return (pd.Series(s).rolling(5, center=True, min_periods=1).mean() > 0.5).to_numpy()\n",
       fails=("test_drift_alarm_properties",)),
    _v("alarm: so much persistence that the incident pages too late", "drift_alarm",
       _DA + "    return persistent_alerts(s, 1.0, 4)\n", fails=("test_drift_alarm_properties",)),
    _v("alarm: NaN days page (NaN treated as infinite)", "drift_alarm",
       _DA + "    return np.nan_to_num(s, nan=np.inf) > 0.5\n", fails=("test_drift_alarm_properties",)),
    _v("alarm: thresholds relative to the whole series' maximum", "drift_alarm",
       _DA + "    return s > 0.2 * np.nanmax(s)\n", fails=("test_drift_alarm_properties",)),
]

# --------------------------------------------------------------------------- estimated accuracy
_EST = "def estimated_accuracy(proba, threshold=None):\n"
_EST_CHECK = """
    p = np.asarray(proba, dtype=float)
    if p.size == 0 or np.isnan(p).any() or np.any((p < 0) | (p > 1)):
        raise ValueError("bad probabilities")
    if p.ndim == 2 and threshold is not None:
        raise ValueError("threshold with 2-D input")
    cut = 0.5 if threshold is None else threshold
"""
WRONG += [
    _v("estimate: mean positive-class probability", "estimated_accuracy", _EST + _EST_CHECK + """
    return float(p.mean() if p.ndim == 1 else p[:, 1].mean())
""", fails=("test_estimated_accuracy_basic", "test_estimated_accuracy_binary")),
    _v("estimate: share of confident rows (max > 0.5)", "estimated_accuracy", _EST + _EST_CHECK + """
    if p.ndim == 1:
        p = np.column_stack([1 - p, p])
    return float(np.mean(p.max(axis=1) > 0.5))
""", fails=("test_estimated_accuracy_basic",)),
    _v("estimate: maximum over the wrong axis", "estimated_accuracy", _EST + _EST_CHECK + """
    if p.ndim == 1:
        p = np.column_stack([1 - p, p])
    return float(p.max(axis=0).mean())
""", fails=("test_estimated_accuracy_basic",)),
    _v("estimate: threshold ignored, max(p, 1 - p)", "estimated_accuracy", _EST + _EST_CHECK + """
    return float(np.maximum(p, 1 - p).mean() if p.ndim == 1 else p.max(axis=1).mean())
""", fails=("test_estimated_accuracy_binary",), cli=True),
    _v("estimate: a row on the threshold predicted negative (>)", "estimated_accuracy", _EST + _EST_CHECK + """
    return float(np.where(p > cut, p, 1 - p).mean() if p.ndim == 1 else p.max(axis=1).mean())
""", fails=("test_estimated_accuracy_binary",)),
    _v("estimate: no input checks", "estimated_accuracy", _EST + """
    p = np.asarray(proba, dtype=float)
    cut = 0.5 if threshold is None else threshold
    return float(np.where(p >= cut, p, 1 - p).mean() if p.ndim == 1 else p.max(axis=1).mean())
""", fails=("test_estimated_accuracy_errors",)),
    _v("estimate: a threshold silently accepted for 2-D input", "estimated_accuracy", _EST + """
    p = np.asarray(proba, dtype=float)
    if p.size == 0 or np.any((p < 0) | (p > 1)):
        raise ValueError("bad probabilities")
    cut = 0.5 if threshold is None else threshold
    return float(np.where(p >= cut, p, 1 - p).mean() if p.ndim == 1 else p.max(axis=1).mean())
""", fails=("test_estimated_accuracy_errors",)),
]

# --------------------------------------------------------------------------- exercise 8
_RT = "def retrain_and_evaluate(frame, features, now, days, old_model, make_model, until=None):\n"
_RT_EVAL = """
    model = make_model().fit(train[features], train["label"].astype(int))
    later = frame["time"] >= now
    if until is not None:
        later &= frame["time"] < until
    future = frame[later & frame["label"].notna()]
    y = future["label"].astype(int).to_numpy()
    return {"model": model, "n_train": int(len(train)),
            "old_accuracy": float(np.mean(old_model.predict(future[features]) == y)),
            "new_accuracy": float(np.mean(model.predict(future[features]) == y))}
"""
_RT_OK = """
    known = frame["label_time"] <= now
    recent = (frame["time"] >= now - pd.Timedelta(days=days)) & (frame["time"] < now)
    train = frame[recent & known]
"""
WRONG += [
    _v("retrain: labels not yet arrived used (leak from the future)", "retrain_and_evaluate", _RT + """
    recent = (frame["time"] >= now - pd.Timedelta(days=days)) & (frame["time"] < now)
    train = frame[recent & frame["label"].notna()]
""" + _RT_EVAL, fails=("test_retrain_window",)),
    _v("retrain: all history before now, not the recent window", "retrain_and_evaluate", _RT + """
    train = frame[(frame["time"] < now) & (frame["label_time"] <= now)]
""" + _RT_EVAL, fails=("test_retrain_window", "test_retrain_recovers")),
    _v("retrain: window includes the row at now", "retrain_and_evaluate", _RT + """
    recent = (frame["time"] >= now - pd.Timedelta(days=days)) & (frame["time"] <= now)
    train = frame[recent & (frame["label_time"] <= now)]
""" + _RT_EVAL, fails=("test_retrain_window",)),
    _v("retrain: evaluated on its own training window", "retrain_and_evaluate", _RT + _RT_OK + """
    model = make_model().fit(train[features], train["label"].astype(int))
    y = train["label"].astype(int).to_numpy()
    return {"model": model, "n_train": int(len(train)),
            "old_accuracy": float(np.mean(old_model.predict(train[features]) == y)),
            "new_accuracy": float(np.mean(model.predict(train[features]) == y))}
""", fails=("test_retrain_evaluation",), cli=False),
    _v("retrain: old model refitted in place and compared with itself", "retrain_and_evaluate", _RT + _RT_OK + """
    model = old_model.fit(train[features], train["label"].astype(int))
    future = frame[(frame["time"] >= now) & frame["label"].notna()]
    y = future["label"].astype(int).to_numpy()
    acc = float(np.mean(model.predict(future[features]) == y))
    return {"model": model, "n_train": int(len(train)), "old_accuracy": acc, "new_accuracy": acc}
""", fails=("test_retrain_evaluation",)),
    _v("retrain: until ignored, evaluated on the whole future", "retrain_and_evaluate", _RT + _RT_OK + """
    model = make_model().fit(train[features], train["label"].astype(int))
    future = frame[(frame["time"] >= now) & frame["label"].notna()]
    y = future["label"].astype(int).to_numpy()
    return {"model": model, "n_train": int(len(train)),
            "old_accuracy": float(np.mean(old_model.predict(future[features]) == y)),
            "new_accuracy": float(np.mean(model.predict(future[features]) == y))}
""", fails=("test_retrain_evaluation",)),
    _v("retrain: a row exactly at until evaluated (<=)", "retrain_and_evaluate", _RT + _RT_OK + """
    model = make_model().fit(train[features], train["label"].astype(int))
    later = frame["time"] >= now
    if until is not None:
        later &= frame["time"] <= until
    future = frame[later & frame["label"].notna()]
    y = future["label"].astype(int).to_numpy()
    return {"model": model, "n_train": int(len(train)),
            "old_accuracy": float(np.mean(old_model.predict(future[features]) == y)),
            "new_accuracy": float(np.mean(model.predict(future[features]) == y))}
""", fails=("test_retrain_evaluation",)),
    _v("retrain: window starts after now - days (boundary row left out)", "retrain_and_evaluate", _RT + """
    recent = (frame["time"] > now - pd.Timedelta(days=days)) & (frame["time"] < now)
    train = frame[recent & (frame["label_time"] <= now)]
""" + _RT_EVAL, fails=("test_retrain_window",)),
    _v("retrain: unlabelled future rows counted as errors", "retrain_and_evaluate", _RT + _RT_OK + """
    model = make_model().fit(train[features], train["label"].astype(int))
    later = frame["time"] >= now
    if until is not None:
        later &= frame["time"] < until
    future = frame[later]
    y = future["label"].to_numpy()
    return {"model": model, "n_train": int(len(train)),
            "old_accuracy": float(np.mean(old_model.predict(future[features]) == y)),
            "new_accuracy": float(np.mean(model.predict(future[features]) == y))}
""", fails=("test_retrain_recovers",)),
]

# --------------------------------------------------------------------------- right answers
RIGHT = [
    _v("rolling: explicit loop", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError("window")
    c = [float(x) for x in correct]
    out = []
    for t in range(len(c)):
        out.append(sum(c[t - window + 1:t + 1]) / window if t >= window - 1 else float("nan"))
    return np.array(out)
"""),
    _v("rolling: pandas rolling, float32", "rolling_accuracy", _ROLL + """
    if window < 1:
        raise ValueError("window")
    return pd.Series(np.asarray(correct, dtype=np.float32)).rolling(window).mean().to_numpy()
"""),
    _v("by time: bin numbers from midnight of the first day, groupby and reindex", "accuracy_by_time", _TIME + """
    t = pd.DatetimeIndex(times)
    t0, step = t.min().floor("D"), pd.Timedelta(freq)
    starts = t0 + ((t - t0) // step) * step
    g = pd.Series(np.asarray(correct, dtype=float), index=t).groupby(starts).mean()
    return g.reindex(pd.date_range(t0, g.index.max(), freq=step))
"""),
    _v("by time: resample with origin start_day, float32", "accuracy_by_time", _TIME + """
    s = pd.Series(np.asarray(correct, dtype=np.float32), index=pd.DatetimeIndex(times)).sort_index()
    return s.resample(pd.Timedelta(freq), origin="start_day").mean()
"""),
    _v("psi: np.histogram with infinite outer edges", "psi", _PSI + _PSI_IN + """
    e = np.concatenate([[-np.inf], np.unique(np.quantile(reference, np.arange(1, bins) / bins)), [np.inf]])
    p = np.clip(np.histogram(reference, e)[0] / reference.size, eps, None)
    q = np.clip(np.histogram(current, e)[0] / current.size, eps, None)
    return float(((q - p) * (np.log(q) - np.log(p))).sum())
"""),
    _v("psi: pd.cut with right=False", "psi", _PSI + _PSI_IN + """
    e = [-np.inf] + list(np.unique(np.quantile(reference, np.arange(1, bins) / bins))) + [np.inf]
    p = pd.Series(pd.cut(reference, e, right=False)).value_counts(sort=False, normalize=True).to_numpy()
    q = pd.Series(pd.cut(current, e, right=False)).value_counts(sort=False, normalize=True).to_numpy()
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return float(np.sum((q - p) * np.log(q / p)))
"""),
    _v("ks: merge-walk loop over the sorted samples", "ks_statistic", _KS + """
    a, b = sorted(float(x) for x in a), sorted(float(x) for x in b)
    i = j = 0
    d = 0.0
    while i < len(a) or j < len(b):
        x = min(a[i] if i < len(a) else np.inf, b[j] if j < len(b) else np.inf)
        while i < len(a) and a[i] == x:
            i += 1
        while j < len(b) and b[j] == x:
            j += 1
        d = max(d, abs(i / len(a) - j / len(b)))
    return d
"""),
    _v("chi2: statistic by hand with scipy.stats.chi2", "chi_square_drift", _CHI + """
    ref, cur = np.asarray(reference).astype(str), np.asarray(current).astype(str)
    cats = np.union1d(ref, cur)
    O = np.array([[np.sum(ref == c) for c in cats], [np.sum(cur == c) for c in cats]], float)
    E = O.sum(1, keepdims=True) * O.sum(0) / O.sum()
    stat = float(((O - E) ** 2 / E).sum())
    return stat, float(stats.chi2.sf(stat, len(cats) - 1)) if len(cats) > 1 else 1.0
"""),
    _v("alerts: vectorised with a sliding window", "alerts", """
def persistent_alerts(scores, threshold, k):
    above = np.asarray(scores, dtype=float) > threshold
    if k > len(above):
        return np.zeros(len(above), dtype=bool)
    full = np.lib.stride_tricks.sliding_window_view(above, k).all(axis=1)
    return np.concatenate([np.zeros(k - 1, dtype=bool), full])
""" + _FAR_OK),
    _v("estimate: a loop over rows, float32", "estimated_accuracy", _EST + """
    p = np.asarray(proba, dtype=np.float32)
    if p.size == 0:
        raise ValueError("empty")
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError("probabilities outside [0, 1]")
    if p.ndim == 2:
        if threshold is not None:
            raise ValueError("threshold only for binary 1-D input")
        return float(np.mean([max(row) for row in p]))
    cut = 0.5 if threshold is None else threshold
    return float(np.mean([q if q >= cut else 1 - q for q in p]))
"""),
    _v("quality: loops over rows", "quality_report", """
def quality_report(batch, ranges, categories):
    names = [*ranges, *categories]
    for n in names:
        if n not in batch:
            raise ValueError("missing feature " + n)
    if batch.shape[0] == 0:
        raise ValueError("empty")
    out = pd.DataFrame(index=names, columns=["missing", "invalid"], dtype=float)
    for n in names:
        miss = bad = 0
        for v in batch[n]:
            if pd.isna(v):
                miss += 1
            elif n in ranges:
                try:
                    ok = ranges[n][0] <= float(v) <= ranges[n][1]
                except (TypeError, ValueError):
                    ok = False
                bad += not ok
            else:
                bad += not any(type(v) is not str and type(a) is not str and v == a
                               or type(v) is str and type(a) is str and v == a
                               for a in categories[n])
        out.loc[n] = [miss / len(batch), bad / len(batch)]
    return out
"""),
    _v("alarm: exponentially weighted moving average", "drift_alarm", """
def drift_alarm(scores):
    out, level = [], 0.0
    for s in np.asarray(scores, dtype=float):
        if np.isnan(s):
            out.append(False)
            continue
        level = 0.5 * level + 0.5 * s
        out.append(bool(level > 0.3 or s > 2.0))
    return np.array(out, dtype=bool)
"""),
    _v("alarm: one threshold, two days in a row", "drift_alarm", """
def drift_alarm(scores):
    s = np.asarray(scores, dtype=float)
    hot = s > 0.3
    return hot & np.r_[False, hot[:-1]] | (s > 3)
"""),
    _v("retrain: query strings and sklearn.metrics", "retrain_and_evaluate", _RT + """
    from sklearn.metrics import accuracy_score
    lo = now - pd.Timedelta(days=days)
    train = frame[(frame.time >= lo) & (frame.time < now)]
    train = train[train.label_time.notna() & (train.label_time <= now)]
    model = make_model()
    model.fit(train[features], train.label.astype(int))
    future = frame[frame.time >= now].dropna(subset=["label"])
    if until is not None:
        future = future[future.time < until]
    return {"model": model, "n_train": len(train),
            "old_accuracy": accuracy_score(future.label.astype(int), old_model.predict(future[features])),
            "new_accuracy": accuracy_score(future.label.astype(int), model.predict(future[features]))}
"""),
]

"""Unit tests of lifecycle.monitoring: log files, the stream, drift statistics, alerts, plots."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lifecycle import monitoring as mon


@pytest.fixture(scope="module")
def stream():
    return mon.simulate_stream(seed=0)


def _day(log, start):
    return ((log["time"] - start) // pd.Timedelta(days=1)).to_numpy()


# ---------------------------------------------------------------- log files

def test_log_round_trip(stream, tmp_path):
    path = mon.write_prediction_log(stream["log"], tmp_path / "p.jsonl")
    back = mon.read_prediction_log(path)
    pd.testing.assert_frame_equal(back, stream["log"], check_dtype=False)
    labels = mon.read_labels(mon.write_labels(stream["labels"], tmp_path / "l.jsonl"))
    pd.testing.assert_frame_equal(labels, stream["labels"], check_dtype=False)


def test_log_lines_follow_the_documented_format(stream, tmp_path):
    path = mon.write_prediction_log(stream["log"].head(3), tmp_path / "p.jsonl")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"time", "request_id", "instance", "model_version", "inputs",
                          "prediction", "probabilities", "latency_ms"}
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert set(first["inputs"]) == set(mon.FEATURES)
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-9


def test_read_prediction_log_handles_a_regressor_and_sorts(tmp_path):
    lines = [
        {"time": "2026-11-26T01:23:46.000001Z", "request_id": "b", "instance": 0,
         "model_version": "r-1", "inputs": {"x": 2.0}, "prediction": 3.5,
         "probabilities": None, "latency_ms": 1.0},
        {"time": "2026-11-26T01:23:45.123456Z", "request_id": "a", "instance": 1,
         "model_version": "r-1", "inputs": {"x": 1.0}, "prediction": 1.5,
         "probabilities": None, "latency_ms": 2.0},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n\n", encoding="utf-8")
    log = mon.read_prediction_log(path)
    assert list(log["request_id"]) == ["a", "b"]
    assert not any(c.startswith("proba_") for c in log.columns)
    assert str(log["time"].dt.tz) == "UTC"
    assert log.loc[0, "time"] == pd.Timestamp("2026-11-26T01:23:45.123456Z")


def test_read_prediction_log_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"time": "2026-01-01T00:00:00Z"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        mon.read_prediction_log(path)


def test_join_labels_respects_now(stream):
    log, labels = stream["log"], stream["labels"]
    now = stream["start"] + pd.Timedelta(days=10)
    joined = mon.join_labels(log, labels, now=now)
    known = joined["label"].notna()
    assert (joined.loc[known, "label_time"] <= now).all()
    assert known.sum() == (labels["time"] <= now).sum()
    everything = mon.join_labels(log, labels)
    assert everything["label"].notna().sum() == len(labels)


# ---------------------------------------------------------------- the stream

def test_stream_is_deterministic_and_documented(stream):
    again = mon.simulate_stream(seed=0)
    pd.testing.assert_frame_equal(again["log"], stream["log"])
    pd.testing.assert_frame_equal(again["labels"], stream["labels"])
    other = mon.simulate_stream(seed=1, days=3)
    assert len(other["log"]) == 300
    assert not other["log"]["temp"].equals(stream["log"]["temp"].head(300))
    log, start = stream["log"], stream["start"]
    day = _day(log, start)
    assert len(log) == 9000 and np.all(np.bincount(day) == 100)
    assert log["time"].is_monotonic_increasing
    # stable: temp within the training range; shift: temp in degrees Celsius
    assert log.loc[day < 60, "temp"].max() <= 1.0
    assert log.loc[day >= 60, "temp"].median() > 5
    # gradual covariate drift: warmer on average in the late drift period
    assert log.loc[(day >= 50) & (day < 60), "temp"].mean() > log.loc[day < 30, "temp"].mean() + 0.05


def test_labels_are_delayed_and_some_missing(stream):
    joined = mon.join_labels(stream["log"], stream["labels"])
    delay = (joined["label_time"] - joined["time"]).dropna()
    assert delay.min() >= pd.Timedelta(hours=24) and delay.max() <= pd.Timedelta(days=5)
    missing = joined["label"].isna().mean()
    assert 0.07 < missing < 0.13
    ok = joined["label"].notna()
    truth = stream["truth"].to_numpy()
    assert np.array_equal(joined.loc[ok, "label"].astype(int), truth[ok.to_numpy()])


def test_model_degrades_after_the_shift_only(stream):
    log, start = stream["log"], stream["start"]
    day = _day(log, start)
    correct = log["prediction"].to_numpy() == stream["truth"].to_numpy()
    assert correct[day < 30].mean() > 0.8
    assert correct[(day >= 30) & (day < 60)].mean() > 0.8
    assert correct[day >= 60].mean() < 0.7


# ---------------------------------------------------------------- drift statistics

def test_ks_matches_scipy():
    rng = np.random.default_rng(1)
    for a, b in [(rng.normal(size=300), rng.normal(0.3, 1, size=120)),
                 (rng.integers(0, 5, 50), rng.integers(0, 3, 70)),
                 (np.array([1.0]), np.array([2.0]))]:
        assert mon.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic)


def test_ks_columns_matches_ks_statistic():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(500, 4))
    cur = rng.normal(0.2, 1.3, size=(300, 4))
    cur[:, 3] = np.round(cur[:, 3])
    ref[:, 3] = np.round(ref[:, 3])
    expected = [stats.ks_2samp(ref[:, j], cur[:, j]).statistic for j in range(4)]
    np.testing.assert_allclose(mon.ks_columns(ref, cur), expected)


def _psi_reference(ref, cur, bins=10, eps=mon.PSI_EPS):
    edges = np.concatenate([[-np.inf], np.unique(np.quantile(ref, np.arange(1, bins) / bins)), [np.inf]])
    p = np.maximum(np.histogram(ref, edges)[0] / len(ref), eps)
    q = np.maximum(np.histogram(cur, edges)[0] / len(cur), eps)
    return np.sum((q - p) * np.log(q / p))


def test_psi_shared_vectors():
    ref = np.arange(10.0)
    cur = np.array([0, 0, 0, 0, 2, 4, 6, 8, 8, 12.0])
    p, q = np.full(5, 0.2), np.array([0.4, 0.1, 0.1, 0.1, 0.3])
    assert mon.psi(ref, cur, bins=5) == pytest.approx(np.sum((q - p) * np.log(q / p)))
    assert mon.psi(ref, ref) == pytest.approx(0.0)
    assert np.isfinite(mon.psi(ref, [100.0, 200.0]))
    rng = np.random.default_rng(3)
    r, c = rng.exponential(size=700), rng.exponential(1.4, size=200)
    assert mon.psi(r, c, bins=7) == pytest.approx(_psi_reference(r, c, bins=7))


def test_psi_columns_matches_psi():
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=(800, 3)), rng.normal(0.5, 1, size=(400, 3))
    np.testing.assert_allclose(mon.psi_columns(ref, cur), [mon.psi(ref[:, j], cur[:, j]) for j in range(3)])


def test_chi_square_matches_scipy():
    ref = ["a"] * 40 + ["b"] * 60
    cur = ["b"] * 50 + ["a"] * 30 + ["c"] * 20
    expected = stats.chi2_contingency([[40, 60, 0], [30, 50, 20]], correction=False)
    np.testing.assert_allclose(mon.chi_square_drift(ref, cur), expected[:2])
    assert mon.chi_square_drift(["a", "a"], ["a"]) == (0.0, 1.0)


# ---------------------------------------------------------------- alerts and plots

def test_persistent_alerts():
    got = mon.persistent_alerts([0.1, 0.3, 0.1, 0.3, 0.3, 0.3, np.nan, 0.3], 0.2, 3)
    assert got.tolist() == [False, False, False, False, False, True, False, False]
    assert mon.persistent_alerts([0.2, 0.2], 0.2, 1).tolist() == [False, False]


def test_make_model_is_a_fresh_estimator():
    a, b = mon.make_model(), mon.make_model()
    assert a is not b and not hasattr(a, "classes_")


def test_plots_draw_labelled_axes(stream):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    daily = pd.DataFrame({"accuracy": np.linspace(0.9, 0.6, 10), "estimated_accuracy": 0.85,
                          "psi_temp": np.linspace(0, 2, 10)})
    fig = mon.plot_dashboard(daily, alerts=np.arange(10) > 6, shift_day=5, gradual_day=2, threshold=0.2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Model performance", "Drift scores"]
    ax = mon.plot_over_time(np.arange(10), {"a": np.arange(10)}, title="t", ylabel="y",
                            threshold=1.0, marks={"shift": 5})
    assert ax.get_xlabel() == "day of the stream" and ax.get_ylabel() == "y"
    plt.close("all")

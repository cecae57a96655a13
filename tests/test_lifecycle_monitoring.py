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
    bug = (day >= 45) & (day < 50)
    # the unit bug: temp in degrees Celsius on days 45-49 only, normalised before and after
    assert log.loc[~bug, "temp"].max() <= 1.0
    assert log.loc[bug, "temp"].min() > 1.0
    # covariate drift: warmer on average from day 50 on than in the stable month
    assert log.loc[day >= 50, "temp"].mean() > log.loc[day < 30, "temp"].mean() + 0.05
    assert mon.PERIODS["unit_bug"] == (45, 50) and mon.PERIODS["concept"] == (60, 90)


def test_labels_are_delayed_and_some_missing(stream):
    joined = mon.join_labels(stream["log"], stream["labels"])
    delay = (joined["label_time"] - joined["time"]).dropna()
    assert delay.min() >= pd.Timedelta(hours=24) and delay.max() <= pd.Timedelta(days=5)
    missing = joined["label"].isna().mean()
    assert 0.07 < missing < 0.13
    ok = joined["label"].notna()
    truth = stream["truth"].to_numpy()
    assert np.array_equal(joined.loc[ok, "label"].astype(int), truth[ok.to_numpy()])


def test_model_degrades_in_the_bug_and_the_concept_drift_only(stream):
    log, start = stream["log"], stream["start"]
    day = _day(log, start)
    correct = log["prediction"].to_numpy() == stream["truth"].to_numpy()
    bug = (day >= 45) & (day < 50)
    assert correct[day < 30].mean() > 0.8
    assert correct[(day >= 30) & (day < 60) & ~bug].mean() > 0.8
    assert correct[bug].mean() < 0.6
    assert correct[day >= 60].mean() < 0.7


def test_concept_drift_changes_the_label_not_the_inputs(stream):
    log, start = stream["log"], stream["start"]
    day = _day(log, start)
    data = mon.load_bikeshare()
    late = stream["truth"].to_numpy()[day >= 60]
    # busy now means at least BUSY_THRESHOLD / DEMAND_FACTOR rentals in 2011: fewer busy hours
    assert late.mean() < (data["bikers"] >= mon.BUSY_THRESHOLD).mean()
    # the inputs of days 55-59 and 60-64 come from the same (held) covariate weighting
    before = log.loc[(day >= 50) & (day < 60), "temp"]
    after = log.loc[(day >= 60) & (day < 70), "temp"]
    assert mon.ks_statistic(before, after) < 0.1


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
    # a run of exactly k resets after a break and must build up again
    got = mon.persistent_alerts([0.3, 0.3, 0.1, 0.3, 0.3, 0.3], 0.2, 2)
    assert got.tolist() == [False, True, False, False, True, True]


def test_input_ranges_widen_the_observed_range():
    frame = pd.DataFrame({"temp": [0.2, 0.4, np.nan, 1.0], "hum": [0.0, 0.5, 0.5, 0.5]})
    ranges = mon.input_ranges(frame, ["temp", "hum"], margin=0.25)
    assert ranges["temp"] == pytest.approx((0.0, 1.2))
    assert ranges["hum"] == pytest.approx((-0.125, 0.625))
    assert mon.input_ranges(frame, ["temp"], margin=0)["temp"] == (0.2, 1.0)
    assert set(mon.input_ranges(mon.simulate_stream(seed=0, days=1)["reference"])) == set(mon.NUMERIC)


def test_lesson_06s_ranges_are_lesson_05s_door():
    """Lesson 06 says its ranges widen the observed ones by half their width, as 05's bundle does."""
    from lifecycle import deploy

    assert mon.RANGE_MARGIN == deploy.RANGE_MARGIN == 0.5   # "half its width" (06), alpha = 0.5 (05)
    frame = pd.DataFrame({"temp": [0.2, 0.4, np.nan, 1.0], "hum": [0.0, 0.5, 0.5, 0.5]})
    door = deploy.domain_from_frame(frame)["numeric"]
    assert mon.input_ranges(frame, ["temp", "hum"]) == {
        name: (door[name]["min"], door[name]["max"]) for name in ("temp", "hum")}


@pytest.mark.parametrize("call, message", [
    (lambda: mon.input_ranges(pd.DataFrame({"a": [1.0]}), ["b"]), "no column"),
    (lambda: mon.input_ranges(pd.DataFrame({"a": [np.nan]}), ["a"]), "no finite"),
    (lambda: mon.input_ranges(pd.DataFrame({"a": [1.0]}), ["a"], margin=-1), "margin"),
    (lambda: mon.input_ranges([[1.0]]), "DataFrame"),
    (lambda: mon.psi([], [1.0]), "non-empty"),
    (lambda: mon.psi([1.0, 2.0], [np.nan]), "missing"),
    (lambda: mon.psi([1.0, 2.0], [1.0], bins=0), "bins"),
    (lambda: mon.psi([1.0, 2.0], [1.0], eps=0), "eps"),
    (lambda: mon.psi(np.ones((3, 2)), [1.0]), "1-D"),
    (lambda: mon.ks_statistic([1.0], []), "non-empty"),
    (lambda: mon.chi_square_drift([], ["a"]), "non-empty"),
    (lambda: mon.drift_columns(np.ones((3, 2)), np.ones((3, 3))), "columns"),
    (lambda: mon.persistent_alerts([0.3, 0.3], 0.2, 0), "k"),
    (lambda: mon.persistent_alerts([[0.3]], 0.2, 1), "1-D"),
    (lambda: mon.join_labels(pd.DataFrame({"x": [1]}), pd.DataFrame()), "lacks"),
    (lambda: mon.domain_classifier_auc(np.ones((3, 2)), np.ones((9, 2))), "at least 5 rows"),
    (lambda: mon.domain_classifier_auc(np.ones((9, 2)), np.ones((9, 3))), "columns"),
    (lambda: mon.simulate_stream(days=0), "days"),
])
def test_bad_arguments_get_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_domain_classifier_sees_a_joint_shift_that_no_marginal_shows():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(400, 2))
    b = rng.normal(size=(400, 2))
    b[:, 1] = b[:, 0] + 0.1 * rng.normal(size=400)      # same marginals (nearly), new correlation
    b[:, 1] /= b[:, 1].std()
    assert max(mon.ks_columns(a, b)) < 0.1
    assert mon.domain_classifier_auc(a, b, seed=0) > 0.7
    same = mon.domain_classifier_auc(a, rng.normal(size=(400, 2)), seed=0)
    assert 0.4 < same < 0.6
    assert mon.domain_classifier_auc(a, b, seed=0) == mon.domain_classifier_auc(a, b, seed=0)
    frame_a = pd.DataFrame({"w": ["x", "y"] * 50, "v": rng.normal(size=100)})
    frame_b = pd.DataFrame({"w": ["z"] * 100, "v": rng.normal(size=100)})
    assert mon.domain_classifier_auc(frame_a, frame_b) > 0.95


def test_make_model_is_a_fresh_estimator():
    a, b = mon.make_model(), mon.make_model()
    assert a is not b and not hasattr(a, "classes_")


def test_plots_draw_labelled_axes(stream):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    daily = pd.DataFrame({"accuracy": np.linspace(0.9, 0.6, 10), "estimated_accuracy": 0.85,
                          "psi_temp": np.linspace(0, 2, 10)})
    fig = mon.plot_dashboard(daily, alerts=np.arange(10) > 6, marks={"bug": 5, "drift": 2}, threshold=0.2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Model performance", "Drift scores"]
    ax = mon.plot_over_time(np.arange(10), {"a": np.arange(10)}, title="t", ylabel="y",
                            threshold=1.0, marks={"shift": 5})
    assert ax.get_xlabel() == "day of the stream" and ax.get_ylabel() == "y"
    plt.close("all")

"""Unit tests of lifecycle.compression: data, weights, measurements, ONNX, student, plots."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import os  # noqa: E402
import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from lifecycle import compression as cmp  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return cmp.load_digits_split(seed=0)


@pytest.fixture(scope="module")
def mlp(data):
    X_train, _, y_train, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(
            X_train, y_train)


def test_load_digits_split_is_stratified_scaled_and_seeded(data):
    X_train, X_test, y_train, y_test = data
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert list(X_train.columns) == cmp.PIXELS
    assert X_train.to_numpy().min() == 0.0 and X_train.to_numpy().max() == 1.0
    assert sorted(y_test.unique()) == list(range(10))
    np.testing.assert_allclose(y_test.value_counts(normalize=True).sort_index(),
                               pd.concat([y_train, y_test]).value_counts(normalize=True).sort_index(),
                               atol=0.01)
    again = cmp.load_digits_split(seed=0)
    pd.testing.assert_frame_equal(again[1], X_test)
    assert not cmp.load_digits_split(seed=1)[1].index.equals(X_test.index)
    with pytest.raises(ValueError, match="test_size"):
        cmp.load_digits_split(test_size=1.0)


def test_mlp_logits_match_scikit_learn(mlp, data):
    X_test = data[1]
    logits = cmp.mlp_logits(mlp.coefs_, mlp.intercepts_, X_test)
    np.testing.assert_allclose(cmp.softmax(logits), mlp.predict_proba(X_test), rtol=1e-10)
    with pytest.raises(ValueError):
        cmp.mlp_logits(mlp.coefs_, mlp.intercepts_[:1], X_test)


def test_with_weights_copies_and_checks_shapes(mlp, data):
    zeros = [np.zeros_like(w) for w in mlp.coefs_]
    twin = cmp.with_weights(mlp, zeros)
    assert all(np.all(w == 0) for w in twin.coefs_)
    assert not all(np.all(w == 0) for w in mlp.coefs_)  # the original is untouched
    np.testing.assert_allclose(twin.predict_proba(data[1]),
                               cmp.softmax(np.tile(mlp.intercepts_[1], (450, 1))), rtol=1e-10)
    with pytest.raises(ValueError, match="shape"):
        cmp.with_weights(mlp, [zeros[0], zeros[0]])
    with pytest.raises(ValueError, match="layers"):
        cmp.with_weights(mlp, zeros[:1])


def test_serving_copy_drops_the_optimizer_and_keeps_predictions(mlp, data):
    import skops.io as sio

    served = cmp.serving_copy(mlp)
    assert hasattr(mlp, "_optimizer") and not hasattr(served, "_optimizer")
    np.testing.assert_array_equal(served.predict(data[1]), mlp.predict(data[1]))
    assert sio.get_untrusted_types(data=sio.dumps(served)) == []
    assert cmp.size_on_disk(served) < cmp.size_on_disk(mlp)
    with pytest.raises(ValueError, match="fitted"):
        cmp.serving_copy(MLPClassifier())


def test_size_on_disk_is_the_file_size(mlp, tmp_path):
    assert cmp.size_on_disk(b"x" * 1234) == 1234
    small = cmp.size_on_disk({"q": np.zeros(1000, dtype=np.int8)})
    large = cmp.size_on_disk({"q": np.zeros(1000, dtype=np.float32)})
    assert large - small == 3000  # one byte per int8, four per float32, same header
    import skops.io as sio

    sio.dump(mlp, tmp_path / "m.skops")
    assert cmp.size_on_disk(mlp) == os.path.getsize(tmp_path / "m.skops")
    with pytest.raises(TypeError, match="cannot save"):
        cmp.size_on_disk([1, 2, 3])


def test_measure_latency_counts_only_timed_calls_on_fresh_rows():
    seen = []

    def predict(rows):
        seen.append(np.asarray(rows).ravel().tolist())
        return rows

    X = np.arange(10).reshape(10, 1)
    result = cmp.measure_latency(predict, X, repeats=7, warmup=3, batch=2)
    assert result["repeats"] == 7 and len(seen) == 10
    assert seen[:3] == [[0, 1], [2, 3], [4, 5]]  # consecutive batches, cycling
    assert 0 <= result["median_ms"] <= result["p90_ms"]
    frame = pd.DataFrame({"a": range(5)})
    cmp.measure_latency(lambda rows: rows["a"].sum(), frame, repeats=3, warmup=0)
    with pytest.raises(ValueError):
        cmp.measure_latency(predict, X, repeats=0)
    with pytest.raises(ValueError, match="fewer"):
        cmp.measure_latency(predict, X, batch=11)
    with pytest.raises(TypeError):
        cmp.measure_latency("predict", X)


def test_onnx_export_and_int8_quantization_agree_with_scikit_learn(mlp, data):
    X_test = data[1].to_numpy(dtype=np.float32)
    fp32 = cmp.export_onnx(mlp, n_features=64)
    np.testing.assert_array_equal(cmp.onnx_predictor(fp32)(X_test), mlp.predict(data[1]))
    for per_channel in (False, True):
        int8 = cmp.quantize_onnx(fp32, per_channel=per_channel)
        assert len(int8) < len(fp32)
        assert b"MatMulInteger" in int8 or b"DynamicQuantizeLinear" in int8
        agree = np.mean(cmp.onnx_predictor(int8)(X_test) == mlp.predict(data[1]))
        assert agree > 0.95
    with pytest.raises(TypeError):
        cmp.quantize_onnx(b"")
    with pytest.raises(ValueError):
        cmp.export_onnx(mlp, n_features=0)


def _cross_entropy(W, b, X, targets, T):
    q = cmp.softmax((X @ W + b) / T)
    g = T * (q - targets) / len(X)
    return -T * T * np.mean(np.sum(targets * np.log(q), axis=1)), X.T @ g, g.sum(axis=0)


def test_train_student_descends_and_learns(data):
    X_train, X_test, y_train, y_test = (np.asarray(a) for a in data)
    W, b, losses = cmp.train_student(X_train, np.eye(10)[y_train], _cross_entropy, epochs=100)
    assert W.shape == (64, 10) and b.shape == (10,) and len(losses) == 100
    assert np.all(np.diff(losses) <= 1e-12)
    assert np.mean((X_test @ W + b).argmax(axis=1) == y_test) > 0.85
    W0, b0, none = cmp.train_student(X_train, np.eye(10)[y_train], _cross_entropy, epochs=0)
    assert none == [] and not W0.any() and not b0.any()
    with pytest.raises(ValueError, match="targets"):
        cmp.train_student(X_train, y_train, _cross_entropy)
    with pytest.raises(ValueError):
        cmp.train_student(X_train, np.eye(10)[y_train], _cross_entropy, lr=0)


def test_plots_label_their_axes():
    ax = cmp.plot_sparsity_curve([0, 0.5], {"global": [0.9, 0.8], "per layer": [0.9, 0.7]},
                                 baseline=0.9)
    assert ax.get_xlabel() and ax.get_ylabel() and len(ax.get_lines()) == 3
    ax = cmp.plot_weight_histograms(np.linspace(-1, 1, 100), np.round(np.linspace(-1, 1, 100), 1))
    assert "weight" in ax.get_xlabel()
    table = pd.DataFrame({"size_bytes": [10, 100], "latency_ms": [0.1, 1.0], "accuracy": [0.9, 0.95]},
                         index=["small", "big"])
    ax = cmp.plot_pareto(table, ["small", "big"], chosen="small",
                         budget={"max_size_bytes": 50, "min_accuracy": 0.9})
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="columns"):
        cmp.plot_pareto(table.drop(columns="accuracy"))

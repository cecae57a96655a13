"""Model compression: the lesson ``07_compression``'s data, measurements and plots.

The notebook keeps the ideas (pruning, quantization, distillation, choosing
under a budget); this module keeps the plumbing they are measured with:

* :func:`load_digits_split`, the lesson's data (``digits.csv.gz``);
* :func:`with_weights` and :func:`mlp_logits`, a fitted ``MLPClassifier``'s
  weights swapped or evaluated with plain numpy;
* :func:`size_on_disk` and :func:`measure_latency`, measured honestly: the
  bytes of a real file, the median of repeated single calls after a warm-up;
* :func:`export_onnx`, :func:`quantize_onnx` and :func:`onnx_predictor`: the
  same model through skl2onnx and onnxruntime's own int8 quantization;
* :func:`train_student`, gradient descent on a softmax student for
  distillation, with the loss and gradient passed in;
* the plots: :func:`plot_sparsity_curve`, :func:`plot_weight_histograms`,
  :func:`plot_pareto`.
"""
from __future__ import annotations

import copy
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lifecycle.datasets import load_dataset
from lifecycle.plotting import COLORS, new_axes

__all__ = [
    "PIXELS",
    "export_onnx",
    "load_digits_split",
    "measure_latency",
    "mlp_logits",
    "onnx_predictor",
    "plot_pareto",
    "plot_sparsity_curve",
    "plot_weight_histograms",
    "quantize_onnx",
    "serving_copy",
    "size_on_disk",
    "softmax",
    "train_student",
    "with_weights",
]

#: Column names of the 64 pixels of an 8x8 digit, row by row.
PIXELS = [f"px_{r}_{c}" for r in range(8) for c in range(8)]


def load_digits_split(seed: int = 0, test_size: float = 0.25):
    """Return the handwritten digits, pixels scaled to [0, 1], split stratified.

    Parameters
    ----------
    seed : int, default=0
        Seed of the stratified train/test split.
    test_size : float, default=0.25
        Fraction of the 1,797 images held out.

    Returns
    -------
    X_train, X_test : pandas.DataFrame
        Columns :data:`PIXELS`, float in [0, 1] (ink counts 0-16 divided by 16).
    y_train, y_test : pandas.Series of int
        The digit written, 0-9, named ``"digit"``.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    raw = load_dataset("digits.csv.gz", header=None)
    X = pd.DataFrame(raw.iloc[:, :64].to_numpy(float) / 16.0, columns=PIXELS)
    y = pd.Series(raw.iloc[:, 64].to_numpy(int), name="digit")
    return tuple(train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed))


def with_weights(model, coefs: Sequence, intercepts: Sequence | None = None):
    """Return a copy of a fitted ``MLPClassifier`` with other weights.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier
        Fitted; it is not changed.
    coefs : sequence of ndarray
        One weight matrix per layer, each of the shape of ``model.coefs_[i]``.
    intercepts : sequence of ndarray, optional
        One bias vector per layer (default: the model's own).

    Returns
    -------
    model : MLPClassifier
        A deep copy predicting with the new weights (as float64).

    Raises
    ------
    ValueError
        If the number of layers or a shape differs from the model's.
    """
    intercepts = model.intercepts_ if intercepts is None else intercepts
    for name, new, old in (("coefs", coefs, model.coefs_), ("intercepts", intercepts, model.intercepts_)):
        if len(new) != len(old):
            raise ValueError(f"{name} has {len(new)} layers, the model {len(old)}")
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            if np.shape(a) != b.shape:
                raise ValueError(f"{name}[{i}] has shape {np.shape(a)}, the model's {b.shape}")
    twin = copy.deepcopy(model)
    twin.coefs_ = [np.array(w, dtype=float) for w in coefs]
    twin.intercepts_ = [np.array(b, dtype=float) for b in intercepts]
    return twin


def serving_copy(model):
    """A copy of a fitted ``MLPClassifier`` without its training-only state.

    A fitted network keeps its optimizer (Adam's two moment estimates per
    weight) so that ``partial_fit`` can continue. Predictions never use it;
    it triples the saved file, and :mod:`skops` does not trust the optimizer's
    class, so lesson 05's :func:`~lifecycle.deploy.load_bundle` would refuse it.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier
        Fitted; it is not changed.

    Returns
    -------
    model : MLPClassifier
        A deep copy with the same predictions, without ``_optimizer``; it can no
        longer be trained with ``partial_fit`` from where it stopped.
    """
    if not hasattr(model, "coefs_"):
        raise ValueError("the model is not fitted")
    twin = copy.deepcopy(model)
    twin.__dict__.pop("_optimizer", None)
    return twin


def mlp_logits(coefs: Sequence, intercepts: Sequence, X) -> np.ndarray:
    """The output scores of a ReLU network, as ``MLPClassifier`` computes them.

    Parameters
    ----------
    coefs, intercepts : sequence of ndarray
        Weight matrices ``(n_in, n_out)`` and bias vectors, layer by layer.
    X : array-like of shape (n_samples, n_in)

    Returns
    -------
    logits : ndarray of shape (n_samples, n_out)
        Before the softmax; their argmax is the predicted class index.
    """
    if len(coefs) != len(intercepts) or not coefs:
        raise ValueError("coefs and intercepts need the same, non-zero number of layers")
    h = np.asarray(X, dtype=float)
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        h = h @ np.asarray(w, dtype=float) + np.asarray(b, dtype=float)
        if i < len(coefs) - 1:
            h = np.maximum(h, 0.0)
    return h


def softmax(z, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of ``z`` along ``axis``."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _write(obj, path: str) -> None:
    if isinstance(obj, (bytes, bytearray)):
        with open(path, "wb") as f:
            f.write(obj)
    elif isinstance(obj, Mapping):
        np.savez(path, **{str(k): np.asarray(v) for k, v in obj.items()})
    elif hasattr(obj, "get_params"):
        from lifecycle.skops_io import skops_io

        skops_io().dump(obj, path)
    else:
        raise TypeError(f"cannot save a {type(obj).__name__}: pass bytes (an ONNX model), "
                        "a dict of arrays or a scikit-learn estimator")


def size_on_disk(obj) -> int:
    """The size in bytes of the file a model is shipped as.

    Parameters
    ----------
    obj : bytes, dict of str to array-like, or scikit-learn estimator
        Bytes (an ONNX model) are written as they are; a dict of arrays with
        :func:`numpy.savez` (uncompressed ``.npz``: each array at its own
        dtype, so int8 takes one byte a weight); an estimator with
        :func:`skops.io.dump`, as lesson 05's bundles store it.

    Returns
    -------
    size : int
        Bytes of the written file, read back from the file system.

    Raises
    ------
    TypeError
        For any other kind of object.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz" if isinstance(obj, Mapping) else "model")
        _write(obj, path)
        return os.path.getsize(path)


def measure_latency(predict: Callable, X, *, repeats: int = 50, warmup: int = 5,
                    batch: int = 1) -> dict:
    """Median latency of ``predict`` on batches of ``batch`` rows.

    Each call predicts the next ``batch`` rows of ``X`` (cycling), so no call
    is served from a cache the previous one filled; the first ``warmup``
    calls (imports, allocations, lazy initialisation) are not counted.

    Parameters
    ----------
    predict : callable
        Takes rows of ``X`` (a slice of the same type) and returns predictions.
    X : numpy array or pandas.DataFrame
        The inputs, at least ``batch`` rows.
    repeats : int, default=50
        Timed calls, at least 1.
    warmup : int, default=5
        Untimed calls first, at least 0.
    batch : int, default=1
        Rows per call, at least 1 (1 = an edge device answering one request).

    Returns
    -------
    latency : dict
        ``median_ms`` and ``p90_ms`` (milliseconds per call) and ``repeats``.
    """
    if not callable(predict):
        raise TypeError("predict must be callable")
    if repeats < 1 or warmup < 0 or batch < 1:
        raise ValueError(f"need repeats >= 1, warmup >= 0, batch >= 1; got {repeats}, {warmup}, {batch}")
    n = len(X)
    if n < batch:
        raise ValueError(f"X has {n} rows, fewer than batch={batch}")
    take = X.iloc if isinstance(X, (pd.DataFrame, pd.Series)) else X
    starts = [(i * batch) % (n - batch + 1) for i in range(warmup + repeats)]
    timings = []
    for i, start in enumerate(starts):
        rows = take[start:start + batch]
        began = time.perf_counter()
        predict(rows)
        if i >= warmup:
            timings.append((time.perf_counter() - began) * 1000.0)
    return {"median_ms": statistics.median(timings),
            "p90_ms": float(np.quantile(timings, 0.9)), "repeats": repeats}


def export_onnx(model, n_features: int) -> bytes:
    """Convert a fitted scikit-learn classifier to ONNX with skl2onnx.

    Parameters
    ----------
    model : sklearn classifier
        Fitted (an ``MLPClassifier`` in the lesson).
    n_features : int
        Number of input columns; the ONNX input is ``float32`` of shape
        ``(None, n_features)``.

    Returns
    -------
    onnx_bytes : bytes
        The serialized model; outputs ``label`` and ``probabilities`` (no
        ZipMap, so probabilities come back as one array).
    """
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    if n_features < 1:
        raise ValueError(f"n_features must be positive, got {n_features}")
    onx = to_onnx(model, initial_types=[("X", FloatTensorType([None, int(n_features)]))],
                  options={"zipmap": False}, final_types=None)
    return onx.SerializeToString()


def quantize_onnx(onnx_bytes: bytes, *, per_channel: bool = False) -> bytes:
    """Quantize an ONNX model's weights to int8 with onnxruntime's own tool.

    :func:`onnxruntime.quantization.quantize_dynamic`: weights are stored as
    int8 (one scale per tensor, or per output channel), activations are
    quantized on the fly at every call, and matrix products run as integer
    ``MatMulInteger``. onnxruntime logs a suggestion to run its shape-inference
    pre-processing first; it changes nothing for a network of dense layers, so
    that message is silenced here.

    Parameters
    ----------
    onnx_bytes : bytes
        A float32 ONNX model (see :func:`export_onnx`).
    per_channel : bool, default=False
        One scale per output channel instead of one per weight tensor.

    Returns
    -------
    onnx_bytes : bytes
        The quantized model.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if not isinstance(onnx_bytes, (bytes, bytearray)) or not onnx_bytes:
        raise TypeError("onnx_bytes must be the non-empty bytes of an ONNX model")
    root = logging.getLogger()
    level = root.level
    with tempfile.TemporaryDirectory() as folder:
        source, target = os.path.join(folder, "model.onnx"), os.path.join(folder, "int8.onnx")
        with open(source, "wb") as f:
            f.write(onnx_bytes)
        root.setLevel(logging.ERROR)
        try:
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=per_channel)
        finally:
            root.setLevel(level)
        with open(target, "rb") as f:
            return f.read()


def onnx_predictor(onnx_bytes: bytes, *, threads: int = 1) -> Callable:
    """An onnxruntime session as a ``predict(X) -> labels`` function.

    Parameters
    ----------
    onnx_bytes : bytes
        An ONNX classifier from :func:`export_onnx` or :func:`quantize_onnx`.
    threads : int, default=1
        Intra-op threads (1: the same single core numpy gets in the lesson).

    Returns
    -------
    predict : callable
        Takes an array or DataFrame of features, returns the label array.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(bytes(onnx_bytes), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def predict(X):
        return session.run(None, {name: np.asarray(X, dtype=np.float32)})[0]

    return predict


def train_student(X, targets, loss_and_grad: Callable, *, T: float = 1.0, lr: float = 0.5,
                  epochs: int = 300):
    """Full-batch gradient descent on a softmax-regression student.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    targets : array-like of shape (n_samples, n_classes)
        Rows of probabilities: one-hot labels, or a teacher's soft targets.
    loss_and_grad : callable
        ``loss_and_grad(W, b, X, targets, T) -> (loss, dW, db)``.
    T : float, default=1.0
        Temperature passed to ``loss_and_grad``.
    lr : float, default=0.5
        Step size.
    epochs : int, default=300
        Number of full-batch steps, from zero weights.

    Returns
    -------
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
    losses : list of float
        The loss before each step.
    """
    X = np.asarray(X, dtype=float)
    targets = np.asarray(targets, dtype=float)
    if targets.ndim != 2 or len(targets) != len(X):
        raise ValueError(f"targets must have shape ({len(X)}, n_classes), got {targets.shape}")
    if epochs < 0 or lr <= 0:
        raise ValueError(f"need epochs >= 0 and lr > 0, got {epochs}, {lr}")
    W, b = np.zeros((X.shape[1], targets.shape[1])), np.zeros(targets.shape[1])
    losses = []
    for _ in range(epochs):
        loss, dW, db = loss_and_grad(W, b, X, targets, T)
        losses.append(float(loss))
        W, b = W - lr * np.asarray(dW), b - lr * np.asarray(db)
    return W, b, losses


def plot_sparsity_curve(sparsities, curves: Mapping[str, Sequence[float]], *,
                        baseline: float | None = None, ax=None):
    """Accuracy against the fraction of weights pruned, one line per method.

    Parameters
    ----------
    sparsities : sequence of float
        Fractions of weights set to zero (x axis).
    curves : dict of str to sequence of float
        Accuracy at each sparsity, per method ("global", "per layer", ...).
    baseline : float, optional
        The unpruned model's accuracy, drawn as a dashed line.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = new_axes("Accuracy after magnitude pruning", "fraction of weights set to zero",
                  "test accuracy", ax=ax)
    for (label, values), color in zip(curves.items(), COLORS, strict=False):
        ax.plot(sparsities, values, marker="o", label=label, color=color)
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", linewidth=1, label="unpruned")
    ax.legend()
    return ax


def plot_weight_histograms(original, reconstructed, *, bins: int = 120, title: str = "", ax=None):
    """Histogram of weights before and after quantization (dequantized).

    The quantized weights can only take 256 values per scale: their histogram
    is a comb whose teeth are ``scale`` apart.

    Parameters
    ----------
    original, reconstructed : array-like
        The float weights and their dequantized int8 version.
    bins : int, default=120
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = new_axes(title or "Weights before and after int8 quantization", "weight value",
                  "count", ax=ax)
    original = np.ravel(original)
    edges = np.linspace(original.min(), original.max(), bins + 1)
    ax.hist(original, bins=edges, color=COLORS[0], alpha=0.5, label="float")
    ax.hist(np.ravel(reconstructed), bins=edges, color=COLORS[3], histtype="step",
            label="int8, dequantized")
    ax.legend()
    return ax


def plot_pareto(table: pd.DataFrame, front=(), *, chosen=None, budget: Mapping | None = None,
                ax=None):
    """Accuracy against size (log scale), marker area by latency; the front joined.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by model name, columns ``size_bytes``, ``latency_ms``, ``accuracy``.
    front : sequence of str, optional
        Names on the Pareto front, joined by a line in order of size.
    chosen : str, optional
        Name of the model picked, circled.
    budget : dict, optional
        ``max_size_bytes`` and ``min_accuracy``, drawn as the budget's corner.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    missing = {"size_bytes", "latency_ms", "accuracy"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")
    ax = new_axes("Size, latency and accuracy of every version", "size on disk (bytes, log scale)",
                  "test accuracy", ax=ax)
    area = 30 + 300 * table["latency_ms"] / table["latency_ms"].max()
    ax.scatter(table["size_bytes"], table["accuracy"], s=area, color=COLORS[0], alpha=0.6)
    for name, row in table.iterrows():
        ax.annotate(f"{name}\n{row['latency_ms']:.3f} ms", (row["size_bytes"], row["accuracy"]),
                    fontsize=7, xytext=(4, 4), textcoords="offset points")
    if len(front):
        line = table.loc[list(front)].sort_values("size_bytes")
        ax.plot(line["size_bytes"], line["accuracy"], color=COLORS[1], label="Pareto front")
    if chosen is not None:
        row = table.loc[chosen]
        ax.scatter([row["size_bytes"]], [row["accuracy"]], s=400, facecolors="none",
                   edgecolors=COLORS[3], linewidths=2, label=f"chosen: {chosen}")
    if budget:
        if "max_size_bytes" in budget:
            ax.axvline(budget["max_size_bytes"], color=COLORS[3], linestyle=":", label="size budget")
        if "min_accuracy" in budget:
            ax.axhline(budget["min_accuracy"], color=COLORS[2], linestyle=":", label="accuracy floor")
    ax.set_xscale("log")
    ax.legend(fontsize=8, loc="lower right")
    return ax


"""Data and plots for lesson 03 (evaluation).

The lesson's exercises compute the metrics themselves; this module only holds
what the notebook should not carry: loading the imbalanced "digit 8 against
the rest" problem and the penguin regression example, the reliability
(calibration) table, and the course's evaluation plots (confusion matrix,
ROC and precision-recall curves with an operating point, reliability diagram,
fold layout, bootstrap distribution).
"""
from __future__ import annotations

import numpy as np

from lifecycle import arguments as check
from lifecycle.datasets import load_dataset
from lifecycle.plotting import COLORS, new_axes

__all__ = [
    "load_digit_vs_rest",
    "load_penguin_mass",
    "reliability_table",
    "plot_confusion_matrix",
    "plot_roc",
    "plot_precision_recall",
    "plot_reliability",
    "plot_folds",
    "plot_bootstrap",
]


def load_digit_vs_rest(positive: int = 8):
    """Load the handwritten digits as a binary "one digit against the rest" problem.

    Parameters
    ----------
    positive : int, default=8
        The digit that is the positive class (label 1); every other digit is 0.

    Returns
    -------
    X : ndarray of shape (1797, 64)
        Pixel intensities scaled to [0, 1] (the file stores counts 0-16).
    y : ndarray of shape (1797,)
        1 where the image shows ``positive``, else 0 (about 10 % positives).
    digit : ndarray of shape (1797,)
        The digit actually written (0-9), for multi-class examples.

    Raises
    ------
    ValueError
        If ``positive`` is not a digit 0-9.
    """
    if isinstance(positive, bool) or positive not in range(10):
        raise ValueError(f"positive must be a digit 0-9 (an int), got {positive!r}")
    table = load_dataset("digits.csv.gz", header=None).to_numpy()
    X = table[:, :64].astype(float) / 16.0
    digit = table[:, 64].astype(int)
    return X, (digit == positive).astype(int), digit


def load_penguin_mass():
    """Return flipper length and body mass of the penguins with both measured.

    Returns
    -------
    X : ndarray of shape (342, 1)
        Flipper length in mm.
    y : ndarray of shape (342,)
        Body mass in g.
    """
    frame = load_dataset("penguins_raw.csv")
    frame = frame[["Flipper Length (mm)", "Body Mass (g)"]].dropna()
    return frame[["Flipper Length (mm)"]].to_numpy(float), frame["Body Mass (g)"].to_numpy(float)


def reliability_table(y_true, prob, n_bins: int = 10):
    """Group predicted probabilities into equal-width bins and compare with outcomes.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        0/1 outcomes.
    prob : array-like of shape (n,)
        Predicted probabilities of the positive class, in [0, 1].
    n_bins : int, default=10
        Number of equal-width bins on [0, 1]; empty bins are left out.

    Returns
    -------
    mean_prob : ndarray
        Mean predicted probability in each non-empty bin.
    frac_pos : ndarray
        Observed fraction of positives in each non-empty bin.
    count : ndarray
        Number of samples in each non-empty bin.

    Notes
    -----
    Matches :func:`sklearn.calibration.calibration_curve` with
    ``strategy="uniform"`` and also returns the bin counts.
    """
    y_true, prob = _outcomes_and_probabilities(y_true, prob)
    n_bins = check.integer(n_bins, "n_bins", minimum=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], prob, side="right")
    count = np.bincount(bins, minlength=n_bins)
    total_prob = np.bincount(bins, weights=prob, minlength=n_bins)
    total_pos = np.bincount(bins, weights=y_true, minlength=n_bins)
    keep = count > 0
    return total_prob[keep] / count[keep], total_pos[keep] / count[keep], count[keep]


def _outcomes_and_probabilities(y_true, prob):
    """0/1 outcomes and probabilities in [0, 1], as float vectors of one length."""
    y_true = check.vector(y_true, "y_true")
    prob = check.vector(prob, "prob")
    check.same_length(("y_true", y_true), ("prob", prob))
    if not np.isin(y_true, (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0/1 outcomes (1 = positive); "
                         f"got the values {np.unique(y_true)[:5].tolist()}.")
    if prob.min() < 0 or prob.max() > 1:
        raise ValueError("prob must hold probabilities in [0, 1] (predict_proba(X)[:, 1]); "
                         f"got values from {prob.min():g} to {prob.max():g}.")
    return y_true, prob


def _point(value, name: str):
    """An optional (x, y) pair of finite numbers."""
    if value is None:
        return None
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (x, y) of numbers; got {value!r}.")
    return tuple(check.real(v, f"{name}[{i}]") for i, v in enumerate(value))


def _curve(x, y, x_name: str, y_name: str):
    """Two rate vectors of one length, each in [0, 1]."""
    x, y = check.vector(x, x_name), check.vector(y, y_name)
    check.same_length((x_name, x), (y_name, y))
    for name, values in ((x_name, x), (y_name, y)):
        if values.min() < 0 or values.max() > 1:
            raise ValueError(f"{name} must hold rates in [0, 1]; "
                             f"got values from {values.min():g} to {values.max():g}.")
    return x, y


def plot_confusion_matrix(cm, labels, *, ax=None, title="Confusion matrix"):
    """Draw a confusion matrix as a heat map with the counts written in the cells.

    Parameters
    ----------
    cm : array-like of shape (k, k)
        Counts, rows = true class, columns = predicted class.
    labels : sequence of length k
        Class names in the order of the rows.
    ax : matplotlib.axes.Axes, optional
    title : str

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    cm = check.matrix(cm, "cm")
    if cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(f"cm must be square with one row per label: {len(labels)} labels, "
                         f"cm of shape {cm.shape}.")
    ax = new_axes(title, "predicted class", "true class", ax=ax)
    ax.grid(False)
    image = ax.imshow(cm, cmap="Blues")
    ax.figure.colorbar(image, ax=ax, label="number of samples")
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, [str(v) for v in labels])
    ax.set_yticks(ticks, [str(v) for v in labels])
    middle = cm.max() / 2 if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{cm[i, j]:g}", ha="center", va="center",
                    color="white" if cm[i, j] > middle else "black")
    return ax


def _mark(ax, x, y, label):
    ax.plot([x], [y], "o", ms=9, color=COLORS[3], label=label, zorder=5)


def plot_roc(fpr, tpr, *, auc=None, operating_point=None, ax=None, label="model"):
    """Plot a ROC curve, the chance diagonal and optionally an operating point.

    Parameters
    ----------
    fpr, tpr : array-like
        False- and true-positive rates, one point per threshold.
    auc : float, optional
        Shown in the legend.
    operating_point : tuple of float, optional
        ``(fpr, tpr)`` of the threshold in use.
    ax : matplotlib.axes.Axes, optional
    label : str

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    fpr, tpr = _curve(fpr, tpr, "fpr", "tpr")
    operating_point = _point(operating_point, "operating_point")
    if auc is not None:
        check.real(auc, "auc", minimum=0.0, maximum=1.0)
    ax = new_axes("ROC curve", "false-positive rate (FP / negatives)",
                  "true-positive rate = recall", ax=ax)
    text = label if auc is None else f"{label} (AUC = {auc:.3f})"
    ax.plot(fpr, tpr, drawstyle="default", label=text)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="chance (AUC = 0.5)")
    if operating_point is not None:
        _mark(ax, *operating_point, "operating point")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.legend(loc="lower right")
    return ax


def plot_precision_recall(precision, recall, *, prevalence=None, operating_point=None,
                          ax=None, label="model"):
    """Plot a precision-recall curve with the no-skill level and an operating point.

    Parameters
    ----------
    precision, recall : array-like
        One point per threshold.
    prevalence : float, optional
        Fraction of positives: the precision of a classifier that guesses.
    operating_point : tuple of float, optional
        ``(recall, precision)`` of the threshold in use.
    ax : matplotlib.axes.Axes, optional
    label : str

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    precision, recall = _curve(precision, recall, "precision", "recall")
    operating_point = _point(operating_point, "operating_point")
    if prevalence is not None:
        check.real(prevalence, "prevalence", minimum=0.0, maximum=1.0)
    ax = new_axes("Precision-recall curve", "recall (TP / positives)",
                  "precision (TP / predicted positives)", ax=ax)
    ax.plot(recall, precision, label=label)
    if prevalence is not None:
        ax.axhline(prevalence, ls="--", color="grey", label=f"no skill ({prevalence:.2f})")
    if operating_point is not None:
        _mark(ax, *operating_point, "operating point")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.05)
    ax.legend(loc="lower left")
    return ax


def plot_reliability(y_true, prob, *, n_bins=10, ax=None, label="model"):
    """Draw a reliability (calibration) diagram with the bin sizes underneath.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        0/1 outcomes.
    prob : array-like of shape (n,)
        Predicted probabilities of the positive class.
    n_bins : int, default=10
    ax : matplotlib.axes.Axes, optional
    label : str

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    mean_prob, frac_pos, count = reliability_table(y_true, prob, n_bins)
    ax = new_axes("Reliability diagram", "mean predicted probability in bin",
                  "observed fraction of positives", ax=ax)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfectly calibrated")
    ax.plot(mean_prob, frac_pos, "o-", label=label)
    for x, y, n in zip(mean_prob, frac_pos, count, strict=True):
        ax.annotate(f"n={n}", (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left")
    return ax


def plot_folds(folds, y=None, *, ax=None, title="Cross-validation folds"):
    """Show which samples each fold tests on (one row per fold).

    Parameters
    ----------
    folds : list of (train_idx, test_idx)
        Index arrays as returned by a splitter.
    y : array-like of shape (n,), optional
        Binary labels; positives in a test fold are drawn in a second colour.
    ax : matplotlib.axes.Axes, optional
    title : str

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    folds = _folds(folds)
    n = 1 + max(int(np.max(np.concatenate([tr, te]))) for tr, te in folds)
    if y is not None:
        y = check.vector(y, "y", min_length=n)
    grid = np.zeros((len(folds), n))
    for k, (_, test) in enumerate(folds):
        grid[k, test] = 1
        if y is not None:
            grid[k, test[y[test] == 1]] = 2
    caption = "blue: test sample" + ("; orange: positive test sample" if y is not None else "")
    ax = new_axes(title, f"sample index ({caption})", "fold", ax=ax)
    ax.grid(False)
    from matplotlib.colors import ListedColormap

    ax.imshow(grid, aspect="auto", interpolation="nearest",
              cmap=ListedColormap(["#EEEEEE", COLORS[0], COLORS[1]]), vmin=0, vmax=2)
    ax.set_yticks(range(len(folds)), [str(k) for k in range(len(folds))])
    return ax


def _folds(folds) -> list:
    """A non-empty list of (train_idx, test_idx) pairs of non-negative integer arrays."""
    folds = list(folds)
    if not folds:
        raise ValueError("folds must hold at least one (train_idx, test_idx) pair.")
    checked = []
    for k, fold in enumerate(folds):
        if len(fold) != 2:
            raise ValueError(f"folds[{k}] must be a pair (train_idx, test_idx); got {len(fold)} items.")
        pair = [np.asarray(part) for part in fold]
        for name, part in zip(("train_idx", "test_idx"), pair, strict=True):
            if part.size and (not np.issubdtype(part.dtype, np.integer) or part.min() < 0):
                raise ValueError(f"folds[{k}]'s {name} must hold non-negative integer positions; "
                                 f"got dtype {part.dtype}.")
        checked.append(tuple(part.astype(int) for part in pair))
    return checked


def plot_bootstrap(stats, *, estimate, low, high, ax=None, what="accuracy"):
    """Histogram of bootstrap replicates with the estimate and the interval.

    Parameters
    ----------
    stats : array-like
        The metric on each bootstrap resample.
    estimate : float
        The metric on the full test set.
    low, high : float
        Interval bounds.
    ax : matplotlib.axes.Axes, optional
    what : str
        Name of the metric for the axis label.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    stats = check.vector(stats, "stats")
    estimate, low, high = (check.real(v, k) for k, v in
                           (("estimate", estimate), ("low", low), ("high", high)))
    if low > high:
        raise ValueError(f"low must not exceed high; got low={low:g}, high={high:g}.")
    ax = new_axes("Bootstrap distribution", f"{what} on a resampled test set",
                  "number of resamples", ax=ax)
    ax.hist(stats, bins=30, color=COLORS[0], alpha=0.7)
    ax.axvline(estimate, color="black", label=f"estimate {estimate:.3f}")
    ax.axvspan(low, high, color=COLORS[1], alpha=0.2, label=f"interval [{low:.3f}, {high:.3f}]")
    ax.legend(loc="upper left")
    return ax

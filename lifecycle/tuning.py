"""Hyper-parameter tuning: the lesson ``04_tuning``'s data, experiments and plots.

The notebook keeps only the ideas; the plumbing lives here:

- :func:`load_penguin_sex` and :func:`make_folds`: the classification task
  (sex of a penguin from its measurements, lesson 01's tidy columns) and fixed
  cross-validation folds,
- :func:`early_stopping_data`: a small, over-parameterised regression task on
  which plain gradient descent over-fits,
- :func:`selection_bias_experiment`: the optimism of the winning score on
  labels that carry no signal at all,
- :func:`run_stopping_rule`: feeds a validation curve to a stopping rule one
  step at a time, so that the rule cannot look ahead,
- plots: :func:`plot_validation_curve`, :func:`plot_learning_curve`,
  :func:`plot_grid_heatmap`, :func:`plot_search_points`,
  :func:`plot_selection_bias`, :func:`plot_early_stopping`.
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.utils.validation import check_array, check_consistent_length, check_scalar
from threadpoolctl import threadpool_limits

from lifecycle.feedback import call_each
from lifecycle.plotting import COLORS, decades_only, new_axes
from lifecycle.preprocessing import NUMERIC_FEATURES, load_penguins

__all__ = [
    "MEASUREMENTS",
    "single_threaded_math",
    "load_penguin_sex",
    "make_folds",
    "add_noise_features",
    "run_stopping_rule",
    "early_stopping_data",
    "selection_bias_experiment",
    "plot_validation_curve",
    "plot_learning_curve",
    "plot_grid_heatmap",
    "plot_search_points",
    "plot_selection_bias",
    "plot_early_stopping",
]

#: Numeric columns of lesson 01's tidy penguins table used as features.
MEASUREMENTS = list(NUMERIC_FEATURES)


def single_threaded_math() -> None:
    """Run numpy's and scikit-learn's linear algebra on one thread from now on.

    The lesson fits hundreds of tiny models. On a shared machine, multi-threaded
    BLAS spends far more time waking its threads than computing: a logistic
    regression on 333 rows takes about 1 ms on one thread and can take 50 ms
    or more with several threads competing for the same cores.
    """
    threadpool_limits(limits=1)


def load_penguin_sex():
    """Return the penguins with a known sex and all four measurements.

    Returns
    -------
    X : ndarray of shape (333, 7)
        The four measurements of :data:`MEASUREMENTS` (lesson 01's tidy
        names, in their own units), then a one-hot encoding of the species
        (Adelie, Chinstrap, Gentoo).
    y : ndarray of shape (333,)
        1 for a male, 0 for a female.
    feature_names : list of str
        Names of the columns of ``X``.
    """
    penguins = load_penguins()
    rows = penguins.dropna(subset=MEASUREMENTS + ["sex"])
    species = pd.get_dummies(rows["species"], dtype=float)
    X = np.hstack([rows[MEASUREMENTS].to_numpy(dtype=float), species.to_numpy()])
    y = (rows["sex"] == "male").to_numpy().astype(int)
    return X, y, MEASUREMENTS + [f"species={s}" for s in species.columns]


def make_folds(X, y, n_splits: int = 5, seed: int = 0) -> list:
    """Return fixed stratified cross-validation folds as index arrays.

    Parameters
    ----------
    X : array-like of shape (n, d)
    y : array-like of shape (n,)
        Class labels; each fold keeps their proportions.
    n_splits : int, default=5
    seed : int, default=0
        Seed of the shuffle before splitting.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        ``(train_indices, test_indices)`` per fold; usable as ``cv=folds`` in
        every scikit-learn search or curve. The training indices come in a
        random order, so ``train[:m]`` is a random subset of size ``m`` (what a
        learning curve fits on).
    """
    check_scalar(n_splits, "n_splits", numbers.Integral, min_val=2)
    X = check_array(X, dtype=None, ensure_all_finite=False)
    y = check_array(y, ensure_2d=False, dtype=None)
    check_consistent_length(X, y)
    rng = np.random.default_rng(seed)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(rng.permutation(train), test) for train, test in splitter.split(X, y)]


def add_noise_features(X, n_noise: int, seed: int = 0) -> np.ndarray:
    """Append columns of standard normal noise to ``X``.

    Parameters
    ----------
    X : array-like of shape (n, d)
    n_noise : int
        Number of pure-noise columns to append.
    seed : int, default=0

    Returns
    -------
    X_noisy : ndarray of shape (n, d + n_noise)
    """
    check_scalar(n_noise, "n_noise", numbers.Integral, min_val=0)
    X = check_array(X, dtype=float)
    noise = np.random.default_rng(seed).standard_normal((X.shape[0], n_noise))
    return np.hstack([X, noise])


def early_stopping_data(n_train: int = 40, n_val: int = 150, degree: int = 4, seed: int = 0):
    """Predict body mass from degree-``degree`` polynomials of three measurements.

    With 35 polynomial features and 40 training penguins, least squares
    over-fits; gradient descent from zero reaches the over-fitted solution only
    slowly, which is what early stopping exploits.

    Parameters
    ----------
    n_train, n_val : int
        Sizes of the training and validation sets (disjoint random penguins).
    degree : int, default=4
        Degree of the polynomial features.
    seed : int, default=0
        Seed of the random split.

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        Features standardised with training statistics, with a first column of
        ones for the intercept; targets standardised with the training mean
        and standard deviation.
    """
    check_scalar(n_train, "n_train", numbers.Integral, min_val=2)
    check_scalar(n_val, "n_val", numbers.Integral, min_val=1)
    check_scalar(degree, "degree", numbers.Integral, min_val=1)
    penguins = load_penguins()
    columns = MEASUREMENTS[:3]
    rows = penguins.dropna(subset=columns + ["body_mass_g"])
    if n_train + n_val > len(rows):
        raise ValueError(f"n_train + n_val = {n_train + n_val} exceeds the {len(rows)} penguins "
                         "with all measurements")
    X = rows[columns].to_numpy(dtype=float)
    y = rows["body_mass_g"].to_numpy(dtype=float)
    order = np.random.default_rng(seed).permutation(len(y))
    train, val = order[:n_train], order[n_train:n_train + n_val]
    scale = StandardScaler().fit(X[train])
    poly = PolynomialFeatures(degree, include_bias=False)
    F_train = poly.fit_transform(scale.transform(X[train]))
    F_val = poly.transform(scale.transform(X[val]))
    scale_f = StandardScaler().fit(F_train)
    F_train, F_val = scale_f.transform(F_train), scale_f.transform(F_val)
    mean, std = y[train].mean(), y[train].std()
    ones = np.ones
    return (np.hstack([ones((len(train), 1)), F_train]), (y[train] - mean) / std,
            np.hstack([ones((len(val), 1)), F_val]), (y[val] - mean) / std)


def selection_bias_experiment(estimator, param_grid, n_samples: int = 120, n_features: int = 5,
                              n_repeats: int = 8, seed: int = 0):
    """Tune on data whose labels are pure noise; compare the two estimates.

    For each repeat, random features and random balanced labels are drawn, so
    no model can beat 50 % accuracy on new data. The winning candidate's
    cross-validated score (``best_score_``) is still above 50 % on average:
    the maximum of noisy estimates is biased upwards. Nested cross-validation
    scores each winner on data its selection never saw.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Its ``fit`` must start afresh (no ``warm_start``): each candidate is
        one copy, refitted on every fold.
    param_grid : dict
        Grid searched with 5-fold cross-validation (3-fold inside the nested loop).
    n_samples, n_features : int
        Size of each random data set.
    n_repeats : int
        Number of data sets.
    seed : int, default=0

    Returns
    -------
    non_nested, nested : ndarray of shape (n_repeats,)
        ``best_score_`` of the search, and the mean outer score of nested CV,
        exactly as ``GridSearchCV`` and ``cross_val_score`` compute them
        (written as loops: the lesson runs hundreds of tiny fits, and the
        library's per-fit bookkeeping would dominate their cost).
    """
    check_scalar(n_repeats, "n_repeats", numbers.Integral, min_val=1)
    check_scalar(n_samples, "n_samples", numbers.Integral, min_val=10)
    check_scalar(n_features, "n_features", numbers.Integral, min_val=1)
    # one copy per candidate, refitted on each fold: cloning for every fit would cost
    # as much as the tiny fit itself
    candidates = [clone(estimator).set_params(**params) for params in ParameterGrid(param_grid)]
    rng = np.random.default_rng(seed)
    non_nested, nested = [], []
    for repeat in range(n_repeats):
        X = rng.standard_normal((n_samples, n_features))
        y = rng.permutation(np.arange(n_samples) % 2)
        # the first data set's fits check every candidate's parameters; checking them again
        # on each later fit would cost a third of these tiny fits and find nothing new
        with config_context(skip_parameter_validation=repeat > 0):
            non_nested.append(_search(candidates, X, y, 5)[1])
            nested.append(_nested_score(candidates, X, y))
    return np.array(non_nested), np.array(nested)


def _nested_score(candidates, X, y):
    # the folds cross_val_score(GridSearchCV(cv=3), cv=5) uses for a classifier
    outer = []
    for train, test in StratifiedKFold(5).split(X, y):
        best, _ = _search(candidates, X[train], y[train], 3)
        outer.append(_accuracy(best.fit(X[train], y[train]), X[test], y[test]))
    return np.mean(outer)


def _search(candidates, X, y, n_splits):
    # GridSearchCV's choice (first best mean score) without its per-fit overhead
    folds = list(StratifiedKFold(n_splits).split(X, y))
    means = [np.mean([_accuracy(model.fit(X[tr], y[tr]), X[te], y[te]) for tr, te in folds])
             for model in candidates]
    best = int(np.argmax(means))
    return candidates[best], means[best]


def _accuracy(classifier, X, y):
    # what a classifier's .score computes, without accuracy_score's checks of its inputs
    return np.mean(classifier.predict(X) == y)


def run_stopping_rule(should_stop, losses):
    """Feed a validation curve to a stopping rule one step at a time.

    At step ``t = 0, 1, ...`` the rule gets a copy of the losses seen so far,
    ``losses[:t + 1]``, and returns True to stop there; it never sees a later
    step, as in a real training run.

    Parameters
    ----------
    should_stop : callable
        ``should_stop(history) -> bool`` with ``history`` a 1-D float array.
    losses : array-like of float, shape (T + 1,)
        Validation loss at steps ``0..T``.

    Returns
    -------
    stop_step : int
        The step at which the rule stopped, ``T`` if it never did.
    best_step : int
        The step with the lowest loss among steps ``0..stop_step`` (the first
        on ties): the parameters a run would keep.

    Raises
    ------
    ValueError
        If ``losses`` is empty or not 1-D, or ``should_stop`` is not callable.
    """
    if not callable(should_stop):
        raise ValueError(f"should_stop must be a function of the history, got {should_stop!r}")
    losses = check_array(losses, ensure_2d=False, dtype=float, ensure_min_samples=1)
    if losses.ndim != 1:
        raise ValueError(f"losses must be 1-D (one loss per step), got shape {losses.shape}")
    # One call per step, up to the first True; when the rule is a learner's answer graded
    # in another process, the steps travel in one request (call_each), not hundreds.
    said = call_each(should_stop, ((losses[:t + 1].copy(),) for t in range(len(losses))),
                     until_true=True)
    stop = len(said) - 1
    return stop, int(np.argmin(losses[:stop + 1]))


def plot_validation_curve(values, train_scores, val_scores, *, param_name: str, chosen=None,
                          log_x: bool = True, score_name: str = "accuracy", ax=None):
    """Plot mean training and validation scores against one hyper-parameter.

    Parameters
    ----------
    values : array-like of shape (k,)
        Values of the hyper-parameter.
    train_scores, val_scores : array-like of shape (k,) or (k, n_folds)
        Scores; a 2-D array is averaged over folds and its spread shaded.
    param_name : str
        Name on the x axis.
    chosen : float, optional
        Value picked by a search, marked with a vertical line.
    log_x : bool, default=True
    score_name : str, default="accuracy"
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = new_axes(f"Validation curve over {param_name}", param_name, f"mean CV {score_name}", ax=ax)
    values = np.asarray(values, dtype=float)
    for scores, label, color in [(train_scores, "training", COLORS[0]),
                                 (val_scores, "validation", COLORS[1])]:
        scores = np.asarray(scores, dtype=float)
        mean = scores.mean(axis=1) if scores.ndim == 2 else scores
        ax.plot(values, mean, "o-", color=color, label=label)
        if scores.ndim == 2:
            std = scores.std(axis=1)
            ax.fill_between(values, mean - std, mean + std, color=color, alpha=0.15)
    if chosen is not None:
        ax.axvline(chosen, color=COLORS[3], ls="--", label=f"chosen {param_name} = {chosen:g}")
    if log_x:
        ax.set_xscale("log")
        decades_only(ax.xaxis)
    ax.legend()
    return ax


def plot_learning_curve(sizes, train_scores, val_scores, *, label: str = "", ax=None,
                        score_name: str = "accuracy", color=None):
    """Plot training and validation scores against the training set size.

    Parameters
    ----------
    sizes : array-like of shape (k,)
        Numbers of training samples.
    train_scores, val_scores : array-like of shape (k,) or (k, n_folds)
        Scores; 2-D arrays are averaged over folds.
    label : str
        Model name for the legend.
    ax : matplotlib.axes.Axes, optional
    score_name : str, default="accuracy"
    color : str, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes("Learning curve", "training samples", score_name)
    color = color or COLORS[0]
    train = np.asarray(train_scores, dtype=float)
    val = np.asarray(val_scores, dtype=float)
    train = train.mean(axis=1) if train.ndim == 2 else train
    val = val.mean(axis=1) if val.ndim == 2 else val
    ax.plot(sizes, train, "o--", color=color, label=f"{label} training".strip())
    ax.plot(sizes, val, "o-", color=color, label=f"{label} validation".strip())
    ax.legend()
    return ax


def plot_grid_heatmap(mean_scores, row_values, col_values, *, row_name: str, col_name: str,
                      ax=None):
    """Show mean CV scores of a 2-D grid as a heat map, best cell outlined.

    Parameters
    ----------
    mean_scores : array-like of shape (len(row_values), len(col_values))
    row_values, col_values : sequence
        Hyper-parameter values of the rows and columns.
    row_name, col_name : str
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    scores = np.asarray(mean_scores, dtype=float)
    ax = new_axes("Grid search: mean CV accuracy", col_name, row_name, ax=ax)
    ax.grid(False)
    image = ax.imshow(scores, cmap="viridis", origin="lower", aspect="auto")
    ax.figure.colorbar(image, ax=ax, label="mean CV accuracy")
    ax.set_xticks(range(len(col_values)), [f"{v:g}" for v in col_values])
    ax.set_yticks(range(len(row_values)), [f"{v:g}" for v in row_values])
    middle = (np.nanmin(scores) + np.nanmax(scores)) / 2
    for (i, j), value in np.ndenumerate(scores):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                color="k" if value > middle else "w")
    i, j = np.unravel_index(np.argmax(scores), scores.shape)
    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=COLORS[3], lw=2.5))
    return ax


def plot_search_points(grid_points, random_points, *, x_name: str, y_name: str,
                       grid_scores=None, random_scores=None, ax=None):
    """Compare where grid search and random search evaluate, on log axes.

    Parameters
    ----------
    grid_points, random_points : array-like of shape (k, 2)
        Evaluated ``(x, y)`` hyper-parameter pairs.
    x_name, y_name : str
    grid_scores, random_scores : array-like of shape (k,), optional
        Mean CV scores, shown as the marker colour.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = new_axes("Where each search looks (same budget)", x_name, y_name, ax=ax)
    grid_points = np.asarray(grid_points, dtype=float)
    random_points = np.asarray(random_points, dtype=float)
    ax.scatter(grid_points[:, 0], grid_points[:, 1], marker="s", s=70, c=grid_scores,
               cmap="viridis", edgecolors=COLORS[0], label="grid", vmin=0.5, vmax=1)
    dots = ax.scatter(random_points[:, 0], random_points[:, 1], marker="o", s=50, c=random_scores,
                      cmap="viridis", edgecolors=COLORS[3], label="random (log-uniform)",
                      vmin=0.5, vmax=1)
    if grid_scores is not None or random_scores is not None:
        ax.figure.colorbar(dots, ax=ax, label="mean CV accuracy")
    ax.set_xscale("log")
    ax.set_yscale("log")
    decades_only(ax.xaxis)
    decades_only(ax.yaxis)
    ax.legend(loc="lower right", framealpha=0.9, frameon=True)
    return ax


def plot_selection_bias(non_nested, nested, *, chance: float = 0.5, ax=None):
    """Plot the two estimates of each repeat of :func:`selection_bias_experiment`.

    Parameters
    ----------
    non_nested, nested : array-like of shape (n_repeats,)
    chance : float, default=0.5
        The true accuracy of any model on these data.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = new_axes("Labels are noise: how good does the winner look?", "data set",
                  "estimated accuracy", ax=ax)
    k = np.arange(len(non_nested))
    ax.plot(k, non_nested, "o", color=COLORS[3], label=f"best_score_ (mean {np.mean(non_nested):.3f})")
    ax.plot(k, nested, "s", color=COLORS[0], label=f"nested CV (mean {np.mean(nested):.3f})")
    ax.axhline(chance, color="k", ls=":", label="true accuracy (chance)")
    ax.legend()
    return ax


def plot_early_stopping(train_losses, val_losses, *, best_step=None, stop_step=None, ax=None):
    """Plot training and validation loss along a gradient-descent run.

    Parameters
    ----------
    train_losses, val_losses : array-like of shape (n_steps + 1,)
    best_step : int, optional
        Step with the lowest validation loss, marked.
    stop_step : int, optional
        Step at which early stopping halted, marked.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    ax = new_axes("Gradient descent: when to stop", "step t", "MSE (standardised units)", ax=ax)
    ax.plot(train_losses, color=COLORS[0], label="training loss")
    ax.plot(val_losses, color=COLORS[1], label="validation loss")
    if best_step is not None:
        ax.axvline(best_step, color=COLORS[3], ls="--", label=f"best step {best_step}")
    if stop_step is not None:
        ax.axvline(stop_step, color=COLORS[2], ls=":", label=f"stopped at {stop_step}")
    ax.set_yscale("log")
    ax.legend()
    return ax

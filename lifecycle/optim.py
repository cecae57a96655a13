"""Gradient-based optimisation: losses, reference optimizers, surfaces and plots.

The lesson ``02_optimizers`` keeps its plumbing here so the notebook shows only
the ideas. The reference API (used by later lessons too) is stable:

- :func:`mse_loss` and :func:`mse_gradient` for linear least squares,
- :func:`gd_trajectory`, plain gradient descent that records every iterate.

Around it: test surfaces (:func:`make_quadratic`, :func:`rosenbrock`), closed-form
trajectories on quadratics used as independent oracles, divergence detection, the
contour and loss-curve plots of the lesson, and the breast-cancer data loader.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lifecycle import arguments as check

__all__ = [
    "mse_loss",
    "mse_gradient",
    "gd_trajectory",
    "make_quadratic",
    "rosenbrock",
    "rosenbrock_gradient",
    "quadratic_gd_closed_form",
    "quadratic_momentum_closed_form",
    "losses_along",
    "detect_divergence",
    "plot_contours",
    "plot_trajectories",
    "plot_loss_curves",
    "article_adam_trajectory",
    "first_divergence",
    "guess_mistake",
    "BREAST_CANCER_FEATURES",
    "load_breast_cancer",
    "breast_cancer_split",
]


def mse_loss(theta, X, y) -> float:
    r"""Mean squared error of a linear model.

    .. math:: L(\theta) = \frac{1}{n} \sum_{i=1}^n (x_i^\top \theta - y_i)^2

    Parameters
    ----------
    theta : array-like of shape (d,)
        Parameters.
    X : array-like of shape (n, d)
        Design matrix (add a column of ones for an intercept).
    y : array-like of shape (n,)
        Targets.

    Returns
    -------
    loss : float
    """
    theta, X, y = _linear_problem(theta, X, y)
    residual = X @ theta - y
    return float(np.mean(residual ** 2))


def mse_gradient(theta, X, y) -> np.ndarray:
    r"""Gradient of :func:`mse_loss` with respect to ``theta``.

    .. math:: \nabla L(\theta) = \frac{2}{n} X^\top (X\theta - y)

    Parameters
    ----------
    theta : array-like of shape (d,)
    X : array-like of shape (n, d)
    y : array-like of shape (n,)

    Returns
    -------
    grad : ndarray of shape (d,)
    """
    theta, X, y = _linear_problem(theta, X, y)
    residual = X @ theta - y
    return 2.0 / X.shape[0] * (X.T @ residual)


def _linear_problem(theta, X, y):
    """``theta``, ``X``, ``y`` as float arrays of shapes (d,), (n, d), (n,)."""
    X = check.matrix(X, "X", allow_non_finite=True)
    y = check.vector(y, "y", length=X.shape[0], allow_non_finite=True)
    theta = check.vector(theta, "theta", length=X.shape[1], allow_non_finite=True)
    return theta, X, y


def gd_trajectory(grad_fn: Callable[[np.ndarray], np.ndarray], theta0, lr: float,
                  n_steps: int) -> np.ndarray:
    r"""Run plain gradient descent and return every iterate.

    .. math:: \theta_{t+1} = \theta_t - \eta \nabla L(\theta_t)

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(theta)`` returns the gradient at ``theta`` (same shape).
    theta0 : array-like of shape (d,)
        Starting point; it is copied, never modified.
    lr : float
        Learning rate :math:`\eta`.
    n_steps : int
        Number of updates :math:`T` (0 returns only the start).

    Returns
    -------
    trajectory : ndarray of shape (n_steps + 1, d)
        Row ``t`` is :math:`\theta_t`; row 0 is ``theta0``.
    """
    check.function(grad_fn, "grad_fn", "of theta returning the gradient")
    theta = check.vector(theta0, "theta0").copy()
    lr = check.real(lr, "lr", minimum=0.0, include_boundaries="neither")
    n_steps = check.integer(n_steps, "n_steps", minimum=0)
    trajectory = np.empty((n_steps + 1, theta.size))
    trajectory[0] = theta
    for t in range(n_steps):
        theta = theta - lr * np.asarray(grad_fn(theta), dtype=float).reshape(-1)
        trajectory[t + 1] = theta
    return trajectory


# ---------------------------------------------------------------- surfaces


def make_quadratic(A, b=None):
    r"""Return the loss and gradient functions of a quadratic bowl.

    .. math:: L(\theta) = \tfrac12 \theta^\top A \theta - b^\top \theta,
              \qquad \nabla L(\theta) = A\theta - b

    Parameters
    ----------
    A : array-like of shape (d, d)
        Symmetric positive definite curvature; its condition number
        :math:`\lambda_{max}/\lambda_{min}` sets how hard the bowl is.
    b : array-like of shape (d,), optional
        Linear term (zeros by default); the minimum is at :math:`A^{-1} b`.

    Returns
    -------
    loss_fn, grad_fn : callable
        ``loss_fn(theta) -> float`` and ``grad_fn(theta) -> ndarray of shape (d,)``;
        ``loss_fn`` also takes a grid of points of shape (d, ...) and returns one
        loss per point (shape ``theta.shape[1:]``).

    Examples
    --------
    >>> loss, grad = make_quadratic(np.diag([1.0, 10.0]))
    >>> grad(np.array([1.0, 1.0]))
    array([ 1., 10.])
    """
    A, b = _curvature(A, b)

    def loss_fn(theta):
        theta = np.asarray(theta, dtype=float)
        if theta.ndim == 1:
            return float(0.5 * theta @ A @ theta - b @ theta)
        # A grid of points, shape (d, ...): one loss per point, as a contour plot needs.
        return 0.5 * np.einsum("i...,ij,j...->...", theta, A, theta) - np.tensordot(b, theta, axes=1)

    def grad_fn(theta):
        return A @ np.asarray(theta, dtype=float) - b

    return loss_fn, grad_fn


def _curvature(A, b):
    """``A`` as a square float matrix and ``b`` (zeros when None) as a matching vector."""
    A = check.matrix(A, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square (d, d) matrix; got shape {A.shape}.")
    b = np.zeros(A.shape[0]) if b is None else check.vector(b, "b", length=A.shape[0])
    return A, b


def rosenbrock(theta, a: float = 1.0, b: float = 100.0) -> float:
    r"""Rosenbrock's banana function, minimum 0 at :math:`(a, a^2)`.

    .. math:: f(x, y) = (a - x)^2 + b\,(y - x^2)^2

    Parameters
    ----------
    theta : array-like of shape (2,) or (2, ...)
        The point(s) :math:`(x, y)`; extra axes are evaluated element-wise
        (used for contour grids).
    a, b : float
        Shape parameters.

    Returns
    -------
    value : float or ndarray
    """
    x, y = _point(theta)
    value = (a - x) ** 2 + b * (y - x ** 2) ** 2
    return float(value) if np.ndim(value) == 0 else value


def rosenbrock_gradient(theta, a: float = 1.0, b: float = 100.0) -> np.ndarray:
    """Gradient of :func:`rosenbrock` at a point of shape (2,).

    Returns
    -------
    grad : ndarray of shape (2,)
    """
    x, y = _point(theta)
    return np.array([-2 * (a - x) - 4 * b * x * (y - x ** 2), 2 * b * (y - x ** 2)])


def _point(theta) -> np.ndarray:
    """A point (or a grid of points) of the plane, as floats with a first axis of 2."""
    theta = np.asarray(theta, dtype=float)
    if theta.ndim == 0 or theta.shape[0] != 2:
        raise ValueError(f"theta must be a point (x, y) of shape (2,) or a grid of shape (2, ...); "
                         f"got shape {theta.shape}.")
    return theta


def _curves(value, name: str) -> dict:
    """A non-empty dict of label to curve (a plot's input)."""
    if not isinstance(value, dict) or not value:
        raise TypeError(f"{name} must be a non-empty dict of label to values, e.g. "
                        f"{{'GD lr=0.1': ...}}; got {type(value).__name__}.")
    return value


# --------------------------------------------------- closed-form oracles


def _bowl(A, b, theta0):
    """``A`` as floats, the bowl's minimiser and the start's offset from it."""
    A, b = _curvature(A, b)
    star = np.linalg.solve(A, b)
    return A, star, check.vector(theta0, "theta0", length=len(b)) - star


def quadratic_gd_closed_form(A, b, theta0, lr: float, n_steps: int) -> np.ndarray:
    r"""Gradient descent on :func:`make_quadratic`'s bowl, in closed form.

    With :math:`\theta^\star = A^{-1}b` the iterates are
    :math:`\theta_t = \theta^\star + (I - \eta A)^t (\theta_0 - \theta^\star)`,
    computed here by matrix powers, not by iterating the update.

    Returns
    -------
    trajectory : ndarray of shape (n_steps + 1, d)
    """
    A, star, start = _bowl(A, b, theta0)
    lr = check.real(lr, "lr")
    n_steps = check.integer(n_steps, "n_steps", minimum=0)
    contraction = np.eye(len(star)) - lr * A
    return np.array([star + np.linalg.matrix_power(contraction, t) @ start
                     for t in range(n_steps + 1)])


def quadratic_momentum_closed_form(A, b, theta0, lr: float, beta: float,
                                   n_steps: int) -> np.ndarray:
    r"""Heavy-ball momentum on a quadratic bowl, in closed form.

    The update :math:`v_{t+1} = \beta v_t + \nabla L(\theta_t)`,
    :math:`\theta_{t+1} = \theta_t - \eta v_{t+1}` (with :math:`v_0 = 0`) is
    the linear recursion
    :math:`\theta_{t+1} = \theta_t - \eta \nabla L(\theta_t) + \beta(\theta_t - \theta_{t-1})`,
    so :math:`(\theta_{t+1}, \theta_t) = M (\theta_t, \theta_{t-1})` for a
    fixed :math:`2d \times 2d` matrix :math:`M`; row ``t`` is read off :math:`M^t`.

    Returns
    -------
    trajectory : ndarray of shape (n_steps + 1, d)
    """
    A, star, e0 = _bowl(A, b, theta0)
    lr, beta = check.real(lr, "lr"), check.real(beta, "beta")
    n_steps = check.integer(n_steps, "n_steps", minimum=0)
    d = len(star)
    eye = np.eye(d)
    M = np.block([[(1 + beta) * eye - lr * A, -beta * eye], [eye, np.zeros((d, d))]])
    state = np.concatenate([e0, e0])  # theta_{-1} = theta_0: v_0 = 0
    out = [star + e0]
    for t in range(1, n_steps + 1):
        out.append(star + (np.linalg.matrix_power(M, t) @ state)[:d])
    return np.array(out)


def article_adam_trajectory(grad_fn, theta0, n_steps: int, lr: float = 1e-3,
                            betas=(0.9, 0.999), eps: float = 1e-8) -> np.ndarray:
    r"""Adam as the seed article writes it: **without** bias correction.

    .. math:: \theta_{t+1} = \theta_t - \eta \frac{m_t}{\sqrt{v_t} + \epsilon}

    Kept to show what the correction :math:`1/(1-\beta^t)` changes; do not
    train with it.

    Returns
    -------
    trajectory : ndarray of shape (n_steps + 1, d)
    """
    check.function(grad_fn, "grad_fn", "of theta returning the gradient")
    theta = check.vector(theta0, "theta0").copy()
    n_steps = check.integer(n_steps, "n_steps", minimum=0)
    lr, eps = check.real(lr, "lr", minimum=0.0), check.real(eps, "eps", minimum=0.0)
    beta1, beta2 = _betas(betas)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    out = [theta.copy()]
    for _ in range(n_steps):
        g = np.asarray(grad_fn(theta), dtype=float).reshape(-1)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        theta = theta - lr * m / (np.sqrt(v) + eps)
        out.append(theta.copy())
    return np.array(out)


def _betas(betas) -> tuple[float, float]:
    """Adam's ``(beta1, beta2)``, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), e.g. (0.9, 0.999); got {betas!r}.")
    return tuple(check.real(b, f"betas[{i}]", minimum=0.0, maximum=1.0, include_boundaries="left")
                 for i, b in enumerate(betas))


# ---------------------------------------------------------- loss curves


def losses_along(loss_fn: Callable[[np.ndarray], float], trajectory) -> np.ndarray:
    """Evaluate a loss at every row of a trajectory.

    Returns
    -------
    losses : ndarray of shape (len(trajectory),)
        Non-finite where the iterate overflowed.
    """
    check.function(loss_fn, "loss_fn", "of theta returning the loss")
    trajectory = check.matrix(trajectory, "trajectory", allow_non_finite=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array([loss_fn(theta) for theta in trajectory])


def detect_divergence(losses, factor: float = 1e3):
    """Return the first step at which a loss curve has diverged, or None.

    A run has diverged at step ``t`` when ``losses[t]`` is not finite (overflow,
    NaN) or exceeds ``factor`` times the starting loss (plus 1, so that a start
    at loss 0 is not flagged by rounding noise).

    Parameters
    ----------
    losses : array-like of shape (T + 1,)
        Loss at each iterate, starting point first.
    factor : float, default=1e3
        How many times the initial loss counts as blown up.

    Returns
    -------
    step : int or None
    """
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1:
        raise ValueError(f"losses must be a 1-D sequence, one loss per step; got shape {losses.shape}.")
    factor = check.real(factor, "factor", minimum=0.0, include_boundaries="neither")
    if losses.size == 0:
        return None
    limit = factor * (abs(losses[0]) + 1.0)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(losses) | (np.abs(losses) > limit)
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


def first_divergence(actual, expected, rtol: float = 1e-5, atol: float = 1e-8):
    """Return the first row where two trajectories disagree, or None.

    Used by feedback messages ("your trajectory leaves the reference at step 3").

    Returns
    -------
    row : int or None
        None when the shapes differ or all rows agree.
    """
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return None
    close = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    rows = np.flatnonzero(~close.reshape(len(close), -1).all(axis=1)) if close.ndim else []
    return int(rows[0]) if len(rows) else None


def guess_mistake(actual, candidates: dict, default: str | None = None, *,
                  rtol: float = 1e-4, atol: float = 1e-8) -> str | None:
    """Name the mistake whose wrong value matches what a learner returned.

    Parameters
    ----------
    actual : array-like
        The learner's value.
    candidates : dict of str to array-like
        Hint to the value that mistake would give, e.g.
        ``{"the sign is flipped": -expected}``.
    default : str, optional
        Returned when no candidate matches.

    Returns
    -------
    hint : str or None
    """
    if not isinstance(candidates, dict):
        raise TypeError(f"candidates must be a dict of hint to the value that mistake gives; "
                        f"got {type(candidates).__name__}.")
    try:
        got = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        return default
    for hint, wrong in candidates.items():
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
            return hint
    return default


# ---------------------------------------------------------------- plots


def plot_contours(loss_fn, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), *, ax=None,
                  title: str = "Loss surface", levels: int = 25, log: bool = True,
                  resolution: int = 120):
    """Draw the contour lines of a loss of two parameters.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(theta) -> float`` for ``theta`` of shape (2,). A function that also
        takes the whole grid, shape (2, ny, nx), and returns one loss per point (as
        :func:`rosenbrock` and :func:`make_quadratic`'s losses do) is called once;
        any other is called point by point.
    xlim, ylim : tuple of float
        Ranges of :math:`\theta_1` and :math:`\theta_2`.
    ax : matplotlib.axes.Axes, optional
    title : str
    levels : int
        Number of contour levels.
    log : bool, default=True
        Space the levels logarithmically (for surfaces like Rosenbrock).
    resolution : int
        Grid points per axis.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    from lifecycle.plotting import new_axes

    check.function(loss_fn, "loss_fn", "of theta (shape (2,)) returning the loss")
    levels = check.integer(levels, "levels", minimum=2)
    resolution = check.integer(resolution, "resolution", minimum=2)
    ax = new_axes(title, r"$\theta_1$", r"$\theta_2$", ax=ax)
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    values = _grid_values(loss_fn, np.stack([grid_x, grid_y]))
    low, high = float(values.min()), float(values.max())
    if log:
        shift = low - 1e-3 * (high - low) - 1e-12
        bounds = shift + np.geomspace(low - shift, high - shift, levels)
    else:
        bounds = np.linspace(low, high, levels)
    ax.contour(grid_x, grid_y, values, levels=np.unique(bounds), cmap="Greys_r",
               linewidths=0.7, alpha=0.8)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return ax


def _grid_values(loss_fn, grid: np.ndarray) -> np.ndarray:
    """``loss_fn`` at every point of ``grid`` (shape (2, ny, nx)), as an array (ny, nx).

    One call on the whole grid is about a hundred times faster than a call per point;
    it is kept only when it returns one value per point and agrees with the per-point
    calls at the corners and the centre, so that a function which merely broadcasts
    without error cannot draw a wrong surface.
    """
    points = grid.reshape(2, -1).T
    with np.errstate(all="ignore"):
        try:
            values = np.asarray(loss_fn(grid), dtype=float)
        except Exception:  # noqa: BLE001 - any failure means "not grid-aware": fall back
            values = None
        if values is not None and values.shape == grid.shape[1:]:
            probes = [0, len(points) // 2, len(points) - 1]
            expected = [loss_fn(points[i]) for i in probes]
            if np.allclose(values.reshape(-1)[probes], expected, rtol=1e-9, atol=1e-12, equal_nan=True):
                return values
    return np.array([loss_fn(p) for p in points]).reshape(grid.shape[1:])


def plot_trajectories(loss_fn, trajectories: dict, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), *,
                      minimum=None, ax=None, title: str = "Optimizer trajectories", **contour_kwargs):
    """Draw optimizer paths on the contours of a loss of two parameters.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(theta) -> float``.
    trajectories : dict of str to array-like of shape (T + 1, 2)
        Label to iterates (start first), e.g. the output of :func:`gd_trajectory`.
    xlim, ylim : tuple of float
    minimum : array-like of shape (2,), optional
        Marked with a star.
    ax : matplotlib.axes.Axes, optional
    title : str
    **contour_kwargs
        Passed to :func:`plot_contours`.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    from lifecycle.plotting import COLORS

    trajectories = {label: check.matrix(path, f"trajectories[{label!r}]", allow_non_finite=True)
                    for label, path in _curves(trajectories, "trajectories").items()}
    ax = plot_contours(loss_fn, xlim, ylim, ax=ax, title=title, **contour_kwargs)
    for i, (label, path) in enumerate(trajectories.items()):
        path = np.asarray(path, dtype=float)
        color = COLORS[i % len(COLORS)]
        ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=1.5, marker=".", ms=3,
                label=f"{label} ({len(path) - 1} steps)")
        ax.plot(*path[0], "o", color=color, ms=6)
    if minimum is not None:
        ax.plot(*np.asarray(minimum, dtype=float), "*", color="black", ms=12, label="minimum")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_loss_curves(curves: dict, *, ax=None, title: str = "Loss during training",
                     xlabel: str = "step $t$", ylabel: str = r"loss $L(\theta_t)$",
                     factor: float = 1e3):
    """Plot loss curves on a log scale and flag the runs that diverge.

    Each curve is checked with :func:`detect_divergence`; a diverged run is
    drawn up to the step where it blew up, marked with a cross, and its legend
    entry says so.

    Parameters
    ----------
    curves : dict of str to array-like
        Label to losses per step (starting loss first).
    ax : matplotlib.axes.Axes, optional
    title, xlabel, ylabel : str
    factor : float
        Passed to :func:`detect_divergence`.

    Returns
    -------
    ax : matplotlib.axes.Axes
    diverged : dict of str to int or None
        Label to the step at which that run diverged (None if it did not).
    """
    from lifecycle.plotting import COLORS, decades_only, new_axes

    _curves(curves, "curves")
    ax = new_axes(title, xlabel, ylabel, ax=ax)
    diverged = {}
    for i, (label, losses) in enumerate(curves.items()):
        losses = np.asarray(losses, dtype=float)
        step = detect_divergence(losses, factor=factor)
        diverged[label] = step
        color = COLORS[i % len(COLORS)]
        shown = losses if step is None else losses[:step]
        tag = label if step is None else f"{label}: diverged at step {step}"
        ax.plot(np.arange(len(shown)), shown, color=color, label=tag)
        if step is not None and len(shown):
            ax.plot(len(shown) - 1, shown[-1], "x", color=color, ms=9, mew=2)
    ax.set_yscale("log")
    decades_only(ax.yaxis)
    ax.legend(loc="best", fontsize=8)
    return ax, diverged


# ------------------------------------------------------------------ data

#: Feature names of ``datasets/breast_cancer.csv``, in file order (as scikit-learn names them).
BREAST_CANCER_FEATURES = [
    f"{prefix}{name}{suffix}"
    for prefix, suffix in (("mean ", ""), ("", " error"), ("worst ", ""))
    for name in ("radius", "texture", "perimeter", "area", "smoothness", "compactness",
                 "concavity", "concave points", "symmetry", "fractal dimension")
]


def load_breast_cancer():
    """Load the Wisconsin diagnostic breast-cancer table with named columns.

    The shipped file (see ``datasets/README.md``) has no header; its first line
    is a summary that is skipped here.

    Returns
    -------
    frame : pandas.DataFrame of shape (569, 31)
        The 30 features of :data:`BREAST_CANCER_FEATURES` and ``malignant``
        (1 = malignant, 0 = benign; the file codes malignant as 0).
    """
    from lifecycle.datasets import load_dataset

    frame = load_dataset("breast_cancer.csv", skiprows=1, header=None,
                         names=BREAST_CANCER_FEATURES + ["target"])
    frame["malignant"] = 1 - frame.pop("target").astype(int)
    return frame


def breast_cancer_split(test_size: float = 0.25, seed: int = 0):
    """Stratified train/test split of the breast-cancer data, standardised on train.

    Parameters
    ----------
    test_size : float, default=0.25
        Fraction of rows held out.
    seed : int, default=0
        ``random_state`` of the split.

    Returns
    -------
    X_train, X_test : ndarray of shape (n_train, 30), (n_test, 30)
        Features scaled with the training mean and standard deviation only.
    y_train, y_test : ndarray of int
        1 = malignant.
    """
    from sklearn.model_selection import train_test_split

    check.real(test_size, "test_size", minimum=0.0, maximum=1.0, include_boundaries="neither")
    check.integer(seed, "seed", minimum=0)
    frame = load_breast_cancer()
    X = frame[BREAST_CANCER_FEATURES].to_numpy(dtype=float)
    y = frame["malignant"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test

"""Unit tests of lifecycle.optim: reference API, oracles, divergence, plots, data."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.optimize import approx_fprime, rosen, rosen_der  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from lifecycle import optim  # noqa: E402


@pytest.fixture
def regression():
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(40), rng.normal(size=(40, 3))]
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=40)
    return X, y


def test_mse_loss_matches_definition(regression):
    X, y = regression
    theta = np.array([0.1, 0.2, 0.3, 0.4])
    assert optim.mse_loss(theta, X, y) == pytest.approx(np.mean((X @ theta - y) ** 2))
    assert isinstance(optim.mse_loss(theta, X, y), float)


def test_mse_gradient_matches_finite_differences(regression):
    X, y = regression
    theta = np.array([0.1, 0.2, 0.3, 0.4])
    numeric = approx_fprime(theta, lambda t: optim.mse_loss(t, X, y), 1e-7)
    np.testing.assert_allclose(optim.mse_gradient(theta, X, y), numeric, rtol=1e-4, atol=1e-5)


def test_gd_trajectory_shape_start_and_lstsq(regression):
    X, y = regression
    theta0 = np.zeros(4)
    path = optim.gd_trajectory(lambda t: optim.mse_gradient(t, X, y), theta0, 0.1, 800)
    assert path.shape == (801, 4)
    np.testing.assert_array_equal(path[0], theta0)
    np.testing.assert_allclose(path[-1], np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-8)
    np.testing.assert_array_equal(theta0, np.zeros(4))
    assert optim.gd_trajectory(lambda t: t, [1, 2], 0.5, 0).shape == (1, 2)


def test_gd_matches_quadratic_closed_form():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    _, grad = optim.make_quadratic(A, b)
    np.testing.assert_allclose(optim.gd_trajectory(grad, [2.0, -1.0], 0.2, 40),
                               optim.quadratic_gd_closed_form(A, b, [2.0, -1.0], 0.2, 40), atol=1e-12)


def test_momentum_closed_form_matches_iteration():
    A = np.diag([0.5, 4.0, 9.0])
    b = np.array([1.0, 0.0, -2.0])
    _, grad = optim.make_quadratic(A, b)
    theta, v, path = np.array([1.0, 1.0, 1.0]), np.zeros(3), [np.array([1.0, 1.0, 1.0])]
    for _ in range(30):
        v = 0.7 * v + grad(theta)
        theta = theta - 0.05 * v
        path.append(theta)
    np.testing.assert_allclose(optim.quadratic_momentum_closed_form(A, b, [1, 1, 1], 0.05, 0.7, 30),
                               np.array(path), atol=1e-10)


def test_quadratic_loss_and_minimum():
    A = np.diag([1.0, 10.0])
    loss, grad = optim.make_quadratic(A, [1.0, 10.0])
    np.testing.assert_allclose(grad(np.array([1.0, 1.0])), [0.0, 0.0])
    assert loss([1.0, 1.0]) == pytest.approx(-5.5)


def test_rosenbrock_matches_scipy():
    for point in ([-1.2, 1.0], [0.3, 0.7], [1.0, 1.0]):
        assert optim.rosenbrock(point) == pytest.approx(rosen(np.array(point)))
        np.testing.assert_allclose(optim.rosenbrock_gradient(point), rosen_der(np.array(point)))
    grid = np.zeros((2, 3, 3))
    assert optim.rosenbrock(grid).shape == (3, 3)


def test_article_adam_first_step_is_too_large():
    path = optim.article_adam_trajectory(lambda t: np.ones(1), [0.0], 1)
    assert path[1, 0] == pytest.approx(-1e-3 * 0.1 / np.sqrt(1e-3), rel=1e-6)


@pytest.mark.parametrize(("losses", "expected"), [
    ([1.0, 0.5, 0.2], None),
    ([1.0, 10.0, 1e4], 2),
    ([1.0, np.inf, 3.0], 1),
    ([1.0, 2.0, np.nan], 2),
    ([0.0, 1e-9, 5.0], None),
    ([], None),
])
def test_detect_divergence(losses, expected):
    assert optim.detect_divergence(losses) == expected


def test_detect_divergence_on_gradient_descent():
    loss, grad = optim.make_quadratic(np.diag([1.0, 10.0]))
    fine = optim.losses_along(loss, optim.gd_trajectory(grad, [1.0, 1.0], 0.19, 100))
    blown = optim.losses_along(loss, optim.gd_trajectory(grad, [1.0, 1.0], 0.21, 200))
    assert optim.detect_divergence(fine) is None
    assert optim.detect_divergence(blown) is not None


def test_first_divergence_and_guess_mistake():
    a = np.zeros((4, 2))
    b = a.copy()
    b[2, 1] = 1.0
    assert optim.first_divergence(a, a) is None
    assert optim.first_divergence(a, b) == 2
    assert optim.first_divergence(a, np.zeros((3, 2))) is None
    assert optim.guess_mistake([-1.0, 2.0], {"flipped": [1.0, -2.0], "same": [-1.0, 2.0]}) == "same"
    assert optim.guess_mistake("x", {"a": [1.0]}, "default") == "default"
    assert optim.guess_mistake([3.0], {"a": [1.0]}) is None


def test_plots_label_and_flag_divergence():
    loss, grad = optim.make_quadratic(np.diag([1.0, 10.0]))
    ax = optim.plot_trajectories(loss, {"gd": optim.gd_trajectory(grad, [1.0, 1.0], 0.1, 10)},
                                 (-2, 2), (-2, 2), minimum=[0, 0], resolution=30)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    ax, diverged = optim.plot_loss_curves({"ok": [1.0, 0.5], "bad": [1.0, 1e5, np.inf]})
    assert diverged == {"ok": None, "bad": 1}
    assert "diverged at step 1" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert ax.get_yscale() == "log"
    assert ax.yaxis.get_minorticklocs().size > 0          # less than a decade: minor ticks kept
    ax, _ = optim.plot_loss_curves({"fast": 10.0 ** -np.arange(8.0)})
    assert ax.yaxis.get_minorticklocs().size == 0         # seven decades: powers of ten only
    plt.close("all")


def test_quadratic_loss_takes_a_grid():
    A, b = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0])
    loss, _ = optim.make_quadratic(A, b)
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 1, 4)))
    expected = np.array([[loss(grid[:, i, j]) for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(loss(grid), expected, rtol=1e-12)
    assert isinstance(loss(grid[:, 0, 0]), float)


@pytest.mark.parametrize("loss_fn", [
    optim.rosenbrock,                                  # grid-aware: one call
    lambda t: float(t[0] ** 2 + 3 * t[1] ** 2),        # float() of a grid raises: point by point
    lambda t: np.sum(np.asarray(t) ** 2),              # one number for the whole grid: point by point
    lambda t: np.asarray(t)[0] ** 2 + np.mean(t),      # right shape, wrong values on a grid: point by point
])
def test_contour_values_are_the_loss_at_each_point(loss_fn):
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 7), np.linspace(-1, 3, 6)))
    expected = np.array([[loss_fn(grid[:, i, j]) for j in range(7)] for i in range(6)])
    np.testing.assert_allclose(optim._grid_values(loss_fn, grid), expected, rtol=1e-12)


def test_breast_cancer_data():
    frame = optim.load_breast_cancer()
    assert frame.shape == (569, 31)
    assert list(frame.columns[:30]) == optim.BREAST_CANCER_FEATURES
    assert frame["malignant"].sum() == 212
    X_train, X_test, y_train, y_test = optim.breast_cancer_split(test_size=0.25, seed=0)
    assert X_train.shape == (426, 30) and X_test.shape == (143, 30)
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0), 1, atol=1e-12)
    assert abs(y_train.mean() - y_test.mean()) < 0.01   # stratified


def test_gd_on_breast_cancer_reaches_sklearn():
    X_train, _, y_train, _ = optim.breast_cancer_split()
    Xb = np.c_[np.ones(len(X_train)), X_train]
    n = len(y_train)

    def grad(theta):
        p = 1 / (1 + np.exp(-(Xb @ theta)))
        g = Xb.T @ (p - y_train) / n + theta / n
        g[0] -= theta[0] / n
        return g

    theta = optim.gd_trajectory(grad, np.zeros(31), 1.0, 4000)[-1]
    sk = LogisticRegression(C=1.0, max_iter=10000, tol=1e-10).fit(X_train, y_train)
    np.testing.assert_allclose(theta, np.r_[sk.intercept_, sk.coef_.ravel()], atol=1e-3)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: optim.gd_trajectory(lambda t: t, [1.0], 0.1, -1), ValueError, "n_steps == -1, must be >= 0"),
    (lambda: optim.gd_trajectory(lambda t: t, [1.0], 0.1, 2.5), TypeError, "n_steps must be an instance of"),
    (lambda: optim.gd_trajectory(lambda t: t, [1.0], -0.1, 3), ValueError, "lr == -0.1, must be > 0"),
    (lambda: optim.gd_trajectory(lambda t: t, [1.0], float("nan"), 3), ValueError, "lr"),
    (lambda: optim.gd_trajectory([1.0], [1.0], 0.1, 3), TypeError, "grad_fn must be a function"),
    (lambda: optim.gd_trajectory(lambda t: t, [[1.0, 2.0]], 0.1, 3), ValueError, "theta0"),
    (lambda: optim.mse_loss([1.0, 2.0], np.ones((4, 3)), np.ones(4)), ValueError, "theta must have 3 entries"),
    (lambda: optim.mse_gradient([1.0], np.ones((4, 1)), np.ones(5)), ValueError, "y must have 4 entries"),
    (lambda: optim.make_quadratic(np.ones((2, 3))), ValueError, "A must be a square"),
    (lambda: optim.make_quadratic(np.eye(2), [1.0]), ValueError, "b must have 2 entries"),
    (lambda: optim.rosenbrock([1.0, 2.0, 3.0]), ValueError, "theta must be a point"),
    (lambda: optim.quadratic_gd_closed_form(np.eye(2), None, [0, 0], 0.1, -2), ValueError, "n_steps"),
    (lambda: optim.article_adam_trajectory(lambda t: t, [1.0], 3, betas=(0.9,)), ValueError,
     "betas must be a pair"),
    (lambda: optim.article_adam_trajectory(lambda t: t, [1.0], 3, betas=(0.9, 1.0)), ValueError, "betas[1]"),
    (lambda: optim.losses_along("mse", np.zeros((3, 2))), TypeError, "loss_fn must be a function"),
    (lambda: optim.detect_divergence([[1.0, 2.0]]), ValueError, "losses must be a 1-D"),
    (lambda: optim.detect_divergence([1.0, 2.0], factor=0), ValueError, "factor"),
    (lambda: optim.guess_mistake([1.0], [("hint", 1.0)]), TypeError, "candidates must be a dict"),
    (lambda: optim.plot_loss_curves([1.0, 2.0]), TypeError, "curves must be a non-empty dict"),
    (lambda: optim.breast_cancer_split(test_size=1.5), ValueError, "test_size == 1.5"),
])
def test_bad_arguments_are_refused_with_what_to_pass(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)

"""Unit tests of lifecycle.tuning: data, folds, experiments and plots of lesson 04."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from lifecycle import tuning  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_load_penguin_sex_shapes_and_labels():
    X, y, names = tuning.load_penguin_sex()
    assert X.shape == (333, 7)
    assert y.shape == (333,)
    assert set(np.unique(y)) == {0, 1}
    assert int(y.sum()) == 168  # males
    assert names[:4] == tuning.MEASUREMENTS == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    assert names[4:] == ["species=Adelie", "species=Chinstrap", "species=Gentoo"]
    assert np.all(np.isfinite(X))
    np.testing.assert_array_equal(X[:, 4:].sum(axis=1), 1.0)  # one species each


def test_make_folds_partition_stratified_and_deterministic():
    X, y, _ = tuning.load_penguin_sex()
    folds = tuning.make_folds(X, y, n_splits=5, seed=0)
    assert len(folds) == 5
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(y)))
    for train, test in folds:
        assert not set(train) & set(test)
        assert len(train) + len(test) == len(y)
        assert abs(y[test].mean() - y.mean()) < 0.05
    # training indices are shuffled, so train[:m] is a random subset
    assert any(np.any(np.diff(train) < 0) for train, _ in folds)
    again = tuning.make_folds(X, y, n_splits=5, seed=0)
    for (a, b), (c, d) in zip(folds, again, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    other = tuning.make_folds(X, y, n_splits=5, seed=1)
    assert not np.array_equal(folds[0][1], other[0][1])


def test_add_noise_features():
    X = np.ones((10, 2))
    noisy = tuning.add_noise_features(X, 3, seed=4)
    assert noisy.shape == (10, 5)
    np.testing.assert_array_equal(noisy[:, :2], X)
    np.testing.assert_array_equal(noisy, tuning.add_noise_features(X, 3, seed=4))


def test_early_stopping_data_is_standardised_and_overparameterised():
    X_train, y_train, X_val, y_val = tuning.early_stopping_data()
    assert X_train.shape == (40, 35) and X_val.shape == (150, 35)
    np.testing.assert_allclose(X_train[:, 0], 1.0)
    np.testing.assert_allclose(X_train[:, 1:].mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(X_train[:, 1:].std(axis=0), 1.0, rtol=1e-10)
    assert abs(y_train.mean()) < 1e-10 and abs(y_train.std() - 1) < 1e-10
    # least squares over-fits: much worse on validation than on training
    fit = LinearRegression(fit_intercept=False).fit(X_train, y_train)
    train_mse = np.mean((fit.predict(X_train) - y_train) ** 2)
    val_mse = np.mean((fit.predict(X_val) - y_val) ** 2)
    assert val_mse > 5 * train_mse


def test_early_stopping_data_other_sizes():
    X_train, y_train, X_val, y_val = tuning.early_stopping_data(n_train=30, n_val=100, degree=3, seed=1)
    assert X_train.shape == (30, 20) and X_val.shape == (100, 20)
    assert y_train.shape == (30,) and y_val.shape == (100,)


def test_selection_bias_experiment_shows_optimism():
    non_nested, nested = tuning.selection_bias_experiment(
        DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3, 4, 6, 8]}, n_repeats=4)
    assert non_nested.shape == nested.shape == (4,)
    assert np.all((0 <= non_nested) & (non_nested <= 1))
    assert non_nested.mean() > 0.5          # the winner looks better than chance
    assert non_nested.mean() > nested.mean()


def test_selection_bias_experiment_computes_what_the_library_does():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    tree, grid = DecisionTreeClassifier(random_state=0), {"max_depth": [1, 3, 6]}
    non_nested, nested = tuning.selection_bias_experiment(tree, grid, n_samples=40, n_features=3,
                                                          n_repeats=2, seed=5)
    rng = np.random.default_rng(5)  # the same data sets, drawn in the same order
    for k in range(2):
        X, y = rng.standard_normal((40, 3)), rng.permutation(np.arange(40) % 2)
        assert non_nested[k] == pytest.approx(GridSearchCV(tree, grid, cv=5).fit(X, y).best_score_)
        assert nested[k] == pytest.approx(cross_val_score(GridSearchCV(tree, grid, cv=3), X, y, cv=5).mean())


def test_selection_bias_experiment_refuses_invalid_parameters():
    # later data sets skip scikit-learn's parameter checks: the first one must still run them
    with pytest.raises(ValueError, match="max_depth"):
        tuning.selection_bias_experiment(DecisionTreeClassifier(), {"max_depth": [1, -1]}, n_repeats=2)


def test_single_threaded_math_limits_blas():
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits():  # restore the limits afterwards
        tuning.single_threaded_math()
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())


def test_plots_are_labelled():
    values = np.logspace(-2, 2, 5)
    train, val = np.random.default_rng(0).random((2, 5, 3))
    ax = tuning.plot_validation_curve(values, train, val, param_name="C", chosen=1.0)
    assert ax.get_xlabel() == "C" and ax.get_title() and ax.get_ylabel()
    assert ax.get_xscale() == "log"
    assert len(ax.get_legend().get_texts()) == 3
    assert ax.xaxis.get_minorticklocs().size == 0      # four decades: the powers of ten suffice
    narrow = tuning.plot_validation_curve([1, 2, 5, 10], train[:4], val[:4], param_name="C")
    assert narrow.xaxis.get_minorticklocs().size > 0   # one decade: the minor ticks are the scale

    ax = tuning.plot_learning_curve([10, 20, 30], train[:3], val[:3], label="m")
    assert ax.get_xlabel() == "training samples" and len(ax.lines) == 2

    scores = np.arange(6.0).reshape(2, 3) / 10
    ax = tuning.plot_grid_heatmap(scores, [1, 10], [0.1, 1, 10], row_name="C", col_name="gamma")
    assert ax.get_xlabel() == "gamma" and ax.get_ylabel() == "C"
    assert len(ax.texts) == 6 and len(ax.patches) == 1

    ax = tuning.plot_search_points([(1, 1), (10, 1)], [(2, 0.5), (3, 0.2)], x_name="C",
                                   y_name="gamma", grid_scores=[0.6, 0.7], random_scores=[0.8, 0.9])
    assert ax.get_xscale() == ax.get_yscale() == "log"

    ax = tuning.plot_selection_bias([0.6, 0.55], [0.5, 0.48])
    assert ax.get_ylabel() == "estimated accuracy"

    ax = tuning.plot_early_stopping([3, 2, 1], [3, 2, 2.5], best_step=1, stop_step=2)
    assert ax.get_xlabel() == "step t" and len(ax.get_legend().get_texts()) == 4


def test_lesson_04s_claims_about_the_course_model_hold():
    """Lesson 04 section 7: the one-SE choice of C is 05's default, and 05 serves that C."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from lifecycle import deploy
    from lifecycle.preprocessing import TARGET, load_penguins, penguins_pipeline

    penguins = load_penguins().dropna(subset=[TARGET])
    folds = tuning.make_folds(penguins, penguins[TARGET], n_splits=5, seed=0)
    grid = [0.01, 0.1, 1.0, 10.0]  # the lesson's course_C
    table = np.array([[clone(penguins_pipeline()).set_params(model__C=C)
                       .fit(penguins.iloc[tr], penguins[TARGET].iloc[tr])
                       .score(penguins.iloc[te], penguins[TARGET].iloc[te]) for tr, te in folds]
                      for C in grid])
    means = table.mean(axis=1)
    best = int(np.argmax(means))
    within = means >= means[best] - table[best].std(ddof=1) / np.sqrt(len(folds)) - 1e-12
    one_se = grid[int(np.flatnonzero(within)[0])]
    default = penguins_pipeline().get_params()["model__C"]
    assert grid[best] == one_se == default == 1.0
    assert isinstance(penguins_pipeline()[-1], LogisticRegression)
    served = deploy.train_reference_bundle(seed=0)["model"][-1]
    assert isinstance(served, LogisticRegression) and served.C == default


def test_load_penguin_sex_uses_lesson_01s_tidy_columns():
    from lifecycle.preprocessing import NUMERIC_FEATURES

    _, _, names = tuning.load_penguin_sex()
    assert names[:4] == NUMERIC_FEATURES


def test_run_stopping_rule_feeds_the_history_step_by_step():
    seen = []

    def rule(history):
        seen.append(len(history))
        history[:] = 0.0          # a rule that scribbles on its copy changes nothing
        return len(history) == 4

    losses = np.array([3.0, 1.0, 2.0, 2.5, 0.5, 0.1])
    assert tuning.run_stopping_rule(rule, losses) == (3, 1)
    assert seen == [1, 2, 3, 4]
    assert tuning.run_stopping_rule(lambda h: False, losses) == (5, 5)


@pytest.mark.parametrize("call, message", [
    (lambda: tuning.make_folds(np.ones((4, 1)), [0, 1, 0, 1], n_splits=1), "n_splits"),
    (lambda: tuning.make_folds(np.ones((4, 1)), [0, 1, 0], n_splits=2), "inconsistent"),
    (lambda: tuning.add_noise_features(np.ones((3, 1)), -1), "n_noise"),
    (lambda: tuning.early_stopping_data(n_train=300, n_val=100), "exceeds"),
    (lambda: tuning.early_stopping_data(n_train=1), "n_train"),
    (lambda: tuning.run_stopping_rule(None, [1.0]), "should_stop"),
    (lambda: tuning.run_stopping_rule(lambda h: True, []), "minimum of 1"),
    (lambda: tuning.selection_bias_experiment(DecisionTreeClassifier(), {"max_depth": [1]},
                                              n_repeats=0), "n_repeats"),
])
def test_bad_arguments_get_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()

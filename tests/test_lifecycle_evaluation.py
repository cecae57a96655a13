"""Unit tests of lifecycle.evaluation (data loaders, reliability table, plots)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402

from lifecycle import evaluation as ev  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_digit_vs_rest_shapes_and_balance():
    X, y, digit = ev.load_digit_vs_rest()
    assert X.shape == (1797, 64) and y.shape == digit.shape == (1797,)
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert set(np.unique(digit)) == set(range(10))
    assert y.sum() == 174 and np.array_equal(y, (digit == 8).astype(int))


def test_digit_vs_rest_other_digit_and_bad_digit():
    _, y0, digit = ev.load_digit_vs_rest(positive=0)
    assert np.array_equal(y0, (digit == 0).astype(int))
    with pytest.raises(ValueError, match="digit"):
        ev.load_digit_vs_rest(positive=10)


def test_digits_match_scikit_learn_copy():
    from sklearn.datasets import load_digits

    X, _, digit = ev.load_digit_vs_rest()
    ref = load_digits()
    np.testing.assert_allclose(X * 16, ref.data)
    np.testing.assert_array_equal(digit, ref.target)


def test_penguin_mass_drops_missing_rows():
    X, y = ev.load_penguin_mass()
    assert X.shape == (342, 1) and y.shape == (342,)
    assert not np.isnan(X).any() and not np.isnan(y).any()
    assert 170 <= X.min() and X.max() <= 235 and 2500 <= y.min() and y.max() <= 6500


def test_reliability_table_matches_calibration_curve():
    rng = np.random.default_rng(0)
    prob = rng.random(500)
    y = (rng.random(500) < prob).astype(int)
    mean_prob, frac_pos, count = ev.reliability_table(y, prob, n_bins=8)
    ref_frac, ref_mean = calibration_curve(y, prob, n_bins=8, strategy="uniform")
    np.testing.assert_allclose(mean_prob, ref_mean)
    np.testing.assert_allclose(frac_pos, ref_frac)
    assert count.sum() == 500


def test_reliability_table_skips_empty_bins_and_edges():
    mean_prob, frac_pos, count = ev.reliability_table([0, 1, 1], [0.0, 1.0, 1.0], n_bins=5)
    np.testing.assert_allclose(mean_prob, [0.0, 1.0])
    np.testing.assert_allclose(frac_pos, [0.0, 1.0])
    np.testing.assert_array_equal(count, [1, 2])


def test_reliability_table_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        ev.reliability_table([0, 1], [0.5])
    with pytest.raises(ValueError, match="n_bins"):
        ev.reliability_table([0, 1], [0.5, 0.5], n_bins=0)


def test_plots_are_labelled():
    rng = np.random.default_rng(1)
    y = (rng.random(200) < 0.3).astype(int)
    p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    axes = [
        ev.plot_confusion_matrix([[50, 3], [7, 20]], ["no", "yes"]),
        ev.plot_roc([0, 0.2, 1], [0, 0.7, 1], auc=0.8, operating_point=(0.2, 0.7)),
        ev.plot_precision_recall([1, 0.8, 0.3], [0, 0.6, 1], prevalence=0.3,
                                 operating_point=(0.6, 0.8)),
        ev.plot_reliability(y, p),
        ev.plot_folds([(np.arange(5, 10), np.arange(5)), (np.arange(5), np.arange(5, 10))], y[:10]),
        ev.plot_bootstrap(rng.normal(0.8, 0.02, 300), estimate=0.8, low=0.76, high=0.84),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_confusion_heat_map_writes_counts():
    ax = ev.plot_confusion_matrix(np.array([[5, 1], [2, 9]]), [0, 1])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5", "9"]


def test_roc_plot_draws_operating_point_in_legend():
    ax = ev.plot_roc([0, 1], [0, 1], operating_point=(0.5, 0.5))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "operating point" in labels


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: ev.load_digit_vs_rest(positive="8"), ValueError, "positive must be a digit 0-9"),
    (lambda: ev.reliability_table([0, 1], [0.2]), ValueError, "y_true has 2, prob has 1"),
    (lambda: ev.reliability_table([0, 2], [0.2, 0.4]), ValueError, "0/1 outcomes"),
    (lambda: ev.reliability_table([0, 1], [0.2, 1.4]), ValueError, "probabilities in [0, 1]"),
    (lambda: ev.reliability_table([0, 1], [0.2, 0.4], n_bins=0), ValueError, "n_bins == 0"),
    (lambda: ev.reliability_table([], []), ValueError, "minimum of 1 is required"),
    (lambda: ev.plot_confusion_matrix([[1, 2], [3, 4]], ["a"]), ValueError, "one row per label"),
    (lambda: ev.plot_roc([0, 0.5, 1], [0, 1]), ValueError, "fpr has 3, tpr has 2"),
    (lambda: ev.plot_roc([0, 1], [0, 1], operating_point=0.3), ValueError, "operating_point must be a pair"),
    (lambda: ev.plot_precision_recall([0, 2], [0, 1]), ValueError, "precision must hold rates"),
    (lambda: ev.plot_folds([]), ValueError, "at least one (train_idx, test_idx)"),
    (lambda: ev.plot_folds([(np.array([0.5]), np.array([1]))]), ValueError, "integer positions"),
    (lambda: ev.plot_bootstrap([0.5, 0.6], estimate=0.55, low=0.7, high=0.6), ValueError,
     "low must not exceed high"),
])
def test_bad_arguments_are_refused_with_what_to_pass(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_fold_caption_is_the_axis_label_not_text_over_the_title():
    folds = [(np.arange(5, 10), np.arange(5)), (np.arange(5), np.arange(5, 10))]
    ax = ev.plot_folds(folds, np.array([0, 1] * 5), title="Plain k-fold")
    assert "orange: positive test sample" in ax.get_xlabel()
    assert len(ax.texts) == 0

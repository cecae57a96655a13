"""Unit tests of lifecycle.preprocessing (lesson 01's tools and plots)."""
from __future__ import annotations

import matplotlib.pyplot as plt  # the Agg backend is set by tests/conftest.py
import numpy as np
import pandas as pd
import pytest

from lifecycle import load_dataset
from lifecycle import preprocessing as pp


@pytest.fixture(scope="module")
def raw():
    return load_dataset("penguins_raw.csv")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_tidy_penguins_names_types_and_rows(raw):
    tidy = pp.tidy_penguins(raw)
    assert list(tidy.columns) == list(pp.PENGUIN_COLUMNS.values())
    assert len(tidy) == len(raw) == 344
    assert set(pp.NUMERIC_FEATURES + pp.CATEGORICAL_FEATURES + [pp.TARGET]) <= set(tidy.columns)
    assert tidy["species"].value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}
    assert set(tidy["sex"].dropna()) == {"male", "female"}
    assert tidy["sex"].isna().sum() == raw["Sex"].isna().sum() == 11
    for column in pp.NUMERIC_FEATURES:
        assert tidy[column].dtype == float
    # Missing values stay missing: deciding what to do with them is the lesson.
    assert tidy[pp.NUMERIC_FEATURES].isna().sum().tolist() == [2, 2, 2, 2]


def test_tidy_penguins_does_not_change_its_input(raw):
    before = raw.copy()
    pp.tidy_penguins(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_tidy_penguins_turns_unknown_sex_into_missing():
    raw = pd.DataFrame({k: ["x"] for k in pp.PENGUIN_COLUMNS})
    raw = pd.concat([raw] * 3, ignore_index=True)
    raw["Species"] = "Gentoo penguin (Pygoscelis papua)"
    raw["Sex"] = ["MALE", ".", None]
    for column in ["Culmen Length (mm)", "Body Mass (g)"]:
        raw[column] = ["1", "NA", "3.5"]
    tidy = pp.tidy_penguins(raw)
    assert tidy["sex"].tolist()[0] == "male"
    assert tidy["sex"].isna().tolist() == [False, True, True]
    assert tidy["species"].unique().tolist() == ["Gentoo"]
    assert np.isnan(tidy["bill_length_mm"][1]) and tidy["body_mass_g"][2] == 3.5


def test_load_penguins_equals_tidy_raw(raw):
    pd.testing.assert_frame_equal(pp.load_penguins(), pp.tidy_penguins(raw))


def test_penguins_pipeline_predicts_for_a_missing_sex_and_an_unknown_island():
    penguins = pp.load_penguins().dropna(subset=pp.NUMERIC_FEATURES)
    X, y = penguins[pp.NUMERIC_FEATURES + pp.CATEGORICAL_FEATURES], penguins[pp.TARGET]
    model = pp.penguins_pipeline().fit(X, y)
    odd = X.iloc[:2].copy()
    odd["sex"] = [np.nan, np.nan]
    odd["island"] = ["Anvers", "Biscoe"]
    assert set(model.predict(odd)) <= set(y)
    assert model.score(X, y) > 0.95


def test_penguins_pipeline_takes_the_given_final_step():
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=2)
    pipeline = pp.penguins_pipeline(tree)
    assert pipeline.named_steps["model"] is tree
    assert list(pipeline.named_steps) == ["preprocess", "model"]


def test_noise_classification_shape_balance_and_seed():
    X, y = pp.noise_classification(60, 30, seed=4)
    assert X.shape == (60, 30) and y.shape == (60,)
    assert np.bincount(y).tolist() == [30, 30]
    X2, y2 = pp.noise_classification(60, 30, seed=4)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = pp.noise_classification(60, 30, seed=5)
    assert not np.array_equal(X, X3)


def test_seed_article_rows_counts_and_groups():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, np.nan, 2.0, 3.0],
                       "note": [None, None, "n", None]})
    counts = pp.seed_article_rows(df, by="g")
    assert counts["rows"] == 4 and counts["kept"] == 1 and counts["dropped"] == 3
    assert counts["kept_fraction"] == pytest.approx(0.25)
    assert counts["kept_by_group"] == {"a": 0.0, "b": 0.5}
    subset = pp.seed_article_rows(df, columns=["x"])
    assert subset["kept"] == 3 and "kept_by_group" not in subset


def test_seed_article_rows_on_the_raw_table(raw):
    counts = pp.seed_article_rows(raw, by="Island")
    assert counts["kept"] == len(raw.dropna()) == 34
    assert set(counts["kept_by_group"]) == {"Biscoe", "Dream", "Torgersen"}


def test_plot_missingness_labels_and_bars(raw):
    ax = pp.plot_missingness(raw)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert len(ax.patches) == raw.shape[1]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths[-1] == pytest.approx(raw.isna().mean().max())


def test_plot_before_after_two_labelled_panels():
    rng = np.random.default_rng(0)
    before = rng.normal(50, 10, size=(40, 2))
    before[0, 0] = np.nan
    after = (before - np.nanmean(before, axis=0)) / np.nanstd(before, axis=0)
    axes = pp.plot_before_after(before, after, ["a (mm)", "b (g)"])
    assert len(axes) == 2
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["a (mm)", "b (g)"]


def test_plot_leak_gap_bars_and_chance_line():
    ax = pp.plot_leak_gap({"leaky": 0.9, "clean": 0.5})
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.9, 0.5])
    assert ax.get_title() and ax.get_ylabel()
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())


def test_tidy_penguins_refuses_another_frame_and_says_what_to_pass(raw):
    tidy = pp.tidy_penguins(raw)
    with pytest.raises(ValueError, match="penguins_raw.csv") as info:
        pp.tidy_penguins(tidy)
    assert "'Species'" in str(info.value)
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        pp.tidy_penguins(raw.to_numpy())


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: pp.noise_classification(1, 10), ValueError, "n_samples == 1, must be >= 2"),
    (lambda: pp.noise_classification(10, 0), ValueError, "n_features == 0"),
    (lambda: pp.noise_classification(10, 5, seed=-3), ValueError, "seed == -3"),
    (lambda: pp.seed_article_rows(pd.DataFrame({"a": [1.0]}), by="Island"), ValueError,
     "no column 'Island'"),
    (lambda: pp.seed_article_rows(pd.DataFrame({"a": [1.0]}), ["b"]), ValueError, "no column 'b'"),
    (lambda: pp.plot_missingness([[1, 2]]), TypeError, "df must be a pandas DataFrame"),
    (lambda: pp.plot_before_after(np.ones((3, 2)), np.ones((3, 2)), ["a"]), ValueError, "one column per name"),
    (lambda: pp.plot_leak_gap([0.8, 0.5]), TypeError, "scores must be a non-empty dict"),
    (lambda: pp.penguins_pipeline(model="logistic"), TypeError, "scikit-learn classifier"),
])
def test_bad_arguments_are_refused_with_what_to_pass(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def _param_summary(estimator):
    """Every parameter of an estimator, nested estimators named by class."""
    params = estimator.get_params(deep=True)
    return {key: type(value).__name__ if hasattr(value, "get_params") else repr(value)
            for key, value in params.items()}


def test_lesson_01_build_pipeline_is_the_course_model(raw):
    """Lesson 01 says its build_pipeline is lifecycle.preprocessing.penguins_pipeline: check it."""
    import nbformat

    from autograder.grading.notebook import read_lesson, strip_solution_markers
    from tests.conftest import ROOT

    nb = nbformat.read(str(ROOT / "solutions/01_preprocessing/preprocessing.ipynb"), as_version=4)
    setup = next(c.source for c in nb.cells if c.get("id") == "setup-imports")
    answer = next(c.source for c in read_lesson(nb).answers if c.grade_id == "build_pipeline")
    namespace = {}
    exec(setup.split("use_course_style()")[0], namespace)  # noqa: S102 - our own notebook
    exec(strip_solution_markers(answer), namespace)  # noqa: S102
    built = namespace["build_pipeline"](pp.NUMERIC_FEATURES, pp.CATEGORICAL_FEATURES)
    assert _param_summary(built) == _param_summary(pp.penguins_pipeline())
    tidy = pp.tidy_penguins(raw)
    X, y = tidy.drop(columns="species"), tidy["species"]
    np.testing.assert_allclose(built.fit(X, y).predict_proba(X), pp.penguins_pipeline().fit(X, y).predict_proba(X))

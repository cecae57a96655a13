"""Tools and plots for lesson 01, preprocessing.

The lesson's exercises build the core steps from scratch (missing-value audit,
imputation, stratified split, standardisation, one-hot encoding). What the
notebook should not carry lives here: turning the raw Palmer penguins table
into a tidy frame, the data for the leakage demonstration, the seed article's
``dropna`` recipe for discussion, and the lesson's plots.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lifecycle import arguments as check
from lifecycle.datasets import load_dataset
from lifecycle.plotting import COLORS, new_axes

if TYPE_CHECKING:  # pandas is imported where it is used: lesson 05's supervisor never needs it
    import pandas as pd

__all__ = [
    "PENGUIN_COLUMNS",
    "NUMERIC_FEATURES",
    "CATEGORICAL_FEATURES",
    "TARGET",
    "tidy_penguins",
    "load_penguins",
    "penguins_pipeline",
    "noise_classification",
    "seed_article_rows",
    "plot_missingness",
    "plot_before_after",
    "plot_leak_gap",
]

#: Raw column name -> tidy name, for the columns the course uses.
PENGUIN_COLUMNS = {
    "Species": "species",
    "Island": "island",
    "Culmen Length (mm)": "bill_length_mm",
    "Culmen Depth (mm)": "bill_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Sex": "sex",
    "Delta 15 N (o/oo)": "delta_15n",
    "Delta 13 C (o/oo)": "delta_13c",
}
#: Numeric features of the tidy table (units in the names).
NUMERIC_FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
#: Categorical features of the tidy table.
CATEGORICAL_FEATURES = ["island", "sex"]
#: The label the lessons predict.
TARGET = "species"


def tidy_penguins(raw: pd.DataFrame) -> pd.DataFrame:
    """Turn the raw Palmer penguins table into a tidy one.

    Keeps the columns of :data:`PENGUIN_COLUMNS` under snake_case names with
    units, shortens the species to its common name (``"Adelie"``,
    ``"Chinstrap"``, ``"Gentoo"``), lower-cases the sex and turns any value
    that is not ``"male"`` or ``"female"`` into a missing value. Missing
    values stay missing: deciding what to do with them is the lesson.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read from ``penguins_raw.csv``.

    Returns
    -------
    tidy : pandas.DataFrame
        A new frame with the same rows, in the same order.
    """
    import pandas as pd

    check.frame(raw, "raw", columns=list(PENGUIN_COLUMNS),
                source='the raw table, load_dataset("penguins_raw.csv"), not an already tidy one')
    tidy = raw[list(PENGUIN_COLUMNS)].rename(columns=PENGUIN_COLUMNS).copy()
    tidy["species"] = tidy["species"].str.split().str[0]
    sex = tidy["sex"].str.lower()
    tidy["sex"] = sex.where(sex.isin(["male", "female"]))
    for column in NUMERIC_FEATURES + ["delta_15n", "delta_13c"]:
        tidy[column] = pd.to_numeric(tidy[column], errors="coerce").astype(float)
    return tidy


def load_penguins() -> pd.DataFrame:
    """Load ``penguins_raw.csv`` (checksum verified) and tidy it.

    Returns
    -------
    penguins : pandas.DataFrame
        344 rows; see :func:`tidy_penguins`.
    """
    return tidy_penguins(load_dataset("penguins_raw.csv"))


def penguins_pipeline(model=None):
    """Build the course's penguins model: lesson 01's preprocessing and a classifier.

    This is the pipeline learners assemble in lesson 01 (``build_pipeline``),
    tune in lesson 04 and serve in lesson 05: one object carried through the
    lifecycle. Numeric columns are median-imputed then standardised;
    categorical columns are imputed with their most frequent value then
    one-hot encoded, an unseen category becoming all zeros rather than an
    error, so a request with a missing ``sex`` or a new island still gets a
    prediction.

    Parameters
    ----------
    model : scikit-learn classifier, default=None
        The final step; ``None`` means ``LogisticRegression(max_iter=1000)``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted, with steps ``"preprocess"`` (a ``ColumnTransformer`` with
        ``"num"`` on :data:`NUMERIC_FEATURES` then ``"cat"`` on
        :data:`CATEGORICAL_FEATURES`) and ``"model"``; it expects the columns
        of :func:`tidy_penguins`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler())])
    categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                            ("encode", OneHotEncoder(handle_unknown="ignore"))])
    preprocess = ColumnTransformer([("num", numeric, list(NUMERIC_FEATURES)),
                                    ("cat", categorical, list(CATEGORICAL_FEATURES))])
    if model is None:
        model = LogisticRegression(max_iter=1000)
    elif not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise TypeError("model must be an unfitted scikit-learn classifier (with fit and predict), "
                        f"e.g. LogisticRegression(max_iter=1000); got {type(model).__name__}.")
    return Pipeline([("preprocess", preprocess), ("model", model)])


def noise_classification(n_samples: int = 100, n_features: int = 2000, *, seed: int = 0):
    """Make a classification problem with no signal at all.

    Features and labels are drawn independently, so no model can beat
    chance (about 0.5 accuracy) on new data. A cross-validated score well
    above 0.5 on this data is proof of leakage.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Standard normal noise.
    y : ndarray of shape (n_samples,)
        Balanced labels 0 and 1 in random order.
    """
    n_samples = check.integer(n_samples, "n_samples", minimum=2)
    n_features = check.integer(n_features, "n_features", minimum=1)
    rng = np.random.default_rng(check.integer(seed, "seed", minimum=0))
    X = rng.standard_normal((n_samples, n_features))
    y = rng.permutation(np.arange(n_samples) % 2)
    return X, y


def seed_article_rows(df: pd.DataFrame, columns=None, *, by: str | None = None) -> dict:
    """Count what the seed article's ``data.dropna()`` keeps.

    Parameters
    ----------
    df : pandas.DataFrame
        The table before dropping.
    columns : list of str, optional
        Only look for missing values in these columns (``dropna(subset=...)``);
        all columns when omitted, as in the article.
    by : str, optional
        A column to group by: the result then also says which fraction of
        each group survives, a quick check of whether dropping is biased.

    Returns
    -------
    counts : dict
        ``"rows"``, ``"kept"``, ``"dropped"`` and ``"kept_fraction"``; with
        ``by``, also ``"kept_by_group"`` (group value to fraction kept).
    """
    check.frame(df, "df", columns=list(columns or []) + ([by] if by is not None else []))
    kept = df.dropna(subset=columns)
    result = {
        "rows": len(df),
        "kept": len(kept),
        "dropped": len(df) - len(kept),
        "kept_fraction": len(kept) / len(df) if len(df) else float("nan"),
    }
    if by is not None:
        share = kept[by].value_counts().reindex(df[by].value_counts().index, fill_value=0)
        result["kept_by_group"] = (share / df[by].value_counts()).round(3).to_dict()
    return result


def plot_missingness(df: pd.DataFrame, *, ax=None, title="Missing values per column"):
    """Plot the fraction of missing values per column as horizontal bars.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    title : str
        Title of the plot.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    check.frame(df, "df")
    fraction = df.isna().mean()
    ax = new_axes(title, "fraction of rows missing", "column", ax=ax,
                  figsize=(6.4, 0.25 * len(fraction) + 1.2))
    bars = ax.barh(fraction.index[::-1], fraction.to_numpy()[::-1], color=COLORS[0])
    counts = df.isna().sum().to_numpy()[::-1]
    for bar, count in zip(bars, counts, strict=True):
        if count:
            ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                    f"{count}", va="center", fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.grid(axis="y", visible=False)
    return ax


def plot_before_after(before, after, names, *, title_before="raw", title_after="standardised"):
    """Histogram each feature before and after a transformation.

    Parameters
    ----------
    before, after : array-like of shape (n_samples, n_features)
        The same rows before and after the transformation; NaN are skipped.
    names : list of str
        Feature names (with units) for the legend.
    title_before, title_after : str
        Titles of the two panels.

    Returns
    -------
    axes : ndarray of matplotlib.axes.Axes
        The two panels.
    """
    before = check.matrix(before, "before", allow_non_finite=True)
    after = check.matrix(after, "after", allow_non_finite=True)
    if before.shape != after.shape or before.shape[1] != len(names):
        raise ValueError(f"before and after must have the same shape, one column per name: "
                         f"before {before.shape}, after {after.shape}, {len(names)} names.")
    import matplotlib.pyplot as plt  # here, not above: the service's processes never plot

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    new_axes(f"Features, {title_before}", "value (feature units, log scale)", "count", ax=axes[0])
    new_axes(f"Features, {title_after}", "value (standard deviations)", "count", ax=axes[1])
    for j, name in enumerate(names):
        for ax, data in zip(axes, (before, after), strict=True):
            column = data[:, j]
            ax.hist(column[~np.isnan(column)], bins=25, histtype="step", linewidth=1.6,
                    label=name, color=COLORS[j % len(COLORS)])
    axes[0].set_xscale("symlog")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return axes


def plot_leak_gap(scores: dict, *, chance: float | None = 0.5, ax=None,
                  title="Cross-validated accuracy on pure noise"):
    """Bar chart of cross-validated scores, leaky versus leak-free.

    Parameters
    ----------
    scores : dict of str to float
        Label of each bar to its score.
    chance : float, optional
        Draw the chance level as a dashed line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    title : str
        Title of the plot.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    if not isinstance(scores, dict) or not scores:
        raise TypeError("scores must be a non-empty dict of bar label to score, e.g. "
                        f"{{'leaky': 0.87, 'clean': 0.57}}; got {type(scores).__name__}.")
    labels = list(scores)
    values = [check.real(scores[k], f"scores[{k!r}]") for k in labels]
    ax = new_axes(title, "procedure", "mean accuracy over folds", ax=ax)
    palette = [COLORS[3], COLORS[2]] + COLORS  # leaky in red-orange, clean in green
    ax.bar(labels, values, color=palette[: len(labels)])
    for i, v in enumerate(values):
        ax.text(i, v + 0.02, f"{v:.2f}", ha="center")
    if chance is not None:
        ax.axhline(chance, ls="--", color="k", lw=1, label="chance")
        ax.legend()
    ax.set_ylim(0, 1.1)
    return ax

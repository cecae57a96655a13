"""Lesson 01 (preprocessing): wrong answers that must lose points, right ones that must not.

Each wrong variant is a mistake learners really make with this material: the
wrong axis, statistics fitted on the test rows or on train and test together,
off-by-one slices, an encoder that crashes on a new category, a division by a
zero standard deviation, a split that ignores the classes, preprocessing
fitted outside the cross-validation folds, and answers hard-coded to the
public example.
"""
from __future__ import annotations

from textwrap import dedent

from tests.corpus import Variant

NB = "solutions/01_preprocessing/preprocessing.ipynb"
NOTEBOOKS = [NB]


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: dedent(source)}, tuple(fails), cli)


# --------------------------------------------------------------------- audit_missing
_AUDIT_WRONG = [
    _v("audit: missing counted per row (axis=1)", "audit_missing", """
        def audit_missing(df):
            n = df.isna().sum(axis=1)
            return pd.DataFrame({"n_missing": n, "fraction": n / df.shape[1]})
        """, fails=["test_audit_basic", "test_audit_edge"]),
    _v("audit: counts present values (df.count())", "audit_missing", """
        def audit_missing(df):
            n = df.count()
            return pd.DataFrame({"n_missing": n, "fraction": n / len(df)})
        """, fails=["test_audit_basic", "test_audit_edge"]),
    _v("audit: only numeric columns audited", "audit_missing", """
        def audit_missing(df):
            n = df.select_dtypes("number").isna().sum()
            return pd.DataFrame({"n_missing": n, "fraction": n / len(df)})
        """, fails=["test_audit_basic"]),
    _v("audit: off-by-one denominator len(df) - 1", "audit_missing", """
        def audit_missing(df):
            n = df.isna().sum()
            return pd.DataFrame({"n_missing": n, "fraction": n / (len(df) - 1)})
        """, fails=["test_audit_basic", "test_audit_edge"]),
    _v("audit: fraction divided by the number of columns", "audit_missing", """
        def audit_missing(df):
            n = df.isna().sum()
            return pd.DataFrame({"n_missing": n, "fraction": n / df.shape[1]})
        """, fails=["test_audit_basic"]),
    _v("audit: counts as floats (mean * n), not integers", "audit_missing", """
        def audit_missing(df):
            f = df.isna().mean()
            return pd.DataFrame({"n_missing": f * len(df), "fraction": f})
        """, fails=["test_audit_edge"]),
    _v("audit: hard-coded answer to the public example", "audit_missing", """
        def audit_missing(df):
            return pd.DataFrame({"n_missing": [2, 1, 0], "fraction": [0.5, 0.25, 0.0]},
                                index=["a", "b", "c"])
        """, fails=["test_audit_basic", "test_audit_edge"]),
]
_AUDIT_RIGHT = [
    _v("audit: loop over columns", "audit_missing", """
        def audit_missing(df):
            gone = [[v is None or v != v for v in df[c]] for c in df.columns]
            counts = [sum(g) for g in gone]
            per_row = [sum(g[i] for g in gone) for i in range(len(df))]
            alone = [sum(1 for i, m in enumerate(g) if m and per_row[i] == 1) for g in gone]
            return pd.DataFrame({"n_missing": counts, "fraction": [k / len(df) for k in counts],
                                 "only_missing": alone}, index=df.columns)
        """),
    _v("audit: numpy on the isna mask", "audit_missing", """
        import numpy as np
        def audit_missing(df):
            mask = df.isna().to_numpy()
            single = mask & (mask.sum(axis=1, keepdims=True) == 1)
            return pd.DataFrame({"n_missing": mask.sum(axis=0), "fraction": mask.mean(axis=0),
                                 "only_missing": single.sum(axis=0)}, index=list(df.columns))
        """),
]

# --------------------------------------------------------------------- stratified_split
_SPLIT_WRONG = [
    _v("split: plain random split, not stratified", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            n = len(y)
            order = np.random.default_rng(seed).permutation(n)
            n_test = int(round(test_size * n))
            return order[n_test:], order[:n_test]
        """, fails=["test_split_basic"], cli=True),
    _v("split: unseeded shuffle (np.random.permutation)", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            y = np.asarray(y)
            train, test = [], []
            for c in np.unique(y):
                members = np.random.permutation(np.flatnonzero(y == c))
                k = min(max(int(round(test_size * len(members))), 1), len(members) - 1) if len(members) > 1 else 0
                test.append(members[:k]); train.append(members[k:])
            return np.concatenate(train), np.concatenate(test)
        """, fails=["test_split_seed"]),
    _v("split: off-by-one, test slice [:k + 1] overlaps train", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            y = np.asarray(y)
            rng = np.random.default_rng(seed)
            train, test = [], []
            for c in np.unique(y):
                members = rng.permutation(np.flatnonzero(y == c))
                k = int(round(test_size * len(members)))
                test.append(members[:k + 1]); train.append(members[k:])
            return np.concatenate(train), np.concatenate(test)
        """, fails=["test_split_basic"]),
    _v("split: off-by-one, positions from range(1, n)", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            y = np.asarray(y)
            rng = np.random.default_rng(seed)
            train, test = [], []
            for c in np.unique(y):
                members = rng.permutation([i for i in range(1, len(y)) if y[i] == c])
                k = min(max(int(round(test_size * len(members))), 1), len(members) - 1) if len(members) > 1 else 0
                test.append(members[:k]); train.append(members[k:])
            return np.concatenate(train).astype(int), np.concatenate(test).astype(int)
        """, fails=["test_split_basic"]),
    _v("split: no shuffle, first members of each class go to test", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            y = np.asarray(y)
            train, test = [], []
            for c in np.unique(y):
                members = np.flatnonzero(y == c)
                k = min(max(int(round(test_size * len(members))), 1), len(members) - 1) if len(members) > 1 else 0
                test.append(members[:k]); train.append(members[k:])
            return np.concatenate(train), np.concatenate(test)
        """, fails=["test_split_seed"]),
    _v("split: returns index labels of a Series, not positions", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            labels = np.asarray(y.index) if hasattr(y, "index") else np.arange(len(y))
            y = np.asarray(y)
            rng = np.random.default_rng(seed)
            train, test = [], []
            for c in np.unique(y):
                members = rng.permutation(np.flatnonzero(y == c))
                k = min(max(int(round(test_size * len(members))), 1), len(members) - 1) if len(members) > 1 else 0
                test.append(labels[members[:k]]); train.append(labels[members[k:]])
            return np.concatenate(train), np.concatenate(test)
        """, fails=["test_split_hidden"]),
    _v("split: no minimum of one test member for small classes", "stratified_split", """
        def stratified_split(y, test_size=0.25, seed=0):
            y = np.asarray(y)
            rng = np.random.default_rng(seed)
            train, test = [], []
            for c in np.unique(y):
                members = rng.permutation(np.flatnonzero(y == c))
                k = int(round(test_size * len(members)))
                test.append(members[:k]); train.append(members[k:])
            return np.concatenate(train), np.concatenate(test)
        """, fails=["test_split_hidden"]),
    _v("split: calls sklearn's train_test_split instead of building it", "stratified_split", """
        from sklearn.model_selection import train_test_split
        def stratified_split(y, test_size=0.25, seed=0):
            idx = np.arange(len(y))
            train, test = train_test_split(idx, test_size=test_size, stratify=np.asarray(y),
                                           random_state=seed)
            return train, test
        """, fails=["test_split_hidden"]),
]
_SPLIT_RIGHT = [
    _v("split: rng.choice per class, floor rounding, lists", "stratified_split", """
        import math
        def stratified_split(y, test_size=0.25, seed=0):
            values = list(y)
            rng = np.random.default_rng(seed)
            train, test = [], []
            for c in sorted(set(values), key=str):
                members = [i for i, v in enumerate(values) if v == c]
                k = math.floor(test_size * len(members))
                if len(members) >= 2:
                    k = min(max(k, 1), len(members) - 1)
                else:
                    k = 0
                chosen = set(rng.choice(members, size=k, replace=False).tolist())
                test += sorted(chosen)
                train += [i for i in members if i not in chosen]
            return np.array(train, dtype=np.int64), np.array(test, dtype=np.int64)
        """),
    _v("split: ceil rounding via pandas groupby, unsorted output", "stratified_split", """
        import math
        def stratified_split(y, test_size=0.25, seed=0):
            s = pd.Series(np.asarray(y))
            rng = np.random.default_rng(seed)
            test = []
            for _, group in s.groupby(s, sort=True):
                pos = rng.permutation(group.index.to_numpy())
                n = len(pos)
                k = min(max(math.ceil(test_size * n - 1e-9), 1), n - 1) if n >= 2 else 0
                test.extend(pos[:k])
            test = np.array(test, dtype=int)
            train = np.setdiff1d(np.arange(len(s)), test)
            return rng.permutation(train), test
        """),
]

# --------------------------------------------------------------------- impute_median
_IMPUTE_WRONG = [
    _v("impute: imputer fitted on all data (train and test stacked)", "impute_median", """
        def impute_median(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            med = np.nanmedian(np.vstack([X_train, X_test]), axis=0)
            med = np.where(np.isnan(med), 0.0, med)
            return np.where(np.isnan(X_train), med, X_train), np.where(np.isnan(X_test), med, X_test)
        """, fails=["test_impute_basic"], cli=True),
    _v("impute: test rows filled with test medians", "impute_median", """
        def impute_median(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            def fill(X):
                med = np.nanmedian(X, axis=0)
                med = np.where(np.isnan(med), 0.0, med)
                return np.where(np.isnan(X), med, X)
            return fill(X_train), fill(X_test)
        """, fails=["test_impute_basic"]),
    _v("impute: mean instead of median", "impute_median", """
        def impute_median(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            m = np.nanmean(X_train, axis=0)
            m = np.where(np.isnan(m), 0.0, m)
            return np.where(np.isnan(X_train), m, X_train), np.where(np.isnan(X_test), m, X_test)
        """, fails=["test_impute_basic"]),
    _v("impute: np.median, which returns NaN for columns with NaN", "impute_median", """
        def impute_median(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            m = np.median(X_train, axis=0)
            return np.where(np.isnan(X_train), m, X_train), np.where(np.isnan(X_test), m, X_test)
        """, fails=["test_impute_basic", "test_impute_edge"]),
    _v("impute: empty training column left as NaN", "impute_median", """
        import warnings
        def impute_median(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = np.nanmedian(X_train, axis=0)
            return np.where(np.isnan(X_train), m, X_train), np.where(np.isnan(X_test), m, X_test)
        """, fails=["test_impute_edge"]),
    # The oracle must be fitted before the call: this answer computes no median at all and
    # hides it by writing zeros into the test's own arrays.
    _v("impute: zeros written into the caller's arrays, no median", "impute_median", """
        def impute_median(X_train, X_test):
            for X in (X_train, X_test):
                if isinstance(X, np.ndarray):
                    X[np.isnan(X)] = 0.0
            return np.array(X_train, dtype=float), np.array(X_test, dtype=float)
        """, fails=["test_impute_basic", "test_impute_edge"]),
    _v("impute: fills the caller's arrays in place", "impute_median", """
        def impute_median(X_train, X_test):
            med = np.nanmedian(X_train, axis=0) if not np.isnan(X_train).all(axis=0).any() else \\
                np.array([np.nanmedian(c) if (~np.isnan(c)).any() else 0.0 for c in X_train.T])
            for X in (X_train, X_test):
                rows, cols = np.nonzero(np.isnan(X))
                X[rows, cols] = med[cols]
            return X_train, X_test
        """, fails=["test_impute_edge"]),
    _v("impute: row medians (axis=1)", "impute_median", """
        def impute_median(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            def fill(X):
                m = np.nan_to_num(np.nanmedian(X, axis=1))[:, None]
                return np.where(np.isnan(X), m, X)
            return fill(X_train), fill(X_test)
        """, fails=["test_impute_basic"]),
]
_IMPUTE_RIGHT = [
    _v("impute: pandas median and fillna", "impute_median", """
        def impute_median(X_train, X_test):
            train = pd.DataFrame(np.asarray(X_train, dtype=float))
            med = train.median().fillna(0.0)
            test = pd.DataFrame(np.asarray(X_test, dtype=float))
            return train.fillna(med).to_numpy(), test.fillna(med).to_numpy()
        """),
    _v("impute: element-wise loops, float32", "impute_median", """
        def impute_median(X_train, X_test):
            A = np.array(X_train, dtype=np.float32)
            B = np.array(X_test, dtype=np.float32)
            for j in range(A.shape[1]):
                seen = sorted(float(v) for v in np.asarray(X_train, dtype=float)[:, j] if v == v)
                if not seen:
                    m = 0.0
                elif len(seen) % 2:
                    m = seen[len(seen) // 2]
                else:
                    m = (seen[len(seen) // 2 - 1] + seen[len(seen) // 2]) / 2
                for X in (A, B):
                    for i in range(X.shape[0]):
                        if X[i, j] != X[i, j]:
                            X[i, j] = m
            return A, B
        """),
]

# --------------------------------------------------------------------- standardize
_SCALE_WRONG = [
    _v("standardize: statistics per row (axis=1)", "standardize", """
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            def z(X):
                s = X.std(axis=1, keepdims=True)
                return (X - X.mean(axis=1, keepdims=True)) / np.where(s == 0, 1, s)
            return z(X_train), z(X_test)
        """, fails=["test_standardize_basic"]),
    _v("standardize: sample std ddof=1 (n - 1)", "standardize", """
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            mu, s = X_train.mean(axis=0), X_train.std(axis=0, ddof=1)
            s = np.where(s == 0, 1.0, s)
            return (X_train - mu) / s, (X_test - mu) / s
        """, fails=["test_standardize_basic"]),
    _v("standardize: test set scaled with its own statistics", "standardize", """
        def standardize(X_train, X_test):
            def z(X):
                X = np.asarray(X, float)
                s = X.std(axis=0)
                return (X - X.mean(axis=0)) / np.where(s == 0, 1.0, s)
            return z(X_train), z(X_test)
        """, fails=["test_standardize_basic"], cli=True),
    _v("standardize: statistics fitted on train and test together", "standardize", """
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            both = np.vstack([X_train, X_test])
            mu, s = both.mean(axis=0), both.std(axis=0)
            s = np.where(s == 0, 1.0, s)
            return (X_train - mu) / s, (X_test - mu) / s
        """, fails=["test_standardize_basic"]),
    _v("standardize: zero-variance column divided by zero (NaN)", "standardize", """
        import warnings
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            mu, s = X_train.mean(axis=0), X_train.std(axis=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return (X_train - mu) / s, (X_test - mu) / s
        """, fails=["test_standardize_zero_var"]),
    _v("standardize: epsilon added to sigma instead of replacing zeros", "standardize", """
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            mu, s = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8
            return (X_train - mu) / s, (X_test - mu) / s
        """, fails=["test_standardize_zero_var"]),
    _v("standardize: min-max scaling instead", "standardize", """
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            lo, span = X_train.min(axis=0), np.ptp(X_train, axis=0)
            span = np.where(span == 0, 1.0, span)
            return (X_train - lo) / span, (X_test - lo) / span
        """, fails=["test_standardize_basic"]),
    _v("standardize: calls StandardScaler", "standardize", """
        from sklearn.preprocessing import StandardScaler
        def standardize(X_train, X_test):
            scaler = StandardScaler().fit(X_train)
            return scaler.transform(X_train), scaler.transform(X_test)
        """, fails=["test_standardize_hidden"]),
    _v("standardize: hard-coded answer to the public example", "standardize", """
        def standardize(X_train, X_test):
            if np.shape(X_train) == (4, 2) and np.shape(X_test) == (3, 2):
                return (np.array([[-1.06904497, -0.92847669], [-0.53452248, -0.18569534],
                                  [0.0, -0.55708601], [1.60356745, 1.67125804]]),
                        np.array([[0.53452248, -1.29986737], [-1.60356745, 0.18569534],
                                  [-0.53452248, -0.37139068]]))
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            mu = X_train.mean(axis=0)
            return X_train - mu, X_test - mu
        """, fails=["test_standardize_basic", "test_standardize_zero_var", "test_standardize_hidden"]),
]
_SCALE_RIGHT = [
    _v("standardize: loops over columns in float32", "standardize", """
        import math
        def standardize(X_train, X_test):
            A = np.asarray(X_train, dtype=np.float32)
            B = np.asarray(X_test, dtype=np.float32)
            ZA, ZB = np.empty_like(A), np.empty_like(B)
            for j in range(A.shape[1]):
                col = [float(v) for v in A[:, j]]
                mu = sum(col) / len(col)
                sigma = math.sqrt(sum((v - mu) ** 2 for v in col) / len(col)) if len(set(col)) > 1 else 1.0
                ZA[:, j] = (A[:, j] - mu) / sigma
                ZB[:, j] = (B[:, j] - mu) / sigma
            return ZA, ZB
        """),
    _v("standardize: variance formula E[x^2] - E[x]^2 with a tolerance", "standardize", """
        def standardize(X_train, X_test):
            A, B = np.asarray(X_train, float), np.asarray(X_test, float)
            mu = A.mean(axis=0)
            var = (A ** 2).mean(axis=0) - mu ** 2
            sigma = np.sqrt(np.clip(var, 0, None))
            sigma[sigma < 1e-12 * np.maximum(1.0, np.abs(mu))] = 1.0
            return (A - mu) / sigma, (B - mu) / sigma
        """),
]

# --------------------------------------------------------------------- one_hot
_FIT_OK = '''
def fit_categories(values):
    return sorted(v for v in set(values) if v is not None and v == v)
'''
_ONEHOT_WRONG = [
    _v("one-hot: crashes on an unseen category (list.index)", "one_hot", _FIT_OK + """
def one_hot(values, categories):
    out = np.zeros((len(values), len(categories)))
    for i, v in enumerate(list(values)):
        out[i, list(categories).index(v)] = 1.0
    return out
""", fails=["test_onehot_unseen"], cli=True),
    _v("one-hot: columns from the values being encoded (pd.get_dummies on test)", "one_hot", _FIT_OK + """
def one_hot(values, categories):
    return pd.get_dummies(pd.Series(list(values))).to_numpy(dtype=float)
""", fails=["test_onehot_unseen"]),
    _v("one-hot: categories in order of appearance, not sorted", "one_hot", """
def fit_categories(values):
    return list(pd.Series(list(values), dtype=object).dropna().unique())

def one_hot(values, categories):
    pos = {c: j for j, c in enumerate(categories)}
    out = np.zeros((len(values), len(categories)))
    for i, v in enumerate(list(values)):
        if v in pos:
            out[i, pos[v]] = 1.0
    return out
""", fails=["test_onehot_basic"]),
    _v("one-hot: missing value kept as a category", "one_hot", """
def fit_categories(values):
    return sorted(set(values), key=str)

def one_hot(values, categories):
    pos = {c: j for j, c in enumerate(categories)}
    out = np.zeros((len(values), len(categories)))
    for i, v in enumerate(list(values)):
        if v in pos:
            out[i, pos[v]] = 1.0
    return out
""", fails=["test_onehot_basic"]),
    _v("one-hot: first category dropped (k - 1 columns)", "one_hot", _FIT_OK + """
def one_hot(values, categories):
    pos = {c: j for j, c in enumerate(categories)}
    out = np.zeros((len(values), len(categories)))
    for i, v in enumerate(list(values)):
        if v in pos:
            out[i, pos[v]] = 1.0
    return out[:, 1:]
""", fails=["test_onehot_basic", "test_onehot_unseen"]),
    _v("one-hot: np.searchsorted maps unseen values to a neighbour", "one_hot", _FIT_OK + """
def one_hot(values, categories):
    cats = np.asarray(categories, dtype=object)
    vals = np.array(["" if v is None or v != v else v for v in values], dtype=object)
    j = np.clip(np.searchsorted(cats, vals), 0, len(cats) - 1)
    out = np.zeros((len(vals), len(cats)))
    out[np.arange(len(vals)), j] = 1.0
    return out
""", fails=["test_onehot_unseen"]),
]
_ONEHOT_RIGHT = [
    _v("one-hot: pd.get_dummies reindexed to the training categories", "one_hot", """
def fit_categories(values):
    return sorted(pd.Series(list(values), dtype=object).dropna().unique())

def one_hot(values, categories):
    dummies = pd.get_dummies(pd.Series(list(values), dtype=object))
    return dummies.reindex(columns=list(categories), fill_value=0).to_numpy(dtype=float)
"""),
    _v("one-hot: nested comprehension of equality tests", "one_hot", """
def fit_categories(values):
    seen = []
    for v in values:
        if v is not None and v == v and v not in seen:
            seen.append(v)
    return sorted(seen)

def one_hot(values, categories):
    return np.array([[1.0 if v == c else 0.0 for c in categories] for v in values]).reshape(
        len(values), len(categories))
"""),
]

# --------------------------------------------------------------------- leakage
_LEAK_WRONG = [
    _v("leak: 'clean' score also selects features outside the CV folds", "leaky_and_clean_scores", """
        def leaky_and_clean_scores(X, y, k, n_splits=5):
            cv = StratifiedKFold(n_splits)
            Xs = SelectKBest(f_classif, k=k).fit_transform(X, y)
            leaky = cross_val_score(LogisticRegression(max_iter=1000), Xs, y, cv=cv).mean()
            clean = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                                    Xs, y, cv=cv).mean()
            return {"leaky": float(leaky), "clean": float(clean)}
        """, fails=["test_leak_scores", "test_leak_hidden"]),
    _v("leak: keys swapped", "leaky_and_clean_scores", """
        def leaky_and_clean_scores(X, y, k, n_splits=5):
            cv = StratifiedKFold(n_splits)
            Xs = SelectKBest(f_classif, k=k).fit_transform(X, y)
            leaky = cross_val_score(LogisticRegression(max_iter=1000), Xs, y, cv=cv).mean()
            clean = cross_val_score(make_pipeline(SelectKBest(f_classif, k=k),
                                                  LogisticRegression(max_iter=1000)), X, y, cv=cv).mean()
            return {"leaky": float(clean), "clean": float(leaky)}
        """, fails=["test_leak_scores", "test_leak_hidden"]),
    _v("leak: ignores n_splits (always 5 folds)", "leaky_and_clean_scores", """
        def leaky_and_clean_scores(X, y, k, n_splits=5):
            Xs = SelectKBest(f_classif, k=k).fit_transform(X, y)
            leaky = cross_val_score(LogisticRegression(max_iter=1000), Xs, y, cv=5).mean()
            clean = cross_val_score(make_pipeline(SelectKBest(f_classif, k=k),
                                                  LogisticRegression(max_iter=1000)), X, y, cv=5).mean()
            return {"leaky": float(leaky), "clean": float(clean)}
        """, fails=["test_leak_hidden"]),
    _v("leak: shuffled folds instead of StratifiedKFold(n_splits)", "leaky_and_clean_scores", """
        def leaky_and_clean_scores(X, y, k, n_splits=5):
            cv = StratifiedKFold(n_splits, shuffle=True, random_state=0)
            Xs = SelectKBest(f_classif, k=k).fit_transform(X, y)
            leaky = cross_val_score(LogisticRegression(max_iter=1000), Xs, y, cv=cv).mean()
            clean = cross_val_score(make_pipeline(SelectKBest(f_classif, k=k),
                                                  LogisticRegression(max_iter=1000)), X, y, cv=cv).mean()
            return {"leaky": float(leaky), "clean": float(clean)}
        """, fails=["test_leak_scores"]),
    _v("leak: 'clean' from one train/test split instead of cross-validation", "leaky_and_clean_scores", """
        def leaky_and_clean_scores(X, y, k, n_splits=5):
            cv = StratifiedKFold(n_splits)
            Xs = SelectKBest(f_classif, k=k).fit_transform(X, y)
            leaky = cross_val_score(LogisticRegression(max_iter=1000), Xs, y, cv=cv).mean()
            tr, te = next(cv.split(X, y))
            pipe = make_pipeline(SelectKBest(f_classif, k=k), LogisticRegression(max_iter=1000))
            clean = pipe.fit(X[tr], y[tr]).score(X[te], y[te])
            return {"leaky": float(leaky), "clean": float(clean)}
        """, fails=["test_leak_scores"]),
]
_LEAK_RIGHT = [
    _v("leak: explicit loop over the folds", "leaky_and_clean_scores", """
        from sklearn.base import clone
        def leaky_and_clean_scores(X, y, k, n_splits=5):
            X, y = np.asarray(X), np.asarray(y)
            selected = SelectKBest(f_classif, k=k).fit(X, y).transform(X)
            leaky, clean = [], []
            for tr, te in StratifiedKFold(n_splits=n_splits).split(X, y):
                m = LogisticRegression(max_iter=1000).fit(selected[tr], y[tr])
                leaky.append(np.mean(m.predict(selected[te]) == y[te]))
                sel = SelectKBest(f_classif, k=k).fit(X[tr], y[tr])
                m = LogisticRegression(max_iter=1000).fit(sel.transform(X[tr]), y[tr])
                clean.append(np.mean(m.predict(sel.transform(X[te])) == y[te]))
            return {"leaky": float(np.mean(leaky)), "clean": float(np.mean(clean))}
        """),
]

# --------------------------------------------------------------------- build_pipeline
_PIPE_IMPORTS = """
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
"""
_PIPE_WRONG = [
    _v("pipeline: OneHotEncoder crashes on unseen categories", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric_features),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), categorical_features)])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_behaviour", "test_pipeline_hidden"], cli=True),
    _v("pipeline: no imputer for numeric columns", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", StandardScaler(), numeric_features),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical_features)])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_behaviour"]),
    _v("pipeline: scaling left out (done outside the pipeline)", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), numeric_features),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical_features)])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_behaviour"]),
    _v("pipeline: preprocessing fitted on all data, outside the CV folds", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric_features),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical_features)])
    pre.fit(penguins)
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_structure"]),
    _v("pipeline: returned already fitted on all data", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric_features),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical_features)])
    pipe = Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
    return pipe.fit(penguins, penguins["species"])
""", fails=["test_pipeline_structure"]),
    _v("pipeline: categorical missing values encoded as their own category", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric_features),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical_features)])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_behaviour"]),
    _v("pipeline: column groups in the other order", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical_features),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric_features)])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_behaviour"]),
    _v("pipeline: no classifier, only the preprocessing", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric_features),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical_features)])
    return Pipeline([("pre", pre)])
""", fails=["test_pipeline_structure", "test_pipeline_behaviour", "test_pipeline_hidden"]),
    _v("pipeline: hard-coded penguin column names, arguments ignored", "build_pipeline", _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["island", "sex"])])
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
""", fails=["test_pipeline_hidden"]),
]
_PIPE_RIGHT = [
    _v("pipeline: make_pipeline and make_column_transformer, dense one-hot", "build_pipeline",
       _PIPE_IMPORTS + """
def build_pipeline(numeric_features, categorical_features):
    return make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(numeric_features)),
            (make_pipeline(SimpleImputer(strategy="most_frequent"),
                           OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
             list(categorical_features)),
            remainder="drop"),
        LogisticRegression(max_iter=5000, C=1.0))
"""),
]

_AUDIT_WRONG += [
    _v("audit: only_missing counts every missing value (it is n_missing again)", "audit_missing", """
        def audit_missing(df):
            n = df.isna().sum()
            return pd.DataFrame({"n_missing": n, "fraction": n / len(df), "only_missing": n})
        """, fails=["test_audit_basic", "test_audit_edge"]),
    _v("audit: only_missing as the rows missing at least one other value", "audit_missing", """
        def audit_missing(df):
            m = df.isna()
            n = m.sum()
            return pd.DataFrame({"n_missing": n, "fraction": n / len(df),
                                 "only_missing": m[m.sum(axis=1) > 1].sum()})
        """, fails=["test_audit_basic"]),
]
_SPLIT_WRONG.append(_v("split: scikit-learn's StratifiedKFold, first fold as the test set", "stratified_split", """
        from sklearn.model_selection import StratifiedKFold
        def stratified_split(y, test_size=0.25, seed=0):
            y = np.asarray(y)
            folds = StratifiedKFold(max(2, round(1 / test_size)), shuffle=True, random_state=seed)
            train, test = next(iter(folds.split(np.zeros(len(y)), y)))
            return np.sort(train), np.sort(test)
        """, fails=["test_split_hidden"]))
_IMPUTE_WRONG.append(_v("impute: column indexing X[:, j] that fails on DataFrames", "impute_median", """
        def impute_median(X_train, X_test):
            fill = []
            for j in range(X_train.shape[1]):
                col = X_train[:, j]
                fill.append(np.median(col[~np.isnan(col)]) if (~np.isnan(col)).any() else 0.0)
            fill = np.array(fill)
            return (np.where(np.isnan(X_train), fill, X_train).astype(float),
                    np.where(np.isnan(X_test), fill, X_test).astype(float))
        """, fails=["test_impute_edge"]))
_SCALE_WRONG += [
    _v("standardize: sigma == 0 misses a constant column whose sigma is 1e-17", "standardize", """
        def standardize(X_train, X_test):
            X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
            mu, s = X_train.mean(axis=0), X_train.std(axis=0)
            s = np.where(s == 0, 1.0, s)
            return (X_train - mu) / s, (X_test - mu) / s
        """, fails=["test_standardize_zero_var"]),
    _v("standardize: X.mean(0) on a DataFrame, then positional slicing", "standardize", """
        def standardize(X_train, X_test):
            mu, s = X_train.mean(axis=0), X_train.std(axis=0)
            s = np.where(np.ptp(np.asarray(X_train, float), axis=0) == 0, 1.0, s)
            return (X_train[:, :] - mu) / s, (X_test[:, :] - mu) / s
        """, fails=["test_standardize_hidden"]),
]
_ONEHOT_WRONG += [
    _v("one-hot: integer array instead of floats", "one_hot", _FIT_OK + """
def one_hot(values, categories):
    out = np.zeros((len(values), len(categories)), dtype=int)
    column = {c: j for j, c in enumerate(categories)}
    for i, v in enumerate(list(values)):
        if v in column:
            out[i, column[v]] = 1
    return out
"""[1:], fails=["test_onehot_basic"]),
    _v("one-hot: categories sorted as text (10 before 9)", "one_hot", """
def fit_categories(values):
    return sorted({v for v in values if v is not None and v == v}, key=str)


def one_hot(values, categories):
    column = {c: j for j, c in enumerate(categories)}
    out = np.zeros((len(values), len(categories)))
    for i, v in enumerate(list(values)):
        if v in column:
            out[i, column[v]] = 1.0
    return out
""", fails=["test_onehot_basic"]),
]


def _forest_design(params: str) -> str:
    """design_model: lesson 01's preprocessing before a random forest built with ``params``."""
    return _PIPE_IMPORTS + f"""
from sklearn.ensemble import RandomForestClassifier
def design_model():
    return make_pipeline(
        make_column_transformer(
            (SimpleImputer(strategy="median"), pp.NUMERIC_FEATURES),
            (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             pp.CATEGORICAL_FEATURES)),
        RandomForestClassifier({params}))
"""


_DESIGN_WRONG = [
    _v("design: returns a pipeline already fitted on all birds", "design_model", _PIPE_IMPORTS + """
def design_model():
    model = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), pp.NUMERIC_FEATURES),
            (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             pp.CATEGORICAL_FEATURES)),
        LogisticRegression(max_iter=1000))
    return model.fit(penguins.drop(columns="species"), penguins["species"])
""", fails=["test_design_cv"]),
    _v("design: no imputation (fails on a missing value)", "design_model", _PIPE_IMPORTS + """
def design_model():
    return make_pipeline(
        make_column_transformer((StandardScaler(), pp.NUMERIC_FEATURES),
                                (OneHotEncoder(handle_unknown="ignore"), ["island"])),
        LogisticRegression(max_iter=1000))
""", fails=["test_design_robust"]),
    _v("design: OneHotEncoder refuses an unseen island", "design_model", _PIPE_IMPORTS + """
def design_model():
    return make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), pp.NUMERIC_FEATURES),
            (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), pp.CATEGORICAL_FEATURES)),
        LogisticRegression(max_iter=1000))
""", fails=["test_design_robust"]),
    _v("design: island and sex only (too little information)", "design_model", _PIPE_IMPORTS + """
def design_model():
    return make_pipeline(
        make_column_transformer((make_pipeline(SimpleImputer(strategy="most_frequent"),
                                               OneHotEncoder(handle_unknown="ignore")), ["island", "sex"])),
        LogisticRegression(max_iter=1000))
""", fails=["test_design_cv"]),
    _v("design: a random forest without a random_state", "design_model",
       _forest_design("n_estimators=5, max_depth=2"), fails=["test_design_robust"]),
]
_DESIGN_RIGHT = [
    _v("design: a random forest with its random_state fixed", "design_model",
       _forest_design("n_estimators=100, random_state=0")),
    _v("design: lesson 01's build_pipeline columns", "design_model", _PIPE_IMPORTS + """
def design_model():
    return pp.penguins_pipeline()
"""),
    _v("design: k-nearest neighbours on all six measurements", "design_model", _PIPE_IMPORTS + """
from sklearn.neighbors import KNeighborsClassifier
def design_model():
    numeric = pp.NUMERIC_FEATURES + ["delta_15n", "delta_13c"]
    return make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             ["island", "sex"])),
        KNeighborsClassifier(5))
"""),
]
WRONG = _AUDIT_WRONG + _SPLIT_WRONG + _IMPUTE_WRONG + _SCALE_WRONG + _ONEHOT_WRONG + _LEAK_WRONG + _PIPE_WRONG + _DESIGN_WRONG
RIGHT = _AUDIT_RIGHT + _SPLIT_RIGHT + _IMPUTE_RIGHT + _SCALE_RIGHT + _ONEHOT_RIGHT + _LEAK_RIGHT + _PIPE_RIGHT + _DESIGN_RIGHT

"""Wrong and correct alternative answers for lesson 03 (evaluation)."""
from __future__ import annotations

from tests.corpus import Variant

NB = "solutions/03_evaluation/evaluation.ipynb"
NOTEBOOKS = [NB]


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: source.strip("\n") + "\n"}, tuple(fails), cli)


# ------------------------------------------------------------------ confusion matrix
_CM_HEAD = '''
def confusion_matrix_np(y_true, y_pred, labels=None):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
'''

WRONG = [
    _v("confusion matrix transposed (rows = predicted)", "confusion_matrix_np", _CM_HEAD + '''
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    return np.array([[np.sum((y_pred == a) & (y_true == b)) for b in labels] for a in labels])
''', fails=["test_confusion_basic"]),
    _v("confusion matrix labels taken from y_true only", "confusion_matrix_np", _CM_HEAD + '''
    if labels is None:
        labels = np.unique(y_true)
    return np.array([[np.sum((y_true == a) & (y_pred == b)) for b in labels] for a in labels])
''', fails=["test_confusion_labels"]),
    _v("confusion matrix indexes by label value (breaks on strings)", "confusion_matrix_np", _CM_HEAD + '''
    k = int(max(y_true.max(), y_pred.max())) + 1
    cm = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[int(t), int(p)] += 1
    return cm
''', fails=["test_confusion_basic", "test_confusion_labels"]),
    _v("confusion matrix sorts the given labels", "confusion_matrix_np", _CM_HEAD + '''
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else sorted(labels)
    return np.array([[np.sum((y_true == a) & (y_pred == b)) for b in labels] for a in labels])
''', fails=["test_confusion_labels"]),
    _v("confusion matrix calls sklearn", "confusion_matrix_np", '''
from sklearn.metrics import confusion_matrix


def confusion_matrix_np(y_true, y_pred, labels=None):
    return confusion_matrix(y_true, y_pred, labels=labels)
''', fails=["test_confusion_basic"]),
]

# ------------------------------------------------------------------ binary scores
_BIN_HEAD = '''
def binary_scores(y_true, y_pred, pos_label=1):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = np.sum((y_true == pos_label) & (y_pred == pos_label))
    fp = np.sum((y_true != pos_label) & (y_pred == pos_label))
    fn = np.sum((y_true == pos_label) & (y_pred != pos_label))
    acc = float(np.mean(y_true == y_pred))
    r = lambda a, b: float(a / b) if b else 0.0
'''

WRONG += [
    _v("precision and recall swapped", "binary_scores", _BIN_HEAD + '''
    return {"accuracy": acc, "precision": r(tp, tp + fn), "recall": r(tp, tp + fp),
            "f1": r(2 * tp, 2 * tp + fp + fn)}
''', fails=["test_binary_basic"], cli=True),
    _v("positive class fixed to 1", "binary_scores", '''
def binary_scores(y_true, y_pred, pos_label=1):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = np.sum((y_true == 1) & (y_pred == 1))
    fp = np.sum((y_true != 1) & (y_pred == 1))
    fn = np.sum((y_true == 1) & (y_pred != 1))
    r = lambda a, b: float(a / b) if b else 0.0
    return {"accuracy": float(np.mean(y_true == y_pred)), "precision": r(tp, tp + fp),
            "recall": r(tp, tp + fn), "f1": r(2 * tp, 2 * tp + fp + fn)}
''', fails=["test_binary_edges"]),
    _v("zero division gives nan", "binary_scores", _BIN_HEAD + '''
    p = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return {"accuracy": acc, "precision": float(p), "recall": float(rec),
            "f1": float(2 * p * rec / (p + rec)) if p + rec else float("nan")}
''', fails=["test_binary_edges"]),
    _v("F1 as the arithmetic mean of precision and recall", "binary_scores", _BIN_HEAD + '''
    p, rec = r(tp, tp + fp), r(tp, tp + fn)
    return {"accuracy": acc, "precision": p, "recall": rec, "f1": (p + rec) / 2}
''', fails=["test_binary_basic"]),
    _v("accuracy counts only true positives", "binary_scores", _BIN_HEAD + '''
    return {"accuracy": float(tp / len(y_true)), "precision": r(tp, tp + fp),
            "recall": r(tp, tp + fn), "f1": r(2 * tp, 2 * tp + fp + fn)}
''', fails=["test_binary_basic"]),
    _v("binary scores call sklearn", "binary_scores", '''
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score


def binary_scores(y_true, y_pred, pos_label=1):
    kw = dict(pos_label=pos_label, zero_division=0)
    return {"accuracy": accuracy_score(y_true, y_pred), "precision": precision_score(y_true, y_pred, **kw),
            "recall": recall_score(y_true, y_pred, **kw), "f1": f1_score(y_true, y_pred, **kw)}
''', fails=["test_binary_basic"]),
]

# ------------------------------------------------------------------ averaged scores
_AVG_HEAD = '''
def averaged_scores(y_true, y_pred, average="macro"):
    if average not in ("macro", "weighted"):
        raise ValueError(average)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred]))
    rows, support, predicted = [], [], []
    for c in labels:
        tp = np.sum((y_true == c) & (y_pred == c))
        fp = np.sum((y_true != c) & (y_pred == c))
        fn = np.sum((y_true == c) & (y_pred != c))
        rows.append([tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0,
                     2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0])
        support.append(tp + fn)
        predicted.append(tp + fp)
    rows, support, predicted = np.array(rows), np.array(support, float), np.array(predicted, float)
'''

WRONG += [
    _v("macro F1 from the macro precision and recall", "averaged_scores", _AVG_HEAD + '''
    w = np.full(len(labels), 1 / len(labels)) if average == "macro" else support / support.sum()
    p, r = w @ rows[:, 0], w @ rows[:, 1]
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}
''', fails=["test_averaged_macro"]),
    _v("weighted average by predicted counts", "averaged_scores", _AVG_HEAD + '''
    w = np.full(len(labels), 1 / len(labels)) if average == "macro" else predicted / predicted.sum()
    p, r, f = w @ rows
    return {"precision": p, "recall": r, "f1": f}
''', fails=["test_averaged_weighted"]),
    _v("weighted computed as macro", "averaged_scores", _AVG_HEAD + '''
    p, r, f = rows.mean(axis=0)
    return {"precision": p, "recall": r, "f1": f}
''', fails=["test_averaged_weighted"]),
    _v("macro computed as micro (global counts)", "averaged_scores", '''
def averaged_scores(y_true, y_pred, average="macro"):
    if average not in ("macro", "weighted"):
        raise ValueError(average)
    acc = float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
    return {"precision": acc, "recall": acc, "f1": acc}
''', fails=["test_averaged_macro"]),
    _v("averages over the classes of y_true only", "averaged_scores", _AVG_HEAD + '''
    keep = np.isin(labels, np.unique(y_true))
    rows, support = rows[keep], support[keep]
    w = np.full(len(rows), 1 / len(rows)) if average == "macro" else support / support.sum()
    p, r, f = w @ rows
    return {"precision": p, "recall": r, "f1": f}
''', fails=["test_averaged_macro"]),
    _v("unknown average silently treated as macro", "averaged_scores", '''
def averaged_scores(y_true, y_pred, average="macro"):
    from sklearn.metrics import precision_recall_fscore_support as prfs
    average = average if average in ("macro", "weighted") else "macro"
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred]))
    out = []
    for c in labels:
        tp = np.sum((y_true == c) & (y_pred == c))
        fp = np.sum((y_true != c) & (y_pred == c))
        fn = np.sum((y_true == c) & (y_pred != c))
        out.append([tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0,
                    2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0, tp + fn])
    out = np.array(out, float)
    w = np.full(len(labels), 1 / len(labels)) if average == "macro" else out[:, 3] / out[:, 3].sum()
    p, r, f = w @ out[:, :3]
    return {"precision": p, "recall": r, "f1": f}
''', fails=["test_averaged_weighted"]),
]

# ------------------------------------------------------------------ ROC
_ROC_TAIL = '''
    tpr = np.r_[0, tps[last]] / positive.sum()
    fpr = np.r_[0, fps[last]] / (~positive).sum()
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
'''

WRONG += [
    _v("ROC/AUC without sorting the scores", "roc_curve_auc", '''
def roc_curve_auc(y_true, y_score):
    positive = np.asarray(y_true) == 1
    tps, fps = np.cumsum(positive), np.cumsum(~positive)
    last = np.ones(len(positive), bool)
''' + _ROC_TAIL, fails=["test_roc_points", "test_roc_auc"], cli=True),
    _v("ROC with one point per sample (ties not grouped)", "roc_curve_auc", '''
def roc_curve_auc(y_true, y_score):
    y_score = np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score, kind="stable")
    positive = (np.asarray(y_true) == 1)[order]
    tps, fps = np.cumsum(positive), np.cumsum(~positive)
    last = np.ones(len(positive), bool)
''' + _ROC_TAIL, fails=["test_roc_points", "test_roc_auc"]),
    _v("ROC sorted by increasing score", "roc_curve_auc", '''
def roc_curve_auc(y_true, y_score):
    y_score = np.asarray(y_score, dtype=float)
    order = np.argsort(y_score, kind="stable")
    scores, positive = y_score[order], (np.asarray(y_true) == 1)[order]
    tps, fps = np.cumsum(positive), np.cumsum(~positive)
    last = np.r_[scores[1:] != scores[:-1], True]
''' + _ROC_TAIL, fails=["test_roc_points", "test_roc_auc"]),
    _v("ROC without the (0, 0) starting point", "roc_curve_auc", '''
def roc_curve_auc(y_true, y_score):
    y_score = np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score, kind="stable")
    scores, positive = y_score[order], (np.asarray(y_true) == 1)[order]
    last = np.r_[scores[1:] != scores[:-1], True]
    tpr = np.cumsum(positive)[last] / positive.sum()
    fpr = np.cumsum(~positive)[last] / (~positive).sum()
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
''', fails=["test_roc_points", "test_roc_auc"]),
    _v("AUC by the left rectangle rule", "roc_curve_auc", '''
def roc_curve_auc(y_true, y_score):
    y_score = np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score, kind="stable")
    scores, positive = y_score[order], (np.asarray(y_true) == 1)[order]
    last = np.r_[scores[1:] != scores[:-1], True]
    tpr = np.r_[0, np.cumsum(positive)[last]] / positive.sum()
    fpr = np.r_[0, np.cumsum(~positive)[last]] / (~positive).sum()
    return fpr, tpr, float(np.sum(np.diff(fpr) * tpr[:-1]))
''', fails=["test_roc_auc"]),
    _v("ROC calls sklearn", "roc_curve_auc", '''
from sklearn.metrics import roc_auc_score, roc_curve


def roc_curve_auc(y_true, y_score):
    fpr, tpr, _ = roc_curve(y_true, y_score, drop_intermediate=False)
    return fpr, tpr, roc_auc_score(y_true, y_score)
''', fails=["test_roc_points"]),
]

# ------------------------------------------------------------------ threshold for recall
_THR_HEAD = '''
def threshold_for_recall(y_true, y_score, target_recall):
    positive = np.asarray(y_true) == 1
    y_score = np.asarray(y_score, dtype=float)
'''

WRONG += [
    _v("lowest threshold that reaches the recall", "threshold_for_recall", _THR_HEAD + '''
    for t in np.unique(y_score):
        predicted = y_score >= t
        tp = np.sum(predicted & positive)
        if tp / positive.sum() >= target_recall:
            return {"threshold": t, "precision": tp / predicted.sum(), "recall": tp / positive.sum()}
''', fails=["test_threshold_basic"]),
    _v("predicts positive when score > threshold", "threshold_for_recall", _THR_HEAD + '''
    for t in np.unique(y_score)[::-1]:
        predicted = y_score > t
        tp = np.sum(predicted & positive)
        if tp / positive.sum() >= target_recall:
            return {"threshold": t, "precision": tp / predicted.sum(), "recall": tp / positive.sum()}
''', fails=["test_threshold_basic"]),
    _v("requires recall strictly above the target", "threshold_for_recall", _THR_HEAD + '''
    for t in np.unique(y_score)[::-1]:
        predicted = y_score >= t
        tp = np.sum(predicted & positive)
        if tp / positive.sum() > target_recall or t == y_score.min():
            return {"threshold": t, "precision": tp / predicted.sum(), "recall": tp / positive.sum()}
''', fails=["test_threshold_basic"]),
    _v("precision and recall swapped at the threshold", "threshold_for_recall", _THR_HEAD + '''
    for t in np.unique(y_score)[::-1]:
        predicted = y_score >= t
        tp = np.sum(predicted & positive)
        if tp / positive.sum() >= target_recall:
            return {"threshold": t, "precision": tp / positive.sum(), "recall": tp / predicted.sum()}
''', fails=["test_threshold_ties"]),
    _v("threshold loop over samples, ties split", "threshold_for_recall", _THR_HEAD + '''
    order = np.argsort(-y_score, kind="stable")
    tps = np.cumsum(positive[order])
    for k, i in enumerate(order):
        if tps[k] / positive.sum() >= target_recall:
            return {"threshold": y_score[i], "precision": tps[k] / (k + 1),
                    "recall": tps[k] / positive.sum()}
''', fails=["test_threshold_ties"]),
]

# ------------------------------------------------------------------ regression
_REG_HEAD = '''
def regression_scores(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    res = y_true - y_pred
    mse = np.mean(res ** 2)
    ss_tot = np.sum((y_true - y_true.mean()) ** 2)
'''

WRONG += [
    _v("R^2 with the variance of the predictions", "regression_scores", _REG_HEAD + '''
    r2 = 1 - np.sum(res ** 2) / np.sum((y_pred - y_pred.mean()) ** 2)
    return {"mse": mse, "rmse": np.sqrt(mse), "mae": np.mean(np.abs(res)), "r2": r2}
''', fails=["test_regression_basic"]),
    _v("R^2 as squared correlation", "regression_scores", _REG_HEAD + '''
    r2 = np.corrcoef(y_true, y_pred)[0, 1] ** 2 if ss_tot > 0 else float(np.all(res == 0))
    return {"mse": mse, "rmse": np.sqrt(mse), "mae": np.mean(np.abs(res)), "r2": r2}
''', fails=["test_regression_basic"]),
    _v("MAE without absolute value", "regression_scores", _REG_HEAD + '''
    r2 = 1 - np.sum(res ** 2) / ss_tot if ss_tot > 0 else float(np.all(res == 0))
    return {"mse": mse, "rmse": np.sqrt(mse), "mae": np.mean(res), "r2": r2}
''', fails=["test_regression_basic"]),
    _v("RMSE as the root of the MAE", "regression_scores", _REG_HEAD + '''
    r2 = 1 - np.sum(res ** 2) / ss_tot if ss_tot > 0 else float(np.all(res == 0))
    mae = np.mean(np.abs(res))
    return {"mse": mse, "rmse": np.sqrt(mae), "mae": mae, "r2": r2}
''', fails=["test_regression_basic"]),
    _v("R^2 undefined (nan) for a constant target", "regression_scores", _REG_HEAD + '''
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1 - np.sum(res ** 2) / ss_tot
    return {"mse": mse, "rmse": np.sqrt(mse), "mae": np.mean(np.abs(res)), "r2": r2}
''', fails=["test_regression_edges"]),
    _v("R^2 clipped at zero", "regression_scores", _REG_HEAD + '''
    r2 = max(0.0, 1 - np.sum(res ** 2) / ss_tot) if ss_tot > 0 else float(np.all(res == 0))
    return {"mse": mse, "rmse": np.sqrt(mse), "mae": np.mean(np.abs(res)), "r2": r2}
''', fails=["test_regression_edges"]),
]

# ------------------------------------------------------------------ k-fold
WRONG += [
    _v("k-fold drops the remainder samples", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    if not 2 <= n_splits <= n_samples:
        raise ValueError("n_splits")
    size, idx = n_samples // n_splits, np.arange(n_samples)
    return [(np.r_[idx[:j * size], idx[(j + 1) * size:]], idx[j * size:(j + 1) * size])
            for j in range(n_splits)]
''', fails=["test_kfold_basic"]),
    _v("k-fold with overlapping folds (train on everything)", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    if not 2 <= n_splits <= n_samples:
        raise ValueError("n_splits")
    idx = np.arange(n_samples)
    return [(idx, test) for test in np.array_split(idx, n_splits)]
''', fails=["test_kfold_basic", "test_kfold_edges"]),
    _v("k-fold puts the remainder in the last fold", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    if not 2 <= n_splits <= n_samples:
        raise ValueError("n_splits")
    size, idx = n_samples // n_splits, np.arange(n_samples)
    bounds = [j * size for j in range(n_splits)] + [n_samples]
    return [(np.r_[idx[:a], idx[b:]], idx[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
''', fails=["test_kfold_basic"]),
    _v("k-fold returns a generator", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    idx = np.arange(n_samples)
    for test in np.array_split(idx, n_splits):
        yield np.setdiff1d(idx, test), test
''', fails=["test_kfold_basic"]),
    _v("k-fold without range checks", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    idx = np.arange(n_samples)
    return [(np.setdiff1d(idx, test), test) for test in np.array_split(idx, n_splits)]
''', fails=["test_kfold_edges"]),
    _v("k-fold wraps sklearn KFold", "kfold_indices", '''
from sklearn.model_selection import KFold


def kfold_indices(n_samples, n_splits):
    if not 2 <= n_splits <= n_samples:
        raise ValueError("n_splits")
    return list(KFold(n_splits).split(np.zeros((n_samples, 1))))
''', fails=["test_kfold_basic"]),
]

# ------------------------------------------------------------------ stratified k-fold
WRONG += [
    _v("stratification ignored (plain contiguous folds)", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    idx = np.arange(len(y))
    if not 2 <= n_splits <= len(y):
        raise ValueError("n_splits")
    return [(np.setdiff1d(idx, test), test) for test in np.array_split(idx, n_splits)]
''', fails=["test_stratified_basic"], cli=True),
    _v("stratified folds drop each class's remainder", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    y = np.asarray(y)
    if not 2 <= n_splits <= len(y):
        raise ValueError("n_splits")
    rng = np.random.default_rng(seed)
    fold_of = np.full(len(y), -1)
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        per = len(members) // n_splits
        for j in range(n_splits):
            fold_of[members[j * per:(j + 1) * per]] = j
    idx = np.arange(len(y))
    return [(idx[(fold_of != j) & (fold_of >= 0)], idx[fold_of == j]) for j in range(n_splits)]
''', fails=["test_stratified_basic"]),
    _v("stratified test fold also in train (overlap)", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    y = np.asarray(y)
    if not 2 <= n_splits <= len(y):
        raise ValueError("n_splits")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        fold_of[members] = np.arange(len(members)) % n_splits
    idx = np.arange(len(y))
    return [(idx, idx[fold_of == j]) for j in range(n_splits)]
''', fails=["test_stratified_basic"]),
    _v("stratified shuffle ignores the seed", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    y = np.asarray(y)
    if not 2 <= n_splits <= len(y):
        raise ValueError("n_splits")
    rng = np.random.default_rng()
    fold_of = np.empty(len(y), dtype=int)
    dealt = 0
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        fold_of[members] = (dealt + np.arange(len(members))) % n_splits
        dealt += len(members)
    idx = np.arange(len(y))
    return [(idx[fold_of != j], idx[fold_of == j]) for j in range(n_splits)]
''', fails=["test_stratified_props"]),
    _v("stratified folds unsorted test indices", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    y = np.asarray(y)
    if not 2 <= n_splits <= len(y):
        raise ValueError("n_splits")
    rng = np.random.default_rng(seed)
    tests = [[] for _ in range(n_splits)]
    dealt = 0
    for c in np.unique(y):
        for m in rng.permutation(np.flatnonzero(y == c)):
            tests[dealt % n_splits].append(m)
            dealt += 1
    idx = np.arange(len(y))
    return [(np.setdiff1d(idx, t), np.array(t)) for t in tests]
''', fails=["test_stratified_props"]),
]

# ------------------------------------------------------------------ baseline
_BASE_HEAD = '''
def baseline_comparison(model, X_train, y_train, X_test, y_test):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score

    def scores(y_hat, truth=y_test):
        return {"accuracy": accuracy_score(truth, y_hat),
                "recall": recall_score(truth, y_hat, zero_division=0),
                "balanced_accuracy": balanced_accuracy_score(truth, y_hat)}
'''

WRONG += [
    _v("baseline fitted on the test set", "baseline_comparison", _BASE_HEAD + '''
    m = clone(model).fit(X_train, y_train).predict(X_test)
    d = DummyClassifier(strategy="most_frequent").fit(X_test, y_test).predict(X_test)
    return {"model": scores(m), "baseline": scores(d)}
''', fails=["test_baseline_train_only"]),
    _v("scored on the training data", "baseline_comparison", _BASE_HEAD + '''
    m = clone(model).fit(X_train, y_train).predict(X_train)
    d = DummyClassifier(strategy="most_frequent").fit(X_train, y_train).predict(X_train)
    return {"model": scores(m, y_train), "baseline": scores(d, y_train)}
''', fails=["test_baseline_digits"]),
    _v("stratified random baseline instead of most frequent", "baseline_comparison", _BASE_HEAD + '''
    m = clone(model).fit(X_train, y_train).predict(X_test)
    d = DummyClassifier(strategy="stratified", random_state=0).fit(X_train, y_train).predict(X_test)
    return {"model": scores(m), "baseline": scores(d)}
''', fails=["test_baseline_digits"]),
    _v("recall of the majority class", "baseline_comparison", '''
def baseline_comparison(model, X_train, y_train, X_test, y_test):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score

    def scores(y_hat):
        return {"accuracy": accuracy_score(y_test, y_hat),
                "recall": recall_score(y_test, y_hat, pos_label=0),
                "balanced_accuracy": balanced_accuracy_score(y_test, y_hat)}

    m = clone(model).fit(X_train, y_train).predict(X_test)
    d = DummyClassifier(strategy="most_frequent").fit(X_train, y_train).predict(X_test)
    return {"model": scores(m), "baseline": scores(d)}
''', fails=["test_baseline_digits", "test_baseline_train_only"]),
    _v("balanced accuracy reported as plain accuracy", "baseline_comparison", '''
def baseline_comparison(model, X_train, y_train, X_test, y_test):
    from sklearn.metrics import accuracy_score, recall_score

    def scores(y_hat):
        acc = accuracy_score(y_test, y_hat)
        return {"accuracy": acc, "recall": recall_score(y_test, y_hat, zero_division=0),
                "balanced_accuracy": acc}

    m = clone(model).fit(X_train, y_train).predict(X_test)
    d = DummyClassifier(strategy="most_frequent").fit(X_train, y_train).predict(X_test)
    return {"model": scores(m), "baseline": scores(d)}
''', fails=["test_baseline_digits"]),
]

# ------------------------------------------------------------------ bootstrap
_BOOT_HEAD = '''
def bootstrap_ci(y_true, y_pred, metric, n_boot=1000, confidence=0.95, seed=0):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    n = len(y_true)
'''
_BOOT_LOOP = '''
    stats = np.array([metric(y_true[i], y_pred[i]) for i in (rng.integers(0, n, n) for _ in range(n_boot))])
'''

WRONG += [
    _v("bootstrap percentile off by one (sorted[int(q * B)])", "bootstrap_ci", _BOOT_HEAD + _BOOT_LOOP + '''
    s = np.sort(stats)
    a = (1 - confidence) / 2
    return {"estimate": metric(y_true, y_pred), "low": s[int(a * n_boot)],
            "high": s[min(int((1 - a) * n_boot), n_boot - 1)], "stats": stats}
''', fails=["test_bootstrap_basic"]),
    _v("bootstrap interval cuts alpha (not alpha/2) on each side", "bootstrap_ci", _BOOT_HEAD + _BOOT_LOOP + '''
    a = 1 - confidence
    low, high = np.quantile(stats, [a, 1 - a])
    return {"estimate": metric(y_true, y_pred), "low": low, "high": high, "stats": stats}
''', fails=["test_bootstrap_basic", "test_bootstrap_reference"]),
    _v("bootstrap resamples without replacement", "bootstrap_ci", _BOOT_HEAD + '''
    stats = np.array([metric(y_true[i], y_pred[i]) for i in (rng.permutation(n) for _ in range(n_boot))])
    a = (1 - confidence) / 2
    low, high = np.quantile(stats, [a, 1 - a])
    return {"estimate": metric(y_true, y_pred), "low": low, "high": high, "stats": stats}
''', fails=["test_bootstrap_basic", "test_bootstrap_reference"]),
    _v("bootstrap resamples half the test set", "bootstrap_ci", _BOOT_HEAD + '''
    stats = np.array([metric(y_true[i], y_pred[i]) for i in (rng.integers(0, n, n // 2) for _ in range(n_boot))])
    a = (1 - confidence) / 2
    low, high = np.quantile(stats, [a, 1 - a])
    return {"estimate": metric(y_true, y_pred), "low": low, "high": high, "stats": stats}
''', fails=["test_bootstrap_reference"]),
    _v("bootstrap estimate is the mean of the replicates", "bootstrap_ci", _BOOT_HEAD + _BOOT_LOOP + '''
    a = (1 - confidence) / 2
    low, high = np.quantile(stats, [a, 1 - a])
    return {"estimate": float(np.mean(stats)), "low": low, "high": high, "stats": stats}
''', fails=["test_bootstrap_basic"]),
    _v("bootstrap ignores the seed", "bootstrap_ci", '''
def bootstrap_ci(y_true, y_pred, metric, n_boot=1000, confidence=0.95, seed=0):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng()
    n = len(y_true)
''' + _BOOT_LOOP + '''
    a = (1 - confidence) / 2
    low, high = np.quantile(stats, [a, 1 - a])
    return {"estimate": metric(y_true, y_pred), "low": low, "high": high, "stats": stats}
''', fails=["test_bootstrap_basic"]),
]

# ------------------------------------------------------------------ paired comparison
_PAIR_HEAD = '''
def paired_comparison(scores_a, scores_b):
    from scipy import stats
    a, b = np.asarray(scores_a, float), np.asarray(scores_b, float)
    if a.shape != b.shape:
        raise ValueError("lengths differ")
    d = a - b
    k = len(d)
'''

WRONG += [
    _v("unpaired t-test on fold scores", "paired_comparison", _PAIR_HEAD + '''
    res = stats.ttest_ind(a, b)
    return {"mean_diff": d.mean(), "std_diff": d.std(ddof=1), "t": res.statistic, "p_value": res.pvalue}
''', fails=["test_paired_basic"]),
    _v("paired t with ddof=0", "paired_comparison", _PAIR_HEAD + '''
    sd = d.std()
    t = d.mean() / (sd / np.sqrt(k))
    return {"mean_diff": d.mean(), "std_diff": sd, "t": t, "p_value": 2 * stats.t.sf(abs(t), k - 1)}
''', fails=["test_paired_basic"]),
    _v("one-sided p-value", "paired_comparison", _PAIR_HEAD + '''
    t = d.mean() / (d.std(ddof=1) / np.sqrt(k))
    return {"mean_diff": d.mean(), "std_diff": d.std(ddof=1), "t": t, "p_value": stats.t.sf(abs(t), k - 1)}
''', fails=["test_paired_basic"]),
    _v("differences taken as B minus A", "paired_comparison", _PAIR_HEAD + '''
    d = -d
    t = d.mean() / (d.std(ddof=1) / np.sqrt(k))
    return {"mean_diff": d.mean(), "std_diff": d.std(ddof=1), "t": t,
            "p_value": 2 * stats.t.sf(abs(t), k - 1)}
''', fails=["test_paired_basic"]),
    _v("paired comparison truncates unequal lengths", "paired_comparison", '''
def paired_comparison(scores_a, scores_b):
    from scipy import stats
    k = min(len(scores_a), len(scores_b))
    res = stats.ttest_rel(np.asarray(scores_a, float)[:k], np.asarray(scores_b, float)[:k])
    d = np.asarray(scores_a, float)[:k] - np.asarray(scores_b, float)[:k]
    return {"mean_diff": d.mean(), "std_diff": d.std(ddof=1), "t": res.statistic, "p_value": res.pvalue}
''', fails=["test_paired_edges"]),
]

# ------------------------------------------------------------------ correct alternatives
RIGHT = [
    _v("confusion matrix with np.add.at on label positions", "confusion_matrix_np", '''
def confusion_matrix_np(y_true, y_pred, labels=None):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    pos = {label: i for i, label in enumerate(labels.tolist())}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        if t in pos and p in pos:
            np.add.at(cm, (pos[t], pos[p]), 1)
    return cm
'''),
    _v("binary scores from the learner's confusion matrix, float32", "binary_scores", '''
def binary_scores(y_true, y_pred, pos_label=1):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    t, p = (y_true == pos_label).astype(int), (y_pred == pos_label).astype(int)
    (tn, fp), (fn, tp) = confusion_matrix_np(t, p, labels=[0, 1])
    prec = np.float32(tp / (tp + fp)) if tp + fp else np.float32(0)
    rec = np.float32(tp / (tp + fn)) if tp + fn else np.float32(0)
    f1 = np.float32(2 * prec * rec / (prec + rec)) if prec + rec else np.float32(0)
    return {"accuracy": np.float32((tp + tn) / len(t)), "precision": prec, "recall": rec, "f1": f1}
'''),
    _v("averaged scores reusing binary_scores and np.average", "averaged_scores", '''
def averaged_scores(y_true, y_pred, average="macro"):
    if average not in ("macro", "weighted"):
        raise ValueError("average must be 'macro' or 'weighted'")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred]))
    per = [binary_scores(y_true, y_pred, pos_label=c) for c in labels]
    w = None if average == "macro" else [np.sum(y_true == c) for c in labels]
    return {k: np.average([s[k] for s in per], weights=w) for k in ("precision", "recall", "f1")}
'''),
    _v("AUC by counting pairs (Mann-Whitney) and a loop over thresholds", "roc_curve_auc", '''
def roc_curve_auc(y_true, y_score):
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=float)
    pos, neg = y_score[y_true == 1], y_score[y_true == 0]
    fpr, tpr = [0.0], [0.0]
    for t in np.unique(y_score)[::-1]:
        tpr.append(np.mean(pos >= t))
        fpr.append(np.mean(neg >= t))
    diff = pos[:, None] - neg[None, :]
    auc = np.mean(diff > 0) + 0.5 * np.mean(diff == 0)
    return np.array(fpr), np.array(tpr), auc
'''),
    _v("threshold from cumulative sums over the sorted scores", "threshold_for_recall", '''
def threshold_for_recall(y_true, y_score, target_recall):
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score)
    s, pos = y_score[order], y_true[order] == 1
    last = np.r_[s[1:] != s[:-1], True]
    tp, n_pred = np.cumsum(pos)[last], np.arange(1, len(s) + 1)[last]
    recall = tp / pos.sum()
    k = int(np.argmax(recall >= target_recall))
    return {"threshold": s[last][k], "precision": tp[k] / n_pred[k], "recall": recall[k]}
'''),
    _v("regression scores with a loop and float32 inputs", "regression_scores", '''
def regression_scores(y_true, y_pred):
    yt = [float(v) for v in np.asarray(y_true, dtype=np.float32)]
    yp = [float(v) for v in np.asarray(y_pred, dtype=np.float32)]
    n = len(yt)
    mean = sum(yt) / n
    ss_res = sum((a - b) ** 2 for a, b in zip(yt, yp))
    ss_tot = sum((a - mean) ** 2 for a in yt)
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {"mse": ss_res / n, "rmse": (ss_res / n) ** 0.5,
            "mae": sum(abs(a - b) for a, b in zip(yt, yp)) / n, "r2": r2}
'''),
    _v("k-fold with np.array_split and setdiff1d", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    if n_splits < 2 or n_splits > n_samples:
        raise ValueError("bad n_splits")
    idx = np.arange(n_samples)
    return [(np.setdiff1d(idx, test), test) for test in np.array_split(idx, n_splits)]
'''),
    _v("stratified folds by splitting each class with array_split", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    y = np.asarray(y)
    if n_splits < 2 or n_splits > len(y):
        raise ValueError("bad n_splits")
    rng = np.random.default_rng(seed)
    tests = [[] for _ in range(n_splits)]
    for c in np.unique(y):
        chunks = np.array_split(rng.permutation(np.flatnonzero(y == c)), n_splits)
        for j, chunk in enumerate(chunks):
            tests[j].extend(chunk.tolist())
    idx = np.arange(len(y))
    return [(np.setdiff1d(idx, t), np.sort(np.array(t, dtype=int))) for t in tests]
'''),
    _v("baseline comparison with manual metrics and a clone fitted", "baseline_comparison", '''
def baseline_comparison(model, X_train, y_train, X_test, y_test):
    y_test = np.asarray(y_test)

    def scores(y_hat):
        rec1 = np.mean(y_hat[y_test == 1] == 1)
        rec0 = np.mean(y_hat[y_test == 0] == 0)
        return {"accuracy": np.mean(y_hat == y_test), "recall": rec1,
                "balanced_accuracy": (rec0 + rec1) / 2}

    majority = np.bincount(np.asarray(y_train)).argmax()
    return {"model": scores(clone(model).fit(X_train, y_train).predict(X_test)),
            "baseline": scores(np.full(len(y_test), majority))}
'''),
    _v("bootstrap with rng.choice and np.percentile", "bootstrap_ci", '''
def bootstrap_ci(y_true, y_pred, metric, n_boot=1000, confidence=0.95, seed=0):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n_boot):
        i = rng.choice(len(y_true), size=len(y_true), replace=True)
        stats.append(metric(y_true[i], y_pred[i]))
    stats = np.asarray(stats, dtype=float)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(stats, [tail, 100 - tail])
    return {"estimate": metric(y_true, y_pred), "low": low, "high": high, "stats": stats}
'''),
    _v("paired comparison via scipy.stats.ttest_rel", "paired_comparison", '''
def paired_comparison(scores_a, scores_b):
    from scipy.stats import ttest_rel
    if len(scores_a) != len(scores_b):
        raise ValueError("the two models must be scored on the same folds")
    d = np.asarray(scores_a, float) - np.asarray(scores_b, float)
    res = ttest_rel(scores_a, scores_b)
    return {"mean_diff": d.mean(), "std_diff": np.std(d, ddof=1), "t": res.statistic, "p_value": res.pvalue}
'''),
]

WRONG += [
    _v("confusion matrix of float counts", "confusion_matrix_np", _CM_HEAD + '''
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    cm = np.zeros((len(labels), len(labels)))
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            cm[i, j] = np.sum((y_true == a) & (y_pred == b))
    return cm
''', fails=["test_confusion_basic"]),
    _v("k-fold indices as floats (np.arange(..., dtype=float))", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    if n_splits < 2 or n_splits > n_samples:
        raise ValueError("bad n_splits")
    sizes = np.full(n_splits, n_samples // n_splits)
    sizes[: n_samples % n_splits] += 1
    idx, out, start = np.arange(n_samples, dtype=float), [], 0
    for s in sizes:
        out.append((np.concatenate([idx[:start], idx[start + s:]]), idx[start:start + s]))
        start += s
    return out
''', fails=["test_kfold_basic"]),
    _v("k-fold through scikit-learn's StratifiedKFold on constant labels", "kfold_indices", '''
def kfold_indices(n_samples, n_splits):
    from sklearn.model_selection import StratifiedKFold
    if n_splits < 2 or n_splits > n_samples:
        raise ValueError("bad n_splits")
    return [(tr, te) for tr, te in StratifiedKFold(n_splits).split(np.zeros(n_samples), np.zeros(n_samples))]
''', fails=["test_kfold_basic"]),
    _v("stratified folds ignore the seed (always default_rng(0))", "stratified_kfold_indices", '''
def stratified_kfold_indices(y, n_splits, seed=0):
    y = np.asarray(y)
    if n_splits < 2 or n_splits > len(y):
        raise ValueError("bad n_splits")
    rng = np.random.default_rng(0)
    fold_of = np.empty(len(y), dtype=int)
    count = 0
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        fold_of[members] = (count + np.arange(len(members))) % n_splits
        count += len(members)
    return [(np.flatnonzero(fold_of != j), np.flatnonzero(fold_of == j)) for j in range(n_splits)]
''', fails=["test_stratified_props"]),
    _v("baseline fits the caller's model instead of a clone", "baseline_comparison", _BASE_HEAD + '''
    m = model.fit(X_train, y_train).predict(X_test)
    d = DummyClassifier(strategy="most_frequent").fit(X_train, y_train).predict(X_test)
    return {"model": scores(m), "baseline": scores(d)}
''', fails=["test_baseline_train_only"], cli=True),
    _v("bootstrap calls metric(y_pred, y_true)", "bootstrap_ci", _BOOT_HEAD + '''
    stats = np.array([metric(y_pred[i], y_true[i]) for i in (rng.integers(0, n, n) for _ in range(n_boot))])
    a = 1 - confidence
    low, high = np.quantile(stats, [a / 2, 1 - a / 2])
    return {"estimate": metric(y_pred, y_true), "low": low, "high": high, "stats": stats}
''', fails=["test_bootstrap_basic"]),
]

_RECAL_HEAD = '''
def recalibrate(p_cal, y_cal, p_new):
    from sklearn.isotonic import IsotonicRegression
    p_cal, y_cal, p_new = np.asarray(p_cal, dtype=float), np.asarray(y_cal), np.asarray(p_new, dtype=float)
'''
WRONG += [
    _v("recalibration: the identity (nothing learned)", "recalibrate", _RECAL_HEAD + '''
    return np.clip(p_new, 1e-9, 1 - 1e-9)
''', fails=["test_recalibrate"]),
    _v("recalibration: isotonic regression that can return exactly 0 or 1", "recalibrate", _RECAL_HEAD + '''
    return IsotonicRegression(out_of_bounds="clip").fit(p_cal, y_cal).predict(p_new)
''', fails=["test_recalibrate"], cli=True),
    _v("recalibration: predicts the base rate for everyone (loses the ranking)", "recalibrate", _RECAL_HEAD + '''
    return np.full(len(p_new), float(np.mean(y_cal)))
''', fails=["test_recalibrate"]),
    _v("recalibration: Platt scaling on p, with the outcome reversed (1 - y)", "recalibrate", _RECAL_HEAD + '''
    from sklearn.linear_model import LogisticRegression
    lr = LogisticRegression(C=1e6).fit(p_cal.reshape(-1, 1), 1 - y_cal)
    return lr.predict_proba(p_new.reshape(-1, 1))[:, 1]
''', fails=["test_recalibrate"]),
    _v("recalibration: returns the map g instead of g(p_new)", "recalibrate", _RECAL_HEAD + '''
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(p_cal, y_cal)
    return lambda p: iso.predict(np.asarray(p, dtype=float))
''', fails=["test_recalibrate"]),
    _v("recalibration: rescaled by the range of p_new (depends on the other new values)", "recalibrate",
       _RECAL_HEAD + '''
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(p_cal, y_cal)
    q = iso.predict(p_new)
    return np.clip(0.02 + 0.96 * (q - q.min()) / (q.max() - q.min()), 1e-4, 1 - 1e-4)
''', fails=["test_recalibrate"]),
]
RIGHT += [
    _v("recalibration: isotonic regression clipped inside (0, 1)", "recalibrate", _RECAL_HEAD + '''
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(p_cal, y_cal)
    return iso.predict(p_new)
'''),
    _v("recalibration: Platt scaling by hand with scipy, returned as a list", "recalibrate", _RECAL_HEAD + '''
    from scipy.optimize import minimize
    z = np.log(np.clip(p_cal, 1e-9, 1 - 1e-9) / (1 - np.clip(p_cal, 1e-9, 1 - 1e-9)))
    def nll(ab):
        s = ab[0] * z + ab[1]
        return np.mean(np.logaddexp(0, s) - y_cal * s)
    a, b = minimize(nll, [1.0, 0.0]).x
    p = np.clip(p_new, 1e-9, 1 - 1e-9)
    return np.clip(1 / (1 + np.exp(-(a * np.log(p / (1 - p)) + b))), 1e-9, 1 - 1e-9).tolist()
'''),
]

"""Lesson 04 (tuning): wrong answers that must lose points, right ones that must not."""
from __future__ import annotations

from tests.corpus import Variant

NB = "solutions/04_tuning/tuning.ipynb"
NOTEBOOKS = [NB]


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: source.strip() + "\n"}, tuple(fails), cli)


# --- Exercise 1: fold_scores -------------------------------------------------------------
FOLD_TRAIN_SCORE = '''
def fold_scores(estimator, candidates, X, y, folds):
    scores = np.empty((len(candidates), len(folds)))
    for i, params in enumerate(candidates):
        for k, (train, test) in enumerate(folds):
            fitted = clone(estimator).set_params(**params).fit(X[train], y[train])
            scores[i, k] = fitted.score(X[train], y[train])
    return scores
'''
FOLD_TRANSPOSED = '''
def fold_scores(estimator, candidates, X, y, folds):
    return np.array([[clone(estimator).set_params(**p).fit(X[tr], y[tr]).score(X[te], y[te])
                      for p in candidates] for tr, te in folds])
'''
FOLD_FIT_ALL = '''
def fold_scores(estimator, candidates, X, y, folds):
    scores = np.empty((len(candidates), len(folds)))
    for i, params in enumerate(candidates):
        fitted = clone(estimator).set_params(**params).fit(X, y)
        for k, (train, test) in enumerate(folds):
            scores[i, k] = fitted.score(X[test], y[test])
    return scores
'''
FOLD_IGNORES_PARAMS = '''
def fold_scores(estimator, candidates, X, y, folds):
    return np.array([[clone(estimator).fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in folds]
                     for _ in candidates])
'''
FOLD_FIRST_PARAM_ONLY = '''
def fold_scores(estimator, candidates, X, y, folds):
    rows = []
    for params in candidates:
        first = dict(list(params.items())[:1])
        rows.append([clone(estimator).set_params(**first).fit(X[tr], y[tr]).score(X[te], y[te])
                     for tr, te in folds])
    return np.array(rows).reshape(len(candidates), len(folds))
'''
FOLD_CROSS_VAL = '''
def fold_scores(estimator, candidates, X, y, folds):
    return np.vstack([cross_val_score(clone(estimator).set_params(**p), X, y, cv=folds)
                      for p in candidates]).reshape(len(candidates), len(folds))
'''
FOLD_LISTS = '''
def fold_scores(estimator, candidates, X, y, folds):
    table = []
    for params in candidates:
        row = []
        for train, test in folds:
            m = clone(estimator)
            m.set_params(**params)
            m.fit(X[train], y[train])
            row.append(float(m.score(X[test], y[test])))
        table.append(row)
    return np.array(table, dtype=np.float32).reshape(len(candidates), len(folds))
'''

# --- Exercise 2: grid_search -------------------------------------------------------------
def _grid(select, means="fold_scores(estimator, candidates, X, y, folds).mean(axis=1)",
          candidates="list(ParameterGrid(param_grid))"):
    return f'''
def grid_search(estimator, param_grid, X, y, folds):
    candidates = {candidates}
    table = fold_scores(estimator, candidates, X, y, folds)
    mean_scores = {means}
    best = {select}
    return candidates[int(best)], mean_scores
'''


GRID_WRONG_AXIS = _grid("np.argmax(mean_scores)", means="table.mean(axis=0)")
GRID_ARGMIN = _grid("np.argmin(mean_scores)")
GRID_LAST_TIE = _grid("len(mean_scores) - 1 - np.argmax(mean_scores[::-1])")
GRID_BEST_FOLD = _grid("np.argmax(table.max(axis=1))")
GRID_DICT_ORDER = _grid(
    "np.argmax(mean_scores)",
    candidates="[dict(zip(param_grid, values)) for values in "
               "__import__('itertools').product(*param_grid.values())]")
GRID_ALWAYS_LAST = _grid("len(candidates) - 1")
GRID_CALLS_LIBRARY = '''
def grid_search(estimator, param_grid, X, y, folds):
    search = GridSearchCV(estimator, param_grid, cv=folds).fit(X, y)
    return search.best_params_, search.cv_results_["mean_test_score"]
'''
GRID_LOOP = '''
def grid_search(estimator, param_grid, X, y, folds):
    best_params, best_mean, means = None, -np.inf, []
    for params in ParameterGrid(param_grid):
        total = 0.0
        for train, test in folds:
            total += clone(estimator).set_params(**params).fit(X[train], y[train]).score(X[test], y[test])
        mean = total / len(folds)
        means.append(mean)
        if mean > best_mean:
            best_params, best_mean = params, mean
    return best_params, np.array(means)
'''
GRID_SORTED_PRODUCT = '''
import itertools

def grid_search(estimator, param_grid, X, y, folds):
    keys = sorted(param_grid)
    candidates = [dict(zip(keys, v)) for v in itertools.product(*(param_grid[k] for k in keys))]
    means = fold_scores(estimator, candidates, X, y, folds).mean(axis=1)
    return candidates[int(np.flatnonzero(means == means.max())[0])], means
'''

# --- Exercise 3: log_uniform_samples ------------------------------------------------------
def _lu(body, check=True):
    guard = ('    if not 0 < low <= high:\n        raise ValueError("bad bounds")\n' if check else "")
    return f"def log_uniform_samples(low, high, n, seed):\n{guard}    rng = np.random.default_rng(seed)\n    return {body}\n"


LU_LINEAR = _lu("rng.uniform(low, high, size=n)")
LU_LOG_OF_UNIFORM = _lu("np.log(rng.uniform(low, high, size=n))")
LU_EXPONENT_ONLY = _lu("rng.uniform(np.log10(low), np.log10(high), size=n)")
LU_MIXED_BASES = _lu("np.exp(rng.uniform(np.log10(low), np.log10(high), size=n))")
LU_NO_SEED = '''
def log_uniform_samples(low, high, n, seed):
    if not 0 < low <= high:
        raise ValueError("bad bounds")
    rng = np.random.default_rng()
    return np.exp(rng.uniform(np.log(low), np.log(high), size=n))
'''
LU_NO_CHECK = _lu("np.exp(rng.uniform(np.log(low), np.log(high), size=n))", check=False)
LU_SCIPY = '''
def log_uniform_samples(low, high, n, seed):
    if not 0 < low <= high:
        raise ValueError("need 0 < low <= high")
    if low == high:
        return np.full(n, float(low))
    return stats.loguniform(low, high).rvs(size=n, random_state=np.random.default_rng(seed))
'''
LU_BASE10 = _lu("10.0 ** rng.uniform(np.log10(low), np.log10(high), n)")
LU_POWER = _lu("low * (high / low) ** rng.random(n)")

# --- Exercise 4: nested_cv_scores --------------------------------------------------------
NESTED_SEARCH_ALL = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    search = GridSearchCV(estimator, param_grid, cv=inner_cv).fit(X, y)
    return np.array([search.score(X[test], y[test]) for _, test in outer_folds])
'''
NESTED_INNER_BEST = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    return np.array([GridSearchCV(estimator, param_grid, cv=inner_cv).fit(X[tr], y[tr]).best_score_
                     for tr, _ in outer_folds])
'''
NESTED_MEAN = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    return cross_val_score(GridSearchCV(estimator, param_grid, cv=inner_cv), X, y, cv=outer_folds).mean()
'''
NESTED_FIXED_INNER = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    return np.array([GridSearchCV(estimator, param_grid, cv=5).fit(X[tr], y[tr]).score(X[te], y[te])
                     for tr, te in outer_folds])
'''
NESTED_OUTER_FOLDS_INSIDE = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    search = GridSearchCV(estimator, param_grid, cv=outer_folds).fit(X, y)
    best = search.best_index_
    return np.array([search.cv_results_[f"split{k}_test_score"][best] for k in range(len(outer_folds))])
'''
NESTED_CROSS_VAL = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    return cross_val_score(GridSearchCV(estimator, param_grid, cv=inner_cv), X, y, cv=outer_folds)
'''
NESTED_MANUAL_REFIT = '''
def nested_cv_scores(estimator, param_grid, X, y, outer_folds, inner_cv):
    out = []
    for train, test in outer_folds:
        search = GridSearchCV(estimator, param_grid, cv=inner_cv, refit=False).fit(X[train], y[train])
        best = clone(estimator).set_params(**search.best_params_).fit(X[train], y[train])
        out.append(best.score(X[test], y[test]))
    return out
'''

# --- Exercise 5: search_in_pipeline -------------------------------------------------------
PIPE_SCALED_OUTSIDE = '''
def search_in_pipeline(X, y, C_values, folds):
    X_scaled = StandardScaler().fit_transform(X)
    search = GridSearchCV(LogisticRegression(), {"C": list(C_values)}, cv=folds,
                          scoring="neg_log_loss").fit(X_scaled, y)
    return search.best_params_["C"], search.best_score_
'''
PIPE_NO_SCALING = '''
def search_in_pipeline(X, y, C_values, folds):
    search = GridSearchCV(LogisticRegression(max_iter=5000), {"C": list(C_values)}, cv=folds,
                          scoring="neg_log_loss").fit(X, y)
    return search.best_params_["C"], search.best_score_
'''
PIPE_ACCURACY = '''
def search_in_pipeline(X, y, C_values, folds):
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                          {"logisticregression__C": list(C_values)}, cv=folds).fit(X, y)
    return search.best_params_["logisticregression__C"], search.best_score_
'''
PIPE_POSITIVE_LOSS = '''
def search_in_pipeline(X, y, C_values, folds):
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                          {"logisticregression__C": list(C_values)}, cv=folds,
                          scoring="neg_log_loss").fit(X, y)
    return search.best_params_["logisticregression__C"], -search.best_score_
'''
PIPE_RETURNS_INDEX = '''
def search_in_pipeline(X, y, C_values, folds):
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                          {"logisticregression__C": list(C_values)}, cv=folds,
                          scoring="neg_log_loss").fit(X, y)
    return search.best_index_, search.best_score_
'''
PIPE_NAMED_STEPS = '''
from sklearn.pipeline import Pipeline

def search_in_pipeline(X, y, C_values, folds):
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = GridSearchCV(pipe, {"clf__C": C_values}, cv=folds, scoring="neg_log_loss").fit(X, y)
    return search.best_params_["clf__C"], search.best_score_
'''
PIPE_MANUAL = '''
def search_in_pipeline(X, y, C_values, folds):
    means = []
    for C in C_values:
        losses = []
        for train, test in folds:
            scaler = StandardScaler().fit(X[train])
            clf = LogisticRegression(C=C).fit(scaler.transform(X[train]), y[train])
            losses.append(log_loss(y[test], clf.predict_proba(scaler.transform(X[test]))))
        means.append(-np.mean(losses))
    best = int(np.argmax(means))
    return C_values[best], means[best]
'''

# --- Exercise 6: learning_curve_scores ----------------------------------------------------
def _lc(subset="train[:m]", train_eval="subset", ret="np.array(tr_means), np.array(va_means)"):
    return f'''
def learning_curve_scores(estimator, X, y, train_sizes, folds):
    tr_means, va_means = [], []
    for m in train_sizes:
        tr, va = [], []
        for train, test in folds:
            subset = {subset}
            fitted = clone(estimator).fit(X[subset], y[subset])
            tr.append(fitted.score(X[{train_eval}], y[{train_eval}]))
            va.append(fitted.score(X[test], y[test]))
        tr_means.append(np.mean(tr))
        va_means.append(np.mean(va))
    return {ret}
'''


LC_SWAPPED = _lc(ret="np.array(va_means), np.array(tr_means)")
LC_TRAIN_ON_WHOLE_PART = _lc(train_eval="train")
LC_LAST_ROWS = _lc(subset="train[-m:]")
LC_SORTED_ROWS = _lc(subset="np.sort(train)[:m]")
LC_WRONG_AXIS = '''
def learning_curve_scores(estimator, X, y, train_sizes, folds):
    tr = np.zeros((len(train_sizes), len(folds)))
    va = np.zeros_like(tr)
    for i, m in enumerate(train_sizes):
        for k, (train, test) in enumerate(folds):
            fitted = clone(estimator).fit(X[train[:m]], y[train[:m]])
            tr[i, k] = fitted.score(X[train[:m]], y[train[:m]])
            va[i, k] = fitted.score(X[test], y[test])
    return tr.mean(axis=0), va.mean(axis=0)
'''
LC_CALLS_LIBRARY = '''
def learning_curve_scores(estimator, X, y, train_sizes, folds):
    _, tr, va = learning_curve(estimator, X, y, train_sizes=train_sizes, cv=folds)
    return tr.mean(axis=1), va.mean(axis=1)
'''
LC_FOLDS_OUTSIDE = '''
def learning_curve_scores(estimator, X, y, train_sizes, folds):
    tr = np.zeros((len(folds), len(train_sizes)))
    va = np.zeros_like(tr)
    for k, (train, test) in enumerate(folds):
        for i, m in enumerate(train_sizes):
            rows = train[:m]
            fitted = clone(estimator).fit(X[rows], y[rows])
            tr[k, i], va[k, i] = fitted.score(X[rows], y[rows]), fitted.score(X[test], y[test])
    return tr.mean(axis=0), va.mean(axis=0)
'''

# --- Exercise 7: early_stopping -----------------------------------------------------------
def _es(body):
    return f'''
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None):
    trajectory = gd_trajectory(lambda th: mse_gradient(th, X_train, y_train),
                               np.zeros(X_train.shape[1]), lr, n_steps)
    val = np.array([mse_loss(th, X_val, y_val) for th in trajectory])
    train = np.array([mse_loss(th, X_train, y_train) for th in trajectory])
{body}
'''


ES_TRAIN_LOSS = _es("    best = int(np.argmin(train))\n    return best, trajectory[best]")
ES_OFF_BY_ONE = _es("    best = int(np.argmin(val[1:]))\n    return best, trajectory[best]")
ES_LAST_THETA = _es("    best = int(np.argmin(val))\n    return best, trajectory[-1]")
ES_IGNORES_PATIENCE = _es("    best = int(np.argmin(val))\n    return best, trajectory[best]")
ES_FIRST_INCREASE = _es('''    best = 0
    for t in range(1, len(val)):
        if val[t] < val[best]:
            best = t
        else:
            break
    return best, trajectory[best]''')
ES_STOP_STEP = _es('''    best = 0
    for t in range(1, len(val)):
        if val[t] < val[best]:
            best = t
        elif patience is not None and t - best >= patience:
            return t, trajectory[t]
    return best, trajectory[best]''')
ES_OWN_LOOP = '''
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None):
    theta = np.zeros(X_train.shape[1])
    best_step, best_theta, best_loss = 0, theta.copy(), mse_loss(theta, X_val, y_val)
    for t in range(1, n_steps + 1):
        theta = theta - lr * mse_gradient(theta, X_train, y_train)
        loss = mse_loss(theta, X_val, y_val)
        if loss < best_loss:
            best_step, best_theta, best_loss = t, theta.copy(), loss
        elif patience is not None and t - best_step == patience:
            break
    return best_step, best_theta
'''

WRONG = [
    _v("fold scores measured on the training part", "fold_scores", FOLD_TRAIN_SCORE,
       fails=("test_fold_scores_basic", "test_fold_scores_hidden")),
    _v("fold table transposed (folds x candidates)", "fold_scores", FOLD_TRANSPOSED,
       fails=("test_fold_scores_basic",)),
    _v("each candidate fitted on all rows, test fold reused for training", "fold_scores",
       FOLD_FIT_ALL, fails=("test_fold_scores_basic",)),
    _v("candidate parameters never set", "fold_scores", FOLD_IGNORES_PARAMS,
       fails=("test_fold_scores_basic",)),
    _v("only the first parameter of each candidate applied", "fold_scores",
       FOLD_FIRST_PARAM_ONLY, fails=("test_fold_scores_hidden",)),
    _v("grid search: mean over the wrong axis", "grid_search", GRID_WRONG_AXIS,
       fails=("test_grid_search_basic",), cli=True),
    _v("grid search: argmin instead of argmax", "grid_search", GRID_ARGMIN,
       fails=("test_grid_search_basic", "test_grid_search_hidden")),
    _v("grid search: ties go to the last candidate", "grid_search", GRID_LAST_TIE,
       fails=("test_grid_search_ties",)),
    _v("grid search: best single fold instead of best mean", "grid_search", GRID_BEST_FOLD),
    _v("grid search: candidates in dict order, not ParameterGrid order", "grid_search",
       GRID_DICT_ORDER, fails=("test_grid_search_hidden",)),
    _v("grid search: always the last candidate (largest C)", "grid_search", GRID_ALWAYS_LAST,
       fails=("test_grid_search_ties", "test_grid_search_hidden")),
    _v("grid search: calls GridSearchCV", "grid_search", GRID_CALLS_LIBRARY,
       fails=("test_grid_search_basic", "test_grid_search_hidden")),
    _v("log-uniform: uniform on the linear scale", "log_uniform_samples", LU_LINEAR,
       fails=("test_log_uniform_basic", "test_log_uniform_hidden")),
    _v("log-uniform: log of a uniform draw", "log_uniform_samples", LU_LOG_OF_UNIFORM,
       fails=("test_log_uniform_basic",)),
    _v("log-uniform: returns the exponents", "log_uniform_samples", LU_EXPONENT_ONLY,
       fails=("test_log_uniform_basic",)),
    _v("log-uniform: log10 bounds exponentiated with exp", "log_uniform_samples",
       LU_MIXED_BASES, fails=("test_log_uniform_basic",)),
    _v("log-uniform: seed ignored", "log_uniform_samples", LU_NO_SEED,
       fails=("test_log_uniform_basic", "test_log_uniform_hidden")),
    _v("log-uniform: bounds not validated", "log_uniform_samples", LU_NO_CHECK,
       fails=("test_log_uniform_edges",)),
    _v("nested CV: search fitted on all data (test fold reused for selection)",
       "nested_cv_scores", NESTED_SEARCH_ALL, fails=("test_nested_basic", "test_nested_hidden")),
    _v("nested CV: reports the inner best_score_", "nested_cv_scores", NESTED_INNER_BEST,
       fails=("test_nested_basic", "test_nested_hidden")),
    _v("nested CV: returns the mean only", "nested_cv_scores", NESTED_MEAN,
       fails=("test_nested_basic",)),
    _v("nested CV: inner_cv ignored", "nested_cv_scores", NESTED_FIXED_INNER,
       fails=("test_nested_hidden",)),
    _v("nested CV: non-nested, the outer folds select and score", "nested_cv_scores",
       NESTED_OUTER_FOLDS_INSIDE, fails=("test_nested_hidden",)),
    _v("pipeline: scaler fitted on all rows before the search", "search_in_pipeline",
       PIPE_SCALED_OUTSIDE, fails=("test_pipeline_basic", "test_pipeline_hidden"), cli=True),
    _v("pipeline: no scaling", "search_in_pipeline", PIPE_NO_SCALING,
       fails=("test_pipeline_basic",)),
    _v("pipeline: scored by accuracy", "search_in_pipeline", PIPE_ACCURACY,
       fails=("test_pipeline_basic", "test_pipeline_hidden")),
    _v("pipeline: positive log loss", "search_in_pipeline", PIPE_POSITIVE_LOSS,
       fails=("test_pipeline_basic", "test_pipeline_hidden")),
    _v("pipeline: index of C instead of C", "search_in_pipeline", PIPE_RETURNS_INDEX,
       fails=("test_pipeline_basic",)),
    _v("learning curve: outputs swapped", "learning_curve_scores", LC_SWAPPED,
       fails=("test_learning_curve_basic", "test_learning_curve_hidden")),
    _v("learning curve: training score on the whole training part", "learning_curve_scores",
       LC_TRAIN_ON_WHOLE_PART, fails=("test_learning_curve_basic", "test_learning_curve_hidden")),
    _v("learning curve: last m rows", "learning_curve_scores", LC_LAST_ROWS,
       fails=("test_learning_curve_basic", "test_learning_curve_hidden")),
    _v("learning curve: first m rows by index, not in fold order", "learning_curve_scores",
       LC_SORTED_ROWS, fails=("test_learning_curve_basic", "test_learning_curve_hidden")),
    _v("learning curve: mean over sizes instead of folds", "learning_curve_scores",
       LC_WRONG_AXIS, fails=("test_learning_curve_basic",)),
    _v("learning curve: calls sklearn's learning_curve", "learning_curve_scores",
       LC_CALLS_LIBRARY, fails=("test_learning_curve_basic",)),
    _v("early stopping: chosen by the training loss", "early_stopping", ES_TRAIN_LOSS,
       fails=("test_early_stopping_basic", "test_early_stopping_hidden")),
    _v("early stopping: step index off by one", "early_stopping", ES_OFF_BY_ONE,
       fails=("test_early_stopping_basic", "test_early_stopping_hidden")),
    _v("early stopping: parameters of the last step", "early_stopping", ES_LAST_THETA,
       fails=("test_early_stopping_basic", "test_early_stopping_hidden")),
    _v("early stopping: patience ignored", "early_stopping", ES_IGNORES_PATIENCE,
       fails=("test_early_stopping_patience",)),
    _v("early stopping: stops at the first increase", "early_stopping", ES_FIRST_INCREASE,
       fails=("test_early_stopping_patience",)),
    _v("early stopping: returns the stopping step, not the best", "early_stopping",
       ES_STOP_STEP, fails=("test_early_stopping_patience",)),
]

RIGHT = [
    _v("fold scores with cross_val_score per candidate", "fold_scores", FOLD_CROSS_VAL),
    _v("fold scores with plain loops, float32", "fold_scores", FOLD_LISTS),
    _v("grid search with a strict > loop", "grid_search", GRID_LOOP),
    _v("grid search with itertools.product over sorted keys", "grid_search", GRID_SORTED_PRODUCT),
    _v("log-uniform via scipy.stats.loguniform", "log_uniform_samples", LU_SCIPY),
    _v("log-uniform in base 10", "log_uniform_samples", LU_BASE10),
    _v("log-uniform as low * (high/low) ** u", "log_uniform_samples", LU_POWER),
    _v("nested CV with cross_val_score", "nested_cv_scores", NESTED_CROSS_VAL),
    _v("nested CV with a manual refit, returned as a list", "nested_cv_scores", NESTED_MANUAL_REFIT),
    _v("pipeline with named steps", "search_in_pipeline", PIPE_NAMED_STEPS),
    _v("pipeline search written as loops with log_loss", "search_in_pipeline", PIPE_MANUAL),
    _v("learning curve with folds in the outer loop", "learning_curve_scores", LC_FOLDS_OUTSIDE),
    _v("early stopping with its own loop that stops computing", "early_stopping", ES_OWN_LOOP),
]

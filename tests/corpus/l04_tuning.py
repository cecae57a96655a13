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
    r = lambda d, i: d.iloc[i] if hasattr(d, "iloc") else d[i]
    return np.array([[clone(estimator).set_params(**p).fit(r(X, tr), r(y, tr)).score(r(X, te), r(y, te))
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
FOLD_ARRAY_ONLY = '''
def fold_scores(estimator, candidates, X, y, folds):
    scores = np.empty((len(candidates), len(folds)))
    for i, params in enumerate(candidates):
        for k, (train, test) in enumerate(folds):
            fitted = clone(estimator).set_params(**params).fit(X[train], y[train])
            scores[i, k] = fitted.score(X[test], y[test])
    return scores
'''
FOLD_MODIFIES_TEMPLATE = '''
def fold_scores(estimator, candidates, X, y, folds):
    rows = lambda d, i: d.iloc[i] if hasattr(d, "iloc") else d[i]
    scores = np.empty((len(candidates), len(folds)))
    for i, params in enumerate(candidates):
        estimator.set_params(**params)
        for k, (train, test) in enumerate(folds):
            scores[i, k] = clone(estimator).fit(rows(X, train), rows(y, train)).score(rows(X, test), rows(y, test))
    return scores
'''
FOLD_FITS_TEMPLATE = '''
def fold_scores(estimator, candidates, X, y, folds):
    rows = lambda d, i: d.iloc[i] if hasattr(d, "iloc") else d[i]
    scores = np.empty((len(candidates), len(folds)))
    for i, params in enumerate(candidates):
        for k, (train, test) in enumerate(folds):
            base = dict(estimator.get_params(deep=False))
            m = estimator.set_params(**params).fit(rows(X, train), rows(y, train))
            scores[i, k] = m.score(rows(X, test), rows(y, test))
            estimator.set_params(**{key: base[key] for key in base if "__" not in key})
    return scores
'''
FOLD_CROSS_VAL = '''
def fold_scores(estimator, candidates, X, y, folds):
    return np.vstack([cross_val_score(clone(estimator).set_params(**p), X, y, cv=folds)
                      for p in candidates]).reshape(len(candidates), len(folds))
'''
FOLD_LISTS = '''
def fold_scores(estimator, candidates, X, y, folds):
    from sklearn.utils import _safe_indexing
    table = []
    for params in candidates:
        row = []
        for train, test in folds:
            m = clone(estimator)
            m.set_params(**params)
            m.fit(_safe_indexing(X, train), _safe_indexing(y, train))
            row.append(float(m.score(_safe_indexing(X, test), _safe_indexing(y, test))))
        table.append(row)
    return np.array(table, dtype=np.float32).reshape(len(candidates), len(folds))
'''

# --- Exercise 2: grid_search and choose_candidate -----------------------------------------
def _choose(one_se="table[best].std(ddof=1) / np.sqrt(table.shape[1])",
            pick="int(np.flatnonzero(means >= means[best] - se - 1e-12)[0])", guard=True):
    check = ('    if rule not in ("best", "one_se"):\n        raise ValueError(rule)\n'
             '    if rule == "one_se" and table.shape[1] < 2:\n        raise ValueError("folds")\n') if guard else ""
    return f"""
def choose_candidate(table, rule="best"):
    table = np.asarray(table, dtype=float)
{check}    means = table.mean(axis=1)
    best = int(np.argmax(means))
    if rule == "best":
        return best
    se = {one_se}
    return {pick}
"""


_CHOOSE_OK = _choose()
_GRID_OK = """
def grid_search(estimator, param_grid, X, y, folds, rule="best", score_table=None):
    candidates = list(ParameterGrid(param_grid))
    table = (score_table or fold_scores)(estimator, candidates, X, y, folds)
    return candidates[choose_candidate(table, rule)], table.mean(axis=1)
"""


def _grid(select, means="table.mean(axis=1)", candidates="list(ParameterGrid(param_grid))"):
    return _CHOOSE_OK + f"""
def grid_search(estimator, param_grid, X, y, folds, rule="best", score_table=None):
    candidates = {candidates}
    table = (score_table or fold_scores)(estimator, candidates, X, y, folds)
    mean_scores = {means}
    best = {select}
    return candidates[int(best)], mean_scores
"""


GRID_WRONG_AXIS = _grid("np.argmax(mean_scores)", means="table.mean(axis=0)")
GRID_ARGMIN = _grid("np.argmin(mean_scores)")
GRID_LAST_TIE = _grid("len(mean_scores) - 1 - np.argmax(mean_scores[::-1])")
GRID_BEST_FOLD = _grid("np.argmax(table.max(axis=1))")
GRID_DICT_ORDER = _grid(
    "np.argmax(mean_scores)",
    candidates="[dict(zip(param_grid, values)) for values in "
               "__import__('itertools').product(*param_grid.values())]")
GRID_ALWAYS_LAST = _grid("len(candidates) - 1")
GRID_RULE_IGNORED = _grid("np.argmax(mean_scores)")
GRID_CALLS_LIBRARY = _CHOOSE_OK + """
def grid_search(estimator, param_grid, X, y, folds, rule="best", score_table=None):
    search = GridSearchCV(estimator, param_grid, cv=folds).fit(X, y)
    return search.best_params_, search.cv_results_["mean_test_score"]
"""
SE_DDOF0 = _choose(one_se="table[best].std() / np.sqrt(table.shape[1])") + _GRID_OK
SE_NO_SQRT_K = _choose(one_se="table[best].std(ddof=1)") + _GRID_OK
SE_OWN_CANDIDATE = _choose(
    one_se="table.std(axis=1, ddof=1) / np.sqrt(table.shape[1])",
    pick="int(np.flatnonzero(means + se >= means[best])[0])") + _GRID_OK
SE_LAST_WITHIN = _choose(pick="int(np.flatnonzero(means >= means[best] - se - 1e-12)[-1])") + _GRID_OK
SE_NO_GUARD = _choose(guard=False) + _GRID_OK
GRID_LOOP = """
def choose_candidate(table, rule="best"):
    if rule not in ("best", "one_se"):
        raise ValueError("unknown rule " + repr(rule))
    rows = [list(map(float, row)) for row in table]
    if rule == "one_se" and len(rows[0]) < 2:
        raise ValueError("need two folds")
    means = [sum(r) / len(r) for r in rows]
    best = 0
    for i, m in enumerate(means):
        if m > means[best]:
            best = i
    if rule == "best":
        return best
    k = len(rows[best])
    sd = (sum((v - means[best]) ** 2 for v in rows[best]) / (k - 1)) ** 0.5
    for i, m in enumerate(means):
        if m >= means[best] - sd / k ** 0.5 - 1e-12:
            return i


def grid_search(estimator, param_grid, X, y, folds, rule="best", score_table=None):
    def part(data, idx):
        return data.iloc[idx] if hasattr(data, "iloc") else data[idx]
    cands = list(ParameterGrid(param_grid))
    if score_table is None:
        table = [[clone(estimator).set_params(**params).fit(part(X, tr), part(y, tr)).score(part(X, te), part(y, te))
                  for tr, te in folds] for params in cands]
    else:
        table = score_table(estimator, cands, X, y, folds)
    return cands[choose_candidate(table, rule)], np.array([sum(row) / len(row) for row in table])
"""
GRID_SORTED_PRODUCT = _CHOOSE_OK + """
import itertools

def grid_search(estimator, param_grid, X, y, folds, rule="best", score_table=None):
    keys = sorted(param_grid)
    candidates = [dict(zip(keys, v)) for v in itertools.product(*(param_grid[k] for k in keys))]
    table = (score_table or fold_scores)(estimator, candidates, X, y, folds)
    return candidates[choose_candidate(table, rule)], table.mean(axis=1)
"""
GRID_IGNORES_SCORE_TABLE = _CHOOSE_OK + """
def grid_search(estimator, param_grid, X, y, folds, rule="best", score_table=None):
    candidates = list(ParameterGrid(param_grid))
    table = fold_scores(estimator, candidates, X, y, folds)
    return candidates[choose_candidate(table, rule)], table.mean(axis=1)
"""
SE_SCIPY = """
from scipy.stats import sem

def choose_candidate(table, rule="best"):
    table = np.asarray(table, dtype=float)
    if rule not in {"best", "one_se"}:
        raise ValueError(rule)
    means = table.mean(axis=1)
    best = int(np.flatnonzero(means == means.max())[0])
    if rule == "best":
        return best
    if table.shape[1] < 2:
        raise ValueError("one fold")
    ok = means >= means[best] - sem(table[best]) - 1e-12
    return int(np.argmax(ok))
""" + _GRID_OK

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
LU_GLOBAL_STATE = '''
def log_uniform_samples(low, high, n, seed):
    if not 0 < low <= high:
        raise ValueError("bad bounds")
    np.random.seed(seed)
    return np.exp(np.random.uniform(np.log(low), np.log(high), size=n))
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
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None,
                   gradient=mse_gradient, loss=mse_loss):
    trajectory = gd_trajectory(lambda th: gradient(th, X_train, y_train),
                               np.zeros(X_train.shape[1]), lr, n_steps)
    val = np.array([loss(th, X_val, y_val) for th in trajectory])
    train = np.array([loss(th, X_train, y_train) for th in trajectory])
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
ES_GREATER_PATIENCE = '''
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None,
                   gradient=mse_gradient, loss=mse_loss):
    theta = np.zeros(X_train.shape[1])
    best_step, best_theta, best_loss = 0, theta, loss(theta, X_val, y_val)
    for t in range(1, n_steps + 1):
        theta = theta - lr * gradient(theta, X_train, y_train)
        val_loss = loss(theta, X_val, y_val)
        if val_loss < best_loss:
            best_step, best_theta, best_loss = t, theta, val_loss
        elif patience is not None and t - best_step > patience:
            break
    return best_step, best_theta
'''
ES_PLATEAU_IMPROVES = ES_GREATER_PATIENCE.replace("t - best_step > patience", "t - best_step >= patience").replace(
    "if val_loss < best_loss", "if val_loss <= best_loss")
ES_NO_RESET = '''
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None,
                   gradient=mse_gradient, loss=mse_loss):
    theta = np.zeros(X_train.shape[1])
    best_step, best_theta, best_loss, waited = 0, theta, loss(theta, X_val, y_val), 0
    for t in range(1, n_steps + 1):
        theta = theta - lr * gradient(theta, X_train, y_train)
        val_loss = loss(theta, X_val, y_val)
        if val_loss < best_loss:
            best_step, best_theta, best_loss = t, theta, val_loss
        else:
            waited += 1
            if patience is not None and waited >= patience:
                break
    return best_step, best_theta
'''
ES_IGNORES_GIVEN = ES_GREATER_PATIENCE.replace("t - best_step > patience", "t - best_step >= patience").replace(
    "lr * gradient(theta", "lr * mse_gradient(theta")
ES_PRECOMPUTED = _es('''    best = 0
    for t in range(1, len(val)):
        if val[t] < val[best]:
            best = t
        elif patience is not None and t - best >= patience:
            break
    return best, trajectory[best]''')
ES_WHILE = '''
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None,
                   gradient=mse_gradient, loss=mse_loss):
    theta = np.zeros(X_train.shape[1], dtype=np.float64)
    best = (loss(theta, X_val, y_val), 0, theta.copy())
    t, since = 0, 0
    while t < n_steps and (patience is None or since < patience):
        t += 1
        theta = theta - lr * gradient(theta, X_train, y_train)
        val_loss = loss(theta, X_val, y_val)
        if val_loss < best[0]:
            best, since = (val_loss, t, theta.copy()), 0
        else:
            since += 1
    return best[1], best[2]
'''

# --- Exercise 7: should_stop (open design) ------------------------------------------------
STOP_FIRST_RISE = "def should_stop(history):\n    return len(history) > 1 and history[-1] >= history[-2]\n"
STOP_NEVER = "def should_stop(history):\n    return False\n"
STOP_SHORT_PATIENCE = "def should_stop(history):\n    return len(history) - 1 - int(np.argmin(history)) >= 10\n"
STOP_FIXED_BUDGET = "def should_stop(history):\n    return len(history) > 150\n"
STOP_WINDOWS = """
def should_stop(history):
    if len(history) < 120:
        return False
    return np.mean(history[-60:]) > np.mean(history[-120:-60]) - 1e-3
"""
STOP_MIN_DELTA = """
def should_stop(history):
    best = np.minimum.accumulate(history)
    return len(history) > 50 and best[-50] - best[-1] < 0.005
"""

ES_OWN_LOOP = '''
def early_stopping(X_train, y_train, X_val, y_val, lr, n_steps, patience=None,
                   gradient=mse_gradient, loss=mse_loss):
    theta = np.zeros(X_train.shape[1])
    best_step, best_theta, best_loss = 0, theta.copy(), loss(theta, X_val, y_val)
    for t in range(1, n_steps + 1):
        theta = theta - lr * gradient(theta, X_train, y_train)
        val_loss = loss(theta, X_val, y_val)
        if val_loss < best_loss:
            best_step, best_theta, best_loss = t, theta.copy(), val_loss
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
    _v("rows selected with X[train]: a DataFrame fails", "fold_scores", FOLD_ARRAY_ONLY,
       fails=("test_fold_scores_hidden",)),
    _v("candidate parameters set on the template itself", "fold_scores", FOLD_MODIFIES_TEMPLATE,
       fails=("test_fold_scores_basic",)),
    _v("the template is fitted (no clone)", "fold_scores", FOLD_FITS_TEMPLATE,
       fails=("test_fold_scores_basic",)),
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
    _v("grid search: calls fold_scores by name, ignoring score_table", "grid_search", GRID_IGNORES_SCORE_TABLE,
       fails=("test_grid_search_basic",), cli=True),
    _v("grid search: rule not passed on", "grid_search", GRID_RULE_IGNORED,
       fails=("test_grid_search_hidden",)),
    _v("one-SE: population standard deviation (ddof=0)", "grid_search", SE_DDOF0,
       fails=("test_one_se_rule",)),
    _v("one-SE: standard deviation not divided by sqrt(K)", "grid_search", SE_NO_SQRT_K,
       fails=("test_one_se_rule",)),
    _v("one-SE: each candidate's own standard error", "grid_search", SE_OWN_CANDIDATE,
       fails=("test_one_se_rule",)),
    _v("one-SE: the last candidate within reach", "grid_search", SE_LAST_WITHIN,
       fails=("test_one_se_rule",)),
    _v("one-SE: unknown rules and a single fold not refused", "grid_search", SE_NO_GUARD,
       fails=("test_one_se_rule",)),
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
    _v("log-uniform: seeds numpy's global random state", "log_uniform_samples", LU_GLOBAL_STATE,
       fails=("test_log_uniform_basic",)),
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
    _v("early stopping: whole trajectory computed, then scanned", "early_stopping",
       ES_PRECOMPUTED, fails=("test_early_stopping_stops",), cli=True),
    _v("early stopping: stops only when t - best exceeds patience", "early_stopping",
       ES_GREATER_PATIENCE, fails=("test_early_stopping_stops",)),
    _v("early stopping: an equal loss counts as an improvement", "early_stopping",
       ES_PLATEAU_IMPROVES, fails=("test_early_stopping_stops",)),
    _v("early stopping: waiting counter never reset", "early_stopping", ES_NO_RESET,
       fails=("test_early_stopping_stops",)),
    _v("early stopping: calls mse_gradient by name, ignoring the gradient passed in", "early_stopping",
       ES_IGNORES_GIVEN, fails=("test_early_stopping_stops",), cli=True),
    _v("stopping rule: stops at the first rise", "should_stop", STOP_FIRST_RISE,
       fails=("test_stopping_rule_properties",)),
    _v("stopping rule: never stops", "should_stop", STOP_NEVER,
       fails=("test_stopping_rule_properties",)),
    _v("stopping rule: patience too short for the noise", "should_stop", STOP_SHORT_PATIENCE,
       fails=("test_stopping_rule_properties",)),
    _v("stopping rule: a fixed budget of 150 steps", "should_stop", STOP_FIXED_BUDGET,
       fails=("test_stopping_rule_properties",)),
]

RIGHT = [
    _v("fold scores with cross_val_score per candidate", "fold_scores", FOLD_CROSS_VAL),
    _v("fold scores with plain loops, _safe_indexing, float32", "fold_scores", FOLD_LISTS),
    _v("grid search and one-SE with plain loops", "grid_search", GRID_LOOP),
    _v("grid search with itertools.product over sorted keys", "grid_search", GRID_SORTED_PRODUCT),
    _v("one-SE with scipy.stats.sem", "grid_search", SE_SCIPY),
    _v("log-uniform via scipy.stats.loguniform", "log_uniform_samples", LU_SCIPY),
    _v("log-uniform in base 10", "log_uniform_samples", LU_BASE10),
    _v("log-uniform as low * (high/low) ** u", "log_uniform_samples", LU_POWER),
    _v("nested CV with cross_val_score", "nested_cv_scores", NESTED_CROSS_VAL),
    _v("nested CV with a manual refit, returned as a list", "nested_cv_scores", NESTED_MANUAL_REFIT),
    _v("learning curve with folds in the outer loop", "learning_curve_scores", LC_FOLDS_OUTSIDE),
    _v("early stopping with its own loop that stops computing", "early_stopping", ES_OWN_LOOP),
    _v("early stopping with a while loop and a waiting counter", "early_stopping", ES_WHILE),
    _v("stopping rule: compare two windows of 60 steps", "should_stop", STOP_WINDOWS),
    _v("stopping rule: stop when the best improved by < 0.005 in 50 steps", "should_stop", STOP_MIN_DELTA),
]

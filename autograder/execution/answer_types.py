"""The exact types an answer may contain when it crosses to the tests' process.

A pickle names the classes and functions it needs by module and name; a reader
that imports whatever a pickle names lets the writer choose what runs. The
tests' process reads learner answers, so the choice must be the grader's: this
module builds, once per process, a table from ``(module, name)`` to an object
the grader picked, and :func:`autograder.execution.wire.load_answer` looks names up in
it. A name not in the table is refused; nothing is imported because of it.

The table holds two kinds of entries:

* every public estimator and splitter class of scikit-learn's estimator
  modules; constructing one only stores its parameters;
* every class and reconstructor function that a pickle of grader-made sample
  values uses: numbers, containers, numpy arrays of every plain dtype, pandas
  frames, series and indexes of every kind the lessons build, scipy sparse
  matrices, and small fitted estimators of the kinds the lessons fit (their
  trees, losses and optimizers). Recording what these pickles name, rather than
  listing names by hand, keeps the table exact for the pinned library versions.

Functions other than classes enter the table only if a sample's pickle calls
them by a reconstructor's name (``_reconstruct``, ``_unpickle_block``...), or
they are scikit-learn score functions an estimator may hold as a parameter
(``SelectKBest(f_classif)``, the metric behind ``scoring="roc_auc"``); these
compute on arrays and touch nothing else.
"""
from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import functools
import io
import pickle
import re
import types
import warnings
import zoneinfo

__all__ = ["allowed", "RECONSTRUCTOR"]

# Functions a pickle calls to rebuild data (numpy, pandas, scipy and copyreg).
RECONSTRUCTOR = re.compile(
    r"^(_reconstruct|_reconstructor|scalar|_frombuffer|_mareconstruct|__\w+_ctor|"
    r"__pyx_unpickle_\w+|_new_\w+|_unpickle\w*|__nat_unpickle|_timedelta_unpickle|new_block"
    r"|_new_Index|_new_PeriodIndex|_new_DatetimeIndex|_coerce_method|encode|_ufunc_reconstruct"
    r"|_p)$")  # _p: pytz's time-zone unpickler, which looks a zone up by name
# _ufunc_reconstruct imports the module it is given: it is recorded but never allowed.
_NEVER = {"_ufunc_reconstruct"}


class _Recorder(pickle.Unpickler):
    """Unpickle grader-made bytes, noting every global they name."""

    def __init__(self, data: bytes, seen: dict):
        super().__init__(io.BytesIO(data))
        self._seen = seen

    def find_class(self, module: str, name: str):
        obj = super().find_class(module, name)
        self._seen[(module, name)] = obj
        return obj


def _data_samples() -> list:
    import numpy as np
    import pandas as pd
    from scipy import sparse

    dtypes = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8",
              "c16", "M8[ns]", "M8[D]", "m8[ns]", "U3", "S3", "O"]
    arrays = [np.zeros((2, 3), dtype=d) for d in dtypes]
    arrays += [np.asfortranarray(np.ones((2, 2))), np.arange(6.0)[::2], np.float64(1.5),
               np.int64(3), np.bool_(True), np.str_("a"), np.dtype("f8"),
               np.ma.masked_array([1, 2], mask=[True, False]),
               np.random.RandomState(0), np.random.default_rng(0)]
    arrays += [np.zeros(1, dtype=d)[0] for d in dtypes]
    when = pd.date_range("2024-01-01", periods=3, freq="h")
    zones = [when.tz_localize(zone) for zone in ("UTC", "Europe/Paris", "Asia/Shanghai")]
    zones.append(datetime.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")))
    frame = pd.DataFrame({
        "f": [1.0, np.nan, 3.0], "i": [1, 2, 3], "b": [True, False, True],
        "s": ["a", None, "c"], "c": pd.Categorical(["x", "y", "x"]),
        "t": when, "tz": when.tz_localize("UTC"), "d": pd.to_timedelta([1, 2, 3], unit="s"),
        "I": pd.array([1, None, 3], dtype="Int64"), "B": pd.array([True, None, False]),
        "F": pd.array([1.5, None, 2.5], dtype="Float64"),
        "S": pd.array(["a", None, "c"], dtype="string"),
        "p": pd.period_range("2024-01", periods=3, freq="M"),
        "iv": pd.cut([1, 2, 3], bins=[0, 2, 4]),
    })
    indexes = [pd.RangeIndex(3), pd.Index([1, 2, 3]), pd.Index(["a", "b", "c"]), when,
               when.tz_localize("UTC"), pd.timedelta_range("1s", periods=3),
               pd.period_range("2024-01", periods=3, freq="M"),
               pd.interval_range(0, 3), pd.CategoricalIndex(["a", "b", "a"]),
               pd.MultiIndex.from_product([["a", "b"], [1, 2]]),
               pd.Index([1.5, 2.5]), pd.Index([True, False])]
    pandas_values = [frame, frame.set_index("t"), frame.set_index(["s", "i"]),
                     frame.groupby("c", observed=True)["f"].mean(),
                     *(frame[c] for c in frame.columns),
                     *(pd.Series(range(len(ix)), index=ix) for ix in indexes), *indexes,
                     pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC"),
                     pd.Timedelta("1s"), pd.NaT, pd.NA, pd.Period("2024-01", "M"),
                     pd.Interval(0, 1), pd.Categorical(["a"]), pd.DateOffset(days=1),
                     pd.offsets.Hour(2), frame.dtypes, pd.CategoricalDtype(["a", "b"])]
    matrices = [sparse.random(3, 3, density=0.5, format=f, random_state=0)
                for f in ("csr", "csc", "coo", "lil", "dok", "bsr", "dia")]
    matrices += [sparse.csr_array(np.eye(2)), sparse.csc_array(np.eye(2)),
                 sparse.coo_array(np.eye(2))]
    plain = [None, True, 2**70, 1.5, 1j, "s", b"b", bytearray(b"b"), [1], (1,), {"a": 1},
             {1}, frozenset({1}), range(3), slice(1, 2), Ellipsis,
             datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), datetime.date(2024, 1, 1),
             datetime.time(1), datetime.timedelta(1), decimal.Decimal("1.5"),
             fractions.Fraction(1, 3), collections.OrderedDict(a=1), collections.Counter("ab"),
             collections.deque([1]), collections.defaultdict(list, a=[1]), float("nan")]
    return plain + arrays + pandas_values + matrices + zones


def _fitted_samples() -> list:
    """Small fitted estimators of the kinds lessons fit (their inner types come along)."""
    import numpy as np
    import pandas as pd
    from sklearn import (
        calibration,
        cluster,
        compose,
        decomposition,
        dummy,
        ensemble,
        feature_selection,
        impute,
        isotonic,
        linear_model,
        model_selection,
        naive_bayes,
        neighbors,
        neural_network,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "k": np.where(y, "p", "q")})
    columns = compose.ColumnTransformer([
        ("num", pipeline.make_pipeline(impute.SimpleImputer(strategy="median"),
                                       preprocessing.StandardScaler()), ["a", "b"]),
        ("cat", pipeline.make_pipeline(impute.SimpleImputer(strategy="most_frequent"),
                                       preprocessing.OneHotEncoder(handle_unknown="ignore")),
         ["k"])])
    on_frame = [pipeline.make_pipeline(columns, linear_model.LogisticRegression())]
    on_arrays = [
        linear_model.LogisticRegression(), linear_model.LinearRegression(),
        linear_model.Ridge(), linear_model.SGDClassifier(max_iter=5, tol=None),
        tree.DecisionTreeClassifier(max_depth=2), tree.DecisionTreeRegressor(max_depth=2),
        ensemble.RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0),
        ensemble.GradientBoostingClassifier(n_estimators=2, max_depth=2),
        ensemble.HistGradientBoostingClassifier(max_iter=2),
        ensemble.HistGradientBoostingRegressor(max_iter=2),
        neural_network.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2),
        neural_network.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, solver="sgd"),
        neural_network.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2),
        neighbors.KNeighborsClassifier(n_neighbors=3), svm.SVC(), naive_bayes.GaussianNB(),
        dummy.DummyClassifier(), cluster.KMeans(n_clusters=2, n_init=1),
        decomposition.PCA(n_components=2),
        calibration.CalibratedClassifierCV(linear_model.LogisticRegression(), cv=2),
        calibration.CalibratedClassifierCV(linear_model.LogisticRegression(), cv=2,
                                           method="isotonic"),
        isotonic.IsotonicRegression(),
        pipeline.make_pipeline(feature_selection.SelectKBest(feature_selection.f_classif, k=2),
                               linear_model.LogisticRegression()),
        model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [0.1, 1.0]},
                                     cv=2),
        model_selection.RandomizedSearchCV(tree.DecisionTreeClassifier(),
                                           {"max_depth": [1, 2]}, n_iter=2, cv=2,
                                           random_state=0),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = [m.fit(frame, y) for m in on_frame]
        fitted += [m.fit(X[:, :1], X[:, 0]) if isinstance(m, isotonic.IsotonicRegression)
                   else m.fit(X, y) for m in on_arrays]
    splitters = [model_selection.KFold(3), model_selection.StratifiedKFold(3, shuffle=True,
                                                                          random_state=0),
                 model_selection.StratifiedShuffleSplit(2, random_state=0)]
    return fitted + splitters


@functools.cache
def allowed() -> types.MappingProxyType:
    """Return the read-only table ``(module, name) -> object`` answers may use.

    Built on first call (about 2 s of CPU: it imports every scikit-learn
    estimator and fits a few tiny models); a fork server calls it before it
    forks its first tests' process, so every tests' process inherits the table.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seen: dict = {}
        for value in _data_samples() + _fitted_samples():
            for protocol in (2, pickle.HIGHEST_PROTOCOL):
                _Recorder(pickle.dumps(value, protocol=protocol), seen).load()
    table = {key: obj for key, obj in seen.items()
             if (isinstance(obj, type) and obj is not type)
             or (RECONSTRUCTOR.match(key[1]) and key[1] not in _NEVER)}
    for obj in _estimator_classes() + _score_functions():
        table[(obj.__module__, obj.__name__)] = obj
    table.update(_numpy_ufuncs())
    table.update(_pandas_types())
    table.update({("builtins", t.__name__): t for t in _BUILTIN_TYPES})
    if ("_codecs", "encode") in table:
        table[("_codecs", "encode")] = _latin1_encode
    return types.MappingProxyType(table)


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as protocol 2 pickles of bytes call it, and only so.

    Those pickles rebuild bytes as ``encode(text, "latin1")``; another encoding
    name would make the tests' process import that codec's module.
    """
    if encoding not in ("latin1", "latin-1") or errors != "strict" or type(text) is not str:
        raise pickle.UnpicklingError(f"bytes are rebuilt from latin1 text, not {encoding!r}")
    return text.encode("latin1")


# Built-in types whose pickles name them (a defaultdict's factory, copyreg's base).
_BUILTIN_TYPES = (bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set,
                  frozenset, range, slice, object)


def _pandas_types() -> dict:
    """pandas' own value types: offsets, extension dtypes and arrays, index classes.

    Chosen by kind, not by where they are exported: ``pandas.HDFStore`` is a
    class in the same namespace, and it opens files.
    """
    import pandas as pd
    from pandas.api.extensions import ExtensionArray, ExtensionDtype

    offsets = [getattr(pd.offsets, name) for name in pd.offsets.__all__]
    kinds = (ExtensionDtype, ExtensionArray, pd.Index, pd.offsets.BaseOffset)
    found = [obj for obj in (*vars(pd).values(), *vars(pd.arrays).values(), *offsets)
             if isinstance(obj, type) and issubclass(obj, kinds)]
    return {(cls.__module__, cls.__name__): cls for cls in found}


def _numpy_ufuncs() -> dict:
    """numpy's ufuncs by the name they pickle under (a FunctionTransformer may hold one)."""
    import numpy as np

    return {("numpy", name): obj for name, obj in vars(np).items() if isinstance(obj, np.ufunc)}


# scikit-learn's estimator modules (sklearn.utils.all_estimators would also import pytest).
_ESTIMATOR_MODULES = (
    "calibration", "cluster", "compose", "covariance", "cross_decomposition", "decomposition",
    "discriminant_analysis", "dummy", "ensemble", "feature_extraction",
    "feature_extraction.image", "feature_extraction.text", "feature_selection", "gaussian_process", "impute", "isotonic", "kernel_approximation",
    "kernel_ridge", "linear_model", "manifold", "mixture", "model_selection", "multiclass",
    "multioutput", "naive_bayes", "neighbors", "neural_network", "pipeline", "preprocessing",
    "random_projection", "semi_supervised", "svm", "tree")


def _estimator_classes() -> list:
    """Every public estimator and splitter class of scikit-learn's estimator modules."""
    import importlib

    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit

    kinds = (BaseEstimator, BaseCrossValidator, BaseShuffleSplit)
    found = []
    for name in _ESTIMATOR_MODULES:
        module = importlib.import_module(f"sklearn.{name}")
        found += [obj for key, obj in vars(module).items() if not key.startswith("_")
                  and isinstance(obj, type) and issubclass(obj, kinds)]
    return found


def _score_functions() -> list:
    """Functions an estimator may hold as a parameter: univariate scores and metrics."""
    from sklearn import feature_selection, metrics

    univariate = [feature_selection.f_classif, feature_selection.f_regression,
                  feature_selection.chi2, feature_selection.r_regression,
                  feature_selection.mutual_info_classif, feature_selection.mutual_info_regression]
    scorers = [metrics.get_scorer(name) for name in metrics.get_scorer_names()]
    return univariate + [s._score_func for s in scorers if hasattr(s, "_score_func")]

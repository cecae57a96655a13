"""Argument checks at the boundary of the lessons' helpers.

Each helper of :mod:`lifecycle.preprocessing`, :mod:`lifecycle.optim` and
:mod:`lifecycle.evaluation` checks what it is given before using it, so a
wrong call fails at once with a message that says what to pass, instead of
an ``IndexError`` three calls deeper. The checks are scikit-learn's
(:func:`sklearn.utils.validation.check_scalar`, :func:`~sklearn.utils.check_array`),
which the course already depends on; this module only names them for our cases.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

# scikit-learn and pandas are imported by the checks that use them: importing this
# module (through lifecycle.preprocessing) costs a process that never calls them nothing.
if TYPE_CHECKING:
    import pandas as pd

__all__ = ["integer", "real", "function", "frame", "matrix", "vector", "same_length"]


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check an integer argument (``bool`` refused) and return it as ``int``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not a bool; got {value!r}.")
    from sklearn.utils.validation import check_scalar

    check_scalar(value, name, numbers.Integral, min_val=minimum, max_val=maximum)
    return int(value)


def real(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
         include_boundaries: str = "both") -> float:
    """Check a finite real argument and return it as ``float``.

    ``include_boundaries`` is ``"both"``, ``"left"``, ``"right"`` or
    ``"neither"``, as in :func:`~sklearn.utils.validation.check_scalar`.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not finite or outside the bounds.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not a bool; got {value!r}.")
    from sklearn.utils.validation import check_scalar

    check_scalar(value, name, numbers.Real, min_val=minimum, max_val=maximum,
                 include_boundaries=include_boundaries)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    return float(value)


def function(value, name: str, what: str):
    """Check that an argument can be called; ``what`` says what it should compute.

    Raises
    ------
    TypeError
        If ``value`` is not callable.
    """
    if not callable(value):
        raise TypeError(f"{name} must be a function {what}; got {type(value).__name__} {value!r:.60}.")
    return value


def frame(value, name: str, *, columns=(), source: str = "") -> pd.DataFrame:
    """Check a ``DataFrame`` argument that must hold ``columns``.

    ``source`` tells the caller where such a frame comes from.

    Raises
    ------
    TypeError
        If ``value`` is not a ``DataFrame``.
    ValueError
        If a required column is missing.
    """
    import pandas as pd

    where = f" ({source})" if source else ""
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame{where}; got {type(value).__name__}.")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ValueError(f"{name} has no column {missing[0]!r} (missing: {missing}); "
                         f"pass a frame with the columns {list(columns)}{where}.")
    return value


def matrix(value, name: str, *, allow_non_finite: bool = False, min_rows: int = 1) -> np.ndarray:
    """Check a 2-D numeric array-like and return it as a float array.

    Raises
    ------
    ValueError
        If it is not 2-D, has too few rows or, unless allowed, holds NaN or inf.
    """
    from sklearn.utils import check_array

    return check_array(value, dtype=float, ensure_2d=True, input_name=name,
                       ensure_all_finite=not allow_non_finite, ensure_min_samples=min_rows,
                       copy=False)


def vector(value, name: str, *, length: int | None = None, allow_non_finite: bool = False,
           min_length: int = 1) -> np.ndarray:
    """Check a 1-D numeric array-like (a list, array or Series) and return it as floats.

    Raises
    ------
    ValueError
        If it is not 1-D, has the wrong length or, unless allowed, holds NaN or inf.
    """
    from sklearn.utils import check_array

    array = check_array(value, dtype=float, ensure_2d=False, input_name=name,
                        ensure_all_finite=not allow_non_finite, ensure_min_samples=min_length)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}.")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} must have {length} entries; got {len(array)}.")
    return array


def same_length(*named) -> None:
    """Check that ``(name, array)`` pairs have the same number of entries.

    Raises
    ------
    ValueError
        Naming the arguments and their lengths.
    """
    from sklearn.utils.validation import check_consistent_length

    try:
        check_consistent_length(*(array for _, array in named))
    except ValueError:
        sizes = ", ".join(f"{name} has {len(array)}" for name, array in named)
        raise ValueError(f"the arguments must have the same length: {sizes}.") from None

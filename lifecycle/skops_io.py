"""``skops.io`` imported with its lists of trusted type names read from the cache.

Importing :mod:`skops.io` first names every type it trusts by default
(module ``skops.io._trusted_types``): it calls
:func:`sklearn.utils.all_estimators`, which imports every module of
scikit-learn (clustering, ensembles, manifolds, ... that lesson 01's pipeline
never uses), and it looks each numpy and scipy ufunc up in every loaded module
to find its name. That is two to four seconds of CPU in each process that
saves or loads a bundle, more in a notebook with many modules loaded; lesson
05 runs three such processes at once (the notebook and two servers).

The names depend only on the installed versions. :func:`skops_io` keeps them
in the cache (:mod:`lifecycle.cache`) after a real import, and later imports
of the same versions put a module holding those lists in place of
``_trusted_types`` before skops imports it: skops then trusts the very same
names, read instead of computed. Nothing else of that module is used by skops
(it imports only its ``*_TYPE_NAMES``).
"""
from __future__ import annotations

import hashlib
import json
import sys
import types
from pathlib import Path

from lifecycle import cache

__all__ = ["seed", "skops_io"]

#: The module whose lists are cached.
TRUSTED_MODULE = "skops.io._trusted_types"
#: What its lists are called.
SUFFIX = "_TYPE_NAMES"


def skops_io() -> types.ModuleType:
    """Return :mod:`skops.io`, importing it with cached trusted-type names when there are some.

    Returns
    -------
    module
        :mod:`skops.io`, trusting exactly the types ``import skops.io`` trusts.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    cached = _cache_file()
    names = _read(cached)
    if names is None:
        import skops.io

        cache.keep(cached, json.dumps(trusted_names()).encode())
        return skops.io
    module = types.ModuleType(TRUSTED_MODULE, "Trusted type names of skops, read from the cache.")
    vars(module).update(names)
    sys.modules[TRUSTED_MODULE] = module
    try:
        import skops.io
    except BaseException:
        sys.modules.pop(TRUSTED_MODULE, None)
        raise
    skops.io._trusted_types = module
    return skops.io


def seed(folder: Path) -> None:
    """Put the lists in the seed folder ``folder`` (see :func:`lifecycle.cache.seed`).

    The grader's sandboxes read them there: their caches are emptied between
    notebooks, so each fork server computed them again (two seconds of CPU).
    """
    def make() -> bytes:
        import skops.io  # noqa: F401 - computes the lists

        return json.dumps(trusted_names()).encode()

    cache.seed(Path(folder), _cache_file(), make)


def trusted_names() -> dict[str, list[str]]:
    """Return the lists of trusted type names of the imported ``skops.io``, by name."""
    module = sys.modules[TRUSTED_MODULE]
    return {name: list(value) for name, value in vars(module).items() if name.endswith(SUFFIX)}


def _cache_file() -> Path:
    """Name the lists after what computes them: skops, scikit-learn, numpy and scipy."""
    from importlib import metadata

    versions = [metadata.version(name) for name in ("skops", "scikit-learn", "numpy", "scipy")]
    key = json.dumps([versions, sys.version, sys.prefix])
    return cache.folder("skops") / f"trusted-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _read(cached: Path) -> dict[str, list[str]] | None:
    """The cached lists, or ``None`` if the file is missing or holds anything else.

    A list may only name what its own name says (``SKLEARN_...`` names under
    ``sklearn.``, ``NUMPY_...`` under ``numpy.``, ...; the built-ins only
    types, never ``eval`` or ``open``): the file is the user's alone, like the
    installed skops itself, and this keeps a damaged or edited file from
    trusting anything outside the package a list of its kind covers.
    """
    data = cache.read(cached)
    try:
        names = json.loads(data) if data is not None else None
    except ValueError:
        return None
    if not isinstance(names, dict) or not names:
        return None
    for key, value in names.items():
        if not (key.endswith(SUFFIX) and isinstance(value, list)
                and all(isinstance(name, str) and _may_name(key, name) for name in value)):
            return None
    return names


def _may_name(key: str, name: str) -> bool:
    """Whether the list ``key`` of skops may hold the type name ``name``."""
    import builtins

    if key in ("PRIMITIVE_TYPE_NAMES", "CONTAINER_TYPE_NAMES"):
        module, _, attribute = name.partition(".")
        return module == "builtins" and isinstance(getattr(builtins, attribute, None), type)
    package = {"SKLEARN": "sklearn", "NUMPY": "numpy", "SCIPY": "scipy"}.get(key.split("_")[0])
    return package is not None and name.startswith(package + ".")

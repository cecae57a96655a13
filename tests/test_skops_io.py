"""lifecycle.skops_io: skops imported with cached trusted-type names trusts exactly what skops computes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from lifecycle import skops_io

#: Run in a fresh interpreter: import skops through the cache, save and load a bundle, report.
SCRIPT = """
import json, sys, tempfile
from lifecycle import deploy
from lifecycle.skops_io import skops_io, trusted_names
sio = skops_io()
import skops.io._trusted_types as module
bundle = deploy.train_reference_bundle(seed=0)
folder = deploy.save_bundle(bundle, tempfile.mkdtemp() + "/b")
loaded = deploy.load_bundle(folder)
same = (loaded["model"].predict_proba(deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL])
        == bundle["model"].predict_proba(deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL])).all()
json.dump({"names": trusted_names(), "computed": hasattr(module, "get_public_type_names"),
           "same": bool(same)}, sys.stdout)
"""


def _run(cache_home):
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300, check=True)
    return json.loads(done.stdout)


def test_cached_names_are_the_names_skops_computes_and_bundles_round_trip(tmp_path):
    first = _run(tmp_path)
    assert first["computed"] and first["same"]  # no cache yet: skops's own module
    files = list((tmp_path / "lifecycle" / "skops").iterdir())
    assert len(files) == 1
    second = _run(tmp_path)
    assert not second["computed"] and second["same"]  # read from the cache
    assert second["names"] == first["names"]
    assert len(first["names"]["SKLEARN_ESTIMATOR_TYPE_NAMES"]) > 100
    assert "sklearn.pipeline.Pipeline" in first["names"]["SKLEARN_ESTIMATOR_TYPE_NAMES"]


def test_a_cache_file_that_is_not_lists_of_names_is_ignored(tmp_path):
    cached = tmp_path / "trusted.json"
    for content in ("", "[1, 2]", '{"NUMPY_TYPE_NAMES": "numpy.add"}', '{"other": ["numpy.add"]}',
                    '{"NUMPY_TYPE_NAMES": [1]}', "{}", '{"OTHER_TYPE_NAMES": ["os.system"]}',
                    '{"SKLEARN_ESTIMATOR_TYPE_NAMES": ["os.system"]}',
                    '{"NUMPY_UFUNC_TYPE_NAMES": ["numpyx.add"]}',
                    '{"PRIMITIVE_TYPE_NAMES": ["builtins.eval"]}',
                    '{"CONTAINER_TYPE_NAMES": ["subprocess.Popen"]}'):
        cached.write_text(content)
        assert skops_io._read(cached) is None, content
    assert skops_io._read(tmp_path / "missing.json") is None
    good = {"PRIMITIVE_TYPE_NAMES": ["builtins.int"], "SCIPY_UFUNC_TYPE_NAMES": ["scipy.special.erf"],
            "SKLEARN_ESTIMATOR_TYPE_NAMES": ["sklearn.pipeline.Pipeline"]}
    cached.write_text(json.dumps(good))
    assert skops_io._read(cached) == good

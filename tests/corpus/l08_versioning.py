"""Lesson 08 (versioning): wrong answers that must lose points, right ones that must not.

Most wrong answers are the solution with one plausible mistake put in
(:func:`_swap`), so each variant differs from a correct answer by exactly
the mistake it is named after.
"""
from __future__ import annotations

import json

from tests.conftest import ROOT
from tests.corpus import Variant

NB = "solutions/08_versioning/versioning.ipynb"
NOTEBOOKS = [NB]


def _solutions() -> dict[str, str]:
    cells = json.loads((ROOT / NB).read_text(encoding="utf-8"))["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in cells
            if c["metadata"].get("nbgrader", {}).get("solution")}


_SOLUTION = _solutions()


def _swap(grade_id: str, *pairs: tuple[str, str]) -> str:
    """The solution of ``grade_id`` with each ``old`` replaced by ``new`` (which must occur)."""
    source = _SOLUTION[grade_id]
    for old, new in pairs:
        assert old in source, f"{grade_id}: {old!r} is not in the solution"
        source = source.replace(old, new)
    return source


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: source}, tuple(fails), cli)


def _w(description, grade_id, *pairs, fails=(), cli=False):
    return _v(description, grade_id, _swap(grade_id, *pairs), fails, cli)


_DUMPS = 'json.dumps(params, sort_keys=True, separators=(",", ":"))'
_JOIN = 'joined = ":".join(hashes[k] for k in ("data_sha256", "code_sha256", "params_sha256"))'
_LOOP = 'for key in ("data_sha256", "code_sha256", "params_sha256", "version"):'
_IDX = "rng.integers(0, len(d), size=(n_boot, len(d)))"
_MERGE = 'pairs = cur.merge(cand, on=keys, how="inner", suffixes=("_cur", "_cand"))'

WRONG = [
    # ----------------------------------------------------------------- exercise 1
    _w("params: json.dumps' default separators (spaces)", "params_sha256",
       (_DUMPS, "json.dumps(params, sort_keys=True)"), fails=("test_params_sha256",), cli=True),
    _w("params: keys not sorted", "params_sha256",
       (_DUMPS, 'json.dumps(params, separators=(",", ":"))'), fails=("test_params_sha256",)),
    _w("params: only the top-level keys sorted", "params_sha256",
       (_DUMPS, 'json.dumps(dict(sorted(params.items())), separators=(",", ":"))'),
       fails=("test_params_sha256",)),
    _w("params: non-ASCII written as is", "params_sha256",
       (_DUMPS, 'json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)'),
       fails=("test_params_sha256",)),
    _w("params: hash of str(sorted(items)) instead of JSON", "params_sha256",
       (_DUMPS, "str(sorted(params.items()))"), fails=("test_params_sha256",)),
    _w("params: md5 instead of sha256", "params_sha256",
       ("hashlib.sha256(", "hashlib.md5("), fails=("test_params_sha256",)),
    _w("params: accepts any mapping or sequence (no TypeError)", "params_sha256",
       ("if not isinstance(params, dict):", "if params is None:"), fails=("test_params_sha256",)),
    _w("params: only a plain dict, not a dict subclass", "params_sha256",
       ("if not isinstance(params, dict):", "if type(params) is not dict:"),
       fails=("test_params_sha256",)),
    _w("params: numbers normalised (1 and 1.0 hash alike)", "params_sha256",
       ("if not isinstance(params, dict):", "params = json.loads(json.dumps(params), parse_int=float)\n"
        "    if not isinstance(params, dict):"), fails=("test_params_sha256",)),
    # ----------------------------------------------------------------- exercise 2
    _w("lineage: hashes joined in another order", "lineage",
       ('("data_sha256", "code_sha256", "params_sha256")', '("params_sha256", "code_sha256", "data_sha256")'),
       fails=("test_lineage",), cli=True),
    _w("lineage: joined without separators", "lineage", ('":".join', '"".join'), fails=("test_lineage",)),
    _w("lineage: the version keeps 16 digits", "lineage", ("[:12]", "[:16]"), fails=("test_lineage",)),
    _w("lineage: the version is the last 12 digits", "lineage", ("[:12]", "[-12:]"), fails=("test_lineage",)),
    _w("lineage: the data hash ignores the labels", "lineage",
       ("vs.frame_sha256(X, y)", "vs.frame_sha256(X)"), fails=("test_lineage",)),
    _w("lineage: the data hash ignores the row order", "lineage",
       ("vs.frame_sha256(X, y)", "vs.frame_sha256(X.sort_index(), pd.Series(y, index=X.index).sort_index())"),
       fails=("test_lineage",)),
    _w("lineage: the version leaves out the code", "lineage",
       (_JOIN, 'joined = ":".join(hashes[k] for k in ("data_sha256", "params_sha256"))'),
       fails=("test_lineage",)),
    _w("lineage: code that is not a str is hashed as its repr", "lineage",
       ("if not isinstance(code, str):", "if not isinstance(code, str) and False:"),
       ("vs.text_sha256(code)", "vs.text_sha256(str(code))"), fails=("test_lineage",)),
    _w("lineage: an extra key", "lineage", ('"version": hashlib', '"n_rows": len(X), "version": hashlib'),
       fails=("test_lineage",)),
    # ----------------------------------------------------------------- exercise 3
    _w("reproduce: trains before checking the lineage", "reproduce",
       ("    found = lineage(X, y, code, record[\"params\"])\n",
        "    model = train(X, y, record[\"params\"])\n    found = lineage(X, y, code, record[\"params\"])\n"),
       fails=("test_reproduce_refuses",), cli=True),
    _w("reproduce: the version alone is compared", "reproduce",
       (_LOOP, 'for key in ("version",):'), fails=("test_reproduce_refuses",)),
    _w("reproduce: the message does not say what differs", "reproduce",
       ("f\"{key.split('_')[0]} differs", "f\"lineage differs"), fails=("test_reproduce_refuses",)),
    _w("reproduce: keys compared in another order (code first)", "reproduce",
       (_LOOP, 'for key in ("code_sha256", "data_sha256", "params_sha256", "version"):'),
       fails=("test_reproduce_refuses",)),
    _w("reproduce: params compared before code", "reproduce",
       (_LOOP, 'for key in ("data_sha256", "params_sha256", "code_sha256", "version"):'),
       fails=("test_reproduce_refuses",)),
    _w("reproduce: the predictions are not compared", "reproduce",
       ("    if predicted != list(record[\"check\"][\"predictions\"]):\n",
        "    if False:\n"), fails=("test_reproduce_refuses",)),
    _w("reproduce: the lineage is computed with the current PARAMS_V1, not the record's", "reproduce",
       ('found = lineage(X, y, code, record["params"])', "found = lineage(X, y, code, PARAMS_V1)"),
       fails=("test_reproduce_basic",)),
    _w("reproduce: mismatches only printed", "reproduce",
       ("            raise ValueError(f\"{key.split('_')[0]} differs",
        "            print(f\"{key.split('_')[0]} differs"), fails=("test_reproduce_refuses",)),
    # ----------------------------------------------------------------- exercise 4
    _w("register: only the metric's estimate logged", "register",
       ('        client.log_metric(run_id, metric + "_low", value["low"])\n', ""),
       fails=("test_registry_basic",), cli=True),
    _w("register: low and high swapped", "register",
       ('metric + "_low", value["low"]', 'metric + "_low", value["high"]'),
       ('metric + "_high", value["high"]', 'metric + "_high", value["low"]'), fails=("test_registry_basic",)),
    _w("register: the lineage tags missing the code hash", "register",
       ('for key in ("data_sha256", "code_sha256", "params_sha256", "version"):\n        client.set_tag',
        'for key in ("data_sha256", "params_sha256", "version"):\n        client.set_tag'),
       fails=("test_registry_basic",)),
    _w("register: creates the registered model every time", "register",
       ("    try:\n        client.get_registered_model(name)\n    except MlflowException:\n"
        "        client.create_registered_model(name)\n", "    client.create_registered_model(name)\n"),
       fails=("test_registry_basic",)),
    _w("register: the version returned as an int", "register",
       ("return str(client.create_model_version(", "return int(client.create_model_version("),
       fails=("test_registry_basic",)),
    _w("register: the record not stored", "register",
       ('        client.log_artifact(run_id, str(Path(tmp) / "record.json"))\n', ""),
       fails=("test_registry_basic",)),
    _w("register: params logged as one JSON parameter", "register",
       ("    for key, value in record[\"params\"].items():\n        client.log_param(run_id, key, value)\n",
        "    client.log_param(run_id, \"params\", json.dumps(record[\"params\"]))\n"),
       fails=("test_registry_basic",)),
    # The example cell's client (on the lesson's store) is a global of the notebook: an
    # answer that leaves root unused still works on that store, and only another root shows it.
    _w("register: the notebook's client, not one opened on root", "register",
       ("    client, experiment_id = vs.mlflow_client(root)\n", ""), fails=("test_registry_basic",)),
    # ----------------------------------------------------------------- exercise 5
    _w("promote: the former champion not kept as 'previous'", "promote",
       ('        client.set_registered_model_alias(name, "previous", before)\n', "        pass\n"),
       fails=("test_promote",), cli=True),
    # A whole notebook's run stops at the first cell that raises: the example that
    # registers must not call promote, or a correct register loses its points too.
    _v("promote: still the release's stub (register right: Exercise 4 keeps its points)", "promote",
       "def promote(root, name, version):\n    raise NotImplementedError()\n", fails=("test_promote",), cli=True),
    _w("promote: the error does not name the version", "promote",
       ('raise ValueError(f"{name} has no version {version}")', 'raise ValueError("no such version")'),
       fails=("test_promote",)),
    _w("promote: returns the new champion", "promote", ("    return before\n", "    return version\n"),
       fails=("test_promote",)),
    _w("promote: an unknown version is not refused", "promote",
       ('        raise ValueError(f"{name} has no version {version}") from None', "        pass"),
       fails=("test_promote",)),
    _w("promote: re-promoting the champion makes it its own 'previous'", "promote",
       ("    if before == version:\n        return None\n", ""), fails=("test_promote",)),
    _w("promote: the alias moved before the version is checked", "promote",
       ("    try:\n        client.get_model_version(name, version)",
        "    client.set_registered_model_alias(name, \"champion\", version)\n"
        "    try:\n        client.get_model_version(name, version)"), fails=("test_promote",)),
    _w("promote: the notebook's client, not one opened on root", "promote",
       ("    client, _ = vs.mlflow_client(root)\n", ""), fails=("test_promote",)),
    # ----------------------------------------------------------------- exercise 6
    _w("load_version: MLflow's own tags kept", "load_version",
       ('{k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}', "dict(run.data.tags)"),
       fails=("test_registry_basic",)),
    _w("load_version: an int ref read as an alias", "load_version",
       ("if isinstance(ref, int) or str(ref).isdigit():", "if isinstance(ref, str) and ref.isdigit():"),
       fails=("test_registry_basic",)),
    _w("load_version: always the latest version", "load_version",
       ("mv = client.get_model_version(name, str(ref))",
        "mv = max(client.search_model_versions(f\"name='{name}'\"), key=lambda m: int(m.version))"),
       fails=("test_registry_basic",)),
    _w("load_version: params converted back to numbers", "load_version",
       ('"params": dict(run.data.params)', '"params": {k: json.loads(v) for k, v in run.data.params.items()}'),
       fails=("test_registry_basic",)),
    _w("load_version: the notebook's client, not one opened on root", "load_version",
       ("    client, _ = vs.mlflow_client(root)\n", ""), fails=("test_registry_basic",)),
    # ----------------------------------------------------------------- exercise 7
    _w("bootstrap: A minus B", "paired_bootstrap",
       ("d = (pred_b == y_true).astype(float) - (pred_a == y_true).astype(float)",
        "d = (pred_a == y_true).astype(float) - (pred_b == y_true).astype(float)"),
       fails=("test_paired_bootstrap",), cli=True),
    _w("bootstrap: unpaired (each model its own resamples)", "paired_bootstrap",
       ("    stats = d[" + _IDX + "].mean(axis=1)\n",
        "    ca, cb = (pred_a == y_true).astype(float), (pred_b == y_true).astype(float)\n"
        "    ia = rng.integers(0, len(d), size=(n_boot, len(d)))\n"
        "    ib = rng.integers(0, len(d), size=(n_boot, len(d)))\n"
        "    stats = cb[ib].mean(axis=1) - ca[ia].mean(axis=1)\n"), fails=("test_paired_bootstrap",)),
    _w("bootstrap: resampling without replacement", "paired_bootstrap",
       ("    stats = d[" + _IDX + "].mean(axis=1)\n",
        "    stats = np.array([d[rng.permutation(len(d))].mean() for _ in range(n_boot)])\n"),
       fails=("test_paired_bootstrap",)),
    _w("bootstrap: the level used as the lower quantile", "paired_bootstrap",
       ("[(1 - level) / 2, (1 + level) / 2]", "[1 - level, level]"), fails=("test_paired_bootstrap",)),
    _w("bootstrap: normal interval instead of percentiles", "paired_bootstrap",
       ("    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])\n",
        "    low, high = d.mean() - 1.96 * stats.std(), d.mean() + 1.96 * stats.std()\n"),
       fails=("test_paired_bootstrap",)),
    _w("bootstrap: the default seed ignored (a fresh generator)", "paired_bootstrap",
       ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng(seed + 1)"),
       fails=("test_paired_bootstrap",)),
    _w("bootstrap: lengths not checked", "paired_bootstrap",
       ("    if not len(y_true) == len(pred_a) == len(pred_b):\n", "    if False:\n"),
       fails=("test_paired_bootstrap_edges",)),
    _w("bootstrap: level 1 accepted", "paired_bootstrap", ("if not 0 < level < 1:", "if not 0 < level <= 1:"),
       fails=("test_paired_bootstrap_edges",)),
    _w("bootstrap: n_boot 0 accepted", "paired_bootstrap", ("if n_boot < 1:", "if n_boot < 0:"),
       fails=("test_paired_bootstrap_edges",)),
    _w("bootstrap: a Series compared by index", "paired_bootstrap",
       ("    y_true, pred_a, pred_b = (np.asarray(v) for v in (y_true, pred_a, pred_b))\n",
        "    y_true, pred_a, pred_b = (pd.Series(v).sort_index().to_numpy() for v in (y_true, pred_a, pred_b))\n"),
       fails=("test_paired_bootstrap",)),
    # ----------------------------------------------------------------- exercise 8
    _w("decide: low >= min_gain promotes", "decide", ('if comparison["low"] > min_gain:', 'if comparison["low"] >= min_gain:'),
       fails=("test_decide",), cli=True),
    _w("decide: the estimate decides, not the interval", "decide",
       ('if comparison["low"] > min_gain:', 'if comparison["difference"] > min_gain:'), fails=("test_decide",)),
    _w("decide: high <= 0 rejects", "decide", ('if comparison["high"] < 0:', 'if comparison["high"] <= 0:'),
       fails=("test_decide",)),
    _w("decide: rejects below min_gain instead of below 0", "decide",
       ('if comparison["high"] < 0:', 'if comparison["high"] < min_gain:'), fails=("test_decide",)),
    _w("decide: min_gain ignored", "decide", ('if comparison["low"] > min_gain:', 'if comparison["low"] > 0:'),
       fails=("test_decide",)),
    _w("decide: a negative min_gain accepted", "decide", ("if min_gain < 0:", "if min_gain < -1:"),
       fails=("test_decide",)),
    # ----------------------------------------------------------------- exercise 9
    _w("timeline: pairs in the order of the candidate's lines", "disagreement_timeline",
       (_MERGE, 'pairs = cand.merge(cur, on=keys, how="inner", suffixes=("_cand", "_cur"))'),
       fails=("test_timeline_edges",)),
    _w("timeline: the last partial window dropped", "disagreement_timeline",
       ("for start in range(0, len(pairs), window):", "for start in range(0, len(pairs) - window + 1, window):"),
       fails=("test_timeline_basic",), cli=True),
    _w("timeline: pairs matched on request_id only", "disagreement_timeline",
       ('keys = ["request_id", "instance"]', 'keys = ["request_id"]'),
       ('cur = log[log["model_version"] == current][keys + ["prediction", "latency_ms"]]',
        'cur = log[log["model_version"] == current][keys + ["instance", "prediction", "latency_ms"]]'),
       fails=("test_timeline_basic",)),
    _w("timeline: candidate_share is the share the current version served", "disagreement_timeline",
       ('cur = log[log["model_version"] == current][keys + ["prediction", "latency_ms"]]',
        'cur = log[log["model_version"] == current][keys + ["prediction", "latency_ms", "served"]]'),
       ('part["served"]', 'part["served_cur"]'), fails=("test_timeline_basic",)),
    _w("timeline: mean latency instead of the median", "disagreement_timeline",
       ('part["latency_ms_cur"].median()', 'part["latency_ms_cur"].mean()'),
       ('part["latency_ms_cand"].median()', 'part["latency_ms_cand"].mean()'), fails=("test_timeline_basic",)),
    _w("timeline: every line of the log, not only pairs", "disagreement_timeline",
       (_MERGE, 'pairs = cur.merge(cand, on=keys, how="outer", suffixes=("_cur", "_cand"))'),
       fails=("test_timeline_basic",)),
    _w("timeline: windows of window + 1 pairs", "disagreement_timeline",
       ("part = pairs.iloc[start:start + window]", "part = pairs.iloc[start:start + window + 1]"),
       fails=("test_timeline_basic",)),
    _w("timeline: the columns in another order", "disagreement_timeline",
       ('columns = ["n", "disagreement", "candidate_share", "current_ms", "candidate_ms"]',
        'columns = ["n", "disagreement", "current_ms", "candidate_ms", "candidate_share"]'),
       fails=("test_timeline_basic",)),
    _w("timeline: window 0 not refused", "disagreement_timeline",
       ("    if window < 1:\n", "    if window < 0:\n"), ("range(0, len(pairs), window)", "range(0, len(pairs), max(window, 1))"),
       fails=("test_timeline_edges",)),
    _w("timeline: only window 0 refused (a negative window gives an empty frame)", "disagreement_timeline",
       ("    if window < 1:\n", "    if window == 0:\n"), fails=("test_timeline_edges",)),
    _w("timeline: an empty log gives a frame without columns", "disagreement_timeline",
       ("return pd.DataFrame(rows, columns=columns)", "return pd.DataFrame(rows)"), fails=("test_timeline_edges",)),
    # ----------------------------------------------------------------- exercise 10
    _v("rollback: a fixed threshold on one window, any size", "should_roll_back", """
def should_roll_back(timeline):
    return bool(len(timeline) and timeline["disagreement"].iloc[-1] > 0.1)
""", fails=("test_rollback_rule",), cli=True),
    _v("rollback: any disagreement at all", "should_roll_back", """
def should_roll_back(timeline):
    return bool(len(timeline) and timeline["n"].sum() >= 20 and (timeline["disagreement"] > 0).any())
""", fails=("test_rollback_rule",)),
    _v("rollback: latency never looked at", "should_roll_back", """
def should_roll_back(timeline):
    n = timeline["n"].sum() if len(timeline) else 0
    return bool(n >= 20 and (timeline["disagreement"] * timeline["n"]).sum() / n > 0.1)
""", fails=("test_rollback_rule",)),
    _v("rollback: the latency ratio without a guard against 0 ms", "should_roll_back", """
def should_roll_back(timeline):
    n = timeline["n"].sum() if len(timeline) else 0
    if n < 20:
        return False
    if (timeline["disagreement"] * timeline["n"]).sum() / n > 0.1:
        return True
    with np.errstate(all="ignore"):
        ratio = np.float64(timeline["candidate_ms"].median()) / np.float64(timeline["current_ms"].median())
    return bool(not ratio <= 2)
""", fails=("test_rollback_rule",)),
    _v("rollback: waits for 5 windows", "should_roll_back", """
def should_roll_back(timeline):
    if len(timeline) < 5:
        return False
    return bool(timeline["disagreement"].mean() > 0.1 or
                timeline["candidate_ms"].median() > 2 * timeline["current_ms"].median())
""", fails=("test_rollback_rule",)),
    _v("rollback: returns the share, not a bool", "should_roll_back", """
def should_roll_back(timeline):
    if not len(timeline) or timeline["n"].sum() < 20:
        return 0.0
    return float(timeline["disagreement"].mean())
""", fails=("test_rollback_rule",)),
    # ----------------------------------------------------------------- exercise 11
    _w("card: sections in another order", "model_card",
       ('    lines += ["", "## Intended use", "", record["intended_use"], "", "## Limits", ""]\n'
        '    lines += [f"- {limit}" for limit in record["limits"]]\n',
        '    lines += ["", "## Limits", ""] + [f"- {limit}" for limit in record["limits"]]\n'
        '    lines += ["", "## Intended use", "", record["intended_use"]]\n'),
       fails=("test_model_card",), cli=True),
    _w("card: two decimals", "model_card",
       ("{m['estimate']:.3f} (95% interval {m['low']:.3f} to {m['high']:.3f})",
        "{m['estimate']:.2f} (95% interval {m['low']:.2f} to {m['high']:.2f})"), fails=("test_model_card",)),
    _w("card: only the first metric", "model_card",
       ('for name, m in record["metrics"].items():', 'for name, m in list(record["metrics"].items())[:1]:'),
       fails=("test_model_card",)),
    _w("card: an empty limits list accepted", "model_card",
       ('if not record.get("limits"):', 'if "limits" not in record:'), fails=("test_model_card",)),
    _w("card: no intended use accepted", "model_card",
       ('    if not record.get("intended_use"):\n        raise', '    if False:\n        raise'),
       ('record["intended_use"], "", "## Limits"', 'record.get("intended_use", ""), "", "## Limits"'),
       fails=("test_model_card",)),
    _w("card: the data hash left out", "model_card",
       ("rows, data SHA-256 {record['data_sha256']}.", "rows."), fails=("test_model_card",)),
    _w("card: metrics sorted by name", "model_card",
       ('for name, m in record["metrics"].items():', 'for name, m in sorted(record["metrics"].items()):'),
       fails=("test_model_card",)),
]

RIGHT = [
    _v("bootstrap: one resample per rng.integers call (numpy draws the same stream)", "paired_bootstrap",
       _swap("paired_bootstrap", ("    stats = d[" + _IDX + "].mean(axis=1)\n",
                                  "    stats = np.array([d[rng.integers(0, len(d), len(d))].mean() "
                                  "for _ in range(n_boot)])\n"))),
    _v("params: sorted keys by hand, recursively, then compact JSON", "params_sha256", '''
def params_sha256(params):
    if not isinstance(params, dict):
        raise TypeError("a dict, please")
    def canon(v):
        if isinstance(v, dict):
            return "{" + ",".join(json.dumps(k) + ":" + canon(v[k]) for k in sorted(v)) + "}"
        if isinstance(v, list):
            return "[" + ",".join(canon(x) for x in v) + "]"
        return json.dumps(v)
    return hashlib.sha256(canon(params).encode()).hexdigest()
'''),
    _v("lineage: f-string join and hashlib directly", "lineage", '''
def lineage(X, y, code, params):
    if type(code) is not str and not isinstance(code, str):
        raise TypeError("code")
    d = vs.frame_sha256(X, y)
    c = hashlib.sha256(code.encode("utf-8")).hexdigest()
    p = params_sha256(params)
    return {"version": hashlib.sha256(f"{d}:{c}:{p}".encode()).hexdigest()[0:12],
            "params_sha256": p, "code_sha256": c, "data_sha256": d}
'''),
    _v("reproduce: explicit comparisons and numpy array_equal", "reproduce", '''
def reproduce(record, X, y, train, code):
    now = lineage(X, y, code, record["params"])
    for key, word in (("data_sha256", "data"), ("code_sha256", "code"), ("params_sha256", "params"),
                      ("version", "version")):
        if now[key] != record[key]:
            raise ValueError(f"the {word} is not the registered one")
    model = train(X, y, record["params"])
    if not np.array_equal(model.predict(pd.DataFrame(record["check"]["rows"])),
                          np.asarray(record["check"]["predictions"])):
        raise ValueError("predictions do not match")
    return model
'''),
    _v("registry: the fluent mlflow API with the tracking URI", "register", '''
def register(root, name, record, bundle):
    import tempfile
    from pathlib import Path
    import mlflow
    client, experiment_id = vs.mlflow_client(root)
    mlflow.set_tracking_uri(client.tracking_uri)
    mlflow.set_registry_uri(client.tracking_uri)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(record["params"])
        metrics = {}
        for m, v in record["metrics"].items():
            metrics.update({m: v["estimate"], m + "_low": v["low"], m + "_high": v["high"]})
        mlflow.log_metrics(metrics)
        mlflow.set_tags({k: record[k] for k in ("data_sha256", "code_sha256", "params_sha256", "version")})
        with tempfile.TemporaryDirectory() as tmp:
            save_bundle(bundle, Path(tmp) / "b")
            mlflow.log_artifacts(str(Path(tmp) / "b"), artifact_path="bundle")
        mlflow.log_dict(record, "record.json")
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    mv = client.create_model_version(name, f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id)
    return f"{mv.version}"
'''),
    _v("promote: aliases read from the registered model", "promote", '''
def promote(root, name, version):
    from mlflow.exceptions import MlflowException
    client, _ = vs.mlflow_client(root)
    try:
        versions = {m.version for m in client.search_model_versions(f"name='{name}'")}
    except MlflowException:
        versions = set()
    if str(version) not in {str(v) for v in versions}:
        raise ValueError(f"no version {version!r} of {name!r}")
    aliases = client.get_registered_model(name).aliases
    old = aliases.get("champion")
    if old is not None and str(old) == str(version):
        return None
    client.set_registered_model_alias(name, "champion", str(version))
    if old is not None:
        client.set_registered_model_alias(name, "previous", str(old))
        return str(old)
    return None
'''),
    _v("bootstrap: a loop over precomputed resamples, and float32", "paired_bootstrap", '''
def paired_bootstrap(y_true, pred_a, pred_b, n_boot=1000, seed=0, level=0.95):
    y = list(np.asarray(y_true)); a = list(np.asarray(pred_a)); b = list(np.asarray(pred_b))
    if len(y) != len(a) or len(a) != len(b) or n_boot < 1 or not (0 < level < 1):
        raise ValueError("bad input")
    d = np.array([float(bi == yi) - float(ai == yi) for yi, ai, bi in zip(y, a, b)], dtype=np.float32)
    idx = np.random.default_rng(seed).integers(0, len(d), size=(n_boot, len(d)))
    stats = np.array([d[row].astype(np.float64).mean() for row in idx])
    return {"difference": float(d.astype(np.float64).mean()),
            "low": float(np.quantile(stats, (1 - level) / 2)), "high": float(np.quantile(stats, (1 + level) / 2))}
'''),
    _v("decide: a table of conditions", "decide", '''
def decide(comparison, min_gain=0.0):
    if not min_gain >= 0:
        raise ValueError("min_gain >= 0")
    low, high = comparison["low"], comparison["high"]
    return "promote" if low > min_gain else ("reject" if high < 0 else "inconclusive")
'''),
    _v("timeline: a dict of candidate lines and plain loops", "disagreement_timeline", '''
def disagreement_timeline(log, current, candidate, window):
    if not isinstance(window, int) or window < 1:
        raise ValueError("window >= 1")
    cand = {(r.request_id, r.instance): r for r in log[log.model_version == candidate].itertuples()}
    pairs = [(r, cand[(r.request_id, r.instance)]) for r in log[log.model_version == current].itertuples()
             if (r.request_id, r.instance) in cand]
    out = []
    for i in range(0, len(pairs), window):
        chunk = pairs[i:i + window]
        out.append([len(chunk), sum(a.prediction != b.prediction for a, b in chunk) / len(chunk),
                    sum(bool(b.served) for _, b in chunk) / len(chunk),
                    float(np.median([a.latency_ms for a, _ in chunk])),
                    float(np.median([b.latency_ms for _, b in chunk]))])
    return pd.DataFrame(out, columns=["n", "disagreement", "candidate_share", "current_ms", "candidate_ms"])
'''),
    _v("rollback: a pooled threshold with a minimum count", "should_roll_back", '''
def should_roll_back(timeline):
    n = int(timeline["n"].sum()) if len(timeline) else 0
    if n < 20:
        return False
    rate = float((timeline["disagreement"] * timeline["n"]).sum() / n)
    slow = timeline["candidate_ms"].median() > 3 * timeline["current_ms"].median() + 0.5
    return rate > 0.15 or bool(slow)
'''),
    _v("rollback: the last window only, a Wilson lower bound", "should_roll_back", '''
def should_roll_back(timeline):
    if len(timeline) == 0:
        return False
    last = timeline.iloc[-1]
    n = float(last["n"])
    if n < 20:
        return False
    p, z = float(last["disagreement"]), 2.33
    lower = (p + z * z / (2 * n) - z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    if lower > 0.05:
        return True
    return bool(last["candidate_ms"] > 2 * max(float(last["current_ms"]), 0.001))
'''),
    _v("card: a list of sections joined", "model_card", '''
def model_card(record):
    for key in ("intended_use", "limits"):
        if key not in record or not record[key]:
            raise ValueError(f"a model card needs {key}")
    metrics = "\\n".join("- %s: %.3f (95%% interval %.3f to %.3f)" % (k, v["estimate"], v["low"], v["high"])
                         for k, v in record["metrics"].items())
    limits = "\\n".join("- " + x for x in record["limits"])
    return (f"# Model card: {record['name']} {record['version']}\\n\\n## Data\\n\\n"
            f"{record['n_train']} training rows; SHA-256 of the data: {record['data_sha256']}\\n\\n"
            f"## Metrics\\n\\n{metrics}\\n\\n## Intended use\\n\\n{record['intended_use']}\\n\\n"
            f"## Limits\\n\\n{limits}\\n")
'''),
]

#: Mistakes only the whole notebook run shows: the checks on what the store holds read
#: ``registry_view``, made by the lesson's example cell in the learner's process, which
#: the in-process runner (:mod:`autograder.grading.inprocess`) runs once, with the solutions.
#: Verified through ``python -m autograder grade`` (each loses the 3 points of
#: ``test_registry_basic``), not by ``tests/test_corpus.py``.
CLI_ONLY = [
    _w("register: the run never ended (left RUNNING)", "register",
       ('    client.set_terminated(run_id, "FINISHED")\n', ""), fails=("test_registry_basic",), cli=True),
    _w("register: the version's source is the run's artefact root", "register",
       ('source = client.get_run(run_id).info.artifact_uri + "/bundle"',
        "source = client.get_run(run_id).info.artifact_uri"), fails=("test_registry_basic",), cli=True),
    _w("register: each run in an experiment of its own", "register",
       ("run_id = client.create_run(experiment_id).info.run_id",
        "run_id = client.create_run(client.create_experiment(name + '-' + record['version'] + "
        "str(len(client.search_experiments())))).info.run_id"), fails=("test_registry_basic",), cli=True),
    # load_version reads the version's source, so it follows the bundle wherever it went.
    _w("register: the bundle under 'model', not 'bundle'", "register",
       ('artifact_path="bundle"', 'artifact_path="model"'), ('artifact_uri + "/bundle"', 'artifact_uri + "/model"'),
       fails=("test_registry_basic",), cli=True),
]

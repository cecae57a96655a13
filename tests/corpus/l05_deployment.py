"""Lesson 05 (deployment): wrong answers that must lose points, alternatives that keep them."""
from __future__ import annotations

from tests.corpus import Variant

NB = "solutions/05_deployment/deployment.ipynb"
NOTEBOOKS = [NB]


def _v(description, answers, fails=(), cli=False):
    return Variant(NB, description, answers, tuple(fails), cli)


# --------------------------------------------------------------------------- exercise 1
DESCRIBE_NAN = '''
def describe_features(X, categorical):
    out = []
    for name in X.columns:
        if name in categorical:
            out.append({"name": name, "type": "category", "values": sorted({str(v) for v in X[name]})})
        else:
            out.append({"name": name, "type": "number"})
    return out
'''
DESCRIBE_UNSORTED = '''
def describe_features(X, categorical):
    out = []
    for name in X.columns:
        if name in categorical:
            out.append({"name": name, "type": "category",
                        "values": [str(v) for v in X[name].dropna().unique()]})
        else:
            out.append({"name": name, "type": "number"})
    return out
'''
DESCRIBE_BY_DTYPE = '''
def describe_features(X, categorical):
    out = []
    for name in X.columns:
        if X[name].dtype == object:
            out.append({"name": name, "type": "category",
                        "values": sorted({str(v) for v in X[name].dropna()})})
        else:
            out.append({"name": name, "type": "number"})
    return out
'''
DESCRIBE_NO_STR = '''
def describe_features(X, categorical):
    out = []
    for name in X.columns:
        if name in categorical:
            out.append({"name": name, "type": "category", "values": sorted(set(X[name].dropna()))})
        else:
            out.append({"name": name, "type": "number"})
    return out
'''
DESCRIBE_FLOAT_TYPE = '''
def describe_features(X, categorical):
    out = []
    for name in X.columns:
        if name in categorical:
            out.append({"name": name, "type": "category",
                        "values": sorted({str(v) for v in X[name].dropna()})})
        else:
            out.append({"name": name, "type": str(X[name].dtype)})
    return out
'''
DESCRIBE_LIBRARY = '''
from lifecycle.deploy import schema_from_frame

def describe_features(X, categorical):
    return schema_from_frame(X, categorical)
'''
DESCRIBE_LOOP_RIGHT = '''
def describe_features(X, categorical):
    cats = set(categorical)
    result = []
    for name in list(X.columns):
        if name not in cats:
            result.append({"type": "number", "name": name})
            continue
        seen = []
        for v in X[name]:
            if v is None or (isinstance(v, float) and v != v):
                continue
            if str(v) not in seen:
                seen.append(str(v))
        seen.sort()
        result.append({"type": "category", "name": name, "values": seen})
    return result
'''

# --------------------------------------------------------------------------- exercise 2
CHECK_RETURNS_FALSE = '''
def check_bundle(model_bytes, metadata, versions):
    import hashlib
    if hashlib.sha256(model_bytes).hexdigest() != metadata.get("model_sha256"):
        return False
    for name in ("scikit-learn", "numpy"):
        if metadata["libraries"].get(name) != versions.get(name):
            return False
    return True
'''
CHECK_STRIPPED = '''
def check_bundle(model_bytes, metadata, versions):
    import hashlib
    if "model_sha256" not in metadata or "libraries" not in metadata:
        raise ValueError("incomplete metadata")
    if hashlib.sha256(model_bytes.rstrip(b"\\n")).hexdigest() != metadata["model_sha256"]:
        raise ValueError("SHA-256 mismatch")
    for name in ("scikit-learn", "numpy"):
        if metadata["libraries"].get(name) != versions.get(name):
            raise ValueError(name + " differs")
    return True
'''
CHECK_MD5 = '''
def check_bundle(model_bytes, metadata, versions):
    import hashlib
    if hashlib.md5(model_bytes).hexdigest() != metadata["model_sha256"]:
        raise ValueError("SHA-256 mismatch")
    for name in ("scikit-learn", "numpy"):
        if metadata["libraries"].get(name) != versions.get(name):
            raise ValueError(name + " differs")
    return True
'''
CHECK_IGNORES_VERSIONS = '''
def check_bundle(model_bytes, metadata, versions):
    import hashlib
    if "model_sha256" not in metadata:
        raise ValueError("incomplete metadata")
    if hashlib.sha256(model_bytes).hexdigest() != metadata["model_sha256"]:
        raise ValueError("SHA-256 mismatch")
    return True
'''
CHECK_ALL_LIBRARIES = '''
def check_bundle(model_bytes, metadata, versions):
    import hashlib
    if "model_sha256" not in metadata or "libraries" not in metadata:
        raise ValueError("incomplete metadata")
    if hashlib.sha256(model_bytes).hexdigest() != metadata["model_sha256"]:
        raise ValueError("SHA-256 mismatch")
    for name, version in metadata["libraries"].items():
        if versions.get(name) != version:
            raise ValueError(name + " differs")
    return True
'''
CHECK_KEYERROR = '''
def check_bundle(model_bytes, metadata, versions):
    import hashlib
    if hashlib.sha256(model_bytes).hexdigest() != metadata["model_sha256"]:
        raise ValueError("SHA-256 mismatch")
    for name in ("scikit-learn", "numpy"):
        if metadata["libraries"][name] != versions[name]:
            raise ValueError(name + " differs")
    return True
'''
CHECK_RIGHT = '''
import hashlib as _hl

def check_bundle(model_bytes, metadata, versions):
    try:
        recorded, saved = metadata["model_sha256"], metadata["libraries"]
    except KeyError as error:
        raise ValueError(f"metadata lacks {error}") from None
    h = _hl.sha256()
    for start in range(0, len(model_bytes), 1000):
        h.update(model_bytes[start:start + 1000])
    if h.hexdigest().lower() != str(recorded).lower():
        raise ValueError("SHA256 of the file differs from the recorded one")
    bad = [n for n in ("numpy", "scikit-learn") if saved.get(n) != versions.get(n)]
    if bad:
        raise ValueError("version mismatch: " + ", ".join(bad))
    return True
'''

# --------------------------------------------------------------------------- exercise 3
_VALIDATE = '''
def validate_instance(instance, features, domain):
    import math
    if not isinstance(instance, dict):
        {NOT_DICT}
    errors = []
    for feature in features:
        name = feature["name"]
        {ABSENT}
        value = instance[name]
        if {NULL_BAD}:
            continue
        if feature["type"] == "number":
            low, high = domain["numeric"][name]["min"], domain["numeric"][name]["max"]
            if {NUMBER_BAD}:
                errors.append(name + ": not a number")
            elif {NOT_FINITE}:
                errors.append(name + ": not finite")
            elif {OUT_OF_RANGE}:
                errors.append(name + ": out of range")
        elif {CATEGORY_BAD}:
            errors.append(name + ": not a string")
    {EXTRA}
    return errors{RETURN_SLICE}
'''
_DEFAULTS = {
    "NOT_DICT": 'return ["not an object"]',
    "ABSENT": "if name not in instance:\n            continue",
    "NULL_BAD": "value is None",
    "NUMBER_BAD": "not isinstance(value, (int, float)) or isinstance(value, bool)",
    "NOT_FINITE": "isinstance(value, float) and not math.isfinite(value)",
    "OUT_OF_RANGE": "not low <= value <= high",
    "CATEGORY_BAD": "not isinstance(value, str)",
    "EXTRA": ('names = {f["name"] for f in features}\n'
              '    errors += [k + ": not a feature" for k in instance if k not in names]'),
    "RETURN_SLICE": "",
}


def _validate(**changes):
    source = _VALIDATE
    for key, value in {**_DEFAULTS, **changes}.items():
        source = source.replace("{" + key + "}", value)
    return source


VALIDATE_BOOL = _validate(NUMBER_BAD="not isinstance(value, (int, float))")
VALIDATE_NO_FINITE = _validate(NOT_FINITE="False", OUT_OF_RANGE="value == value and not low <= value <= high")
VALIDATE_NO_EXTRA = _validate(EXTRA="pass")
VALIDATE_FLOAT_PARSE = _validate(NUMBER_BAD="not isinstance(value, (int, float, str)) or isinstance(value, bool)",
                                 NOT_FINITE="not math.isfinite(float(value))",
                                 OUT_OF_RANGE="not low <= float(value) <= high")
VALIDATE_OVERFLOW = _validate(NOT_FINITE="not math.isfinite(value)")
VALIDATE_NO_RANGE = _validate(OUT_OF_RANGE="False")
VALIDATE_OPEN_RANGE = _validate(OUT_OF_RANGE="not low < value < high")
VALIDATE_MISSING_IS_ERROR = _validate(ABSENT='if name not in instance:\n            errors.append(name + ": missing")\n            continue')
VALIDATE_NULL_IS_ERROR = _validate(NULL_BAD='value is None and errors.append(name + ": null") is None')
VALIDATE_UNKNOWN_CATEGORY = _validate(CATEGORY_BAD='not isinstance(value, str) or value not in feature["values"]')
VALIDATE_FLOAT_ONLY = _validate(NUMBER_BAD="not isinstance(value, float)")
VALIDATE_FIRST_ONLY = _validate(RETURN_SLICE="[:1]")
VALIDATE_RAISES = _validate(NOT_DICT='raise TypeError("instance must be a dict")')
VALIDATE_LIBRARY = '''
from lifecycle import deploy as _d

def validate_instance(instance, features, domain):
    return _d.validate_instance(instance, features, domain)
'''
VALIDATE_RIGHT = '''
import math
from numbers import Real

def validate_instance(instance, features, domain):
    if type(instance) is not dict:
        return ["instance: expected an object"]
    by_name = {f["name"]: f for f in features}
    errors = [f"{k}: unexpected key" for k in instance if k not in by_name]
    for name, f in by_name.items():
        v = instance.get(name)
        if v is None:
            continue
        if f["type"] == "number":
            r = domain["numeric"][name]
            if isinstance(v, bool) or not isinstance(v, Real):
                errors.append(f"{name}: bad number")
            elif isinstance(v, int):
                if v < r["min"] or v > r["max"]:
                    errors.append(f"{name}: out of range")
            elif not (math.isfinite(v) and r["min"] <= v <= r["max"]):
                errors.append(f"{name}: bad number {v!r}")
        elif type(v) is not str:
            errors.append(f"{name}: bad category")
    return errors
'''

# --------------------------------------------------------------------------- exercise 4
_HANDLE = '''
def handle_predict(payload, bundle, max_batch=256):
    if not isinstance(payload, dict) or {KEYS_BAD}:
        return 400, {"error": "send {\\"instances\\": [...]}"}
    instances = payload["instances"]
    if not isinstance(instances, list){EMPTY}:
        return 400, {"error": "'instances' must be a non-empty list"}
    if {TOO_MANY}:
        return 413, {"error": "too many instances"}
    meta = bundle["metadata"]
    for i, instance in enumerate(instances):
        errors = validate_instance(instance, meta["features"], meta["domain"])
        if errors:
            return {INVALID_STATUS}, {"error": f"instance {i}: " + "; ".join(errors)}
    names = [f["name"] for f in meta["features"]]
    X = {FRAME}
    predictions = bundle["model"].predict(X)
    return 200, {"predictions": {PREDICTIONS}, "model_version": {VERSION}}
'''
_HANDLE_DEFAULTS = {
    "KEYS_BAD": 'set(payload) != {"instances"}',
    "EMPTY": " or not instances",
    "TOO_MANY": "len(instances) > max_batch",
    "INVALID_STATUS": "422",
    "FRAME": "pd.DataFrame([[np.nan if r.get(n) is None else r[n] for n in names] for r in instances], columns=names)",
    "PREDICTIONS": "predictions.tolist()",
    "VERSION": 'bundle["metadata"]["model_version"]',
}


def _handle(**changes):
    source = _HANDLE
    for key, value in {**_HANDLE_DEFAULTS, **changes}.items():
        source = source.replace("{" + key + "}", value)
    return source


HANDLE_HARDCODED_VERSION = _handle(VERSION='"penguins-1.0.0"')
HANDLE_NUMPY = _handle(PREDICTIONS="predictions")
HANDLE_OFF_BY_ONE = _handle(TOO_MANY="len(instances) >= max_batch")
HANDLE_400_INVALID = _handle(INVALID_STATUS="400")
HANDLE_EMPTY_OK = _handle(EMPTY="")
HANDLE_EXTRA_KEYS_OK = _handle(KEYS_BAD='"instances" not in payload')
HANDLE_NO_BATCH_LIMIT = _handle(TOO_MANY="False")
HANDLE_NONE_PASSED = _handle(FRAME="pd.DataFrame(instances, columns=names)")
HANDLE_CRASHES = '''
def handle_predict(payload, bundle, max_batch=256):
    instances = payload["instances"]
    if len(instances) > max_batch:
        return 413, {"error": "too many"}
    meta = bundle["metadata"]
    for i, instance in enumerate(instances):
        if validate_instance(instance, meta["features"], meta["domain"]):
            return 422, {"error": f"instance {i} is invalid"}
    if not instances:
        return 400, {"error": "empty"}
    names = [f["name"] for f in meta["features"]]
    X = pd.DataFrame([[np.nan if r.get(n) is None else r[n] for n in names] for r in instances], columns=names)
    return 200, {"predictions": bundle["model"].predict(X).tolist(), "model_version": meta["model_version"]}
'''
HANDLE_LIBRARY = '''
from lifecycle.deploy import predict_payload

def handle_predict(payload, bundle, max_batch=256):
    status, body = predict_payload(payload, bundle, max_batch)
    body.pop("probabilities", None)
    return status, body
'''
HANDLE_RIGHT = '''
def handle_predict(payload, bundle, max_batch=256):
    meta = bundle["metadata"]
    if type(payload) is not dict or list(payload) != ["instances"] or type(payload["instances"]) is not list:
        return 400, {"error": "bad payload"}
    rows = payload["instances"]
    if len(rows) == 0:
        return 400, {"error": "empty batch"}
    if len(rows) - max_batch > 0:
        return 413, {"error": f"at most {max_batch}"}
    bad = [i for i, r in enumerate(rows) if validate_instance(r, meta["features"], meta["domain"])]
    if bad:
        return 422, {"error": f"instance {bad[0]} is invalid"}
    columns = {}
    for f in meta["features"]:
        values = [r.get(f["name"]) for r in rows]
        columns[f["name"]] = pd.Series([np.nan if v is None else v for v in values],
                                       dtype=float if f["type"] == "number" else object)
    X = pd.DataFrame(columns)
    return 200, {"model_version": meta["model_version"],
                 "predictions": list(map(str, bundle["model"].predict(X)))}
'''

# --------------------------------------------------------------------------- exercise 5
_PARSE = '''
def parse_body(body, content_type, max_bytes):
    {MEDIA}
    if {MEDIA_BAD}:
        return {MEDIA_STATUS}, {"error": "send application/json"}
    {SIZE}

    def no_constants(token):
        raise ValueError(token + " is not JSON")

    try:
        value = json.loads(body.decode("utf-8"){CONSTANTS})
    except {CATCH}:
        return 400, {"error": "not valid JSON"}
    {SIZE_AFTER}
    return 200, value
'''
_PARSE_DEFAULTS = {
    "MEDIA": 'media = (content_type or "").split(";")[0].strip().lower()',
    "MEDIA_BAD": 'media != "application/json"',
    "MEDIA_STATUS": "415",
    "SIZE": 'if len(body) > max_bytes:\n        return 413, {"error": "too large"}',
    "CONSTANTS": ", parse_constant=no_constants",
    "CATCH": "ValueError",
    "SIZE_AFTER": "",
}


def _parse(**changes):
    source = _PARSE
    for key, value in {**_PARSE_DEFAULTS, **changes}.items():
        source = source.replace("{" + key + "}", value)
    return source


PARSE_ALLOWS_NAN = _parse(CONSTANTS="")
PARSE_EXACT_TYPE = _parse(MEDIA="media = content_type")
PARSE_SIZE_OFF_BY_ONE = _parse(SIZE='if len(body) >= max_bytes:\n        return 413, {"error": "too large"}')
PARSE_SIZE_AFTER = _parse(SIZE="", SIZE_AFTER='if len(body) > max_bytes:\n        return 413, {"error": "too large"}')
PARSE_400_FOR_TYPE = _parse(MEDIA_STATUS="400")
PARSE_NOT_UTF8_CRASH = _parse(CATCH="json.JSONDecodeError")
PARSE_LIBRARY = '''
from lifecycle import deploy

def parse_body(body, content_type, max_bytes):
    status, value = deploy.parse_json_body(body, content_type, max_bytes)
    return status, {"error": value["error"]} if status != 200 else value
'''
PARSE_RIGHT = '''
import json as _json
import math as _math

def parse_body(body, content_type, max_bytes):
    kind = "" if content_type is None else content_type.partition(";")[0]
    if kind.strip().casefold() != "application/json":
        return 415, {"error": "unsupported media type"}
    if len(body) - max_bytes > 0:
        return 413, {"error": "body too large"}
    try:
        text = str(body, "utf-8")
        value = _json.loads(text)
    except (UnicodeDecodeError, _json.JSONDecodeError) as error:
        return 400, {"error": str(error) or "bad JSON"}

    def finite(v):
        if isinstance(v, float):
            return _math.isfinite(v)
        if isinstance(v, list):
            return all(finite(x) for x in v)
        if isinstance(v, dict):
            return all(finite(x) for x in v.values())
        return True

    if not finite(value):
        return 400, {"error": "NaN and Infinity are not JSON"}
    return 200, value
'''

# --------------------------------------------------------------------------- exercise 6
_GOOD = ('{"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0, '
         '"body_mass_g": 3750.0, "island": "Torgersen", "sex": "male"}')
_SPECS = '''
def bad_requests():
    good = ''' + _GOOD + '''
    specs = {
        "not_json": {"data": "bill_length_mm=39.1", "content_type": "text/plain", "status": 415},
        "extra_feature": {"json": {"instances": [dict(good, beak="orange")]}, "status": 422},
        "wrong_type": {"json": {"instances": [dict(good, body_mass_g="3750")]}, "status": 422},
        "category_not_string": {"json": {"instances": [dict(good, island=3)]}, "status": 422},
        "out_of_range": {"json": {"instances": [dict(good, body_mass_g=3.75)]}, "status": 422},
        "empty_batch": {"json": {"instances": []}, "status": 400},
        "oversized_batch": {"json": {"instances": [good] * 257}, "status": 413},
        "wrong_method": {"method": "GET", "path": "/predict", "status": 405},
        "unknown_route": {"path": "/predictions", "json": {"instances": [good]}, "status": 404},
    }
    CHANGE
    return specs
'''


def _specs(change: str) -> str:
    return _SPECS.replace("CHANGE", change)


SPECS_500 = _specs('specs["wrong_type"]["status"] = 500')
SPECS_400_FOR_422 = _specs('specs["out_of_range"]["status"] = 400')
SPECS_TWO_PROBLEMS = _specs('specs["extra_feature"]["json"] = {"instances": [dict(good, beak=1, island=2)]}')
SPECS_OVERSIZED_INVALID = _specs(
    'specs["oversized_batch"]["json"] = {"instances": [dict(good, sex=1)] * 300}')
SPECS_MISSING_CATEGORY = _specs('del specs["out_of_range"]')
SPECS_METHOD_404 = _specs('specs["wrong_method"]["status"] = 404')
SPECS_UNKNOWN_CATEGORY_AS_BAD = _specs(
    'specs["category_not_string"]["json"] = {"instances": [dict(good, island="Atlantis")]}')
SPECS_MISSING_AS_BAD = _specs(
    'specs["wrong_type"]["json"] = {"instances": [{k: v for k, v in good.items() if k != "body_mass_g"}]}')
SPECS_RIGHT = _specs(
    'specs["not_json"] = {"data": "{not json", "content_type": "application/json", "status": 400}\n'
    '    specs["wrong_type"] = {"json": {"instances": [dict(good, bill_depth_mm=[18.7])]}, "status": 422}\n'
    '    specs["out_of_range"] = {"json": {"instances": [dict(good, flipper_length_mm=-181)]}, "status": 422}\n'
    '    specs["wrong_method"] = {"method": "put", "status": 405}\n'
    '    specs["oversized_batch"] = {"json": {"instances": [good] * 1000}, "status": 413}')

# --------------------------------------------------------------------------- exercise 7
_LAT = '''
def latency_summary(latencies_s, elapsed_s):
    ms = np.asarray(latencies_s, dtype=float) * {SCALE}
    {GUARD}
    return {"n": int(ms.size), "p50_ms": float({P50}), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float({P99}), "throughput_rps": {THROUGHPUT}}
'''
_LAT_DEFAULTS = {
    "SCALE": "1000",
    "GUARD": ('if ms.size == 0 or elapsed_s <= 0:\n'
              '        raise ValueError("need latencies and a positive elapsed time")'),
    "P50": "np.percentile(ms, 50)",
    "P99": "np.percentile(ms, 99)",
    "THROUGHPUT": "ms.size / elapsed_s",
}


def _lat(**changes):
    source = _LAT
    for key, value in {**_LAT_DEFAULTS, **changes}.items():
        source = source.replace("{" + key + "}", value)
    return source


LAT_ONE_OVER_MEAN = _lat(THROUGHPUT="1000 / ms.mean()")
LAT_SECONDS = _lat(SCALE="1")
LAT_FRACTION = _lat(P99="np.percentile(ms, 0.99)")
LAT_MEAN = _lat(P50="ms.mean()")
LAT_MAX = _lat(P99="ms.max()")
LAT_NO_GUARD = _lat(GUARD="pass")
LAT_LIBRARY = '''
from lifecycle.deploy import summarize_latency

def latency_summary(latencies_s, elapsed_s):
    return summarize_latency(latencies_s, elapsed_s)
'''
LAT_RIGHT_SORTED = '''
import math

def latency_summary(latencies_s, elapsed_s):
    values = sorted(float(x) * 1000.0 for x in latencies_s)
    if not values or not elapsed_s > 0:
        raise ValueError("nothing to summarise")

    def nearest_rank(q):
        return values[max(0, math.ceil(q / 100 * len(values)) - 1)]

    return {"n": len(values), "p50_ms": nearest_rank(50), "p95_ms": nearest_rank(95),
            "p99_ms": nearest_rank(99), "throughput_rps": len(values) / elapsed_s}
'''
LAT_RIGHT_FLOAT32 = '''
def latency_summary(latencies_s, elapsed_s):
    ms = np.asarray(latencies_s, dtype=np.float32) * np.float32(1000)
    if ms.size == 0 or elapsed_s <= 0:
        raise ValueError("empty")
    q = np.quantile(ms, [0.5, 0.95, 0.99], method="median_unbiased")
    return {"n": ms.size, "p50_ms": float(q[0]), "p95_ms": float(q[1]), "p99_ms": float(q[2]),
            "throughput_rps": float(np.float32(ms.size) / np.float32(elapsed_s))}
'''

# --------------------------------------------------------------------------- exercise 8
_PLAN = '''
def plan_workers(cpu_ms, wall_ms, cores):
    import math
    {GUARD}
    return {PLAN}
'''
_PLAN_GUARD = ('if not isinstance(cores, int) or cores < 1 or not (math.isfinite(cpu_ms) and '
               'math.isfinite(wall_ms) and 0 < cpu_ms <= wall_ms):\n        raise ValueError("bad")')


def _plan(plan, guard=_PLAN_GUARD):
    return _PLAN.replace("{GUARD}", guard).replace("{PLAN}", plan)


PLAN_GUNICORN_RULE = _plan("2 * cores + 1, math.ceil(wall_ms / cpu_ms)")
PLAN_ONE_THREAD = _plan("cores, 1")
PLAN_FLOAT_THREADS = _plan("cores, wall_ms / cpu_ms")
PLAN_PROCESSES_ONLY = _plan("cores * math.ceil(wall_ms / cpu_ms), 1")
PLAN_ROUNDED_DOWN = _plan("cores, max(1, int(wall_ms / cpu_ms))")
PLAN_TOO_MANY_THREADS = _plan("cores, 4 * math.ceil(wall_ms / cpu_ms)")
PLAN_NO_GUARD = _plan("cores, math.ceil(wall_ms / cpu_ms)", guard="pass")
PLAN_LIBRARY = '''
from lifecycle.deploy import plan_capacity

def plan_workers(cpu_ms, wall_ms, cores):
    return plan_capacity(cpu_ms, wall_ms, cores)
'''
PLAN_FEWEST_WORKERS = _plan(
    "(min(cores, math.ceil(cores * wall_ms / cpu_ms / math.ceil(wall_ms / cpu_ms))), "
    "math.ceil(wall_ms / cpu_ms))")
PLAN_FLOOR_DIVISION = _plan("cores, int(-(-wall_ms // cpu_ms))")

WRONG = [
    _v("describe_features keeps NaN as a category", {"describe_features": DESCRIBE_NAN},
       ["test_describe_features_edge"]),
    _v("describe_features leaves categories in order of appearance",
       {"describe_features": DESCRIBE_UNSORTED}),
    _v("describe_features decides the type from the dtype, ignoring `categorical`",
       {"describe_features": DESCRIBE_BY_DTYPE}, ["test_describe_features_edge"]),
    _v("describe_features keeps integer categories as ints", {"describe_features": DESCRIBE_NO_STR},
       ["test_describe_features_edge"]),
    _v("describe_features writes the dtype instead of 'number'", {"describe_features": DESCRIBE_FLOAT_TYPE},
       ["test_describe_features_penguins"]),
    _v("describe_features calls lifecycle.deploy.schema_from_frame", {"describe_features": DESCRIBE_LIBRARY},
       ["test_describe_features_edge"]),

    _v("check_bundle returns False instead of raising", {"check_bundle": CHECK_RETURNS_FALSE},
       ["test_check_bundle_basic", "test_check_bundle_versions"], cli=True),
    _v("check_bundle hashes the file with trailing newlines stripped", {"check_bundle": CHECK_STRIPPED},
       ["test_check_bundle_versions"]),
    _v("check_bundle compares an MD5 with the recorded SHA-256", {"check_bundle": CHECK_MD5},
       ["test_check_bundle_basic"]),
    _v("check_bundle ignores library versions", {"check_bundle": CHECK_IGNORES_VERSIONS},
       ["test_check_bundle_versions"]),
    _v("check_bundle insists on every library version, python and pandas too",
       {"check_bundle": CHECK_ALL_LIBRARIES}, ["test_check_bundle_versions"]),
    _v("check_bundle raises KeyError on incomplete metadata", {"check_bundle": CHECK_KEYERROR},
       ["test_check_bundle_versions"]),

    _v("validate_instance accepts booleans as numbers", {"validate_instance": VALIDATE_BOOL},
       ["test_validate_hidden"]),
    _v("validate_instance accepts NaN and infinity", {"validate_instance": VALIDATE_NO_FINITE},
       ["test_validate_types"]),
    _v("validate_instance ignores extra keys", {"validate_instance": VALIDATE_NO_EXTRA},
       ["test_validate_basic", "test_validate_hidden"]),
    _v("validate_instance accepts numbers sent as strings", {"validate_instance": VALIDATE_FLOAT_PARSE},
       ["test_validate_types"]),
    _v("validate_instance overflows on a huge integer (math.isfinite on an int)",
       {"validate_instance": VALIDATE_OVERFLOW}, ["test_validate_types"]),
    _v("validate_instance has no range check", {"validate_instance": VALIDATE_NO_RANGE},
       ["test_validate_basic", "test_validate_types"]),
    _v("validate_instance refuses values on the ends of the range", {"validate_instance": VALIDATE_OPEN_RANGE},
       ["test_validate_types", "test_validate_hidden"]),
    _v("validate_instance refuses an absent feature the pipeline imputes",
       {"validate_instance": VALIDATE_MISSING_IS_ERROR}, ["test_validate_basic"]),
    _v("validate_instance refuses null", {"validate_instance": VALIDATE_NULL_IS_ERROR},
       ["test_validate_types"]),
    _v("validate_instance refuses an unknown category", {"validate_instance": VALIDATE_UNKNOWN_CATEGORY},
       ["test_validate_basic", "test_validate_types"]),
    _v("validate_instance rejects integers", {"validate_instance": VALIDATE_FLOAT_ONLY},
       ["test_validate_types"]),
    _v("validate_instance reports only the first problem", {"validate_instance": VALIDATE_FIRST_ONLY},
       ["test_validate_hidden"]),
    _v("validate_instance raises on a non-dict instance", {"validate_instance": VALIDATE_RAISES},
       ["test_validate_types", "test_validate_hidden"]),
    _v("validate_instance calls lifecycle.deploy.validate_instance", {"validate_instance": VALIDATE_LIBRARY},
       ["test_validate_hidden"]),

    _v("handle_predict hard-codes the model version", {"handle_predict": HANDLE_HARDCODED_VERSION},
       ["test_handle_predict_hidden"]),
    _v("handle_predict returns a numpy array of predictions", {"handle_predict": HANDLE_NUMPY},
       ["test_handle_predict_ok"], cli=True),
    _v("handle_predict refuses a batch of exactly max_batch (>=)", {"handle_predict": HANDLE_OFF_BY_ONE},
       ["test_handle_predict_errors"]),
    _v("handle_predict answers 400 to an invalid instance", {"handle_predict": HANDLE_400_INVALID},
       ["test_handle_predict_errors"]),
    _v("handle_predict answers an empty batch with 200", {"handle_predict": HANDLE_EMPTY_OK},
       ["test_handle_predict_errors"]),
    _v("handle_predict accepts extra top-level keys", {"handle_predict": HANDLE_EXTRA_KEYS_OK},
       ["test_handle_predict_errors"]),
    _v("handle_predict has no batch limit", {"handle_predict": HANDLE_NO_BATCH_LIMIT},
       ["test_handle_predict_errors", "test_handle_predict_hidden"]),
    _v("handle_predict crashes on a payload without 'instances'", {"handle_predict": HANDLE_CRASHES},
       ["test_handle_predict_errors"]),
    _v("handle_predict passes None to the pipeline (an unknown category, not a missing value)",
       {"handle_predict": HANDLE_NONE_PASSED}, ["test_handle_predict_hidden"]),
    _v("handle_predict calls lifecycle.deploy.predict_payload", {"handle_predict": HANDLE_LIBRARY},
       ["test_handle_predict_hidden"]),

    _v("parse_body accepts NaN and Infinity", {"parse_body": PARSE_ALLOWS_NAN}, ["test_parse_body_edge"]),
    _v("parse_body compares the whole Content-Type header", {"parse_body": PARSE_EXACT_TYPE},
       ["test_parse_body_basic"]),
    _v("parse_body refuses a body of exactly max_bytes", {"parse_body": PARSE_SIZE_OFF_BY_ONE},
       ["test_parse_body_edge"]),
    _v("parse_body parses before checking the size", {"parse_body": PARSE_SIZE_AFTER},
       ["test_parse_body_edge"]),
    _v("parse_body answers 400 to a wrong media type", {"parse_body": PARSE_400_FOR_TYPE},
       ["test_parse_body_basic"]),
    _v("parse_body crashes on bytes that are not UTF-8", {"parse_body": PARSE_NOT_UTF8_CRASH},
       ["test_parse_body_edge"]),
    _v("parse_body calls lifecycle.deploy.parse_json_body", {"parse_body": PARSE_LIBRARY},
       ["test_parse_body_edge"]),

    _v("bad_requests expects a 500 for a wrong type", {"bad_requests": SPECS_500},
       ["test_bad_requests_statuses"]),
    _v("bad_requests expects 400 for an out-of-range value", {"bad_requests": SPECS_400_FOR_422},
       ["test_bad_requests_statuses"]),
    _v("bad_requests tests two problems in one request", {"bad_requests": SPECS_TWO_PROBLEMS},
       ["test_bad_requests_targeted"]),
    _v("bad_requests builds the oversized batch from invalid instances",
       {"bad_requests": SPECS_OVERSIZED_INVALID}, ["test_bad_requests_targeted"]),
    _v("bad_requests leaves out a category", {"bad_requests": SPECS_MISSING_CATEGORY},
       ["test_bad_requests_statuses"]),
    _v("bad_requests expects 404 for a wrong method", {"bad_requests": SPECS_METHOD_404},
       ["test_bad_requests_statuses"]),
    _v("bad_requests sends an unknown island, which the pipeline accepts",
       {"bad_requests": SPECS_UNKNOWN_CATEGORY_AS_BAD}, ["test_bad_requests_statuses"]),
    _v("bad_requests leaves a feature out, which the pipeline imputes",
       {"bad_requests": SPECS_MISSING_AS_BAD}, ["test_bad_requests_statuses"]),

    _v("latency_summary computes throughput as 1/mean latency", {"latency_summary": LAT_ONE_OVER_MEAN},
       ["test_latency_summary_basic"]),
    _v("latency_summary reports seconds, not milliseconds", {"latency_summary": LAT_SECONDS},
       ["test_latency_summary_basic", "test_latency_summary_edge"]),
    _v("latency_summary passes 0.99 instead of 99 to np.percentile", {"latency_summary": LAT_FRACTION},
       ["test_latency_summary_basic"]),
    _v("latency_summary reports the mean as p50", {"latency_summary": LAT_MEAN},
       ["test_latency_summary_basic"]),
    _v("latency_summary reports the maximum as p99", {"latency_summary": LAT_MAX},
       ["test_latency_summary_basic"]),
    _v("latency_summary returns NaN instead of raising on no data", {"latency_summary": LAT_NO_GUARD},
       ["test_latency_summary_edge"]),
    _v("latency_summary calls lifecycle.deploy.summarize_latency", {"latency_summary": LAT_LIBRARY},
       ["test_latency_summary_edge"]),

    _v("plan_workers uses gunicorn's 2*cores+1 workers", {"plan_workers": PLAN_GUNICORN_RULE},
       ["test_plan_workers_properties"]),
    _v("plan_workers gives each worker one thread", {"plan_workers": PLAN_ONE_THREAD},
       ["test_plan_workers_properties"]),
    _v("plan_workers returns a float thread count", {"plan_workers": PLAN_FLOAT_THREADS},
       ["test_plan_workers_properties"]),
    _v("plan_workers uses processes instead of threads", {"plan_workers": PLAN_PROCESSES_ONLY},
       ["test_plan_workers_properties"]),
    _v("plan_workers rounds the threads down", {"plan_workers": PLAN_ROUNDED_DOWN},
       ["test_plan_workers_properties"]),
    _v("plan_workers gives each worker four times the threads it needs", {"plan_workers": PLAN_TOO_MANY_THREADS},
       ["test_plan_workers_properties"]),
    _v("plan_workers accepts impossible costs", {"plan_workers": PLAN_NO_GUARD},
       ["test_plan_workers_errors"]),
    _v("plan_workers calls lifecycle.deploy.plan_capacity", {"plan_workers": PLAN_LIBRARY},
       ["test_plan_workers_properties"]),
]

RIGHT = [
    _v("describe_features with plain loops and keys in another order",
       {"describe_features": DESCRIBE_LOOP_RIGHT}),
    _v("check_bundle hashing in chunks, case-insensitive hex, KeyError turned into ValueError",
       {"check_bundle": CHECK_RIGHT}),
    _v("validate_instance with numbers.Real, extra keys first", {"validate_instance": VALIDATE_RIGHT}),
    _v("handle_predict building the frame in schema order, reporting the first bad index",
       {"handle_predict": HANDLE_RIGHT}),
    _v("parse_body that rejects non-finite numbers after parsing", {"parse_body": PARSE_RIGHT}),
    _v("plan_workers with the fewest workers that saturate the cores", {"plan_workers": PLAN_FEWEST_WORKERS}),
    _v("plan_workers with floor division for the ceiling", {"plan_workers": PLAN_FLOOR_DIVISION}),
    _v("bad_requests with invalid JSON, a list as a number, a negative length, PUT, a 1000-instance batch",
       {"bad_requests": SPECS_RIGHT}),
    _v("latency_summary with nearest-rank percentiles on a sorted list",
       {"latency_summary": LAT_RIGHT_SORTED}),
    _v("latency_summary in float32 with median-unbiased quantiles",
       {"latency_summary": LAT_RIGHT_FLOAT32}),
]

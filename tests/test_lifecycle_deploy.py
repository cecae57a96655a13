"""Unit tests of lifecycle.deploy: bundle, validation, handler, log, latency, CLI."""
from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from lifecycle import deploy

GOOD = {"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
        "body_mass_g": 3750.0, "island": "Torgersen", "sex": "male"}


@pytest.fixture
def copy_of(saved, tmp_path):
    def make(name="copy"):
        return shutil.copytree(saved, tmp_path / name)
    return make


# --------------------------------------------------------------------------- data and bundle

def records(frame):
    """Rows as JSON would carry them: missing values as None (null)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_penguins_frame_is_lesson_01s_table_with_its_missing_values():
    from lifecycle.preprocessing import load_penguins

    frame = deploy.penguins_frame()
    assert list(frame.columns) == deploy.NUMERIC + deploy.CATEGORICAL + ["species"]
    pd.testing.assert_frame_equal(frame, load_penguins()[list(frame.columns)])
    assert frame.shape == (344, 7) and frame["sex"].isna().sum() > 0
    assert set(frame["species"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert set(frame["sex"].dropna()) == {"female", "male"}


def test_bundle_serves_lesson_01s_pipeline(bundle):
    """Lesson 01 says lesson 05 serves its pipeline: the same steps and parameters, fitted."""
    from sklearn.base import clone

    from lifecycle.preprocessing import penguins_pipeline

    def plain(value):
        if hasattr(value, "get_params"):
            return type(value).__name__
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    def structure(params):
        return {key: plain(value) for key, value in params.items()}

    assert structure(clone(bundle["model"]).get_params()) == structure(penguins_pipeline().get_params())
    train = deploy.penguins_frame().dropna(subset=["species"])
    assert bundle["metadata"]["n_train"] == round(0.75 * len(train))


def test_bundle_answers_a_missing_sex_and_an_unknown_island(bundle):
    """What lesson 01 promises: a missing sex is imputed, an unknown island encoded as unknown."""
    for instance in ({k: v for k, v in GOOD.items() if k != "sex"}, dict(GOOD, sex=None),
                     dict(GOOD, island="Atlantis"), {}):
        status, body = deploy.predict_payload({"instances": [instance]}, bundle)
        assert status == 200, body
        assert body["predictions"][0] in ("Adelie", "Chinstrap", "Gentoo")
    _, body = deploy.predict_payload({"instances": [dict(GOOD, sex=None)]}, bundle)
    imputed = dict(GOOD, sex=bundle["model"].named_steps["preprocess"].named_transformers_["cat"]
                   .named_steps["impute"].statistics_[1])
    assert body["probabilities"] == deploy.predict_payload({"instances": [imputed]}, bundle)[1][
        "probabilities"]


def test_bundle_domain_records_training_ranges_and_categories(bundle):
    meta = bundle["metadata"]
    domain = meta["domain"]
    assert domain["margin"] == deploy.RANGE_MARGIN
    assert set(domain["numeric"]) == set(deploy.NUMERIC)
    assert domain["categories"] == {f["name"]: f["values"] for f in meta["features"]
                                    if f["type"] == "category"}
    mass = domain["numeric"]["body_mass_g"]
    width = mass["observed_max"] - mass["observed_min"]
    assert math.isclose(mass["min"], mass["observed_min"] - domain["margin"] * width)
    assert math.isclose(mass["max"], mass["observed_max"] + domain["margin"] * width)
    assert json.loads(json.dumps(domain)) == domain


def test_domain_from_frame_ignores_missing_values():
    X = pd.DataFrame({"x": [1.0, np.nan, 3.0], "c": ["b", None, "a"]})
    domain = deploy.domain_from_frame(X, ["c"], margin=0.25)
    assert domain == {"margin": 0.25, "categories": {"c": ["a", "b"]},
                      "numeric": {"x": {"observed_min": 1.0, "observed_max": 3.0,
                                        "min": 0.5, "max": 3.5}}}


def test_schema_from_frame_types_order_and_values():
    X = pd.DataFrame({"b": [1.0, 2.0], "a": ["y", None], "c": [3, 1]})
    assert deploy.schema_from_frame(X, ["a", "c"]) == [
        {"name": "b", "type": "number"},
        {"name": "a", "type": "category", "values": ["y"]},
        {"name": "c", "type": "category", "values": ["1", "3"]},
    ]


def test_bundle_metadata_is_complete(bundle):
    meta = bundle["metadata"]
    for key in set(deploy.REQUIRED_METADATA) - {"model_sha256"}:
        assert key in meta
    assert meta["model_version"] == "penguins-1.0.0"
    assert [f["name"] for f in meta["features"]] == deploy.NUMERIC + deploy.CATEGORICAL
    assert meta["metrics"]["accuracy"] > 0.9
    assert re.fullmatch(r"[0-9a-f]{64}", meta["training_data_sha256"])
    assert meta["created"].endswith("Z")
    assert {"python", "scikit-learn", "numpy", "skops"} <= set(meta["libraries"])


def test_training_data_hash_is_deterministic_and_seed_dependent():
    a = deploy.train_reference_bundle(seed=0)["metadata"]["training_data_sha256"]
    b = deploy.train_reference_bundle(seed=0)["metadata"]["training_data_sha256"]
    c = deploy.train_reference_bundle(seed=1)["metadata"]["training_data_sha256"]
    assert a == b != c


def test_save_and_load_round_trip(bundle, saved):
    assert sorted(p.name for p in saved.iterdir()) == ["metadata.json", "model.skops"]
    meta = json.loads((saved / "metadata.json").read_text())
    assert meta["model_sha256"] == deploy.sha256_bytes((saved / "model.skops").read_bytes())
    loaded = deploy.load_bundle(saved)
    X = deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL]
    np.testing.assert_array_equal(loaded["model"].predict(X), bundle["model"].predict(X))
    np.testing.assert_allclose(loaded["model"].predict_proba(X), bundle["model"].predict_proba(X))


def test_model_file_is_not_a_pickle(saved):
    assert (saved / "model.skops").read_bytes()[:2] == b"PK"  # skops: a zip of JSON and arrays


def test_load_refuses_a_flipped_bit(copy_of):
    path = copy_of()
    data = bytearray((path / "model.skops").read_bytes())
    data[len(data) // 3] ^= 0x04
    (path / "model.skops").write_bytes(bytes(data))
    with pytest.raises(deploy.BundleError, match="SHA-256"):
        deploy.load_bundle(path)


def test_load_refuses_the_model_of_another_bundle(copy_of, tmp_path):
    path = copy_of()
    other = deploy.save_bundle(deploy.train_reference_bundle(seed=4), tmp_path / "other")
    shutil.copy(other / "model.skops", path / "model.skops")
    with pytest.raises(deploy.BundleError, match="another bundle"):
        deploy.load_bundle(path)


def test_load_refuses_other_library_versions(copy_of):
    path = copy_of()
    meta = json.loads((path / "metadata.json").read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(deploy.BundleError, match="scikit-learn 0.24.2"):
        deploy.load_bundle(path)


def test_load_refuses_a_schema_that_does_not_fit_the_model(copy_of):
    path = copy_of()
    meta = json.loads((path / "metadata.json").read_text())
    meta["features"][0]["name"] = "beak_length"
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(deploy.BundleError, match="do not belong together"):
        deploy.load_bundle(path)


@pytest.mark.parametrize("damage", ["no model", "no metadata", "bad json", "not an object", "no hash"])
def test_load_refuses_incomplete_bundles(copy_of, damage):
    path = copy_of()
    if damage == "no model":
        (path / "model.skops").unlink()
    elif damage == "no metadata":
        (path / "metadata.json").unlink()
    elif damage == "bad json":
        (path / "metadata.json").write_text("{not json")
    elif damage == "not an object":
        (path / "metadata.json").write_text("[1, 2]")
    else:
        meta = json.loads((path / "metadata.json").read_text())
        del meta["model_sha256"]
        (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(deploy.BundleError):
        deploy.load_bundle(path)


def test_bundle_error_is_a_value_error():
    assert issubclass(deploy.BundleError, ValueError)


def test_verify_bundle_only_requires_matching_sklearn_and_numpy(saved):
    data = (saved / "model.skops").read_bytes()
    meta = json.loads((saved / "metadata.json").read_text())
    versions = dict(deploy.library_versions(), pandas="0.1", python="3.0.0")
    assert deploy.verify_bundle(data, meta, versions) is True
    with pytest.raises(deploy.BundleError, match="numpy"):
        deploy.verify_bundle(data, meta, dict(versions, numpy="1.0.0"))


# --------------------------------------------------------------------------- validation

@pytest.fixture(scope="module")
def features(bundle):
    return bundle["metadata"]["features"]


@pytest.fixture(scope="module")
def domain(bundle):
    return bundle["metadata"]["domain"]


@pytest.mark.parametrize("change, name", [
    ({"bill_length_mm": True}, "bill_length_mm"),
    ({"bill_length_mm": "39.1"}, "bill_length_mm"),
    ({"bill_length_mm": math.nan}, "bill_length_mm"),
    ({"body_mass_g": math.inf}, "body_mass_g"),
    ({"body_mass_g": -math.inf}, "body_mass_g"),
    ({"body_mass_g": [3750]}, "body_mass_g"),
    ({"body_mass_g": 10**400}, "body_mass_g"),
    ({"body_mass_g": -(10**309)}, "body_mass_g"),
    ({"sex": 1}, "sex"),
    ({"island": ["Biscoe"]}, "island"),
    ({"colour": "blue"}, "colour"),
])
def test_validate_instance_reports_one_named_error(features, change, name):
    errors = deploy.validate_instance(dict(GOOD, **change), features)
    assert len(errors) == 1 and errors[0].startswith(name)
    assert len(errors[0]) < 300  # a 400-digit number is not echoed whole


@pytest.mark.parametrize("change", [
    {"bill_length_mm": None}, {"sex": None}, {"island": "Atlantis"}, {"island": "biscoe"},
    {"flipper_length_mm": 181, "body_mass_g": 3750}, {"body_mass_g": 10**30},
])
def test_validate_instance_leaves_missing_and_unknown_values_to_the_pipeline(features, change):
    assert deploy.validate_instance(dict(GOOD, **change), features) == []
    assert deploy.validate_instance({}, features) == []


@pytest.mark.parametrize("value, ok", [
    (900.0, True), (8100, True), (899.999, False), (8100.001, False), (-5_000_000, False),
    (3.75, False), (1.7e308, False), (10**400, False),
])
def test_validate_instance_refuses_values_outside_the_training_range(features, domain, value, ok):
    assert domain["numeric"]["body_mass_g"]["min"] == 900.0
    assert domain["numeric"]["body_mass_g"]["max"] == 8100.0
    errors = deploy.validate_instance(dict(GOOD, body_mass_g=value), features, domain)
    assert errors == [] if ok else (len(errors) == 1 and "body_mass_g" in errors[0])
    if not ok and abs(value) < 1e300:
        assert "[900, 8100]" in errors[0]


def test_validate_instance_reports_every_problem(features):
    instance = {k: v for k, v in GOOD.items() if k not in ("sex", "island")}
    instance.update(bill_length_mm=math.nan, bill_depth_mm="18", sex=2, extra=1)
    errors = deploy.validate_instance(instance, features)
    assert len(errors) == 4
    assert deploy.validate_instance([1, 2], features) != []
    assert deploy.validate_instance("x", features) != []


# --------------------------------------------------------------------------- JSON decoding

@pytest.mark.parametrize("body, ctype, status", [
    (b'{"instances": []}', "application/json", 200),
    (b'{"a": 1}', "application/json; charset=utf-8", 200),
    (b'{"a": 1}', "Application/JSON", 200),
    (b'{"a": 1}', "text/plain", 415),
    (b'{"a": 1}', None, 415),
    (b"", "application/json", 400),
    (b"   ", "application/json", 400),
    (b"{oops", "application/json", 400),
    (b"[NaN]", "application/json", 400),
    (b"[Infinity]", "application/json", 400),
    (b"[-Infinity]", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    (b"[1" + b"0" * 5000 + b"]", "application/json", 400),
])
def test_parse_json_body(body, ctype, status):
    got, value = deploy.parse_json_body(body, ctype, max_bytes=len(body) + 1)
    assert got == status
    if status != 200:
        assert value["status"] == status and value["error"]


def test_parse_json_body_size_limit_is_inclusive():
    assert deploy.parse_json_body(b"1" * 10, "application/json", max_bytes=10)[0] == 200
    assert deploy.parse_json_body(b"1" * 11, "application/json", max_bytes=10)[0] == 413
    assert deploy.parse_json_body(b"x" * 11, "application/json", max_bytes=10)[0] == 413


# --------------------------------------------------------------------------- handler

@pytest.mark.parametrize("rows", [slice(0, 256), slice(256, None)])
def test_predict_payload_answers_like_the_model(bundle, rows):
    frame = deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL].iloc[rows]
    status, body = deploy.predict_payload({"instances": records(frame)}, bundle)
    assert status == 200
    assert body["predictions"] == bundle["model"].predict(frame).tolist()
    assert body["model_version"] == "penguins-1.0.0"
    assert all(math.isclose(sum(p.values()), 1.0) for p in body["probabilities"])
    json.dumps(body, allow_nan=False)


def test_predict_payload_serves_a_regressor_without_probabilities():
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]})
    model = LinearRegression().fit(X, [1.0, 2.0, 3.0])
    fake = {"model": model, "metadata": {"model_version": "lin-1",
                                         "features": deploy.schema_from_frame(X)}}
    status, body = deploy.predict_payload({"instances": [{"a": 3.0, "b": 1}]}, fake)
    assert status == 200 and "probabilities" not in body
    assert math.isclose(body["predictions"][0], model.predict(pd.DataFrame({"a": [3.0], "b": [1.0]}))[0])
    assert type(body["predictions"][0]) is float


@pytest.mark.parametrize("payload, status", [
    ([GOOD], 400), ({"rows": [GOOD]}, 400), ({"instances": GOOD}, 400), ({"instances": []}, 400),
    ({"instances": [GOOD], "x": 1}, 400), ("text", 400), (None, 400),
    ({"instances": [GOOD] * 5}, 413), ({"instances": [GOOD] * 4}, 200),
    ({"instances": [GOOD, dict(GOOD, sex=0)]}, 422), ({"instances": [GOOD, 3]}, 422),
    ({"instances": [GOOD, dict(GOOD, body_mass_g=3.75)]}, 422),
    ({"instances": [GOOD, dict(GOOD, sex="M")]}, 200),
])
def test_predict_payload_statuses(bundle, payload, status):
    got, body = deploy.predict_payload(payload, bundle, max_batch=4)
    assert got == status
    if status == 422:
        assert "instance 1" in body["error"]


# --------------------------------------------------------------------------- ONNX runtime

@pytest.fixture(scope="module")
def served(bundle):
    """The reference bundle with its serving runtime, as ``serve`` builds it (no cache)."""
    from lifecycle.deploy.runtime import serving_bundle

    return serving_bundle(bundle)


def test_serving_bundle_compiles_the_reference_pipeline_to_onnx(served):
    assert served["runtime"]["engine"] == "onnxruntime", served["runtime"]["note"]
    assert "512 reference rows" in served["runtime"]["note"]


@pytest.mark.parametrize("rows", [slice(0, 256), slice(256, None)])
def test_onnx_answers_like_scikit_learn_with_missing_and_unknown_values(bundle, served, rows):
    frame = deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL].iloc[rows].copy()
    frame.iloc[::7, 4] = "Atlantis"  # an island never seen in training
    frame.iloc[::5, 1] = np.nan
    instances = records(frame)
    status, body = deploy.predict_payload({"instances": instances}, served)
    _, reference = deploy.predict_payload({"instances": instances}, bundle)
    assert status == 200 and body["predictions"] == reference["predictions"]
    got = np.array([list(p.values()) for p in body["probabilities"]])
    expected = np.array([list(p.values()) for p in reference["probabilities"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    json.dumps(body, allow_nan=False)


def test_onnx_hands_numbers_beyond_float32_to_scikit_learn(bundle, served):
    unbounded = dict(served, metadata=dict(served["metadata"], domain={"numeric": {}, "categories": {}}))
    instance = dict(GOOD, body_mass_g=1e300)
    assert served["predictor"].predict_proba([instance]) is None
    status, body = deploy.predict_payload({"instances": [instance]}, unbounded)
    reference = deploy.predict_payload({"instances": [instance]}, dict(bundle, metadata=unbounded["metadata"]))
    assert status == 200 and body == reference[1]


def test_serving_bundle_falls_back_to_scikit_learn_and_says_why(bundle):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from lifecycle.deploy.runtime import serving_bundle

    X = deploy.penguins_frame()[deploy.NUMERIC].fillna(0)
    y = deploy.penguins_frame()["species"]
    model = make_pipeline(FunctionTransformer(np.log1p), bundle["model"].named_steps["model"].__class__(
        max_iter=1000)).fit(X, y)
    odd = {"model": model, "metadata": {"model_version": "odd-1", "features": deploy.schema_from_frame(X),
                                        "domain": deploy.domain_from_frame(X)}}
    served = serving_bundle(odd)
    assert served["runtime"]["engine"] == "scikit-learn" and served["predictor"] is None
    assert "served by scikit-learn" in served["runtime"]["note"]
    numbers = {name: GOOD[name] for name in deploy.NUMERIC}
    assert deploy.predict_payload({"instances": [numbers]}, served)[0] == 200
    no_proba = serving_bundle({"model": model.steps[0][1], "metadata": odd["metadata"]})
    assert "no predict_proba" in no_proba["runtime"]["note"]


def test_serving_bundle_caches_the_graph_and_checks_it_again(bundle, saved, tmp_path):
    from lifecycle.deploy.runtime import serving_bundle

    loaded = deploy.load_bundle(saved)
    first = serving_bundle(loaded, cache_dir=tmp_path, isolate=True)  # as gunicorn's master does
    (graph,) = tmp_path.glob("*.onnx")
    assert first["runtime"]["engine"] == "onnxruntime", first["runtime"]["note"]
    assert serving_bundle(loaded, cache_dir=tmp_path)["predictor"].onnx_bytes == graph.read_bytes()
    graph.write_bytes(b"not a graph")
    broken = serving_bundle(loaded, cache_dir=tmp_path)
    assert broken["runtime"]["engine"] == "scikit-learn" and "check failed" in broken["runtime"]["note"]


def test_a_fresh_save_of_the_same_model_finds_its_graph_in_the_cache(saved, copy_of, tmp_path):
    """skops writes one model to other bytes at each save (zip times, ids): the cache looks past them."""
    import io
    import zipfile

    from lifecycle.deploy.runtime import serving_bundle

    resaved = copy_of()
    rewritten = io.BytesIO()
    with zipfile.ZipFile(saved / "model.skops") as original, zipfile.ZipFile(rewritten, "w") as out:
        for entry in original.infolist():
            data = original.read(entry)
            entry.date_time = (2001, 2, 3, 4, 5, 6)
            out.writestr(entry, data)
    (resaved / "model.skops").write_bytes(rewritten.getvalue())
    metadata = json.loads((resaved / "metadata.json").read_text())
    metadata["model_sha256"] = deploy.sha256_bytes(rewritten.getvalue())
    (resaved / "metadata.json").write_text(json.dumps(metadata))
    assert metadata["model_sha256"] != json.loads((saved / "metadata.json").read_text())["model_sha256"]
    for path in (saved, resaved):
        served = serving_bundle(deploy.load_bundle(path), cache_dir=tmp_path / "cache")
        assert served["runtime"]["engine"] == "onnxruntime", served["runtime"]["note"]
    assert len(list((tmp_path / "cache").glob("*.onnx"))) == 1


def test_makers_of_a_cached_file_take_turns(tmp_path):
    """Two services of one model started at once: the second waits for the first's graph."""
    import threading

    from lifecycle import cache

    events = []

    def second():
        with cache.locked(tmp_path / "onnx"):
            events.append("second")

    with cache.locked(tmp_path / "onnx"):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.3)  # long enough for an unlocked second to run first
        events.append("first")
    thread.join()
    assert events == ["first", "second"]
    (tmp_path / "a-file").write_text("")
    with cache.locked(tmp_path / "a-file" / "onnx"):  # a folder that cannot be made: unlocked
        events.append("unlocked")
    assert events[-1] == "unlocked"


def test_health_reports_the_runtime_only_when_served(bundle, served):
    plain = deploy.create_app(bundle).test_client().get("/health").get_json()
    assert plain == {"status": "ok", "model_version": "penguins-1.0.0"}
    assert deploy.create_app(served).test_client().get("/health").get_json()["runtime"] == served["runtime"]


# --------------------------------------------------------------------------- log and latency

def test_log_records_follow_the_shared_format(bundle):
    instances = [GOOD, dict(GOOD, island="Biscoe")]
    _, body = deploy.predict_payload({"instances": instances}, bundle)
    records = deploy.log_records("abc", instances, body, 3.14159)
    assert [list(r) for r in records] == [list(deploy.LOG_FIELDS)] * 2
    assert [r["instance"] for r in records] == [0, 1]
    assert records[1]["inputs"] == instances[1] and records[1]["inputs"] is not instances[1]
    assert records[0]["latency_ms"] == 3.142 and records[0]["request_id"] == "abc"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", records[0]["time"])
    no_proba = deploy.log_records("r", [GOOD], {"predictions": [1.5], "model_version": "v"}, 1.0)
    assert no_proba[0]["probabilities"] is None


def test_summarize_latency_matches_numpy():
    rng = np.random.default_rng(1)
    lat = rng.gamma(3.0, 0.004, 500)
    s = deploy.summarize_latency(lat, 2.0)
    np.testing.assert_allclose([s["p50_ms"], s["p95_ms"], s["p99_ms"]],
                               np.percentile(lat * 1000, [50, 95, 99]))
    assert s["n"] == 500 and s["throughput_rps"] == 250.0
    assert math.isclose(s["mean_ms"], lat.mean() * 1000)
    for bad in (([], 1.0), ([0.1], 0.0)):
        with pytest.raises(ValueError):
            deploy.summarize_latency(*bad)


def test_plots_are_labelled(saved):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for ax in (deploy.plot_latency({"a": [1.0, 2.0, 5.0], "b": [3.0, 4.0]}),
               deploy.plot_status_codes({"x": [500, 422], "y": [422, 400]}, ["one", "two"]),
               deploy.plot_avalanche((saved / "model.skops").read_bytes(), n_flips=20)):
        assert ax.get_title() and ax.get_xlabel()
    plt.close("all")


def test_free_port_is_bindable():
    import socket

    port = deploy.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


# --------------------------------------------------------------------------- command line

def test_cli_train_writes_a_loadable_bundle(tmp_path, capsys):
    assert deploy.main(["train", "--out", str(tmp_path / "b"), "--version", "penguins-9.9.9"]) == 0
    assert "penguins-9.9.9" in capsys.readouterr().out
    assert deploy.load_bundle(tmp_path / "b")["metadata"]["model_version"] == "penguins-9.9.9"


def test_cli_serve_refuses_a_tampered_bundle_before_binding(copy_of, capsys):
    path = copy_of()
    (path / "model.skops").write_bytes((path / "model.skops").read_bytes() + b"\0")
    assert deploy.main(["serve", "--model", str(path), "--port", "1"]) == 2
    assert "refusing to serve" in capsys.readouterr().err


def test_cli_serve_without_nginx_fails_closed_and_says_how_to_install_it(saved, monkeypatch, capsys):
    import lifecycle.deploy.proxy as proxy

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(proxy, "NGINX_PLACES", ())
    assert deploy.main(["serve", "--model", str(saved), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "nginx is not installed" in err and "apt-get install nginx-light" in err
    assert "--no-proxy" in err


def test_the_supervisor_imports_neither_pandas_nor_scikit_learn():
    """``serve``'s supervisor only verifies the bundle and starts nginx and gunicorn.

    Each library it imports delays the gunicorn master it starts (over a second for
    pandas and scikit-learn); the master imports them itself, to load the model.
    """
    import subprocess
    import sys

    check = ("import sys\nimport lifecycle.deploy.cli\n"
             "print(sorted({'pandas', 'sklearn', 'scipy', 'skops', 'flask'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]


def test_plan_capacity_rule():
    assert deploy.plan_capacity(10.0, 10.0, 2) == (2, 1)
    assert deploy.plan_capacity(10.0, 15.0, 4) == (4, 2)
    assert deploy.plan_capacity(4.0, 20.0, 1) == (1, 5)
    for bad in [(0.0, 1.0, 2), (5.0, 4.0, 2), (1.0, 2.0, 0), (1.0, math.inf, 2), (1.0, 2.0, 1.5)]:
        with pytest.raises(ValueError):
            deploy.plan_capacity(*bad)


def test_nginx_config_matches_the_application_limits(tmp_path):
    text = deploy.nginx_config(host="127.0.0.1", port=8123, upstream_socket=tmp_path / "s.sock",
                               workdir=tmp_path, max_body_bytes=deploy.MAX_BODY_BYTES)
    assert f"client_max_body_size {deploy.MAX_BODY_BYTES};" in text
    assert "listen 127.0.0.1:8123" in text and f"unix:{tmp_path / 's.sock'}" in text
    for directive in ("client_header_timeout", "client_body_timeout", "keepalive_timeout",
                      "proxy_request_buffering on", "worker_connections"):
        assert directive in text
    pages = deploy.error_pages(deploy.MAX_BODY_BYTES)
    assert set(pages) >= {400, 405, 408, 413, 414, 494, 502}
    assert all(f"error_page {code} /errors/{code}.json;" in text for code in pages)
    assert all(json.loads(body)["status"] == (400 if code == 494 else code)
               for code, body in pages.items())
    assert str(deploy.MAX_BODY_BYTES) in json.loads(pages[413])["error"]

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

def test_penguins_frame_is_complete_and_tidy():
    frame = deploy.penguins_frame()
    assert frame.shape == (333, 7)
    assert not frame.isna().any().any()
    assert set(frame["species"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert set(frame["sex"]) == {"female", "male"}
    assert list(frame.columns) == deploy.NUMERIC + deploy.CATEGORICAL + ["species"]


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


@pytest.mark.parametrize("change, name", [
    ({"bill_length_mm": True}, "bill_length_mm"),
    ({"bill_length_mm": "39.1"}, "bill_length_mm"),
    ({"bill_length_mm": None}, "bill_length_mm"),
    ({"bill_length_mm": math.nan}, "bill_length_mm"),
    ({"body_mass_g": math.inf}, "body_mass_g"),
    ({"body_mass_g": -math.inf}, "body_mass_g"),
    ({"body_mass_g": [3750]}, "body_mass_g"),
    ({"island": "Atlantis"}, "island"),
    ({"island": "biscoe"}, "island"),
    ({"sex": 1}, "sex"),
    ({"sex": None}, "sex"),
    ({"colour": "blue"}, "colour"),
])
def test_validate_instance_reports_one_named_error(features, change, name):
    errors = deploy.validate_instance(dict(GOOD, **change), features)
    assert len(errors) == 1 and errors[0].startswith(name)


def test_validate_instance_accepts_valid_and_integer_values(features):
    assert deploy.validate_instance(GOOD, features) == []
    assert deploy.validate_instance(dict(GOOD, flipper_length_mm=181, body_mass_g=3750), features) == []


def test_validate_instance_reports_every_problem(features):
    instance = {k: v for k, v in GOOD.items() if k not in ("sex", "island")}
    instance.update(bill_length_mm=math.nan, extra=1)
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
])
def test_parse_json_body(body, ctype, status):
    got, value = deploy.parse_json_body(body, ctype, max_bytes=1000)
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
    rows = deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL].iloc[rows].to_dict("records")
    status, body = deploy.predict_payload({"instances": rows}, bundle)
    assert status == 200
    assert body["predictions"] == bundle["model"].predict(pd.DataFrame(rows)).tolist()
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
    ({"instances": [GOOD, dict(GOOD, sex="M")]}, 422), ({"instances": [GOOD, 3]}, 422),
])
def test_predict_payload_statuses(bundle, payload, status):
    got, body = deploy.predict_payload(payload, bundle, max_batch=4)
    assert got == status
    if status == 422:
        assert "instance 1" in body["error"]


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

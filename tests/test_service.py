"""The deployment service: Flask's test client, then a real gunicorn server on loopback.

Every bad-request category of the contract must get a 4xx with a JSON ``{"error": ...}``
body, never a 5xx; a bounded concurrent load must complete with zero errors; the
server the tests start is always stopped.
"""
from __future__ import annotations

import json
import random
import socket
import threading

import pandas as pd
import pytest
import requests

from lifecycle import deploy

GOOD = {"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
        "body_mass_g": 3750.0, "island": "Torgersen", "sex": "male"}
WITHOUT_SEX = {k: v for k, v in GOOD.items() if k != "sex"}
JSON = "application/json"

#: (category, request spec for deploy.send_request, expected status)
BAD_REQUESTS = [
    ("not JSON: text/plain", {"data": "bill_length_mm=39.1", "content_type": "text/plain"}, 415),
    ("not JSON: no content type", {"data": '{"instances": []}'}, 415),
    ("not JSON: malformed", {"data": '{"instances": [', "content_type": JSON}, 400),
    ("not JSON: not UTF-8", {"data": b"\xff\xfe\xfd", "content_type": JSON}, 400),
    ("not JSON: empty body", {"data": "", "content_type": JSON}, 400),
    ("NaN token", {"data": '{"instances": [{"bill_length_mm": NaN}]}', "content_type": JSON}, 400),
    ("Infinity token", {"data": '{"instances": [{"body_mass_g": Infinity}]}', "content_type": JSON}, 400),
    ("overflow to infinity", {"data": json.dumps({"instances": [GOOD]}).replace("3750.0", "1e999"),
                              "content_type": JSON}, 422),
    ("wrong shape: a list", {"json": [GOOD]}, 400),
    ("wrong shape: a number", {"json": 3}, 400),
    ("wrong shape: no instances", {"json": {"rows": [GOOD]}}, 400),
    ("wrong shape: instances is an object", {"json": {"instances": GOOD}}, 400),
    ("wrong shape: extra top-level key", {"json": {"instances": [GOOD], "debug": True}}, 400),
    ("wrong shape: instance is a list", {"json": {"instances": [list(GOOD.values())]}}, 422),
    ("missing feature", {"json": {"instances": [WITHOUT_SEX]}}, 422),
    ("extra feature", {"json": {"instances": [dict(GOOD, beak="orange")]}}, 422),
    ("wrong type: number as string", {"json": {"instances": [dict(GOOD, body_mass_g="3750")]}}, 422),
    ("wrong type: boolean", {"json": {"instances": [dict(GOOD, body_mass_g=True)]}}, 422),
    ("wrong type: category as number", {"json": {"instances": [dict(GOOD, island=2)]}}, 422),
    ("null", {"json": {"instances": [dict(GOOD, sex=None)]}}, 422),
    ("unknown category", {"json": {"instances": [dict(GOOD, island="Atlantis")]}}, 422),
    ("unknown category: wrong case", {"json": {"instances": [dict(GOOD, sex="Male")]}}, 422),
    ("one bad instance in a batch", {"json": {"instances": [GOOD, GOOD, dict(GOOD, sex="M")]}}, 422),
    ("empty batch", {"json": {"instances": []}}, 400),
    ("oversized batch", {"json": {"instances": [GOOD] * (deploy.MAX_BATCH + 1)}}, 413),
    ("oversized body", {"data": "[" + "1," * deploy.MAX_BODY_BYTES + "1]", "content_type": JSON}, 413),
    ("wrong method: GET /predict", {"method": "GET"}, 405),
    ("wrong method: PUT /predict", {"method": "PUT", "json": {"instances": [GOOD]}}, 405),
    ("wrong method: POST /health", {"method": "POST", "path": "/health", "json": {}}, 405),
    ("wrong method: DELETE /metadata", {"method": "DELETE", "path": "/metadata"}, 405),
    ("unknown route", {"method": "GET", "path": "/predictions"}, 404),
    ("unknown route: POST", {"path": "/v2/predict", "json": {"instances": [GOOD]}}, 404),
]


@pytest.fixture
def app_and_log(bundle, tmp_path):
    log = tmp_path / "predictions.jsonl"
    return deploy.create_app(bundle, log_path=log), log


@pytest.fixture
def client(app_and_log):
    return app_and_log[0].test_client()


def _assert_json_error(status, content_type, body, expected):
    assert status == expected, body
    assert content_type.startswith("application/json")
    payload = json.loads(body)
    assert isinstance(payload["error"], str) and len(payload["error"]) > 10


# --------------------------------------------------------------------------- test client

def test_health(client, bundle):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model_version": "penguins-1.0.0"}


def test_metadata_follows_the_contract(client, bundle):
    meta = client.get("/metadata").get_json()
    assert meta["model_version"] == "penguins-1.0.0"
    assert meta["features"] == bundle["metadata"]["features"]
    for feature in meta["features"]:
        assert set(feature) == ({"name", "type"} if feature["type"] == "number"
                                else {"name", "type", "values"})
        assert feature["type"] in ("number", "category")
    types = {f["name"]: f["type"] for f in meta["features"]}
    assert types == {**dict.fromkeys(deploy.NUMERIC, "number"), **dict.fromkeys(deploy.CATEGORICAL, "category")}


def test_predict_one_and_many(client, bundle):
    rows = deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL].iloc[::50].to_dict("records")
    for instances in ([GOOD], rows):
        response = client.post("/predict", json={"instances": instances})
        assert response.status_code == 200
        body = response.get_json()
        assert body["predictions"] == bundle["model"].predict(pd.DataFrame(instances)).tolist()
        assert body["model_version"] == "penguins-1.0.0"


@pytest.mark.parametrize("category, spec, status", BAD_REQUESTS, ids=[c for c, _, _ in BAD_REQUESTS])
def test_bad_request_gets_a_json_4xx(client, category, spec, status):
    response = deploy.send_request(client, spec)
    _assert_json_error(response.status_code, response.content_type, response.get_data(), status)


def test_405_says_which_methods_are_allowed(client):
    assert "POST" in client.get("/predict").headers["Allow"]


def test_bad_requests_are_not_logged_and_good_ones_are(app_and_log):
    app, log = app_and_log
    client = app.test_client()
    for _, spec, _ in BAD_REQUESTS:
        deploy.send_request(client, spec)
    assert not log.exists() or log.read_text() == ""
    response = client.post("/predict", json={"instances": [GOOD, dict(GOOD, island="Dream")]})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2
    assert [list(line) for line in lines] == [list(deploy.LOG_FIELDS)] * 2
    assert {line["request_id"] for line in lines} == {response.headers["X-Request-ID"]}
    assert [line["prediction"] for line in lines] == response.get_json()["predictions"]
    assert lines[1]["inputs"] == dict(GOOD, island="Dream")
    assert lines[0]["time"].endswith("Z") and lines[0]["latency_ms"] > 0


def _random_json(rng: random.Random, depth: int = 0):
    leaves = [None, True, False, 0, -1, 3.5, 1e308, "", "male", "Torgersen", "x" * 50,
              "bill_length_mm", "instances"]
    kind = rng.random()
    if depth > 3 or kind < 0.4:
        return rng.choice(leaves)
    if kind < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = list(GOOD) + ["instances", "extra", ""]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 7))}


def test_random_payloads_never_cause_a_5xx(client):
    rng = random.Random(0)
    for _ in range(300):
        payload = _random_json(rng)
        if rng.random() < 0.5:
            payload = {"instances": payload if isinstance(payload, list) else [payload]}
        response = client.post("/predict", json=payload)
        assert response.status_code < 500, (payload, response.get_data())
        assert response.is_json


def test_random_mutations_of_a_valid_instance_never_cause_a_5xx(client):
    rng = random.Random(1)
    values = [None, True, "", "39.1", -0.0, 1e308, -1e308, 10**30, [], {}, "Biscoe", "female"]
    for _ in range(300):
        instance = dict(GOOD)
        for _ in range(rng.randint(1, 3)):
            instance[rng.choice(list(GOOD) + ["extra"])] = rng.choice(values)
        response = client.post("/predict", json={"instances": [instance]})
        assert response.status_code in (200, 422), (instance, response.get_data())


# --------------------------------------------------------------------------- real gunicorn server

@pytest.fixture(scope="module")
def service(saved):
    with deploy.running_service(saved, workers=2) as running:
        yield running
    assert running.process.poll() is not None, "the server should be stopped"


def test_gunicorn_serves_the_contract(service, bundle):
    assert requests.get(service.url + "/health", timeout=5).json()["status"] == "ok"
    meta = requests.get(service.url + "/metadata", timeout=5).json()
    assert meta["features"] == bundle["metadata"]["features"]
    reply = requests.post(service.url + "/predict", json={"instances": [GOOD]}, timeout=5)
    assert reply.status_code == 200
    assert reply.json()["predictions"] == ["Adelie"] and reply.json()["model_version"] == "penguins-1.0.0"
    assert "gunicorn" in reply.headers.get("Server", "")


@pytest.mark.parametrize("category, spec, status", BAD_REQUESTS, ids=[c for c, _, _ in BAD_REQUESTS])
def test_gunicorn_answers_bad_requests_with_json_4xx(service, category, spec, status):
    kwargs = {}
    if "json" in spec:
        kwargs["json"] = spec["json"]
    elif "data" in spec:
        data = spec["data"]
        kwargs["data"] = data.encode() if isinstance(data, str) else data
        if spec.get("content_type"):
            kwargs["headers"] = {"Content-Type": spec["content_type"]}
    reply = requests.request(spec.get("method", "POST"), service.url + spec.get("path", "/predict"),
                             timeout=10, **kwargs)
    _assert_json_error(reply.status_code, reply.headers.get("Content-Type", ""), reply.content, status)


def test_gunicorn_refuses_a_lying_content_length(service):
    """A client that announces a huge body gets 413 before anything is read."""
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 99999999\r\nConnection: close\r\n\r\n{}")
        head = s.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head


def test_gunicorn_bounded_concurrent_load_has_zero_errors(service):
    good = json.dumps({"instances": [GOOD, dict(GOOD, island="Biscoe", bill_depth_mm=14.0)]})
    big = json.dumps({"instances": [dict(GOOD, body_mass_g=3000.0 + k) for k in range(200)]})
    bad = json.dumps({"instances": [dict(GOOD, sex="M")]})
    sizes = {good: 2, big: 200, bad: 0}
    before = len(service.log_path.read_text().splitlines()) if service.log_path.exists() else 0
    results, lock = [], threading.Lock()

    def worker(k):
        with requests.Session() as session:
            for i in range(25):
                body = bad if (i + k) % 5 == 0 else big if (i + k) % 12 == 1 else good
                try:
                    reply = session.post(service.url + "/predict", data=body, timeout=20,
                                         headers={"Content-Type": "application/json"})
                    outcome = (body, reply.status_code, reply.json())
                except requests.RequestException as error:  # a failure of the service
                    outcome = (body, 0, str(error))
                with lock:
                    results.append(outcome)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 200
    assert [r for r in results if r[1] == 0 or r[1] >= 500] == []
    assert all(status == (422 if body is bad else 200) for body, status, _ in results)
    lines = service.log_path.read_text().splitlines()[before:]
    assert len(lines) == sum(sizes[body] for body, _, _ in results)  # one line per instance
    assert all(set(json.loads(line)) == set(deploy.LOG_FIELDS) for line in lines)  # none torn


def test_running_service_stops_the_server_and_frees_the_port(saved):
    with deploy.running_service(saved, workers=1) as running:
        port = int(running.url.rsplit(":", 1)[1])
        assert requests.get(running.url + "/health", timeout=5).status_code == 200
    assert running.process.poll() is not None
    with socket.socket() as s:  # nobody listens any more (TIME_WAIT connections may remain)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def test_running_service_reports_a_refused_bundle(saved, tmp_path):
    import shutil

    tampered = shutil.copytree(saved, tmp_path / "tampered")
    data = bytearray((tampered / "model.skops").read_bytes())
    data[100] ^= 0xFF
    (tampered / "model.skops").write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="SHA-256"):
        with deploy.running_service(tampered, startup_timeout=20):
            pass  # pragma: no cover - must not start


def test_lesson_06_reads_the_prediction_log(app_and_log):
    """One definition of the log's fields: lifecycle.monitoring reads what the service writes."""
    monitoring = pytest.importorskip("lifecycle.monitoring")
    assert monitoring.LOG_FIELDS is deploy.LOG_FIELDS
    app, log = app_and_log
    client = app.test_client()
    client.post("/predict", json={"instances": [GOOD, dict(GOOD, island="Biscoe", bill_depth_mm=14.0,
                                                           flipper_length_mm=215.0, body_mass_g=5400.0)]})
    client.post("/predict", json={"instances": [dict(GOOD, sex="female")]})
    table = monitoring.read_prediction_log(log)
    assert len(table) == 3
    assert {"bill_length_mm", "island", "proba_Adelie", "proba_Gentoo", "latency_ms"} <= set(table.columns)
    assert list(table["prediction"]) == ["Adelie", "Gentoo", "Adelie"]
    assert str(table["time"].dt.tz) == "UTC"

"""The deployment service: Flask's test client, then the real stack (nginx + gunicorn) on loopback.

Every bad-request category of the contract must get a 4xx with a JSON ``{"error": ...}``
body, never a 5xx; a bounded concurrent load must complete with zero errors; slow and
idle clients must not stop ``/health`` from answering; schemathesis finds no 5xx and no
answer outside the OpenAPI document; the servers the tests start are always stopped.
"""
from __future__ import annotations

import contextlib
import json
import random
import socket
import sys
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
    ("overflow: 1e400", {"data": json.dumps({"instances": [GOOD]}).replace("3750.0", "1e400"),
                         "content_type": JSON}, 422),
    ("overflow: a 400-digit integer", {"data": json.dumps({"instances": [GOOD]}).replace(
        "3750.0", "9" * 400), "content_type": JSON}, 422),
    ("overflow: a 5000-digit integer", {"data": json.dumps({"instances": [GOOD]}).replace(
        "3750.0", "9" * 5000), "content_type": JSON}, 400),
    ("deeply nested JSON", {"data": "[" * 50_000 + "]" * 50_000, "content_type": JSON}, 400),
    ("deeply nested value", {"data": json.dumps({"instances": [GOOD]}).replace(
        '"male"', "[" * 900 + "]" * 900), "content_type": JSON}, 422),
    ("out of range: grams as kilograms", {"json": {"instances": [dict(GOOD, body_mass_g=3.75)]}}, 422),
    ("out of range: negative", {"json": {"instances": [dict(GOOD, body_mass_g=-5_000_000)]}}, 422),
    ("out of range: 1.7e308", {"json": {"instances": [dict(GOOD, flipper_length_mm=1.7e308)]}}, 422),
    ("wrong shape: a list", {"json": [GOOD]}, 400),
    ("wrong shape: a number", {"json": 3}, 400),
    ("wrong shape: no instances", {"json": {"rows": [GOOD]}}, 400),
    ("wrong shape: instances is an object", {"json": {"instances": GOOD}}, 400),
    ("wrong shape: extra top-level key", {"json": {"instances": [GOOD], "debug": True}}, 400),
    ("wrong shape: instance is a list", {"json": {"instances": [list(GOOD.values())]}}, 422),
    ("extra feature", {"json": {"instances": [dict(GOOD, beak="orange")]}}, 422),
    ("wrong type: number as string", {"json": {"instances": [dict(GOOD, body_mass_g="3750")]}}, 422),
    ("wrong type: boolean", {"json": {"instances": [dict(GOOD, body_mass_g=True)]}}, 422),
    ("wrong type: category as number", {"json": {"instances": [dict(GOOD, island=2)]}}, 422),
    ("wrong type: category as list", {"json": {"instances": [dict(GOOD, sex=["male"])]}}, 422),
    ("one bad instance in a batch", {"json": {"instances": [GOOD, GOOD, dict(GOOD, sex=1)]}}, 422),
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


#: Requests the pipeline answers although they are incomplete: what lesson 01 promises.
IMPUTED = [WITHOUT_SEX, dict(GOOD, sex=None), dict(GOOD, island="Atlantis"), {"bill_length_mm": 39.1}]


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
    frame = deploy.penguins_frame()[deploy.NUMERIC + deploy.CATEGORICAL]
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")  # with nulls
    for instances, expected in (([GOOD], pd.DataFrame([GOOD])), (rows, frame)):
        response = client.post("/predict", json={"instances": instances[:256]})
        assert response.status_code == 200
        body = response.get_json()
        assert body["predictions"] == bundle["model"].predict(expected.iloc[:256]).tolist()
        assert body["model_version"] == "penguins-1.0.0"


@pytest.mark.parametrize("category, spec, status", BAD_REQUESTS, ids=[c for c, _, _ in BAD_REQUESTS])
def test_bad_request_gets_a_json_4xx(client, category, spec, status):
    response = deploy.send_request(client, spec)
    _assert_json_error(response.status_code, response.content_type, response.get_data(), status)


def test_missing_values_are_imputed_and_unknown_categories_encoded(client):
    response = client.post("/predict", json={"instances": IMPUTED})
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["predictions"]) == len(IMPUTED)


def test_out_of_range_error_states_the_range(client, bundle):
    limits = bundle["metadata"]["domain"]["numeric"]["body_mass_g"]
    error = client.post("/predict", json={"instances": [dict(GOOD, body_mass_g=3.75)]}).get_json()
    assert f"[{limits['min']:g}, {limits['max']:g}]" in error["error"]


def test_openapi_document_describes_the_bundle(client, bundle):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/health", "/metadata", "/openapi.json", "/predict"}
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"][JSON]["schema"]
    instance = body["properties"]["instances"]["items"]
    assert list(instance["properties"]) == [f["name"] for f in bundle["metadata"]["features"]]
    mass = instance["properties"]["body_mass_g"]
    assert (mass["minimum"], mass["maximum"]) == (900.0, 8100.0)
    assert body["properties"]["instances"]["maxItems"] == deploy.MAX_BATCH


def test_405_says_which_methods_are_allowed(client):
    assert "POST" in client.get("/predict").headers["Allow"]


def test_bad_requests_are_not_logged_and_good_ones_are(app_and_log):
    app, log = app_and_log
    client = app.test_client()
    for _, spec, _ in BAD_REQUESTS:
        deploy.send_request(client, spec)
    assert not log.exists() or log.read_text() == ""
    response = client.post("/predict", json={"instances": [GOOD, dict(GOOD, island="Dream")]})
    assert response.status_code == 200
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


# --------------------------------------------------------------------------- the real stack

@pytest.fixture(scope="module")
def service(saved):
    with deploy.running_service(saved, workers=2) as running:
        yield running
    assert running.process.poll() is not None, "the server should be stopped"


def _address(service):
    host, port = service.url.removeprefix("http://").split(":")
    return host, int(port)


def test_the_stack_is_nginx_in_front_of_gunicorn(service):
    reply = requests.get(service.url + "/health", timeout=5)
    assert reply.headers.get("Server") == "nginx"  # nginx answers the client ...
    assert reply.headers.get("X-Request-ID")       # ... with what the Flask app produced


def test_gunicorn_serves_the_contract(service, bundle):
    assert requests.get(service.url + "/health", timeout=5).json()["status"] == "ok"
    meta = requests.get(service.url + "/metadata", timeout=5).json()
    assert meta["features"] == bundle["metadata"]["features"]
    reply = requests.post(service.url + "/predict", json={"instances": [GOOD]}, timeout=5)
    assert reply.status_code == 200
    assert reply.json()["predictions"] == ["Adelie"] and reply.json()["model_version"] == "penguins-1.0.0"
    assert requests.get(service.url + "/openapi.json", timeout=5).json()["openapi"] == "3.1.0"


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
    with socket.create_connection(_address(service), timeout=5) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 99999999\r\nConnection: close\r\n\r\n{}")
        head = s.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head


def _chunked(size: int):
    body = ("[" + "1," * (size // 2) + "1]").encode()
    for i in range(0, len(body), 8192):
        yield body[i:i + 8192]


@pytest.mark.parametrize("size, status", [(deploy.MAX_BODY_BYTES + 10, 413), (2_000_000, 413),
                                          (1000, 422)])
def test_a_chunked_body_over_the_limit_gets_413_like_a_sized_one(service, size, status):
    reply = requests.post(service.url + "/predict", data=_chunked(size), timeout=30,
                          headers={"Content-Type": JSON})  # a generator: Transfer-Encoding: chunked
    assert reply.status_code in ((400, 422) if status == 422 else (status,)), reply.text
    assert reply.headers["Content-Type"].startswith(JSON) and reply.json()["error"]


@pytest.mark.parametrize("raw", [
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
])
def test_malformed_http_gets_a_json_4xx(service, raw):
    with socket.create_connection(_address(service), timeout=10) as s:
        s.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert 400 <= status < 500, head
    assert json.loads(body)["status"] == status


def test_health_answers_while_slow_and_idle_clients_hold_connections(service):
    """8 slowloris clients (a header byte every 0.2 s) and 200 idle connections, held open."""
    address, stop = _address(service), threading.Event()
    idle = [socket.create_connection(address, timeout=10) for _ in range(200)]

    def slowloris():
        with socket.create_connection(address, timeout=10) as s:
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            while not stop.wait(0.2):
                try:
                    s.sendall(b"X")
                except OSError:  # nginx timed the client out: what it is there for
                    return

    attackers = [threading.Thread(target=slowloris) for _ in range(8)]
    try:
        for t in attackers:
            t.start()
        answers = [requests.get(service.url + "/health", timeout=30).status_code for _ in range(5)]
        reply = requests.post(service.url + "/predict", json={"instances": [GOOD]}, timeout=30)
    finally:
        stop.set()
        for t in attackers:
            t.join(30)
        for s in idle:
            s.close()
    assert answers == [200] * 5 and reply.status_code == 200


def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_document(service):
    """Fuzz the running stack from its own OpenAPI document, schema-violating data included."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.config._checks import NegativeDataRejectionConfig
    from schemathesis.specs.openapi import checks as openapi_checks

    schema = schemathesis.openapi.from_url(service.url + "/openapi.json")
    # A batch over maxItems is refused with 413 (too much work), as the document says.
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[400, 404, 405, 413, 415, 422])
    checks = [not_a_server_error, openapi_checks.response_schema_conformance,
              openapi_checks.status_code_conformance, openapi_checks.content_type_conformance,
              openapi_checks.negative_data_rejection]
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in schemathesis.GenerationMode:
            if mode is schemathesis.GenerationMode.NEGATIVE and operation.method.upper() == "GET":
                continue  # nothing to violate: no parameters, no body
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case):
                response = case.call(timeout=10)
                try:
                    case.validate_response(response, checks=checks)
                except AssertionError as error:  # hypothesis shrinks; keep the first message
                    failures.append(f"{case.operation.label}: {error}"[:2000])
                    raise

            with contextlib.suppress(AssertionError):
                run()
    assert failures == []


def _plain_server(**options):
    """A running_services variant: Python's own HTTP server, up in a fraction of a second."""
    return {"command": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"],
            "ready_path": "/", **options}


def test_running_services_start_together_and_all_stop(saved):
    with deploy.running_services(saved, _plain_server(), _plain_server()) as (first, second):
        assert first.url != second.url
        assert all(requests.get(s.url, timeout=5).status_code == 200 for s in (first, second))
    assert first.process.poll() is not None and second.process.poll() is not None


def test_running_services_stop_the_others_when_one_fails_to_start(saved):
    port = deploy.free_port()
    failing = {"command": [sys.executable, "-c", "raise SystemExit(3)"]}
    with pytest.raises(RuntimeError, match="exited with code 3"), \
            deploy.running_services(saved, _plain_server(port=port), failing):
        pass
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server that started runs on"

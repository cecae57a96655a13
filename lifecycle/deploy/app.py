"""The Flask application: the prediction service, its counter-example, and a test-client helper."""
from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Mapping

from lifecycle.deploy import validation
from lifecycle.deploy.bundle import _utc_now
from lifecycle.deploy.openapi import openapi_document
from lifecycle.deploy.prediction_log import _PredictionLog, log_records
from lifecycle.deploy.validation import MAX_BATCH, MAX_BODY_BYTES, error_body


def create_app(bundle: Mapping, *, log_path=None, max_batch: int = MAX_BATCH,
               max_body_bytes: int = MAX_BODY_BYTES, candidate: Mapping | None = None,
               canary: float = 0.0):
    """Build the prediction service (Flask application factory).

    Parameters
    ----------
    bundle : dict
        A loaded bundle (:func:`load_bundle`), or one with its serving
        runtime (:func:`~lifecycle.deploy.runtime.serving_bundle`), which
        ``/health`` then reports.
    log_path : str or path-like, optional
        Prediction log (JSON lines, :data:`LOG_FIELDS`); no log when omitted.
    max_batch : int
        Largest number of instances per request.
    max_body_bytes : int
        Largest request body.
    candidate : dict, optional
        A second loaded bundle being rolled out (lesson 08). Every valid
        request is then predicted by both versions: the **current** one
        (``bundle``) and the candidate. Each answers only its share of the
        requests; the other predicts in the shadow, and both are logged, each
        line with ``"served"`` (whether the client got it) and ``latency_ms``
        (that version's own prediction time). A candidate that fails on a
        request the current one accepts never changes the answer.
    canary : float, default=0.0
        Share of the requests the candidate answers, in [0, 1]: 0 is shadow
        traffic, 1 a full switch. Requests are routed in turn, so that after
        ``n`` requests a worker has sent ``floor(n * canary)`` to the candidate.

    Returns
    -------
    app : flask.Flask
        Routes ``GET /health``, ``GET /metadata``, ``GET /openapi.json``
        (:func:`~lifecycle.deploy.openapi.openapi_document`), ``POST /predict``. Every
        error, including 404, 405 and 413, is answered in JSON with
        ``{"error": ..., "status": ...}``; an unexpected failure is logged and
        answered with a JSON 500 that does not leak internals.
    """
    from flask import Flask, Response, g, request
    from werkzeug.exceptions import HTTPException

    app = Flask("lifecycle.deploy")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    metadata = bundle["metadata"]
    public_metadata = {key: metadata[key] for key in
                       ("model_version", "features", "classes", "target", "metrics",
                        "created", "training_data_sha256", "model_sha256", "libraries",
                        "domain")
                       if key in metadata}
    document = openapi_document(metadata, max_batch)
    health_body = {"status": "ok", "model_version": metadata["model_version"]}
    if "runtime" in bundle:
        health_body["runtime"] = bundle["runtime"]
    log = _PredictionLog(log_path) if log_path else None
    split = _TrafficSplit(candidate, canary) if candidate is not None else None
    if split is not None:
        health_body["candidate"] = {"model_version": candidate["metadata"]["model_version"],
                                    "canary": split.share}

    def reply(status: int, body: Mapping) -> Response:
        response = Response(json.dumps(body, allow_nan=False), status=status,
                            mimetype="application/json")
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        return response

    @app.before_request
    def start():
        g.request_id = uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.get("/health")
    def health():
        return reply(200, health_body)

    @app.get("/metadata")
    def describe():
        return reply(200, public_metadata)

    @app.get("/openapi.json")
    def describe_api():
        return reply(200, document)

    @app.post("/predict")
    def predict():
        length = request.content_length
        if length is not None and length > max_body_bytes:
            return reply(413, error_body(413, f"request body is {length} bytes; "
                                              f"the limit is {max_body_bytes}"))
        # Looked up in their module at each request, so the lesson's forbid_calls
        # ("lifecycle.deploy.validation.<name>") also trips through this app.
        status, payload = validation.parse_json_body(request.get_data(cache=False),
                                                     request.content_type, max_body_bytes)
        if status != 200:
            return reply(status, payload)
        if split is not None:
            status, body, records = split.predict(payload, bundle, max_batch, g.request_id)
            if log is not None and records:
                log.write(records)
            return reply(status, body)
        status, body = validation.predict_payload(payload, bundle, max_batch)
        if status == 200 and log is not None:
            latency_ms = (time.perf_counter() - g.started) * 1000
            log.write(log_records(g.request_id, payload["instances"], body, latency_ms))
        return reply(status, body)

    @app.errorhandler(HTTPException)
    def http_error(error):
        messages = {
            404: f"no route {request.path}; use GET /health, GET /metadata, "
                 "GET /openapi.json or POST /predict",
            405: f"{request.method} is not allowed on {request.path}",
            413: f"request body larger than {max_body_bytes} bytes",
        }
        code = error.code or 400
        response = reply(code, error_body(code, messages.get(code, error.description)))
        if code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(error):  # pragma: no cover - a bug, not a bad request
        app.logger.exception("unexpected error in request %s", getattr(g, "request_id", "?"))
        return reply(500, error_body(500, "internal error; the request id is in X-Request-ID"))

    return app


class _TrafficSplit:
    """Route requests between the current version and a candidate; both predict.

    The ``n``-th request of this process goes to the candidate when
    ``floor(n * share) > floor((n - 1) * share)``: the candidate's share is
    exact after every request, with no random draw to make a test flaky.
    """

    def __init__(self, candidate: Mapping, share: float):
        share = float(share)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"canary must be a share in [0, 1] (0 = shadow traffic); got {share}")
        self.candidate, self.share = candidate, share
        self._count = 0
        self._lock = threading.Lock()

    def _to_candidate(self) -> bool:
        with self._lock:
            self._count += 1
            n = self._count
        return math.floor(n * self.share) > math.floor((n - 1) * self.share)

    def predict(self, payload, current: Mapping, max_batch: int, request_id: str):
        """Answer with the routed version; return ``(status, body, log records)``."""
        started = time.perf_counter()
        status, body = validation.predict_payload(payload, current, max_batch)
        current_ms = (time.perf_counter() - started) * 1000
        if status != 200:
            return status, body, []  # the request is bad whoever answers it
        started = time.perf_counter()
        c_status, c_body = validation.predict_payload(payload, self.candidate, max_batch)
        candidate_ms = (time.perf_counter() - started) * 1000
        to_candidate = self._to_candidate() and c_status == 200
        stamp = _utc_now()
        records = [dict(r, served=not to_candidate) for r in
                   log_records(request_id, payload["instances"], body, current_ms, stamp)]
        if c_status == 200:
            records += [dict(r, served=to_candidate) for r in
                        log_records(request_id, payload["instances"], c_body, candidate_ms, stamp)]
        return 200, (c_body if to_candidate else body), records


def seed_style_app(model):
    """Return the source articles' service, kept as the lesson's counter-example.

    One global model, no validation, no error handling: whatever JSON arrives
    goes straight into ``model.predict``. A malformed request makes it raise,
    and Flask answers with a 500 and an HTML page. Never deploy this.

    Parameters
    ----------
    model : sklearn estimator
        A fitted pipeline taking a DataFrame.

    Returns
    -------
    app : flask.Flask
    """
    import pandas as pd
    from flask import Flask, request

    app = Flask("seed_style")

    @app.route("/predict", methods=["POST"])
    def predict():
        data = request.get_json()
        prediction = model.predict(pd.DataFrame(data["instances"]))
        return {"predictions": prediction.tolist()}

    return app


def send_request(client, spec: Mapping):
    """Send one request described as data through a Flask test client.

    Parameters
    ----------
    client : flask.testing.FlaskClient
        From ``app.test_client()``.
    spec : dict
        ``method`` (default ``"POST"``), ``path`` (default ``"/predict"``) and
        at most one body: ``json`` (any JSON value, sent with
        ``Content-Type: application/json``) or ``data`` (str or bytes, sent
        as is, with ``content_type`` if given).

    Returns
    -------
    response : werkzeug.test.TestResponse
    """
    kwargs = {"method": str(spec.get("method", "POST")).upper()}
    if "json" in spec:
        kwargs["json"] = spec["json"]
    elif "data" in spec:
        kwargs["data"] = spec["data"]
        if spec.get("content_type") is not None:
            kwargs["content_type"] = spec["content_type"]
    return client.open(str(spec.get("path", "/predict")), **kwargs)


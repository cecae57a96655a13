"""Lesson 05: ship a model as a verified bundle and serve it in production.

The reference implementation of the course's deployment service (see
``CONTRACT.md``, "Deployment service"):

* a **model bundle**: a folder with the fitted pipeline saved with
  :mod:`skops.io` (``model.skops``: no arbitrary code runs on load, unlike
  ``pickle``) and ``metadata.json`` (model version, input schema, training-data
  hash, library versions, evaluation metrics, creation time and the SHA-256 of
  ``model.skops``), verified by :func:`load_bundle`;
* :func:`create_app`, a Flask application factory with ``GET /health``,
  ``GET /metadata`` and ``POST /predict``; every bad request gets a 4xx and a
  JSON ``{"error": ..., "status": ...}`` body that says what to fix;
* a prediction log in JSON lines (:data:`LOG_FIELDS`), read back by lesson 06;
* a command line that trains a bundle and serves it through gunicorn::

      python -m lifecycle.deploy train --out artifacts/penguins
      python -m lifecycle.deploy serve --model artifacts/penguins --host 127.0.0.1 --port 8000

* :func:`running_service`, which starts that command in a subprocess, waits
  until it is healthy and always stops it, so a notebook or a test can call the
  real service over HTTP.

One module per job: :mod:`~lifecycle.deploy.bundle` (reference model, save,
verify, load), :mod:`~lifecycle.deploy.validation` (request checks and the
``/predict`` handler), :mod:`~lifecycle.deploy.prediction_log`,
:mod:`~lifecycle.deploy.app` (Flask), :mod:`~lifecycle.deploy.serving`
(gunicorn, subprocess), :mod:`~lifecycle.deploy.measure` (load and latency),
:mod:`~lifecycle.deploy.plots` and :mod:`~lifecycle.deploy.cli`. Everything
public is re-exported here.
"""
from lifecycle.deploy.app import create_app, seed_style_app, send_request
from lifecycle.deploy.bundle import (
    CATEGORICAL,
    NUMERIC,
    REQUIRED_METADATA,
    TARGET,
    BundleError,
    build_bundle,
    library_versions,
    load_bundle,
    penguins_frame,
    save_bundle,
    schema_from_frame,
    sha256_bytes,
    train_reference_bundle,
    verify_bundle,
)
from lifecycle.deploy.cli import main
from lifecycle.deploy.measure import measure_service, summarize_latency
from lifecycle.deploy.plots import plot_avalanche, plot_latency, plot_status_codes
from lifecycle.deploy.prediction_log import LOG_FIELDS, log_records
from lifecycle.deploy.serving import free_port, running_service, serve
from lifecycle.deploy.validation import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    error_body,
    parse_json_body,
    predict_payload,
    validate_instance,
)

__all__ = [
    "BundleError",
    "CATEGORICAL",
    "LOG_FIELDS",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "NUMERIC",
    "REQUIRED_METADATA",
    "TARGET",
    "build_bundle",
    "create_app",
    "error_body",
    "free_port",
    "library_versions",
    "load_bundle",
    "log_records",
    "main",
    "measure_service",
    "parse_json_body",
    "penguins_frame",
    "plot_avalanche",
    "plot_latency",
    "plot_status_codes",
    "predict_payload",
    "running_service",
    "save_bundle",
    "schema_from_frame",
    "seed_style_app",
    "send_request",
    "serve",
    "sha256_bytes",
    "summarize_latency",
    "train_reference_bundle",
    "validate_instance",
    "verify_bundle",
]

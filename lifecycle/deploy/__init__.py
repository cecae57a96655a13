"""Lesson 05: ship a model as a verified bundle and serve it in production.

The reference implementation of the course's deployment service :

* a **model bundle**: lesson 01's pipeline (:func:`lifecycle.preprocessing.penguins_pipeline`)
  fitted and saved with :mod:`skops.io` (``model.skops``: no arbitrary code
  runs on load, unlike ``pickle``) and ``metadata.json`` (model version, input
  schema, the training data's ranges and categories, training-data hash,
  library versions, metrics, creation time and the SHA-256 of ``model.skops``;
  the keys are listed in :mod:`lifecycle.deploy.bundle`), verified by
  :func:`load_bundle`;
* :func:`create_app`, a Flask application factory with ``GET /health``,
  ``GET /metadata``, ``GET /openapi.json`` and ``POST /predict``; every bad
  request gets a 4xx and a JSON ``{"error": ..., "status": ...}`` body that
  says what to fix; a missing value is imputed, an unknown category encoded as
  unknown, a number far outside the training range refused with a 422;
* a prediction log in JSON lines (:data:`LOG_FIELDS`), read back by lesson 06;
* a command line that trains a bundle and serves it with nginx in front of
  gunicorn (:func:`serve`; ``--no-proxy`` for gunicorn alone), predicting with
  onnxruntime when the pipeline's ONNX conversion agrees with it::

      python -m lifecycle.deploy train --out artifacts/penguins
      python -m lifecycle.deploy serve --model artifacts/penguins --host 127.0.0.1 --port 8000

* :func:`running_service`, which starts that command in a subprocess, waits
  until it is healthy and always stops it, so a notebook or a test can call the
  real service over HTTP (:func:`running_services` starts several at once).

One module per job: :mod:`~lifecycle.deploy.bundle` (reference model, save,
verify, load), :mod:`~lifecycle.deploy.validation` (request checks and the
``/predict`` handler), :mod:`~lifecycle.deploy.prediction_log`,
:mod:`~lifecycle.deploy.app` (Flask), :mod:`~lifecycle.deploy.serving`
(nginx and gunicorn as one service, subprocess), :mod:`~lifecycle.deploy.proxy`
(nginx configuration), :mod:`~lifecycle.deploy.runtime` (the pipeline compiled to ONNX
and checked, for serving), :mod:`~lifecycle.deploy.capacity` (workers and threads),
:mod:`~lifecycle.deploy.openapi`, :mod:`~lifecycle.deploy.measure` (load and latency),
:mod:`~lifecycle.deploy.plots` and :mod:`~lifecycle.deploy.cli`. Everything
public is re-exported here.
"""
from lifecycle.deploy.app import create_app, seed_style_app, send_request
from lifecycle.deploy.bundle import (
    CATEGORICAL,
    NUMERIC,
    RANGE_MARGIN,
    REQUIRED_METADATA,
    TARGET,
    BundleError,
    build_bundle,
    domain_from_frame,
    library_versions,
    load_bundle,
    penguins_frame,
    save_bundle,
    schema_from_frame,
    sha256_bytes,
    train_reference_bundle,
    verify_bundle,
)
from lifecycle.deploy.capacity import default_capacity, plan_capacity, usable_cores
from lifecycle.deploy.cli import main
from lifecycle.deploy.measure import (
    concurrency_curve,
    health_under_slow_clients,
    knee,
    measure_service,
    summarize_latency,
)
from lifecycle.deploy.openapi import openapi_document
from lifecycle.deploy.plots import (
    plot_avalanche,
    plot_concurrency_curve,
    plot_latency,
    plot_status_codes,
)
from lifecycle.deploy.prediction_log import LOG_FIELDS, log_records
from lifecycle.deploy.proxy import ProxyError, error_pages, find_nginx, nginx_config
from lifecycle.deploy.serving import (
    default_log_path,
    free_port,
    running_service,
    running_services,
    serve,
)
from lifecycle.deploy.validation import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    error_body,
    instances_frame,
    json_records,
    parse_json_body,
    predict_payload,
    validate_instance,
)

__all__ = [
    "build_bundle",
    "concurrency_curve",
    "BundleError",
    "CATEGORICAL",
    "create_app",
    "default_capacity",
    "default_log_path",
    "domain_from_frame",
    "error_body",
    "error_pages",
    "find_nginx",
    "free_port",
    "health_under_slow_clients",
    "instances_frame",
    "json_records",
    "knee",
    "library_versions",
    "load_bundle",
    "LOG_FIELDS",
    "log_records",
    "main",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "measure_service",
    "nginx_config",
    "NUMERIC",
    "openapi_document",
    "parse_json_body",
    "penguins_frame",
    "plan_capacity",
    "plot_avalanche",
    "plot_concurrency_curve",
    "plot_latency",
    "plot_status_codes",
    "predict_payload",
    "ProxyError",
    "RANGE_MARGIN",
    "REQUIRED_METADATA",
    "running_service",
    "running_services",
    "save_bundle",
    "schema_from_frame",
    "seed_style_app",
    "send_request",
    "serve",
    "sha256_bytes",
    "summarize_latency",
    "TARGET",
    "train_reference_bundle",
    "usable_cores",
    "validate_instance",
    "verify_bundle",
]

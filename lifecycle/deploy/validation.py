"""Request validation: decode a body, check instances against the schema, answer ``/predict``.

Pure functions of the request, so a notebook or a test can call the
service's handler without a server.
"""
from __future__ import annotations

import json
import math
import reprlib
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where it is used: serve's supervisor never needs it
    import pandas as pd

#: Largest number of instances one ``/predict`` request may carry.
MAX_BATCH = 256
#: Largest request body accepted, in bytes.
MAX_BODY_BYTES = 256 * 1024

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 40


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value) -> str:
    """``repr`` cut to a readable length, total over any decoded JSON (huge ints, deep lists)."""
    return _REPR.repr(value)


def _number_problem(name: str, value, limits: Mapping | None) -> str | None:
    # Comparisons between Python ints and floats are exact and never overflow,
    # unlike float(value) or math.isfinite(value) on a 400-digit integer.
    if not _is_number(value):
        return f"{name}: expected a number or null, got {type(value).__name__} {_short(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}: {_short(value)} is not a finite number"
    if not -sys.float_info.max <= value <= sys.float_info.max:
        return f"{name}: {_short(value)} does not fit in a 64-bit float"
    if limits is not None and not limits["min"] <= value <= limits["max"]:
        return (f"{name}: {_short(value)} is outside the accepted range "
                f"[{limits['min']:g}, {limits['max']:g}] (training data: "
                f"{limits['observed_min']:g} to {limits['observed_max']:g}); "
                "check the unit and the sign")
    return None


def validate_instance(instance, features: Sequence[Mapping],
                      domain: Mapping | None = None) -> list[str]:
    """List what is wrong with one instance, judged against the input schema.

    A feature may be absent or ``null``: the pipeline imputes it. A category
    the model never saw is accepted: the pipeline encodes it as unknown.

    Parameters
    ----------
    instance : object
        One decoded JSON instance; valid only if it is a dict whose keys are
        features of the schema.
    features : list of dict
        The schema (``metadata["features"]``).
    domain : dict, optional
        ``metadata["domain"]`` (:func:`~lifecycle.deploy.bundle.domain_from_frame`):
        when given, a number outside its feature's ``[min, max]`` is an error.

    Returns
    -------
    errors : list of str
        Empty for a valid instance. Otherwise one message per problem, each
        naming the feature: not expected, not a number (booleans and numeric
        strings are not numbers), not finite or too large for a float, out of
        the accepted range (the message gives it), or a category that is not
        a string.
    """
    if not isinstance(instance, dict):
        return [f"each instance must be a JSON object of features, got {type(instance).__name__}"]
    errors = []
    known = {f["name"] for f in features}
    ranges = (domain or {}).get("numeric", {})
    for feature in features:
        name = feature["name"]
        value = instance.get(name)
        if value is None:
            continue  # missing: imputed by the pipeline
        if feature["type"] == "number":
            problem = _number_problem(name, value, ranges.get(name))
            if problem:
                errors.append(problem)
        elif not isinstance(value, str):
            errors.append(f"{name}: expected a string such as {feature['values'][:3]}, got "
                          f"{type(value).__name__} {_short(value)}")
    for name in instance:
        if name not in known:
            errors.append(f"{_short(name)[1:-1]}: not a feature of this model; expected only "
                          f"{sorted(known)}")
    return errors


def error_body(status: int, message: str) -> dict:
    """Return the JSON body of an error response: ``{"error": message, "status": status}``."""
    return {"error": message, "status": int(status)}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON; send finite numbers only")


def parse_json_body(body: bytes, content_type: str | None,
                    max_bytes: int = MAX_BODY_BYTES) -> tuple[int, object]:
    """Decode a request body as strict JSON.

    Parameters
    ----------
    body : bytes
        The raw request body.
    content_type : str or None
        The request's ``Content-Type`` header.
    max_bytes : int
        Largest body accepted.

    Returns
    -------
    status, value : int, object
        ``(200, decoded JSON)``, or an error status with the body of
        :func:`error_body`: 415 unless the content type is
        ``application/json`` (parameters such as ``charset`` allowed), 413 if
        the body is larger than ``max_bytes``, 400 if it is empty, not UTF-8,
        not JSON, uses ``NaN``/``Infinity`` (not part of JSON), holds an
        integer of more than 4300 digits, or nests too deeply for the parser.
    """
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        return 415, error_body(415, f"send the body as JSON with Content-Type: application/json "
                                    f"(got {content_type!r})")
    if len(body) > max_bytes:
        return 413, error_body(413, f"request body is {len(body)} bytes; the limit is {max_bytes}")
    if not body.strip():
        return 400, error_body(400, 'empty body; send {"instances": [{...}, ...]}')
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, error_body(400, "the body is not UTF-8 text")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:  # also integers of more than 4300 digits
        return 400, error_body(400, f"the body is not valid JSON: {_short(str(error))}")
    except RecursionError:
        return 400, error_body(400, "the body's JSON is nested too deeply")
    return 200, value


def predict_payload(payload, bundle: Mapping, max_batch: int = MAX_BATCH) -> tuple[int, dict]:
    """Answer a decoded ``/predict`` payload: the service's handler as a pure function.

    Parameters
    ----------
    payload : object
        The decoded JSON body; valid is ``{"instances": [instance, ...]}``.
    bundle : dict
        ``{"model": ..., "metadata": ...}``, optionally with ``predictor``
        (:func:`~lifecycle.deploy.runtime.serving_bundle`): probabilities then
        come from it, and from the model only when it returns ``None``.
    max_batch : int
        Largest number of instances accepted.

    Returns
    -------
    status, body : int, dict
        ``200`` and ``{"predictions": [...], "probabilities": [{class: p}, ...],
        "model_version": ...}``; or ``400`` (no ``instances`` list, empty batch,
        other keys), ``413`` (batch larger than ``max_batch``), ``422`` (an
        instance fails :func:`validate_instance` with the bundle's domain; the
        message names its index), each with an :func:`error_body` body.
    """
    metadata = bundle["metadata"]
    if not isinstance(payload, dict) or "instances" not in payload:
        return 400, error_body(400, 'expected a JSON object {"instances": [{feature: value, ...}]}')
    extra = sorted(set(payload) - {"instances"})
    if extra:
        return 400, error_body(400, f"unexpected top-level keys {extra}; only 'instances' is read")
    instances = payload["instances"]
    if not isinstance(instances, list):
        return 400, error_body(400, f"'instances' must be a list, got {type(instances).__name__}")
    if not instances:
        return 400, error_body(400, "'instances' is empty; send at least one instance")
    if len(instances) > max_batch:
        return 413, error_body(413, f"{len(instances)} instances; send at most {max_batch} "
                                    "per request")
    features, domain = metadata["features"], metadata.get("domain")
    problems = []
    for i, instance in enumerate(instances):
        problems += [f"instance {i}: {e}" for e in validate_instance(instance, features, domain)]
    if problems:
        return 422, error_body(422, "; ".join(problems[:10]))
    model = bundle["model"]
    if hasattr(model, "predict_proba"):
        # One pass through the pipeline: the predicted class is the most probable one
        # (what predict returns for logistic regression and most classifiers).
        predictor = bundle.get("predictor")
        proba = None if predictor is None else predictor.predict_proba(instances)
        if proba is None:
            proba = model.predict_proba(instances_frame(instances, features))
        classes = [_plain(c) for c in model.classes_]
        return 200, {"predictions": [classes[k] for k in np.argmax(proba, axis=1)],
                     "model_version": metadata["model_version"],
                     "probabilities": [dict(zip(classes, map(float, row), strict=True))
                                       for row in proba]}
    predictions = [_plain(p) for p in model.predict(instances_frame(instances, features))]
    return 200, {"predictions": predictions, "model_version": metadata["model_version"]}


def instances_frame(instances: Sequence[Mapping], features: Sequence[Mapping]) -> pd.DataFrame:
    """Turn validated instances into the model's input frame, one column at a time.

    Parameters
    ----------
    instances : list of dict
        Instances that passed :func:`validate_instance`.
    features : list of dict
        The schema; gives the columns and their order.

    Returns
    -------
    X : pandas.DataFrame
        Numbers as ``float64``, categories as ``object``; an absent or ``null``
        value becomes ``NaN``, which the pipeline's imputers recognise
        (``None`` in an object column they would not).
    """
    import pandas as pd

    columns = {}
    for feature in features:
        values = [np.nan if (v := inst.get(feature["name"])) is None else v for inst in instances]
        dtype = float if feature["type"] == "number" else object
        columns[feature["name"]] = np.array(values, dtype=dtype)
    return pd.DataFrame(columns)


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Return a frame's rows as a client would send them: plain values, missing as ``None``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Input rows, possibly with ``NaN``.

    Returns
    -------
    records : list of dict
        One dict per row; ``NaN`` becomes ``None`` (JSON ``null``), which the
        service imputes.
    """
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


"""The service's OpenAPI 3.1 document, generated from a bundle's metadata.

Written by hand rather than with a generator such as apispec: the document is
one function of the schema (``features``) and the accepted ranges
(``domain``), and a generator would add a dependency without removing any of
that code.
"""
from __future__ import annotations

from collections.abc import Mapping

_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}


def _instance_schema(metadata: Mapping) -> dict:
    ranges = metadata.get("domain", {}).get("numeric", {})
    properties = {}
    for feature in metadata["features"]:
        if feature["type"] == "number":
            schema = {"type": ["number", "null"]}
            if feature["name"] in ranges:
                limits = ranges[feature["name"]]
                schema.update(minimum=limits["min"], maximum=limits["max"])
        else:
            schema = {"type": ["string", "null"], "examples": list(feature["values"]),
                      "description": "an unknown category is encoded as unknown"}
        properties[feature["name"]] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "description": "an absent or null feature is imputed by the model's pipeline"}


def _json(schema: Mapping) -> dict:
    return {"content": {"application/json": {"schema": dict(schema)}}}


def _errors(*codes: int) -> dict:
    return {str(code): dict(description="the request is wrong; the body says why", **_json(_ERROR))
            for code in codes}


def openapi_document(metadata: Mapping, max_batch: int) -> dict:
    """Describe the prediction service as an OpenAPI 3.1 document.

    Parameters
    ----------
    metadata : dict
        A bundle's metadata (``model_version``, ``features`` and ``domain``).
    max_batch : int
        Largest number of instances per request.

    Returns
    -------
    document : dict
        ``GET /health``, ``GET /metadata``, ``GET /openapi.json`` and
        ``POST /predict``, whose request schema holds each numeric feature's
        accepted range as ``minimum``/``maximum`` and forbids unknown keys.
    """
    instance = _instance_schema(metadata)
    request = {"type": "object", "required": ["instances"], "additionalProperties": False,
               "properties": {"instances": {"type": "array", "items": instance,
                                            "minItems": 1, "maxItems": int(max_batch)}}}
    prediction = {"type": "object", "required": ["predictions", "model_version"],
                  "properties": {"predictions": {"type": "array"},
                                 "model_version": {"type": "string"},
                                 "probabilities": {"type": "array",
                                                   "items": {"type": "object"}}}}
    health = {"type": "object", "required": ["status", "model_version"],
              "properties": {"status": {"type": "string"}, "model_version": {"type": "string"}}}
    described = {"type": "object", "required": ["model_version", "features"],
                 "properties": {"model_version": {"type": "string"},
                                "features": {"type": "array", "items": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "lifecycle.deploy prediction service",
                 "version": str(metadata["model_version"])},
        "paths": {
            "/health": {"get": {"operationId": "health", "responses": {
                "200": dict(description="the service is up", **_json(health))}}},
            "/metadata": {"get": {"operationId": "metadata", "responses": {
                "200": dict(description="the model and its input schema", **_json(described))}}},
            "/openapi.json": {"get": {"operationId": "openapi", "responses": {
                "200": dict(description="this document", **_json({"type": "object"}))}}},
            "/predict": {"post": {
                "operationId": "predict",
                "requestBody": dict(required=True, **_json(request)),
                "responses": {"200": dict(description="one prediction per instance",
                                          **_json(prediction)),
                              **_errors(400, 413, 415, 422)}}},
        },
    }

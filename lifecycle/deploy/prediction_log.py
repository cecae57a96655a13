"""The prediction log: one JSON line per predicted instance, read back by lesson 06.

:data:`LOG_FIELDS` is the log's format (``docs/authoring.md``);
:mod:`lifecycle.monitoring` reads the same fields.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from lifecycle.deploy.bundle import _utc_now

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads are still serialised
    fcntl = None

#: Fields of one prediction-log line, in order (``docs/authoring.md``).
LOG_FIELDS = ("time", "request_id", "instance", "model_version", "inputs",
              "prediction", "probabilities", "latency_ms")


def log_records(request_id: str, instances: Sequence[Mapping], body: Mapping,
                latency_ms: float, time: str | None = None) -> list[dict]:
    """Build the prediction-log lines of one successful request.

    Parameters
    ----------
    request_id : str
        The request's id (returned to the client in ``X-Request-ID``).
    instances : list of dict
        The validated inputs.
    body : dict
        The response body of :func:`predict_payload`.
    latency_ms : float
        The whole request's latency.
    time : str, optional
        ISO 8601 UTC time with a ``Z``; now by default.

    Returns
    -------
    records : list of dict
        One per instance, with the keys of :data:`LOG_FIELDS` in order.
    """
    time = time or _utc_now()
    probabilities = body.get("probabilities") or [None] * len(instances)
    return [dict(zip(LOG_FIELDS, (time, request_id, i, body["model_version"], dict(inputs),
                                  prediction, proba, round(float(latency_ms), 3)), strict=True))
            for i, (inputs, prediction, proba)
            in enumerate(zip(instances, body["predictions"], probabilities, strict=True))]


class _PredictionLog:
    """Append JSON lines to a file shared by threads and worker processes.

    A request's lines are written under an exclusive ``flock`` (where the
    platform has one) to a file opened with ``O_APPEND``, so lines of
    concurrent requests never interleave or tear.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, records: Sequence[Mapping]) -> None:
        data = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n"
                       for r in records).encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)  # also releases the lock


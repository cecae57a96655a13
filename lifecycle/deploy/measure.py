"""Measuring a running service: a concurrent load generator and a latency summary."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping

import numpy as np


def measure_service(url: str, payload: Mapping, *, n_requests: int = 200,
                    concurrency: int = 4, timeout: float = 10.0) -> dict:
    """Send the same request ``n_requests`` times from ``concurrency`` threads.

    Returns
    -------
    result : dict
        ``latencies_s`` (numpy array, one per request, in completion order),
        ``elapsed_s`` (wall-clock time of the whole run), ``statuses`` (list of
        int, ``0`` for a connection error).
    """
    import requests

    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    lock = threading.Lock()
    latencies, statuses = [], []
    remaining = iter(range(n_requests))

    def worker():
        with requests.Session() as session:
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                start = time.perf_counter()
                try:
                    status = session.post(url + "/predict", data=body, headers=headers,
                                          timeout=timeout).status_code
                except requests.RequestException:
                    status = 0
                latency = time.perf_counter() - start
                with lock:
                    latencies.append(latency)
                    statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"latencies_s": np.asarray(latencies), "elapsed_s": elapsed, "statuses": statuses}


def summarize_latency(latencies_s, elapsed_s: float) -> dict:
    """Summarise request latencies measured under load.

    Parameters
    ----------
    latencies_s : array-like of float
        One latency per request, in seconds.
    elapsed_s : float
        Wall-clock duration of the whole run, in seconds.

    Returns
    -------
    summary : dict
        ``n``, ``mean_ms``, ``p50_ms``, ``p95_ms``, ``p99_ms`` (percentiles
        with linear interpolation, in milliseconds) and ``throughput_rps``
        (completed requests per second of wall-clock time, ``n / elapsed_s``).
    """
    ms = np.asarray(latencies_s, dtype=float) * 1000
    if ms.size == 0 or elapsed_s <= 0:
        raise ValueError("need at least one latency and a positive elapsed time")
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"n": int(ms.size), "mean_ms": float(ms.mean()), "p50_ms": float(p50),
            "p95_ms": float(p95), "p99_ms": float(p99),
            "throughput_rps": float(ms.size / elapsed_s)}


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



def concurrency_curve(url: str, payload: Mapping, levels=(1, 2, 4, 8, 16), *,
                      n_requests: int = 48) -> list[dict]:
    """Measure throughput and latency at several numbers of requests in flight.

    Parameters
    ----------
    url : str
        Base URL of a running service.
    payload : dict
        The ``/predict`` body sent every time.
    levels : sequence of int
        Client concurrencies, one run each.
    n_requests : int
        Requests per run.

    Returns
    -------
    rows : list of dict
        One :func:`summarize_latency` per level, with ``concurrency`` and
        ``errors`` (requests that did not get a 200).
    """
    rows = []
    for level in levels:
        run = measure_service(url, payload, n_requests=n_requests, concurrency=level)
        row = summarize_latency(run["latencies_s"], run["elapsed_s"])
        row.update(concurrency=int(level), errors=sum(s != 200 for s in run["statuses"]))
        rows.append(row)
    return rows


def knee(rows, fraction: float = 0.9) -> int:
    """Return the smallest concurrency whose throughput reaches ``fraction`` of the best.

    Beyond it, more requests in flight add queueing (latency) and almost no throughput.
    """
    best = max(r["throughput_rps"] for r in rows)
    return min(r["concurrency"] for r in rows if r["throughput_rps"] >= fraction * best)


def health_under_slow_clients(url: str, n_slow: int, *, timeout: float = 3.0) -> dict:
    """Time ``GET /health`` while ``n_slow`` clients hold half-sent requests open.

    Each slow client connects and sends the first line of a request, then
    nothing more (a "slowloris" client); all are closed before returning.

    Returns
    -------
    result : dict
        ``answered`` (bool: a reply within ``timeout`` seconds) and
        ``seconds`` (how long the probe took).
    """
    import socket

    import requests

    host, port = url.removeprefix("http://").rsplit(":", 1)
    slow = []
    try:
        for _ in range(n_slow):
            connection = socket.create_connection((host, int(port)), timeout=timeout)
            connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            slow.append(connection)
        time.sleep(0.05)  # let the server pick them up (a loopback accept takes microseconds)
        start = time.perf_counter()
        try:
            answered = requests.get(url + "/health", timeout=timeout).status_code == 200
        except requests.RequestException:
            answered = False
        return {"answered": answered, "seconds": time.perf_counter() - start}
    finally:
        for connection in slow:
            connection.close()

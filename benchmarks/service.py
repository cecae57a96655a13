"""Benchmark: the seed articles' service against lifecycle.deploy, same model, machine and load.

The *seed-style* service is the source articles' deployment, faithfully: the model is
``pickle.dump``-ed, loaded into a global with ``pickle.load``, served by one Flask route
that passes the JSON straight to ``predict``, and started with ``app.run(threaded=True)``
(Flask's development server). *Ours* is ``python -m lifecycle.deploy serve``: a verified
skops bundle, schema and range validation, strict JSON, a prediction log, nginx in front
of gunicorn (workers and threads by ``default_capacity``).

Both serve the same fitted pipeline on loopback and both run throughout. The load
generator is wrk (Debian package ``wrk``; written in C, so it is not the bottleneck):
for each number of connections (8, 32, 64) it loads the two services in turn, alternating
which goes first, and prints throughput, p50 and p99 and the ratio ours / seed. Then it
times one request to each while 200 idle connections, and then 8 slowloris connections
(half-sent headers), are held open. Exits non-zero if wrk saw errors or non-2xx answers::

    .venv/bin/python benchmarks/service.py [--duration 5] [--connections 8 32 64] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifecycle import deploy  # noqa: E402

PAYLOAD = {"instances": [{"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
                          "body_mass_g": 3750.0, "island": "Torgersen", "sex": "male"}]}
WRK_SCRIPT = """wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
"""


def seed_server(pickle_path: str, port: int) -> None:
    """Run the seed-style service: pickle, a global model, ``app.run(threaded=True)``."""
    import logging

    import pandas as pd
    from flask import Flask, request

    global best_model
    with open(pickle_path, "rb") as f:
        best_model = pickle.load(f)  # noqa: S301 - the point of the comparison

    app = Flask(__name__)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log, like ours

    @app.route("/predict", methods=["POST"])
    def predict():
        data = request.get_json()
        prediction = best_model.predict(pd.DataFrame(data["instances"]))
        return {"predictions": prediction.tolist()}

    app.run(host="127.0.0.1", port=port, threaded=True)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    """Run wrk against ``url/predict``; return throughput, p50, p99 and the error count."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{int(duration)}s", "--latency",
               "--timeout", "10s", "-s", str(script), url + "/predict"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"\b(50|99)(?:\.0+)?%\s+([\d.]+(?:us|ms|s))\b", out))
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|connect|read|write|timeout)"
                                            r"[: ]+(\d+)", out))
    if set(percentiles) != {"50", "99"}:  # no request completed
        return {"throughput_rps": 0.0, "p50_ms": float("inf"), "p99_ms": float("inf"),
                "errors": max(errors, 1)}
    return {"throughput_rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(percentiles["50"]), "p99_ms": _ms(percentiles["99"]), "errors": errors}


def probe_under(url: str, path: str, *, idle: int = 0, slow: int = 0, timeout: float = 10.0) -> float:
    """Seconds until ``GET path`` gets any answer while idle and slowloris connections are held."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    held = []
    try:
        for k in range(idle + slow):
            connection = socket.create_connection((host, int(port)), timeout=timeout)
            if k >= idle:
                connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            held.append(connection)
        time.sleep(0.5)
        start = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answered = s.recv(64).startswith(b"HTTP/1.")
        return time.perf_counter() - start if answered else float("inf")
    except OSError:  # timed out: no answer within the timeout
        return float("inf")
    finally:
        for connection in held:
            connection.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--seed-server", nargs=2, metavar=("PICKLE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_server:
        seed_server(args.seed_server[0], int(args.seed_server[1]))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu)", file=sys.stderr)
        return 2
    if not (0 < args.duration <= 60 and all(1 <= c <= 256 for c in args.connections)):
        parser.error("keep the load bounded: up to 60 s per run, 1-256 connections")

    bundle = deploy.train_reference_bundle(seed=0)
    workers, threads = deploy.default_capacity()
    rows, probes = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        bundle_dir = deploy.save_bundle(bundle, Path(tmp) / "bundle")
        pickle_path = Path(tmp) / "model.pkl"
        with open(pickle_path, "wb") as f:
            pickle.dump(bundle["model"], f)  # the seed's way
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT % json.dumps(PAYLOAD))
        seed_cmd = [sys.executable, os.path.abspath(__file__), "--seed-server", str(pickle_path), "{port}"]
        with deploy.running_service(None, command=seed_cmd, ready_path="/predict") as seed, \
                deploy.running_service(bundle_dir, workers=workers, threads=threads,
                                       log_path=Path(tmp) / "predictions.jsonl") as ours:
            urls = {"seed": seed.url, "ours": ours.url}
            for name in urls:  # warm-up
                run_wrk(urls[name], script, 4, 1)
            for k, connections in enumerate(args.connections):
                order = ["seed", "ours"] if k % 2 == 0 else ["ours", "seed"]
                measured = {name: run_wrk(urls[name], script, connections, args.duration) for name in order}
                rows.append({"connections": connections, **measured})
            for name, path in (("seed", "/predict"), ("ours", "/health")):
                probes[name] = {"idle_200_s": probe_under(urls[name], path, idle=200),
                                "slowloris_8_s": probe_under(urls[name], path, slow=8)}

    print(f"wrk, 1-instance POST /predict, {args.duration:g} s per run, {deploy.usable_cores()} usable "
          f"cores; ours: nginx -> gunicorn {workers} workers x {threads} threads\n")
    print(f"{'conns':>5} | {'seed req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'ours req/s':>10} "
          f"{'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6}")
    for row in rows:
        seed_row, ours_row = row["seed"], row["ours"]
        row["ratio"] = ours_row["throughput_rps"] / max(seed_row["throughput_rps"], 1e-9)
        print(f"{row['connections']:5d} | {seed_row['throughput_rps']:10.1f} {seed_row['p50_ms']:7.1f} "
              f"{seed_row['p99_ms']:7.1f} | {ours_row['throughput_rps']:10.1f} {ours_row['p50_ms']:7.1f} "
              f"{ours_row['p99_ms']:7.1f} | x{row['ratio']:5.2f}")
    print("\nfirst answer while connections are held open (seconds; inf = none within 10 s):")
    for name, probe in probes.items():
        print(f"  {name}: 200 idle {probe['idle_200_s']:.3f}, 8 slowloris {probe['slowloris_8_s']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "probes": probes}, indent=2))
    failed = [row["connections"] for row in rows if row["seed"]["errors"] or row["ours"]["errors"]]
    if failed:
        print(f"errors or non-2xx answers at {failed} connections", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

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
which goes first, and prints throughput, p50 and p99 and the ratio ours / seed. Then, for
each service, it holds 200 idle connections open, and separately 8 slowloris connections
(request headers sent one byte a second, reopened when the server drops them), for
``--hold`` seconds each while probing ``/health`` every 0.1 s with a fresh connection, and
prints the worst and median time to an answer. Exits non-zero if wrk saw errors or non-2xx
answers::

    .venv/bin/python benchmarks/service.py [--duration 5] [--connections 8 32 64] [--hold 8]
        [--ports SEED OURS] [--json OUT]
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

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


class _HeldConnections:
    """Keep ``n`` connections open in a thread, reopening any the server closes.

    ``slow=False``: idle connections that never send a byte. ``slow=True``:
    slowloris clients that send their request headers one byte a second and
    never finish them.
    """

    def __init__(self, url: str, n: int, *, slow: bool):
        self.address = _address(url)
        self.n, self.slow = n, slow
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def __enter__(self):
        self.thread.start()
        time.sleep(0.5)  # let the server accept them
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _open(self):
        try:
            connection = socket.create_connection(self.address, timeout=2)
            connection.setblocking(False)
            return connection
        except OSError:
            return None

    def _hold(self):
        header = b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096
        held = [[self._open(), 0] for _ in range(self.n)]
        while not self.stop.wait(1.0 if self.slow else 0.2):
            for slot in held:
                connection, sent = slot
                try:
                    if connection is None or connection.recv(1) == b"":
                        raise OSError("closed by the server")
                except BlockingIOError:
                    pass  # still open, nothing to read: the usual case
                except OSError:
                    if connection is not None:
                        connection.close()
                    slot[:] = [self._open(), 0]  # as a real slowloris does: reconnect
                    continue
                if self.slow:
                    try:
                        connection.send(header[sent % len(header):][:1])
                        slot[1] = sent + 1
                    except OSError:
                        pass  # noticed as closed on the next round
        for connection, _ in held:
            if connection is not None:
                connection.close()


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def probe_under(url: str, path: str, *, idle: int = 0, slow: int = 0, seconds: float = 8.0,
                timeout: float = 5.0) -> dict:
    """Probe ``GET path`` every 0.1 s for ``seconds`` while idle or slowloris connections are held.

    Returns the number of probes, the worst and median time to the first byte
    of an answer (a probe without an answer within ``timeout`` counts as
    ``inf``), and how many got none.
    """
    times = []
    with _HeldConnections(url, idle or slow, slow=bool(slow)):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                with socket.create_connection(_address(url), timeout=timeout) as s:
                    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                    answered = s.recv(64).startswith(b"HTTP/1.")
            except OSError:  # refused, reset or timed out
                answered = False
            times.append(time.perf_counter() - start if answered else float("inf"))
            time.sleep(0.1)
    finite = sorted(t for t in times if t != float("inf"))
    return {"probes": len(times), "worst_s": max(times), "unanswered": len(times) - len(finite),
            "median_s": finite[len(finite) // 2] if finite else float("inf")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--hold", type=float, default=8.0,
                        help="seconds each slow-client attack lasts while /health is probed")
    parser.add_argument("--ports", type=int, nargs=2, metavar=("SEED", "OURS"),
                        help="loopback ports of the two services (default: free ones)")
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
        seed_port, ours_port = args.ports or (None, None)
        with deploy.running_service(None, command=seed_cmd, ready_path="/predict",
                                    port=seed_port) as seed, \
                deploy.running_service(bundle_dir, workers=workers, threads=threads, port=ours_port,
                                       log_path=Path(tmp) / "predictions.jsonl") as ours:
            runtime = requests.get(ours.url + "/health", timeout=10).json().get("runtime", {})
            urls = {"seed": seed.url, "ours": ours.url}
            for name in urls:  # warm-up
                run_wrk(urls[name], script, 4, 1)
            for k, connections in enumerate(args.connections):
                order = ["seed", "ours"] if k % 2 == 0 else ["ours", "seed"]
                measured = {name: run_wrk(urls[name], script, connections, args.duration) for name in order}
                rows.append({"connections": connections, **measured})
            for name, path in (("seed", "/predict"), ("ours", "/health")):
                probes[name] = {"idle_200": probe_under(urls[name], path, idle=200, seconds=args.hold),
                                "slowloris_8": probe_under(urls[name], path, slow=8, seconds=args.hold)}

    print(f"wrk, 1-instance POST /predict, {args.duration:g} s per run, {deploy.usable_cores()} usable "
          f"cores; ours: nginx -> gunicorn {workers} workers x {threads} threads, "
          f"model runtime: {runtime.get('note', 'unknown')}\n")
    print(f"{'conns':>5} | {'seed req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'ours req/s':>10} "
          f"{'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6}")
    for row in rows:
        seed_row, ours_row = row["seed"], row["ours"]
        row["ratio"] = ours_row["throughput_rps"] / max(seed_row["throughput_rps"], 1e-9)
        print(f"{row['connections']:5d} | {seed_row['throughput_rps']:10.1f} {seed_row['p50_ms']:7.1f} "
              f"{seed_row['p99_ms']:7.1f} | {ours_row['throughput_rps']:10.1f} {ours_row['p50_ms']:7.1f} "
              f"{ours_row['p99_ms']:7.1f} | x{row['ratio']:5.2f}")
    print(f"\ntime to answer a probe every 0.1 s for {args.hold:g} s while connections are held open "
          "(seed: GET /predict, ours: GET /health; inf = no answer within 5 s):")
    for name, probe in probes.items():
        for attack, label in (("idle_200", "200 idle"), ("slowloris_8", "8 slowloris")):
            p = probe[attack]
            print(f"  {name:4s} {label:11s}: worst {p['worst_s']:.3f} s, median {p['median_s']:.3f} s, "
                  f"{p['unanswered']} of {p['probes']} probes unanswered")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "probes": probes, "runtime": runtime},
                                              indent=2))
    failed = [row["connections"] for row in rows if row["seed"]["errors"] or row["ours"]["errors"]]
    if failed:
        print(f"errors or non-2xx answers at {failed} connections", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the seed articles' service against lifecycle.deploy, same model, machine and load.

The *seed-style* service is the source articles' deployment, faithfully: the model is
``pickle.dump``-ed, loaded into a global with ``pickle.load``, served by one Flask route
that passes the JSON straight to ``predict``, and started with ``app.run()`` (Flask's
development server, threaded). *Ours* is ``python -m lifecycle.deploy serve``: a
verified skops bundle, schema validation, strict JSON, a prediction log, gunicorn.

Both serve the same fitted pipeline on loopback, both running, and receive the
same load: ``--requests`` POSTs of the same one-instance payload from ``--concurrency``
client threads, after a warm-up, in alternating blocks so that changes in the machine's
background load do not favour either. The script prints throughput, p50 and p99 latency of
each and the ratios (ours / seed), and exits non-zero if any request failed::

    .venv/bin/python benchmarks/service.py [--requests 400] [--concurrency 4] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifecycle import deploy  # noqa: E402

PAYLOAD = {"instances": [{"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
                          "body_mass_g": 3750.0, "island": "Torgersen", "sex": "male"}]}


def seed_server(pickle_path: str, port: int) -> None:
    """Run the seed-style service: pickle, a global model, ``app.run()``."""
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

    app.run(host="127.0.0.1", port=port)


def run_load(urls: dict, n_requests: int, concurrency: int, warmup: int, rounds: int) -> dict:
    """Load each service in turn, in ``rounds`` alternating blocks, and summarise each.

    Alternating blocks (A B, B A, A B, ...) spread any change in the machine's
    background load over both services instead of biasing the one measured last.
    """
    for url in urls.values():
        deploy.measure_service(url, PAYLOAD, n_requests=warmup, concurrency=concurrency)
    latencies = {name: [] for name in urls}
    elapsed = dict.fromkeys(urls, 0.0)
    errors = dict.fromkeys(urls, 0)
    names = list(urls)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            measured = deploy.measure_service(urls[name], PAYLOAD, n_requests=n_requests // rounds,
                                              concurrency=concurrency)
            latencies[name].extend(measured["latencies_s"])
            elapsed[name] += measured["elapsed_s"]
            errors[name] += sum(1 for s in measured["statuses"] if s != 200)
    results = {}
    for name in names:
        results[name] = deploy.summarize_latency(latencies[name], elapsed[name])
        results[name]["errors"] = errors[name]
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4, help="alternating measurement blocks")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of our service")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--seed-server", nargs=2, metavar=("PICKLE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_server:
        seed_server(args.seed_server[0], int(args.seed_server[1]))
        return 0
    if not (1 <= args.requests <= 20000 and 1 <= args.concurrency <= 64):
        parser.error("keep the load bounded: 1-20000 requests, 1-64 client threads")

    bundle = deploy.train_reference_bundle(seed=0)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        bundle_dir = deploy.save_bundle(bundle, Path(tmp) / "bundle")
        pickle_path = Path(tmp) / "model.pkl"
        with open(pickle_path, "wb") as f:
            pickle.dump(bundle["model"], f)  # the seed's way
        seed_cmd = [sys.executable, os.path.abspath(__file__), "--seed-server", str(pickle_path), "{port}"]
        with deploy.running_service(None, command=seed_cmd, ready_path="/predict") as seed_service, \
                deploy.running_service(bundle_dir, workers=args.workers, threads=args.threads,
                                       log_path=Path(tmp) / "predictions.jsonl") as ours_service:
            results = run_load({"seed (pickle + app.run)": seed_service.url,
                                f"ours (gunicorn {args.workers}w x {args.threads}t)": ours_service.url},
                               args.requests, args.concurrency, args.warmup, args.rounds)

    (seed_name, seed), (ours_name, ours) = results.items()
    print(f"{args.requests} requests of 1 instance, {args.concurrency} client threads, "
          f"{os.cpu_count()} CPUs, loopback\n")
    print(f"{'service':34} {'throughput/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:34} {r['throughput_rps']:12.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['errors']:7d}")
    ratios = {"throughput": ours["throughput_rps"] / seed["throughput_rps"],
              "p50": ours["p50_ms"] / seed["p50_ms"], "p99": ours["p99_ms"] / seed["p99_ms"]}
    print(f"\nratio ours / seed: throughput x{ratios['throughput']:.2f}, "
          f"p50 x{ratios['p50']:.2f}, p99 x{ratios['p99']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "ratios": ratios,
                                               "requests": args.requests,
                                               "concurrency": args.concurrency}, indent=2))
    return 1 if any(r["errors"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

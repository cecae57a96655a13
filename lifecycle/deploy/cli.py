"""Command line: ``train --out PATH`` and ``serve --model PATH --host H --port P``."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import lifecycle.deploy as package
from lifecycle.deploy.bundle import BundleError, save_bundle, train_reference_bundle
from lifecycle.deploy.serving import serve


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``train --out PATH`` and ``serve --model PATH --host H --port P``."""
    parser = argparse.ArgumentParser(prog="python -m lifecycle.deploy",
                                     description=package.__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train and save the reference bundle")
    train.add_argument("--out", required=True, help="bundle folder to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--version", default="penguins-1.0.0")
    run = commands.add_parser("serve", help="serve a bundle with gunicorn")
    run.add_argument("--model", required=True, help="bundle folder to serve")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--threads", type=int, default=2,
                     help="threads per worker (gunicorn's gthread worker when > 1)")
    run.add_argument("--log", default="predictions.jsonl", help="prediction log (JSON lines)")
    args = parser.parse_args(argv)
    if args.command == "train":
        bundle = train_reference_bundle(seed=args.seed, version=args.version)
        path = save_bundle(bundle, args.out)
        metrics = bundle["metadata"]["metrics"]
        print(f"saved {bundle['metadata']['model_version']} to {path} "
              f"(test accuracy {metrics['accuracy']:.3f})")
        return 0
    try:
        serve(args.model, args.host, args.port, workers=args.workers, threads=args.threads,
              log_path=args.log)
    except BundleError as error:
        print(f"error: refusing to serve {args.model}: {error}", file=sys.stderr)
        return 2
    return 0

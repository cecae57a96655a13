"""Command line: ``train --out PATH`` and ``serve --model PATH --host H --port P``."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import lifecycle.deploy as package
from lifecycle.deploy.bundle import BundleError, save_bundle, train_reference_bundle
from lifecycle.deploy.proxy import ProxyError
from lifecycle.deploy.serving import run_gunicorn, serve


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``train --out PATH`` and ``serve --model PATH --host H --port P``."""
    parser = argparse.ArgumentParser(prog="python -m lifecycle.deploy",
                                     description=package.__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train and save the reference bundle")
    train.add_argument("--out", required=True, help="bundle folder to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--version", default="penguins-1.0.0")
    run = commands.add_parser("serve", help="serve a bundle: nginx in front of gunicorn")
    run.add_argument("--model", required=True, help="bundle folder to serve")
    run.add_argument("--candidate", default=None,
                     help="a second bundle to roll out: it predicts every request too, and "
                          "answers the --canary share of them (lesson 08)")
    run.add_argument("--canary", type=_share, default=0.0,
                     help="share of requests the candidate answers, in [0, 1] "
                          "(default 0: shadow traffic)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=_positive, default=None,
                     help="gunicorn processes (default: one per usable core)")
    run.add_argument("--threads", type=_positive, default=None,
                     help="threads per gunicorn process (default: 2)")
    run.add_argument("--log", default=None,
                     help="prediction log, JSON lines (default: "
                          "$XDG_STATE_HOME/lifecycle/predictions.jsonl, else "
                          "~/.local/state/lifecycle/predictions.jsonl)")
    run.add_argument("--no-proxy", action="store_true",
                     help="serve gunicorn directly, without nginx: unprotected against slow "
                          "clients; only where nginx cannot be installed")
    run.add_argument("--bind", default=None, help=argparse.SUPPRESS)  # set by serve for gunicorn
    args = parser.parse_args(argv)
    if args.command == "serve" and args.canary and not args.candidate:
        parser.error("--canary needs --candidate PATH: the bundle that answers that share")
    if args.command == "train":
        bundle = train_reference_bundle(seed=args.seed, version=args.version)
        path = save_bundle(bundle, args.out)
        metrics = bundle["metadata"]["metrics"]
        print(f"saved {bundle['metadata']['model_version']} to {path} "
              f"(test accuracy {metrics['accuracy']:.3f})")
        return 0
    try:
        if args.bind:
            run_gunicorn(args.model, args.bind, workers=args.workers or 1,
                         threads=args.threads or 1, log_path=args.log,
                         candidate_path=args.candidate, canary=args.canary)
            return 0
        return serve(args.model, args.host, args.port, workers=args.workers,
                     threads=args.threads, log_path=args.log, proxy=not args.no_proxy,
                     candidate_path=args.candidate, canary=args.canary)
    except BundleError as error:
        print(f"error: refusing to serve {args.model}"
              + (f" with candidate {args.candidate}" if args.candidate else "")
              + f": {error}", file=sys.stderr)
    except ProxyError as error:
        print(f"error: cannot start the proxy: {error}", file=sys.stderr)
    return 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share in [0, 1], got {value}")
    return value

"""Sizing the workshop hub: N simulated learners submitting lesson 01 within a minute.

    sudo .venv/bin/python benchmarks/hub.py [--learners 20] [--spread 60] [--out FILE]

Starts a real hub (``python -m lifecycle.hub``, as ``make hub``) with N prefixed test
accounts (removed afterwards), releases lesson 01 through the formgrader's API, logs each
learner in through the hub's login form and starts their server through the hub's REST
API, fetches, saves a correct notebook and submits at a random moment within ``--spread``
seconds, then polls Fetch Feedback (every 2 s) until each learner's feedback is there.
Everything goes over HTTP, as browsers do.

Reports: seconds from each Submit to its feedback (median, max) and from the last Submit
to the last feedback; memory per learner server (USS and RSS of each learner's processes,
a server with no kernel running); the hub's and the proxy's CPU seconds over the run; the
grading service's CPU. Prints a JSON summary and writes it to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
import psutil  # noqa: E402

from lifecycle.hub.client import HubUser  # noqa: E402
from tests.browser_support import filled  # noqa: E402
from tests.hub_support import HubProcess  # noqa: E402

LESSON, STEM = "01_preprocessing", "preprocessing"


def _tree_cpu(proc: psutil.Process) -> float:
    """CPU seconds of ``proc``, its running children and its children that have exited
    (the grading runs)."""
    try:
        t = proc.cpu_times()
        total = t.children_user + t.children_system
    except psutil.Error:
        total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _find(cmd_part: str) -> psutil.Process | None:
    for p in psutil.process_iter(["cmdline"]):
        if any(cmd_part in part for part in (p.info["cmdline"] or [])):
            return p
    return None


def _memory_by_learner(names: list[str]) -> list[dict]:
    uids = {pwd.getpwnam("mll-" + n).pw_uid: n for n in names}
    usage = {n: {"uss": 0, "rss": 0} for n in names}
    for p in psutil.process_iter(["uids"]):
        uid = p.info["uids"].real if p.info["uids"] else None
        if uid in uids:
            try:
                full = p.memory_full_info()
            except psutil.Error:
                continue
            usage[uids[uid]]["uss"] += full.uss
            usage[uids[uid]]["rss"] += full.rss
    return [dict(name=n, **v) for n, v in usage.items()]


def run(learners: int, spread: float, seed: int = 0) -> dict:
    rng = random.Random(seed)
    hub = HubProcess([f"l{i:02d}" for i in range(learners)], grading_workers=os.cpu_count() or 2)
    hub.start()
    try:
        hub_proc = psutil.Process(hub.proc.pid)
        instructor = HubUser(hub.url, "instructor", hub.password("instructor"))
        instructor.start_server()
        instructor.release(LESSON)
        t0 = time.monotonic()
        users = [HubUser(hub.url, n, hub.password(n), timeout=120) for n in hub.names.values()]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda u: u.start_server(wait=600), users))
        spawn_seconds = time.monotonic() - t0
        notebook = json.loads(nbformat.writes(filled(LESSON, STEM)))
        for u in users:
            u.fetch(LESSON)
            u.put_notebook(f"{LESSON}/{STEM}.ipynb", notebook)
        memory = _memory_by_learner(list(hub.names.values()))
        grading = _find("lifecycle.hub.grading")
        proxy = _find("configurable-http-proxy")
        cpu0 = {"hub": sum(hub_proc.cpu_times()[:2]),
                "proxy": sum(proxy.cpu_times()[:2]) if proxy else 0.0,
                "grading": _tree_cpu(grading) if grading else 0.0}
        offsets = sorted(rng.uniform(0, spread) for _ in users)
        start = time.monotonic()

        def learner(pair):
            user, offset = pair
            time.sleep(max(0.0, start + offset - time.monotonic()))
            submitted = time.monotonic()
            user.submit(LESSON)
            user.feedback(LESSON, wait=900, poll=2.0)
            return submitted - start, time.monotonic() - start

        # every learner submits from its own thread, as a room of browsers would
        with ThreadPoolExecutor(len(users)) as pool:
            times = list(pool.map(learner, zip(users, offsets, strict=True)))
        wall = time.monotonic() - start
        grading_cpu = (_tree_cpu(grading) if grading else 0.0) - cpu0["grading"]
        cpu1 = {"hub": sum(hub_proc.cpu_times()[:2]),
                "proxy": sum(proxy.cpu_times()[:2]) if proxy else 0.0}
        waits = [done - sent for sent, done in times]
        uss = [m["uss"] / 2**20 for m in memory]
        rss = [m["rss"] / 2**20 for m in memory]
        return {
            "learners": learners, "spread_seconds": spread, "cores": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "server_start_seconds_all": round(spawn_seconds, 1),
            "feedback_seconds_median": round(statistics.median(waits), 1),
            "feedback_seconds_max": round(max(waits), 1),
            "last_submit_to_last_feedback_seconds": round(max(d for _, d in times)
                                                          - max(s for s, _ in times), 1),
            "run_seconds": round(wall, 1),
            "server_uss_mib_median": round(statistics.median(uss), 1),
            "server_rss_mib_median": round(statistics.median(rss), 1),
            "hub_cpu_seconds": round(cpu1["hub"] - cpu0["hub"], 1),
            "proxy_cpu_seconds": round(cpu1["proxy"] - cpu0["proxy"], 1),
            "hub_cpu_share_of_one_core": round((cpu1["hub"] - cpu0["hub"]) / wall, 3),
            "grading_cpu_seconds": round(grading_cpu, 1),
            "grading_cpu_seconds_per_notebook": round(grading_cpu / len(users), 1),
        }
    finally:
        hub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--spread", type=float, default=60.0,
                        help="submissions fall at random within this many seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "benchmarks" / "hub.json")
    args = parser.parse_args(argv)
    if os.getuid() != 0:
        print("benchmarks/hub.py creates a Unix user per simulated learner: run it as root",
              file=sys.stderr)
        return 2
    result = run(args.learners, args.spread)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The lesson's figures: latency distributions, answers to bad requests, the SHA-256 avalanche."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lifecycle.deploy.bundle import sha256_bytes


def plot_latency(samples_ms: Mapping[str, Sequence[float]], *, ax=None):
    """Plot latency distributions (empirical CDFs) with their p50 and p99 marked.

    Parameters
    ----------
    samples_ms : dict of str to array-like
        Latencies in milliseconds, by series name.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    from lifecycle.plotting import COLORS, new_axes

    ax = new_axes("Request latency under load", "latency (ms, log scale)",
                  "fraction of requests at most this slow", ax=ax)
    for color, (name, values) in zip(COLORS, samples_ms.items(), strict=False):
        values = np.sort(np.asarray(values, dtype=float))
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post",
                color=color, label=name)
        for q, style in ((50, ":"), (99, "--")):
            ax.axvline(np.percentile(values, q), color=color, linestyle=style, linewidth=1)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.plot([], [], "k:", label="p50")
    ax.plot([], [], "k--", label="p99")
    ax.legend(loc="lower right")
    return ax


def plot_status_codes(statuses: Mapping[str, Sequence[int]], labels: Sequence[str], *, ax=None):
    """Compare the status codes two services give to the same requests.

    Parameters
    ----------
    statuses : dict of str to list of int
        Status code of each request, by service name.
    labels : list of str
        What each request does wrong.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    from lifecycle.plotting import COLORS, new_axes

    ax = new_axes("Answers to bad requests", "HTTP status code", "", ax=ax,
                  figsize=(6.4, 0.35 * len(labels) + 1.2))
    y = np.arange(len(labels))
    height = 0.8 / max(len(statuses), 1)
    for k, (color, (name, codes)) in enumerate(zip(COLORS, statuses.items(), strict=False)):
        ax.barh(y + k * height, codes, height=height, color=color, label=name)
    ax.axvline(500, color="k", linestyle="--", linewidth=1)
    ax.text(502, len(labels) - 0.6, "5xx: the server's fault", fontsize=8)
    ax.set_yticks(y + height * (len(statuses) - 1) / 2, labels)
    ax.set_xlim(0, 560)
    ax.legend(loc="lower right")
    return ax


def plot_avalanche(model_bytes: bytes, *, n_flips: int = 200, seed: int = 0, ax=None):
    """Flip one random bit of a file many times and plot how much its SHA-256 changes.

    Parameters
    ----------
    model_bytes : bytes
        The file's content.
    n_flips : int
        Number of single-bit changes to try.
    seed : int
        Seed of the positions.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
        Histogram of the number of digest bits (of 256) that change.
    """
    from lifecycle.plotting import new_axes

    rng = np.random.default_rng(seed)
    original = int(sha256_bytes(model_bytes), 16)
    changed = []
    for position in rng.integers(0, len(model_bytes) * 8, n_flips):
        data = bytearray(model_bytes)
        data[position // 8] ^= 1 << (position % 8)
        changed.append(bin(original ^ int(sha256_bytes(bytes(data)), 16)).count("1"))
    ax = new_axes(f"One flipped bit, {n_flips} tries: the SHA-256 changes completely",
                  "digest bits changed (of 256)", "number of tries", ax=ax)
    ax.hist(changed, bins=20)
    ax.axvline(128, color="k", linestyle="--", linewidth=1, label="half of the bits")
    ax.set_xlim(0, 256)
    ax.legend()
    return ax



def plot_concurrency_curve(rows, knee_at: int | None = None):
    """Throughput and p50/p99 latency against requests in flight, with the knee marked.

    Parameters
    ----------
    rows : list of dict
        From :func:`~lifecycle.deploy.measure.concurrency_curve`.
    knee_at : int, optional
        Concurrency to mark (:func:`~lifecycle.deploy.measure.knee`).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    levels = [r["concurrency"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(levels, [r["throughput_rps"] for r in rows], "o-")
    left.set(xscale="log", xlabel="requests in flight (client concurrency)",
             ylabel="throughput (requests/s)", title="throughput saturates ...")
    right.plot(levels, [r["p50_ms"] for r in rows], "o-", label="p50")
    right.plot(levels, [r["p99_ms"] for r in rows], "s--", label="p99")
    right.set(xscale="log", xlabel="requests in flight (client concurrency)",
              ylabel="latency (ms)", title="... then latency grows")
    right.legend()
    if knee_at is not None:
        for ax in (left, right):
            ax.axvline(knee_at, color="grey", linestyle=":", label="knee")
    for ax in (left, right):
        ax.set_xticks(levels, [str(v) for v in levels])
    fig.tight_layout()
    return fig

"""How many gunicorn workers and threads: a rule derived from the machine and the request's cost."""
from __future__ import annotations

import math
import os

#: Threads per worker of the default plan: ``ceil(wall / cpu)`` for a request
#: that waits (reading its body from nginx, writing its response and log line)
#: at most as long as it computes.
DEFAULT_THREADS = 2


def usable_cores() -> int:
    """Return the number of CPU cores this process may run on (its affinity, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def plan_capacity(cpu_ms: float, wall_ms: float, cores: int) -> tuple[int, int]:
    """Choose gunicorn workers and threads from a request's measured cost.

    A request holds its worker's GIL for ``cpu_ms`` and takes ``wall_ms`` in
    all. The CPU ceiling is ``cores / cpu_ms`` requests per millisecond; by
    Little's law it is reached with ``cores * wall_ms / cpu_ms`` requests in
    flight. One process per core (threads of one process share one GIL), and
    per process the threads that keep its core busy while one request waits.

    Parameters
    ----------
    cpu_ms : float
        CPU time of one request, > 0.
    wall_ms : float
        Wall-clock time of one request on an idle server, >= ``cpu_ms``.
    cores : int
        Usable cores, >= 1.

    Returns
    -------
    workers, threads : int, int
        ``cores`` and ``ceil(wall_ms / cpu_ms)``.

    Raises
    ------
    ValueError
        If an argument is out of its range.
    """
    if not (isinstance(cores, int) and cores >= 1):
        raise ValueError(f"cores must be an int >= 1, got {cores!r}")
    if not (math.isfinite(cpu_ms) and cpu_ms > 0 and math.isfinite(wall_ms) and wall_ms >= cpu_ms):
        raise ValueError(f"need 0 < cpu_ms <= wall_ms (finite), got cpu_ms={cpu_ms!r}, "
                         f"wall_ms={wall_ms!r}")
    return cores, max(1, math.ceil(wall_ms / cpu_ms - 1e-9))


def default_capacity() -> tuple[int, int]:
    """Return the workers and threads ``serve`` uses: one worker per usable core, each with
    :data:`DEFAULT_THREADS` threads."""
    return usable_cores(), DEFAULT_THREADS

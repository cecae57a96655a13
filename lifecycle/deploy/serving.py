"""Serving: run a bundle under gunicorn, or start that server in a subprocess and stop it."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from lifecycle.deploy.app import create_app
from lifecycle.deploy.bundle import load_bundle


def serve(model_path, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 2,
          threads: int = 2, log_path="predictions.jsonl", timeout: int = 30) -> None:
    """Serve a bundle with gunicorn (blocks until the server stops).

    The bundle is loaded and verified once in the master process, before any
    port is bound, so a tampered bundle stops the service at start-up; the
    workers inherit the loaded model.
    """
    from gunicorn.app.base import BaseApplication

    bundle = load_bundle(model_path)
    app = create_app(bundle, log_path=log_path)

    class _Gunicorn(BaseApplication):
        def load_config(self):
            options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                       "timeout": timeout, "graceful_timeout": 5, "preload_app": True,
                       "accesslog": None, "loglevel": "warning"}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    _Gunicorn().run()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Service:
    """A running service: its base ``url``, ``process`` and ``log_path``."""

    def __init__(self, url: str, process: subprocess.Popen, log_path: Path):
        self.url, self.process, self.log_path = url, process, log_path

    def __repr__(self) -> str:
        return f"<service {self.url} pid={self.process.pid}>"


@contextlib.contextmanager
def running_service(model_path, *, port: int | None = None, log_path=None, workers: int = 2,
                    threads: int = 2,
                    startup_timeout: float = 30.0, command: Sequence[str] | None = None,
                    ready_path: str = "/health") -> Iterator[_Service]:
    """Start the service in a subprocess, wait until healthy, always stop it.

    Parameters
    ----------
    model_path : str or path-like
        The bundle to serve.
    port : int, optional
        Loopback port; a free one by default.
    log_path : str or path-like, optional
        Prediction log; a fresh temporary file by default.
    workers : int
        gunicorn worker processes.
    threads : int
        Threads per worker (more than 1 selects gunicorn's ``gthread`` worker,
        which keeps connections alive).
    startup_timeout : float
        Seconds to wait for the server to answer (see ``ready_path``).
    command : sequence of str, optional
        Another server command line (``{port}`` is filled in), used by the
        benchmark to start the seed-style service.
    ready_path : str
        Path polled until the server answers: ``/health`` must answer 200;
        for another path (a server without ``/health``) any non-5xx answer
        means it is up.

    Yields
    ------
    service
        With ``url`` (e.g. ``"http://127.0.0.1:54321"``), ``process`` and
        ``log_path``.

    Raises
    ------
    RuntimeError
        If the server exits or is not healthy in time; the message holds the
        end of its output.
    """
    import requests

    port = port or free_port()
    tmp = tempfile.TemporaryDirectory(prefix="lifecycle-service-")
    log_path = Path(log_path) if log_path else Path(tmp.name) / "predictions.jsonl"
    if command is None:
        command = [sys.executable, "-m", "lifecycle.deploy", "serve", "--model", str(model_path),
                   "--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers),
                   "--threads", str(threads),
                   "--log", str(log_path)]
    command = [part.replace("{port}", str(port)) for part in command]
    output = open(Path(tmp.name) / "server.out", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with code {process.returncode}:\n"
                                   + _tail(output))
            try:
                status = requests.get(url + ready_path, timeout=1).status_code
                if status == 200 or (ready_path != "/health" and status < 500):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not healthy after {startup_timeout} s:\n"
                                   + _tail(output))
            time.sleep(0.1)
        yield _Service(url, process, log_path)
    finally:
        _stop(process)
        output.close()
        if log_path.parent == Path(tmp.name):
            tmp.cleanup()  # the caller did not ask to keep the log
        else:
            with contextlib.suppress(OSError):
                tmp.cleanup()


def _tail(output, limit: int = 2000) -> str:
    output.flush()
    output.seek(0)
    return output.read().decode("utf-8", "replace")[-limit:]


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn stops its workers gracefully
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


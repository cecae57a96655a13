"""Serving: nginx and gunicorn started, watched and stopped as one service, and a test harness."""
from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from lifecycle.deploy.app import create_app
from lifecycle.deploy.bundle import load_bundle, read_verified
from lifecycle.deploy.capacity import default_capacity
from lifecycle.deploy.proxy import ProxyError, find_nginx, write_nginx_files
from lifecycle.deploy.runtime import default_cache_dir, serving_bundle
from lifecycle.deploy.validation import MAX_BODY_BYTES


def default_log_path() -> Path:
    """Return where ``serve`` appends predictions unless told otherwise.

    ``$XDG_STATE_HOME/lifecycle/predictions.jsonl``, by default
    ``~/.local/state/lifecycle/predictions.jsonl``: outside any repository,
    and kept across runs (lesson 06 reads it).
    """
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "lifecycle" / "predictions.jsonl"


def run_gunicorn(model_path, bind: str, *, workers: int, threads: int, log_path,
                 timeout: int = 30, candidate_path=None, canary: float = 0.0) -> None:
    """Serve a bundle with gunicorn on ``bind`` (``HOST:PORT`` or ``unix:PATH``); blocks.

    The bundle is loaded and verified once in the master process, before
    anything is bound, so a tampered bundle stops the service at start-up,
    and compiled to ONNX if the graph agrees with the pipeline
    (:func:`~lifecycle.deploy.runtime.serving_bundle`; the log says which
    runtime predicts); the workers inherit it. ``gthread`` workers keep the
    proxy's connections alive between requests.
    """
    from gunicorn.app.base import BaseApplication
    from gunicorn.workers.gthread import ThreadWorker

    bundle = serving_bundle(load_bundle(model_path), cache_dir=default_cache_dir(), isolate=True)
    print(f"model runtime: {bundle['runtime']['note']}", file=sys.stderr, flush=True)
    candidate = None
    if candidate_path is not None:
        candidate = serving_bundle(load_bundle(candidate_path), cache_dir=default_cache_dir(),
                                   isolate=True)
        print(f"candidate {candidate['metadata']['model_version']} answers {canary:.0%} of "
              f"requests: {candidate['runtime']['note']}", file=sys.stderr, flush=True)
    app = create_app(bundle, log_path=log_path, candidate=candidate, canary=canary)
    # What the master loaded (libraries, model) is never freed: out of the garbage
    # collector's sight, workers neither scan it during requests nor for seconds at exit,
    # and share its memory pages with the master instead of copying them.
    gc.freeze()

    class _Worker(ThreadWorker):
        def run(self):
            super().run()
            # Stopped gracefully: every request answered, its log lines written (unbuffered).
            # Python's own teardown would only free the inherited heap object by object
            # (0.2 s for scikit-learn's), so the worker ends here.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    class _Gunicorn(BaseApplication):
        def load_config(self):
            # No control socket: it would live in ~/.gunicorn, one path for every service.
            options = {"bind": bind, "workers": workers, "threads": threads,
                       "worker_class": _Worker, "timeout": timeout, "graceful_timeout": 5,
                       "keepalive": 75, "backlog": 2048, "preload_app": True,
                       "accesslog": None, "loglevel": "warning", "control_socket_disable": True}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    try:
        _Gunicorn().run()
    except SystemExit as stop:
        # The arbiter exits once its workers have: Python's teardown would only free the
        # master's heap object by object (a tenth of a second), as in the workers (_Worker).
        code = stop.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)


def serve(model_path, host: str = "127.0.0.1", port: int = 8000, *, workers: int | None = None,
          threads: int | None = None, log_path=None, proxy: bool = True,
          candidate_path=None, canary: float = 0.0) -> int:
    """Serve a bundle: nginx on ``host:port`` in front of gunicorn on a unix socket.

    Blocks until SIGINT (Ctrl-C) or SIGTERM, then stops nginx, then gunicorn
    (letting running requests finish), and removes the run's temporary folder.
    If either server exits on its own, the other is stopped too.

    Parameters
    ----------
    model_path : str or path-like
        The bundle; verified before anything starts.
    host, port : str, int
        The public address (nginx's).
    workers, threads : int, optional
        gunicorn processes and threads per process; by default
        :func:`~lifecycle.deploy.capacity.default_capacity` (one worker per
        usable core, two threads each).
    log_path : str or path-like, optional
        The prediction log; :func:`default_log_path` by default.
    proxy : bool, default=True
        ``False`` serves gunicorn directly on ``host:port``: only for a
        machine without nginx, knowingly (slow clients can then hold every
        thread).
    candidate_path : str or path-like, optional
        A second bundle to roll out (lesson 08): it predicts every request,
        answers the ``canary`` share of them, and both versions are logged
        (:func:`~lifecycle.deploy.app.create_app`).
    canary : float, default=0.0
        The candidate's share of the answers, in [0, 1]; 0 is shadow traffic.

    Returns
    -------
    status : int
        0 after a requested stop, else the exit status of the server that
        stopped first.

    Raises
    ------
    BundleError
        The bundle fails verification.
    ProxyError
        nginx is not installed (the message says how to install it) or
        exits at start-up.
    """
    # Refuse a tampered bundle before anything starts; gunicorn unpacks and checks it fully.
    read_verified(model_path)
    if candidate_path is not None:
        read_verified(candidate_path)
    elif canary:
        raise ValueError("a canary share needs a candidate bundle (candidate_path)")
    default_workers, default_threads = default_capacity()
    workers, threads = workers or default_workers, threads or default_threads
    log_path = Path(log_path) if log_path else default_log_path()
    if not proxy:
        run_gunicorn(model_path, f"{host}:{port}", workers=workers, threads=threads,
                     log_path=log_path, candidate_path=candidate_path, canary=canary)
        return 0
    nginx = find_nginx()
    with tempfile.TemporaryDirectory(prefix="lifecycle-serve-") as tmp:
        workdir = Path(tmp)
        socket_path = workdir / "gunicorn.sock"
        config = write_nginx_files(workdir, host=host, port=port, upstream_socket=socket_path,
                                   max_body_bytes=MAX_BODY_BYTES)
        model = [sys.executable, "-m", "lifecycle.deploy", "serve", "--no-proxy",
                 "--model", str(model_path), "--bind", f"unix:{socket_path}",
                 "--workers", str(workers), "--threads", str(threads), "--log", str(log_path)]
        print(f"serving http://{host}:{port}: nginx -> gunicorn ({workers} workers x {threads} "
              f"threads) on {socket_path}; prediction log {log_path}; Ctrl-C stops", flush=True)
        return _supervise(model, [nginx, "-p", str(workdir), "-c", str(config), "-e", "stderr"],
                          socket_path)


class _Stop(Exception):
    """A stop signal arrived."""


def _raise_stop(signum, frame):
    raise _Stop(signum)


def _supervise(model_command: Sequence[str], nginx_command: Sequence[str],
               socket_path: Path) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    model = nginx = None
    try:
        # Children run in their own sessions, so a terminal's Ctrl-C reaches this
        # process only, which stops them in order; they die with it if it is killed.
        model = _spawn(model_command, env)
        if not _wait_for_socket(model, socket_path):
            return model.returncode or 1  # gunicorn said why on stderr
        nginx = _spawn(nginx_command, env)
        while True:
            for process in (model, nginx):
                if process.poll() is not None:
                    if process is nginx and process.returncode:
                        raise ProxyError(f"nginx exited with status {process.returncode}; "
                                         "its messages are above")
                    return process.returncode or 1
            time.sleep(0.2)
    except _Stop:
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if nginx is not None:
            stop_process_group(nginx, signal.SIGQUIT, grace=5.0)  # graceful: finish what is in flight
        if model is not None:
            stop_process_group(model, signal.SIGTERM, grace=15.0)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent's finally block still stops the children


def _spawn(command: Sequence[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(list(command), env=env, start_new_session=True,
                            preexec_fn=_die_with_parent)  # noqa: PLW1509 - no threads yet


def _wait_for_socket(process: subprocess.Popen, socket_path: Path, timeout: float = 120.0) -> bool:
    """Wait until gunicorn listens on its socket; ``False`` if it exited first."""
    deadline = time.monotonic() + timeout
    while not socket_path.exists():
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise ProxyError(f"gunicorn did not open {socket_path} within {timeout:.0f} s")
        time.sleep(0.05)
    return True


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
                    threads: int = 2, proxy: bool = True,
                    startup_timeout: float = 60.0, command: Sequence[str] | None = None,
                    ready_path: str = "/health", candidate=None,
                    canary: float = 0.0) -> Iterator[_Service]:
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
        Threads per worker.
    proxy : bool, default=True
        Serve behind nginx, as ``serve`` does; ``False`` passes ``--no-proxy``.
    startup_timeout : float
        Seconds to wait for the server to answer (see ``ready_path``).
    command : sequence of str, optional
        Another server command line (``{port}`` is filled in), used by the
        benchmark to start the seed-style service.
    ready_path : str
        Path polled until the server answers: ``/health`` must answer 200;
        for another path (a server without ``/health``) any non-5xx answer
        means it is up.
    candidate : str or path-like, optional
        A second bundle to roll out, passed as ``--candidate``.
    canary : float, default=0.0
        The candidate's share, passed as ``--canary``.

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
    options = {"port": port, "log_path": log_path, "workers": workers, "threads": threads,
               "proxy": proxy, "command": command, "ready_path": ready_path,
               "candidate": candidate, "canary": canary}
    with running_services(model_path, options, startup_timeout=startup_timeout) as (service,):
        yield service


@contextlib.contextmanager
def running_services(model_path, *variants: Mapping,
                     startup_timeout: float = 60.0) -> Iterator[list[_Service]]:
    """Start several services of one bundle at once, wait until all are healthy, always stop all.

    Their start-ups overlap, and so do their stops: each server loads and
    checks the bundle on its own, seconds of CPU that one after the other
    would add up on a machine with cores to spare.

    Parameters
    ----------
    model_path : str or path-like
        The bundle every service serves.
    *variants : dict
        One per service: keyword arguments of :func:`running_service` other
        than ``startup_timeout`` (``workers``, ``threads``, ``proxy``,
        ``port``, ``log_path``, ...).
    startup_timeout : float
        Seconds to wait for all of them to answer.

    Yields
    ------
    services : list
        One per variant, in their order, as :func:`running_service` yields.

    Raises
    ------
    RuntimeError
        If a server exits or is not healthy in time (the message holds the
        end of its output); the others are stopped too.
    """
    launches = []
    try:
        for options in variants:
            launches.append(_Launch(model_path, **options))
        deadline = time.monotonic() + startup_timeout
        yield [launch.wait_until_ready(deadline, startup_timeout) for launch in launches]
    finally:
        for launch in launches:  # all stop at once; a second SIGTERM would cut a stop short
            _signal_group(launch.process, signal.SIGTERM)
        for launch in launches:
            launch.close()


class _Launch:
    """A service's command started in a session of its own, its output kept in a temporary folder."""

    def __init__(self, model_path, *, port: int | None = None, log_path=None, workers: int = 2,
                 threads: int = 2, proxy: bool = True, command: Sequence[str] | None = None,
                 ready_path: str = "/health", candidate=None, canary: float = 0.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_path = ready_path
        self.tmp = tempfile.TemporaryDirectory(prefix="lifecycle-service-")
        self.log_path = Path(log_path) if log_path else Path(self.tmp.name) / "predictions.jsonl"
        if command is None:
            command = [sys.executable, "-m", "lifecycle.deploy", "serve", "--model",
                       str(model_path), "--host", "127.0.0.1", "--port", "{port}",
                       "--workers", str(workers), "--threads", str(threads),
                       "--log", str(self.log_path)] + ([] if proxy else ["--no-proxy"])
            if candidate is not None:
                command += ["--candidate", str(candidate), "--canary", str(canary)]
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.output = open(Path(self.tmp.name) / "server.out", "w+b")  # noqa: SIM115 - closed below
        try:
            self.process = subprocess.Popen(command, stdout=self.output, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        except BaseException:
            self.output.close()
            self.tmp.cleanup()
            raise

    def wait_until_ready(self, deadline: float, startup_timeout: float) -> _Service:
        """Poll ``ready_path`` until it answers (see :func:`running_service`); return the service."""
        import requests

        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with code {self.process.returncode}:\n"
                                   + _tail(self.output))
            # A refused connection is answered at once and costs no HTTP client; the
            # port opens in the last tenths of a second of a start-up of seconds.
            if _accepts(self.port):
                try:
                    status = requests.get(self.url + self.ready_path, timeout=1).status_code
                    if status == 200 or (self.ready_path != "/health" and status < 500):
                        return _Service(self.url, self.process, self.log_path)
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not healthy after {startup_timeout} s:\n"
                                   + _tail(self.output))
            time.sleep(0.02)

    def close(self) -> None:
        """Wait for the signalled process group to exit, close the output, remove the folder."""
        _await_exit(self.process, grace=20.0)
        self.output.close()
        if self.log_path.parent == Path(self.tmp.name):
            self.tmp.cleanup()  # the caller did not ask to keep the log
        else:
            with contextlib.suppress(OSError):
                self.tmp.cleanup()


def _accepts(port: int) -> bool:
    """Whether something listens on the loopback ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(output, limit: int = 2000) -> str:
    output.flush()
    output.seek(0)
    return output.read().decode("utf-8", "replace")[-limit:]


def stop_process_group(process: subprocess.Popen, how: int = signal.SIGTERM, grace: float = 20.0) -> None:
    """Signal a process group, wait ``grace`` seconds, then kill it."""
    _signal_group(process, how)
    _await_exit(process, grace)


def _signal_group(process: subprocess.Popen, how: int) -> None:
    """Send ``how`` to the process group of ``process``, unless it has exited."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, how)


def _await_exit(process: subprocess.Popen, grace: float) -> None:
    """Wait ``grace`` seconds for a signalled process to exit, then kill its group."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

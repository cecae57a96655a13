"""nginx in front of gunicorn: find the binary and write its configuration.

gunicorn's sync and threaded workers give a whole thread to each connection
for as long as the client takes to send its request, so a few slow or idle
clients hold every thread (gunicorn's documentation: "we strongly advise
that you use Nginx"). nginx reads each request completely, with timeouts,
in an event loop where a connection costs a few kilobytes, and only then
passes it to gunicorn over a local socket.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
from pathlib import Path

#: Where nginx is looked for when it is not on ``PATH`` (Debian puts it in /usr/sbin).
NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
#: Seconds a client may take to send its request headers, and between two reads of its body.
CLIENT_TIMEOUT_S = 5
#: Seconds an idle keep-alive connection stays open.
KEEPALIVE_S = 15
#: Connections one nginx worker holds (each proxied request uses two).
WORKER_CONNECTIONS = 4096

_MESSAGES = {
    400: "bad request: the request line or a header is malformed",
    404: "no such route",
    405: "method not allowed",
    408: "the client was too slow to send its request",
    411: "a body needs a Content-Length or chunked encoding",
    413: "request body too large",
    414: "request URI too long",
    431: "request headers too large",
    494: "request headers too large",
    500: "internal error in the proxy",
    502: "the model server is not answering; it may be restarting",
    503: "the model server is unavailable",
    504: "the model server took too long to answer",
}


class ProxyError(RuntimeError):
    """The reverse proxy cannot be started (nginx missing or failing)."""


def find_nginx() -> str:
    """Return the path of the nginx binary.

    Raises
    ------
    ProxyError
        If nginx is not installed; the message says how to install it, and
        how to serve without it knowingly.
    """
    found = shutil.which("nginx") or next((p for p in NGINX_PLACES if Path(p).is_file()), None)
    if found is None:
        raise ProxyError(
            "nginx is not installed, and without a buffering proxy a few slow clients "
            "can take every gunicorn thread. Install it (Debian/Ubuntu: `sudo apt-get install "
            "nginx-light`; macOS: `brew install nginx`), or pass --no-proxy to serve gunicorn "
            "directly, unprotected against slow clients.")
    return found


def error_pages(max_body_bytes: int) -> dict[int, str]:
    """Return the JSON body nginx sends for each error it answers itself, by status.

    The body's ``status`` is the one the client sees (nginx sends its
    internal 494, headers too large, as 400).
    """
    pages = {}
    for status, message in _MESSAGES.items():
        if status == 413:
            message = f"{message}; the limit is {max_body_bytes} bytes"
        pages[status] = json.dumps({"error": message, "status": 400 if status == 494 else status})
    return pages


def write_nginx_files(workdir: Path, *, host: str, port: int, upstream_socket: Path,
                      max_body_bytes: int) -> Path:
    """Write the configuration and its error pages into ``workdir``; return the config's path."""
    errors = workdir / "errors"
    errors.mkdir(exist_ok=True)
    for status, body in error_pages(max_body_bytes).items():
        (errors / f"{status}.json").write_text(body)
    config = workdir / "nginx.conf"
    config.write_text(nginx_config(host=host, port=port, upstream_socket=upstream_socket,
                                   workdir=workdir, max_body_bytes=max_body_bytes))
    return config


def nginx_config(*, host: str, port: int, upstream_socket: Path, workdir: Path,
                 max_body_bytes: int) -> str:
    """Write the text of an nginx configuration that proxies ``host:port`` to a unix socket.

    Parameters
    ----------
    host, port : str, int
        The public address.
    upstream_socket : pathlib.Path
        gunicorn's unix socket.
    workdir : pathlib.Path
        A private folder for nginx's pid file and request-body buffers.
    max_body_bytes : int
        The application's body limit; nginx refuses larger bodies, chunked
        or not, with the same 413.

    Returns
    -------
    config : str
        Runs in the foreground (``daemon off``), one worker process, no
        access log; every error nginx answers itself is one of the JSON
        files of :func:`error_pages`, in ``workdir/errors``.
    """
    # Error pages are static files (:func:`error_pages`): unlike a named location
    # with `return`, they also work for a request whose URI nginx could not parse.
    pages = "".join(f"        error_page {s} /errors/{s}.json;\n" for s in _MESSAGES)
    temp = "\n".join(f"    {kind}_temp_path {workdir}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # Started by root, nginx's workers would switch to "nobody", who cannot open
    # the private folder holding gunicorn's socket: keep them as the caller.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    return f"""# Generated by lifecycle.deploy for one run; deleted when the service stops.
{user}daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections {WORKER_CONNECTIONS};
}}
http {{
    access_log off;
    server_tokens off;
{temp}
    client_header_timeout {CLIENT_TIMEOUT_S}s;
    client_body_timeout {CLIENT_TIMEOUT_S}s;
    send_timeout {CLIENT_TIMEOUT_S}s;
    keepalive_timeout {KEEPALIVE_S}s;
    keepalive_requests 10000;
    reset_timedout_connection on;
    client_max_body_size {max_body_bytes};
    client_body_buffer_size {max_body_bytes};
    large_client_header_buffers 4 8k;
    upstream model {{
        server unix:{upstream_socket};
        keepalive 32;
    }}
    server {{
        listen {host}:{port} backlog=4096;
        location / {{
            proxy_pass http://model;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout 60s;
        }}
        location /errors/ {{
            internal;
            root {workdir};
            default_type application/json;
        }}
{pages}    }}
}}
"""

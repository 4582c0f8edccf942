"""Start the studio: a uvicorn server for :func:`~backprop.studio.app.create_app` on a socket of its own.

The socket is bound here, before the server starts, so that a port in use is
found at once (the next free one is taken when no port was asked for) and the
URL printed is the one that works.
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading
import webbrowser

import uvicorn

from .app import LOOPBACK_HOSTS, create_app
from .session import Session

__all__ = ["serve", "bind", "DEFAULT_PORT"]

DEFAULT_PORT = 8765
_TRIES = 20


def bind(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host``: on ``port``, or on the first free port from :data:`DEFAULT_PORT`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ports = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + _TRIES)
    error = None
    for p in ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, p))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.listen(128)
        sock.set_inheritable(True)
        return sock
    where = f"port {port}" if port is not None else f"ports {DEFAULT_PORT} to {DEFAULT_PORT + _TRIES - 1}"
    raise OSError(f"cannot listen on {host}, {where}: {error.strerror if error else 'no port'}")


def allowed_hosts(host: str) -> frozenset | None:
    """The Host header names to accept: the loopback names, and the host asked for (any, for a wildcard)."""
    if host in ("0.0.0.0", "::", ""):
        return None
    return LOOPBACK_HOSTS | {host.strip("[]").lower(), socket.gethostname().lower()}


def url_for(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else \
        f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(host: str = "127.0.0.1", port: int | None = None, *, open_browser: bool = True,
          stream_hz: float = 10.0, out=sys.stdout) -> None:
    """Run the studio until interrupted (Ctrl-C)."""
    sock = bind(host, port)
    token = secrets.token_urlsafe(24)
    session = Session()
    app = create_app(session, token, hosts=allowed_hosts(host), stream_hz=stream_hz)
    actual_port = sock.getsockname()[1]
    url = url_for(host, actual_port, token)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="on")
    server = uvicorn.Server(config)
    print(f"backprop studio: open {url}", file=out, flush=True)
    print("backprop studio: press Ctrl-C to stop", file=out, flush=True)
    if open_browser:
        def open_when_ready():
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                webbrowser.open(url)
        threading.Thread(target=open_when_ready, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        session.close()
        sock.close()

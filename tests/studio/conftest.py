"""Fixtures for the studio: a session, its app through Starlette's test client, and a live server."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

pytest.importorskip("starlette", reason="the studio's tests need the studio extra: pip install 'backprop[studio]'")
pytest.importorskip("httpx", reason="Starlette's test client needs httpx")

from starlette.testclient import TestClient  # noqa: E402

from backprop.studio.app import create_app  # noqa: E402
from backprop.studio.session import Session  # noqa: E402
from studio_support import BASE, TOKEN, wait_for  # noqa: E402


@pytest.fixture
def session():
    s = Session()
    yield s
    s.close()


@pytest.fixture
def client(session):
    with TestClient(create_app(session, TOKEN), base_url=BASE, headers={"x-studio-token": TOKEN}) as c:
        yield c


@pytest.fixture
def live_server():
    """The studio on a real uvicorn server in a thread, on a free port."""
    import uvicorn

    from backprop.studio.server import bind

    session = Session()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(session, TOKEN, stream_hz=20)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the server to start")
    yield SimpleNamespace(base=f"http://127.0.0.1:{port}", url=f"http://127.0.0.1:{port}/?token={TOKEN}",
                          token=TOKEN, session=session)
    server.should_exit = True
    thread.join(10)
    session.close()
    sock.close()

"""The web application: a Starlette app over one :class:`~backprop.studio.session.Session`.

Safety, as Jupyter does it: every request carries the session's random token
(in the ``X-Studio-Token`` header, the ``token`` query parameter, or the
cookie set when the page is first opened with it; requests that change
anything need the header or the parameter, so another site cannot make the
browser send them), and the ``Host`` header must name this server (a page
from another site that rebinds its DNS name to 127.0.0.1 is refused). Uploads
are limited to :data:`~backprop.studio.session.UPLOAD_LIMIT` bytes and read into
memory, never from a path the page names. Bad settings, samples and files
answer 400 with one line, and change nothing.

Training runs in its own thread; the page follows it through a server-sent
event stream that sends at most ``stream_hz`` updates a second, and only when
something changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import math
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .session import UPLOAD_LIMIT, Session

__all__ = ["create_app", "COOKIE", "TOKEN_HEADER", "LOOPBACK_HOSTS"]

STATIC = Path(__file__).parent / "static"
COOKIE = "backprop_studio_token"
TOKEN_HEADER = "x-studio-token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_JSON_LIMIT = 64 * 1024
_SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class BadRequest(ValueError):
    """A request the studio refuses (400, or the given status), with one line saying why."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def hostname(host: str) -> str:
    """The name in a ``Host`` header, without the port: ``"[::1]:8765"`` gives ``"::1"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: check the ``Host`` header and the token on every request, add security headers."""

    def __init__(self, app, token: str, hosts: frozenset | None):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        if self.hosts is not None and hostname(headers.get("host", "")) not in self.hosts:
            return await _refuse(scope, receive, send, 403, "refused: the Host header does not name this server")
        request = Request(scope)
        given = headers.get(TOKEN_HEADER) or request.query_params.get("token")
        if given is None and scope.get("method", "GET") in ("GET", "HEAD"):
            given = request.cookies.get(COOKIE)
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            return await _refuse(scope, receive, send, 403,
                                 "refused: missing or wrong token; open the URL that `backprop studio` printed")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                raw += [(k.encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(scope, receive, send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await PlainTextResponse(text, status_code=status)(scope, receive, send)


def _finite(obj):
    """JSON-safe: NaN and infinities become null (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json(obj, status: int = 200) -> JSONResponse:
    return JSONResponse(_finite(obj), status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"the upload is {int(declared):,} bytes; the limit is {limit:,}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"the upload is larger than the limit of {limit:,} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request):
    body = await read_body(request, _JSON_LIMIT)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body is not JSON") from None


def _int(request: Request, name: str) -> int:
    text = request.query_params.get(name, "")
    if not text.strip().lstrip("-").isdigit() or len(text) > 9:
        raise BadRequest(f"{name} must be a whole number; got {text[:20]!r}")
    return int(text)


def _handle(endpoint):
    """Turn the session's ValueErrors into 400 answers with their message."""
    async def wrapped(request: Request):
        try:
            return await endpoint(request)
        except BadRequest as exc:
            return _json({"error": str(exc)}, exc.status)
        except (ValueError, TypeError, OSError) as exc:
            return _json({"error": str(exc) or type(exc).__name__}, 400)
        except MemoryError:
            return _json({"error": "not enough memory for that; choose a smaller data set or network"}, 400)
    return wrapped


def create_app(session: Session, token: str, *, hosts=LOOPBACK_HOSTS, stream_hz: float = 10.0):
    """The studio's ASGI application: the Starlette app inside its :class:`Guard`.

    Parameters
    ----------
    session : Session
    token : str
        The secret every request must carry.
    hosts : set of str or None
        The names the ``Host`` header may give; None accepts any (for ``--host 0.0.0.0``).
    stream_hz : float
        The most updates a second the stream sends.
    """
    if not token:
        raise ValueError("the studio needs a non-empty token")
    interval = 1.0 / stream_hz

    async def index(request: Request):
        response = HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def state(request: Request):
        return _json(await run_in_threadpool(session.state))

    async def settings(request: Request):
        raw = await _json_body(request)
        await run_in_threadpool(session.configure, raw)
        return _json(await run_in_threadpool(session.state))

    async def control(request: Request):
        raw = await _json_body(request)
        action = raw.get("action") if isinstance(raw, dict) else None
        await run_in_threadpool(session.control, action, raw.get("value") if isinstance(raw, dict) else None)
        return _json({"ok": True, "generation": session.generation})

    async def explain(request: Request):
        q = request.query_params
        fmt = q.get("format", "html")
        if fmt not in ("html", "markdown", "latex"):
            raise BadRequest(f"format must be html, markdown or latex; got {fmt[:20]!r}")
        lr = None
        if q.get("lr"):
            try:
                lr = float(q["lr"])
            except ValueError:
                raise BadRequest(f"lr must be a number; got {q['lr'][:20]!r}") from None
        result = await run_in_threadpool(session.explain, q.get("weight", ""), q.get("samples", "0"), lr, fmt)
        if fmt == "html":
            return _json(result)
        name = "explanation." + ("md" if fmt == "markdown" else "tex")
        return Response(result, media_type="text/markdown" if fmt == "markdown" else "application/x-tex",
                        headers={"content-disposition": f'attachment; filename="{name}"'})

    async def node(request: Request):
        layer, j = _int(request, "layer"), _int(request, "j")
        return _json(await run_in_threadpool(session.node, layer, j, request.query_params.get("samples", "0")))

    async def model(request: Request):
        if request.method == "GET":
            data = await run_in_threadpool(session.model_bytes)
            return Response(data, media_type="application/octet-stream",
                            headers={"content-disposition": 'attachment; filename="backprop-studio.safetensors"'})
        body = await read_body(request, UPLOAD_LIMIT)
        await run_in_threadpool(session.load_model, body)
        return _json(await run_in_threadpool(session.state))

    async def upload(request: Request):
        body = await read_body(request, UPLOAD_LIMIT)
        q = request.query_params
        await run_in_threadpool(session.upload_csv, body, q.get("name", "upload.csv"), q.get("target", ""))
        return _json(await run_in_threadpool(session.state))

    async def stream(request: Request):
        async def events():
            generation, sent, version, quiet = None, 0, None, 0.0
            while True:
                if session.version != version:
                    snap = await run_in_threadpool(session.snapshot)
                    if snap["generation"] != generation:
                        generation, sent = snap["generation"], 0
                    records = snap["records"]
                    payload = {**snap, "records": records[sent:], "records_from": sent}
                    sent, version, quiet = len(records), snap["version"], 0.0
                    yield f"data: {json.dumps(_finite(payload))}\n\n"
                elif quiet > 15:
                    quiet = 0.0
                    yield ": still here\n\n"
                await asyncio.sleep(interval)
                quiet += interval

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"x-accel-buffering": "no"})

    routes = [
        Route("/", index),
        Route("/api/state", _handle(state)),
        Route("/api/settings", _handle(settings), methods=["POST"]),
        Route("/api/control", _handle(control), methods=["POST"]),
        Route("/api/explain", _handle(explain)),
        Route("/api/node", _handle(node)),
        Route("/api/model", _handle(model), methods=["GET", "POST"]),
        Route("/api/upload", _handle(upload), methods=["POST"]),
        Route("/api/stream", stream),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(session.close)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.session = session
    hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
    return Guard(app, token, hosts)

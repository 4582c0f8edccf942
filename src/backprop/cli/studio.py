"""``backprop studio``: the article, live, in the browser, on the real engine.

Starts a local web server (:mod:`backprop.studio`) and opens a page on it:
pick a data set, shape the network, train it batch by batch, and click any
weight for the article's chain rule with the engine's numbers.
"""

from __future__ import annotations

import sys

from . import CLIError

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "studio", help="train and explain a network in your browser",
        description="Start a local web page on the real engine: data sets in the plane and your own CSV, a "
                    "network editor, play/pause/step, live curves and decision boundary, and the chain rule for "
                    "any weight you click. The page works offline. It listens on 127.0.0.1 only, and every "
                    "request must carry the random token in the printed URL.",
    )
    p.add_argument("--port", type=int, metavar="N",
                   help="the port to listen on (default: the first free one from 8765)")
    p.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="the address to listen on (default 127.0.0.1, this machine only; any other lets other "
                        "machines reach the page, with the token as the only lock)")
    p.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.port is not None and not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be from 0 to 65535; got {args.port}")
    try:
        from ..studio.server import serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in ("starlette", "uvicorn", "markdown_it", "anyio", "h11"):
            raise CLIError(f"the studio needs {exc.name}, which is not installed: "
                           "pip install 'backprop[studio]'") from None
        raise
    if args.host not in _LOOPBACK:
        print(f"backprop studio: warning: listening on {args.host}: other machines that reach it can open the "
              "page with the token in the URL; the traffic is not encrypted", file=sys.stderr)
    try:
        serve(args.host, args.port, open_browser=not args.no_browser)
    except KeyboardInterrupt:
        pass
    return 0

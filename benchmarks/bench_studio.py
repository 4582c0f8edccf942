"""How fast the studio's live picture is: the boundary grid, and the stream the page receives.

Three figures, on the default page (moons, 400 points, network 2-4-4-2, tanh,
batch 10), measured for ``--seconds`` each:

``grid``
    snapshots a second with the training paused: each is one forward pass over
    the 100 x 100 boundary grid, every node's 25 x 25 picture and the weights,
    computed afresh (the cache is cleared each time);
``grid while training``
    snapshots a second computed afresh while the training thread plays with
    no speed limit - the two take turns at the network's lock, as on the page;
``stream``
    events a second that a client receives from ``/api/stream`` on a real
    uvicorn server while training plays with no speed limit (the server sends at
    most 10 a second),
    their mean size, and the batches a second trained meanwhile.

``page``
    with ``--browser``: boundaries the page itself draws a second in headless
    Chromium (Debian's package, through Playwright) while training plays with
    no speed limit - what the user sees.

    python benchmarks/bench_studio.py [--seconds 5] [--browser] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time

import httpx
import uvicorn

from backprop.studio.app import create_app
from backprop.studio.server import bind
from backprop.studio.session import Session

TOKEN = "bench"


def grid_rate(session: Session, seconds: float) -> float:
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        session._cache = None  # compute afresh, as after every batch
        session.snapshot()
        n += 1
    return n / (time.perf_counter() - started)


def stream_rate(seconds: float) -> dict:
    session = Session()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(session, TOKEN), log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    session.control("speed", 0)  # the worst case: the engine trains as fast as it goes
    session.control("play")
    events, size, batches0 = 0, 0, session.trainer.batches
    started = time.perf_counter()
    with httpx.stream("GET", f"http://127.0.0.1:{port}/api/stream", headers={"x-studio-token": TOKEN},
                      timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                events += 1
                size += len(line)
            if time.perf_counter() - started >= seconds:
                break
    elapsed = time.perf_counter() - started
    batches = session.trainer.batches - batches0
    session.control("pause")
    server.should_exit = True
    thread.join(10)
    session.close()
    sock.close()
    return {"events_per_second": events / elapsed, "mean_event_bytes": size / max(events, 1),
            "batches_per_second": batches / elapsed}


def page_rate(seconds: float) -> float:
    from playwright.sync_api import expect, sync_playwright

    session = Session()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(session, TOKEN), log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
            expect(page.locator("#status")).to_have_attribute("data-mode", "paused")
            session.control("speed", 0)
            session.control("play")
            canvas = page.locator("#boundary")
            time.sleep(1.0)
            first = int(canvas.get_attribute("data-frames") or 0)
            started = time.perf_counter()
            time.sleep(seconds)
            frames = int(canvas.get_attribute("data-frames") or 0) - first
            elapsed = time.perf_counter() - started
            browser.close()
    finally:
        session.control("pause")
        server.should_exit = True
        thread.join(10)
        session.close()
        sock.close()
    return frames / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each figure is measured (default 5)")
    parser.add_argument("--browser", action="store_true", help="also count the boundaries the page draws "
                        "in headless Chromium (needs /usr/bin/chromium and Playwright)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    session = Session()
    paused = grid_rate(session, args.seconds)
    session.control("speed", 0)
    session.control("play")
    playing = grid_rate(session, args.seconds)
    trained = session.trainer.batches
    session.close()
    stream = stream_rate(args.seconds)
    if args.browser:
        stream["page_boundaries_per_second"] = page_rate(args.seconds)
    result = {"grid_per_second": paused, "grid_per_second_while_training": playing,
              "batches_during_grid_test": trained, **stream,
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                         f"Python {platform.python_version()}"}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"100x100 boundary + node pictures, paused:   {paused:7.1f} per second")
    print(f"100x100 boundary + node pictures, training: {playing:7.1f} per second")
    print(f"stream events received while training:      {stream['events_per_second']:7.1f} per second "
          f"(at most 10), {stream['mean_event_bytes'] / 1024:.1f} KiB each")
    print(f"batches trained while streaming:            {stream['batches_per_second']:7.1f} per second")
    print(f"batches trained during the grid test:       {trained:7d} in {args.seconds:g} s")
    if args.browser:
        print(f"boundaries drawn by the page in Chromium:   {stream['page_boundaries_per_second']:7.1f} per second")
    print(result["machine"])


if __name__ == "__main__":
    main()

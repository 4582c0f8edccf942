"""The studio's page in a real headless Chromium (Debian's package), driven by Playwright.

Skipped, with the reason, where /usr/bin/chromium or Playwright is missing; ``.ci/run`` installs Chromium.
Each test saves a screenshot under its temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no Chromium at /usr/bin/chromium (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
pytest.importorskip("starlette", reason="the studio's tests need the studio extra")

from studio_support import wait_for  # noqa: E402

from backprop.explain import parse_weight  # noqa: E402
from backprop.studio.maths import samples_for  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url)
    sync_api.expect(page.locator("#status")).to_have_attribute("data-mode", "paused")
    yield page
    context.close()
    assert errors == [], f"the page raised: {errors}"


def _status(page, key: str) -> int:
    return int(page.locator("#status").get_attribute(f"data-{key}") or 0)


def _click_on_edge(page, selector: str, t: float = 0.3) -> None:
    """A real mouse click on the drawn edge, at parameter ``t`` of its curve.

    (The page's content security policy forbids eval, so the point is computed here, from the
    path's ``d``: ``M x0,y0 C x1,y1 x2,y2 x3,y3``, in the SVG's own pixels.)
    """
    d = page.locator(selector).get_attribute("d")
    numbers = [float(v) for v in d.replace("M", " ").replace("C", " ").replace(",", " ").split()]
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = zip(numbers[::2], numbers[1::2])
    b = [(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3]
    x = b[0] * x0 + b[1] * x1 + b[2] * x2 + b[3] * x3
    y = b[0] * y0 + b[1] * y1 + b[2] * y2 + b[3] * y3
    box = page.locator("#network").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_play_trains_and_the_loss_falls(page, live_server, tmp_path):
    for _ in range(3):
        page.click("#step")
    sync_api.expect(page.locator("#status")).to_have_attribute("data-batches", "3")
    page.click("#play")
    wait_for(lambda: _status(page, "epochs") >= 5, "five epochs on the page")
    page.click("#play")  # pause
    sync_api.expect(page.locator("#status")).to_have_attribute("data-mode", "paused")
    curve = page.locator("#loss-curve")
    first, last = float(curve.get_attribute("data-first")), float(curve.get_attribute("data-last"))
    assert last < first
    # The curve shows the engine's records.
    assert first == live_server.session.trainer.records[0]["loss"]
    page.screenshot(path=tmp_path / "trained.png", full_page=True)
    assert (tmp_path / "trained.png").stat().st_size > 0


def test_a_clicked_weight_shows_the_engines_gradient(page, live_server, tmp_path):
    for _ in range(4):
        page.click("#step")
    sync_api.expect(page.locator("#status")).to_have_attribute("data-batches", "4")
    page.fill("#samples", "0-5")
    _click_on_edge(page, "g.weight[data-layer='2'][data-j='1'][data-k='3'] path.edge")
    sync_api.expect(page.locator("#grad-value")).to_be_visible()
    # Whichever edge took the click (edges cross), the page names it; check that one.
    weight = page.input_value("#weight")
    shown = float(page.locator("#grad-value").get_attribute("data-value"))
    session = live_server.session
    net = session.model.network
    ref = parse_weight(weight, len(net.layers))
    X, Y = samples_for(session.model, session.data, [0, 1, 2, 3, 4, 5])
    assert shown == net.gradients(X, Y)[ref.layer - 1][ref.parameter][ref.index]
    assert page.locator("#explanation .katex").count() > 10  # the formulas are typeset
    sync_api.expect(page.locator("#check")).to_contain_text("they agree")

    page.locator("g.node[data-layer='1'][data-j='0']").click()
    sync_api.expect(page.locator("#node-table tr")).to_have_count(7)  # a header and six samples
    page.screenshot(path=tmp_path / "explained.png", full_page=True)

    page.click("#first-batch")  # the batch average: the first batch-size (10) rows
    sync_api.expect(page.locator("#samples")).to_have_value("0-9")
    sync_api.expect(page.locator("#explanation")).to_contain_text("Sample 9")
    X, Y = samples_for(session.model, session.data, list(range(10)))
    shown = float(page.locator("#grad-value").get_attribute("data-value"))
    assert shown == net.gradients(X, Y)[ref.layer - 1][ref.parameter][ref.index]


def test_a_bad_csv_shows_its_message_and_changes_nothing(page, live_server, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    generation = live_server.session.generation
    page.set_input_files("#csv-file", str(bad))
    message = page.locator("#message")
    sync_api.expect(message).to_contain_text("bad.csv")
    sync_api.expect(message).to_contain_text("oops")
    assert live_server.session.generation == generation and live_server.session.uploaded is None
    page.screenshot(path=tmp_path / "bad-csv.png", full_page=True)


def test_a_refused_setting_springs_back(page, live_server, tmp_path):
    page.fill("#lr", "-1")
    page.locator("#lr").dispatch_event("change")
    sync_api.expect(page.locator("#message")).to_contain_text("lr must be in")
    sync_api.expect(page.locator("#lr")).to_have_value("0.1")
    page.click("#add-layer")
    sync_api.expect(page.locator("#sizes")).to_contain_text("sizes 2-4-4-2-2")
    wait_for(lambda: live_server.session.model.network.sizes == [2, 4, 4, 2, 2], "the new network")
    page.screenshot(path=tmp_path / "edited.png", full_page=True)


def test_clicking_a_point_explains_on_that_sample(page, live_server, tmp_path):
    session = live_server.session
    data = session.data
    x1lo, x1hi, x2lo, x2hi = data.extent
    row = 17
    a, b = data.points[row]
    box = page.locator("#boundary").bounding_box()
    page.fill("#weight", "L,1,0")
    page.mouse.click(box["x"] + (a - x1lo) / (x1hi - x1lo) * box["width"],
                     box["y"] + (x2hi - b) / (x2hi - x2lo) * box["height"])
    sync_api.expect(page.locator("#grad-value")).to_be_visible()
    chosen = int(page.input_value("#samples"))  # the nearest point: this one, or one drawn on top of it
    assert abs(data.points[chosen][0] - a) < 0.1 * (x1hi - x1lo) and abs(data.points[chosen][1] - b) < 0.1 * (x2hi - x2lo)
    X, Y = samples_for(session.model, data, [chosen])
    shown = float(page.locator("#grad-value").get_attribute("data-value"))
    assert shown == session.model.network.gradients(X, Y)[-1]["W"][1, 0]
    page.screenshot(path=tmp_path / "point.png")

"""The studio's HTTP API through Starlette's test client: safety, training, the maths, files."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the studio's tests need the studio extra")

from studio_support import BASE, TOKEN, wait_for  # noqa: E402

import backprop as bp
from backprop.studio.app import create_app
from backprop.studio.maths import samples_for
from backprop.studio.session import UPLOAD_LIMIT


# -- safety ---------------------------------------------------------------------------------

def test_every_request_needs_the_token(session):
    from starlette.testclient import TestClient

    with TestClient(create_app(session, TOKEN), base_url=BASE) as c:
        for path in ("/", "/api/state", "/static/studio.css", "/api/stream", "/api/model"):
            r = c.get(path)
            assert r.status_code == 403, path
            assert "token" in r.text
        assert c.get("/api/state", headers={"x-studio-token": "wrong"}).status_code == 403
        assert c.get("/api/state", params={"token": TOKEN}).status_code == 200
        assert c.get("/api/state", headers={"x-studio-token": TOKEN}).status_code == 200


def test_the_page_sets_a_cookie_that_reads_but_cannot_change(session):
    from starlette.testclient import TestClient

    with TestClient(create_app(session, TOKEN), base_url=BASE) as c:
        page = c.get("/", params={"token": TOKEN})
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert "httponly" in page.headers["set-cookie"].lower()
        assert "samesite=strict" in page.headers["set-cookie"].lower()
        assert c.get("/api/state").status_code == 200          # the cookie alone reads
        r = c.post("/api/control", json={"action": "step"})     # but cannot change anything
        assert r.status_code == 403
        assert session.trainer.batches == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", ""])
def test_a_foreign_host_header_is_refused(session, host):
    from starlette.testclient import TestClient

    with TestClient(create_app(session, TOKEN), base_url=BASE) as c:
        r = c.get("/api/state", headers={"x-studio-token": TOKEN, "host": host})
        assert r.status_code == 403
        assert "Host" in r.text


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:9", "[::1]:8765", "LOCALHOST"])
def test_loopback_host_headers_pass(client, host):
    assert client.get("/api/state", headers={"host": host}).status_code == 200


def test_security_headers(client):
    r = client.get("/api/state")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"  # the token must not leak in a Referer


def test_uploads_over_the_limit_are_refused_unread(client, session):
    generation = session.generation
    r = client.post("/api/upload", content=b"a,b\n" + b"1,2\n" * (UPLOAD_LIMIT // 4 + 1))
    assert r.status_code == 413
    assert "limit" in r.json()["error"]
    assert session.generation == generation and session.uploaded is None


# -- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, words", [
    ({"hidden": [4, 100]}, "hidden layer 2"),
    ({"lr": -1}, "lr"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"dataset": "/etc/passwd"}, "dataset must be one of"),
    ({"features": []}, "features"),
    ({"activations": ["tanh"], "hidden": [3, 3]}, "activations"),
    ({"batch_size": 2.5}, "whole number"),
    ({"colour": "red"}, "unknown setting"),
    ({"dataset": "upload"}, "dataset must be one of"),
])
def test_bad_settings_are_named_and_change_nothing(client, session, raw, words):
    before = (session.generation, session.settings.to_dict())
    r = client.post("/api/settings", json=raw)
    assert r.status_code == 400
    assert words in r.json()["error"]
    assert (session.generation, session.settings.to_dict()) == before


def test_a_body_that_is_not_json(client):
    r = client.post("/api/settings", content=b"{not json")
    assert r.status_code == 400 and "not JSON" in r.json()["error"]


def test_new_settings_build_the_network_asked_for(client):
    r = client.post("/api/settings", json={"dataset": "xor", "hidden": [5, 3, 2], "activations": ["relu", "tanh",
                                           "sigmoid"], "features": ["x1", "x2", "x1*x2"], "loss": "sse",
                                           "bias": False})
    assert r.status_code == 200, r.text
    net = r.json()["network"]
    assert net["sizes"] == [3, 5, 3, 2, 2]
    assert net["activations"] == ["relu", "tanh", "sigmoid", "sigmoid"]
    assert net["loss"] == "sse" and net["bias"] is False
    assert r.json()["data"]["feature_names"] == ["x1", "x2", "x1*x2"]


def test_a_set_that_is_not_in_the_plane_has_no_pictures(client, session):
    r = client.post("/api/settings", json={"dataset": "iris", "hidden": [6], "activations": ["relu"]})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["in_plane"] is False and r.json()["network"]["sizes"] == [4, 6, 3]
    assert "plane" not in session.snapshot()


# -- training ---------------------------------------------------------------------------------

def test_step_trains_exactly_one_batch(client, session):
    before = session.model.network.get_weights()
    for _ in range(3):
        assert client.post("/api/control", json={"action": "step"}).status_code == 200
    wait_for(lambda: session.trainer.batches == 3, "three batches")
    snap = session.snapshot()
    assert snap["status"]["batches"] == 3 and snap["status"]["mode"] == "paused"
    after = session.model.network.get_weights()
    assert not np.array_equal(before[0]["W"], after[0]["W"])


def test_play_lowers_the_loss_and_reset_starts_again(client, session):
    first = session.model.network.get_weights()
    client.post("/api/control", json={"action": "play"})
    wait_for(lambda: len(session.trainer.records) >= 5, "five epochs")
    client.post("/api/control", json={"action": "pause"})
    records = session.trainer.records
    assert records[-1]["loss"] < records[0]["loss"]
    assert client.post("/api/control", json={"action": "reset"}).status_code == 200
    assert session.trainer.batches == 0 and session.trainer.records == []
    np.testing.assert_array_equal(session.model.network.get_weights()[0]["W"], first[0]["W"])  # same seed


def test_an_unknown_action(client):
    r = client.post("/api/control", json={"action": "fly"})
    assert r.status_code == 400 and "fly" in r.json()["error"]


# -- the maths ------------------------------------------------------------------------------------

def test_the_explained_gradient_is_the_engines(client, session):
    client.post("/api/control", json={"action": "step"})
    wait_for(lambda: session.trainer.batches == 1, "one batch")
    r = client.get("/api/explain", params={"weight": "L-1,2,3", "samples": "0-4"})
    assert r.status_code == 200, r.text
    e = r.json()
    X, Y = samples_for(session.model, session.data, [0, 1, 2, 3, 4])
    expected = session.model.network.gradients(X, Y)[1]["W"][2, 3]
    assert e["backprop"] == expected
    assert e["chain_rule"] == pytest.approx(expected, rel=1e-10)
    assert e["finite_difference"] == pytest.approx(expected, rel=1e-5)
    assert e["rows"] == [0, 1, 2, 3, 4] and e["layer"] == 2
    assert 'class="math' in e["html"] and "data-tex=" in e["html"] and "$" not in e["html"]


@pytest.mark.parametrize("fmt, start", [("markdown", "# $\\partial C"), ("latex", "% backprop explain")])
def test_the_explanation_downloads_as_text(client, fmt, start):
    r = client.get("/api/explain", params={"weight": "L,0,b", "samples": "3", "format": fmt})
    assert r.status_code == 200
    assert r.text.startswith(start)
    assert "attachment" in r.headers["content-disposition"]


@pytest.mark.parametrize("params, words", [
    ({"weight": "L,9,0"}, "has 2 nodes"),
    ({"weight": "Q,1"}, "cannot read weight"),
    ({"weight": "L,0,0", "samples": "0-99"}, "at most 32"),
    ({"weight": "L,0,0", "samples": "100000"}, "does not exist"),
    ({"weight": "L,0,0", "samples": "a"}, "cannot read the samples"),
    ({"weight": "L,0,0", "format": "pdf"}, "format"),
])
def test_bad_explain_requests_say_why(client, params, words):
    r = client.get("/api/explain", params=params)
    assert r.status_code == 400
    assert words in r.json()["error"]


def test_a_nodes_numbers_are_the_engines(client, session):
    r = client.get("/api/node", params={"layer": 1, "j": 2, "samples": "7"})
    assert r.status_code == 200, r.text
    node = r.json()
    net = session.model.network
    X, Y = samples_for(session.model, session.data, [7])
    first = net.forward_train(net.check_X(X))[1][0]
    assert node["z"][0] == pytest.approx(first.z[0, 2], rel=1e-12)
    assert node["a"][0] == pytest.approx(first.a[0, 2], rel=1e-12)
    # For one sample, dC/db_j is dC/dz_j.
    assert node["dC_dz"][0] == pytest.approx(net.gradients(X, Y)[0]["b"][2], rel=1e-10)
    assert client.get("/api/node", params={"layer": 9, "j": 0}).status_code == 400


# -- files ---------------------------------------------------------------------------------------

def test_the_model_downloads_as_a_model_file_and_loads_back(client, session, tmp_path):
    client.post("/api/control", json={"action": "step"})
    wait_for(lambda: session.trainer.batches == 1, "one batch")
    r = client.get("/api/model")
    assert r.status_code == 200
    path = tmp_path / "m.safetensors"
    path.write_bytes(r.content)
    model = bp.load(path)
    for ours, theirs in zip(model.network.get_weights(), session.model.network.get_weights()):
        np.testing.assert_array_equal(ours["W"], theirs["W"])
    assert model.metadata["training"]["dataset"] == "moons"
    np.testing.assert_array_equal(model.predict(session.data.train.X), session.model.predict(session.data.train.X))

    client.post("/api/control", json={"action": "reset"})
    r = client.post("/api/model", content=path.read_bytes())
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(session.model.network.get_weights()[0]["W"], model.network.get_weights()[0]["W"])


def test_a_damaged_model_file_changes_nothing(client, session):
    generation = session.generation
    r = client.post("/api/model", content=b"\x00" * 100)
    assert r.status_code == 400
    assert "/tmp" not in r.json()["error"] and session.generation == generation


def test_a_model_for_other_data_is_refused(client, session, tmp_path):
    net = bp.Network.from_sizes([4, 3, 3], activation="tanh", output_activation="softmax", loss="cross_entropy")
    bp.save(bp.Model(net, task="classification"), tmp_path / "iris.safetensors")
    r = client.post("/api/model", content=(tmp_path / "iris.safetensors").read_bytes())
    assert r.status_code == 400 and "takes 4 inputs" in r.json()["error"]


def _csv(rows) -> bytes:
    out = io.StringIO()
    out.write("u,v,label\n")
    for row in rows:
        out.write(",".join(map(str, row)) + "\n")
    return out.getvalue().encode()


def test_a_csv_upload_is_read_by_the_train_reader(client, session):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    rows = [(a, b, "in" if a * a + b * b < 1 else "out") for a, b in X]
    r = client.post("/api/upload", params={"name": "rings.csv", "target": "label"}, content=_csv(rows))
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["uploaded"] == "rings.csv" and state["settings"]["dataset"] == "upload"
    assert state["data"]["classes"] == ["in", "out"] and state["data"]["in_plane"] is True
    assert state["data"]["n_train"] + state["data"]["n_validation"] == 60
    assert "plane" in session.snapshot()


def test_a_bad_csv_is_named_by_its_line_and_changes_nothing(client, session):
    before = (session.generation, session.data.name)
    r = client.post("/api/upload", params={"name": "../../etc/bad.csv"}, content=b"a,b,c\n1,2,x\n1,oops,y\n")
    assert r.status_code == 400
    message = r.json()["error"]
    assert "bad.csv" in message and "oops" in message  # the file and the bad value, in the reader's words
    assert "/tmp" not in message
    assert (session.generation, session.data.name) == before and session.uploaded is None


# -- the stream ------------------------------------------------------------------------------------

def test_the_stream_sends_the_boundary_and_new_curve_points(live_server):
    import httpx

    s = live_server.session
    s.control("play")
    wait_for(lambda: len(s.trainer.records) >= 3, "three epochs")
    events = []
    with httpx.stream("GET", live_server.base + "/api/stream", headers={"x-studio-token": TOKEN},
                      timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            if len(events) == 3:
                break
    s.control("pause")
    first = events[0]
    assert first["records_from"] == 0 and len(first["records"]) >= 3
    plane = first["plane"]
    assert plane["size"] == 100 and len(plane["output"]["class"]) == len(
        __import__("base64").b64encode(bytes(100 * 100)))
    # Later events carry only the curve points not sent yet.
    assert events[1]["records_from"] == len(first["records"])
    assert [ev["version"] for ev in events] == sorted(ev["version"] for ev in events)


@pytest.mark.parametrize("name", ["xor", "spirals", "gaussians", "sine", "iris", "diabetes", "digits"])
def test_every_offered_set_trains_and_explains(client, session, name):
    r = client.post("/api/settings", json={"dataset": name, "hidden": [3], "activations": ["tanh"]})
    assert r.status_code == 200, r.text
    client.post("/api/control", json={"action": "step"})
    wait_for(lambda: session.trainer.batches == 1, "one batch")
    snap = session.snapshot()
    assert snap["status"]["error"] is None
    assert ("plane" in snap) is r.json()["data"]["in_plane"]
    e = client.get("/api/explain", params={"weight": "L,0,0", "samples": "0-1"}).json()
    X, Y = samples_for(session.model, session.data, [0, 1])
    assert e["backprop"] == session.model.network.gradients(X, Y)[-1]["W"][0, 0]


def test_speed_is_checked_and_kept_across_runs(client, session):
    r = client.post("/api/control", json={"action": "speed", "value": -3})
    assert r.status_code == 400 and "speed must be" in r.json()["error"]
    assert client.post("/api/control", json={"action": "speed", "value": 10}).status_code == 200
    assert session.snapshot()["status"]["speed"] == 10
    client.post("/api/control", json={"action": "reset"})
    assert session.trainer.speed == 10


def test_a_one_feature_regression_is_drawn_as_a_line(client, session):
    r = client.post("/api/settings", json={"dataset": "sine", "hidden": [8], "activations": ["tanh"]})
    data = r.json()["data"]
    assert data["in_line"] is True and data["in_plane"] is False and r.json()["network"]["task"] == "regression"
    line = session.snapshot()["line"]
    xs = np.array(line["x"])
    assert xs.min() <= session.data.train.X.min() and xs.max() >= session.data.train.X.max()
    np.testing.assert_allclose(line["y"], session.model.predict(xs[:, None]), atol=1e-5)

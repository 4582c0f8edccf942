"""Hostile input to every endpoint: an answer of 200 or 4xx with one line, never a crash, never a change on refusal."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette", reason="the studio's tests need the studio extra")

from starlette.testclient import TestClient  # noqa: E402
from studio_support import BASE, TOKEN  # noqa: E402

from backprop.studio.app import create_app  # noqa: E402
from backprop.studio.session import Session  # noqa: E402

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.fixture(scope="module")
def hostile():
    session = Session()
    with TestClient(create_app(session, TOKEN), base_url=BASE, headers={"x-studio-token": TOKEN}) as c:
        yield c, session
    session.close()


def _one_line_refusal(response) -> None:
    assert response.status_code in (400, 413), response.text
    message = response.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message


@fixture_ok
@given(weight=text, samples=text, fmt=st.sampled_from(["html", "markdown", "latex", "x"]), lr=text)
def test_explain_takes_anything(hostile, weight, samples, fmt, lr):
    client, _ = hostile
    r = client.get("/api/explain", params={"weight": weight, "samples": samples, "format": fmt, "lr": lr})
    if r.status_code != 200:
        _one_line_refusal(r)


@fixture_ok
@given(layer=text, j=text, samples=text)
def test_node_takes_anything(hostile, layer, j, samples):
    client, _ = hostile
    r = client.get("/api/node", params={"layer": layer, "j": j, "samples": samples})
    if r.status_code != 200:
        _one_line_refusal(r)


@fixture_ok
@given(body=st.binary(max_size=300), name=text, target=text)
def test_uploads_take_anything_and_a_refusal_changes_nothing(hostile, body, name, target):
    client, session = hostile
    before = session.generation
    for path in ("/api/upload", "/api/model"):
        r = client.post(path, content=body, params={"name": name, "target": target})
        if r.status_code != 200:
            _one_line_refusal(r)
            assert session.generation == before
        before = session.generation


@fixture_ok
@given(action=st.one_of(st.none(), text, st.integers()), value=st.one_of(st.none(), st.floats(), text))
def test_control_takes_anything(hostile, action, value):
    client, session = hostile
    r = client.post("/api/control", json={"action": action, "value": value})
    if r.status_code != 200:
        _one_line_refusal(r)
    session.trainer.pause()

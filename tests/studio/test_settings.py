"""The studio's settings checks, its model building (dropout included) and the command line."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop.cli import main
from backprop.core import Network
from backprop.studio import build
from backprop.studio.settings import FEATURES, Settings, options, parse_settings

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(sorted(Settings().to_dict())), json_values, max_size=6))
def test_any_json_is_either_settings_or_one_named_error(raw):
    try:
        s = parse_settings(raw)
    except ValueError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert isinstance(s, Settings)
        assert set(s.features) <= set(FEATURES) and len(s.activations) == len(s.hidden)


def test_defaults_and_features_in_one_order():
    s = parse_settings({"features": ["sin(x2)", "x1"]})
    assert s.features == ["x1", "sin(x2)"]
    assert parse_settings({}) == Settings()
    with pytest.raises(ValueError, match="more than once"):
        parse_settings({"features": ["x1", "x1"]})


def test_a_hidden_layer_of_softmax_is_refused():
    with pytest.raises(ValueError, match="hidden layer 1"):
        parse_settings({"hidden": [3], "activations": ["softmax"]})


def test_each_hidden_layer_gets_its_activation():
    s = parse_settings({"dataset": "circles", "hidden": [3, 2], "activations": ["relu", "sigmoid"]})
    data = build.load_data(s)
    model = build.build_model(s, data)
    assert [layer.activation.name for layer in model.network.layers] == ["relu", "sigmoid", "softmax"]
    # The scaler is fitted on the training part only, before any training.
    assert model.preprocessor.shift_ is not None
    assert data.train.n_samples + data.validation.n_samples == s.n_samples


def test_binary_cross_entropy_gives_one_output_for_two_classes():
    s = parse_settings({"loss": "binary_cross_entropy"})
    model = build.build_model(s, build.load_data(s))
    assert model.network.sizes[-1] == 1 and model.network.layers[-1].activation.name == "sigmoid"


def test_dropout_is_offered_only_when_the_engine_takes_it(monkeypatch):
    supported = "dropout" in inspect.signature(Network.from_sizes).parameters
    assert options()["dropout"] is supported
    if not supported:
        with pytest.raises(ValueError, match="dropout is not available"):
            parse_settings({"dropout": 0.5})
    # Once from_sizes takes dropout=, the page's value reaches it.
    seen = {}
    original = Network.from_sizes.__func__

    def from_sizes(cls, sizes, activation="sigmoid", output_activation=None, loss="sse", bias=True, seed=None,
                   dtype="float64", init=None, fuse_output=True, dropout=0.0):
        seen["dropout"] = dropout
        return original(cls, sizes, activation=activation, output_activation=output_activation, loss=loss,
                        bias=bias, seed=seed, dtype=dtype, init=init, fuse_output=fuse_output)

    monkeypatch.setattr(Network, "from_sizes", classmethod(from_sizes))
    assert options()["dropout"] is True
    s = parse_settings({"dropout": 0.25})
    build.build_model(s, build.load_data(s))
    assert seen["dropout"] == 0.25


def test_studio_without_its_extra_says_what_to_install(monkeypatch, capsys):
    for name in [m for m in sys.modules if m.startswith("backprop.studio.server") or m.startswith("backprop.studio.app")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setitem(sys.modules, "starlette", None)
    assert main(["studio", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "pip install 'backprop[studio]'" in err


def test_a_bad_port_is_refused(capsys):
    assert main(["studio", "--port", "70000", "--no-browser"]) == 2
    assert "--port must be from 0 to 65535" in capsys.readouterr().err


def test_a_busy_port_is_named(capsys):
    pytest.importorskip("uvicorn")
    from backprop.studio.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert main(["studio", "--port", str(sock.getsockname()[1]), "--no-browser"]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
    finally:
        sock.close()


def test_another_host_is_warned_about(monkeypatch, capsys):
    pytest.importorskip("uvicorn")
    from backprop.studio import server

    called = {}
    monkeypatch.setattr(server, "serve", lambda host, port, open_browser: called.update(host=host, port=port))
    assert main(["studio", "--host", "0.0.0.0", "--no-browser"]) == 0
    assert called == {"host": "0.0.0.0", "port": None}
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err


def test_allowed_hosts():
    pytest.importorskip("uvicorn")
    from backprop.studio.server import allowed_hosts, url_for

    assert allowed_hosts("0.0.0.0") is None
    assert {"127.0.0.1", "localhost", "::1", "10.1.2.3"} <= allowed_hosts("10.1.2.3")
    assert url_for("::1", 8000, "t") == "http://[::1]:8000/?token=t"
    assert url_for("0.0.0.0", 8000, "t") == "http://127.0.0.1:8000/?token=t"


def test_the_web_libraries_stay_inside_the_studios_server():
    code = ("import sys, backprop, backprop.cli, backprop.studio.session; "
            "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Model: preprocessing fitted on training data, labels in and out, identical after reload."""

import numpy as np
import pytest

import backprop as bp
from backprop.core.training import split_validation
from backprop.data import moons, sine


def string_moons():
    data = moons(200, seed=0)
    return data.X * 50 + 100, np.array(["left", "right"])[data.y]  # raw, unscaled features


def test_classifier_with_string_labels_round_trips(tmp_path):
    X, y = string_moons()
    model = bp.Model.build(2, [16], task="classification", classes=["left", "right"], activation="tanh", seed=0)
    history = model.fit(X, y, epochs=40, batch_size=16, lr=0.01, seed=0, validation_split=0.25)
    assert history.final["val_accuracy"] > 0.85
    predictions = model.predict(X)
    assert set(predictions) <= {"left", "right"} and np.mean(predictions == y) > 0.85
    path = tmp_path / "moons.safetensors"
    model.save(path)
    again = bp.load(path)
    assert np.array_equal(again.predict(X), predictions)
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    assert again.classes == ["left", "right"] and again.preprocessor.kind == "standardize"


def test_preprocessing_is_fitted_on_training_samples_only():
    X, y = string_moons()
    model = bp.Model.build(2, [4], task="classification", classes=["left", "right"], seed=0)
    model.fit(X, y, epochs=1, seed=0, validation_split=0.5)
    assert not np.allclose(model.preprocessor.shift_, X.mean(axis=0))  # not the whole set's mean
    # The one split rule (stratified by class), drawn from the same seed.
    strata = np.unique(np.asarray(y), return_inverse=True)[1]
    train_rows, _ = split_validation(len(X), 0.5, np.random.default_rng(0), strata)
    assert np.allclose(model.preprocessor.shift_, X[train_rows].mean(axis=0))


def test_regressor_predicts_in_the_targets_units(tmp_path):
    data = sine(300, seed=1)
    y = data.y * 1000 + 5000
    model = bp.Model.build(1, [32], task="regression", activation="tanh", seed=0)
    model.fit(data.X, y, epochs=80, batch_size=16, optimizer="adam", lr=0.01, seed=0)
    predictions = model.predict(data.X)
    assert predictions.shape == (300,)
    assert np.mean(np.abs(predictions - y)) < 150
    path = tmp_path / "sine.safetensors"
    model.save(path)
    assert np.array_equal(bp.load(path).predict(data.X), predictions)
    with pytest.raises(TypeError, match="predict_proba is for classifiers"):
        model.predict_proba(data.X)
    scores = model.evaluate(data.X, y)
    assert scores["r2"] > 0.9 and scores["mae"] < 150


def test_float32_model_round_trips_exactly(tmp_path):
    X, y = string_moons()
    model = bp.Model.build(2, [8], task="classification", classes=["left", "right"], seed=0, dtype="float32")
    model.fit(X, y, epochs=2, seed=0)
    model.save(tmp_path / "m.safetensors")
    again = bp.load(tmp_path / "m.safetensors")
    assert again.network.dtype == np.float32
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))


def test_evaluate_reports_per_class_scores():
    X, y = string_moons()
    model = bp.Model.build(2, [16], task="classification", classes=["left", "right"], activation="tanh", seed=0)
    model.fit(X, y, epochs=30, lr=0.01, seed=0)
    scores = model.evaluate(X, y)
    matrix = np.array(scores["confusion_matrix"])
    assert matrix.sum() == 200 and scores["classes"] == ["left", "right"]
    assert scores["accuracy"] == pytest.approx(np.trace(matrix) / 200)
    assert scores["recall"][0] == pytest.approx(matrix[0, 0] / matrix[0].sum())


def test_unknown_labels_and_feature_counts_are_named():
    model = bp.Model.build(2, [4], task="classification", classes=["a", "b"], seed=0)
    with pytest.raises(ValueError, match=r"labels \['c'\] are not among the model's classes \['a', 'b'\]"):
        model.fit(np.zeros((2, 2)), ["a", "c"])
    with pytest.raises(ValueError, match="X has 3 features but the model expects 2"):
        model.predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="at least two classes"):
        bp.Model.build(2, [4], task="classification", classes=["a"])


def test_binary_sigmoid_output_uses_one_node():
    X, y = string_moons()
    model = bp.Model.build(2, [8], task="classification", classes=["left", "right"],
                           output_activation="sigmoid", seed=0, activation="tanh")
    assert model.network.sizes[-1] == 1 and model.network.loss_fn.name == "binary_cross_entropy"
    model.fit(X, y, epochs=30, lr=0.01, seed=0)
    assert np.mean(model.predict(X) == y) > 0.8

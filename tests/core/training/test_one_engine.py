"""The one engine: every entry point trains through the same loop, with the same rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop as bp
from backprop.core.training import DivergenceError, split_validation, validation_size
from backprop.sklearn import MLPClassifier, MLPRegressor
from backprop.sklearn.base import scikit_learn_biases


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


def _twin(seed, hidden=6, out=3, acts=("tanh", "softmax")):
    """The network an estimator with ``random_state=seed`` builds, and the generator after it."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out, act in ((4, hidden, acts[0]), (hidden, out, acts[1])):
        layers.append(bp.Dense(n_in, n_out, act, seed=rng))
        scikit_learn_biases(layers[-1], rng)  # the weights, then the biases, layer by layer
    return bp.Network(layers, loss="cross_entropy"), rng


def _same_weights(net, est):
    for mine, theirs in zip(net.layers, est.network_.layers):
        np.testing.assert_array_equal(mine.W, theirs.W)
        np.testing.assert_array_equal(mine.b, theirs.b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimator_and_network_fit_with_the_same_settings_end_with_the_same_weights():
    X, y = data()
    est = MLPClassifier((6,), activation="tanh", solver="sgd", momentum=0.0, learning_rate_init=0.1, alpha=0.0,
                        batch_size=10, max_iter=7, shuffle=False, random_state=3, tol=0.0,
                        n_iter_no_change=1000).fit(X, y)
    # The same initial weights as the estimator drew, then the same loop.
    net, _ = _twin(3)
    net.fit(X, np.eye(3)[y], epochs=7, batch_size=10, optimizer="sgd", lr=0.1, shuffle=False, seed=3)
    for mine, theirs in zip(net.layers, est.network_.layers):
        np.testing.assert_array_equal(mine.W, theirs.W)
        np.testing.assert_array_equal(mine.b, theirs.b)


def test_integer_sample_weights_equal_repeated_rows_to_1e_12():
    X, y = data(24)
    Y = np.eye(3)[y]
    w = np.random.default_rng(1).integers(0, 4, size=24)
    w[0] = 1
    kw = dict(activation="sigmoid", output_activation="softmax", loss="cross_entropy", seed=5)
    weighted = bp.Network.from_sizes([4, 5, 3], **kw)
    repeated = bp.Network.from_sizes([4, 5, 3], **kw)
    weighted.fit(X, Y, sample_weight=w, epochs=20, batch_size=24, optimizer="adam", lr=0.05, shuffle=False)
    repeated.fit(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0), epochs=20, batch_size=int(w.sum()),
                 optimizer="adam", lr=0.05, shuffle=False)
    for a, b in zip(weighted.layers, repeated.layers):
        np.testing.assert_allclose(a.W, b.W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(a.b, b.b, rtol=0, atol=1e-12)


def test_predicting_during_training_does_not_disturb_the_run():
    X, y = data()
    probe = np.random.default_rng(9).normal(size=(7, 4))
    kw = dict(activation="relu", output_activation="softmax", loss="cross_entropy", seed=2, dropout=0.2)
    quiet, busy = bp.Network.from_sizes([4, 8, 3], **kw), bp.Network.from_sizes([4, 8, 3], **kw)
    options = dict(epochs=3, batch_size=16, optimizer="adam", seed=4)
    quiet.fit(X, y, **options)
    seen = []

    class Probe(bp.Callback):
        def on_batch_end(self, epoch, batch, loss):
            seen.append(busy.forward(probe))  # a prediction between two batches
            busy.gradients(probe, np.eye(3)[np.arange(7) % 3])

    busy.fit(X, y, callbacks=[Probe()], **options)
    assert len(seen) == 12
    for a, b in zip(quiet.layers, busy.layers):
        np.testing.assert_array_equal(a.W, b.W)


def test_dropout_trains_with_the_seeded_generator_and_resumes_bit_for_bit():
    X, y = data(80)
    kw = dict(activation="relu", output_activation="softmax", loss="cross_entropy", seed=0, dropout=0.5)
    a, b, c = (bp.Network.from_sizes([4, 16, 3], **kw) for _ in range(3))
    options = dict(batch_size=8, optimizer="sgd", lr=0.1, seed=1)
    a.fit(X, y, epochs=4, **options)
    b.fit(X, y, epochs=4, **options)
    np.testing.assert_array_equal(a.layers[0].W, b.layers[0].W)  # the same seed, the same masks
    plain = bp.Network.from_sizes([4, 16, 3], **{**kw, "dropout": 0.0})
    plain.fit(X, y, epochs=4, **options)
    assert not np.array_equal(a.layers[0].W, plain.layers[0].W)  # the masks changed the training
    # Interrupted mid-epoch and resumed: the same weights as the run never interrupted.
    saved = []
    calls = iter(range(10**6))
    try:
        c.fit(X, y, epochs=4, checkpoint=saved.append, should_stop=lambda: next(calls) == 17, **options)
    except bp.TrainingInterrupted as stop:
        state = stop.state
    d = bp.Network.from_sizes([4, 16, 3], **kw)
    d.fit(X, y, epochs=4, resume=state, **options)
    np.testing.assert_array_equal(a.layers[0].W, d.layers[0].W)


def test_a_diverging_run_stops_before_the_weights_explode():
    X, y = data()
    net = bp.Network.from_sizes([4, 8, 3], activation="relu", output_activation="softmax",
                                loss="cross_entropy", seed=0)
    with pytest.raises(DivergenceError, match="the loss diverged.*smaller learning rate") as info:
        net.fit(X, y, epochs=50, batch_size=8, optimizer="sgd", lr=1e10, seed=0)
    assert info.value.history.stop_reason.startswith("the loss diverged at epoch")
    assert all(np.isfinite(layer.W).all() and np.abs(layer.W).max() < 1e30 for layer in net.layers)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_one_validation_split_rule_rounds_up_and_stratifies():
    assert validation_size(30, 0.1) == 3 and validation_size(1797, 0.2) == 360
    with pytest.raises(ValueError, match="both need at least one sample"):
        validation_size(10, 0.99)
    labels = np.array([0] * 90 + [1] * 10)
    kept, held = split_validation(100, 0.2, np.random.default_rng(0), labels)
    assert len(held) == 20 and np.bincount(labels[held]).tolist() == [18, 2]
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(100))
    # The estimators and Network.fit hold out the same number of samples.
    X, y = data(50)
    est = MLPRegressor((3,), max_iter=2, validation_fraction=0.1, random_state=0).fit(X, y.astype(float))
    history = bp.Network.from_sizes([4, 3, 1], seed=0).fit(X, y.astype(float), validation_split=0.1, epochs=1)
    assert len(est.validation_loss_curve_) == 2 and "val_loss" in history.epochs[0]


def test_the_l2_penalty_lives_in_the_optimizer_and_enters_the_loss():
    X, y = data()
    Y = np.eye(3)[y]
    plain = bp.Network.from_sizes([4, 5, 3], output_activation="softmax", loss="cross_entropy", seed=1)
    decayed = bp.Network.from_sizes([4, 5, 3], output_activation="softmax", loss="cross_entropy", seed=1)
    h0 = plain.fit(X, Y, epochs=1, batch_size=60, optimizer="sgd", lr=0.0001, shuffle=False)
    h1 = decayed.fit(X, Y, epochs=1, batch_size=60, optimizer="sgd", lr=0.0001, shuffle=False, weight_decay=0.5)
    W = sum(float((layer.W ** 2).sum()) for layer in bp.Network.from_sizes([4, 5, 3], seed=1).layers)
    assert h1.epochs[0]["loss"] - h0.epochs[0]["loss"] == pytest.approx(0.25 * W, rel=1e-9)


def test_an_estimator_stops_by_the_cores_rule_on_its_validation_score():
    X, y = data(120)
    est = MLPClassifier((6,), activation="tanh", solver="sgd", momentum=0.0, learning_rate_init=0.3, alpha=0.0,
                        batch_size=10, max_iter=300, random_state=3, early_stopping=True, validation_fraction=0.25,
                        tol=1e-3, n_iter_no_change=4).fit(X, y)
    net, rng = _twin(3)
    # scikit-learn's "more than n_iter_no_change epochs" is the core's patience of n_iter_no_change + 1.
    history = net.fit(X, np.eye(3)[y], epochs=300, batch_size=10, optimizer="sgd", lr=0.3, seed=rng,
                      validation_split=0.25, early_stopping=True, monitor="val_accuracy", patience=5,
                      min_delta=1e-3)
    assert est.n_iter_ == len(history) < 300 and est.history_.best_epoch == history.best_epoch
    assert est.validation_scores_ == history["val_accuracy"]
    assert est.best_validation_score_ == max(history["val_accuracy"])
    _same_weights(net, est)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimator_gets_schedules_clipping_and_the_plateau_from_the_loop():
    X, y = data()
    plateau = {"factor": 0.5, "patience": 2}
    est = MLPClassifier((6,), activation="tanh", solver="momentum", learning_rate_init=0.2, alpha=0.0,
                        batch_size=10, max_iter=9, shuffle=False, random_state=3, tol=0.05,
                        n_iter_no_change=1000, learning_rate={"name": "step", "step_size": 4, "gamma": 0.5},
                        clip_norm=0.3, reduce_lr_on_plateau=plateau).fit(X, y)
    net, _ = _twin(3)
    history = net.fit(X, np.eye(3)[y], epochs=9, batch_size=10, optimizer="momentum", lr=0.2, shuffle=False,
                      seed=3, schedule={"name": "step", "step_size": 4, "gamma": 0.5}, clip_norm=0.3,
                      reduce_lr_on_plateau=plateau, min_delta=0.05)
    lrs = [r["lr"] for r in est.history_.epochs]
    assert lrs == history["lr"] and len(set(lrs)) > 2  # the step and the plateau both changed it
    _same_weights(net, est)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimators_cosine_anneals_over_max_iter():
    X, y = data()
    est = MLPClassifier((6,), solver="momentum", learning_rate_init=0.2, learning_rate="cosine",
                        max_iter=np.int64(6), n_iter_no_change=1000, random_state=0).fit(X, y)  # as a grid search gives it
    lrs = [r["lr"] for r in est.history_.epochs]
    assert lrs == pytest.approx([0.2 * (1 + math.cos(math.pi * e / 6)) / 2 for e in range(6)])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimator_checkpoints_through_the_loop():
    X, y = data()
    states = []
    est = MLPClassifier((6,), max_iter=5, random_state=0, batch_size=20).fit(X, y, checkpoint=states.append,
                                                                            checkpoint_every=2)
    assert [s.epoch for s in states] == [2, 4, 5]
    for kept, layer in zip(states[-1].weights, est.network_.layers):
        np.testing.assert_array_equal(kept["W"], layer.W)


@pytest.mark.parametrize("params, message", [
    ({"learning_rate": "sometimes"}, "learning_rate must be 'constant', 'invscaling', 'adaptive', a schedule"),
    ({"clip_norm": -1.0}, r"clip_norm \(None or a number\) must be a number in \(0, inf\); got -1.0"),
    ({"reduce_lr_on_plateau": "yes"}, "reduce_lr_on_plateau must be None, True, False or a dict"),
    ({"reduce_lr_on_plateau": {"factor": 2}}, r"reduce_lr_on_plateau factor must be in \(0, 1\); got 2"),
    ({"reduce_lr_on_plateau": True, "learning_rate": "adaptive"}, "give one of it and reduce_lr_on_plateau"),
])
def test_the_new_estimator_parameters_are_checked_by_name(params, message):
    X, y = data()
    with pytest.raises(ValueError, match=message):
        MLPClassifier(max_iter=2, **params).fit(X, y)


def test_comm_is_for_fit_with_a_stochastic_solver():
    X, y = data()
    with pytest.raises(ValueError, match="not with lbfgs"):
        MLPRegressor(solver="lbfgs").fit(X, y, comm=object())
    with pytest.raises(ValueError, match="communicator needs allgather"):
        MLPClassifier().fit(X, y, comm=object())

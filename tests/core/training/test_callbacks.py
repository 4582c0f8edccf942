"""The per-epoch policies: one improvement rule, early stopping, the plateau, and their order."""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop as bp
from backprop.core.training import EarlyStopping, Improvement


def data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


def net(seed=1):
    return bp.Network.from_sizes([4, 8, 3], activation="tanh", output_activation="softmax",
                                 loss="cross_entropy", seed=seed)


@pytest.mark.parametrize("mode, values, since", [
    ("min", [1.0, 0.5, 0.45, 0.6, 0.2], [0, 0, 1, 2, 0]),   # 0.45 beats 0.5 by less than 0.1
    ("max", [0.1, 0.5, 0.55, 0.3, 0.9], [0, 0, 1, 2, 0]),
    ("min", [1.0, math.nan, 0.95, 0.5], [0, 1, 2, 0]),       # NaN never improves
])
def test_an_improvement_beats_the_best_by_more_than_min_delta(mode, values, since):
    rule = Improvement(mode, min_delta=0.1)
    counted = []
    for value in values:
        rule.update(value)
        counted.append(rule.since)
    assert counted == since
    finite = [v for v in values if not math.isnan(v)]
    assert rule.best == (min(finite) if mode == "min" else max(finite))
    assert rule.stalled(2) is False and Improvement().stalled(0) is False


def test_the_rule_refuses_a_mode_and_a_negative_delta_by_name():
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'; got 'up'"):
        Improvement("up")
    with pytest.raises(ValueError, match="min_delta must be a non-negative number; got -1"):
        Improvement("min", -1)
    with pytest.raises(ValueError, match="mode must be 'min', 'max' or None; got 'biggest'"):
        EarlyStopping("val_accuracy", mode="biggest")


def test_early_stopping_on_a_higher_is_better_metric_keeps_the_best_epoch():
    X, y = data()
    model = net()
    history = model.fit(X, y, epochs=200, batch_size=8, optimizer="sgd", lr=0.5, seed=0, validation_split=0.25,
                        early_stopping=True, monitor="val_accuracy", patience=5)
    accuracy = history["val_accuracy"]
    best = history.best_epoch
    assert history.stopped_early and len(history) == best + 5 < 200
    assert accuracy[best - 1] == max(accuracy) and accuracy.index(max(accuracy)) == best - 1
    assert "val_accuracy did not improve" in history.stop_reason


def test_the_best_weights_come_back_also_when_the_epochs_run_out():
    X, y = data()
    model = net()
    weights = []
    history = model.fit(X, y, epochs=12, batch_size=8, optimizer="sgd", lr=2.0, seed=0, validation_split=0.25,
                        early_stopping=True, patience=math.inf,
                        callbacks=[lambda epoch, record: weights.append(model.get_weights())])
    assert not history.stopped_early
    best = history.best_epoch
    assert best < 12, "a rate this large should make a later epoch worse than the best"
    for layer, kept in zip(model.get_weights(), weights[best - 1]):
        np.testing.assert_array_equal(layer["W"], kept["W"])


def test_a_plateau_at_the_smallest_rate_stops_training():
    X, y = data()
    history = net().fit(X, y, epochs=50, batch_size=80, optimizer="sgd", lr=0.1, seed=0, min_delta=1.0,
                        reduce_lr_on_plateau={"factor": 0.1, "patience": 2, "stop_lr": 0.002})
    # Every epoch after the first is no improvement: 0.1 for 3 epochs, 0.01 for 2, 0.001 for 2, then stop.
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert history.stopped_early and "at learning rate 0.001" in history.stop_reason


def test_the_policies_decide_on_entries_a_callback_adds_to_the_record():
    X, y = data()

    def margin(epoch, record):  # a metric of the user's, added at the epoch's end
        record["val_margin"] = record["val_accuracy"] - record["val_loss"]

    history = net().fit(X, y, epochs=100, batch_size=8, optimizer="sgd", lr=0.5, seed=0, validation_split=0.25,
                        callbacks=[margin], early_stopping=True, monitor="val_margin", mode="max", patience=3)
    values = [r["val_margin"] for r in history.epochs]
    assert history.best_epoch == values.index(max(values)) + 1 and history.stopped_early


def test_an_unrecorded_monitor_is_named_with_what_the_record_holds():
    X, y = data()
    with pytest.raises(ValueError, match=r"monitor 'val_f1' is not recorded; .* holds loss, accuracy, val_loss"):
        net().fit(X, y, epochs=2, seed=0, validation_split=0.25, early_stopping=True, monitor="val_f1")
    with pytest.raises(ValueError, match="monitor must name an entry"):
        net().fit(X, y, epochs=2, seed=0, early_stopping=True, monitor="val_accuracy")

"""fit(): seeded, recorded, stoppable, and guarded against non-finite values."""

import numpy as np
import pytest

import backprop as bp


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 2)) * 0.6 + np.array([[0, 0], [3, 0], [0, 3]])[y]
    return X, y


def classifier(seed=0, **kw):
    return bp.Network.from_sizes([2, 8, 3], activation="tanh", output_activation="softmax",
                                 loss="cross_entropy", seed=seed, **kw)


def test_fit_learns_and_records_plain_history():
    X, y = blobs()
    net = classifier()
    history = net.fit(X, y, epochs=15, batch_size=16, optimizer="sgd", lr=0.2, seed=0, validation_split=0.25)
    assert len(history) == 15 and history.task == "classification"
    first, last = history.epochs[0], history.epochs[-1]
    assert set(last) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert last["loss"] < first["loss"] and last["val_accuracy"] > 0.9
    assert history["epoch"] == list(range(1, 16))
    assert bp.History.from_dict(history.to_dict()) == history


def test_same_seed_same_run_and_other_seed_other_run():
    X, y = blobs()
    runs = []
    for seed in (3, 3, 4):
        net = classifier()
        net.fit(X, y, epochs=3, batch_size=10, lr=0.1, seed=seed)
        runs.append(net.layers[0].W.copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_regression_records_r2_and_mae():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(200, 1))
    Y = np.sin(X)
    net = bp.Network.from_sizes([1, 16, 1], activation="tanh", output_activation="identity", loss="mse", seed=0)
    history = net.fit(X, Y, epochs=60, batch_size=16, optimizer="adam", lr=0.01, seed=0,
                      validation_data=(X[:50], Y[:50]))
    assert history.task == "regression"
    assert history.final["val_r2"] > 0.95 and history.final["val_mae"] < 0.15
    assert "accuracy" not in history.final


def test_early_stopping_restores_the_best_weights():
    X, y = blobs(60, seed=1)
    X_val, y_val = blobs(60, seed=2)
    y_val = (y_val + 1) % 3  # validation labels that disagree: val_loss soon rises
    net = classifier()
    snapshots = {}
    history = net.fit(X, y, epochs=100, batch_size=8, lr=0.1, seed=0, validation_data=(X_val, y_val),
                      early_stopping=True, patience=3,
                      callbacks=[lambda epoch, record: snapshots.__setitem__(epoch, net.get_weights())])
    assert history.stopped_early and len(history) < 100
    assert len(history) == history.best_epoch + 3
    best = snapshots[history.best_epoch]
    assert np.array_equal(net.layers[0].W, best[0]["W"])
    assert history.final["val_loss"] == min(history["val_loss"])


def test_reduce_on_plateau_and_schedules_change_the_rate():
    X, y = blobs(60)
    net = classifier()
    # With min_delta = 1 no epoch counts as an improvement after the first; with patience 2 the
    # rate halves after every second epoch without one (the rule early stopping counts by).
    history = net.fit(X, y, epochs=6, batch_size=60, lr=0.01, seed=0, min_delta=1.0,
                      reduce_lr_on_plateau={"factor": 0.5, "patience": 2})
    assert history["lr"] == [0.01, 0.01, 0.01, 0.005, 0.005, 0.0025]
    history = classifier().fit(X, y, epochs=4, lr=0.1, schedule={"name": "step", "step_size": 2, "gamma": 0.5})
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05]


def test_a_callback_can_stop_training_and_sees_every_hook():
    events = []

    class Recorder(bp.Callback):
        def on_train_begin(self, info):
            events.append(("begin", info["n_batches"]))

        def on_batch_end(self, epoch, batch, loss):
            events.append(("batch", epoch, batch))

        def on_epoch_end(self, epoch, record):
            events.append(("epoch", epoch))
            return epoch == 2

        def on_train_end(self, history):
            events.append(("end", len(history)))

    X, y = blobs(30)
    history = classifier().fit(X, y, epochs=10, batch_size=10, lr=0.1, callbacks=[Recorder()])
    assert len(history) == 2 and "callback" in history.stop_reason
    assert events[0] == ("begin", 3) and events[-1] == ("end", 2)
    assert [e for e in events if e[0] == "batch"][:3] == [("batch", 1, 1), ("batch", 1, 2), ("batch", 1, 3)]


def test_non_finite_guard_names_epoch_and_batch_and_keeps_the_weights():
    X, y = blobs(40)
    net = bp.Network.from_sizes([2, 8, 3], activation="relu", output_activation="identity", loss="sse", seed=0)
    Y = np.eye(3)[y] * 1e3
    last_good = {}
    cb = type("Keep", (bp.Callback,), {"on_batch_end": lambda self, e, b, l: last_good.update(w=net.get_weights())})()
    with pytest.raises(bp.NonFiniteError, match=r"at epoch \d+, batch \d+.*smaller learning rate") as caught:
        net.fit(X, Y, epochs=50, batch_size=4, lr=10.0, seed=0, callbacks=[cb])
    err = caught.value
    assert err.epoch >= 1 and err.batch >= 1
    assert err.layer is None or f"layer {err.layer}" in str(err)
    assert all(np.isfinite(layer.W).all() for layer in net.layers)
    assert np.array_equal(net.layers[0].W, last_good["w"][0]["W"])


def test_non_finite_activations_name_the_layer():
    X, y = blobs(20)
    net = classifier()
    net.layers[1].W[0, 0] = np.inf  # a broken weight: layer 2's outputs become NaN
    with pytest.raises(bp.NonFiniteError, match="the activations of layer 2") as caught:
        net.fit(X, y, epochs=1, batch_size=5, lr=0.1)
    assert caught.value.layer == 2 and caught.value.batch == 1


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(epochs=0), "epochs must be a positive integer; got 0"),
        (dict(batch_size=-1), "batch_size must be a positive integer; got -1"),
        (dict(validation_split=1.0), r"validation_split must be a number in \[0, 1\); got 1.0"),
        (dict(lr=0.0), "lr must be positive"),
        (dict(optimizer="adagrad"), "unknown optimizer 'adagrad'"),
        (dict(task="ranking"), "task must be one of classification, regression; got 'ranking'"),
        (dict(validation_split=0.99), "both need at least one"),
        (dict(reduce_lr_on_plateau={"factor": 2}), r"factor must be in \(0, 1\)"),
    ],
)
def test_bad_options_are_named(options, message):
    X, y = blobs(30)
    with pytest.raises(ValueError, match=message):
        classifier().fit(X, y, **options)


def test_class_indices_out_of_range_are_named():
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 2\].*from 0 to 5"):
        classifier().fit(np.zeros((3, 2)), np.array([0, 1, 5]))


def test_float32_training_stays_float32():
    X, y = blobs(40)
    net = classifier(dtype="float32")
    net.fit(X, y, epochs=2, batch_size=8, optimizer="adam", seed=0)
    _, trace = net.forward_train(net.check_X(X))
    assert all(layer.W.dtype == np.float32 and cache.a.dtype == np.float32
               for layer, cache in zip(net.layers, trace))


def resumable_run(**options):
    """A small run with everything that carries state: momentum, a schedule, plateau, early stopping."""
    X, y = blobs(90, seed=3)
    net = classifier(seed=5)
    settings = dict(epochs=6, batch_size=16, optimizer="momentum", lr=0.05, seed=11, validation_split=0.2,
                    schedule={"name": "exponential", "gamma": 0.9}, reduce_lr_on_plateau={"patience": 1},
                    early_stopping=True, patience=4)
    settings.update(options)
    return net, X, y, settings


def test_resuming_from_any_epoch_checkpoint_gives_identical_weights():
    net, X, y, settings = resumable_run()
    states = []
    history = net.fit(X, y, checkpoint=states.append, **settings)
    assert [s.epoch for s in states] == list(range(1, len(history) + 1))
    for saved in states[:-1]:
        twin, *_ = resumable_run()
        resumed = twin.fit(X, y, resume=saved, **settings)
        assert all(np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b) for a, b in zip(net.layers, twin.layers))
        assert resumed["loss"] == history["loss"]


@pytest.mark.parametrize("stop_after", [1, 4, 5, 13])
def test_stopping_mid_epoch_and_resuming_gives_identical_weights(stop_after):
    net, X, y, settings = resumable_run()
    net.fit(X, y, **settings)

    twin, *_ = resumable_run()
    calls = iter(range(10**6))
    with pytest.raises(bp.TrainingInterrupted) as caught:
        twin.fit(X, y, should_stop=lambda: next(calls) + 1 >= stop_after, **settings)
    state = caught.value.state
    # should_stop is asked after each of the 5 batches and at each epoch's end; after the
    # last batch, the stop waits for the epoch's end.
    epoch, call = divmod(stop_after - 1, 6)
    assert (state.epoch, state.batch) == ((epoch, call + 1) if call < 4 else (epoch + 1, 0))
    again, *_ = resumable_run(seed=11)
    again.fit(X, y, resume=state, **settings)
    assert all(np.array_equal(a.W, b.W) for a, b in zip(net.layers, again.layers))

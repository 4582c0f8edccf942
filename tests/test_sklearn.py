"""Tests for backprop.sklearn: scikit-learn's own estimator checks, then what the estimators add."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import backprop as bp
from backprop.core.training import Callback
from backprop.sklearn import MLPClassifier, MLPRegressor
from support import relative_error

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# -- scikit-learn's estimator checks -------------------------------------------------------

# The defaults, and the article's and the engine's choices: every check passes.
FULLY_CHECKED = [
    MLPClassifier(),
    MLPRegressor(),
    MLPClassifier(loss="binary_cross_entropy"),
    MLPClassifier((16, 8), activation=["tanh", "gelu"], loss="sse", output_activation="sigmoid",
                  solver="nesterov", learning_rate_init=0.05, bias=False),
    MLPRegressor((16, 8), activation=["elu", "softplus"], loss="huber", solver="rmsprop"),
]

# Options under which integer sample weights are not bit-for-bit the same as repeated samples.
WEIGHTS_NOT_REPETITION = {
    f"check_sample_weight_equivalence_on_{kind}_data":
        "dropout masks, the random validation split and float32 rounding depend on the number of rows"
    for kind in ("dense", "sparse")
}
# scikit-learn's own rules under early stopping, which its MLP fails these checks by too.
EARLY_STOPPING_RULES = {
    **{check: "scikit-learn refuses a validation set of fewer than 2 samples (the check's data is smaller)"
       for check in ("check_fit_score_takes_y", "check_estimators_nan_inf", "check_n_features_in_after_fitting",
                     "check_class_weight_classifiers", "check_fit2d_1feature")},
    "check_estimators_partial_fit_n_features": "scikit-learn's partial_fit refuses early_stopping=True",
}
VARIANTS = [
    MLPClassifier(dropout=0.2, early_stopping=True),
    MLPClassifier(dtype="float32"),
    MLPRegressor(dtype="float32", dropout=0.1),
]


def expected_failures(estimator):
    if estimator in VARIANTS:
        failures = dict(WEIGHTS_NOT_REPETITION)
        if estimator.early_stopping:
            failures.update(EARLY_STOPPING_RULES)
        if isinstance(estimator, MLPRegressor) and estimator.dtype == "float32":
            failures["check_regressor_multioutput"] = (
                "a float32 regressor predicts float32, the check wants float64")
        return failures
    return {}


@parametrize_with_checks(FULLY_CHECKED + VARIANTS, expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check, monkeypatch):
    # scikit-learn runs its array-API check (with NumPy arrays) only when this is set.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_the_default_instances_have_no_expected_failure():
    assert all(expected_failures(e) == {} for e in FULLY_CHECKED)


# -- data ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=3, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, noise=5, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std(axis=0)


def fast(cls, **params):
    """A small, quick estimator: 8 hidden nodes, batches of 32, rate 0.01, 30 epochs."""
    return cls(**{"hidden_layer_sizes": (8,), "batch_size": 32, "learning_rate_init": 0.01, "max_iter": 30,
                  "random_state": 0, **params})


# -- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("params, message", [
    ({"hidden_layer_sizes": (8, 0)}, r"hidden_layer_sizes\[1\] must be an integer in \[1, inf\); got 0"),
    ({"hidden_layer_sizes": "8"}, "hidden_layer_sizes must be a sequence"),
    ({"activation": ["relu"], "hidden_layer_sizes": (4, 4)}, "activation lists 1 values but there are 2"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"solver": "newton"}, "solver must be one of sgd, momentum, nesterov, adam, adamw, rmsprop, lbfgs; got 'newton'"),
    ({"learning_rate": "optimal"}, "learning_rate must be 'constant', 'invscaling', 'adaptive', a schedule name .*; got 'optimal'"),
    ({"max_fun": 0}, r"max_fun must be an integer in \[1, inf\); got 0"),
    ({"learning_rate_init": 0}, r"learning_rate_init must be a number in \(0, inf\); got 0"),
    ({"alpha": -1.0}, "alpha must be a number"),
    ({"batch_size": 0}, "batch_size"),
    ({"max_iter": 2.5}, "max_iter must be an integer"),
    ({"max_iter": 0, "learning_rate": "cosine"}, r"max_iter must be an integer in \[1, inf\); got 0"),  # not t_max
    ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\); got 1.0"),
    ({"dropout": [0.1, 0.2]}, "dropout lists 2 values but there are 1"),
    ({"validation_fraction": 1.5}, "validation_fraction"),
    ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'; got 'float16'"),
    ({"init": "bogus"}, "unknown initializer 'bogus'"),
    ({"init": 3}, "init must be the name of an initializer or a function; got 3"),
    ({"callbacks": [42]}, r"callbacks\[0\] must be a backprop Callback or a function"),
    ({"random_state": -1}, "random_state must be None"),
    ({"output_activation": "relu"}, "output_activation must be softmax or sigmoid"),
    ({"class_weight": "even"}, "class_weight must be None, 'balanced' or a dict"),
    ({"class_weight": {7: 2.0}}, "class_weight names the label 7"),
])
def test_bad_parameters_are_named_at_fit(blobs, params, message):
    X, y = blobs
    clf = fast(MLPClassifier, **params)  # __init__ only stores
    with pytest.raises((ValueError, TypeError), match=message):
        clf.fit(X, y)


def test_bad_sample_weights_are_refused(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="non-negative"):
        fast(MLPClassifier).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="all zero"):
        fast(MLPClassifier).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="only one class has samples with positive weight"):
        fast(MLPClassifier).fit(X, y, sample_weight=(y == 0).astype(float))


# -- the network that fit builds --------------------------------------------------------------


def test_fit_builds_the_network_the_parameters_describe(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, hidden_layer_sizes=(6, 5), activation=["tanh", "elu"], bias=False,
               loss="sse", output_activation="sigmoid").fit(X, y)
    net = clf.network_
    assert net.sizes == [2, 6, 5, 3]
    assert [layer.activation.name for layer in net.layers] == ["tanh", "elu", "sigmoid"]
    assert all(layer.b is None for layer in net.layers) and net.loss_fn.name == "sse"
    assert [c.shape for c in clf.coefs_] == [(2, 6), (6, 5), (5, 3)]
    assert all(np.all(b == 0) for b in clf.intercepts_)
    assert clf.out_activation_ == "logistic" and clf.n_iter_ == len(clf.loss_curve_) == 30
    proba = clf.predict_proba(X)  # several sigmoid nodes, divided by their sum
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.validation_loss_curve_ is None and clf.t_ == 30 * len(y)


def test_sigmoid_probabilities_stay_finite_where_every_output_rounds_to_zero(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, output_activation="sigmoid", loss="sse").fit(X, y)
    expected = clf.predict_proba(X)
    # Shifting every output's z by -1000 rounds every sigmoid to 0; the probabilities must stay
    # finite and keep their order (sigmoid is increasing).
    clf.network_.layers[-1].b -= 1000.0
    assert np.all(clf.network_.forward(X) == 0.0)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and np.all(proba.argmax(axis=1) == expected.argmax(axis=1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_a_sigmoid_binary_classifier_has_one_output_node():
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = fast(MLPClassifier, loss="binary_cross_entropy", learning_rate_init=0.01).fit(X, labels)
    assert clf.network_.sizes[-1] == 1 and clf.out_activation_ == "logistic"
    proba = clf.predict_proba(X)
    a = clf.network_.forward(X)[:, 0]
    np.testing.assert_allclose(proba, np.column_stack([1 - a, a]))
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert np.mean(clf.predict(X) == labels) > 0.8


def test_string_labels_and_probability_columns_follow_classes(blobs):
    X, y = blobs
    names = np.array(["cat", "ant", "bee"])[y]
    clf = fast(MLPClassifier, max_iter=100).fit(X, names)
    assert clf.classes_.tolist() == ["ant", "bee", "cat"]
    proba = clf.predict_proba(X)
    assert np.all(clf.classes_[proba.argmax(axis=1)] == clf.predict(X))
    assert clf.score(X, names) > 0.9


@given(n_samples=st.integers(2, 30), n_features=st.integers(1, 5), n_classes=st.integers(2, 4),
       hidden=st.lists(st.integers(1, 5), max_size=2), dtype=st.sampled_from(["float64", "float32"]),
       seed=st.integers(0, 1000))
def test_any_shape_of_data_gives_probabilities_over_the_classes(n_samples, n_features, n_classes, hidden,
                                                                dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    y = np.arange(n_samples) % n_classes * 10  # every class present, labels not 0..k-1
    clf = MLPClassifier(tuple(hidden), max_iter=2, dtype=dtype, random_state=seed).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (n_samples, min(n_classes, n_samples)) and proba.dtype == np.dtype(dtype)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # Two classes: one sigmoid node (scikit-learn's); more: one softmax node per class.
    n_out = 1 if proba.shape[1] == 2 else proba.shape[1]
    assert set(clf.predict(X)) <= set(y) and clf.network_.sizes == [n_features, *hidden, n_out]


def test_regressor_predicts_every_target(regression):
    X, Y = regression
    reg = fast(MLPRegressor, max_iter=300, learning_rate_init=0.01).fit(X, Y)
    assert reg.predict(X).shape == Y.shape and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.9
    one = fast(MLPRegressor).fit(X, Y[:, 0])
    assert one.predict(X).shape == (len(X),)


def test_float32_end_to_end(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, dtype="float32", max_iter=100).fit(X, y)
    assert clf.network_.dtype == np.float32 and clf.predict_proba(X).dtype == np.float32
    assert all(p.dtype == np.float32 for slots in clf._optimizer.state.values() for p in slots.values())
    assert clf.score(X, y) > 0.9


# -- the loss: sse, a custom Loss, weights ----------------------------------------------------


class MyMSE(bp.Loss):
    """A user's own loss: the mean squared error again, written from scratch."""

    name = "my_mse"

    def per_sample(self, a, y):
        return ((a - y) ** 2).mean(axis=1)

    def derivative(self, a, y):
        return 2.0 * (a - y) / a.shape[1]


def test_a_custom_loss_trains_exactly_like_the_built_in_it_copies(regression):
    X, Y = regression
    mine = fast(MLPRegressor, loss=MyMSE()).fit(X, Y)
    builtin = fast(MLPRegressor, loss="squared_error").fit(X, Y)
    assert mine.network_.loss_fn.name == "my_mse"
    np.testing.assert_allclose(mine.predict(X), builtin.predict(X), rtol=1e-12)
    np.testing.assert_allclose(mine.loss_curve_, builtin.loss_curve_, rtol=1e-12)


def test_class_weight_is_a_sample_weight_per_class(blobs):
    X, y = blobs
    weighted = fast(MLPClassifier, class_weight={0: 3.0, 2: 0.5}).fit(X, y)
    sample = fast(MLPClassifier).fit(X, y, sample_weight=np.select([y == 0, y == 2], [3.0, 0.5], 1.0))
    np.testing.assert_allclose(weighted.predict_proba(X), sample.predict_proba(X), rtol=1e-12)


def test_balanced_class_weight_helps_the_rare_class():
    X, y = make_classification(n_samples=300, n_features=4, weights=[0.93], flip_y=0, class_sep=0.6,
                               random_state=3)
    plain = fast(MLPClassifier, max_iter=60).fit(X, y)
    balanced = fast(MLPClassifier, max_iter=60, class_weight="balanced").fit(X, y)
    rare = y == 1
    assert np.mean(balanced.predict(X)[rare] == 1) > np.mean(plain.predict(X)[rare] == 1)
    with pytest.raises(ValueError, match="balanced.*partial_fit"):
        fast(MLPClassifier, class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_integer_sample_weights_are_repeated_samples(regression):
    X, Y = regression
    w = np.random.default_rng(0).integers(0, 4, size=len(X))
    # One batch per epoch (batch_size="auto" covers up to 200 rows): mini-batches of repeated rows
    # would group the samples differently.
    weighted = fast(MLPRegressor, batch_size="auto").fit(X, Y, sample_weight=w)
    repeated = fast(MLPRegressor, batch_size="auto").fit(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7, atol=1e-10)


def one_epoch_in_torch(W, b, X, Y, w, lr, alpha, batch_size, acts):
    """Plain SGD on ``sum_i w_i C_i / sum w + alpha/2 ||W||^2 / sum w`` with the article's sse."""
    W = [torch.tensor(x, requires_grad=True) for x in W]
    b = [torch.tensor(x, requires_grad=True) for x in b]
    for start in range(0, len(X), batch_size):
        a = torch.tensor(X[start:start + batch_size])
        y = torch.tensor(Y[start:start + batch_size])
        wb = torch.tensor(w[start:start + batch_size])
        for Wl, bl, act in zip(W, b, acts):
            a = act(a @ Wl.T + bl)
        loss = (wb * ((a - y) ** 2).sum(dim=1)).sum() / wb.sum()
        loss = loss + 0.5 * alpha * sum((Wl ** 2).sum() for Wl in W) / wb.sum()
        loss.backward()
        with torch.no_grad():
            for p in W + b:
                p -= lr * p.grad
                p.grad = None
    return [x.detach().numpy() for x in W], [x.detach().numpy() for x in b]


def test_one_epoch_of_weighted_l2_sgd_matches_pytorch(regression):
    X, Y = regression
    X, Y = X[:10], Y[:10]
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=10)
    reg = MLPRegressor((4,), activation="tanh", loss="sse", solver="sgd", momentum=0.0, learning_rate_init=0.05,
                       alpha=0.1, batch_size=4, shuffle=False, max_iter=1, random_state=0).fit(X, Y)
    W0 = [layer.W.copy() for layer in reg.network_.layers]
    b0 = [layer.b.copy() for layer in reg.network_.layers]
    reg.partial_fit(X, Y, sample_weight=w)
    W1, b1 = one_epoch_in_torch(W0, b0, X, Y, w, 0.05, 0.1, 4, [torch.tanh, lambda z: z])
    for layer, Wt, bt in zip(reg.network_.layers, W1, b1):
        assert relative_error(layer.W, Wt) < 1e-12 and relative_error(layer.b, bt) < 1e-12


# -- dropout ----------------------------------------------------------------------------------


TORCH_LOSSES = {
    "cross_entropy": lambda z, a, y: -(y * torch.log_softmax(z, dim=1)).sum(dim=1),
    "sse": lambda z, a, y: ((a - y) ** 2).sum(dim=1),
    "binary_cross_entropy": lambda z, a, y: torch.nn.functional.binary_cross_entropy_with_logits(
        z, y, reduction="none").mean(dim=1),
    "mse": lambda z, a, y: ((a - y) ** 2).mean(dim=1),
}
TORCH_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
                     "softmax": lambda z: torch.softmax(z, dim=1), "identity": lambda z: z}


@pytest.mark.parametrize("loss, output", [("cross_entropy", "softmax"), ("sse", "sigmoid"),
                                          ("binary_cross_entropy", "sigmoid"), ("mse", "identity")])
def test_dropout_and_sample_weight_gradients_match_pytorch(loss, output):
    rng = np.random.default_rng(0)
    acts = ["tanh", "relu", output]
    net = bp.Network([bp.Layer(4, 7, acts[0], seed=1), bp.Dropout(0.5), bp.Layer(7, 6, acts[1], seed=2),
                      bp.Dropout(0.3), bp.Layer(6, 3, acts[2], seed=3)], loss=loss)
    X = rng.normal(size=(9, 4))
    Y = np.eye(3)[rng.integers(0, 3, size=9)] if output != "identity" else rng.normal(size=(9, 3))
    w = rng.uniform(0.0, 2.0, size=9)
    # The loop's own steps: forward with the run's generator, backward with w_i / sum w.
    _, trace = net.forward_train(X, rng=rng)
    masks = [trace[1], trace[3]]
    grads = [{k: np.empty_like(v) for k, v in p.items()} for p in net.parameters()]
    net.backward(trace, Y, grads, scale=net.row_scale(w, 9))

    params = [(torch.tensor(layer.W, requires_grad=True), torch.tensor(layer.b, requires_grad=True))
              for layer in net.layers]
    a = torch.tensor(X)
    for i, ((W, b), name) in enumerate(zip(params, acts)):
        z = a @ W.T + b
        a = TORCH_ACTIVATIONS[name](z)
        if i < 2:
            a = a * torch.tensor(masks[i])
    wt = torch.tensor(w)
    ((wt * TORCH_LOSSES[loss](z, a, torch.tensor(Y))).sum() / wt.sum()).backward()
    for g, (W, b) in zip(grads, params):
        assert relative_error(g["W"], W.grad.numpy()) < 1e-10
        assert relative_error(g["b"], b.grad.numpy()) < 1e-10


def test_dropout_acts_in_training_only(blobs):
    X, y = blobs
    dropped = fast(MLPClassifier, dropout=0.5).fit(X, y)
    plain = fast(MLPClassifier).fit(X, y)
    assert not np.allclose(dropped.loss_curve_[:5], plain.loss_curve_[:5])
    # prediction uses every node, unscaled: the plain forward pass of the same weights
    np.testing.assert_allclose(dropped.predict_proba(X), dropped.network_.forward(X), rtol=1e-12)
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))


# -- curves, early stopping, callbacks ---------------------------------------------------------


def test_validation_loss_curve_and_early_stopping_restore_the_best_epoch(regression):
    X, Y = regression
    X_val, Y_val = X[:30], Y[:30]
    reg = fast(MLPRegressor, hidden_layer_sizes=(64,), max_iter=400, learning_rate_init=0.05,
               early_stopping=True, n_iter_no_change=5, tol=0.0)
    reg.fit(X[30:], Y[30:], validation_data=(X_val, Y_val))
    curve, scores = reg.validation_loss_curve_, reg.validation_scores_
    assert len(curve) == len(scores) == len(reg.loss_curve_) == reg.n_iter_ < 400
    # scikit-learn's rule, as the core's EarlyStopping: the validation score (R^2 here, higher is
    # better) watched, more than n_iter_no_change epochs without improvement, the best weights kept.
    assert reg.history_.stopped_early and "val_score did not improve" in reg.history_.stop_reason
    assert reg.history_.best_epoch == scores.index(max(scores)) + 1
    assert reg.best_validation_score_ == max(scores) and reg.best_loss_ is None
    assert reg.score(X_val, Y_val) == pytest.approx(max(scores), rel=1e-10)
    assert scores.index(max(scores)) == reg.n_iter_ - 7 and reg.best_validation_loss_ == min(curve)


def test_validation_fraction_alone_records_the_curve_without_stopping(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, validation_fraction=0.2).fit(X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_ == 30
    assert clf.history_.epochs[0].keys() >= {"epoch", "loss", "val_loss", "lr", "seconds"}


def test_training_stops_when_the_training_loss_stalls(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, max_iter=500, tol=10.0, n_iter_no_change=3).fit(X, y)
    assert clf.n_iter_ == 5  # the first epoch sets the best; four more without a gain of 10 stop


def test_convergence_warning_when_max_iter_is_reached(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        fast(MLPClassifier, max_iter=3).fit(X, y)


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, info):
        self.events.append(("begin", info["n_batches"]))

    def on_epoch_begin(self, epoch):
        self.events.append(("epoch", epoch))

    def on_batch_end(self, epoch, batch, loss):
        self.events.append(("batch", epoch, batch))

    def on_epoch_end(self, epoch, record):
        self.events.append(("end", epoch, round(record["loss"], 12)))

    def on_train_end(self, history):
        self.events.append(("done", len(history)))


def test_callbacks_see_every_step_and_can_stop(blobs):
    X, y = blobs
    recorder = Recorder()
    clf = fast(MLPClassifier, batch_size=100, callbacks=[recorder, lambda epoch, record: epoch == 3])
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and clf.history_.stop_reason == "a callback asked to stop after epoch 3"
    events = clf.get_params()["callbacks"][0].events
    assert events[:5] == [("begin", 2), ("epoch", 1), ("batch", 1, 1), ("batch", 1, 2),
                          ("end", 1, round(clf.loss_curve_[0], 12))]
    assert events[-1] == ("done", 3)


def test_verbose_prints_the_losses(blobs, capsys):
    X, y = blobs
    fast(MLPClassifier, max_iter=2, verbose=True, validation_fraction=0.2).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "validation loss = " in out


def test_a_diverging_run_stops_with_a_clear_error():
    X = np.random.default_rng(0).normal(size=(40, 3)) * 1e3
    y = X.sum(axis=1) * 1e3
    reg = fast(MLPRegressor, solver="sgd", learning_rate_init=10.0, max_iter=50)
    with pytest.raises(ValueError, match="non-finite parameter weights.*(not finite|diverged).*smaller learning rate"):
        reg.fit(X, y)


# -- partial_fit and warm_start -----------------------------------------------------------------


def test_partial_fit_is_one_epoch_of_fit(blobs):
    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = fast(MLPClassifier, max_iter=1).fit(X, y)
    part = fast(MLPClassifier).partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(part.predict_proba(X), full.predict_proba(X))


def test_partial_fit_learns_from_a_stream(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        clf.partial_fit(X, y)
    for epoch in range(20):
        for part in np.array_split(np.arange(len(y)), 5):
            clf.partial_fit(X[part], y[part], classes=[0, 1, 2])
    # scikit-learn 1.9 counts n_iter_ per call and t_ over every call.
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 100 and clf.t_ == 100 * len(y) // 5
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="labels \\[7\\] that are not among the classes"):
        clf.partial_fit(X[:3], [0, 7, 1])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :1], y)


def test_warm_start_continues_from_the_weights(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, max_iter=10, warm_start=True).fit(X, y)
    first_curve = list(clf.loss_curve_)
    clf.fit(X, y)
    assert clf.n_iter_ == 10 and clf.t_ == 20 * len(y) and clf.loss_curve_[:10] == first_curve
    assert clf.loss_curve_[10] < first_curve[0]
    cold = clf.set_params(warm_start=False).fit(X, y)
    assert cold.n_iter_ == 10 and cold.loss_curve_ == first_curve


# -- scikit-learn's tools --------------------------------------------------------------------------


def test_inside_a_pipeline_with_a_scaler():
    X, y = make_blobs(n_samples=150, centers=3, random_state=0)
    X = X * 100 + 1000  # far from standardized: the scaler matters
    pipe = make_pipeline(StandardScaler(), fast(MLPClassifier, max_iter=100)).fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert pipe.predict_proba(X).shape == (150, 3)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X), pipe.predict_proba(X))


def test_inside_grid_search(regression):
    X, Y = regression
    pipe = make_pipeline(StandardScaler(), fast(MLPRegressor, max_iter=50))
    grid = GridSearchCV(pipe, {"mlpregressor__hidden_layer_sizes": [(4,), (16,)],
                               "mlpregressor__activation": ["tanh", ["relu"]],
                               "mlpregressor__dropout": [0.0, 0.1]}, cv=3)
    grid.fit(X, Y)
    assert len(grid.cv_results_["params"]) == 8
    best = grid.best_estimator_[-1]
    assert best.n_iter_ == len(best.loss_curve_) <= 50
    assert grid.score(X, Y) > 0.5


def test_clone_keeps_the_parameters_and_drops_what_was_learned(blobs):
    X, y = blobs
    clf = fast(MLPClassifier, activation=["gelu"], dropout=[0.1], callbacks=[Recorder()]).fit(X, y)
    copy = clone(clf)
    assert copy.get_params()["activation"] == ["gelu"] and not hasattr(copy, "network_")
    assert copy.get_params()["callbacks"][0] is not clf.callbacks[0]


def test_weights_start_as_scikit_learns_glorot_uniform_unless_init_says_otherwise(blobs):
    X, y = blobs
    glorot = MLPClassifier((40,), max_iter=1, learning_rate_init=1e-12, random_state=0).fit(X, y)
    he = MLPClassifier((40,), max_iter=1, learning_rate_init=1e-12, random_state=0, init="he_uniform").fit(X, y)
    n_in = X.shape[1]
    bound = np.sqrt(6 / (n_in + 40))
    first = glorot.coefs_[0]
    assert np.abs(first).max() <= bound and np.abs(first).max() > 0.9 * bound
    assert np.abs(he.coefs_[0]).max() > bound  # He's bound, sqrt(6 / n_in), is wider

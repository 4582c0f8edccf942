"""What the estimators do as scikit-learn's MLP does: lbfgs, rate rules, multilabel, sparse input, the pair rule.

scikit-learn's own test file (tests/sklearn_upstream/test_mlp.py) checks these against its
expectations; here each piece is checked on its own, where a formula or a refusal can be seen.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from support import central_difference, one_error_line, relative_error, run_cli

from backprop.core.optimizers import get_optimizer
from backprop.core.training.batches import LocalBatches, take_rows
from backprop.sklearn import MLPClassifier, MLPRegressor, lbfgs
from backprop.sklearn.policies import InvScaling

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    return X, y


def test_the_lbfgs_objective_has_the_gradient_of_its_value_with_the_l2_penalty(binary):
    X, y = binary
    clf = MLPClassifier((4,), solver="lbfgs", max_iter=1, alpha=0.5, random_state=0).fit(X, y)
    penalty = get_optimizer("sgd", weight_decay=clf.alpha, decay_per_sample=True)
    f = lbfgs.objective(clf.network_, penalty, X, y.reshape(-1, 1).astype(float))
    theta = lbfgs.pack(clf.network_.parameters())
    numeric = central_difference(lambda: f(theta)[0], theta)
    assert relative_error(f(theta)[1], numeric) < 1e-7
    # The penalty is alpha / (2 n) ||W||^2 over the weights, not the biases.
    bare = lbfgs.objective(clf.network_, get_optimizer("sgd"), X, y.reshape(-1, 1).astype(float))
    W2 = sum(float((layer.W ** 2).sum()) for layer in clf.network_.layers)
    assert f(theta)[0] - bare(theta)[0] == pytest.approx(0.5 * 0.5 / len(y) * W2, rel=1e-12)


def test_lbfgs_counts_its_iterations_and_warns_at_max_fun(binary):
    X, y = binary
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf = MLPClassifier((8,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    assert clf.n_iter_ <= 5
    assert not hasattr(clf, "partial_fit")  # as scikit-learn: only the stochastic solvers have it


def test_invscaling_is_the_initial_rate_over_samples_seen_to_the_power_t():
    schedule = InvScaling(power_t=0.25, samples_per_epoch=4, t0=8)
    assert schedule(0.1, 0) == 0.1  # each fit starts afresh at learning_rate_init
    assert schedule(0.1, 2) == pytest.approx(0.1 / (8 + 8 + 1) ** 0.25, rel=1e-15)


def test_adaptive_divides_the_rate_by_five_on_each_plateau(binary):
    X, y = binary
    clf = MLPClassifier((4,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.1,
                        tol=10.0, n_iter_no_change=1, max_iter=40, random_state=0).fit(X, y)
    rates = [record["lr"] for record in clf.history_.epochs]
    # The first epoch sets the best loss; after more than one epoch without a gain of 10, a fifth.
    assert rates[:3] == [0.1] * 3 and rates[3:5] == pytest.approx([0.02] * 2) and rates[5] == pytest.approx(0.004)
    assert clf.learning_rate_ < 1e-6 and clf.n_iter_ < 40


def test_multilabel_targets_get_a_sigmoid_per_label_and_their_own_probabilities():
    X, Y = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
    clf = MLPClassifier((16,), max_iter=50, random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4 and proba.shape == (80, 4)
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent labels, not one distribution
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))


@pytest.mark.parametrize("kind", ["csr", "csc"])
def test_sparse_input_trains_and_predicts_as_the_dense_one(binary, kind):
    X, y = binary
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    dense = MLPClassifier((6,), max_iter=5, random_state=0).fit(X, y)
    sparse = MLPClassifier((6,), max_iter=5, random_state=0).fit(sp.csr_matrix(X).asformat(kind), y)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-12)
    dense.partial_fit(X, y)
    sparse.partial_fit(sp.csc_matrix(X), y)
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-12)


def test_a_batch_of_a_sparse_matrix_is_only_its_rows_made_dense():
    X = sp.random(50, 7, density=0.2, format="csr", random_state=0)
    rows = np.array([3, 41, 7])
    out = np.empty((3, 7))
    np.testing.assert_array_equal(take_rows(X, rows, out), X.toarray()[rows])
    batches = LocalBatches(X, np.ones((50, 1)), None, 8)
    batches.begin_epoch(np.arange(50)[::-1])
    np.testing.assert_array_equal(batches.batch(1).X, X.toarray()[np.arange(50)[::-1][8:16]])


def test_counters_and_attributes_follow_scikit_learn(binary):
    X, y = binary
    clf = MLPClassifier((5, 3), max_iter=4, warm_start=True, random_state=0).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 4 and clf.t_ == 8 * len(y) and len(clf.loss_curve_) == 8
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 1 and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    # coefs_ are views of the network's weights; assigning new ones sets where training goes on.
    assert np.shares_memory(clf.coefs_[0], clf.network_.layers[0].W)
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    clf.set_params(max_iter=1, learning_rate_init=1e-12).fit(X, y)
    assert np.abs(clf.network_.layers[0].W).max() < 1e-6
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPRegressor(early_stopping=True).partial_fit(X, y)


def test_partial_fit_refuses_other_classes_than_the_first_call(binary):
    X, y = binary
    clf = MLPClassifier((3,)).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


def test_a_sigmoid_output_with_cross_entropy_is_refused_in_one_line(binary, capsys, tmp_path, monkeypatch):
    X, y = binary
    with pytest.raises(ValueError, match="use loss 'binary_cross_entropy' with sigmoid outputs"):
        MLPClassifier(output_activation="sigmoid", loss="cross_entropy").fit(X, y)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "train", "--dataset", "iris", "--output-activation", "sigmoid",
                           "--loss", "cross_entropy", "--epochs", "1")
    assert code == 2 and "binary_cross_entropy" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []  # nothing written

"""scikit-learn estimators on the backprop engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

They follow scikit-learn's conventions, so they work where its own
``sklearn.neural_network`` estimators work (pipelines, grid search,
``clone``, pickling): ``__init__`` only stores its arguments, ``fit`` returns
``self``, what is learned ends in ``_``, ``random_state`` makes a run
repeatable, and scikit-learn's own estimator checks pass.

The parameters keep scikit-learn's names where it has one
(``hidden_layer_sizes``, ``activation``, ``solver``, ``learning_rate_init``,
``alpha``, ``batch_size``, ``max_iter``, ``tol``, ``n_iter_no_change``,
``early_stopping``, ``warm_start``, ...). Beside them are the article's
choices (``loss`` including ``"sse"``, ``bias``) and what the engine adds:
an activation per hidden layer, dropout, a custom :class:`~backprop.core.losses.Loss`,
``class_weight`` and ``sample_weight``, a validation loss curve, callbacks and
float32.

One training step is the engine's: forward propagation, backpropagation of
the loss, an optimizer step. Two things are added here, around the network
rather than inside it:

Sample weights
    The loss of a batch is the weighted mean of the per-sample losses,
    ``C = sum_i w_i C_i / sum_i w_i``, so each row of the output layer's
    ``dC/da`` (or ``dC/dz`` for a fused output) is scaled by
    ``w_i / sum_i w_i`` instead of ``1/N``. Integer weights are then the same
    as repeating samples. The L2 penalty ``alpha/2 ||W||^2`` is divided by the
    same ``sum_i w_i``, as scikit-learn does.
Dropout
    Inverted dropout on the hidden layers' outputs, during training only: after
    hidden layer ``l`` the next layer sees ``a * mask`` with ``mask = m / (1 - p)``
    and ``m`` a random 0/1 array that keeps each node with probability ``1 - p``
    (so the expected input is unchanged). Going back, the mask is a layer of its
    own: ``dC/da = dC/d(a * mask) * mask``. Prediction uses every node, unscaled.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from .core.activations import Activation, Softmax, Softplus, get_activation
from .core.layers import Layer
from .core.losses import Loss, get_loss
from .core.network import Network
from .core.optimizers import OPTIMIZERS, get_optimizer
from .core.training import Callback, History, NonFiniteError
from .core.validation import check_dtype

__all__ = ["MLPClassifier", "MLPRegressor", "forward_with_dropout", "backward_weighted"]

# scikit-learn's name for the mean squared error.
_LOSS_ALIASES = {"squared_error": "mse"}


# -- the two additions to a training step ----------------------------------------


def forward_with_dropout(net: Network, X: np.ndarray, rates, rng: np.random.Generator | None):
    """Forward propagation with inverted dropout after each hidden layer.

    Every layer keeps its ``a_prev``, ``z`` and ``a`` as in
    :meth:`Network.forward_unchecked`; a layer's own ``a`` stays unmasked (its
    derivative needs it), while the next layer receives ``a * mask``.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (n_samples, n_inputs)
    rates : sequence of float
        The drop probability ``p`` after each hidden layer (one per layer but the last).
    rng : numpy.random.Generator or None
        Draws the masks; ``None`` (or all rates 0) means no dropout.

    Returns
    -------
    masks : list of ndarray or None
        One per hidden layer: ``m / (1 - p)`` with ``m`` in {0, 1}, or None
        where nothing was dropped.
    """
    masks = []
    a = X
    for i, layer in enumerate(net.layers):
        a = layer.forward(a)
        p = rates[i] if i < len(net.layers) - 1 else 0.0
        if p > 0 and rng is not None:
            mask = (rng.random(a.shape) >= p).astype(a.dtype) / (1.0 - p)
            a = a * mask
            masks.append(mask)
        elif i < len(net.layers) - 1:
            masks.append(None)
    return masks


def backward_weighted(net: Network, Y: np.ndarray, row_scale: np.ndarray, masks=None) -> None:
    """Backpropagation with a factor per sample; fills every layer's ``dW`` and ``db``.

    The same as :meth:`Network.backward_unchecked`, whose ``scale`` is one
    number, except that row ``i`` of the output layer's ``dC/da`` (``dC/dz``
    for a fused output) is multiplied by ``row_scale[i]``; with
    ``row_scale = w / sum(w)`` the gradient is that of the weighted mean loss.
    Going back through a dropout mask multiplies ``dC/da`` by the mask.

    Parameters
    ----------
    net : Network
        After :func:`forward_with_dropout` (or ``forward_unchecked``) on the batch.
    Y : ndarray of shape (n_samples, n_outputs)
    row_scale : ndarray of shape (n_samples, 1)
    masks : list of ndarray or None, optional
        What :func:`forward_with_dropout` returned.
    """
    layers = net.layers
    out = layers[-1]
    fused = net.fused
    if fused is not None:
        dC_da = out.backward_from_z(fused.delta(out.z, out.a, Y) * row_scale,
                                    need_dC_da_prev=len(layers) > 1)
    else:
        dC_da = out.backward(net.loss_fn.derivative(out.a, Y) * row_scale,
                             need_dC_da_prev=len(layers) > 1)
    for i in range(len(layers) - 2, -1, -1):
        if masks is not None and masks[i] is not None:
            dC_da = dC_da * masks[i]  # the next layer saw a * mask
        dC_da = layers[i].backward(dC_da, need_dC_da_prev=i > 0)


def _propagate(net: Network, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward propagation that keeps nothing (prediction must not change the estimator).

    Returns the output layer's ``z`` and ``a``.
    """
    a = z = X
    for layer in net.layers:
        z = a @ layer.W.T
        if layer.b is not None:
            z = z + layer.b
        a = layer.activation.value(z)
    return z, a


def _per_sample_loss(net: Network, z: np.ndarray, a: np.ndarray, Y: np.ndarray) -> np.ndarray:
    fused = net.fused
    return fused.per_sample(z, a, Y) if fused is not None else net.loss_fn.per_sample(a, Y)


# -- parameters, checked at fit time ---------------------------------------------


@dataclass
class _Settings:
    """The estimator's parameters after validation, in the form training uses."""

    hidden: list[int]
    activations: list[Activation]
    output_activation: Activation
    loss: Loss
    dropout: list[float]
    dtype: np.dtype
    validation_fraction: float
    callbacks: list[Callback]


class _CallbackFunction(Callback):
    """A plain function ``fn(epoch, record)`` called at the end of each epoch."""

    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, epoch, record):
        return self.fn(epoch, record)


def _number(value, name, *, low=None, high=None, low_open=False, high_open=False, integer=False):
    """Check that ``value`` is a real (or integral) number in the given range; return it."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{'(' if low_open else '['}{low}, "
        hi = "" if high is None else f"{high}{')' if high_open else ']'}"
        where = f" in {lo or '(-inf, '}{hi or 'inf)'}" if (low is not None or high is not None) else ""
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}{where}; got {value!r}")
    return value


def _per_layer(value, n_hidden: int, name: str) -> list:
    """A setting given once for every hidden layer, or as a list with one entry per hidden layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_hidden:
            raise ValueError(f"{name} lists {len(value)} values but there are {n_hidden} hidden layers "
                             f"(hidden_layer_sizes); give one value or one per hidden layer")
        return list(value)
    return [value] * n_hidden


# -- the shared estimator --------------------------------------------------------


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, training loop, prediction."""

    _task = ""

    def __init__(self, hidden_layer_sizes, activation, *, loss, output_activation, bias, solver,
                 learning_rate_init, alpha, batch_size, max_iter, shuffle, random_state, tol,
                 n_iter_no_change, early_stopping, validation_fraction, momentum, beta_1, beta_2,
                 epsilon, dropout, callbacks, dtype, warm_start, verbose):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.output_activation = output_activation
        self.bias = bias
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.dropout = dropout
        self.callbacks = callbacks
        self.dtype = dtype
        self.warm_start = warm_start
        self.verbose = verbose

    # -- validation of the parameters -------------------------------------------

    def _settings(self) -> _Settings:
        """Check every parameter and say which one is wrong; return them ready for use."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise ValueError(f"hidden_layer_sizes must be a sequence of positive integers; got {sizes!r}")
        hidden = [_number(n, f"hidden_layer_sizes[{i}]", low=1, integer=True) for i, n in enumerate(sizes)]

        activations = [get_activation(a) for a in _per_layer(self.activation, len(hidden), "activation")]
        loss = self._loss()
        output = self._output_activation()

        dropout = [_number(p, "dropout", low=0, high=1, high_open=True)
                   for p in _per_layer(self.dropout, len(hidden), "dropout")]
        dtype = check_dtype(self.dtype)

        if not isinstance(self.solver, str) or self.solver.lower() not in OPTIMIZERS:
            raise ValueError(f"solver must be one of {', '.join(OPTIMIZERS)}; got {self.solver!r}")
        _number(self.learning_rate_init, "learning_rate_init", low=0, low_open=True)
        _number(self.alpha, "alpha", low=0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            _number(self.batch_size, "batch_size ('auto' or a positive integer)", low=1, integer=True)
        _number(self.max_iter, "max_iter", low=1, integer=True)
        _number(self.tol, "tol", low=0)
        _number(self.n_iter_no_change, "n_iter_no_change", low=1, integer=True)
        _number(self.momentum, "momentum", low=0, high=1, high_open=True)
        _number(self.beta_1, "beta_1", low=0, high=1, high_open=True)
        _number(self.beta_2, "beta_2", low=0, high=1, high_open=True)
        _number(self.epsilon, "epsilon", low=0, low_open=True)
        for flag in ("bias", "shuffle", "early_stopping", "warm_start"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False; got {getattr(self, flag)!r}")

        fraction = self.validation_fraction
        if fraction is None:
            fraction = 0.1 if self.early_stopping else 0.0
        else:
            _number(fraction, "validation_fraction (None or a number)", low=0, high=1,
                    low_open=True, high_open=True)

        callbacks = []
        for i, cb in enumerate(self.callbacks or ()):
            if isinstance(cb, Callback):
                callbacks.append(cb)
            elif callable(cb):
                callbacks.append(_CallbackFunction(cb))
            else:
                raise TypeError(f"callbacks[{i}] must be a backprop Callback or a function "
                                f"fn(epoch, record); got {type(cb).__name__}")
        return _Settings(hidden, activations, output, loss, dropout, dtype, float(fraction), callbacks)

    def _loss(self) -> Loss:
        spec = self.loss
        if isinstance(spec, str):
            spec = _LOSS_ALIASES.get(spec.lower(), spec)
        return get_loss(spec)

    def _make_optimizer(self):
        name = self.solver.lower()
        options = {"lr": self.learning_rate_init}
        if name in ("momentum", "nesterov"):
            options["momentum"] = self.momentum
        if name in ("adam", "adamw"):
            options.update(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if name == "rmsprop":
            options["eps"] = self.epsilon
        return get_optimizer(name, **options)

    def _rng(self) -> np.random.Generator:
        """A Generator from ``random_state``: None, an int, a RandomState or a Generator."""
        state = self.random_state
        if isinstance(state, np.random.Generator):
            return state
        if isinstance(state, np.random.RandomState):
            return np.random.default_rng(state.randint(np.iinfo(np.int32).max))
        seed = isinstance(state, numbers.Integral) and not isinstance(state, bool) and state >= 0
        if state is None or seed:
            return np.random.default_rng(state)
        raise ValueError(f"random_state must be None, a non-negative integer, a numpy RandomState "
                         f"or Generator; got {state!r}")

    # -- what the subclasses define ---------------------------------------------

    def _output_activation(self) -> Activation:
        raise NotImplementedError

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        """Targets as the network learns them, shape (n_samples, n_outputs)."""
        raise NotImplementedError

    def _class_weights(self, Y: np.ndarray, incremental: bool) -> np.ndarray | None:
        """Per-class weights (one per output class), or None."""
        return None

    # -- fitting -------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None, validation_data=None):
        settings = self._settings()
        fitted = hasattr(self, "network_")
        first = not fitted or not (incremental or self.warm_start)
        if fitted and not first and settings.dtype != self.network_.dtype:
            raise ValueError(f"dtype is {settings.dtype.name} but the network was trained in "
                             f"{self.network_.dtype.name}; it cannot continue in another dtype")
        X, y = validate_data(self, X, y, reset=first, dtype=settings.dtype,
                             multi_output=self._task == "regression", y_numeric=self._task == "regression")
        Y = self._targets(y, first, classes)
        self._per_class_weight = self._class_weights(Y, incremental)
        weights = self._sample_weight(sample_weight, X.shape[0], Y, incremental)

        rng = self._rng() if first or not incremental else self._generator
        if first:
            self.network_ = self._build_network(settings, X.shape[1], Y.shape[1], rng)
            self.n_iter_, self.t_ = 0, 0
            self.loss_curve_, self.validation_loss_curve_ = [], None
            self.history_ = History(task=self._task)
        elif Y.shape[1] != self.network_.sizes[-1]:
            raise ValueError(f"y has {Y.shape[1]} outputs but the network was trained with "
                             f"{self.network_.sizes[-1]}")
        if first or not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        self._generator = rng

        X_val = Y_val = w_val = None
        if validation_data is not None and not incremental:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("validation_data must be a pair (X_val, y_val)") from None
            X_val, y_val = validate_data(self, X_val, y_val, reset=False, dtype=settings.dtype,
                                         multi_output=self._task == "regression",
                                         y_numeric=self._task == "regression")
            Y_val = self._targets(y_val, False)
            w_val = None if self._per_class_weight is None else self._per_class_weight[_class_index(Y_val)]
        elif settings.validation_fraction > 0 and not incremental:
            X, Y, weights, X_val, Y_val, w_val = self._split(X, Y, weights, settings, rng)
        if X_val is not None and self.validation_loss_curve_ is None:
            self.validation_loss_curve_ = []

        epochs = 1 if incremental else self.max_iter
        self._train(settings, X, Y, weights, X_val, Y_val, w_val, epochs, rng, stopping=not incremental)
        for layer in self.network_.layers:  # keep no batch in the fitted estimator (pickles stay small)
            layer.a_prev = layer.z = layer.a = layer.dW = layer.db = None
        return self

    def _build_network(self, settings: _Settings, n_in: int, n_out: int, rng) -> Network:
        sizes = [n_in, *settings.hidden, n_out]
        acts = [*settings.activations, settings.output_activation]
        layers = [Layer(sizes[i], sizes[i + 1], acts[i], bias=bool(self.bias), seed=rng, dtype=settings.dtype)
                  for i in range(len(sizes) - 1)]
        return Network(layers, loss=settings.loss)

    def _sample_weight(self, sample_weight, n: int, Y: np.ndarray, incremental: bool) -> np.ndarray:
        """Per-sample weights (ones if none), times the class weights; checked."""
        if sample_weight is None:
            weights = np.ones(n)
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if weights.ndim != 1 or weights.shape[0] != n:
                raise ValueError(f"sample_weight must have shape ({n},), one weight per sample; "
                                 f"got shape {weights.shape}")
            if not np.isfinite(weights).all() or (weights < 0).any():
                raise ValueError("sample_weight must hold finite, non-negative numbers")
            weights = weights.copy()
        if self._per_class_weight is not None:
            weights *= self._per_class_weight[_class_index(Y)]
        if not weights.any():
            raise ValueError("the sample weights are all zero; at least one sample needs a positive weight")
        return weights

    def _split(self, X, Y, weights, settings, rng):
        """Hold out ``validation_fraction`` of the samples (stratified for classifiers where possible)."""
        n = X.shape[0]
        n_val = int(math.ceil(n * settings.validation_fraction))
        if n_val < 1 or n_val >= n:
            raise ValueError(f"validation_fraction={settings.validation_fraction} of {n} samples "
                             f"leaves {n_val} for validation; both parts need at least one sample")
        stratify = None
        if self._task == "classification":
            counts = np.bincount(_class_index(Y))
            counts = counts[counts > 0]
            # Stratifying needs two samples of each class and room for every class in both parts.
            if counts.min() >= 2 and min(n_val, n - n_val) >= counts.size:
                stratify = _class_index(Y)
        X, X_val, Y, Y_val, weights, w_val = train_test_split(
            X, Y, weights, test_size=n_val, stratify=stratify,
            random_state=int(rng.integers(np.iinfo(np.int32).max)))
        return X, Y, weights, X_val, Y_val, w_val

    def _batch_size(self, n: int) -> int:
        return min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)

    @np.errstate(over="ignore", invalid="ignore", divide="ignore")
    def _train(self, settings, X, Y, weights, X_val, Y_val, w_val, epochs, rng, stopping):
        """The epochs: batches of forward, backward, step; curves, stopping, callbacks."""
        net, opt = self.network_, self._optimizer
        params = net.parameters()
        n = X.shape[0]
        batch_size = self._batch_size(n)
        n_batches = math.ceil(n / batch_size)
        dropout = settings.dropout if any(settings.dropout) else None
        monitor_validation = self.early_stopping and X_val is not None
        best, since_best, best_weights = math.inf, 0, None
        stop_reason = None

        for cb in settings.callbacks:
            cb.on_train_begin({"epochs": epochs, "n_batches": n_batches, "n_samples": n,
                               "batch_size": batch_size})
        for _ in range(epochs):
            self.n_iter_ += 1
            epoch, started = self.n_iter_, time.perf_counter()
            for cb in settings.callbacks:
                cb.on_epoch_begin(epoch)
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            loss_sum = weight_sum = 0.0
            for batch in range(n_batches):
                rows = order[batch * batch_size:(batch + 1) * batch_size]
                w = weights[rows]
                loss_sum += self._step(net, opt, params, X[rows], Y[rows], w, dropout, rng, epoch, batch + 1)
                weight_sum += w.sum()
                for cb in settings.callbacks:
                    cb.on_batch_end(epoch, batch + 1, loss_sum / weight_sum)
            self.t_ += n

            record = {"epoch": epoch, "loss": loss_sum / weights.sum()}
            self.loss_curve_.append(record["loss"])
            self.loss_ = record["loss"]
            if X_val is not None:
                z, a = _propagate(net, X_val)
                record["val_loss"] = float(np.average(_per_sample_loss(net, z, a, Y_val), weights=w_val))
                self.validation_loss_curve_.append(record["val_loss"])
            record["lr"], record["seconds"] = opt.lr, time.perf_counter() - started
            self.history_.epochs.append(record)
            if self.verbose:
                val = f", validation loss = {record['val_loss']:.8f}" if "val_loss" in record else ""
                print(f"Iteration {epoch}, loss = {record['loss']:.8f}{val}")

            monitored = record["val_loss" if monitor_validation else "loss"]
            if not math.isfinite(monitored):
                what = "validation loss" if monitor_validation else "loss"
                raise NonFiniteError(f"the {what} is not finite at epoch {epoch}; try a smaller "
                                     f"learning_rate_init (now {opt.lr:g})",
                                     epoch=epoch, batch=n_batches, layer=None, history=self.history_)
            # scikit-learn's rule: an epoch counts as no improvement unless it beats the best by tol.
            since_best = since_best + 1 if monitored > best - self.tol else 0
            if monitored < best:
                best = monitored
                self.history_.best_epoch = epoch
                if monitor_validation:
                    best_weights = net.get_weights()
            if monitor_validation:
                self.best_validation_loss_ = best
            else:
                self.best_loss_ = best

            # Every callback sees the epoch's end, even after one has asked to stop.
            if any([bool(cb.on_epoch_end(epoch, record)) for cb in settings.callbacks]):
                stop_reason = f"a callback stopped training at epoch {epoch}"
            elif stopping and since_best > self.n_iter_no_change:
                what = "Validation" if monitor_validation else "Training"
                stop_reason = (f"{what} loss did not improve more than tol={self.tol} for "
                               f"{self.n_iter_no_change} consecutive epochs")
            if stop_reason:
                break

        if best_weights is not None:
            net.set_weights(best_weights)
        self.history_.stopped_early = stop_reason is not None
        self.history_.stop_reason = stop_reason
        if self.verbose and stop_reason:
            print(f"{stop_reason}. Stopping.")
        if stopping and stop_reason is None:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)
        for cb in settings.callbacks:
            cb.on_train_end(self.history_)

    def _step(self, net, opt, params, X, Y, w, dropout, rng, epoch, batch) -> float:
        """One gradient step on a batch; return the batch's loss times its total weight."""
        masks = forward_with_dropout(net, X, dropout, rng) if dropout else None
        if masks is None:
            net.forward_unchecked(X)
        w_sum = float(w.sum())  # a Python float keeps float32 gradients float32
        batch_loss = float(np.dot(w, net.per_sample_loss(Y))) / w_sum
        if self.alpha:
            squares = sum(float(np.vdot(layer.W, layer.W)) for layer in net.layers)
            batch_loss += 0.5 * self.alpha * squares / w_sum
        backward_weighted(net, Y, (w / w_sum).astype(net.dtype)[:, None], masks)
        grads = [layer.gradients() for layer in net.layers]
        if self.alpha:
            for g, layer in zip(grads, net.layers):
                g["W"] = g["W"] + (self.alpha / w_sum) * layer.W
        finite = math.isfinite(batch_loss) and all(
            np.isfinite(arr).all() for g in grads for arr in g.values() if arr is not None)
        if not finite:
            raise NonFiniteError(
                f"training stopped: the loss or a gradient is not finite (NaN or infinity) at epoch {epoch}, "
                f"batch {batch}; the weights are those before this batch. Try a smaller "
                f"learning_rate_init (now {opt.lr:g}).", epoch=epoch, batch=batch, layer=None,
                history=self.history_)
        opt.step(params, grads)
        return batch_loss * w_sum

    # -- prediction ----------------------------------------------------------------

    def _outputs(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's ``z`` and ``a`` for raw features."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=self.network_.dtype)
        return _propagate(self.network_, X)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """scikit-learn's layout of the weights: ``coefs_[i]`` is layer ``i + 1``'s ``W.T``."""
        check_is_fitted(self, "network_")
        return [layer.W.T for layer in self.network_.layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The biases, one array per layer (zeros where ``bias=False``)."""
        check_is_fitted(self, "network_")
        return [layer.b if layer.b is not None else np.zeros(layer.n_out, dtype=layer.dtype)
                for layer in self.network_.layers]

    @property
    def out_activation_(self) -> str:
        """The output layer's activation: ``"softmax"``, ``"sigmoid"``, ``"identity"``, ..."""
        check_is_fitted(self, "network_")
        return self.network_.layers[-1].activation.name


_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        The number of nodes in each hidden layer; ``()`` gives no hidden layer.
    activation : str, Activation or sequence of them, default "relu"
        The hidden layers' activation, one for all or one per hidden layer:
        ``identity``, ``sigmoid`` (``logistic``), ``tanh``, ``relu``,
        ``leaky_relu``, ``elu``, ``softplus``, ``gelu``.
    loss : str, dict or Loss, default "{loss_default}"
        ``sse`` (the article's ``sum_j (a_j - y_j)^2``), ``mse`` (``squared_error``),
        ``mae``, ``huber``, ``cross_entropy`` (``log_loss``),
        ``binary_cross_entropy``, or an instance of a
        :class:`backprop.core.losses.Loss` subclass with ``per_sample`` and
        ``derivative``.
    output_activation : str or None, default None
        {output_doc}
    bias : bool, default True
        ``False`` gives the article's network without biases.
    solver : str, default "adam"
        ``sgd`` (the article's ``w <- w - lr * grad``, no momentum),
        ``momentum``, ``nesterov``, ``adam``, ``adamw``, ``rmsprop``.
    learning_rate_init : float, default 0.001
        The learning rate.
    alpha : float, default 0.0001
        L2 penalty ``alpha/2 ||W||^2`` on the weights (not the biases),
        divided by the batch's total sample weight as in scikit-learn.
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``; larger sizes are clipped to ``n_samples``.
    max_iter : int, default 200
        The most epochs ``fit`` runs.
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    random_state : None, int, RandomState or Generator, default None
        Drives the initial weights, shuffling, the validation split and the
        dropout masks; an int makes every ``fit`` the same.
    tol : float, default 1e-4
        An epoch improves when its monitored loss is below the best by more than ``tol``.
    n_iter_no_change : int, default 10
        Stop after more than this many epochs without improvement (the
        validation loss with ``early_stopping``, else the training loss).
    early_stopping : bool, default False
        Monitor the loss on a held-out validation set and end with the weights
        of its best epoch.
    validation_fraction : float or None, default None
        The fraction of the training samples held out for validation (stratified
        for classifiers); None means 0.1 with ``early_stopping`` and no
        validation set otherwise. With a validation set, ``validation_loss_curve_``
        is recorded even without early stopping.
    momentum : float, default 0.9
        For ``solver="momentum"`` and ``"nesterov"``.
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        For ``adam`` and ``adamw`` (``epsilon`` also for ``rmsprop``).
    dropout : float or sequence of float, default 0.0
        The probability of dropping each hidden node during training (inverted
        dropout), one for all hidden layers or one per hidden layer; in [0, 1).
    callbacks : sequence of Callback or callable, default None
        :class:`backprop.Callback` objects (``on_train_begin``, ``on_epoch_begin``,
        ``on_batch_end``, ``on_epoch_end``, ``on_train_end``) or functions
        ``fn(epoch, record)``; returning True from ``on_epoch_end`` stops training.
        ``record`` holds ``epoch``, ``loss``, ``val_loss`` (with a validation set),
        ``lr`` and ``seconds``.
    dtype : {{"float64", "float32"}}, default "float64"
        The dtype of the weights and of every computation.
    warm_start : bool, default False
        ``fit`` continues from the current weights (with a fresh optimizer)
        and appends to the curves.
    verbose : bool, default False
        Print the loss after each epoch.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    network_ : backprop.Network
        The trained network; ``network_.layers[l].W[j, k]`` is the article's ``w_jk``.
    coefs_, intercepts_ : list of ndarray
        The weights in scikit-learn's layout (``W.T``) and the biases.
    out_activation_ : str
    loss_ : float
        The training loss of the last epoch.
    loss_curve_ : list of float
        The training loss of each epoch: the weighted mean of the per-sample
        losses of the batches (with dropout applied) plus the L2 penalty.
    validation_loss_curve_ : list of float or None
        The loss on the validation set after each epoch (no dropout, no
        penalty), or None without a validation set.
    best_loss_, best_validation_loss_ : float
        The best monitored loss of the last ``fit``.
    history_ : backprop.History
        Every epoch's record as plain data.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = (
        """A feed-forward classifier trained by backpropagation, in scikit-learn's API.

    The output layer has one node per class with softmax and cross-entropy by
    default. A sigmoid output layer has one node for two classes (the
    probability of ``classes_[1]``) and one node per class otherwise, which
    :meth:`predict_proba` divides by their sum.
"""
        + _PARAMETERS_DOC.format(
            loss_default="cross_entropy",
            output_doc="``softmax`` or ``sigmoid``; None means sigmoid for\n"
                       "        ``binary_cross_entropy`` and softmax otherwise.")
        + """    class_weight : dict, "balanced" or None, default None
        Weights per class that multiply the sample weights; ``"balanced"`` is
        ``n_samples / (n_classes * count of the class)`` (not with ``partial_fit``).
"""
        + _ATTRIBUTES_DOC
        + """    classes_ : ndarray
        The class labels, in the order of ``predict_proba``'s columns.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from backprop.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), activation="tanh", max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
"""
    )

    _task = "classification"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="cross_entropy",
                 output_activation=None, bias=True, solver="adam", learning_rate_init=0.001,
                 alpha=0.0001, batch_size="auto", max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=None,
                 momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, dropout=0.0, class_weight=None,
                 callbacks=None, dtype="float64", warm_start=False, verbose=False):
        super().__init__(
            hidden_layer_sizes, activation, loss=loss, output_activation=output_activation, bias=bias,
            solver=solver, learning_rate_init=learning_rate_init, alpha=alpha, batch_size=batch_size,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, momentum=momentum, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, dropout=dropout, callbacks=callbacks, dtype=dtype, warm_start=warm_start,
            verbose=verbose)
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Train on ``X`` and the class labels ``y``; return ``self``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Class labels (numbers or strings); at least two classes.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights; an integer weight counts as that many copies of the sample.
        validation_data : tuple (X_val, y_val), optional
            A validation set of raw features (inside a Pipeline, prefer
            ``validation_fraction``: these are not passed through the earlier steps).
        """
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation_data)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X``, ``y`` from the current weights and optimizer state; return ``self``.

        Parameters
        ----------
        classes : array_like, optional
            Every class label; required on the first call, since a batch may not hold them all.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be given on the first call to partial_fit: every class label, "
                             "since one batch may not hold them all")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """The probability of each class, columns in the order of ``classes_``."""
        z, a = self._outputs(X)
        return _probabilities(z, a, self.out_activation_)

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class for each sample."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _output_activation(self) -> Activation:
        spec = self.output_activation
        if spec is None:
            spec = "sigmoid" if self._loss().name == "binary_cross_entropy" else "softmax"
        activation = get_activation(spec)
        if activation.name not in ("softmax", "sigmoid"):
            raise ValueError(f"a classifier's output_activation must be softmax or sigmoid (outputs that "
                             f"are probabilities); got {spec!r}")
        return activation

    def _targets(self, y, first, classes=None):
        check_classification_targets(y)
        if first:
            labels = unique_labels(y) if classes is None else unique_labels(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(f"MLPClassifier needs at least two classes; got 1 class ({labels[0]!r})")
            self.classes_ = labels
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels {unknown.tolist()[:5]} that are not among the classes "
                             f"{self.classes_.tolist()} of the first fit")
        index = np.searchsorted(self.classes_, y)
        dtype = check_dtype(self.dtype)
        if self._sigmoid_binary():
            return index.reshape(-1, 1).astype(dtype)
        return np.eye(len(self.classes_), dtype=dtype)[index]

    def _sigmoid_binary(self) -> bool:
        return len(self.classes_) == 2 and self._output_activation().name == "sigmoid"

    def _sample_weight(self, sample_weight, n, Y, incremental):
        weights = super()._sample_weight(sample_weight, n, Y, incremental)
        # A partial_fit batch may hold one class; a whole training set may not.
        if not incremental and np.unique(_class_index(Y)[weights > 0]).size < 2:
            raise ValueError("only one class has samples with positive weight; a classifier needs at "
                             "least two classes to learn from")
        return weights

    def _class_weights(self, Y, incremental):
        if self.class_weight is None:
            return None
        index = np.arange(len(self.classes_))
        if isinstance(self.class_weight, str):
            if self.class_weight != "balanced":
                raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}; "
                                 f"got {self.class_weight!r}")
            if incremental:
                raise ValueError("class_weight='balanced' needs the whole training set; with partial_fit "
                                 "give a dict {label: weight}")
            return compute_class_weight("balanced", classes=index, y=_class_index(Y))
        return _class_weight_vector(self.class_weight, self.classes_)


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = (
        """A feed-forward regressor trained by backpropagation, in scikit-learn's API.

    One output node per target, with the identity as output activation and
    the mean squared error by default. ``predict`` returns a 1-D array for a
    single target.
"""
        + _PARAMETERS_DOC.format(
            loss_default="mse",
            output_doc="The output layer's activation, any of the hidden activations' names;\n"
                       "        None means ``identity``. (The article uses ``sigmoid`` with ``sse``\n"
                       "        for targets in [0, 1].)")
        + _ATTRIBUTES_DOC
        + """    n_outputs_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from backprop.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor((8,), activation="tanh", loss="sse", random_state=0).fit(X, X[:, 0] ** 2)
    >>> reg.predict(X[:3]).shape
    (3,)
"""
    )

    _task = "regression"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="mse",
                 output_activation=None, bias=True, solver="adam", learning_rate_init=0.001,
                 alpha=0.0001, batch_size="auto", max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=None,
                 momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, dropout=0.0,
                 callbacks=None, dtype="float64", warm_start=False, verbose=False):
        super().__init__(
            hidden_layer_sizes, activation, loss=loss, output_activation=output_activation, bias=bias,
            solver=solver, learning_rate_init=learning_rate_init, alpha=alpha, batch_size=batch_size,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, momentum=momentum, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, dropout=dropout, callbacks=callbacks, dtype=dtype, warm_start=warm_start,
            verbose=verbose)

    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Train on ``X`` and the targets ``y``; return ``self``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights; an integer weight counts as that many copies of the sample.
        validation_data : tuple (X_val, y_val), optional
            A validation set of raw features (inside a Pipeline, prefer ``validation_fraction``).
        """
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation_data)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y`` from the current weights and optimizer state; return ``self``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The predicted targets: shape (n_samples,) for one target, else (n_samples, n_targets)."""
        outputs = self._outputs(X)[1]
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def _output_activation(self) -> Activation:
        return get_activation("identity" if self.output_activation is None else self.output_activation)

    def _targets(self, y, first, classes=None):
        Y = np.asarray(y, dtype=check_dtype(self.dtype))
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if first:
            self.n_outputs_ = Y.shape[1]
        return Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# -- helpers for the classifier ------------------------------------------------------


def _probabilities(z: np.ndarray, a: np.ndarray, out_activation: str) -> np.ndarray:
    """Class probabilities from the output layer's ``z`` and ``a``.

    Softmax outputs are probabilities already. One sigmoid node is the
    probability of the second class, ``[1 - a, a]``. Several sigmoid nodes are
    divided by their sum, computed as ``softmax(log a)`` with
    ``log a = log sigmoid(z) = -softplus(-z)``, which stays finite where every
    ``a_j`` rounds to 0.
    """
    if out_activation == "softmax":
        return a
    if a.shape[1] == 1:
        return np.hstack([1.0 - a, a])
    return Softmax().value(-Softplus().value(-z))


def _class_index(Y: np.ndarray) -> np.ndarray:
    """Class indices from one-hot rows, or from the 0/1 column of a single sigmoid node."""
    return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else Y.argmax(axis=1)


def _class_weight_vector(class_weight: dict, classes: np.ndarray) -> np.ndarray:
    """``{label: weight}`` as one weight per class (1 for classes it leaves out)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}; "
                         f"got {class_weight!r}")
    positions = {label: i for i, label in enumerate(classes.tolist())}
    weights = np.ones(len(classes))
    for label, weight in class_weight.items():
        if _plain(label) not in positions:
            raise ValueError(f"class_weight names the label {label!r}, which is not among the classes "
                             f"{classes.tolist()}")
        weights[positions[_plain(label)]] = _number(weight, f"class_weight[{label!r}]", low=0)
    return weights


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value

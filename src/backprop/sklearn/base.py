"""What MLPClassifier and MLPRegressor share: parameters, fitting through the one loop, prediction."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.layers import Dense, Dropout
from ..core.losses import Loss, get_loss
from ..core.network import Network
from ..core.optimizers import get_optimizer
from ..core.training import Callback, History, fit
from ..core.validation import check_sample_weight
from .params import LOSS_ALIASES, Settings, as_generator, check_settings

__all__ = ["BaseMLP"]


class Curves(Callback):
    """scikit-learn's curves: ``loss_curve_``, ``validation_loss_curve_``, ``loss_``; and ``verbose``'s print."""

    def __init__(self, est):
        self.est = est

    def on_epoch_end(self, epoch, record):
        est = self.est
        est.loss_curve_.append(record["loss"])
        est.loss_ = record["loss"]
        if "val_loss" in record:
            est.validation_loss_curve_.append(record["val_loss"])
        if est.verbose:
            val = f", validation loss = {record['val_loss']:.8f}" if "val_loss" in record else ""
            print(f"Iteration {est.n_iter_ + epoch}, loss = {record['loss']:.8f}{val}")

    def on_train_end(self, history):
        if self.est.verbose and history.stop_reason:
            print(f"{history.stop_reason}. Stopping.")


class ConvergenceWarner(Callback):
    """scikit-learn's rule: a ``fit`` that ran ``max_iter`` epochs without stopping warns."""

    def __init__(self, max_iter: int):
        self.max_iter = max_iter

    def on_train_end(self, history):
        if history.stop_reason is None:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)


class BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, training, prediction."""

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

    def _loss(self) -> Loss:
        spec = self.loss
        if isinstance(spec, str):
            spec = LOSS_ALIASES.get(spec.lower(), spec)
        return get_loss(spec)

    def _make_optimizer(self):
        """The solver, owning the L2 penalty: ``alpha/2 ||W||^2`` over the batch's weight, as scikit-learn's."""
        name = self.solver.lower()
        options = {"lr": self.learning_rate_init, "weight_decay": self.alpha, "decay_per_sample": True}
        if name in ("momentum", "nesterov"):
            options["momentum"] = self.momentum
        if name in ("adam", "adamw"):
            options.update(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if name == "rmsprop":
            options["eps"] = self.epsilon
        if name == "adamw":
            options["decay_per_sample"] = False  # decoupled: alpha shrinks the weights directly
        return get_optimizer(name, **options)

    # -- what the subclasses define ---------------------------------------------

    def _output_activation(self):
        raise NotImplementedError

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        """Targets as the network learns them, shape (n_samples, n_outputs)."""
        raise NotImplementedError

    def _class_weights(self, Y: np.ndarray, incremental: bool) -> np.ndarray | None:
        """One weight per class (from ``class_weight`` and the training targets), or None."""
        return None

    def _weights_of(self, Y: np.ndarray) -> np.ndarray | None:
        """Each sample's class weight (from the weights per class of this fit), or None."""
        return None

    # -- fitting -------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None, validation_data=None):
        settings = check_settings(self)
        fitted = hasattr(self, "network_")
        first = not fitted or not (incremental or self.warm_start)
        if fitted and not first and settings.dtype != self.network_.dtype:
            raise ValueError(f"dtype is {settings.dtype.name} but the network was trained in "
                             f"{self.network_.dtype.name}; it cannot continue in another dtype")
        regression = self._task == "regression"
        X, y = validate_data(self, X, y, reset=first, dtype=settings.dtype, multi_output=regression,
                             y_numeric=regression)
        Y = self._targets(y, first, classes)
        self._per_class_weight = self._class_weights(Y, incremental)
        weights = self._sample_weight(sample_weight, X.shape[0], Y, incremental)

        rng = as_generator(self.random_state) if first or not incremental else self._generator
        self._generator = rng
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

        validation, fraction = None, 0.0
        if validation_data is not None and not incremental:
            validation = self._validation_set(validation_data, settings)
        elif not incremental:
            fraction = settings.validation_fraction
        if (validation is not None or fraction > 0) and self.validation_loss_curve_ is None:
            self.validation_loss_curve_ = []
        watch_validation = self.early_stopping and (validation is not None or fraction > 0)

        hooks = [Curves(self), *settings.callbacks]
        if not incremental:
            hooks.append(ConvergenceWarner(self.max_iter))
        history = fit(
            self.network_, X, Y, epochs=1 if incremental else self.max_iter,
            batch_size=self._batch_size(X.shape[0]), optimizer=self._optimizer, seed=rng,
            sample_weight=weights, validation_data=validation, validation_split=fraction,
            shuffle=bool(self.shuffle), task=self._task, callbacks=hooks,
            # scikit-learn stops after more than n_iter_no_change epochs without improving by tol.
            early_stopping=not incremental, patience=self.n_iter_no_change + 1, min_delta=self.tol,
            monitor="val_loss" if watch_validation else "loss", restore_best_weights=watch_validation)
        self._record(history, X.shape[0], watch_validation)
        return self

    def _record(self, history: History, n: int, watch_validation: bool) -> None:
        """Fold one call's history into the estimator's attributes."""
        offset = self.n_iter_
        for record in history.epochs:
            self.history_.epochs.append({**record, "epoch": record["epoch"] + offset})
        if history.best_epoch is not None:
            self.history_.best_epoch = history.best_epoch + offset
        self.history_.stopped_early, self.history_.stop_reason = history.stopped_early, history.stop_reason
        self.n_iter_ += len(history)
        self.t_ += n * len(history)
        key = "val_loss" if watch_validation else "loss"
        best = min(history[key]) if len(history) else np.inf
        if watch_validation:
            self.best_validation_loss_ = best
        else:
            self.best_loss_ = best

    def _validation_set(self, data, settings: Settings):
        try:
            X_val, y_val = data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val)") from None
        regression = self._task == "regression"
        X_val, y_val = validate_data(self, X_val, y_val, reset=False, dtype=settings.dtype,
                                     multi_output=regression, y_numeric=regression)
        Y_val = self._targets(y_val, False)
        return X_val, Y_val, self._weights_of(Y_val)

    def _build_network(self, settings: Settings, n_in: int, n_out: int, rng) -> Network:
        sizes = [n_in, *settings.hidden, n_out]
        acts = [*settings.activations, settings.output_activation]
        rates = [0.0, *settings.dropout]
        stack = []
        for i in range(len(sizes) - 1):
            if rates[i]:
                stack.append(Dropout(rates[i]))
            stack.append(Dense(sizes[i], sizes[i + 1], acts[i], bias=bool(self.bias), seed=rng,
                               dtype=settings.dtype))
        return Network(stack, loss=settings.loss)

    def _sample_weight(self, sample_weight, n: int, Y: np.ndarray, incremental: bool) -> np.ndarray | None:
        """Per-sample weights times the class weights; None when every weight is 1."""
        weights = check_sample_weight(sample_weight, n)
        per_class = self._weights_of(Y)
        if per_class is not None:
            weights = per_class if weights is None else weights * per_class
            if not weights.any():
                raise ValueError("the sample weights are all zero; at least one sample needs a positive weight")
        return weights

    def _batch_size(self, n: int) -> int:
        return min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)

    # -- prediction ----------------------------------------------------------------

    def _outputs(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's ``z`` and ``a`` for raw features (nothing is kept)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=self.network_.dtype)
        out = self.network_.forward_train(X)[1][-1]
        return out.z, out.a

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

"""What MLPClassifier and MLPRegressor share: parameters, fitting through the one loop, prediction."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.initializers import glorot_bound
from ..core.layers import Dense, Dropout
from ..core.losses import Loss, get_loss
from ..core.network import Network
from ..core.optimizers import get_optimizer
from ..core.training import Callback, History, fit
from ..core.training.state import DivergenceError, NonFiniteError
from ..core.validation import check_sample_weight
from .lbfgs import minimize as lbfgs_minimize
from .params import LOSS_ALIASES, Settings, as_generator, check_settings
from .policies import Counters, InvScaling, ValidationScore, stopping_options

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
            print(f"Iteration {epoch}, loss = {record['loss']:.8f}{val}")

    def on_train_end(self, history):
        est = self.est
        if est.verbose and history.stopped_early:
            what = "Validation score" if est.early_stopping else "Training loss"
            small = ". Learning rate too small" if est.learning_rate == "adaptive" else ""
            print(f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                  f"consecutive epochs{small}. Stopping.")


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
                 epsilon, dropout, callbacks, dtype, warm_start, verbose, learning_rate="constant",
                 power_t=0.5, max_fun=15000, nesterovs_momentum=True, clip_norm=None,
                 reduce_lr_on_plateau=None, init="glorot_uniform"):
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
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.max_fun = max_fun
        self.nesterovs_momentum = nesterovs_momentum
        self.clip_norm = clip_norm
        self.reduce_lr_on_plateau = reduce_lr_on_plateau
        self.init = init

    def _loss(self) -> Loss:
        spec = self.loss
        if isinstance(spec, str):
            spec = LOSS_ALIASES.get(spec.lower(), spec)
        return get_loss(spec)

    def _make_optimizer(self):
        """The solver, owning the L2 penalty: ``alpha/2 ||W||^2`` over the batch's weight, as scikit-learn's."""
        name = "sgd" if self.solver.lower() == "lbfgs" else self.solver.lower()  # lbfgs: its penalty only
        if self.solver.lower() == "sgd" and self.momentum > 0:
            # scikit-learn's sgd: momentum (Nesterov's by default); momentum=0 is the article's rule.
            name = "nesterov" if self.nesterovs_momentum else "momentum"
        options = {"lr": self.learning_rate_init, "weight_decay": self.alpha, "decay_per_sample": True,
                   "clip_norm": self.clip_norm}
        if name in ("momentum", "nesterov"):
            options["momentum"] = self.momentum
        if name in ("adam", "adamw"):
            options.update(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if name == "rmsprop":
            options["eps"] = self.epsilon
        if name == "adamw":
            options["decay_per_sample"] = False  # decoupled: alpha shrinks the weights directly
        return get_optimizer(name, **options)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC: rows made dense one batch at a time
        return tags

    # -- what the subclasses define ---------------------------------------------

    def _output_activation(self):
        raise NotImplementedError

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        """Targets as the network learns them, shape (n_samples, n_outputs)."""
        raise NotImplementedError

    def _class_weights(self, Y: np.ndarray, incremental: bool, comm=None) -> np.ndarray | None:
        """One weight per class (from ``class_weight`` and the training targets of every shard), or None."""
        return None

    def _weights_of(self, Y: np.ndarray) -> np.ndarray | None:
        """Each sample's class weight (from the weights per class of this fit), or None."""
        return None

    # -- fitting -------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None, validation_data=None,
             comm=None, checkpoint=None, checkpoint_every=1):
        settings = check_settings(self)
        if comm is not None and (incremental or self.solver.lower() == "lbfgs"):
            raise ValueError("comm trains data-parallel with fit and a stochastic solver; "
                             f"not with {'partial_fit' if incremental else 'lbfgs'}")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        fitted = hasattr(self, "network_")
        first = not fitted or not (incremental or self.warm_start)
        if settings.dtype is None:
            settings.dtype = self.network_.dtype if fitted and not first else _float_dtype(X)
        if fitted and not first and settings.dtype != self.network_.dtype:
            raise ValueError(f"dtype is {settings.dtype.name} but the network was trained in "
                             f"{self.network_.dtype.name}; it cannot continue in another dtype")
        regression = self._task == "regression"
        X, y = validate_data(self, X, y, reset=first, dtype=settings.dtype, multi_output=True,
                             y_numeric=regression, accept_sparse=["csr", "csc"])
        if hasattr(X, "tocsr"):
            X = X.tocsr()  # rows are gathered per batch; only they become dense
        self._dtype = settings.dtype
        Y = self._targets(y, first, classes)
        settings.output_activation, settings.loss = self._output_activation(), self._loss()
        self._per_class_weight = self._class_weights(Y, incremental, comm)
        weights = self._sample_weight(sample_weight, X.shape[0], Y, incremental, comm)

        rng = as_generator(self.random_state) if first or not incremental else self._generator
        self._generator = rng
        assigned = getattr(self, "coefs_", None), getattr(self, "intercepts_", None)
        if first:
            self.network_ = self._build_network(settings, X.shape[1], Y.shape[1], rng)
            self.t_ = 0
            self.loss_curve_, self.validation_loss_curve_ = [], None
            self.history_ = History(task=self._task)
            self.no_improvement_count_ = 0
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
            self.best_loss_ = None if self.early_stopping else np.inf
            if not fitted and assigned[0] is not None:
                self._take_assigned(*assigned)  # weights given before the first fit start it
        elif Y.shape[1] != self.network_.sizes[-1]:
            raise ValueError(f"y has {Y.shape[1]} outputs but the network was trained with "
                             f"{self.network_.sizes[-1]}")
        else:
            self._take_assigned(*assigned)
        self.n_layers_ = len(self.network_.layers) + 1
        self.out_activation_ = _SKLEARN_NAMES.get(self.network_.layers[-1].activation.name,
                                                  self.network_.layers[-1].activation.name)
        self._expose_weights()
        if self.solver.lower() == "lbfgs":
            self._optimizer = self._make_optimizer()
            dense = X.toarray() if hasattr(X, "toarray") else X
            self.n_iter_, self.loss_ = lbfgs_minimize(
                self.network_, self._optimizer, dense, Y, weights, max_iter=self.max_iter,
                max_fun=self.max_fun, tol=self.tol, verbose=bool(self.verbose))
            return self
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
        if self.early_stopping and fraction and validation is None:
            if not regression and not self._multilabel():
                index = _class_index(Y)
                _check_stratifiable(index == 1 if Y.shape[1] == 1 else self.classes_[index])
            if X.shape[0] - int(X.shape[0] * (1 - fraction)) < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")

        schedule = settings.schedule
        if self.learning_rate == "invscaling" and self.solver.lower() == "sgd":
            schedule = InvScaling(self.power_t, X.shape[0] - (0 if validation is not None else
                                                              _held(X.shape[0], fraction)), self.t_)
        adaptive = self.learning_rate == "adaptive" and self.solver.lower() == "sgd"
        counters = Counters(self, watch_validation, adaptive)
        hooks = [Curves(self), *([ValidationScore(self)] if watch_validation else []), counters,
                 *settings.callbacks]
        if not incremental:
            hooks.append(ConvergenceWarner(self.max_iter))
        try:
            history = fit(
                self.network_, X, Y, epochs=1 if incremental else self.max_iter,
                batch_size=self._batch_size(X.shape[0]), optimizer=self._optimizer, seed=rng,
                sample_weight=weights, validation_data=validation, validation_split=fraction,
                shuffle=bool(self.shuffle), task=self._task, callbacks=hooks, schedule=schedule,
                comm=comm, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                **stopping_options(self, watch_validation, adaptive, incremental, settings.plateau))
        except (NonFiniteError, DivergenceError) as error:
            # As scikit-learn: a run that diverges under early stopping ends with its best weights.
            if not (watch_validation and counters.restore()):
                raise ValueError(f"Solver produced non-finite parameter weights. The input data may "
                                 f"contain large values and need to be preprocessed. ({error})") from None
            self.validation_scores_.append(float("nan"))
            history = error.history
        self._record(history, X.shape[0] - (0 if validation is not None else _held(X.shape[0], fraction)))
        if schedule is not None:
            self.learning_rate_ = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        else:
            self.learning_rate_ = self._optimizer.lr  # the last epoch's: adaptive lowers it, constant keeps it
        return self

    def _multilabel(self) -> bool:
        return False

    def _take_assigned(self, coefs, intercepts) -> None:
        """Copy ``coefs_`` / ``intercepts_`` the user assigned into the network (views need no copy)."""
        if coefs is None:
            return
        for layer, W, b in zip(self.network_.layers, coefs, intercepts or [None] * len(coefs)):
            W = np.asarray(W, dtype=layer.dtype)
            if W.shape != layer.W.T.shape:
                raise ValueError(f"coefs_ holds an array of shape {W.shape} where the network needs "
                                 f"{layer.W.T.shape}")
            if not np.shares_memory(W, layer.W):
                layer.W[...] = W.T
            if b is not None and layer.b is not None and not np.shares_memory(np.asarray(b), layer.b):
                layer.b[...] = np.asarray(b, dtype=layer.dtype)

    def _expose_weights(self) -> None:
        """``coefs_[i]`` is layer ``i + 1``'s ``W.T`` and ``intercepts_[i]`` its bias: views, not copies."""
        layers = self.network_.layers
        self.coefs_ = [layer.W.T for layer in layers]
        self.intercepts_ = [layer.b if layer.b is not None else np.zeros(layer.n_out, dtype=layer.dtype)
                            for layer in layers]

    def _record(self, history: History, n: int) -> None:
        """Fold one call's history into the estimator's attributes (``n_iter_`` counts this call)."""
        offset = len(self.history_.epochs)
        for record in history.epochs:
            self.history_.epochs.append({**record, "epoch": record["epoch"] + offset})
        if history.best_epoch is not None:
            self.history_.best_epoch = history.best_epoch + offset
        self.history_.stopped_early, self.history_.stop_reason = history.stopped_early, history.stop_reason
        self.history_.engine, self.history_.compile_seconds = history.engine, history.compile_seconds
        self.n_iter_ = len(history)
        self.t_ += n * len(history)
        if "val_loss" in history.epochs[0] if history.epochs else False:
            self.best_validation_loss_ = min(history["val_loss"])

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
            layer = Dense(sizes[i], sizes[i + 1], acts[i], bias=bool(self.bias), init=self.init, seed=rng,
                          dtype=settings.dtype)
            if self.init == "glorot_uniform":
                scikit_learn_biases(layer, rng)
            stack.append(layer)
        return Network(stack, loss=settings.loss)

    def _sample_weight(self, sample_weight, n: int, Y: np.ndarray, incremental: bool,
                       comm=None) -> np.ndarray | None:
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
        X = validate_data(self, X, reset=False, dtype=self.network_.dtype, accept_sparse=["csr", "csc"])
        if not hasattr(X, "tocsr"):
            out = self.network_.forward_train(X)[1][-1]
            return out.z, out.a
        X = X.tocsr()  # a sparse X is made dense a block of rows at a time
        parts = [self.network_.forward_train(X[i:i + 1024].toarray())[1][-1] for i in range(0, X.shape[0], 1024)]
        return np.vstack([p.z for p in parts]), np.vstack([p.a for p in parts])


def scikit_learn_biases(layer: Dense, rng: np.random.Generator) -> None:
    """scikit-learn's start for the biases: uniform within the weights' Glorot bound, drawn after them."""
    if layer.b is not None:
        r = glorot_bound(layer.n_in, layer.n_out)
        layer.b[...] = rng.uniform(-r, r, size=layer.n_out)


def stochastic(est) -> bool:
    """``partial_fit`` exists for the mini-batch solvers only, as in scikit-learn."""
    if isinstance(est.solver, str) and est.solver.lower() == "lbfgs":
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {est.solver} "
                             f"is not stochastic.")
    return True


# scikit-learn's names for the output activations.
_SKLEARN_NAMES = {"sigmoid": "logistic"}


def _float_dtype(X) -> np.dtype:
    """scikit-learn's rule for the dtype of the weights: float32 data stays float32, else float64."""
    dtype = getattr(X, "dtype", None)
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def _held(n: int, fraction: float) -> int:
    """How many samples a validation ``fraction`` holds out (0 for none)."""
    from ..core.training.batches import validation_size

    return validation_size(n, fraction) if fraction > 0 else 0


def _class_index(Y: np.ndarray) -> np.ndarray:
    return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else Y.argmax(axis=1)


def _check_stratifiable(labels: np.ndarray) -> None:
    """A stratified split needs two samples of every class, as scikit-learn's ``train_test_split`` says."""
    values, counts = np.unique(labels.astype(str), return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"The least populated classes in y have only 1 member, which is too few. The "
                         f"minimum number of groups for any class cannot be less than 2. Classes with "
                         f"too few members are: {values[counts < 2].tolist()}")

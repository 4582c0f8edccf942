"""The estimators' parameters: their documentation, and their checks at fit time."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..core.activations import Activation, get_activation
from ..core.initializers import get_initializer
from ..core.losses import Loss
from ..core.network import per_hidden_layer
from ..core.optimizers import OPTIMIZERS, SCHEDULES, Schedule, get_schedule
from ..core.training import Callback
from ..core.training.callbacks import as_callback, plateau_options
from ..core.validation import check_dtype

# scikit-learn's name for the mean squared error.
LOSS_ALIASES = {"squared_error": "mse"}


@dataclass
class Settings:
    """The estimator's parameters after validation, in the form training uses."""

    hidden: list[int]
    activations: list[Activation]
    output_activation: Activation
    loss: Loss
    dropout: list[float]
    dtype: np.dtype
    validation_fraction: float
    callbacks: list[Callback]
    schedule: Schedule | None = None
    plateau: dict | bool | None = None


def number(value, name, *, low=None, high=None, low_open=False, high_open=False, integer=False):
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


def check_settings(est) -> Settings:
    """Check every parameter of ``est`` and say which one is wrong; return them ready for use."""
    sizes = est.hidden_layer_sizes
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ValueError(f"hidden_layer_sizes must be a sequence of positive integers; got {sizes!r}")
    hidden = [number(n, f"hidden_layer_sizes[{i}]", low=1, integer=True) for i, n in enumerate(sizes)]

    activations = [get_activation(a) for a in per_hidden_layer(est.activation, len(hidden), "activation")]
    loss = est._loss()
    output = est._output_activation()

    dropout = [number(p, "dropout", low=0, high=1, high_open=True)
               for p in per_hidden_layer(est.dropout, len(hidden), "dropout")]
    dtype = None if est.dtype is None else check_dtype(est.dtype)  # None: X's float32 or float64

    if not isinstance(est.solver, str) or est.solver.lower() not in (*OPTIMIZERS, "lbfgs"):
        raise ValueError(f"solver must be one of {', '.join(OPTIMIZERS)}, lbfgs; got {est.solver!r}")
    number(est.max_iter, "max_iter", low=1, integer=True)   # before the schedule, which ends at max_iter
    schedule = None
    rate = est.learning_rate
    if not (isinstance(rate, str) and rate in ("constant", "invscaling", "adaptive")):
        if not (isinstance(rate, (dict, Schedule)) or (isinstance(rate, str) and rate in SCHEDULES)):
            raise ValueError(f"learning_rate must be 'constant', 'invscaling', 'adaptive', a schedule "
                             f"name ({', '.join(s for s in SCHEDULES if s != 'constant')}), a dict or "
                             f"a Schedule; got {rate!r}")
        schedule = get_schedule(rate, epochs=int(est.max_iter))  # the core's, which names a bad option of a dict
    if not isinstance(est.init, str) and not callable(est.init):
        raise ValueError(f"init must be the name of an initializer or a function; got {est.init!r}")
    get_initializer(est.init)  # an unknown name is refused here, with the names it could be
    if est.clip_norm is not None:
        number(est.clip_norm, "clip_norm (None or a number)", low=0, low_open=True)
    plateau = est.reduce_lr_on_plateau
    if plateau is not None and not isinstance(plateau, (bool, np.bool_, dict)):
        raise ValueError(f"reduce_lr_on_plateau must be None, True, False or a dict of options; got {plateau!r}")
    plateau_options(plateau)  # its options checked now, by the rule that uses them
    if plateau and est.learning_rate == "adaptive":
        raise ValueError("learning_rate='adaptive' is scikit-learn's reduce-on-plateau; "
                         "give one of it and reduce_lr_on_plateau")
    number(est.power_t, "power_t", low=0)
    number(est.max_fun, "max_fun", low=1, integer=True)
    number(est.learning_rate_init, "learning_rate_init", low=0, low_open=True)
    number(est.alpha, "alpha", low=0)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        number(est.batch_size, "batch_size ('auto' or a positive integer)", low=1, integer=True)
    number(est.tol, "tol", low=0)
    if est.n_iter_no_change != math.inf:
        number(est.n_iter_no_change, "n_iter_no_change", low=1, integer=True)
    number(est.momentum, "momentum", low=0, high=1, high_open=True)
    number(est.beta_1, "beta_1", low=0, high=1, high_open=True)
    number(est.beta_2, "beta_2", low=0, high=1, high_open=True)
    number(est.epsilon, "epsilon", low=0, low_open=True)
    for flag in ("bias", "shuffle", "early_stopping", "warm_start", "nesterovs_momentum"):
        if not isinstance(getattr(est, flag), (bool, np.bool_)):
            raise ValueError(f"{flag} must be True or False; got {getattr(est, flag)!r}")

    fraction = est.validation_fraction
    if fraction is None:
        fraction = 0.1 if est.early_stopping else 0.0
    else:
        number(fraction, "validation_fraction (None or a number)", low=0, high=1, low_open=True, high_open=True)

    callbacks = [as_callback(cb, f"callbacks[{i}]") for i, cb in enumerate(est.callbacks or ())]
    return Settings(hidden, activations, output, loss, dropout, dtype, float(fraction), callbacks,
                    schedule, plateau)


def as_generator(state) -> np.random.Generator:
    """A Generator from ``random_state``: None, an int, a RandomState or a Generator."""
    if isinstance(state, np.random.Generator):
        return state
    if isinstance(state, np.random.RandomState):
        return np.random.default_rng(state.randint(np.iinfo(np.int32).max))
    seed = isinstance(state, numbers.Integral) and not isinstance(state, bool) and state >= 0
    if state is None or seed:
        return np.random.default_rng(state)
    raise ValueError(f"random_state must be None, a non-negative integer, a numpy RandomState "
                     f"or Generator; got {state!r}")


PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        The number of nodes in each hidden layer; ``()`` gives no hidden layer.
    activation : str, Activation or sequence of them, default "relu"
        The hidden layers' activation, one for all or one per hidden layer:
        ``identity``, ``sigmoid`` (``logistic``), ``tanh``, ``relu``,
        ``leaky_relu``, ``elu``, ``softplus``, ``gelu``, ``exp``.
    loss : str, dict or Loss, default "{loss_default}"
        ``sse`` (the article's ``sum_j (a_j - y_j)^2``), ``mse`` (``squared_error``),
        ``mae``, ``huber``, ``cross_entropy`` (``log_loss``),
        ``binary_cross_entropy``, ``poisson`` (counts; the regressor's output
        is then ``exp``, as scikit-learn's), or an instance of a
        :class:`backprop.core.losses.Loss` subclass with ``per_sample`` and
        ``derivative``.
    output_activation : str or None, default None
        {output_doc}
    bias : bool, default True
        ``False`` gives the article's network without biases.
    solver : str, default "adam"
        ``sgd`` (scikit-learn's: with ``momentum`` > 0 it is Nesterov's momentum,
        or classical momentum with ``nesterovs_momentum=False``; ``momentum=0``
        is the article's ``w <- w - lr * grad``), ``momentum``, ``nesterov``, ``adam``, ``adamw``,
        ``rmsprop``, or ``lbfgs`` (scipy's L-BFGS-B on the whole training set).
    learning_rate : str, dict or Schedule, default "constant"
        ``"constant"``, and for ``solver="sgd"`` as scikit-learn: ``invscaling`` is
        ``learning_rate_init / (t + 1)^power_t`` after ``t`` samples;
        ``adaptive`` divides the rate by 5 whenever more than
        ``n_iter_no_change`` epochs in a row fail to improve by ``tol``, and
        stops once it is at most 1e-6. For any solver, also one of backprop's
        schedules per epoch: ``"cosine"``, ``"step"``, ``"exponential"``, a dict
        such as ``{{"name": "step", "step_size": 10, "gamma": 0.5}}``, or a
        :class:`backprop.core.optimizers.Schedule`.
    reduce_lr_on_plateau : bool, dict or None, default None
        backprop's reduce-on-plateau, watching what the stopping rule watches:
        ``True``, or a dict of ``factor`` (0.1), ``patience`` (5), ``min_lr``
        (0) and ``stop_lr``; not with ``learning_rate="adaptive"``.
    clip_norm : float or None, default None
        Scale each batch's gradient down to at most this global norm.
    init : str, default "glorot_uniform"
        How the weights start: ``glorot_uniform`` (``U(-r, r)``, ``r = sqrt(6 / (n_in + n_out))``,
        scikit-learn's choice for its MLP, whatever the activation; the biases
        are drawn from the same bound, as scikit-learn draws them), or any of
        backprop's initializers (``he_uniform``, ``lecun_normal``, ...; the biases then start at 0).
    power_t : float, default 0.5
        The exponent of ``invscaling``.
    learning_rate_init : float, default 0.001
        The learning rate.
    max_fun : int, default 15000
        For ``lbfgs``: the most evaluations of the loss (``max_iter`` bounds its iterations).
    alpha : float, default 0.0001
        L2 penalty ``alpha/2 ||W||^2`` on the weights (not the biases),
        divided by the batch's total sample weight as in scikit-learn.
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``; larger sizes are clipped to ``n_samples``.
    max_iter : int, default 200
        The most epochs ``fit`` runs (for ``lbfgs``, the most iterations).
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    random_state : None, int, RandomState or Generator, default None
        Drives the initial weights, shuffling, the validation split and the
        dropout masks; an int makes every ``fit`` the same.
    tol : float, default 1e-4
        An epoch improves when it beats the best so far by more than ``tol``:
        a lower training loss, or with ``early_stopping`` a higher validation
        score (the rule of :class:`backprop.core.training.EarlyStopping`).
    n_iter_no_change : int, default 10
        Stop after more than this many epochs in a row without improvement.
    early_stopping : bool, default False
        Watch the score (accuracy, or R^2 for the regressor) on a held-out
        validation set and end with the weights of its best epoch.
    validation_fraction : float or None, default None
        The fraction of the training samples held out for validation (stratified
        for classifiers); None means 0.1 with ``early_stopping`` and no
        validation set otherwise. With a validation set, ``validation_loss_curve_``
        is recorded even without early stopping.
    momentum : float, default 0.9
        For ``solver="sgd"``, ``"momentum"`` and ``"nesterov"``.
    nesterovs_momentum : bool, default True
        For ``solver="sgd"``: Nesterov's momentum rather than the classical one.
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
    dtype : {{"float64", "float32"}} or None, default None
        The dtype of the weights and of every computation; None follows ``X``
        as scikit-learn does (float32 stays float32, anything else is float64).
    warm_start : bool, default False
        ``fit`` continues from the current weights (with a fresh optimizer)
        and appends to the curves.
    verbose : bool, default False
        Print the loss after each epoch.
"""

# The keywords both estimators' fit take beyond scikit-learn's, documented once.
FIT_KEYWORDS_DOC = """        comm : Communicator, optional
            Train data-parallel (e.g. under ``mpiexec``, with
            :class:`backprop.distributed.MPICommunicator`): ``X``, ``y`` and
            ``sample_weight`` are this process's shard
            (:func:`backprop.distributed.shard`), every process ends with the
            same weights, those of one process given all the data (to rounding);
            a classifier learns its classes from every shard. Give every process
            the same parameters. See :func:`backprop.core.training.fit`.
        checkpoint : callable, optional
            Called as ``checkpoint(state)`` with a
            :class:`backprop.core.training.TrainingState` every
            ``checkpoint_every`` epochs and after the last (on rank 0 alone
            under ``comm``); :func:`backprop.checkpoint.save_checkpoint` writes one to a folder.
        checkpoint_every : int, default 1
"""


ATTRIBUTES_DOC = """
    Attributes
    ----------
    network_ : backprop.Network
        The trained network; ``network_.layers[l].W[j, k]`` is the article's ``w_jk``.
    coefs_, intercepts_ : list of ndarray
        The weights in scikit-learn's layout (``W.T``) and the biases.
    out_activation_ : str
        scikit-learn's name for the output activation: ``"softmax"``,
        ``"logistic"`` (sigmoid), ``"identity"``, ...
    loss_ : float
        The training loss of the last epoch.
    loss_curve_ : list of float
        The training loss of each epoch: the weighted mean of the per-sample
        losses of the batches (with dropout applied) plus the L2 penalty.
    validation_loss_curve_ : list of float or None
        The loss on the validation set after each epoch (no dropout, no
        penalty), or None without a validation set.
    best_loss_ : float or None
        The lowest training loss (None under ``early_stopping``, as scikit-learn).
    validation_scores_ : list of float or None
        Under ``early_stopping``, the validation score after each epoch
        (accuracy, all labels right for multilabel, or R^2); else None.
    best_validation_score_ : float or None
        The best of ``validation_scores_``; the weights are that epoch's.
    no_improvement_count_ : int
        Epochs in a row that did not improve the training loss (or the
        validation score) by more than ``tol``; more than ``n_iter_no_change``
        stops training (or, with ``learning_rate="adaptive"``, lowers the rate).
    learning_rate_ : float
        The rate the next step would use (sgd's ``invscaling`` and ``adaptive`` change it).
    n_layers_ : int
        Layers counting the input layer, as scikit-learn.
    n_outputs_ : int
        Output nodes.
    history_ : backprop.History
        Every epoch's record as plain data.
    n_iter_ : int
        Epochs run by the last call (``lbfgs``: its iterations), as scikit-learn 1.9.
    t_ : int
        Training samples seen since the first fit (warm starts and ``partial_fit`` add to it).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
"""



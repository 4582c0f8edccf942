"""``fit``: check the options, compose the loop's pieces, run it.

Every entry point trains through here: :meth:`Network.fit`, ``backprop
train``, the scikit-learn estimators and ``mpiexec`` runs.
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterable

import numpy as np

from ..optimizers import Optimizer, get_optimizer, get_schedule
from ..validation import check_positive_int, check_rng, check_sample_weight
from .batches import LocalBatches, ShardBatches, is_sparse, split_validation
from .callbacks import Checkpoints, EarlyStopping, LearningRate, as_callback
from .compiled import ENGINES
from .guard import Guard
from .loop import TrainingLoop
from .reduce import AllReduce, Communicator, Local
from .state import History, TrainingState
from .tasks import as_targets, check_task, infer_task

__all__ = ["fit", "check_fraction"]


def check_fraction(value, name) -> float:
    """A number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
    return float(value)


# Overflow is not reported as a warning here: the guard stops training at the first
# non-finite loss or gradient, with a message that says where.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def fit(net, X, Y, *, epochs: int = 10, batch_size: int = 32, optimizer="sgd", lr: float | None = None,
        seed=None, sample_weight=None, validation_data=None, validation_split: float = 0.0,
        shuffle: bool = True, schedule=None, weight_decay: float = 0.0, clip_norm: float | None = None,
        optimizer_options: dict | None = None, early_stopping: bool = False, patience=10,
        min_delta: float = 0.0, restore_best_weights: bool = True, monitor: str | None = None,
        mode: str | None = None, reduce_lr_on_plateau=None,
        callbacks: Iterable = (), task: str | None = None, checkpoint: Callable | None = None,
        checkpoint_every: int = 1, resume: TrainingState | None = None,
        should_stop: Callable[[], bool] | None = None, comm: Communicator | None = None,
        engine: str = "auto") -> History:
    """Train ``net`` by mini-batch gradient descent; return the history.

    Parameters
    ----------
    net : Network
    X : array_like of shape (n_samples, n_inputs)
    Y : array_like of shape (n_samples, n_outputs)
        Targets; for a classifier with several outputs, 1-D integer class
        indices are accepted and become one-hot rows.
    epochs : int, default 10
    batch_size : int, default 32
        The last batch of an epoch may be smaller.
    optimizer : str, dict or Optimizer, default "sgd"
        ``"sgd"`` is the article's ``w <- w - lr * grad``.
    lr : float, optional
        The learning rate; the optimizer's default if omitted.
    seed : int, numpy.random.Generator or None
        Drives shuffling, the validation split and dropout; the same seed gives the same run.
    sample_weight : array_like of shape (n_samples,), optional
        Non-negative weights ``w_i``: each batch's gradient is the weighted
        average ``sum_i w_i dC_i/dw / sum_i w_i`` (integer weights count a
        sample that many times), and the losses are weighted means.
    validation_data : tuple (X_val, Y_val) or (X_val, Y_val, w_val), optional
    validation_split : float in [0, 1), default 0
        If no ``validation_data``, hold out this fraction of the samples
        (rounded up), chosen at random with ``seed``, stratified by class for
        classification.
    shuffle : bool, default True
        Reshuffle the training samples every epoch.
    schedule : str, dict or Schedule, optional
        Learning-rate schedule per epoch (``"step"``, ``"exponential"``, ``"cosine"``, ...);
        ``"cosine"`` without its own ``t_max`` anneals over ``epochs``.
    weight_decay, clip_norm : float, optional
        L2 penalty on weights (in the optimizer) and gradient clipping by global norm.
    optimizer_options : dict, optional
        Further options for the optimizer, e.g. ``{"momentum": 0.9}``.
    early_stopping : bool, default False
        Stop when the monitored value (``val_loss`` if there is validation
        data, else ``loss``) has not improved by more than ``min_delta`` for
        ``patience`` epochs in a row (:class:`EarlyStopping`, the one rule).
    patience : int, default 10
        ``math.inf`` never stops, but still keeps the best weights.
    min_delta : float, default 0
    restore_best_weights : bool, default True
        With early stopping, end with the weights of the best epoch.
    monitor : str, optional
        What early stopping and the plateau watch: ``"loss"``, ``"val_loss"``,
        a metric of the record (``"val_accuracy"``, ``"val_r2"``, ...) or an
        entry a callback adds at the epoch's end; ``val_loss`` when there is
        validation data, else ``loss``, if omitted.
    mode : {"min", "max"}, optional
        Whether lower or higher ``monitor`` is better; by its name if omitted
        (accuracy, r2 and score: higher).
    reduce_lr_on_plateau : bool or dict, optional
        Multiply the rate by ``factor`` (default 0.1) when the monitored value
        has not improved for ``patience`` epochs in a row (default 5), down
        to ``min_lr`` (default 0); with ``stop_lr``, a plateau at a rate of at
        most ``stop_lr`` stops training instead. A dict sets those options.
    callbacks : iterable of Callback or callable
        A callable is called as ``fn(epoch, record)`` at each epoch's end;
        returning True stops training.
    task : {"classification", "regression"}, optional
        Which metrics to record; inferred from the loss and targets if omitted.
    checkpoint : callable, optional
        Called as ``checkpoint(state)`` with a :class:`TrainingState` every
        ``checkpoint_every`` epochs, after the last epoch, and when
        ``should_stop`` stops the run. Saving it is the caller's business
        (:mod:`backprop.checkpoint` writes it to a folder).
    checkpoint_every : int, default 1
    resume : TrainingState, optional
        Go on from this state instead of starting afresh. Give the same data
        and options as the run that made it.
    should_stop : callable, optional
        Asked after every batch; when it returns True, training stops after
        that batch, checkpoints, and raises :class:`TrainingInterrupted`.
    comm : Communicator, optional
        Train data-parallel over the processes of ``comm`` (for MPI,
        :class:`backprop.distributed.MPICommunicator`). ``X``, ``Y`` (and
        ``sample_weight``) are then this process's shard: the shards,
        concatenated in rank order, are the training set
        (:func:`backprop.distributed.shard` cuts even ones). Every process
        computes its share of each global batch's gradient, one Allreduce sums
        the shares, and every process takes the same step, so all hold the
        same weights: those of one process given the whole data, to rounding
        (with dropout, each process draws its own masks). ``validation_data``
        is this process's part of the validation set (or None); a
        ``validation_split`` is drawn from all shards, as one process would
        draw it. Give every process the same options. Callbacks and
        ``should_stop`` run on every process (a stop asked by any stops all);
        ``checkpoint`` runs on rank 0 alone, and the state it gets does not
        depend on the number of processes.
    engine : {"auto", "numpy", "compiled"}, default "auto"
        Where each batch's forward and backward pass runs: NumPy's calls, or
        one compiled call per batch around the same BLAS products (Numba,
        ``pip install 'backprop[fast]'``; :mod:`backprop.core.training.compiled`).
        ``"compiled"`` wherever the network allows it (one process, no
        dropout, sigmoid, tanh, ReLU or identity layers with biases, a
        squared-error output or softmax with cross-entropy); ``"auto"`` where
        that is faster: Numba installed, ReLU or identity hidden layers, and
        at least 1e9 samples times parameters (and, where Numba cannot load
        or compile the kernels, a ``RuntimeWarning`` and the NumPy path). The same formulas: bit for bit
        the NumPy path's where the operations are the same, else to the last
        place or two (``exp``, ``log`` and ``tanh`` are the C library's).

    Returns
    -------
    History

    Raises
    ------
    NonFiniteError
        At the first NaN or infinity in a batch's loss or gradients; the
        weights are left as they were before that batch.
    DivergenceError
        When a batch's loss grows a million times above the run's first.
    TrainingInterrupted
        When ``should_stop`` asked for it.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    validation_split = check_fraction(validation_split, "validation_split")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    rng = check_rng(seed)
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}")
    reducer = Local() if comm is None else AllReduce(comm)

    if is_sparse(X) and comm is not None:
        raise ValueError("a data-parallel run takes dense shards; X is a sparse matrix")
    X = _check_sparse(net, X) if is_sparse(X) else net.check_X(X)
    Y = net.check_Y(as_targets(net, Y), X.shape[0])
    weights = check_sample_weight(sample_weight, X.shape[0])
    if comm is not None:
        # Every process starts from rank 0's weights and random state (the same even without a seed).
        net.set_weights(comm.bcast(net.get_weights()))
        rng.bit_generator.state = comm.bcast(rng.bit_generator.state)
    task = reducer.bcast(check_task(task) if task is not None else infer_task(net, Y))  # rank 0's

    validation, batches = _data(net, X, Y, weights, validation_data, validation_split, task, rng,
                                reducer, batch_size)
    opt = optimizer if isinstance(optimizer, Optimizer) else get_optimizer(
        optimizer, lr=lr, weight_decay=weight_decay, clip_norm=clip_norm, **(optimizer_options or {}))
    finite = "val_loss" if validation is not None else "loss"  # the loss that must stay finite
    if monitor is None:
        monitor = finite
    elif not isinstance(monitor, str) or not monitor or (monitor.startswith("val_") and validation is None):
        raise ValueError(f"monitor must name an entry of the record ('loss', or with validation data "
                         f"'val_loss', 'val_accuracy', ...); got {monitor!r}")
    policies = [LearningRate(get_schedule(schedule, epochs=epochs), reduce_lr_on_plateau, monitor, min_delta, mode),
                EarlyStopping(monitor, patience, min_delta, restore_best_weights, early_stopping, mode)]
    hooks = [as_callback(cb, f"callbacks[{i}]") for i, cb in enumerate(callbacks)]
    save = reducer.on_rank0(checkpoint)
    dropout_rng = None
    if any(net.dropout):
        # Masks come from their own stream, so a network without dropout shuffles as it always did;
        # each process of a data-parallel run draws its own.
        dropout_rng = np.random.default_rng([int(rng.integers(2**63)), reducer.rank])
    loop = TrainingLoop(net, batches, reducer, opt, policies, hooks, task, rng, dropout_rng, validation,
                        shuffle, Guard(History(task=task)), finite,
                        checkpoints=None if save is None else Checkpoints(save, checkpoint_every),
                        should_stop=should_stop, engine=engine)
    first_epoch, first_batch = (1, 0) if resume is None else loop.restore(resume)
    with loop.update.working_copies():
        return loop.run(epochs, first_epoch, first_batch)


def _check_sparse(net, X):
    """A sparse ``X`` (rows made dense per batch): its width, dtype and finiteness checked, stored as CSR."""
    X = X.tocsr().astype(net.dtype)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ValueError(f"X has {X.shape[-1]} columns but the network has {net.sizes[0]} input nodes")
    if not np.isfinite(X.data).all():
        raise ValueError("X holds NaN or infinite values")
    return X


def _data(net, X, Y, weights, validation_data, fraction, task, rng, reducer, batch_size):
    """The validation set (or None) and the source of training batches."""
    strata = None
    if validation_data is None and fraction > 0 and task == "classification":
        strata = Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] > 0.5).astype(int)
    if reducer.size == 1:
        validation = None
        if validation_data is not None:
            validation = _validation_data(net, validation_data)
        elif fraction > 0:
            kept, held = split_validation(X.shape[0], fraction, rng, strata)
            X_val = X[held].toarray() if is_sparse(X) else X[held]  # the held-out rows, made dense
            validation = (X_val, Y[held], None if weights is None else weights[held])
            X, Y = X[kept], Y[kept]
            weights = None if weights is None else weights[kept]
        return validation, LocalBatches(X, Y, weights, batch_size)

    # Data-parallel: this process holds the global rows lo .. hi - 1.
    counts = np.zeros(reducer.size)
    counts[reducer.rank] = X.shape[0]
    counts = reducer.sum(counts)
    lo, n_total = int(counts[:reducer.rank].sum()), int(counts.sum())

    def everyone(values):  # a vector over all rows, each process filling its own
        full = np.zeros(n_total)
        full[lo:lo + X.shape[0]] = values
        return reducer.sum(full)

    if reducer.agree(weights is not None) and weights is None:
        weights = np.ones(X.shape[0])  # other processes weigh their rows: this one's weigh 1
    all_weights = None if weights is None else everyone(weights)  # each batch's total weight needs all
    validation, train_rows = None, None
    if validation_data is not None:
        validation = _validation_data(net, validation_data)
    elif fraction > 0:
        kept, held = split_validation(n_total, fraction, rng, None if strata is None else everyone(strata))
        mine = held[(held >= lo) & (held < lo + X.shape[0])] - lo
        validation = (X[mine], Y[mine], None if weights is None else weights[mine])
        train_rows = kept
        if all_weights is not None:
            all_weights = all_weights[kept]
    if reducer.agree(validation is not None) and validation is None:
        validation = (X[:0], Y[:0], None)  # other processes hold validation data, this one none
    return validation, ShardBatches(X, Y, weights, batch_size, reducer, n_total, lo, train_rows, all_weights)


def _validation_data(net, data):
    try:
        X_val, Y_val, *rest = data
    except (TypeError, ValueError):
        raise ValueError("validation_data must be a pair (X_val, Y_val) or a triple (X_val, Y_val, w_val)") from None
    if len(rest) > 1:
        raise ValueError("validation_data must be a pair (X_val, Y_val) or a triple (X_val, Y_val, w_val)")
    X_val = net.check_X(X_val)
    Y_val = net.check_Y(as_targets(net, Y_val), X_val.shape[0])
    w_val = check_sample_weight(rest[0], X_val.shape[0]) if rest else None
    return X_val, Y_val, w_val

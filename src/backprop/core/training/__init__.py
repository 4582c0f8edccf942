"""Training: the one loop, and the pieces it is composed of.

Each step is the article's: forward propagation, the loss, backpropagation of
its gradient averaged over the batch, and ``new weight = old weight - lr *
gradient`` (or a refinement of it, see :mod:`backprop.core.optimizers`).

==================  =====================================================
module              what it holds
==================  =====================================================
:mod:`.loop`        the loop: per batch, forward, backward, reduce, update
:mod:`.fit`         :func:`fit`: checks the options and composes the loop
:mod:`.batches`     where batches come from; the validation split
:mod:`.reduce`      how gradients are summed: nothing, or an Allreduce
:mod:`.update`      the step: the optimizer's, or plain SGD folded into
                    the dC/dW product (one BLAS gemm per layer)
:mod:`.guard`       no non-finite or runaway step reaches the weights
:mod:`.callbacks`   per-epoch policies (learning rate, early stopping,
                    checkpoints) and the :class:`Callback` interface
:mod:`.tasks`       classification or regression, and their metrics
:mod:`.state`       :class:`History`, :class:`TrainingState`, the errors
==================  =====================================================
"""

from .batches import split_validation, validation_size
from .callbacks import Callback, Checkpoints, EarlyStopping, FunctionCallback, Improvement, LearningRate
from .fit import fit
from .loop import TrainingLoop
from .reduce import AllReduce, Communicator, Local
from .state import DivergenceError, History, NonFiniteError, TrainingInterrupted, TrainingState
from .tasks import TASKS, as_targets, balanced_class_weights, evaluate, infer_task

__all__ = ["fit", "History", "Callback", "Communicator", "NonFiniteError", "DivergenceError",
           "TrainingInterrupted", "TrainingState", "TASKS", "TrainingLoop", "EarlyStopping",
           "LearningRate", "Improvement", "Checkpoints", "FunctionCallback", "Local", "AllReduce", "evaluate",
           "infer_task", "as_targets", "split_validation", "validation_size", "balanced_class_weights"]

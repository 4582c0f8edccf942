"""The article itself: layers, activations, losses, the network, initializers, optimizers.

This subpackage imports NumPy and nothing outside it.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .initializers import INITIALIZERS, get_initializer
from .layers import Layer
from .losses import FUSED_OUTPUTS, LOSSES, Loss, get_loss
from .network import Network
from .layers import Dense, Dropout
from .training import Callback, DivergenceError, History, NonFiniteError, TrainingInterrupted, TrainingState
from .optimizers import (
    OPTIMIZERS, SCHEDULES, Adam, AdamW, CosineLR, ConstantLR, ExponentialLR, Momentum, Nesterov,
    Optimizer, RMSprop, SGD, Schedule, StepLR, clip_by_global_norm, get_optimizer, get_schedule,
)

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "INITIALIZERS", "get_initializer", "Layer", "Dense",
    "Dropout", "DivergenceError",
    "FUSED_OUTPUTS", "LOSSES", "Loss", "get_loss", "Network", "Callback", "History", "NonFiniteError", "TrainingInterrupted", "TrainingState", "OPTIMIZERS", "SCHEDULES", "Adam",
    "AdamW", "CosineLR", "ConstantLR", "ExponentialLR", "Momentum", "Nesterov", "Optimizer",
    "RMSprop", "SGD", "Schedule", "StepLR", "clip_by_global_norm", "get_optimizer", "get_schedule",
]

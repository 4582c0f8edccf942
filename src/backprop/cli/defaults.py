"""Training defaults that fit the data, and the words on how a run ended.

A user who names only the data (no ``--epochs``, no ``--early-stopping``, no
recipe that sets epochs) gets early stopping on the validation split within an
epoch budget chosen from the number of training samples: about
:data:`SAMPLES_BUDGET` sample presentations, between :data:`MIN_EPOCHS` and
:data:`MAX_EPOCHS` epochs, with a patience of a tenth of the budget (at least
10 epochs). Small sets get many epochs (the sine set: 1000), large ones few
(MNIST: 30), and early stopping ends the run once the validation loss stops
improving, keeping the best weights.
"""

from __future__ import annotations

import math

from . import CLIError

__all__ = ["auto_epochs", "check_loss_suits", "stop_summary", "SAMPLES_BUDGET", "MIN_EPOCHS", "MAX_EPOCHS"]

SAMPLES_BUDGET = 200_000
MIN_EPOCHS = 30
MAX_EPOCHS = 1000
CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy", "softmax_cross_entropy",
                         "sigmoid_binary_cross_entropy")


def auto_epochs(n_train: int, batch_size: int, has_validation: bool) -> dict:
    """The options that replace the fixed epoch count: ``epochs``, ``early_stopping``, ``patience``."""
    epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(SAMPLES_BUDGET / max(n_train, 1)))))
    return {"epochs": epochs, "early_stopping": has_validation, "patience": max(10, epochs // 10)}


def check_loss_suits(options: dict, train, source: dict) -> None:
    """Refuse a classification loss on a regression target, naming the cause rather than the symptom."""
    loss = options.get("loss")
    if train.task == "regression" and loss in CLASSIFICATION_LOSSES:
        target = source.get("target") or "y"
        raise CLIError(
            f"--loss {loss} is a classification loss, but the target {target!r} holds numbers read as a "
            "regression target (not all whole, or more than 20 distinct values); use --loss mse, mae or "
            "huber for values, or if they are class labels, write them as words or whole numbers")
    if train.task == "regression" and options.get("output_activation") in ("softmax", "sigmoid"):
        raise CLIError(f"--output-activation {options['output_activation']} squeezes outputs into (0, 1), "
                       "but this is a regression target; use identity (the default for values)")


def stop_summary(history, options: dict, has_validation: bool) -> dict:
    """How and why training ended, and a warning when the loss was still falling at the end."""
    n = len(history)
    monitor = "val_loss" if has_validation else "loss"
    best = history.best_epoch
    if history.stopped_early:
        reason = (f"stopped early at epoch {n}: {monitor} had not improved for {options['patience']} epochs; "
                  f"kept the weights of epoch {best}")
    elif n < options["epochs"]:
        reason = f"stopped at epoch {n} of {options['epochs']}" + (f" ({history.stop_reason})"
                                                                    if history.stop_reason else "")
    else:
        chosen = " (a budget chosen from the data size)" if options.get("auto_epochs") else ""
        reason = f"ran all {n} epochs{chosen}"
    still = False
    if not history.stopped_early and n >= 2:
        values = [v for v in history[monitor] if v is not None]
        if len(values) == n:
            recent = min(max(2, n // 10), n - 1)
            still = min(values[-recent:]) < min(values[:-recent]) - 1e-12
    warning = None
    if still:
        warning = (f"{monitor} was still falling at the end (lowest in the last {recent} of {n} "
                   f"epochs), so the model may be under-trained; train longer, e.g. --epochs {2 * n}")
    return {"reason": reason, "epochs_run": n, "best_epoch": best, "monitor": monitor,
            "still_improving": still, "warning": warning}

"""scikit-learn's per-epoch rules, as pieces of the one loop: a schedule and a callback.

:class:`InvScaling` is ``learning_rate="invscaling"``, a
:class:`~backprop.core.optimizers.Schedule`. :class:`NoImprovement` is
scikit-learn's stopping rule: it counts the epochs that do not improve the
training loss (or, with ``early_stopping``, the validation score: accuracy
or R^2) by more than ``tol``; after more than ``n_iter_no_change`` of them it
stops, or with ``learning_rate="adaptive"`` divides the rate by 5 (and stops
once the rate is at most 1e-6). Under early stopping it keeps the weights of
the best validation score and ends with them.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.optimizers import Schedule
from ..core.training import Callback

__all__ = ["InvScaling", "NoImprovement"]


class InvScaling(Schedule):
    """``lr_t = learning_rate_init / (t + 1)^power_t`` with ``t`` the samples seen before the epoch.

    The first epoch of a ``fit`` runs at ``learning_rate_init`` (scikit-learn
    starts every ``fit`` with a fresh optimizer); ``t0`` is the count of
    samples of earlier warm-started fits.
    """

    name = "invscaling"

    def __init__(self, power_t: float = 0.5, samples_per_epoch: int = 1, t0: int = 0):
        self.power_t, self.samples_per_epoch, self.t0 = power_t, samples_per_epoch, t0

    def __call__(self, base_lr, epoch):
        if epoch == 0:
            return base_lr
        return base_lr / (self.t0 + epoch * self.samples_per_epoch + 1) ** self.power_t


class NoImprovement(Callback):
    """scikit-learn's rule for stopping, the adaptive rate and the best weights under early stopping.

    Parameters
    ----------
    est : BaseMLP
        Its ``best_loss_``, ``validation_scores_``, ``best_validation_score_``
        and ``no_improvement_count_`` are updated each epoch.
    early_stopping : bool
        Watch the validation score (higher is better) instead of the training loss.
    adaptive : bool
        On a plateau, divide the rate by 5 instead of stopping (stop when it is at most 1e-6).
    active : bool
        False for ``partial_fit``: count, but never stop or change the rate.
    """

    def __init__(self, est, early_stopping: bool, adaptive: bool, active: bool = True):
        self.est, self.early_stopping, self.adaptive, self.active = est, early_stopping, adaptive, active
        self.best_weights = None

    def on_epoch_end(self, epoch, record):
        est = self.est
        if self.early_stopping:
            score = self._score(record)
            est.validation_scores_.append(score)
            worse = not score >= est.best_validation_score_ + est.tol  # nan counts as no improvement
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_weights = self.loop.net.get_weights()
        else:
            loss = record["loss"]
            worse = loss > est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, loss)
        est.no_improvement_count_ = est.no_improvement_count_ + 1 if worse else 0
        if not self.active or est.no_improvement_count_ <= est.n_iter_no_change:
            return None
        what = "Validation score" if self.early_stopping else "Training loss"
        reason = (f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                  f"consecutive epochs")
        optimizer = self.loop.optimizer
        if self.adaptive and optimizer.lr > 1e-6:
            optimizer.base_lr /= 5.0  # the constant schedule sets lr = base_lr from the next epoch
            est.no_improvement_count_ = 0
            if est.verbose:
                print(f"{reason}. Setting learning rate to {optimizer.base_lr:f}")
            return None
        self.loop.history.stopped_early = True
        self.loop.history.stop_reason = reason + (". Learning rate too small" if self.adaptive else "")
        return True

    def on_train_end(self, history):
        self.restore()

    def restore(self):
        """Under early stopping, go back to the weights of the best validation score."""
        if self.early_stopping and self.best_weights is not None:
            self.loop.net.set_weights(self.best_weights)

    def _score(self, record) -> float:
        """The validation score scikit-learn watches: accuracy (all labels right) or R^2."""
        if self.est._task == "regression":
            return float(record.get("val_r2", math.nan))
        X_val, Y_val, w_val = self.loop.validation
        if Y_val.shape[1] > 1 and self.est.out_activation_ == "logistic":  # multilabel: the whole row
            with np.errstate(all="ignore"):
                right = ((self.loop.net.forward_unchecked(X_val) > 0.5) == (Y_val > 0.5)).all(axis=1)
            return float(np.average(right, weights=w_val))
        return float(record.get("val_accuracy", math.nan))

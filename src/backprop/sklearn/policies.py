"""scikit-learn's per-epoch rules, as pieces of the one loop.

:class:`InvScaling` is ``learning_rate="invscaling"``, a
:class:`~backprop.core.optimizers.Schedule`. scikit-learn's stopping rule is
the core's :class:`~backprop.core.training.EarlyStopping` with its settings
(:func:`stopping_options`): it watches the training loss (lower is better)
or, with ``early_stopping``, the validation score (accuracy or R^2, higher is
better, an entry :class:`ValidationScore` adds to each epoch's record), counts
the epochs that do not improve it by more than ``tol``, and stops after more
than ``n_iter_no_change`` of them; with ``learning_rate="adaptive"`` the
core's reduce-on-plateau divides the rate by 5 instead, and stops once the
rate is at most 1e-6. :class:`Counters` carries scikit-learn's attributes
(``best_loss_``, ``no_improvement_count_``, ...) between fits.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.optimizers import Schedule
from ..core.training import Callback, EarlyStopping, LearningRate

__all__ = ["InvScaling", "ValidationScore", "Counters", "stopping_options"]

# scikit-learn's adaptive rate: divided by 5 on a plateau, training stops at a plateau once it is this small.
ADAPTIVE = {"factor": 0.2, "stop_lr": 1e-6}


def stopping_options(est, watch_validation: bool, adaptive: bool, incremental: bool, plateau=None) -> dict:
    """``fit``'s keywords for scikit-learn's rule, from the estimator's ``tol`` and ``n_iter_no_change``.

    scikit-learn stops after *more than* ``n_iter_no_change`` epochs without
    improvement; the core stops after ``patience`` of them, so ``patience`` is
    one more. ``partial_fit`` counts but neither stops nor changes the rate.
    ``plateau`` is the estimator's own ``reduce_lr_on_plateau`` (not with
    the adaptive rate, which is scikit-learn's plateau).
    """
    patience = est.n_iter_no_change + 1
    options = {"monitor": "val_score" if watch_validation else "loss", "min_delta": est.tol,
               "early_stopping": not incremental, "restore_best_weights": watch_validation,
               "patience": math.inf if adaptive else patience}
    if adaptive and not incremental:
        options["reduce_lr_on_plateau"] = {**ADAPTIVE, "patience": patience}
    elif plateau and not incremental:
        options["reduce_lr_on_plateau"] = plateau
    return options


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


class ValidationScore(Callback):
    """Adds ``val_score`` to each epoch's record: accuracy (every label right) or R^2, as scikit-learn scores."""

    def __init__(self, est):
        self.est = est

    def on_epoch_end(self, epoch, record):
        record["val_score"] = score = self._score(record)
        self.est.validation_scores_.append(score)

    def _score(self, record) -> float:
        if self.est._task == "regression":
            return float(record.get("val_r2", math.nan))
        X_val, Y_val, w_val = self.loop.validation
        if Y_val.shape[1] > 1 and self.est.out_activation_ == "logistic":  # multilabel: the whole row
            with np.errstate(all="ignore"):
                right = ((self.loop.net.forward_unchecked(X_val) > 0.5) == (Y_val > 0.5)).all(axis=1)
            return float(np.average(right, weights=w_val))
        return float(record.get("val_accuracy", math.nan))


class Counters(Callback):
    """scikit-learn's counters in and out of the loop's policies, so that they go on between fits.

    At the start, ``best_loss_`` (or ``best_validation_score_``) and
    ``no_improvement_count_`` become the state of the rule that counts
    (early stopping, or the plateau under the adaptive rate); at the end they
    are read back. Also prints the adaptive rate's changes under ``verbose``.
    """

    def __init__(self, est, watch_validation: bool, adaptive: bool):
        self.est, self.watch_validation, self.adaptive = est, watch_validation, adaptive
        self.stopping = self.counting = None

    def on_train_begin(self, info):
        self.stopping = next(p for p in self.loop.policies if isinstance(p, EarlyStopping))
        rate = next(p for p in self.loop.policies if isinstance(p, LearningRate))
        self.counting = rate.tracker if rate.plateau["enabled"] else self.stopping.tracker
        best = self.est.best_validation_score_ if self.watch_validation else self.est.best_loss_
        self.stopping.tracker.best = self.counting.best = best  # the same tracker, or the plateau's too
        self.counting.since = self.est.no_improvement_count_
        self.lr = None

    def on_epoch_begin(self, epoch):
        lr = self.loop.optimizer.lr
        if self.est.verbose and self.adaptive and self.lr is not None and lr < self.lr:
            print(f"{'Validation score' if self.watch_validation else 'Training loss'} did not improve "
                  f"more than tol={self.est.tol:f} for {self.est.n_iter_no_change} consecutive epochs. "
                  f"Setting learning rate to {lr:f}")
        self.lr = lr

    def on_train_end(self, history):
        best = self.stopping.tracker.best
        if self.watch_validation:
            self.est.best_validation_score_ = best
        else:
            self.est.best_loss_ = best
        self.est.no_improvement_count_ = self.counting.since

    def restore(self):
        """The best weights so far (after a run that diverged under early stopping); False if none."""
        if self.stopping is None or self.stopping.weights is None:
            return False
        self.loop.net.set_weights(self.stopping.weights)
        return True

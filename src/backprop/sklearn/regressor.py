"""MLPRegressor: values in, values out, trained by the one loop."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ..core.activations import Activation, get_activation
from sklearn.utils.metaestimators import available_if

from .base import BaseMLP, stochastic
from .params import ATTRIBUTES_DOC, FIT_KEYWORDS_DOC, PARAMETERS_DOC

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = (
        """A feed-forward regressor trained by backpropagation, in scikit-learn's API.

    One output node per target, with the identity as output activation and
    the mean squared error by default. ``predict`` returns a 1-D array for a
    single target.
"""
        + PARAMETERS_DOC.format(
            loss_default="mse",
            output_doc="The output layer's activation, any of the hidden activations' names;\n"
                       "        None means ``identity``. (The article uses ``sigmoid`` with ``sse``\n"
                       "        for targets in [0, 1].)")
        + ATTRIBUTES_DOC
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
                 callbacks=None, dtype=None, warm_start=False, verbose=False,
                 learning_rate="constant", power_t=0.5, max_fun=15000, nesterovs_momentum=True,
                 clip_norm=None, reduce_lr_on_plateau=None, init="glorot_uniform"):
        super().__init__(
            hidden_layer_sizes, activation, loss=loss, output_activation=output_activation, bias=bias,
            solver=solver, learning_rate_init=learning_rate_init, alpha=alpha, batch_size=batch_size,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, momentum=momentum, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, dropout=dropout, callbacks=callbacks, dtype=dtype, warm_start=warm_start,
            verbose=verbose, learning_rate=learning_rate, power_t=power_t, max_fun=max_fun,
            nesterovs_momentum=nesterovs_momentum, clip_norm=clip_norm,
            reduce_lr_on_plateau=reduce_lr_on_plateau, init=init)

    def fit(self, X, y, sample_weight=None, *, validation_data=None, comm=None, checkpoint=None,
            checkpoint_every=1):
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
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation_data, comm=comm,
                         checkpoint=checkpoint, checkpoint_every=checkpoint_every)

    fit.__doc__ = fit.__doc__.rstrip() + "\n" + FIT_KEYWORDS_DOC  # comm, checkpoint: said once

    @available_if(stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y`` from the current weights and optimizer state; return ``self``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The predicted targets: shape (n_samples,) for one target, else (n_samples, n_targets)."""
        outputs = self._outputs(X)[1]
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def _output_activation(self) -> Activation:
        if self.output_activation is not None:
            return get_activation(self.output_activation)
        # scikit-learn's poisson uses the log link: an exp output, so the rates stay positive.
        return get_activation("exp" if self._loss().name == "poisson" else "identity")

    def _targets(self, y, first, classes=None):
        Y = np.asarray(y, dtype=self._dtype)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if first:
            self.n_outputs_ = Y.shape[1]
        return Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

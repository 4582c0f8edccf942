"""scikit-learn estimators on the backprop engine: :class:`MLPClassifier` and :class:`MLPRegressor`.

They follow scikit-learn's conventions, so they work where its own
``sklearn.neural_network`` estimators work (pipelines, grid search,
``clone``, pickling): ``__init__`` only stores its arguments, ``fit`` returns
``self``, what is learned ends in ``_``, ``random_state`` makes a run
repeatable, and scikit-learn's own estimator checks pass.

The parameters keep scikit-learn's names where it has one
(``hidden_layer_sizes``, ``activation``, ``solver``, ``learning_rate_init``,
``alpha``, ``batch_size``, ``max_iter``, ``tol``, ``n_iter_no_change``,
``early_stopping``, ``warm_start``, ...). Beside them are the article's
choices (``loss`` including ``"sse"``, ``bias``) and what the engine adds:
an activation per hidden layer, dropout, a custom :class:`~backprop.core.losses.Loss`,
``class_weight`` and ``sample_weight``, a validation loss curve, callbacks and
float32.

They are thin adapters onto the engine: ``fit`` builds a
:class:`~backprop.core.network.Network` (with :class:`~backprop.core.layers.Dropout`
layers for ``dropout``) and trains it with :func:`backprop.core.training.fit`,
the loop every entry point uses. Sample and class weights are the loop's
weighted average ``sum_i w_i dC_i/dw / sum_i w_i``; the L2 penalty ``alpha`` is
the optimizer's weight decay, divided by the batch's total weight as
scikit-learn does; the curves, the verbose print, the convergence warning and
scikit-learn's stopping rule (with ``learning_rate="adaptive"``) are callbacks;
``invscaling`` is a schedule; a sparse ``X`` is made dense one batch at a time
by the loop's batch source. ``solver="lbfgs"`` alone is different in kind: scipy's
L-BFGS-B on the packed parameters, with the network's own loss, backward pass
and the optimizer's penalty (:mod:`.lbfgs`).

Where they differ from scikit-learn's MLP (each on purpose, see the how-to
guide "scikit-learn pipelines and grid search"): the losses are PyTorch's
(``mse`` without scikit-learn's factor 1/2; binary cross-entropy the mean over
labels, not the sum), a target with one class is refused, and the same
``random_state`` draws other initial weights.

=================  ================================================
module             what it holds
=================  ================================================
:mod:`.params`     the parameters' documentation and checks
:mod:`.base`       what both estimators share: building, fitting, predicting
:mod:`.policies`   scikit-learn's rate rules and stopping rule, as loop pieces
:mod:`.lbfgs`      ``solver="lbfgs"``: the objective on a flat vector, scipy's minimiser
:mod:`.classifier` :class:`MLPClassifier`
:mod:`.regressor`  :class:`MLPRegressor`
=================  ================================================
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]

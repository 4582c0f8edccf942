"""The article's derivation for one weight, as plain data.

:func:`explain` takes a network, one or more samples and a weight ``w_jk^l``
and returns an :class:`Explanation`: every number the article's derivation
uses, in the order the article uses them.

1. The forward pass: ``z_j^l = sum_k w_jk^l a_k^(l-1) (+ b_j^l)`` and
   ``a_j^l = g_l(z_j^l)`` for every node of every layer.
2. The loss ``C_0 = sum_j C_0j`` and its part from each output node
   (``C_0j = (a_j^L - y_j)^2`` for the article's loss).
3. The chain rule ``dC0/dw_jk^l = dC0/da_j^l * da_j^l/dz_j^l * dz_j^l/dw_jk^l``,
   each factor with its formula and value. At the output layer ``dC0/da_j^L``
   is the loss's derivative (``2 (a_j^L - y_j)``); at a hidden layer it is the
   article's sum over the next layer's nodes,
   ``dC0/da_j^l = sum_m dC0/da_m^(l+1) * g'_(l+1)(z_m^(l+1)) * w_mj^(l+1)``,
   term by term.
4. With several samples, each sample's value and their average,
   ``dC/dw = 1/N sum_i dC_i/dw``.
5. The gradient-descent update ``new = old - lr * gradient``.
6. A check: the same number from the vectorised backward pass
   (:meth:`Network.gradients`) and from central finite differences.

Naming layers and weights
-------------------------
As in the article, the output layer is ``L``, the one before it ``L-1``, and
so on; the input layer of a network with ``n`` weight layers is ``L-n``
(``a^(L-n)`` is the input ``x``). A layer may also be given by its number, the
1-based index of the weight layers: layer ``l`` is ``net.layers[l - 1]``, so
for ``sizes=[3, 3, 2]`` layer 2 is ``L`` and layer 1 is ``L-1``. Nodes are
numbered from 0, as in the article; ``w_jk^l`` is ``net.layers[l - 1].W[j, k]``
(``j`` in layer ``l``, ``k`` in the layer before). A bias ``b_j^l`` is named
with ``k = "b"``: ``"L,1,b"``; for it ``dz_j/db_j = 1``.

Deep networks: the recursion
----------------------------
Written out, the hidden-layer sum nests one sum per layer above ``l``, and its
numbers multiply out exponentially. The explanation keeps it linear: every
layer above ``l`` is listed once in ``upstream``, each of its nodes with its
own ``dC0/da`` and that value's derivation (the loss's derivative at ``L``, a
sum over the next layer below it); the sums then use those values as already
computed quantities. The symbolic ``expanded`` equation shows the whole
nesting, as the article's "putting it all together".

Softmax and the fused outputs
-----------------------------
Softmax couples its nodes: every ``a_m`` depends on every ``z_j``, so there is
no single factor ``da_j/dz_j``. For a softmax layer the first two factors are
replaced by their combined value, the Jacobian-vector product

    dC0/dz_j = sum_m dC0/da_m * da_m/dz_j,     da_m/dz_j = a_m (delta_mj - a_j),

shown term by term, and the chain rule reads ``dC0/dw_jk = dC0/dz_j * dz_j/dw_jk``.
When the network uses a fused output (softmax with cross-entropy, sigmoid with
binary cross-entropy; see :data:`backprop.core.losses.FUSED_OUTPUTS`), the
explanation follows the network: ``dC0/dz_j^L`` is the shortcut's formula
(``a_j sum_m y_m - y_j``, ``(a_j - y_j)/n``) and the loss is computed from
``z``, so the numbers are the ones :meth:`Network.gradients` uses.

Every value is computed by the library's own functions (the loss's and the
activation's derivatives on the forward pass's ``z`` and ``a``), and every
product and sum from the values shown, so ``chain_rule`` is exactly the product
of the printed factors; ``backprop`` and ``finite_difference`` are computed
independently. Renderers for the terminal, Markdown, LaTeX and JSON are in
:mod:`backprop.explain.render`.
"""

from .build import MAX_LAYERS, explain, random_samples
from .data import (Explanation, LayerValues, Quantity, SampleExplanation, Sum, Term, Update, UpstreamLayer,
                   WeightRef, parse_weight, to_dict)
from .formulas import Arg, Formula
from .notation import Math
from ..gradcheck import layer_name

__all__ = ["explain", "random_samples", "parse_weight", "to_dict", "WeightRef", "Explanation",
           "SampleExplanation", "Quantity", "Sum", "Term", "LayerValues", "UpstreamLayer", "Update",
           "Formula", "Arg", "Math", "MAX_LAYERS", "layer_name"]

"""explain and gradcheck on a network with dropout: the masks are fixed to ones, and said so."""

import numpy as np

import backprop as bp
from backprop.explain import explain


def test_explain_and_gradcheck_fix_the_mask_and_say_so():
    kw = dict(activation="tanh", output_activation="sigmoid", loss="sse", seed=3)
    dropped = bp.Network.from_sizes([3, 4, 2], dropout=0.5, input_dropout=0.2, **kw)
    plain = bp.Network.from_sizes([3, 4, 2], **kw)
    X = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    e, f = explain(dropped, X, Y, "L-1,1,2"), explain(plain, X, Y, "L-1,1,2")
    assert e.backprop == f.backprop and e.chain_rule == f.chain_rule
    assert any("dropout" in note and "inactive" in note for note in e.notes)
    assert not any("dropout" in note for note in f.notes)
    assert bp.gradcheck(dropped, X, Y).passed

"""backprop: feed-forward networks trained by explicit, layer-by-layer backpropagation.

>>> import backprop as bp
>>> net = bp.Network.from_sizes([4, 5, 3], activation="tanh", output_activation="sigmoid",
...                             loss="sse", bias=True, seed=0, dtype="float64")
"""

from ._version import __version__  # noqa: E402,F401  (one place, imported by the modules too)

from .core import *  # noqa: F401,F403  (the public API of the engine)
from .core import __all__ as _core_all

from .model import Model, load, save  # noqa: E402
from .gradcheck import gradcheck, GradcheckResult  # noqa: E402

__all__ = [*_core_all, "Model", "load", "save", "gradcheck", "GradcheckResult"]

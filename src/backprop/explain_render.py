"""The renderers of an explanation; they live in :mod:`backprop.explain.render` now."""

from .explain.render import *  # noqa: F401,F403
from .explain.render import __all__  # noqa: F401

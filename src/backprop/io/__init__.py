"""Files in and out, safely: regular-file reads, atomic writes, and the model metadata schema.

:mod:`.reading`
    :func:`open_regular`: open a file for reading only if it is a regular
    file (never a FIFO, device, socket or folder), without blocking.
:mod:`.atomic`
    :func:`write_atomic`: the one way the project writes a file (temporary
    file in the same folder, flush, fsync, rename), and
    :func:`check_destination`, the checks made before long work.
:mod:`.schema`
    :func:`check_model_config`: every field of a model file's metadata,
    checked at load time.
:mod:`.nesting`
    :func:`check_nesting`: the nesting depth of JSON or TOML text, measured
    before a recursive parser sees it.
"""

from .atomic import check_destination, write_atomic
from .nesting import MAX_DEPTH, check_nesting, nesting_depth
from .reading import check_regular, open_regular, read_regular_bytes

__all__ = ["check_destination", "write_atomic", "open_regular", "read_regular_bytes", "check_regular",
           "check_nesting", "nesting_depth", "MAX_DEPTH"]

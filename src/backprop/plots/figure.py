"""What every plot shares: constants, a new Agg figure, an atomic PNG write."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._version import __version__
from ..core.training import TASKS  # noqa: F401  (the one list of tasks, re-exported by backprop.plots)
from ..io.atomic import write_atomic

HISTORY_FILE = "history.json"
"""The name under which ``backprop train --plots DIR`` saves the history."""

METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "r2", "val_r2", "mae", "val_mae",
           "lr", "seconds")
"""The numeric per-epoch keys of a history; other keys are kept but not checked."""

_DPI = 120
_FIGSIZE = (6.4, 4.2)
_LOG_SCALE_DECADES = 2  # a loss range wider than this many decades is drawn on a log axis
_TITLE_WIDTH = 70  # characters on a title line before it wraps (the figure is 6.4 in wide)
_TRAIN_STYLE = {"color": "C0", "label": "train"}
_VAL_STYLE = {"color": "C1", "label": "validation"}

# ---------------------------------------------------------------------------
# figures and files
# ---------------------------------------------------------------------------

def _new_figure(figsize=_FIGSIZE) -> tuple[Figure, object]:
    fig = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)  # draw with Agg, whatever backend pyplot may have chosen
    return fig, fig.add_subplot()


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    if path.parent != Path("."):
        _make_dir(path.parent)
    # One atomic writer for every file the project writes.
    write_atomic(path, lambda fh: fig.savefig(fh, format="png", metadata={"Software": f"backprop {__version__}"}))
    return path


def _make_dir(directory) -> Path:
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"cannot write plots to {str(directory)!r}: it exists and is not a directory") from None
    except OSError as exc:
        raise OSError(f"cannot create the plot directory {str(directory)!r}: {exc.strerror or exc}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write plots to {str(directory)!r}: permission denied")
    return directory

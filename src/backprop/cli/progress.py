"""Training progress, as a :class:`backprop.Callback`: a live bar on a terminal, plain lines elsewhere.

On a terminal, one bar runs over every batch of every epoch, with the epoch,
the running loss, the last validation scores and the time left; its columns
fit in 80 characters. Without a terminal (stderr sent to a file, ``nohup``, a
CI log) a bar would be drawn only at the end, so one plain line is written
and flushed per epoch instead, and, in an epoch longer than
:data:`LINE_EVERY_SECONDS`, one line every that many seconds.
"""

from __future__ import annotations

import math
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ..core.training import Callback

LINE_EVERY_SECONDS = 10.0
_SHOWN = ("val_loss", "val_accuracy", "val_r2", "val_mae")


def _scores(record: dict, mae_scale: float = 1.0) -> str:
    return "  ".join(f"{key} {record[key] * (mae_scale if key == 'val_mae' else 1):.4g}"
                     for key in _SHOWN if key in record)


class TrainingProgress(Callback):
    """Progress on ``console``: a bar when it is a terminal, else one flushed line per epoch."""

    def __init__(self, console: Console, mae_scale: float = 1.0):
        self.console = console
        # A regressor learns standardised targets; its MAE is shown in the target's units.
        self.mae_scale = mae_scale
        self.live = console.is_terminal
        self.progress = None
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]{task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(bar_width=16),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[val]}"),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
        self.task = None
        self.n_batches = 1
        self.epochs = 1
        self.every = 1
        self.last_line = 0.0

    def on_train_begin(self, info):
        self.n_batches = info["n_batches"]
        self.epochs = info["epochs"]
        # About a hundred redraws per epoch at most: the bar must not cost training time.
        self.every = max(1, math.ceil(self.n_batches / 100))
        self.last_line = time.monotonic()
        if self.live:
            self.progress.start()
            self.task = self.progress.add_task("train", total=info["epochs"] * self.n_batches,
                                               epoch=1, epochs=info["epochs"], loss="-", val="")

    def on_batch_end(self, epoch, batch, loss):
        if self.live:
            if batch % self.every == 0 or batch == self.n_batches:
                self.progress.update(self.task, completed=(epoch - 1) * self.n_batches + batch,
                                     epoch=epoch, loss=f"{loss:.4f}")
        elif batch % self.every == 0 and time.monotonic() - self.last_line >= LINE_EVERY_SECONDS:
            self._line(f"epoch {epoch}/{self.epochs}  batch {batch}/{self.n_batches}  loss {loss:.4f}")

    def on_epoch_end(self, epoch, record):
        if self.live:
            # Short labels, so that the line fits in 80 columns with the time left.
            short = {"val_loss": "val", "val_accuracy": "acc", "val_r2": "r2"}
            parts = [f"{label} {record[key]:.3f}" for key, label in short.items() if key in record]
            self.progress.update(self.task, val=" ".join(parts))
        else:
            line = f"epoch {epoch}/{self.epochs}  loss {record['loss']:.4g}"
            scores = _scores(record, self.mae_scale)
            self._line(line + (f"  {scores}" if scores else "") + f"  {record.get('seconds', 0.0):.1f} s elapsed")

    def _line(self, text: str) -> None:
        file = self.console.file
        file.write(text + "\n")
        file.flush()
        self.last_line = time.monotonic()

    def on_train_end(self, history):
        if self.live:
            # Early stopping ends before the last epoch: fill the bar so it reads as finished.
            self.progress.update(self.task, completed=self.progress.tasks[0].total)
            self.progress.stop()

    def close(self):
        """Stop the live display after an error."""
        if self.live:
            self.progress.stop()

"""A live progress bar for training, as a :class:`backprop.Callback`."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..core.training import Callback


class TrainingProgress(Callback):
    """One bar over every batch of every epoch, with the epoch, running loss, last validation score and ETA."""

    def __init__(self, console: Console):
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[val]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None
        self.n_batches = 1
        self.every = 1

    def on_train_begin(self, info):
        self.n_batches = info["n_batches"]
        # About a hundred redraws per epoch at most: the bar must not cost training time.
        self.every = max(1, math.ceil(self.n_batches / 100))
        self.progress.start()
        self.task = self.progress.add_task("train", total=info["epochs"] * self.n_batches,
                                           epoch=1, epochs=info["epochs"], loss="-", val="")

    def on_batch_end(self, epoch, batch, loss):
        if batch % self.every == 0 or batch == self.n_batches:
            self.progress.update(self.task, completed=(epoch - 1) * self.n_batches + batch,
                                 epoch=epoch, loss=f"{loss:.4f}")

    def on_epoch_end(self, epoch, record):
        parts = [f"{key} {record[key]:.4f}" for key in ("val_loss", "val_accuracy", "val_r2") if key in record]
        self.progress.update(self.task, val="  ".join(parts))

    def on_train_end(self, history):
        # Early stopping ends before the last epoch: fill the bar so it reads as finished.
        self.progress.update(self.task, completed=self.progress.tasks[0].total)
        self.progress.stop()

    def close(self):
        """Stop the live display after an error."""
        self.progress.stop()

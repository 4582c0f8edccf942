"""``backprop train --refit-all``: train the final model on every row, as papers report.

Settings are chosen on a validation split; the model a paper reports is then
trained again on all the data with those settings (for MNIST: all 60,000
training images, the training and validation splits together). Without a
validation split there is no signal to stop on, so:

- without early stopping, ``--refit-all`` trains once, on every row, for
  ``--epochs`` (the recipe's, or the flag's);
- with early stopping (or the automatic epoch budget, which uses it), the run
  first trains on the training split with early stopping to find the best
  epoch, then trains a fresh model, from the same seed, on every row for
  exactly that many epochs. That second run is a run of its own: its options
  (early stopping off, the chosen epochs) are what a checkpoint keeps, so
  ``--resume`` finishes the refit.

The model file records ``refit_all`` with the training options, and a
``refit`` record (rows, epochs, and how the epochs were chosen);
``backprop evaluate MODEL --split validation`` refuses such a model, since it
has trained on those rows.
"""

from __future__ import annotations

__all__ = ["needs_search", "refit_options", "refit_record", "refit_reason", "REFUSE_VALIDATION"]

REFUSE_VALIDATION = ("was trained with --refit-all on every row, the validation split included, so its "
                     "validation score is not a held-out score")


def needs_search(options: dict) -> bool:
    """Whether ``--refit-all`` must first find the epoch count on the validation split."""
    return bool(options.get("refit_all")) and bool(options.get("early_stopping") or options.get("auto_epochs"))


def refit_options(options: dict, history, n_train: int, seconds: float) -> tuple[dict, dict]:
    """The options of the refit after the search, and what the search found.

    The refit keeps every option but trains, without early stopping, for the
    best epoch of the search (the epoch of lowest validation loss); a cosine
    schedule then anneals over those epochs.
    """
    best = history.best_epoch or len(history)
    record = history.epochs[best - 1]
    found = {"chosen_by": "early stopping on the validation split", "best_epoch": best,
             "search_epochs_run": len(history), "search_rows": n_train,
             "search_seconds": round(seconds, 3),
             "val_loss": record.get("val_loss")}
    if "val_accuracy" in record:
        found["val_accuracy"] = record["val_accuracy"]
    found["message"] = (f"--refit-all: the validation split chose {best} epoch{'s' * (best != 1)} "
                        f"(the lowest val_loss, {record.get('val_loss', float('nan')):.4g}, at epoch {best} of {len(history)}); "
                        f"now training a new model on every row for {best} epoch{'s' * (best != 1)}")
    refit = {**options, "early_stopping": False, "auto_epochs": False, "epochs": best}
    return refit, found


def refit_reason(record: dict) -> str:
    """How a ``--refit-all`` run ended, for the summary and ``--json``'s ``stop``."""
    chosen = (f"the best epoch of the validation split's run" if "best_epoch" in record
              else "--epochs, without early stopping")
    return f"refit on all {record['rows']} rows for {record['epochs']} epochs ({chosen})"


def refit_record(options: dict, found: dict | None, n_rows: int, epochs_run: int) -> dict | None:
    """What the model file and ``--json`` say about a ``--refit-all`` run (None for other runs)."""
    if not options.get("refit_all"):
        return None
    record = {"rows": n_rows, "epochs": epochs_run}
    if found:
        record.update({k: v for k, v in found.items() if k != "message"})
    else:
        record["chosen_by"] = "--epochs (no early stopping)"
    return record

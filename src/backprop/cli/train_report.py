"""``backprop train``: what it writes and shows at the end (plots and the summary)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.table import Table

from ..io.atomic import write_atomic
from ..model import Model
from . import CLIError
from .common import stdout


def _write_plots(folder: Path, history: dict, model: Model, data) -> list[Path]:
    from ..plots import write_plots

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create the plot folder {folder}: {exc.strerror}") from None
    write_atomic(folder / "history.json", json.dumps(history, indent=2))
    kwargs = {}
    if model.task == "classification" and data.n_features == 2:
        kwargs = dict(predict_proba=model.predict_proba, X=data.X, y=data.y, classes=model.classes)
    elif model.task == "regression" and data.n_features == 1:
        kwargs = dict(predict=model.predict, X=data.X, y=data.y)
    if kwargs and data.feature_names is not None:
        kwargs["feature_names"] = list(data.feature_names)
    return [folder / "history.json", *write_plots(history, folder, **kwargs)]


def _summary(model, history, final, seconds, data_name, train, validation, written, stop) -> None:
    table = Table(title="backprop train", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("data", f"{data_name}: {train.n_samples} training, "
                          f"{0 if validation is None else validation.n_samples} validation samples")
    table.add_row("network", f"{' - '.join(map(str, model.network.sizes))}  "
                             f"({model.network.n_parameters:,} parameters, "
                             f"{', '.join(l.activation.name for l in model.network.layers)}; "
                             f"loss {model.network.loss_fn.name})")
    engine = (f" on the compiled pass (loaded in {history.compile_seconds:.2f} s)"
              if history.engine == "compiled" else "")
    table.add_row("epochs", f"{len(history)} in {seconds:.1f} s{engine}; {stop['reason']}")
    for key, value in final.items():
        if key in ("epoch", "seconds"):
            continue
        table.add_row(key, f"{value:.4f}" if key != "lr" else f"{value:g}")
    for key, value in written.items():
        table.add_row(key, value if isinstance(value, str) else ", ".join(value))
    stdout.print(table)


def _save_or_rescue(model, out: Path, checkpoint_dir) -> None:
    """Save the trained model; if that fails now, after training, keep it elsewhere and say where."""
    try:
        model.save(out)
        return
    except OSError as exc:
        failure = str(exc)
    import tempfile

    tried = []
    for folder in (Path(tempfile.gettempdir()), Path.home()):
        rescue = folder / f"backprop-rescued-{os.getpid()}-{out.name or 'model.safetensors'}"
        try:
            model.save(rescue)
        except (OSError, ValueError) as exc:
            tried.append(f"{rescue}: {exc}")
            continue
        raise CLIError(f"{failure}; the trained model was kept in {rescue} instead")
    kept = f"; the last checkpoint is in {checkpoint_dir}" if checkpoint_dir else ""
    raise CLIError(f"{failure}; the model could not be kept elsewhere either ({'; '.join(tried)}){kept}")

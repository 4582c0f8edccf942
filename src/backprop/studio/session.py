"""One studio session: the settings, the data, the model and its training run.

Every request goes through a :class:`Session`. Changing the settings builds
the new data and model first and swaps them in only when that worked, so a bad
setting changes nothing. Reading the network (pictures, explanations, a model
download) holds the training between two batches.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

from .._version import __version__
from ..data import Dataset, load_csv
from ..model import load, save
from . import maths
from .build import StudioData, build_model, dense_layers, load_data
from .pictures import line_picture, network_view, plane_pictures
from .settings import UPLOAD, Settings, options, parse_settings
from .trainer import Trainer

__all__ = ["Session", "UPLOAD_LIMIT"]

UPLOAD_LIMIT = 20 * 1024 * 1024  # bytes of a CSV or model file
_CSV_ROWS = 100_000


class Session:
    """The state behind one studio page."""

    def __init__(self, settings: Settings | None = None):
        self._swap = threading.RLock()
        self.version = 0          # grows at every change the page should see
        self.generation = 0       # grows at every new run (reset, settings, model loaded)
        self.uploaded: Dataset | None = None
        self.message: str | None = None
        self._cache: tuple[int, dict] | None = None
        settings = settings or Settings()
        data = load_data(settings)
        self._install(settings, data, build_model(settings, data))

    # -- runs --------------------------------------------------------------------

    def _changed(self) -> None:
        self.version += 1

    def _install(self, settings: Settings, data: StudioData, model) -> None:
        with self._swap:
            old = getattr(self, "trainer", None)
            if old is not None:
                old.stop()
            self.settings, self.data, self.model = settings, data, model
            self.trainer = Trainer(model, data, settings, on_change=self._changed)
            self.trainer.set_speed(getattr(self, "_speed", self.trainer.speed))
            self.generation += 1
            self._changed()
            self.trainer.start()

    def configure(self, raw: dict) -> None:
        """Apply new settings (checked, built, then swapped in); raise ValueError naming a bad one."""
        settings = parse_settings(raw, uploaded=self.uploaded is not None)
        data = load_data(settings, self.uploaded)
        self._install(settings, data, build_model(settings, data))
        self.message = None

    def reset(self) -> None:
        """Start again from the same settings (the same seed gives the same initial weights)."""
        self._install(self.settings, self.data, build_model(self.settings, self.data))

    def control(self, action: str, value=None) -> None:
        """``play``, ``pause``, ``step`` (one batch), ``reset``, or ``speed`` with ``value`` batches a second."""
        if action == "reset":
            return self.reset()
        if action == "speed":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100_000:
                raise ValueError(f"speed must be a number of batches a second from 0 (no limit) to 100000; "
                                 f"got {value!r}")
            self.trainer.set_speed(value)
            self._speed = value
            return self._changed()
        if self.trainer.finished and action in ("play", "step"):
            raise ValueError("this run has ended" + (f" ({self.trainer.error})" if self.trainer.error else "") +
                             "; press reset to start again")
        handlers = {"play": self.trainer.play, "pause": self.trainer.pause, "step": self.trainer.step}
        if action not in handlers:
            raise ValueError(f"unknown action {action!r}; expected play, pause, step, reset or speed")
        handlers[action]()
        self._changed()

    def close(self) -> None:
        self.trainer.stop()

    # -- what the page reads --------------------------------------------------------

    def state(self) -> dict:
        """The settings, the choices, the data and the network's shape."""
        with self._swap:
            net = self.model.network
            return {"settings": self.settings.to_dict(), "options": options(), "data": self.data.describe(),
                    "uploaded": None if self.uploaded is None else self.uploaded.name,
                    "network": {"sizes": net.sizes, "loss": net.loss_fn.name, "task": self.model.task,
                                "activations": [layer.activation.name for _, layer in dense_layers(net)],
                                "bias": all(layer.bias for _, layer in dense_layers(net))},
                    "generation": self.generation, "version": __version__, "message": self.message}

    def snapshot(self) -> dict:
        """The live part of the page: status, new curve points, weights, pictures (cached per version)."""
        with self._swap:
            trainer, version = self.trainer, self.version
            cached = self._cache
            if cached is not None and cached[0] == version:
                return cached[1]
            with trainer.hold() as model:
                version = self.version
                snap = {"version": version, "generation": self.generation, "status": trainer.status(),
                        "records": list(trainer.records), "network": network_view(model, trainer.gradients)}
                if self.data.points is not None:
                    snap["plane"] = plane_pictures(model, self.data)
                elif self.data.line:
                    snap["line"] = line_picture(model, self.data)
            self._cache = (version, snap)
            return snap

    # -- the maths -------------------------------------------------------------------

    def explain(self, weight: str, samples: str, lr: float | None = None, fmt: str = "html") -> dict | str:
        """The explanation of ``weight`` on training rows ``samples``: HTML and the key numbers, or text."""
        with self._swap:
            rows = maths.parse_samples(samples, self.data.train.n_samples)
            with self.trainer.hold() as model:
                e = maths.explanation(model, self.data, weight, rows, lr if lr is not None else self.settings.lr)
        if fmt in ("markdown", "latex"):
            return maths.explanation_text(e, fmt)
        return {"weight": str(e.weight), "layer": e.weight.layer, "j": e.weight.j, "k": e.weight.k,
                "rows": rows, "value": e.value, "chain_rule": e.chain_rule, "backprop": e.backprop,
                "finite_difference": e.finite_difference, "relative_difference": e.relative_difference,
                "html": maths.markdown_html(maths.explanation_text(e, "markdown"))}

    def node(self, layer: int, j: int, samples: str) -> dict:
        with self._swap:
            rows = maths.parse_samples(samples, self.data.train.n_samples)
            with self.trainer.hold() as model:
                return maths.node_values(model, self.data, layer, j, rows)

    # -- files -------------------------------------------------------------------------

    def model_bytes(self) -> bytes:
        """The model as ``backprop train --out`` writes it (safetensors), with the page's settings."""
        with self._swap, self.trainer.hold() as model, tempfile.TemporaryDirectory() as folder:
            records = self.trainer.records
            model.metadata.update({
                "backprop_version": __version__,
                "training": {**self.settings.to_dict(), "dataset": self.data.name, "source": "backprop studio",
                             "epochs_run": len(records)},
                "final": records[-1] if records else {},
            })
            path = Path(folder) / "model.safetensors"
            save(model, path)
            return path.read_bytes()

    def load_model(self, data: bytes) -> None:
        """Continue from an uploaded model file, if it fits the current data set; else change nothing."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.safetensors"
            path.write_bytes(data)
            try:
                model = load(path)
            except (ValueError, OSError) as exc:
                raise ValueError(_hide(str(exc), str(path), "the model file")) from None
        with self._swap:
            current = self.data
            if model.network.sizes[0] != current.train.n_features:
                raise ValueError(f"the model takes {model.network.sizes[0]} inputs but {current.name!r} has "
                                 f"{current.train.n_features} features; choose the data set it was trained on")
            if model.task != current.task or (model.classes is not None and model.classes != current.classes):
                raise ValueError(f"the model is a {model.task} model for classes {model.classes}, but "
                                 f"{current.name!r} is {current.task} with classes {current.classes}")
            net = model.network
            dense = [layer for _, layer in dense_layers(net)]
            settings = Settings(**{**self.settings.to_dict(),
                                   "hidden": net.sizes[1:-1], "activations": [l.activation.name for l in dense[:-1]],
                                   "output_activation": dense[-1].activation.name, "loss": net.loss_fn.name,
                                   "bias": all(l.bias for l in dense)})
            self._install(settings, current, model)
            self.message = "model loaded; training goes on from its weights"

    def upload_csv(self, data: bytes, filename: str, target: str) -> None:
        """Read an uploaded CSV with :func:`backprop.data.load_csv` and train on it; a bad file changes nothing."""
        name = _safe_name(filename)
        column: str | int = target.strip() if target and target.strip() else -1
        if isinstance(column, str) and column.lstrip("-").isdigit():
            column = int(column)
        with tempfile.TemporaryDirectory() as folder:
            # The file keeps its (cleaned) name in a private folder, so the reader's messages name it.
            path = Path(folder) / name
            path.write_bytes(data)
            try:
                dataset = load_csv(path, column)
            except (ValueError, TypeError, OSError) as exc:
                raise ValueError(_hide(str(exc), str(path), name)) from None
        if dataset.n_samples > _CSV_ROWS:
            raise ValueError(f"{name} has {dataset.n_samples} rows; the studio takes at most {_CSV_ROWS}")
        dataset.name = name
        previous = self.uploaded
        self.uploaded = dataset
        try:
            self.configure({**self.settings.to_dict(), "dataset": UPLOAD})
        except Exception:
            self.uploaded = previous
            raise


def _safe_name(filename: str | None) -> str:
    """The uploaded file's own name, without folders or unusual characters (it is shown, never opened)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(filename or "")).name)[:80].lstrip(".")
    return name or "upload.csv"


def _hide(message: str, path: str, shown: str) -> str:
    """A loader's message with the server's temporary path replaced by what the user knows."""
    folder = os.path.dirname(str(path))
    return message.replace(str(path), shown).replace(folder + os.sep, "").replace(folder, "")

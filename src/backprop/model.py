"""A trained network with what prediction needs: preprocessing, class labels, target scaling.

The network itself (:class:`backprop.Network`) maps numbers to numbers. A
:class:`Model` wraps it for data as users have it: raw features, class labels
that may be strings, regression targets in their own units. It fits the
preprocessing on training data only and stores it, so ``predict`` applies the
same transformation; it is what ``backprop train`` saves and ``bp.load`` returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .core import Network
from .core.metrics import confusion_matrix, precision_recall, predicted_classes
from .core.training import TASKS, History, evaluate, split_validation
from .core.validation import check_matrix, check_rng, check_sample_weight
from .data.columns import table_inputs
from .data.preprocessing import get_preprocessor
from .modelfile import read_model, write_model

__all__ = ["Model", "save", "load"]


class Model:
    """A network plus preprocessing, class labels and (for regressors) target scaling.

    Parameters
    ----------
    network : Network
    task : {"classification", "regression"}
    classes : sequence, optional
        The class labels in output order (classifiers). A network with one
        output and two classes is a binary classifier (sigmoid output).
    preprocessor : object, optional
        A fitted scaler from :mod:`backprop.data.preprocessing`, applied to
        features before the network.
    target_scaling : dict, optional
        ``{"mean": [...], "scale": [...]}``: regressors learn ``(y - mean) / scale``.
    metadata : dict, optional
        Plain data kept with the model (training settings, final metrics).
    """

    def __init__(self, network: Network, *, task: str, classes: Sequence | None = None,
                 preprocessor=None, target_scaling: dict | None = None, metadata: dict | None = None):
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        n_out = network.sizes[-1]
        if task == "classification":
            if classes is None:
                classes = list(range(max(n_out, 2)))
            classes = [_plain(c) for c in classes]
            if len(set(classes)) != len(classes):
                raise ValueError(f"class labels must be distinct; got {classes}")
            if not (n_out == len(classes) or (n_out == 1 and len(classes) == 2)):
                raise ValueError(f"a network with {n_out} outputs cannot classify {len(classes)} classes")
        else:
            classes = None
        self.network = network
        self.task = task
        self.classes = classes
        self.preprocessor = preprocessor
        self.target_scaling = target_scaling
        self.metadata = dict(metadata or {})

    # -- construction ----------------------------------------------------------

    @classmethod
    def build(cls, n_features: int, hidden: Sequence[int], *, task: str, classes=None,
              n_targets: int = 1, activation="relu", output_activation=None, loss=None,
              bias: bool = True, seed=None, dtype="float64", init=None,
              preprocessing: str = "standardize", dropout=0.0, input_dropout: float = 0.0) -> "Model":
        """A new model whose output layer and loss suit the task.

        Classifiers get one output per class with softmax and cross-entropy;
        regressors get ``n_targets`` identity outputs and mean squared error,
        unless ``output_activation`` and ``loss`` say otherwise. With a
        single-output activation choice of ``"sigmoid"`` and two classes, one
        output node is used. ``dropout`` (one rate, or one per hidden layer)
        puts a :class:`~backprop.Dropout` after the hidden layers, ``input_dropout``
        one on the inputs.
        """
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        if task == "classification":
            classes = [_plain(c) for c in classes] if classes is not None else None
            if not classes or len(classes) < 2:
                raise ValueError(f"a classifier needs at least two classes; got {classes}")
            binary_sigmoid = len(classes) == 2 and output_activation == "sigmoid" and \
                loss in (None, "binary_cross_entropy")
            n_out = 1 if binary_sigmoid else len(classes)
            output_activation = output_activation or "softmax"
            loss = loss or ("binary_cross_entropy" if binary_sigmoid else
                            "cross_entropy" if output_activation == "softmax" else "sse")
        else:
            n_out = n_targets
            output_activation = output_activation or "identity"
            loss = loss or "mse"
        sizes = [n_features, *hidden, n_out]
        network = Network.from_sizes(sizes, activation=activation, output_activation=output_activation,
                                     loss=loss, bias=bias, seed=seed, dtype=dtype, init=init, dropout=dropout,
                                     input_dropout=input_dropout)
        return cls(network, task=task, classes=classes, preprocessor=get_preprocessor(preprocessing))

    # -- targets -----------------------------------------------------------------

    def encode(self, y) -> np.ndarray:
        """Targets as the network learns them: one-hot rows (or 0/1) for classes, scaled values otherwise."""
        y = np.asarray(y)
        if self.task == "classification":
            index = {c: i for i, c in enumerate(self.classes)}
            labels = y.reshape(-1)
            try:
                idx = np.array([index[_plain(v)] for v in labels], dtype=np.int64)
            except KeyError:
                unknown = sorted({str(_plain(v)) for v in labels if _plain(v) not in index})
                raise ValueError(f"labels {unknown[:5]} are not among the model's classes {self.classes}") from None
            if self.network.sizes[-1] == 1:
                return idx.reshape(-1, 1).astype(self.network.dtype)
            return np.eye(len(self.classes), dtype=self.network.dtype)[idx]
        Y = _finite_float64(y.reshape(-1, 1) if y.ndim == 1 else y, "y")
        if self.target_scaling is not None:
            with np.errstate(over="ignore"):
                Y = (Y - np.asarray(self.target_scaling["mean"])) / np.asarray(self.target_scaling["scale"])
        return _cast(Y, self.network.dtype, "y", "" if self.target_scaling is None else " after target scaling")

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Labels (classifiers) or values in the targets' units (regressors)."""
        if self.task == "classification":
            return np.asarray(self.classes, dtype=object if _mixed(self.classes) else None)[predicted_classes(outputs)]
        values = outputs.astype(np.float64)
        if self.target_scaling is not None:
            values = values * np.asarray(self.target_scaling["scale"]) + np.asarray(self.target_scaling["mean"])
        return values[:, 0] if values.shape[1] == 1 else values

    def transform(self, X) -> np.ndarray:
        """Checked features after preprocessing, ready for the network.

        The features are checked and scaled in float64 and only then cast to
        the network's dtype, so a value too large for float32 is named as
        such instead of turning into infinity.
        """
        X = self._check_features(table_inputs(X, self.metadata))
        if self.preprocessor is not None:
            X = self.preprocessor.transform(X)
        scaled = self.preprocessor is not None and self.preprocessor.kind != "none"
        return _cast(X, self.network.dtype, "X", " after preprocessing" if scaled else "")

    def _check_features(self, X) -> np.ndarray:
        """``X`` as a finite float64 array of shape (n_samples, n_features)."""
        n_in = self.network.sizes[0]
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2 and shape[1] != n_in:
            raise ValueError(f"X has {shape[1]} features but the model expects {n_in}")
        return check_matrix(X, "X", n_in, np.dtype(np.float64), "input nodes")

    # -- training and prediction --------------------------------------------------

    def fit(self, X, y, *, validation_data=None, validation_split: float = 0.0, seed=None,
            **options) -> History:
        """Fit the preprocessing on the training samples, then train the network.

        Takes the options of :meth:`backprop.Network.fit`. A validation split is
        drawn here, before the preprocessing is fitted, so that the scaler never
        sees validation samples.

        With ``comm=`` (data-parallel training, :mod:`backprop.distributed`),
        ``X`` and ``y`` are this process's shard. A scaler fitted on one shard
        would differ from process to process, so fit it first, on the whole
        training set and the same on every process, with
        :meth:`fit_preprocessing` (``backprop train`` does); a validation split
        is then drawn from all the shards by the network's ``fit``.
        """
        rng = check_rng(seed)
        X = self._check_features(X)
        y = np.asarray(y)
        if y.ndim == 0:
            raise ValueError(f"y must hold one target per row of X; got a scalar {y.item()!r}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must be equal")
        if options.get("comm") is not None:
            if self._needs_preprocessing():
                raise ValueError("data-parallel training (comm=) gives each process only its shard, so fit "
                                 "the preprocessing first on the whole training set, the same on every "
                                 "process: model.fit_preprocessing(X_train, y_train)")
            validation_split, options["validation_split"] = 0.0, validation_split
        weights = check_sample_weight(options.pop("sample_weight", None), X.shape[0])
        if validation_data is None and validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}")
            strata = (np.unique(y.reshape(-1), return_inverse=True)[1].reshape(-1)
                      if self.task == "classification" else None)
            kept, held = split_validation(X.shape[0], validation_split, rng, strata)
            validation_data = (X[held], y[held])
            if weights is not None:
                validation_data += (weights[held],)
                weights = weights[kept]
            X, y = X[kept], y[kept]
        self.fit_preprocessing(X, y)
        Y = self.encode(y)
        if validation_data is not None:
            X_val, y_val, *w_val = validation_data
            validation_data = (self.transform(X_val), self.encode(y_val), *w_val)
        history = self.network.fit(self.transform(X), Y, validation_data=validation_data, seed=rng,
                                   task=self.task, sample_weight=weights, **options)
        _mae_in_target_units(history, self.target_scaling)
        return history

    def _needs_preprocessing(self) -> bool:
        """Whether the scaler (or a regressor's target scaling) is still to be fitted."""
        if self.preprocessor is None or self.preprocessor.kind == "none":
            return False
        return self.preprocessor.shift_ is None or (self.task == "regression" and self.target_scaling is None)

    def fit_preprocessing(self, X, y) -> None:
        """Fit the feature scaler (and a regressor's target scaling) on training data, once.

        :meth:`fit` calls it; a scaler already fitted (a resumed run, or a
        second call to ``fit``) is left as it is.
        """
        y = np.asarray(y)
        if self.task == "regression" and self.target_scaling is None and self.preprocessor is not None \
                and self.preprocessor.kind != "none":
            mean, scale = _mean_and_std(_finite_float64(y.reshape(-1, 1) if y.ndim == 1 else y, "y"))
            self.target_scaling = {"mean": mean.tolist(), "scale": np.where(scale > 0, scale, 1.0).tolist()}
        if self.preprocessor is not None and self.preprocessor.shift_ is None:
            self.preprocessor.fit(X)

    def predict_proba(self, X) -> np.ndarray:
        """The output activations for each sample (classifiers)."""
        if self.task != "classification":
            raise TypeError("predict_proba is for classifiers; this model is a regressor, use predict")
        return self.network.forward_unchecked(self.transform(X)).copy()

    def predict(self, X) -> np.ndarray:
        """Class labels (classifiers) or predicted values (regressors)."""
        return self.decode(self.network.forward_unchecked(self.transform(X)))

    def evaluate(self, X, y) -> dict:
        """Loss and metrics on labelled data, as plain data.

        Classifiers: ``loss``, ``accuracy``, ``precision`` and ``recall`` per
        class, ``confusion_matrix`` (rows true, columns predicted) and
        ``classes``. Regressors: ``loss``, ``r2``, ``mae`` (in scaled units for
        ``loss``, in the targets' units for ``mae``).
        """
        Xt, Y = self.transform(X), self.encode(y)
        Y = self.network.check_Y(Y, Xt.shape[0])
        result = evaluate(self.network, Xt, Y, self.task)
        result["n_samples"] = int(Xt.shape[0])
        if self.task == "classification":
            outputs = self.network.forward_unchecked(Xt)
            matrix = confusion_matrix(predicted_classes(Y), predicted_classes(outputs), len(self.classes))
            precision, recall = precision_recall(matrix)
            result.update(classes=list(self.classes), precision=precision.tolist(), recall=recall.tolist(),
                          confusion_matrix=matrix.tolist())
        else:
            predictions = self.predict(X)
            truth = np.asarray(y, dtype=np.float64)
            result["mae"] = float(np.mean(np.abs(predictions - truth)))
        return result

    # -- files ----------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the model as a safetensors file (see :mod:`backprop.modelfile`)."""
        write_model(path, self.config(), self.network)

    def config(self) -> dict:
        """Everything but the weights, as plain data."""
        return {
            "network": self.network.config(),
            "task": self.task,
            "classes": self.classes,
            "preprocessing": None if self.preprocessor is None else self.preprocessor.to_dict(),
            "target_scaling": self.target_scaling,
            "metadata": self.metadata,
        }

    @classmethod
    def from_config(cls, config: dict, network: Network) -> "Model":
        pre = config.get("preprocessing")
        return cls(network, task=config["task"], classes=config.get("classes"),
                   preprocessor=None if pre is None else get_preprocessor(pre),
                   target_scaling=config.get("target_scaling"), metadata=config.get("metadata"))

    def __repr__(self) -> str:
        what = f"classes={self.classes}" if self.task == "classification" else "regression"
        return f"Model({self.network!r}, {what})"


def _mae_in_target_units(history: History, target_scaling: dict | None) -> None:
    """The network learns standardised targets; its MAE is reported in the target's own units."""
    if target_scaling is None or len(target_scaling["scale"]) != 1:
        return
    scale = float(target_scaling["scale"][0])
    for record in history.epochs:
        for key in ("mae", "val_mae"):
            if record.get(key) is not None:
                record[key] = record[key] * scale


def _plain(value):
    """A label as a plain Python value (NumPy scalars become int, float or str)."""
    return value.item() if isinstance(value, np.generic) else value


def _mixed(values) -> bool:
    return len({type(v) for v in values}) > 1


def _finite_float64(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr`` as float64, or a ValueError naming the first entry that is not a finite number."""
    arr = np.asarray(arr)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers; got an array of dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real; got complex values")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one sample")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{name}{list(where)} is {arr[where]}; expected finite numbers")
    return arr


def _mean_and_std(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and population std of finite float64 ``Y``.

    Targets near the float64 limit (1e300) overflow the sum of squares; they
    are measured again in units of their largest ``|y|``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = Y.mean(axis=0), Y.std(axis=0)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        peak = np.max(np.abs(Y), axis=0)
        peak = np.where(peak > 0, peak, 1.0)
        unit = Y / peak
        mean, std = unit.mean(axis=0) * peak, unit.std(axis=0) * peak
    return mean, std


def _cast(arr: np.ndarray, dtype: np.dtype, name: str, stage: str = "") -> np.ndarray:
    """``arr`` (finite float64) in ``dtype``, or a ValueError naming the first value it cannot hold.

    Casting 1e39 to float32 gives infinity; this says so instead.
    """
    arr = np.asarray(arr)
    if arr.dtype == dtype:
        too_big = ~np.isfinite(arr)
    else:
        too_big = ~np.isfinite(arr) | (np.abs(arr) > np.finfo(dtype).max)
    if too_big.any():
        where = tuple(int(i) for i in np.argwhere(too_big)[0])
        value = arr[where]
        if np.isfinite(value):
            raise ValueError(f"{name}{list(where)}{stage} = {value:.6g} overflows {np.dtype(dtype).name} (largest "
                             f"finite value {np.finfo(dtype).max:.4g}); rescale the data or use float64")
        raise ValueError(f"{name}{list(where)}{stage} is {value}; expected finite numbers")
    return arr.astype(dtype, copy=False)


def save(model: Model | Network, path) -> Path:
    """Write ``model`` (or a bare network, saved as a regression model) to ``path``; return the path."""
    if isinstance(model, Network):
        model = Model(model, task="regression")
    return write_model(path, model.config(), model.network)


def load(path) -> Model:
    """Read a model file written by :func:`save`.

    The file is read and checked by :func:`backprop.modelfile.read_model`
    (regular files only, the metadata schema, the tensors against it, the
    checksum); it raises ``FileNotFoundError`` or ``ValueError`` naming the
    problem.
    """
    config, network = read_model(path)
    try:
        return Model.from_config(config, network)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: the model metadata is invalid ({exc})") from None

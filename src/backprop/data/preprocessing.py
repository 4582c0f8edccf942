"""Feature scaling, fitted on the training data alone.

A scaler learns one shift and one scale per column from the training set and
applies ``x' = (x - shift) / scale`` to any data after that: training,
validation, test, or a single sample at prediction time. Fitting on the
training set only keeps the validation score honest, since nothing about the
held-out samples leaks into the inputs.

The learned state is plain data (:meth:`Scaler.to_dict`), so a model file can
carry it and :func:`get_preprocessor` can rebuild the scaler from it.

A constant column has no spread to divide by; its scale is 1, so it is only
shifted (to 0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Scaler", "IdentityScaler", "Standardizer", "MinMaxScaler", "PREPROCESSORS", "get_preprocessor"]


class Scaler:
    """Base class: ``transform(X) = (X - shift_) / scale_``, per column, learned by :meth:`fit`."""

    kind: str = ""

    def __init__(self):
        self.shift_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    # Subclasses compute (shift, scale) from the training data.
    def _statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit(self, X) -> "Scaler":
        """Learn the shift and scale of each column of the training data ``X``; return ``self``.

        Raises
        ------
        ValueError
            For a column whose values spread too widely for float64 (its
            range or standard deviation would overflow), naming the column.
        """
        X = _check_X(X, "fit")
        if X.shape[0] == 0:
            raise ValueError(f"cannot fit a {self.kind} scaler on 0 samples")
        with np.errstate(over="ignore", invalid="ignore"):
            shift, scale = self._statistics(X)
        bad = ~(np.isfinite(shift) & np.isfinite(scale))
        if bad.any():
            column = int(np.argmax(bad))
            low, high = X[:, column].min(), X[:, column].max()
            raise ValueError(f"fit: column {column} ranges from {low:.6g} to {high:.6g}, too wide to "
                             f"{self.kind} in float64 (its {'range' if self.kind == 'minmax' else 'spread'} "
                             "overflows); rescale that feature first")
        self.shift_, self.scale_ = shift, scale
        return self

    @property
    def n_features(self) -> int | None:
        return None if self.shift_ is None else int(self.shift_.shape[0])

    def _check_fitted(self, X) -> np.ndarray:
        if self.shift_ is None:
            raise ValueError(f"this {self.kind} scaler is not fitted yet; call fit on the training data first")
        X = _check_X(X, "transform")
        if X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} columns but the scaler was fitted on {self.n_features}")
        return X

    def transform(self, X) -> np.ndarray:
        """Return ``(X - shift_) / scale_`` as a new float64 array.

        Raises ValueError, naming the entry, if a value lies so far outside the
        training range that its scaled value overflows float64.
        """
        X = self._check_fitted(X)
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_result((X - self.shift_) / self.scale_, X, "transform")

    def inverse_transform(self, X) -> np.ndarray:
        """Undo :meth:`transform`: return ``X * scale_ + shift_``."""
        X = self._check_fitted(X)
        with np.errstate(over="ignore", invalid="ignore"):
            return _finite_result(X * self.scale_ + self.shift_, X, "inverse_transform")

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def to_dict(self) -> dict:
        """The learned state as plain data (lists of floats), for a model file."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, state: dict) -> "Scaler":
        """Rebuild a fitted scaler from :meth:`to_dict`'s output."""
        raise NotImplementedError

    def __repr__(self) -> str:
        fitted = "unfitted" if self.shift_ is None else f"{self.n_features} features"
        return f"{type(self).__name__}({fitted})"


def _check_X(X, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{what} needs a 2-D array (n_samples, n_features); got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.iscomplexobj(X):
        raise TypeError(f"{what} needs real numbers; got dtype {X.dtype}")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{what}: X[{row}, {col}] is {X[row, col]}; expected finite numbers")
    return X


def _finite_result(result: np.ndarray, X: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(result)):
        row, col = np.argwhere(~np.isfinite(result))[0]
        raise ValueError(f"{what}: X[{row}, {col}] = {X[row, col]:.6g} lies too far outside the training "
                         "range: scaling it overflows float64")
    return result


def _vector(state: dict, key: str, kind: str) -> np.ndarray:
    if key not in state:
        raise ValueError(f"{kind} scaler state needs {key!r}; got keys {sorted(state)}")
    v = np.asarray(state[key], dtype=np.float64)
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError(f"{kind} scaler state {key!r} must be a list of finite numbers; got {state[key]!r}")
    return v


def _fitted_from(cls, state: dict, shift_key: str) -> "Scaler":
    if state.get("kind") != cls.kind:
        raise ValueError(f"expected a scaler state of kind {cls.kind!r}; got kind {state.get('kind')!r}")
    shift, scale = _vector(state, shift_key, cls.kind), _vector(state, "scale", cls.kind)
    if shift.shape != scale.shape:
        raise ValueError(f"{cls.kind} scaler state has {len(shift)} {shift_key} values but {len(scale)} scales")
    if np.any(scale <= 0):
        raise ValueError(f"{cls.kind} scaler scales must be positive; got {scale.tolist()}")
    scaler = cls()
    scaler.shift_, scaler.scale_ = shift, scale
    return scaler


class Standardizer(Scaler):
    """Standardize each column: ``x' = (x - mean) / std``, with the training mean and standard deviation.

    ``std`` is the population standard deviation (``ddof=0``), as
    scikit-learn's ``StandardScaler``. A column whose variance is zero up to
    rounding (sklearn's test: ``var <= n eps var + (n eps mean)^2``) gets
    scale 1.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
    """

    kind = "standardize"

    @property
    def mean_(self) -> np.ndarray | None:
        return self.shift_

    def _statistics(self, X):
        n, eps = X.shape[0], np.finfo(np.float64).eps
        mean, var = X.mean(axis=0), X.var(axis=0)
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        scale = np.where(constant, 1.0, np.sqrt(var))
        huge = ~(np.isfinite(mean) & np.isfinite(var))
        if huge.any():
            # Values near the float64 limit (1e300) overflow the sum of squares: those columns are
            # measured again in units of their largest |x|, where the constant test reads the same.
            peak = np.max(np.abs(X[:, huge]), axis=0)
            unit = X[:, huge] / peak
            u_mean, u_var = unit.mean(axis=0), unit.var(axis=0)
            u_constant = u_var <= n * eps * u_var + (n * u_mean * eps) ** 2
            mean[huge] = u_mean * peak
            scale[huge] = np.where(u_constant, 1.0, np.sqrt(u_var) * peak)
        return mean, scale

    def to_dict(self) -> dict:
        if self.shift_ is None:
            return {"kind": self.kind}
        return {"kind": self.kind, "mean": self.shift_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: dict) -> "Standardizer":
        return _fitted_from(cls, state, "mean")


class MinMaxScaler(Scaler):
    """Scale each column to ``[0, 1]`` on the training data: ``x' = (x - min) / (max - min)``.

    Data outside the training range maps outside ``[0, 1]``. A constant column
    (``max == min``) gets scale 1 and maps to 0.

    Attributes
    ----------
    min_, scale_ : ndarray of shape (n_features,)
    """

    kind = "minmax"

    @property
    def min_(self) -> np.ndarray | None:
        return self.shift_

    def _statistics(self, X):
        low = X.min(axis=0)
        spread = X.max(axis=0) - low
        return low, np.where(spread > 0, spread, 1.0)

    def to_dict(self) -> dict:
        if self.shift_ is None:
            return {"kind": self.kind}
        return {"kind": self.kind, "min": self.shift_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: dict) -> "MinMaxScaler":
        return _fitted_from(cls, state, "min")


class IdentityScaler(Scaler):
    """No scaling: ``transform`` returns the data unchanged (as float64). It learns nothing."""

    kind = "none"

    def _statistics(self, X):
        return np.zeros(X.shape[1]), np.ones(X.shape[1])

    def _check_fitted(self, X):
        return _check_X(X, "transform")

    def transform(self, X):
        return self._check_fitted(X).copy()

    def inverse_transform(self, X):
        return self._check_fitted(X).copy()

    def to_dict(self) -> dict:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, state: dict) -> "IdentityScaler":
        if state.get("kind") != cls.kind:
            raise ValueError(f"expected a scaler state of kind {cls.kind!r}; got kind {state.get('kind')!r}")
        return cls()


PREPROCESSORS: dict[str, type[Scaler]] = {cls.kind: cls for cls in (Standardizer, MinMaxScaler, IdentityScaler)}


def get_preprocessor(spec=None) -> Scaler:
    """Return a scaler from a name, a :meth:`Scaler.to_dict` state, an instance, or ``None``.

    Parameters
    ----------
    spec : {"standardize", "minmax", "none"}, dict, Scaler or None
        A name gives a new, unfitted scaler; a dict with fitted values gives
        the fitted scaler back; ``None`` means ``"none"``.
    """
    if spec is None:
        return IdentityScaler()
    if isinstance(spec, Scaler):
        return spec
    if isinstance(spec, dict):
        kind = spec.get("kind")
        if kind not in PREPROCESSORS:
            raise ValueError(f"unknown preprocessing kind {kind!r}; expected one of {', '.join(PREPROCESSORS)}")
        if set(spec) == {"kind"}:
            return PREPROCESSORS[kind]()
        return PREPROCESSORS[kind].from_dict(spec)
    if isinstance(spec, str):
        if spec.lower() not in PREPROCESSORS:
            raise ValueError(f"unknown preprocessing {spec!r}; expected one of {', '.join(PREPROCESSORS)}")
        return PREPROCESSORS[spec.lower()]()
    raise TypeError(f"preprocessing must be a name, a state dict, a Scaler or None; got {type(spec).__name__}")

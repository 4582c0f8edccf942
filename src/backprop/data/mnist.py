"""MNIST: the IDX file format, checksums, where the files live, and the fixed splits.

The IDX format
--------------
An IDX file is a 4-byte big-endian magic number, one 4-byte big-endian size
per dimension, then the data in C order, big-endian. The magic number is two
zero bytes, a type byte and the number of dimensions:

====  ==========  ====  ==========
byte  type        byte  type
====  ==========  ====  ==========
0x08  uint8       0x0C  int32
0x09  int8        0x0D  float32
0x0B  int16       0x0E  float64
====  ==========  ====  ==========

so MNIST's images (uint8, 3 dimensions) have magic ``0x00000803`` = 2051 and
its labels (uint8, 1 dimension) ``0x00000801`` = 2049. A file may be stored
gzip-compressed; :func:`read_idx` tells the two apart by their first bytes.

Checksums
---------
:data:`SHA256` holds the SHA-256 of each published file's *uncompressed*
bytes, so ``NAME`` and ``NAME.gz`` verify alike. The published hashes only
identify the published files, so :func:`load_mnist` checks them against files
of the published size (:data:`SIZES`); a smaller file in the same layout (a
subset you cut, a file a test writes) has its layout checked just as strictly,
but there is no published hash to compare it with. Pass ``checksums`` to
enforce hashes of your own whatever the size.

Where the files are looked for
------------------------------
In the folder given as ``data_dir`` (the CLI's ``--data-dir``), else the one
in the ``BACKPROP_DATA`` environment variable, else
``platformdirs.user_cache_dir("backprop")/mnist``; for the first two, also in
a ``mnist`` folder inside it. Each file may be called ``NAME`` or ``NAME.gz``.
Missing files are downloaded into the first of those folders, when allowed.

Splits
------
``"train"`` is the first 50,000 images of the training file and
``"validation"`` the last 10,000 (the split of Nielsen's book); ``"all"`` is
all 60,000, and ``"test"`` the 10,000 of the t10k files. A training file of
fewer than 60,000 images (a test's, a subset) keeps its last sixth,
``n // 6`` images, for validation.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from ..io.atomic import write_atomic
from ..io.reading import open_regular
from .dataset import Dataset
from .idx_limits import gunzip_bounded, read_idx_bytes

__all__ = [
    "DATA_ENV", "IMAGES_MAGIC", "LABELS_MAGIC", "MIRRORS", "MNIST_FILES", "SHA256", "SIZES", "SPLITS",
    "read_idx", "parse_idx", "write_idx", "read_uncompressed", "sha256_of",
    "resolve_data_dir", "mnist_search_paths", "find_mnist_files", "download_mnist",
    "validation_size", "load_mnist",
]

DATA_ENV = "BACKPROP_DATA"
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
FULL_TRAIN_SIZE = 60_000
FULL_VALIDATION_SIZE = 10_000

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Uncompressed sizes in bytes: the header plus one byte per pixel or label.
SIZES = {
    "train-images-idx3-ubyte": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "validation": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "all": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(t).name: code for code, t in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


# --- the IDX format -------------------------------------------------------------------------------

def _describe_magic(magic: int) -> str:
    type_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if magic >> 16 or type_code not in _IDX_TYPES:
        return "not an IDX magic number"
    name = np.dtype(_IDX_TYPES[type_code]).name
    return f"{name}, {ndim} dimension{'s' if ndim != 1 else ''}"


def parse_idx(data: bytes, source: str = "<bytes>", *, magic: int | None = None) -> np.ndarray:
    """Parse the uncompressed bytes of an IDX file into an array in native byte order.

    Parameters
    ----------
    data : bytes
        The whole file, uncompressed.
    source : str
        What to call the data in messages (a file name).
    magic : int, optional
        The magic number the file must have (for example
        :data:`IMAGES_MAGIC`); any valid IDX magic number when ``None``.

    Raises
    ------
    ValueError
        For a wrong or invalid magic number, a header or data shorter than the
        header declares (a truncated file), or bytes left over after the data.
    """
    if len(data) < 4:
        raise ValueError(
            f"{source}: only {len(data)} bytes, too short for the 4-byte IDX magic number; "
            "the file is truncated or not an IDX file"
        )
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise ValueError(
            f"{source}: magic number {found} (0x{found:08x}: {_describe_magic(found)}); "
            f"expected {magic} (0x{magic:08x}: {_describe_magic(magic)})"
        )
    if data[0] or data[1]:
        raise ValueError(
            f"{source}: magic number 0x{found:08x} does not start with two zero bytes; not an IDX file"
        )
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02x}" for c in _IDX_TYPES)
        raise ValueError(f"{source}: unknown IDX data type byte 0x{type_code:02x}; expected one of {known}")
    if ndim == 0:
        raise ValueError(f"{source}: the IDX header declares 0 dimensions; expected at least 1")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{source}: truncated header: {ndim} dimensions need {header_size} header bytes, "
            f"the file has {len(data)}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[type_code])
    count = math.prod(shape)
    expected = count * dtype.itemsize
    actual = len(data) - header_size
    if actual < expected:
        raise ValueError(
            f"{source}: truncated: the header declares shape {shape} of {dtype.name} "
            f"({expected} bytes of data) but the file holds {actual}"
        )
    if actual > expected:
        raise ValueError(
            f"{source}: {actual - expected} unexpected bytes after the {expected} bytes of data that the "
            f"header declares (shape {shape}); expected the file to end there"
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    return flat.astype(dtype.newbyteorder("=")).reshape(shape)


def read_uncompressed(path, *, limit: int | None = None) -> bytes:
    """Return a file's bytes, gunzipped if it starts with the gzip magic bytes ``1f 8b``.

    Only a regular file is read (:func:`backprop.io.open_regular`). With
    ``limit``, a file that holds, or expands to, more than ``limit`` bytes is
    refused as soon as decompression passes it: nothing larger is ever held.
    """
    path = Path(path)
    with open_regular(path, "data file") as fh:
        data = fh.read()
    if data[:2] != _GZIP_MAGIC:
        if limit is not None and len(data) > limit:
            raise ValueError(f"{path}: {len(data)} bytes, more than the {limit} expected")
        return data
    return gunzip_bounded(path, data, limit)


def read_idx(path, *, magic: int | None = None) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into an array.

    Parameters
    ----------
    path : str or Path
    magic : int, optional
        The magic number the file must have; see :func:`parse_idx`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a complete, well-formed IDX file.
    """
    return parse_idx(read_idx_bytes(path, magic=magic), str(path), magic=magic)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through the project's one atomic writer (:func:`backprop.io.write_atomic`)."""
    write_atomic(path, data)


def write_idx(path, array, compress: bool = False) -> Path:
    """Write an array as an IDX file, gzip-compressed if ``compress``.

    Parameters
    ----------
    path : str or Path
    array : array_like
        Of dtype uint8, int8, int16, int32, float32 or float64, with 1 to 255
        dimensions, each smaller than 2**32.
    compress : bool, default False
        Gzip the file (with a zero timestamp, so the same array gives the
        same bytes).

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.name)  # the name ignores byte order: '>i4' is int32
    if code is None:
        raise ValueError(
            f"IDX stores uint8, int8, int16, int32, float32 or float64; got dtype {array.dtype} "
            "(cast the array first, for example array.astype(np.int32))"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores arrays of 1 to 255 dimensions; got shape {array.shape}")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"IDX sizes must be smaller than 2**32; got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(s.to_bytes(4, "big") for s in array.shape)
    body = np.ascontiguousarray(array, dtype=np.dtype(_IDX_TYPES[code])).tobytes()
    data = header + body
    if compress:
        data = gzip.compress(data, mtime=0)
    _write_atomic(path, data)
    return path


def sha256_of(path) -> str:
    """The SHA-256 hex digest of a file's uncompressed bytes."""
    return hashlib.sha256(read_uncompressed(path)).hexdigest()


# --- where the files are --------------------------------------------------------------------------

def resolve_data_dir(data_dir=None) -> Path:
    """The MNIST folder: ``data_dir``, else ``$BACKPROP_DATA``, else the per-user cache folder.

    The cache folder is ``platformdirs.user_cache_dir("backprop")/mnist``.
    Missing files are downloaded here.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("backprop")) / "mnist"


def mnist_search_paths(data_dir=None) -> list[Path]:
    """The folders searched for the MNIST files, in order.

    :func:`resolve_data_dir`, and for a folder given as ``data_dir`` or in
    ``$BACKPROP_DATA`` also its ``mnist`` subfolder, so that pointing at a
    general data folder works too.
    """
    base = resolve_data_dir(data_dir)
    if data_dir is None and not os.environ.get(DATA_ENV):
        return [base]
    return [base, base / "mnist"]


def find_mnist_files(data_dir=None) -> dict[str, Path | None]:
    """Map each MNIST file name to where it was found (``NAME`` before ``NAME.gz``), or ``None``."""
    folders = mnist_search_paths(data_dir)
    found: dict[str, Path | None] = {}
    for name in MNIST_FILES:
        candidates = (folder / file for folder in folders for file in (name, f"{name}.gz"))
        found[name] = next((c for c in candidates if c.is_file()), None)
    return found


def _expected_hash(name: str, checksums: dict | None) -> str | None:
    if checksums and name in checksums:
        return str(checksums[name]).lower()
    return SHA256.get(name)


def download_mnist(names=MNIST_FILES, data_dir=None, *, checksums: dict | None = None,
                   mirrors=MIRRORS, timeout: float = 10.0) -> dict[str, Path]:
    """Download MNIST files into :func:`resolve_data_dir`, verifying each before it is put in place.

    Each ``NAME.gz`` is fetched from the first mirror that answers, its
    uncompressed bytes are checked against the SHA-256 (``checksums`` or
    :data:`SHA256`), and only then is it moved, atomically, to ``NAME.gz``.

    Returns
    -------
    dict
        File name -> the path written.

    Raises
    ------
    OSError
        If a file could not be fetched and verified from any mirror (the
        files after it are not tried); the message lists what each mirror
        said. Files already fetched stay in place.
    """
    target = resolve_data_dir(data_dir)
    written: dict[str, Path] = {}
    for name in names:
        expected = _expected_hash(name, checksums)
        if expected is None:
            raise ValueError(f"no SHA-256 known for {name!r}; expected one of {', '.join(MNIST_FILES)}")
        errors = []
        for mirror in mirrors:
            url = f"{mirror}{name}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
                raw = gunzip_bounded(url, data, SIZES.get(name)) if data[:2] == _GZIP_MAGIC else data  # no bomb
                actual = hashlib.sha256(raw).hexdigest()
                if actual != expected:
                    errors.append(f"{url}: SHA-256 mismatch (expected {expected}, got {actual})")
                    continue
                target.mkdir(parents=True, exist_ok=True)
                path = target / f"{name}.gz"
                _write_atomic(path, data if data[:2] == _GZIP_MAGIC else gzip.compress(raw, mtime=0))
                written[name] = path
                break
            except (OSError, EOFError, zlib.error, http.client.HTTPException, ValueError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            # Every mirror failed; offline, the next file would only wait out the same timeouts.
            raise OSError(f"could not download {name}.gz ({'; '.join(errors) or 'no mirrors given'})")
    return written


# --- loading --------------------------------------------------------------------------------------

def validation_size(n_train: int) -> int:
    """How many images at the end of a training file of ``n_train`` images are the validation split.

    10,000 for the full 60,000, as in Nielsen's book; ``n_train // 6`` for a
    smaller file.
    """
    return FULL_VALIDATION_SIZE if n_train >= FULL_TRAIN_SIZE else n_train // 6


def _read_checked(path: Path, name: str, magic: int, verify: bool, checksums: dict | None) -> np.ndarray:
    raw = read_idx_bytes(path, magic=magic)
    if verify:
        custom = checksums is not None and name in checksums
        if custom or len(raw) == SIZES[name]:
            expected = _expected_hash(name, checksums)
            actual = hashlib.sha256(raw).hexdigest()
            if actual != expected:
                raise ValueError(
                    f"{path}: SHA-256 checksum mismatch for {name}: expected {expected}, got {actual}; "
                    "the file is damaged or not the published one: delete it and fetch it again"
                )
    return parse_idx(raw, str(path), magic=magic)


def _missing_message(missing: list[str], folders: list[Path], reason: str) -> str:
    names = ", ".join(missing)
    where = ", ".join(str(f) for f in folders)
    return (
        f"MNIST file{'s' if len(missing) > 1 else ''} not found: {names} (each as NAME or NAME.gz); "
        f"searched {where}. {reason} Put the files in {folders[0]}, or point to the folder that holds "
        f"them with --data-dir DIR or the {DATA_ENV} environment variable."
    )


def load_mnist(split: str = "train", data_dir=None, *, verify: bool = True, download: bool = True,
               checksums: dict | None = None) -> Dataset:
    """Load a split of MNIST: ``X`` of shape (n, 784), pixels / 255 in [0, 1], ``y`` the digits 0..9.

    Parameters
    ----------
    split : {"train", "validation", "all", "test"}, default "train"
        ``"train"`` is the first 50,000 images of the training file,
        ``"validation"`` its last 10,000 (its last ``n // 6`` for a file of
        ``n < 60,000`` images), ``"all"`` every one, and ``"test"`` the t10k
        files.
    data_dir : str or Path, optional
        Where the files are; see :func:`resolve_data_dir` and
        :func:`mnist_search_paths`.
    verify : bool, default True
        Check each file of the published size against its published SHA-256,
        and each file named in ``checksums`` against that hash.
    download : bool, default True
        Fetch missing files from :data:`MIRRORS` into :func:`resolve_data_dir`.
    checksums : dict, optional
        File name -> SHA-256 hex digest of its uncompressed bytes, enforced
        whatever the file's size, in place of the published hash.

    Raises
    ------
    FileNotFoundError
        If a file is missing and could not be downloaded; the message names
        the files, the folders searched and where to put them.
    ValueError
        For a checksum mismatch or a malformed file; the message names the
        file and the bad value.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; expected one of {', '.join(SPLITS)}")
    images_name, labels_name = SPLITS[split]
    found = find_mnist_files(data_dir)
    missing = [name for name in (images_name, labels_name) if found[name] is None]
    if missing:
        folders = mnist_search_paths(data_dir)
        if not download:
            raise FileNotFoundError(_missing_message(missing, folders, "Downloading was turned off."))
        try:
            found.update(download_mnist(missing, data_dir, checksums=checksums))
        except OSError as exc:
            raise FileNotFoundError(
                _missing_message(missing, folders, f"Downloading them failed: {exc}.")
            ) from None

    images_path, labels_path = found[images_name], found[labels_name]
    images = _read_checked(images_path, images_name, IMAGES_MAGIC, verify, checksums)
    labels = _read_checked(labels_path, labels_name, LABELS_MAGIC, verify, checksums)
    if images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{images_path}: images of {images.shape[1]}x{images.shape[2]} pixels; expected 28x28")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds {labels.shape[0]} "
            "labels; they must match"
        )
    if labels.size and labels.max() >= N_CLASSES:
        row = int(np.argmax(labels >= N_CLASSES))
        raise ValueError(f"{labels_path}: label {labels[row]} at index {row}; expected digits 0..9")

    n = images.shape[0]
    n_validation = validation_size(n)
    start, stop = {
        "train": (0, n - n_validation),
        "validation": (n - n_validation, n),
        "all": (0, n),
        "test": (0, n),
    }[split]
    if stop == start:
        raise ValueError(f"{images_path} holds {n} images, too few for a non-empty {split!r} split")
    X = images[start:stop].reshape(stop - start, -1) / 255.0
    y = labels[start:stop].astype(np.int64)
    return Dataset(
        X=X, y=y, task="classification", name="mnist", classes=np.arange(N_CLASSES),
        description=f"MNIST handwritten digits, {split} split: images {start}..{stop - 1} of {images_path.name}",
    )

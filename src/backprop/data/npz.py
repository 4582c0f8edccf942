"""Reading the members of an ``.npz`` archive with every size checked before anything is decompressed.

``np.load`` trusts the archive: a member that is a raw pickle comes back as
bytes, and a small archive may declare gigabytes (a decompression bomb;
bzip2 and LZMA members reach ratios deflate cannot). :func:`read_npz_arrays`
reads each wanted member itself, in this order:

1. the file is opened only if it is a regular file (:func:`backprop.io.open_regular`);
2. the zip directory's declared size of the member must be within
   :data:`MAX_EXPANSION` times its compressed size (or under
   :data:`ALWAYS_READ` bytes) and, with the other members, within the
   machine's memory;
3. the member must start with the ``.npy`` magic string (a pickle is refused
   by name, never loaded) and its header must declare a plain dtype (no
   Python objects) and a shape whose bytes, with the header, are exactly the
   member's declared size;
4. only then is the data read, never more than declared, and the archive's
   CRC checked at its end.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib

import numpy as np
import numpy.lib.format as npy_format

from ..io.reading import open_regular

__all__ = ["read_npz_arrays", "MAX_EXPANSION", "ALWAYS_READ"]

MAX_EXPANSION = 1100  # deflate cannot pass about 1032:1, so an honest np.savez_compressed archive stays under it
ALWAYS_READ = 64 * 2**20  # members this small are read whatever their compression ratio
_ZIP_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)


def physical_memory_bytes() -> int:
    """The machine's memory in bytes: no declared size above it can be decompressed."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63


def _read_header(member, version):
    if version == (1, 0):
        return npy_format.read_array_header_1_0(member)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(member)
    raise ValueError(f".npy format version {version[0]}.{version[1]}, which this reader does not take; "
                     "save with np.savez (format 1.0 or 2.0)")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, path) -> np.ndarray:
    declared, packed = info.file_size, info.compress_size
    if declared > ALWAYS_READ and declared > MAX_EXPANSION * max(packed, 1):
        raise ValueError(f"{path}: array {key!r} declares {declared} bytes from {packed} compressed, an expansion "
                         f"of {declared / max(packed, 1):.0f} to 1 (at most {MAX_EXPANSION} is read): refused, "
                         "as a decompression bomb")
    with zf.open(info) as member:
        try:
            version = npy_format.read_magic(member)
        except ValueError:
            raise ValueError(f"{path}: array {key!r} is not stored in the .npy format (it may be a pickle, "
                             "which is never loaded); save arrays with np.savez(path, X=X, y=y)") from None
        try:
            shape, fortran, dtype = _read_header(member, version)
        except ValueError as exc:
            raise ValueError(f"{path}: array {key!r} has an invalid .npy header ({exc})") from None
        if dtype.hasobject:
            raise ValueError(
                f"{path}: array {key!r} is stored as Python objects, which are not loaded because "
                "unpickling can run code; save numbers, or labels as fixed-width strings "
                "(np.asarray(y, dtype=str))")
        header_bytes = member.tell()
        nbytes = math.prod(shape) * dtype.itemsize
        if header_bytes + nbytes != declared:
            raise ValueError(f"{path}: array {key!r} declares shape {shape} of {dtype} ({nbytes} bytes), but its "
                             f"member holds {declared - header_bytes}; the archive is damaged")
        data = member.read(nbytes)
        if len(data) != nbytes or member.read(1):  # reading to the end also checks the CRC
            raise ValueError(f"{path}: array {key!r} is truncated")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read_npz_arrays(path, keys) -> tuple[list[str], dict[str, np.ndarray]]:
    """The names of an archive's arrays, and the arrays among ``keys`` that it holds.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        For anything but a regular zip file of ``.npy`` members, a member
        that is a pickle or holds Python objects, sizes that disagree or
        exceed the bounds above, or damaged data.
    """
    with open_regular(path, "NPZ file") as fh:
        start = fh.read(4)
        if start == b"\x93NUM":
            raise ValueError(f"{path} holds a single array, not an .npz archive of arrays X and y")
        if start != b"PK\x03\x04":
            what = "it is empty" if not start else f"it starts with {start!r}, not the zip signature b'PK\\x03\\x04'"
            raise ValueError(f"{path} cannot be read as an .npz archive: {what}; "
                             "write one with np.savez(path, X=X, y=y)")
        fh.seek(0)
        try:
            with zipfile.ZipFile(fh) as zf:
                members = {info.filename.removesuffix(".npy"): info for info in zf.infolist()}
                wanted = [members[k] for k in keys if k in members]
                total = sum(info.file_size for info in wanted)
                if total > physical_memory_bytes():
                    raise ValueError(f"{path}: its arrays declare {total} bytes, more than this machine's memory")
                arrays = {}
                for key in keys:
                    if key in members:
                        try:
                            arrays[key] = _read_member(zf, members[key], key, path)
                        except _ZIP_ERRORS as exc:
                            raise ValueError(f"{path}: array {key!r} is damaged ({exc})") from None
                return list(members), arrays
        except _ZIP_ERRORS as exc:
            raise ValueError(f"{path} cannot be read as an .npz archive: {exc}") from None

"""Reading gzipped IDX files with their declared sizes checked before anything is decompressed.

A 1 MB gzip file can expand to gigabytes. :func:`read_idx_bytes` decompresses
an IDX file's header alone first (4 bytes, then 4 per dimension), checks its
magic number, refuses a declared size larger than the machine's memory, and
then decompresses at most the declared size plus one byte (to notice extra
data). :func:`gunzip_bounded` is the bounded decompression itself.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

from ..io.reading import open_regular
from .npz import physical_memory_bytes

__all__ = ["read_idx_bytes", "gunzip_bounded"]


def _gunzip(data: bytes, limit: int | None) -> bytes | None:
    """Gunzip ``data`` (one or more members); None as soon as the output would pass ``limit`` bytes."""
    out, rest = [], data
    size = 0
    while rest:
        inflater = zlib.decompressobj(wbits=31)  # gzip framing
        budget = -1 if limit is None else limit - size + 1
        piece = inflater.decompress(rest, budget) if budget != -1 else inflater.decompress(rest)
        size += len(piece)
        if limit is not None and (size > limit or inflater.unconsumed_tail):
            return None
        if not inflater.eof:
            raise EOFError("the compressed stream ends early")
        out.append(piece)
        rest = inflater.unused_data.lstrip(b"\0")  # members may follow, padding may end the file
    return b"".join(out)


def _peek_gzip(data: bytes, n: int) -> bytes:
    """The first ``n`` uncompressed bytes of gzip ``data`` (fewer if it holds fewer), decompressing no more."""
    try:
        return zlib.decompressobj(wbits=31).decompress(data, n)
    except zlib.error as exc:
        raise ValueError(f"a damaged gzip file ({exc})") from None


def _declared_idx_size(head: bytes, source: str, magic: int | None) -> int | None:
    from .mnist import _IDX_TYPES, parse_idx

    """The whole file size an IDX header declares, checking its magic number; None if ``head`` is too short."""
    if len(head) < 4:
        return None
    found = int.from_bytes(head[:4], "big")
    if (magic is not None and found != magic) or head[0] or head[1] or head[2] not in _IDX_TYPES or not head[3]:
        parse_idx(head, source, magic=magic)  # raises, naming what is wrong with the magic number
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        return None
    shape = [int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return 4 + 4 * ndim + math.prod(shape) * np.dtype(_IDX_TYPES[head[2]]).itemsize


def read_idx_bytes(path, *, magic: int | None = None) -> bytes:
    """An IDX file's uncompressed bytes, its magic number and declared size checked before decompressing.

    A gzipped IDX file is decompressed in two steps: first only its header
    (4 bytes, then 4 per dimension), whose magic number is checked; then at
    most the size that header declares, plus one byte to notice extra data.
    A small file that would expand to gigabytes is refused after reading a
    few bytes of it.
    """
    path = Path(path)
    with open_regular(path, "IDX file") as fh:
        data = fh.read()
    if data[:2] != b"\x1f\x8b":  # not gzip
        return data
    head = _peek_gzip(data, 4 + 4 * 255)
    declared = _declared_idx_size(head, str(path), magic)
    if declared is None:
        return head  # parse_idx says what is missing
    if declared > physical_memory_bytes():
        raise ValueError(f"{path}: the IDX header declares {declared} bytes, more than this machine's memory; "
                         "refused before decompressing")
    return gunzip_bounded(path, data, declared)


def gunzip_bounded(path: Path, data: bytes, limit: int | None) -> bytes:
    """Gunzip ``data``, refusing output beyond ``limit`` bytes as soon as it is reached."""
    try:
        out = _gunzip(data, limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: a damaged or truncated gzip file ({exc})") from None
    if out is None:
        raise ValueError(f"{path}: expands to more than the {limit} bytes its header declares (or the caller "
                         "expects); refused before decompressing the rest")
    return out

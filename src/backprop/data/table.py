"""Reading a table as people have it: any common delimiter, compressed or not, with missing values.

:func:`read_table` turns a CSV-like file (or standard input) into a pandas
``DataFrame`` whose column names are strings. It accepts:

- the delimiter given, or detected from the first lines: comma, semicolon,
  tab, ``|``, or runs of whitespace;
- files compressed with gzip, bzip2, xz or zip (one member), recognised by
  their first bytes, whatever their name;
- a header row, or none (``header=False``: the columns are named ``"0"``,
  ``"1"``, ... by position), after ``skip_rows`` lines to skip;
- missing values written as an empty cell, ``NA``, ``N/A``, ``NaN``,
  ``null`` or ``?`` (:data:`MISSING`), read as NaN.

Memory is bounded before anything is parsed: a file (after decompression)
larger than :data:`MAX_TABLE_BYTES` (256 MiB; the environment variable
``BACKPROP_MAX_TABLE_BYTES`` raises or lowers it) is refused unread, and a
header wider than :data:`MAX_COLUMNS` is refused before pandas sees it. Every
row is checked to have as many fields as the header before parsing, because
pandas would otherwise fill a short row with missing values without a word.
Every problem is a ``ValueError`` whose one line names the file, the line and
what was expected.

Numbers are strict: ``1_000``, ``١٢`` (Arabic-Indic digits) or ``0x10`` are
text to this reader, although Python's ``float`` accepts some of them.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import hashlib
import io
import lzma
import os
import re
import sys
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Table", "read_table", "MISSING", "MAX_TABLE_BYTES", "MAX_COLUMNS", "DELIMITERS", "strict_numbers"]

MISSING = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "?")
MAX_TABLE_BYTES = 256 * 1024 * 1024
MAX_COLUMNS = 10_000
# The names --delimiter takes, and the character each stands for.
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|", "whitespace": None, "space": None}
_CANDIDATES = (",", ";", "\t", "|")
_SAMPLE_LINES = 50
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}


@dataclass
class Table:
    """A parsed table and where it came from.

    Attributes
    ----------
    frame : pandas.DataFrame
        One column per field, named by the header (or ``"0"``, ``"1"``, ...).
    lines : ndarray of int
        The line of the (decompressed) text each row starts on, from 1, for
        messages that point at a row.
    source : str
        The path, or ``"<stdin>"``.
    sha256 : str
        The SHA-256 of the bytes read (the compressed bytes of a compressed file).
    options : dict
        How it was read: ``delimiter`` (the name, as :data:`DELIMITERS` has
        it), ``header``, ``skip_rows``, ``compression``; plain data, so that
        the same file can be read the same way again.
    """

    frame: object
    lines: np.ndarray
    source: str
    sha256: str
    options: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def rows(self, indices, drop=()) -> "Table":
        """The rows ``indices`` (and the columns not in ``drop``) as a table of their own."""
        frame = self.frame.iloc[indices]
        if drop:
            frame = frame.drop(columns=list(drop))
        return Table(frame=frame, lines=self.lines[indices], source=self.source, sha256=self.sha256,
                     options=self.options)

    def line(self, row: int) -> int:
        """The line of the text on which data row ``row`` (from 0) starts."""
        return int(self.lines[row])


def max_table_bytes() -> int:
    """The size limit in force: ``BACKPROP_MAX_TABLE_BYTES`` if set, else :data:`MAX_TABLE_BYTES`."""
    text = os.environ.get("BACKPROP_MAX_TABLE_BYTES")
    if text is None:
        return MAX_TABLE_BYTES
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"BACKPROP_MAX_TABLE_BYTES must be a whole number of bytes; got {text!r}") from None
    if value < 1:
        raise ValueError(f"BACKPROP_MAX_TABLE_BYTES must be positive; got {value}")
    return value


def read_table(source, *, delimiter: str | None = None, header: bool = True, skip_rows: int = 0,
               max_bytes: int | None = None) -> Table:
    """Read a delimited text table into a :class:`Table`.

    Parameters
    ----------
    source : str, Path or binary file
        A path, ``"-"`` for standard input, or an open binary file.
    delimiter : str, optional
        ``","``, ``";"``, ``"tab"``, ``"|"`` or ``"whitespace"``; detected from
        the first lines when not given.
    header : bool, default True
        Whether the first line (after ``skip_rows``) names the columns.
    skip_rows : int, default 0
        Lines to skip at the start (a title, a units line).
    max_bytes : int, optional
        Refuse a table larger than this, decompressed; default
        :func:`max_table_bytes`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        For a file too large, not UTF-8, empty, with a row of the wrong length,
        a header naming a column twice or not at all, or compressed data that
        is damaged; the message names the file and the line.
    """
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ValueError(f"unknown delimiter {delimiter!r}; expected one of , ; tab | whitespace")
    if isinstance(skip_rows, bool) or not isinstance(skip_rows, (int, np.integer)) or skip_rows < 0:
        raise ValueError(f"skip_rows must be a whole number >= 0; got {skip_rows!r}")
    limit = max_table_bytes() if max_bytes is None else int(max_bytes)
    name, raw = _read_bytes(source, limit)
    digest = hashlib.sha256(raw).hexdigest()
    compression, data = _decompress(name, raw, limit)
    del raw
    # The bytes are kept as they are and read through streams: a str copy of the whole text (or a
    # StringIO, 4 bytes a character) would multiply the memory a table needs.
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    _check_utf8(data, name)
    start = _skip(data, skip_rows, name)
    sep = DELIMITERS[delimiter] if delimiter is not None else _detect(data, start, name)
    starts, names = _check_rows(data, start, sep, name, header)
    frame = _parse(data, start, sep, header, len(names), name)
    if frame.shape[1] != len(names):
        raise ValueError(f"{name}: the columns could not be read consistently ({frame.shape[1]} parsed, "
                         f"{len(names)} counted); check its quoting")
    frame.columns = names  # the names as checked above (pandas would strip a second BOM, rename twins)
    if len(frame) != len(starts):  # the two readers should agree; if not, say so rather than guess
        raise ValueError(f"{name}: the rows could not be read consistently ({len(frame)} parsed, "
                         f"{len(starts)} counted); check its quoting")
    options = {"delimiter": _delimiter_name(sep), "header": bool(header), "skip_rows": int(skip_rows),
               "compression": compression}
    return Table(frame=frame, lines=np.frombuffer(starts, dtype=np.int64), source=name, sha256=digest,
                 options=options)


def _read_bytes(source, limit: int) -> tuple[str, bytes]:
    if hasattr(source, "read"):
        name = str(getattr(source, "name", "<input>"))
        data = source.read(limit + 1)
    elif str(source) == "-":
        name = "<stdin>"
        data = sys.stdin.buffer.read(limit + 1)
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise FileNotFoundError(f"table file not found: {path}")
        if not path.is_file():
            raise ValueError(f"{path} is not a file")
        size = path.stat().st_size
        if size > limit:
            raise ValueError(f"{path} has {size:,} bytes, more than the {limit:,} a table may have "
                             "(set BACKPROP_MAX_TABLE_BYTES to allow more)")
        data = path.read_bytes()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limit:
        raise ValueError(f"{name} has more than the {limit:,} bytes a table may have "
                         "(set BACKPROP_MAX_TABLE_BYTES to allow more)")
    return name, data


def _decompress(name: str, raw: bytes, limit: int) -> tuple[str | None, bytes]:
    """The bytes of the table itself: compressed data is inflated, at most ``limit`` bytes of it."""
    kind = next((k for magic, k in _MAGIC.items() if raw.startswith(magic)), None)
    if kind is None:
        return None, raw
    try:
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    listed = ", ".join(m.filename for m in members[:5]) or "nothing"
                    raise ValueError(f"{name} is a zip archive of {len(members)} files ({listed}); "
                                     "expected exactly one table in it")
                with archive.open(members[0]) as fh:
                    data = fh.read(limit + 1)
        else:
            opener = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
            with opener(fileobj=io.BytesIO(raw)) if kind == "gzip" else opener(io.BytesIO(raw)) as fh:
                data = fh.read(limit + 1)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, NotImplementedError,
            RuntimeError) as exc:
        raise ValueError(f"{name} looks {kind}-compressed but cannot be decompressed ({exc})") from None
    if len(data) > limit:
        raise ValueError(f"{name} decompresses to more than the {limit:,} bytes a table may have "
                         "(set BACKPROP_MAX_TABLE_BYTES to allow more)")
    return kind, data


def _check_utf8(data: bytes, name: str, chunk: int = 1 << 20) -> None:
    """Refuse bytes that are not UTF-8, naming the line; decoded a chunk at a time, and thrown away."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for offset in range(0, len(data), chunk):
        try:
            decoder.decode(data[offset:offset + chunk], final=offset + chunk >= len(data))
        except UnicodeDecodeError as exc:
            at = offset + exc.start - len(decoder.getstate()[0]) if exc.start >= 0 else offset
            at = max(0, min(at, len(data) - 1))
            while at > 0 and data[at] < 0x80:  # the first byte that is not ASCII, where the error is
                at += 1
            line = data.count(b"\n", 0, at) + 1
            raise ValueError(f"{name} is not UTF-8 text: line {line} holds the byte 0x{data[at]:02x}; "
                             "save the file as UTF-8") from None


def _skip(data: bytes, skip_rows: int, name: str) -> int:
    """The offset in ``data`` after ``skip_rows`` lines."""
    offset = 0
    for _ in range(skip_rows):
        end = data.find(b"\n", offset)
        if end < 0:
            raise ValueError(f"{name} has fewer than {skip_rows + 1} lines; nothing is left after "
                             f"skipping {skip_rows}")
        offset = end + 1
    return offset


def _text(data: bytes, start: int) -> io.TextIOWrapper:
    """The text from byte ``start`` on, decoded as it is read."""
    buffer = io.BytesIO(data)
    buffer.seek(start)
    return io.TextIOWrapper(buffer, encoding="utf-8", newline="")


def _sample(data: bytes, start: int) -> list[str]:
    lines = []
    for line in io.StringIO(data[start:start + 256 * 1024].decode("utf-8", "ignore"), newline=""):
        if line.strip():
            lines.append(line.rstrip("\r\n"))
        if len(lines) >= _SAMPLE_LINES:
            break
    return lines


def _detect(data: bytes, start: int, name: str) -> str | None:
    """The delimiter that splits the first lines into the same number (> 1) of fields, most fields first."""
    lines = _sample(data, start)
    if not lines:
        raise ValueError(f"{name} is empty; expected a header row naming the columns, then data rows")
    if len(lines) > 1 and len(data) - start > 256 * 1024:
        lines = lines[:-1]  # the last may be a line cut by the sample
    best, best_count = ",", 1
    for sep in _CANDIDATES:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        except csv.Error:
            continue  # this delimiter does not read the sample; the row check names what is wrong
        if len(counts) == 1 and (count := counts.pop()) > best_count:
            best, best_count = sep, count
    if best_count > 1:
        return best
    counts = {len(line.split()) for line in lines}
    if len(counts) == 1 and counts.pop() > 1:
        return None
    return ","  # one column, or nothing consistent: the row check below names the line that differs


def _delimiter_name(sep: str | None) -> str:
    return {"\t": "tab", None: "whitespace"}.get(sep, sep)


def _rows(data: bytes, start: int, sep: str | None):
    """``(line, fields)`` for each non-blank row, as the csv module (or a whitespace split) reads it."""
    handle = _text(data, start)
    offset = data.count(b"\n", 0, start)
    if sep is None:
        for number, line in enumerate(handle, start=offset + 1):
            fields = line.split()
            if fields:
                yield number, fields
        return
    reader = csv.reader(handle, delimiter=sep)
    line = offset + 1
    for row in reader:
        if row:
            yield line, row
        line = offset + reader.line_num + 1


def _check_rows(data: bytes, start: int, sep: str | None, name: str, header: bool) -> tuple[array, list[str]]:
    """Each data row's line (int64), and the column names; every row must have as many fields."""
    rows = _rows(data, start, sep)
    try:
        first = next(rows, None)
        if first is None:
            raise ValueError(f"{name} is empty; expected a header row naming the columns, then data rows")
        line, fields = first
        n = len(fields)
        if n > MAX_COLUMNS:
            raise ValueError(f"{name}, line {line}: {n:,} columns, more than the {MAX_COLUMNS:,} a table "
                             "may have; is the delimiter right? (--delimiter)")
        if header:
            names = [f.strip() for f in fields]
            for i, col in enumerate(names):
                if not col:
                    raise ValueError(f"{name}: column {i + 1} of the header row (line {line}) has no name; "
                                     "if the file has no header row, say so with --no-header")
            seen = set()
            twice = sorted({c for c in names if c in seen or seen.add(c)})
            if twice:
                raise ValueError(f"{name}: the header names column(s) {', '.join(map(repr, twice))} "
                                 "more than once")
            starts = array("q")
        else:
            names = [str(i) for i in range(n)]
            starts = array("q", [line])
        for line, fields in rows:
            if len(fields) != n:
                what = "the header has" if header else "the first row has"
                raise ValueError(f"{name}, line {line}: {len(fields)} field{'s' * (len(fields) != 1)}, but "
                                 f"{what} {n} columns; is the delimiter right? (detected "
                                 f"{_delimiter_name(sep)!r}; give --delimiter to choose)")
            starts.append(line)
    except csv.Error as exc:
        raise ValueError(f"{name} is not a readable CSV file: {exc}") from None
    if not starts:
        raise ValueError(f"{name} has a header row but no data rows")
    return starts, names


def _parse(data: bytes, start: int, sep: str | None, header: bool, n_columns: int, name: str):
    import pandas as pd

    kwargs = dict(sep=r"\s+") if sep is None else dict(sep=sep)
    try:
        frame = pd.read_csv(
            _bytes_from(data, start), header=0 if header else None,
            names=None if header else [str(i) for i in range(n_columns)], index_col=False,
            na_values=list(MISSING), keep_default_na=False, skipinitialspace=sep is not None,
            skip_blank_lines=True, encoding="utf-8", **kwargs,
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{name} is not a readable table: {str(exc).splitlines()[0]}") from None
    # A number beyond float64 (1e400) was read as infinity: read those columns again as text, so
    # that a message can quote the cell as it is written. (By position: names are set by the caller.)
    overflow = [i for i in range(frame.shape[1])
                if frame.iloc[:, i].dtype.kind == "f" and np.isinf(frame.iloc[:, i].to_numpy()).any()]
    if overflow:
        again = pd.read_csv(_bytes_from(data, start), header=0 if header else None, encoding="utf-8",
                            usecols=overflow, dtype=str, index_col=False, na_values=list(MISSING),
                            keep_default_na=False, skip_blank_lines=True, **kwargs)
        for i in overflow:
            frame.isetitem(i, again.iloc[:, overflow.index(i)].to_numpy(dtype=object))
    return frame


def _bytes_from(data: bytes, start: int) -> io.BytesIO:
    buffer = io.BytesIO(data)  # shares the bytes until written to
    buffer.seek(start)
    return buffer


def strict_numbers(values) -> tuple[np.ndarray, int | None]:
    """Text cells as float64 where each is a plain ASCII number; also the index of the first that is not.

    Missing cells (NaN) stay NaN. ``1_000``, non-ASCII digits, ``0x10`` and
    words are not numbers here, though ``float`` takes some of them.
    """
    out = np.full(len(values), np.nan)
    bad = None
    for i, cell in enumerate(values):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            continue
        if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(cell, bool):
            try:
                out[i] = float(cell)
            except OverflowError:  # an int of 400 digits
                out[i] = np.inf if cell > 0 else -np.inf
            continue
        text = str(cell).strip()
        if text in MISSING:
            continue
        if _NUMBER.fullmatch(text):
            out[i] = float(text)  # a value beyond float64 becomes inf, which the caller names
        elif text.lower().lstrip("+-") in ("inf", "infinity"):
            out[i] = float(text)
        elif bad is None:
            bad = i
    return out, bad

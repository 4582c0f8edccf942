"""Opening input files: regular files only, and never a blocking open.

``open("fifo")`` waits for a writer for ever, and reading ``/dev/zero`` never
ends. :func:`open_regular` opens with ``O_NONBLOCK`` (so a FIFO opens at once),
asks the open descriptor what it is (``fstat``, so nothing can be swapped in
between the check and the read), refuses anything but a regular file, and only
then returns an ordinary blocking file object.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["open_regular", "read_regular_bytes", "check_regular", "describe_mode"]

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def describe_mode(mode: int) -> str:
    """What an ``st_mode`` is, in words: ``"a regular file"``, ``"a FIFO (named pipe)"``, ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refuse(path: Path, mode: int, what: str) -> ValueError:
    if stat.S_ISDIR(mode):
        return ValueError(f"{path} is a folder, not a {what}")
    return ValueError(f"{path} is {describe_mode(mode)}, not a regular file; a {what} is read from a regular "
                      "file only")


def check_regular(path, what: str = "file") -> Path:
    """Raise unless ``path`` names a regular file (symbolic links followed); return it as a Path.

    For callers that hand the path to a library; :func:`open_regular` is the
    race-free check for callers that read the file themselves.

    Raises
    ------
    FileNotFoundError
        ``"no {what} at {path}"``.
    ValueError
        For a folder, FIFO, device or socket.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {path}") from None
    except OSError as exc:
        raise OSError(exc.errno, f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise _refuse(path, mode, what)
    return path


def open_regular(path, what: str = "file") -> BinaryIO:
    """Open ``path`` for reading in binary mode if, and only if, it is a regular file.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file should be, for messages (``"model file"``, ``"CSV file"``).

    Returns
    -------
    file object
        Opened ``"rb"``, blocking, positioned at the start.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If it is a folder, a FIFO, a device or a socket: it is not opened for
        reading at all (a FIFO is opened without blocking, then closed).
    OSError
        If it cannot be opened (no permission, ...), naming the path.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not a {what}") from None
    except OSError as exc:
        raise OSError(exc.errno, f"cannot read {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, mode, what)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(path, what: str = "file", limit: int | None = None) -> bytes:
    """All the bytes of a regular file (see :func:`open_regular`), refusing one larger than ``limit``."""
    with open_regular(path, what) as fh:
        if limit is not None:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise ValueError(f"{path} is {size} bytes, more than the {limit} a {what} may have")
        return fh.read()

"""Writing files: one atomic writer for everything the project writes, and the checks made before work.

:func:`write_atomic` writes a temporary file in the destination's folder,
flushes and fsyncs it, gives it its final mode, and renames it over the
destination, then fsyncs the folder. A reader, a crash or a full disk therefore
leaves either the old file or the complete new one, never half a file; the
temporary file is removed on any failure.

Modes: a new file gets ``0o666`` less the user's umask (as ``open`` would give
it); a file replaced keeps its mode. Only regular files are replaced: a device
node (``/dev/null``), a FIFO, a socket or a folder at the destination is
refused, not turned into a regular file. A symbolic link is followed: the file
it points to is replaced, and the link stays.

:func:`check_destination` is what a command calls before long work: the folder
exists, is a folder, and a file can really be created in it (a probe file is
created and removed, which also catches ``/proc``, ``/sys`` and read-only
mounts), the destination is a regular file or absent, and it is not one of the
command's inputs (compared by device and inode, so another name, a hard link or
a symbolic link for the same file is caught too).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from .reading import describe_mode

__all__ = ["write_atomic", "check_destination", "same_file_as", "current_umask"]


def current_umask() -> int:
    """The process's umask (read from /proc where possible, so it is never changed, even briefly)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def same_file_as(path, inputs: Iterable) -> str | None:
    """The first of ``inputs`` that is the same file as ``path`` (same device and inode), or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    for other in inputs:
        if other is None:
            continue
        try:
            so = os.stat(other)
        except OSError:
            continue
        if (so.st_dev, so.st_ino) == (st.st_dev, st.st_ino):
            return str(other)
    return None


def _check_target(path: Path, inputs: Iterable) -> int | None:
    """The mode of the regular file at ``path`` (None if there is none); raise for anything else."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"cannot write {path}: it is {describe_mode(st.st_mode)}, not a regular file, "
                         "and is not replaced; give the path of a regular file")
    clash = same_file_as(path, inputs)
    if clash is not None:
        shown = "" if clash == str(path) else f" ({clash})"
        raise ValueError(f"cannot write {path}: it is one of this command's inputs{shown}, and writing it "
                         "would destroy the input; give another output path")
    return stat.S_IMODE(st.st_mode)


def check_destination(path, inputs: Iterable = (), *, probe: bool = True) -> Path:
    """Raise, in words, if a file cannot be written at ``path``; return it as a Path.

    Parameters
    ----------
    path : str or Path
        Where the command will write.
    inputs : iterable of paths
        The files the command reads; ``path`` must not be one of them.
    probe : bool, default True
        Create and remove a temporary file in the folder, to prove that it
        can be written (permissions, read-only or pseudo file systems).

    Raises
    ------
    FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, OSError
        For a missing folder, a folder that is a file, a destination that is
        a folder, or a folder that cannot be written.
    ValueError
        For a destination that is not a regular file, or that is an input.
    """
    path = Path(path)
    folder = _folder(path)
    if not folder.exists():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {folder} is a file, not a folder")
    _check_target(path, inputs)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: no permission to write in the folder {folder}")
    if probe:
        try:
            fd, tmp = tempfile.mkstemp(prefix=".backprop-probe.", dir=folder)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write {path}: cannot create a file in {folder} "
                                     f"({exc.strerror})") from None
        os.close(fd)
        os.unlink(tmp)
    return path


def write_atomic(path, data: bytes | str | Callable[[BinaryIO], None], *, inputs: Iterable = ()) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``.

    Parameters
    ----------
    path : str or Path
    data : bytes, str or callable
        The contents (``str`` is written as UTF-8), or a function that
        writes them into the binary file object it is given.
    inputs : iterable of paths
        Files the caller has read; ``path`` must not be one of them.

    Raises
    ------
    OSError
        If the file cannot be written (the message names ``path``); the
        destination is then left as it was.
    ValueError
        If the destination is not a regular file, or is one of ``inputs``.
    """
    path = Path(path)
    folder = _folder(path)
    if not folder.is_dir():
        check_destination(path, probe=False)  # says what is wrong with the folder
    mode = _check_target(path, inputs)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if mode is None:
        mode = 0o666 & ~current_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=_folder(target))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and str(path) not in str(exc):
            raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}; it was left as it "
                                     "was") from None
        raise
    _sync_folder(_folder(target))
    return path


def _sync_folder(folder: Path) -> None:
    """fsync a folder so that the rename itself survives a crash (best effort: not every system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

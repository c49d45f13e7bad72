"""Reading user-given input files (``--from``) within bounded time and memory.

:func:`read_input` reads regular files only: a FIFO, a device (``/dev/zero``, a terminal), a socket or
a directory is refused at once, without opening it for a blocking read, and a file over the size cap
is refused from its metadata, before a byte is read (a sparse 5 GB file costs nothing). Every failure
is one :class:`~ibovcli.errors.SnapshotError` line naming the path, with a hint. Stdlib only.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

from ibovcli.errors import SnapshotError

MIB = 1024 * 1024
#: Default cap on one input file. Saved B3 snapshots are 2-20 KB (CSV or JSON) and a daily COTAHIST
#: file under 2 MB, so 64 MiB (the same as the HTTP cap) leaves room without letting a wrong path fill
#: the memory. Callers reading annual COTAHIST zips (~90 MB) pass a larger ``max_bytes``.
DEFAULT_MAX_INPUT_BYTES = 64 * MIB
#: The setting the lead wires to ``max_bytes`` (whole MiB), named in the "too big" hint.
MAX_INPUT_SETTING = "IBOV_MAX_INPUT_MB"

_CHUNK = 1024 * 1024


def read_input(path: Path, *, max_bytes: int = DEFAULT_MAX_INPUT_BYTES, flag: str = "--from") -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them, else :class:`SnapshotError`.

    Refused at once, each with a one-line message naming ``path`` and a hint mentioning ``flag``: a
    missing file, a directory, a FIFO, a character or block device, a socket, a file that cannot be
    read (permissions), and a file larger than ``max_bytes`` (by its size before reading, and again
    while reading, for files that grow or report no size). Symbolic links to regular files are followed.
    """
    shown = _show(path)
    try:
        st = os.stat(path)  # follows symlinks: what an open() would reach, without opening it
    except OSError as exc:
        raise _os_error(exc, shown, flag) from None
    _check_kind(st.st_mode, shown, flag)
    _check_size(st.st_size, max_bytes, shown)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since stat(), open() still returns at once
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(exc, shown, flag) from None
    with open(fd, "rb", buffering=0, closefd=True) as f:
        st = os.fstat(fd)  # the file actually opened
        _check_kind(st.st_mode, shown, flag)
        _check_size(st.st_size, max_bytes, shown)
        out = io.BytesIO()
        size = 0
        while True:
            try:
                chunk = f.read(min(_CHUNK, max_bytes + 1 - size))
            except OSError as exc:
                raise _os_error(exc, shown, flag) from None
            if not chunk:
                return out.getvalue()
            size += len(chunk)
            if size > max_bytes:
                raise _too_big(
                    f"{shown} grew past the {_size(max_bytes)} cap for input files while being read"
                )
            out.write(chunk)


def _check_kind(mode: int, shown: str, flag: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise SnapshotError(f"{shown} is a directory, not a file", hint=f"Pass a file to {flag}.")
    kinds = (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    raise SnapshotError(
        f"{shown} is {kind}, not a regular file: refused",
        hint=f"{flag} reads saved files only; save the data to a file first and pass that file.",
    )


def _check_size(size: int, max_bytes: int, shown: str) -> None:
    if size > max_bytes:
        raise _too_big(f"{shown} is {size:,} bytes, over the {_size(max_bytes)} cap for input files")


def _too_big(message: str) -> SnapshotError:
    return SnapshotError(
        f"{message}: refused",
        hint=f"Check that this is the file you meant; if it is, raise the cap with {MAX_INPUT_SETTING} "
        "(MiB).",
    )


def _os_error(exc: OSError, shown: str, flag: str) -> SnapshotError:
    code = exc.errno
    if code == errno.ENOENT:
        return SnapshotError(f"no such file: {shown}", hint=f"Check the path given to {flag}.")
    if code == errno.ENOTDIR:
        return SnapshotError(
            f"no such file: {shown} (a part of the path is not a directory)",
            hint=f"Check the path given to {flag}.",
        )
    if code == errno.EISDIR:
        return SnapshotError(f"{shown} is a directory, not a file", hint=f"Pass a file to {flag}.")
    if code in (errno.EACCES, errno.EPERM):
        return SnapshotError(
            f"cannot read {shown}: permission denied",
            hint="Check the file's permissions (ls -l) or copy it somewhere readable.",
        )
    if code == errno.ELOOP:
        return SnapshotError(
            f"cannot read {shown}: too many levels of symbolic links", hint="Check the symlink's target."
        )
    if code == errno.ENXIO:  # e.g. a socket, or a FIFO opened for writing without a reader
        return SnapshotError(
            f"{shown} is not a regular file: refused",
            hint=f"{flag} reads saved files only; save the data to a file first and pass that file.",
        )
    reason = exc.strerror or type(exc).__name__
    return SnapshotError(f"cannot read {shown}: {reason}", hint=f"Check the path given to {flag}.")


def _size(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n:,} bytes"


def _show(path: Path) -> str:
    """``path`` on one line: control characters (a newline in a file name) escaped."""
    text = os.fsdecode(path)
    if text.isprintable():
        return text
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")

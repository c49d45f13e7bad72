"""Files ibov writes for a user (charts, reports, exports): whole or not at all, never in a surprise place.

A file is written under a temporary name in its folder and renamed, so a reader (or a failure half way)
never sees half a file; an existing directory at that path is refused, and so is a folder that does not
exist (ibov does not silently create a chain of missing folders).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from ibovcli.errors import ConfigError, UsageError


def check_output(path: Path) -> Path:
    """Refuse an output path that is a directory or whose folder does not exist (before any work)."""
    if path.is_dir():
        raise UsageError(f"--out {path} is a directory", hint="Give a file name, e.g. --out chart.png.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"the folder {parent} does not exist", hint=f"Create it first (mkdir -p {parent}).")
    return path


def write_output(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    check_output(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror}", hint="Check the folder's permissions and free space."
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()

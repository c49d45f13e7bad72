"""Audit the runtime dependencies of ibov (not the dev tools) with pip-audit.

Walks the installed ``ibov`` distribution's requirements to their installed versions, writes them
pinned, and runs ``pip-audit --disable-pip --no-deps`` on that list. Exit code: pip-audit's.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from importlib import metadata


def runtime_closure(root: str = "ibov") -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist.version
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0])
    seen.pop(root, None)
    return seen


def main() -> int:
    pins = runtime_closure()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("".join(f"{k}=={v}\n" for k, v in sorted(pins.items())))
    print(f"auditing {len(pins)} runtime packages", file=sys.stderr)
    cmd = [
        sys.executable,
        "-m",
        "pip_audit",
        "--progress-spinner",
        "off",
        "--disable-pip",
        "--no-deps",
        "-r",
        fh.name,
    ]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())

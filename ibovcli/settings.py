"""Settings: flags override ``IBOV_*`` environment variables, which override defaults.

AWS credentials never pass through here: boto3's own chain (profiles, env, roles) provides them.
Stdlib only, so that ``ibov --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ibovcli.errors import ConfigError

Engine = Literal["local", "aws"]


def default_lake_dir() -> Path:
    """Per-user data directory: ``$XDG_DATA_HOME/ibov/lake`` (``~/.local/share/ibov/lake``)."""
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "ibov" / "lake"


def table_name(name: str) -> str:
    """A valid refined-table name (:func:`ibovcli.schema.check_table_name`), or :class:`ConfigError`."""
    from ibovcli.schema import check_table_name

    try:
        return check_table_name(name)
    except ValueError as exc:
        raise ConfigError(
            str(exc), hint="Check IBOV_TABLE and the stack's RefinedTableName output."
        ) from None


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


@dataclass
class Settings:
    engine: Engine = "local"
    lake_dir: Path = field(default_factory=default_lake_dir)
    b3_url: str = "https://sistemaswebb3-listados.b3.com.br"
    b3_insecure: bool = False
    b3_page_size: int = 120
    http_deadline: float = 90.0
    http_timeout: float = 30.0
    lock_timeout: float = 120.0
    stack_name: str = "ibov"
    bucket: str | None = None
    glue_job: str | None = None
    workgroup: str | None = None
    table: str | None = None
    region: str | None = None
    profile: str | None = None

    @classmethod
    def load(cls, **flags: Any) -> Settings:
        """Defaults <- ``IBOV_*`` environment <- flags that are not ``None``."""
        env = os.environ
        s = cls()
        engine = env.get("IBOV_ENGINE")
        if engine:
            s.engine = engine.strip().lower()  # type: ignore[assignment]
        if env.get("IBOV_LAKE_DIR"):
            s.lake_dir = Path(env["IBOV_LAKE_DIR"])
        if env.get("IBOV_B3_URL"):
            s.b3_url = env["IBOV_B3_URL"]
        s.b3_insecure = _env_bool("IBOV_B3_INSECURE")
        page_size = os.environ.get("IBOV_B3_PAGE_SIZE")
        if page_size:
            if not page_size.isdigit() or not 1 <= int(page_size) <= 9999:
                raise ConfigError(f"IBOV_B3_PAGE_SIZE must be a whole number 1-9999, got {page_size!r}")
            s.b3_page_size = int(page_size)
        s.http_deadline = _env_float("IBOV_HTTP_DEADLINE", s.http_deadline)
        s.http_timeout = _env_float("IBOV_HTTP_TIMEOUT", s.http_timeout)
        s.lock_timeout = _env_float("IBOV_LOCK_TIMEOUT", s.lock_timeout)
        s.stack_name = env.get("IBOV_STACK") or s.stack_name
        s.bucket = env.get("IBOV_BUCKET") or None
        s.glue_job = env.get("IBOV_GLUE_JOB") or None
        s.workgroup = env.get("IBOV_WORKGROUP") or None
        s.table = env.get("IBOV_TABLE") or None
        s.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        s.profile = env.get("AWS_PROFILE") or None
        names = {f.name for f in fields(cls)}
        for key, value in flags.items():
            if key not in names:
                raise TypeError(f"unknown setting {key}")
            if value is not None:
                setattr(s, key, Path(value) if key == "lake_dir" else value)
        if s.table is not None:
            s.table = table_name(s.table)
        if s.engine not in ("local", "aws"):
            raise ConfigError(f"engine must be 'local' or 'aws', got {s.engine!r}")
        s.lake_dir = s.lake_dir.expanduser()
        return s

"""Settings: flags override ``IBOV_*`` environment variables, which override the defaults below.

Every default lives here, once. AWS credentials never pass through here: boto3's own chain (profiles,
env, roles) provides them. Stdlib only, so that ``ibov --help`` stays fast.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ibovcli.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from ibovcli.fetch import HttpPolicy

Engine = Literal["local", "aws"]
ENGINES = ("local", "aws")

DEFAULT_B3_URL = "https://sistemaswebb3-listados.b3.com.br"
DEFAULT_QUOTES_URL = "https://bvmf.bmfbovespa.com.br/InstDados/SerHist"


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
    """A valid table name (:func:`ibovcli.schema.check_table_name`), or :class:`ConfigError`."""
    from ibovcli.schema import check_table_name

    try:
        return check_table_name(name)
    except ValueError as exc:
        raise ConfigError(
            str(exc), hint="Check IBOV_TABLE and the stack's RefinedTableName output."
        ) from None


def check_lake_path(path: Path, error: type[ConfigError] | type[UsageError]) -> Path:
    """A lake path DuckDB can hold a catalog in: it takes a ``?`` in a database path for the start of
    connection options (and writes its log beside the wrong name), and a backslash for a separator, so
    such a path is refused."""
    bad = [c for c in ("?", "\\") if c in str(path)]
    if bad:
        raise error(
            f"the lake path {str(path)!r} contains {bad[0]!r}, which the local catalog (DuckDB) cannot open",
            hint="Rename the folder, or choose another with --lake / IBOV_LAKE_DIR.",
        )
    return path


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _number(
    name: str, raw: str, *, whole: bool = False, lowest: float = 0.0, highest: float = math.inf
) -> float:
    """A positive, finite number from the environment (``nan``, ``inf``, 0 and negatives are refused)."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not lowest < value <= highest or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        limit = f" up to {highest:g}" if math.isfinite(highest) else ""
        raise ConfigError(f"{name} must be {kind} above {lowest:g}{limit}, got {raw!r}")
    return value


#: Environment variable -> (setting, kind); kind "text", "path", "bool", "seconds", "count", "mb"
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "IBOV_ENGINE": ("engine", "text"),
    "IBOV_LAKE_DIR": ("lake_dir", "path"),
    "IBOV_B3_URL": ("b3_url", "text"),
    "IBOV_QUOTES_URL": ("quotes_url", "text"),
    "IBOV_B3_INSECURE": ("b3_insecure", "bool"),
    "IBOV_B3_PAGE_SIZE": ("b3_page_size", "count"),
    "IBOV_HTTP_TIMEOUT": ("http_timeout", "seconds"),
    "IBOV_HTTP_DEADLINE": ("http_deadline", "seconds"),
    "IBOV_HTTP_MAX_MB": ("max_download_bytes", "mb"),
    "IBOV_MAX_INPUT_MB": ("max_input_bytes", "mb"),
    "IBOV_LOCK_TIMEOUT": ("lock_timeout", "seconds"),
    "IBOV_MAX_ROWS": ("max_rows", "count"),
    "IBOV_STACK": ("stack_name", "text"),
    "IBOV_BUCKET": ("bucket", "text"),
    "IBOV_GLUE_JOB": ("glue_job", "text"),
    "IBOV_WORKGROUP": ("workgroup", "text"),
    "IBOV_TABLE": ("table", "text"),
    "AWS_PROFILE": ("profile", "text"),
}


@dataclass
class Settings:
    engine: Engine = "local"
    lake_dir: Path = field(default_factory=default_lake_dir)
    b3_url: str = DEFAULT_B3_URL
    quotes_url: str = DEFAULT_QUOTES_URL
    b3_insecure: bool = False
    b3_page_size: int = 120
    #: seconds for one HTTP answer, and for every request of a command, retries included
    http_timeout: float = 30.0
    http_deadline: float = 90.0
    #: largest answer ibov reads from B3 (after decompression), and largest --from file
    max_download_bytes: int = 64 * 1024 * 1024
    max_input_bytes: int = 64 * 1024 * 1024
    #: most rows one snapshot may have (quality.MAX_ROWS)
    max_rows: int = 2000
    #: seconds a command waits, in all, for another writer of the same lake
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
        s = cls()
        env = os.environ
        for name, (attr, kind) in ENVIRONMENT.items():
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                continue
            raw = raw.strip()
            if kind == "bool":
                setattr(s, attr, _env_bool(name))
            elif kind == "path":
                setattr(s, attr, Path(raw))
            elif kind == "seconds":
                setattr(s, attr, _number(name, raw, highest=86_400))
            elif kind == "count":
                setattr(s, attr, int(_number(name, raw, whole=True, highest=9999)))
            elif kind == "mb":
                setattr(s, attr, int(_number(name, raw, highest=1_000_000) * 1024 * 1024))
            else:
                setattr(s, attr, raw.lower() if attr == "engine" else raw)
        s.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        names = {f.name for f in fields(cls)}
        for key, value in flags.items():
            if key not in names:
                raise TypeError(f"unknown setting {key}")
            if value is not None:
                setattr(s, key, Path(value) if key == "lake_dir" else value)
        if s.table is not None:
            s.table = table_name(s.table)
        if s.engine not in ENGINES:
            raise ConfigError(f"engine must be 'local' or 'aws', got {s.engine!r}")
        if str(s.lake_dir).strip() == "":
            raise ConfigError("the lake path is empty", hint="Pass a directory to --lake or IBOV_LAKE_DIR.")
        s.lake_dir = s.lake_dir.expanduser()
        check_lake_path(s.lake_dir, ConfigError)
        return s

    def http_policy(self) -> HttpPolicy:
        """The time and size bounds of every B3 request of a command."""
        from ibovcli.fetch import HttpPolicy

        return HttpPolicy(
            read_timeout=self.http_timeout,
            connect_timeout=min(10.0, self.http_timeout),
            deadline=self.http_deadline,
            verify_tls=not self.b3_insecure,
            max_bytes=self.max_download_bytes,
        )

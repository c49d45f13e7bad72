"""The options every ibov command shares, declared once, and the CLI's one error path.

:func:`shared` adds the shared options to a command's signature (so they are accepted after the command
name, ``ibov query top-weights --lake DIR``, and listed in its ``--help``) and hands the command one
:class:`Common` object instead. Nothing here imports a heavy module.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ibovcli.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    """What the error path needs to know about the command being run."""

    debug = False


STATE = _State()


def debug_requested() -> bool:
    return STATE.debug or os.environ.get("IBOV_DEBUG", "") not in ("", "0")


@dataclass
class Common:
    """The shared options of one command, as given (``None``: not given)."""

    lake: str | None = None
    engine: str | None = None
    bucket: str | None = None
    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    json: bool = False
    debug: bool = False

    def settings(self, **extra: Any) -> Any:
        """The command's :class:`~ibovcli.settings.Settings`: flags over ``IBOV_*`` over defaults."""
        from ibovcli.settings import Settings

        if self.lake is not None and not self.lake.strip():
            raise UsageError("--lake is empty", hint="Pass a directory, e.g. --lake ./lake.")
        if self.lake is not None:
            from ibovcli.settings import check_lake_path

            check_lake_path(Path(self.lake), UsageError)
        if self.engine is not None and self.engine not in ("local", "aws"):
            raise UsageError(f"--engine must be local or aws, not {self.engine!r}")
        flags = {
            "lake_dir": Path(self.lake) if self.lake else None,
            "engine": self.engine,
            "bucket": self.bucket,
            "stack_name": self.stack_name,
            "region": self.region,
            "profile": self.profile,
        }
        flags.update(extra)
        return Settings.load(**flags)

    def notify(self) -> Callable[[str], None]:
        """Progress notes on stderr."""
        from ibovcli import render

        return render.note


ENGINE_OPTIONS: dict[str, Any] = {
    "lake": Annotated[
        str | None,
        typer.Option(
            "--lake",
            metavar="DIR",
            help="Lake directory (local engine). Env: IBOV_LAKE_DIR. Default: ~/.local/share/ibov/lake.",
            show_default=False,
        ),
    ],
    "engine": Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="local|aws",
            help="local (default) or aws. Env: IBOV_ENGINE.",
            show_default=False,
        ),
    ],
    "bucket": Annotated[
        str | None,
        typer.Option(
            "--bucket",
            metavar="NAME",
            help="AWS: data bucket (default: from the stack outputs). Env: IBOV_BUCKET.",
            show_default=False,
        ),
    ],
    "stack_name": Annotated[
        str | None,
        typer.Option(
            "--stack-name",
            metavar="NAME",
            help="AWS: CloudFormation stack name. Env: IBOV_STACK. Default: ibov.",
            show_default=False,
        ),
    ],
    "region": Annotated[
        str | None,
        typer.Option(
            "--region",
            metavar="REGION",
            help="AWS region (default: boto3's, e.g. AWS_REGION).",
            show_default=False,
        ),
    ],
    "profile": Annotated[
        str | None,
        typer.Option(
            "--profile", metavar="PROFILE", help="AWS profile (default: boto3's chain).", show_default=False
        ),
    ],
}
JSON_OPTION: dict[str, Any] = {
    "json": Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")],
}
DEBUG_OPTION: dict[str, Any] = {
    "debug": Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")],
}
AWS_OPTIONS = ("stack_name", "region", "profile")


def shared(*, engine: bool = True, json: bool = True, aws_only: bool = False) -> Callable[[F], F]:
    """Give a command the shared options; it receives them as its first parameter, a :class:`Common`.

    ``engine``: --lake, --engine, --bucket and the AWS options; ``aws_only``: only --stack-name,
    --region, --profile (deploy/destroy declare their own --bucket); ``json``: --json. Every command
    gets --debug.
    """
    options: dict[str, Any] = {}
    if engine:
        options.update(ENGINE_OPTIONS)
    elif aws_only:
        options.update({k: v for k, v in ENGINE_OPTIONS.items() if k in AWS_OPTIONS})
    if json:
        options.update(JSON_OPTION)
    options.update(DEBUG_OPTION)

    def decorate(fn: F) -> F:
        own = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]  # the first is Common
        names = {p.name for p in own}
        if names & set(options):
            raise TypeError(f"{fn.__name__} redeclares shared options {sorted(names & set(options))}")
        extra = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=False if name in ("json", "debug") else None,
                annotation=annotation,
            )
            for name, annotation in options.items()
        ]

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            common = Common(**{k: kwargs.pop(k) for k in list(kwargs) if k in options})
            STATE.debug = common.debug
            return fn(common, *args, **kwargs)

        params = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind is p.POSITIONAL_OR_KEYWORD else p
            for p in own
        ]
        command.__signature__ = inspect.Signature(params + extra)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params + extra}
        return command  # type: ignore[return-value]

    return decorate


def complete_index(incomplete: str) -> list[str]:
    """The B3 index codes starting with what was typed, for shell completion."""
    from ibovcli import indices

    return [c for c in indices.codes() if c.startswith(incomplete.upper())]


def fail_on(failures: Sequence[Any]) -> None:
    """After printing results: one line per failure, then exit with the first failure's code."""
    if not failures:
        return
    if debug_requested():
        raise failures[0].error
    from ibovcli import render
    from ibovcli.errors import NotTried

    not_tried = [f.what for f in failures if isinstance(f.error, NotTried)]
    for f in failures:
        if isinstance(f.error, NotTried):
            continue  # said once, with the failure that stopped them
        message = f.error.message if f.what in f.error.message else f"{f.what}: {f.error.message}"
        if not_tried and getattr(f.error, "unreachable", False):
            shown = ", ".join(not_tried[:8]) + (
                f" and {len(not_tried) - 8} more" if len(not_tried) > 8 else ""
            )
            others = "1 other request was" if len(not_tried) == 1 else f"{len(not_tried)} other requests were"
            message += f"; so {others} not tried ({shown})"
            not_tried = []
        render.error_line(message, f.error.hint)
    raise typer.Exit(failures[0].error.exit_code)


#: ``--from``/``--to`` of the commands that take a range of stored days (charts, export).
FromDateOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="YYYY-MM-DD",
        help="First session YYYY-MM-DD (default: the first stored).",
        show_default=False,
    ),
]
ToDateOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="YYYY-MM-DD",
        help="Last session YYYY-MM-DD (default: the latest stored).",
        show_default=False,
    ),
]


#: ``--format`` of every command that prints rows (saved queries, ``ibov sql``).
FormatOpt = Annotated[
    str,
    typer.Option("--format", "-f", metavar="table|json|csv", help="Output format (--json is --format json)."),
]


def output_format(fmt: str, json_flag: bool) -> str:
    """``table``, ``json`` or ``csv`` from ``--format`` and ``--json`` (which contradict each other unless
    they agree)."""
    if fmt not in ("table", "json", "csv"):
        raise UsageError(f"--format must be table, json or csv, not {fmt!r}")
    if json_flag and fmt not in ("table", "json"):
        raise UsageError(f"--json and --format {fmt} contradict each other", hint="Give one of them.")
    return "json" if json_flag else fmt

"""``ibov query NAME``: one command per saved query (``ibov/sql/queries/*.sql``), with its own options.

Each saved query's header declares its parameters; they become the command's options, so ``ibov query
top-weights --help`` shows that query's parameters, defaults and an example, and shell completion
offers the query names, the index codes and the tickers stored in the lake.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from ibovcli.cli_options import Common, FormatOpt, complete_index, output_format, shared

if TYPE_CHECKING:  # imported when a query command runs, not by `ibov --help`
    from ibovcli import queries


class _QueryGroup(TyperGroup):
    """One subcommand per saved query, built only when it is used (a query file is parsed then, not at
    start-up); an unknown name is one error line with the nearest name (not Click's usage block)."""

    def list_commands(self, ctx: Any) -> list[str]:
        from ibovcli import queries

        return queries.names()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        from ibovcli import queries

        if cmd_name not in self.commands and cmd_name in queries.names():
            one = typer.Typer(rich_markup_mode=None, add_completion=False)
            saved = queries.get(cmd_name)
            one.command(saved.name, help=_help(saved))(_command(saved))
            self.commands[cmd_name] = typer.main.get_command(one)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The saved queries and their descriptions, read from the SQL headers (no command is built)."""
        from ibovcli import queries

        rows = [(name, queries.get(name).description) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        from ibovcli import queries

        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            queries.get(args[0])  # raises UsageError, with "did you mean"
        return super().resolve_command(ctx, args)


query_app = typer.Typer(
    cls=_QueryGroup,
    rich_markup_mode=None,
    name="query",
    help="Run a saved SQL query on the catalog tables (DuckDB locally, Athena on AWS).\n\n"
    "Weights are percentages, in columns named *weight_pct. Dates take YYYY-MM-DD, latest or first.\n\n"
    "Examples:\n\n"
    "\b\n"
    "  ibov query --list\n"
    "  ibov query top-weights --index IBOV --date 2025-07-10 --limit 5 --json\n"
    "  ibov query weight-history --ticker PETR4 --format csv > petr4.csv\n"
    "  ibov query top-weights --help     # a query's own parameters",
    invoke_without_command=True,
    no_args_is_help=False,
)

METAVARS = {"index": "CODE", "ticker": "TICKER", "date": "YYYY-MM-DD", "int": "N", "string": "TEXT"}


def complete_ticker(ctx: typer.Context, incomplete: str) -> list[str]:
    """The tickers stored in the lake (local engine), for shell completion; nothing on any error."""
    try:
        common = Common(lake=ctx.params.get("lake"))
        settings = common.settings()
        if settings.engine != "local":
            return []
        from ibovcli.engines.local import LocalEngine

        engine = LocalEngine(settings)
        try:
            sql = (
                "SELECT DISTINCT ticker FROM ${portfolio} WHERE starts_with(ticker, :prefix) "
                "ORDER BY 1 LIMIT 200"
            )
            _cols, rows = engine.sql(sql, {"prefix": incomplete.upper()}, what="completion")
        finally:
            engine.close()
        return [str(r[0]) for r in rows]
    except Exception:
        return []


def _option_name(name: str) -> str:
    return name + "_" if name in ("from", "format", "list") else name


def _help(q: queries.SavedQuery) -> str:
    lines = [q.description, ""]
    if q.notes:
        lines += [q.notes, ""]
    if q.examples:
        lines += ["Examples:", ""]
        lines += [f"  ibov query {q.name} {example}".rstrip() + "\n" for example in q.examples]
    return "\n".join(lines)


def _command(q: queries.SavedQuery) -> Any:
    """A Typer command for saved query ``q``: its parameters as options, then the shared options."""
    params = [inspect.Parameter("common", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Common)]
    for p in q.params:
        short = {"index": ["-i"], "ticker": ["-t"]}.get(p.type, [])
        default = "required" if p.default is None else f"default: {p.default}"
        option = typer.Option(
            f"--{p.name.replace('_', '-')}",
            *short,
            metavar=METAVARS.get(p.type) or p.type[len("choice(") : -1].replace(",", "|"),
            help=f"{p.help} ({default})",
            show_default=False,
            autocompletion=complete_index
            if p.type == "index"
            else complete_ticker
            if p.type == "ticker"
            else None,
        )
        params.append(
            inspect.Parameter(
                _option_name(p.name),
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[str | None, option],
            )
        )
    params.append(
        inspect.Parameter("format_", inspect.Parameter.KEYWORD_ONLY, default="table", annotation=FormatOpt)
    )

    def command(common: Common, **kwargs: Any) -> None:
        run_saved(common, q, kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__name__ = q.name.replace("-", "_")
    command.__doc__ = _help(q)
    return shared()(command)


def run_saved(common: Common, q: queries.SavedQuery, kwargs: dict[str, Any]) -> None:
    from ibovcli import pipeline, render

    fmt = output_format(kwargs.pop("format_"), common.json)
    given = {p.name: kwargs.get(_option_name(p.name)) for p in q.params}
    result = pipeline.query(
        common.settings(), q.name, {k: v for k, v in given.items() if v is not None}, notify=common.notify()
    )
    render.query_result(result, fmt)


@query_app.callback()
@shared(engine=False)
def _query_root(
    common: Common,
    ctx: typer.Context,
    list_: Annotated[
        bool, typer.Option("--list", help="List the saved queries and their parameters.")
    ] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from ibovcli import queries, render

    saved = queries.load_all()
    if common.json:
        render.print_json(
            [
                {
                    "name": q.name,
                    "dataset": q.dataset,
                    "description": q.description,
                    "params": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "default": p.default,
                            "required": p.default is None,
                            "help": p.help,
                        }
                        for p in q.params
                    ],
                }
                for q in saved.values()
            ]
        )
        return
    render.print_table(
        ["name", "description", "parameters"],
        [
            (
                q.name,
                q.description,
                " ".join(f"--{p.name}" + (" (required)" if p.default is None else "") for p in q.params),
            )
            for q in saved.values()
        ],
    )
    if not list_:
        render.note("`ibov query NAME --help` shows a query's parameters and an example")

"""The README stays true to the code: every column, command, saved query and exit code is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from ibovcli import errors, queries, schema
from ibovcli.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    block = README.split("```")[1].strip().splitlines()
    assert [line.split()[0:2] for line in block[1:]] == [["make", "run"], ["make", "test"]]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_column_is_documented() -> None:
    for column in (*schema.RAW, *schema.REFINED, *schema.REFINED_PARTITION_COLUMNS):
        assert f"`{column.name}`" in README, column.name


def test_every_command_and_saved_query_is_documented() -> None:
    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"ibov {name}" in README, name
    for name in queries.load_all():
        assert f"`{name}`" in README, name


def test_every_exit_code_is_documented() -> None:
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.IbovError)
    }
    for code in codes | {0, 2}:
        assert f"\n| {code} |" in README, code

"""The README stays true to the code: every column, command, saved query and exit code is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from ibovcli import datasets, errors, queries
from ibovcli.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: everything a user can read: the README and the documents under docs/
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def test_readme_starts_with_the_two_commands() -> None:
    block = README.split("```")[1].strip().splitlines()
    assert [line.split()[0:2] for line in block[1:]] == [["make", "run"], ["make", "test"]]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_column_is_documented() -> None:
    for dataset in datasets.ALL.values():
        for column in (*dataset.raw_columns, *dataset.columns):
            assert f"`{column.name}`" in DOCS, (dataset.name, column.name)


def test_every_command_and_saved_query_is_documented() -> None:
    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"ibov {name}" in DOCS, name
    for name in queries.load_all():
        assert f"`{name}`" in DOCS, name


def test_every_exit_code_is_documented() -> None:
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.IbovError)
    }
    for code in codes | {0, 2}:
        assert f"\n| {code} |" in DOCS, code


def test_the_cli_reference_is_generated_from_the_app() -> None:
    """docs/cli.md is `python tools/cli_docs.py --write`'s output: the tests fail when it is stale."""
    import runpy

    generator = runpy.run_path(str(ROOT / "tools" / "cli_docs.py"))
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == generator["render"](), (
        "run: python tools/cli_docs.py --write"
    )


def test_every_test_the_documents_name_exists() -> None:
    """A guarantee is only as good as the test it names: each one named in the docs must exist."""
    import re

    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py")}
    everything = "".join(sources.values())
    for path, test in re.findall(r"tests/(test_\w+\.py)::(test_\w+)", DOCS):
        assert path in sources and f"def {test}(" in sources[path], f"{path}::{test}"
    for test in set(re.findall(r"`(test_\w+)`", DOCS)):
        assert f"def {test}(" in everything, test
    for path in set(re.findall(r"`tests/(test_\w+\.py)", DOCS)):
        assert path in sources, path


def test_the_column_reference_is_generated_from_the_datasets() -> None:
    """docs/datasets.md's columns are `python tools/dataset_docs.py --write`'s output."""
    import runpy

    generator = runpy.run_path(str(ROOT / "tools" / "dataset_docs.py"))
    text = (ROOT / "docs" / "datasets.md").read_text(encoding="utf-8")
    assert generator["updated"](text) == text, "run: python tools/dataset_docs.py --write"

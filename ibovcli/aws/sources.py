"""Where the deployable sources live: the CloudFormation template, the Glue script, the Lambda handler.

They sit next to the ``ibovcli`` package in a source checkout (``infra/``, ``glue_scripts/``,
``lambda/``); ``ibov deploy`` packages them from there.
"""

from __future__ import annotations

from pathlib import Path

from ibovcli.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = "infra/cloudformation.yaml"
GLUE_SCRIPT = "glue_scripts/refine_job.py"
LAMBDA_HANDLER = "lambda/trigger.py"


def path(relative: str, root: Path = ROOT) -> Path:
    """``root/relative``, or :class:`ConfigError` when it is missing (ibov installed without its sources)."""
    p = root / relative
    if not p.is_file():
        raise ConfigError(
            f"{relative} not found under {root}",
            hint="`ibov deploy` packages the project's sources: run it from a checkout installed with "
            "`pip install -e .` (or `make setup`).",
        )
    return p

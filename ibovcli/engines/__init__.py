"""The engines that run the pipeline: local (a lake directory + DuckDB) and aws (S3, Lambda, Glue, Athena).

:func:`get_engine` imports the one asked for, lazily: the AWS engine pulls in boto3, the local one DuckDB.
"""

from __future__ import annotations

from ibovcli.engines.base import Engine, Notify, quiet
from ibovcli.settings import Settings

__all__ = ["Engine", "Notify", "get_engine", "quiet"]


def get_engine(settings: Settings, notify: Notify = quiet) -> Engine:
    """The engine the settings ask for."""
    if settings.engine == "aws":
        from ibovcli.engines.aws import AwsEngine

        return AwsEngine.from_settings(settings, notify)
    from ibovcli.engines.local import LocalEngine

    return LocalEngine(settings, notify)

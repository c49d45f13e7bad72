"""The one door to boto3: a session (profile, region), clients with one retry policy, error translation.

Credentials come only from boto3's own chain (environment, ``~/.aws`` profiles, SSO, instance roles,
Learner Lab session tokens). Endpoints too: boto3 >= 1.28.57 reads ``AWS_ENDPOINT_URL`` (and
``AWS_ENDPOINT_URL_<SERVICE>``) itself, which is how tests point ibov at a moto server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ibovcli import __version__
from ibovcli.errors import ConfigError, IbovError, SourceError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}


def botocore_config() -> Config:
    """Retries in standard mode (with its retry quota), a user agent naming ibov, bounded timeouts."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": 5},
        user_agent_extra=f"ibov/{__version__}",
        connect_timeout=10,
        read_timeout=60,
    )


class Aws:
    """A boto3 session and its clients (created once per service).

    ``clients`` pre-seeds clients by service name; tests hand in stubbed ones.
    """

    def __init__(self, session: boto3.Session, clients: dict[str, Any] | None = None) -> None:
        self.session = session
        self._clients: dict[str, Any] = dict(clients or {})

    @classmethod
    def connect(cls, profile: str | None = None, region: str | None = None) -> Aws:
        """A session for ``profile`` / ``region`` (``None``: boto3's defaults)."""
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            session = boto3.Session(profile_name=profile or None, region_name=region or None)
        except ProfileNotFound:
            raise ConfigError(
                f"no AWS profile named {profile!r}", hint="List them with `aws configure list-profiles`."
            ) from None
        if not session.region_name:
            raise ConfigError(
                "no AWS region configured", hint="Pass --region, or set AWS_REGION / a profile's region."
            )
        return cls(session)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=botocore_config())  # type: ignore[call-overload]
        return self._clients[service]

    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client

    def glue(self) -> GlueClient:
        client: GlueClient = self._client("glue")
        return client

    def athena(self) -> AthenaClient:
        client: AthenaClient = self._client("athena")
        return client

    def cloudformation(self) -> CloudFormationClient:
        client: CloudFormationClient = self._client("cloudformation")
        return client

    def sts(self) -> STSClient:
        client: STSClient = self._client("sts")
        return client

    def account_id(self) -> str:
        return str(self.sts().get_caller_identity()["Account"])


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``''`` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


@contextlib.contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Turn botocore's credential, permission, expiry and connection errors into :class:`IbovError`.

    ``doing`` completes "... while <doing>" in the message.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise ConfigError(
            f"no AWS credentials found while {doing}",
            hint="Configure them for boto3: `aws configure`, AWS_PROFILE, or the AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN variables (Learner Lab: AWS Details -> AWS CLI).",
        ) from None
    except NoRegionError:
        raise ConfigError(
            f"no AWS region configured while {doing}", hint="Pass --region or set AWS_REGION."
        ) from None
    except ConnectionError as exc:
        raise SourceError(
            f"cannot reach AWS while {doing}: {exc}",
            hint="Check the network, the region, and AWS_ENDPOINT_URL if you set one.",
        ) from None
    except ClientError as exc:
        code = error_code(exc)
        if code in _EXPIRED:
            raise ConfigError(
                f"the AWS credentials are invalid or expired ({code}) while {doing}",
                hint="Refresh them (Learner Lab: start the lab again and copy the new credentials).",
            ) from None
        if code in _DENIED:
            raise ConfigError(
                f"access denied while {doing}: {error_message(exc)}",
                hint="The identity in use lacks a permission; docs/aws.md lists what ibov needs.",
            ) from None
        raise IbovError(f"AWS error while {doing}: {code}: {error_message(exc)}") from exc
    except BotoCoreError as exc:
        raise IbovError(f"AWS error while {doing}: {exc}") from exc

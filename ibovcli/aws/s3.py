"""S3: lake objects (raw writes, inventories, refined footers) and bucket housekeeping for deploy/destroy."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ibovcli.aws.clients import error_code
from ibovcli.errors import ConfigError, NotDeployed

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_BUCKET = {"NoSuchBucket", "404", "NotFound"}


def put(client: S3Client, bucket: str, key: str, body: bytes, content_type: str) -> datetime | None:
    """Store ``body`` at ``key``; returns the server's time of the write (its ``Date`` header) if sent.

    The server's clock, not ours, is what the Glue run that this upload triggers is compared with.
    """
    from botocore.exceptions import ClientError

    try:
        response = client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except ClientError as exc:
        if error_code(exc) in _MISSING_BUCKET:
            raise NotDeployed(f"the bucket {bucket} does not exist") from None
        raise
    header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None


def delete(client: S3Client, bucket: str, key: str) -> None:
    """Remove ``key`` (no error when it does not exist; a missing bucket is :class:`NotDeployed`)."""
    from botocore.exceptions import ClientError

    try:
        client.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in _MISSING_BUCKET:
            raise NotDeployed(f"the bucket {bucket} does not exist") from None
        raise


def keys(client: S3Client, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix``."""
    return list(objects(client, bucket, prefix))


def objects(client: S3Client, bucket: str, prefix: str) -> dict[str, datetime]:
    """Every key under ``prefix``, with when it was last written."""
    from botocore.exceptions import ClientError

    out: dict[str, datetime] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.update({obj["Key"]: obj["LastModified"] for obj in page.get("Contents", [])})
    except ClientError as exc:
        if error_code(exc) in _MISSING_BUCKET:
            raise NotDeployed(f"the bucket {bucket} does not exist") from None
        raise
    return out


def rows_by_index(
    client: S3Client, bucket: str, keys: list[str], *, threads: int = 16
) -> dict[str, dict[str, int]]:
    """For each parquet key, its rows per index code (the ``index_code`` column, else the path's
    ``index_code=`` folder); a file that cannot be read maps to ``{"!": 0}`` with the reason as its key."""
    import io

    import pyarrow.parquet as pq

    def read(key: str) -> dict[str, int]:
        in_path = [p.split("=", 1)[1] for p in key.split("/") if p.startswith("index_code=")]
        try:
            parquet = pq.ParquetFile(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
            if in_path or "index_code" not in parquet.schema_arrow.names:
                return {in_path[0] if in_path else "": parquet.metadata.num_rows}
            out: dict[str, int] = {}
            for value in parquet.read(columns=["index_code"]).column("index_code").to_pylist():
                out[str(value)] = out.get(str(value), 0) + 1
            return out
        except Exception as exc:  # a damaged file: reported by verify, never fatal
            return {f"!{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}": 0}

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(zip(keys, pool.map(read, keys), strict=True))


@dataclass(frozen=True)
class RefinedStats:
    """What a refined prefix holds, read from the parquet files' footers and paths."""

    rows: int
    indices: tuple[str, ...]
    files: int


def refined_stats(client: S3Client, bucket: str, prefix: str, *, threads: int = 16) -> RefinedStats:
    """Rows and index codes under a refined prefix (one unit: a day's ~100 small files, or an index's
    years). The index code comes from the ``index_code`` column, or from the path when it is a partition."""
    import io

    import pyarrow.parquet as pq

    files = [k for k in keys(client, bucket, prefix) if k.endswith(".parquet")]

    def read(key: str) -> tuple[int, set[str]]:
        in_path = {p.split("=", 1)[1] for p in key.split("/") if p.startswith("index_code=")}
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        parquet = pq.ParquetFile(io.BytesIO(body))
        if in_path or "index_code" not in parquet.schema_arrow.names:
            return parquet.metadata.num_rows, in_path
        column = parquet.read(columns=["index_code"]).column("index_code")
        return parquet.metadata.num_rows, {str(v) for v in column.to_pylist()}

    rows = 0
    indices: set[str] = set()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for n, found in pool.map(read, files):
            rows += n
            indices |= found
    return RefinedStats(rows, tuple(sorted(indices)), len(files))


def bucket_state(client: S3Client, bucket: str) -> str:
    """``'ours'`` (exists, we can reach it), ``'missing'``, or ``'taken'`` (someone else's)."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in _MISSING_BUCKET:
            return "missing"
        if code in ("403", "AccessDenied", "Forbidden"):
            return "taken"
        raise
    return "ours"


def ensure_private_bucket(client: S3Client, bucket: str, region: str) -> bool:
    """Create ``bucket`` (private, encrypted, TLS-only) unless it exists; True when it was created."""
    state = bucket_state(client, bucket)
    if state == "taken":
        raise ConfigError(
            f"the bucket name {bucket} belongs to another account",
            hint="Bucket names are global; pass another name.",
        )
    if state == "ours":
        return False
    if region == "us-east-1":
        client.create_bucket(Bucket=bucket)
    else:
        client.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )
    client.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    if not client.meta.endpoint_url.startswith("https://"):
        return True  # a plain-http test endpoint (moto, LocalStack): a TLS-only policy would lock us out
    arn = f"arn:{client.meta.partition}:s3:::{bucket}"
    client.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [f"{arn}", f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    return True


def etag(client: S3Client, bucket: str, key: str) -> str | None:
    """The object's ETag without quotes, or ``None`` when there is no such object."""
    from botocore.exceptions import ClientError

    try:
        return str(client.head_object(Bucket=bucket, Key=key)["ETag"]).strip('"')
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def exists(client: S3Client, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def delete_keys(client: S3Client, bucket: str, keys: list[str]) -> int:
    """Delete these objects (their latest versions); a key that does not exist is no error. Returns how
    many were asked."""
    _delete(
        client, bucket, [{"Key": k} for k in keys], "Check your permissions on the bucket (s3:DeleteObject)."
    )
    return len(keys)


def _delete(client: S3Client, bucket: str, objects: list[dict[str, str]], hint: str) -> None:
    """``DeleteObjects`` 1,000 at a time (S3's limit); the first object S3 could not delete is a
    :class:`ConfigError` with ``hint``."""
    for start in range(0, len(objects), 1000):
        chunk = objects[start : start + 1000]
        result = client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})  # type: ignore[typeddict-item]
        errors = result.get("Errors", [])
        if errors:
            first = errors[0]
            raise ConfigError(
                f"could not delete s3://{bucket}/{first.get('Key')}: {first.get('Message')}",
                hint=hint + " Then retry.",
            )


def delete_bucket(client: S3Client, bucket: str, on_progress: Callable[[str], None]) -> int:
    """Delete every object version and delete marker of ``bucket``, then the bucket; returns the count.

    A missing bucket deletes nothing (0).
    """
    if bucket_state(client, bucket) == "missing":
        return 0
    deleted = 0
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        batch = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        _delete(client, bucket, batch, "Check the bucket's policies (object lock, MFA delete).")
        deleted += len(batch)
        on_progress(f"s3://{bucket}: {deleted} object versions deleted")
    client.delete_bucket(Bucket=bucket)
    return deleted


def bucket_region(client: S3Client, bucket: str) -> str:
    """The region ``bucket`` lives in (``GetBucketLocation`` answers ``None`` for us-east-1)."""
    location = client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def bucket_tags(client: S3Client, bucket: str) -> dict[str, str]:
    """The tags of ``bucket`` (``{}`` when it has none)."""
    from botocore.exceptions import ClientError

    try:
        tag_set = client.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchTagSet":
            return {}
        raise
    return {t["Key"]: t["Value"] for t in tag_set}


def read_json(client: S3Client, bucket: str, key: str) -> object | None:
    """The JSON document at ``key``, or ``None`` when the bucket or the key is missing."""
    from botocore.exceptions import ClientError

    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in {"NoSuchKey", *_MISSING_BUCKET}:
            return None
        raise
    try:
        document: object = json.loads(body)
    except ValueError:
        return None
    return document


def _function_name(arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` -> ``<name>``."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else arn


def remove_lambda_notifications(client: S3Client, bucket: str, function: str) -> int:
    """Stop ``bucket`` notifying the Lambda function named ``function``; returns how many entries went.

    PutBucketNotificationConfiguration replaces the whole configuration, so every other entry is written
    back as it was, without S3 re-validating its destinations (``SkipDestinationValidation``); an empty
    configuration turns notifications off (S3 API reference, PutBucketNotificationConfiguration:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html).
    """
    current = client.get_bucket_notification_configuration(Bucket=bucket)
    lambdas = current.get("LambdaFunctionConfigurations", [])
    keep = [c for c in lambdas if _function_name(c["LambdaFunctionArn"]) != function]
    removed = len(lambdas) - len(keep)
    if not removed:
        return 0
    config: dict[str, object] = {
        k: current[k]
        for k in ("TopicConfigurations", "QueueConfigurations", "EventBridgeConfiguration")
        if k in current
    }
    if keep:
        config["LambdaFunctionConfigurations"] = keep
    client.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration=config,  # type: ignore[arg-type]
        SkipDestinationValidation=True,
    )
    return removed


def publish_page(
    client: S3Client, session: Any, bucket: str, key: str, body: bytes, content_type: str, expires: int
) -> str:
    """Store a page at ``key`` (the bucket stays private) and return a presigned GET URL for it, valid
    ``expires`` seconds (at most 7 days, what SigV4 allows), signed with SigV4 by a client of
    ``session`` in the bucket's region."""
    from botocore.config import Config

    from ibovcli.aws.clients import botocore_config

    put(client, bucket, key, body, content_type)
    region = client.meta.region_name
    signer = session.client(
        "s3", region_name=region, config=botocore_config().merge(Config(signature_version="s3v4"))
    )
    url: str = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )
    return url

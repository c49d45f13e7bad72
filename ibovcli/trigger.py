"""The trigger decision: which refine jobs an S3 ``ObjectCreated`` event asks for.

The AWS Lambda (``lambda/trigger.py``) and the local engine both call :func:`refine_requests`, so the
rule "a new raw file under ``raw/`` ending in ``.parquet`` -> refine that whole day" lives here once.
Stdlib only: this module ships inside the Lambda's zip.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ibovcli import layout


@dataclass(frozen=True)
class RefineRequest:
    """Refine every raw file of ``day`` in ``bucket`` (one request per bucket and day)."""

    bucket: str
    day: date
    keys: tuple[str, ...]

    def job_arguments(self) -> dict[str, str]:
        """Arguments of the refine job (Glue job run arguments; the local runner reads the same)."""
        return {"--dt": self.day.isoformat(), "--bucket": self.bucket}


def object_keys(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(bucket, key)`` of every S3 record in an event; keys are URL-decoded as S3 encodes them."""
    out: list[tuple[str, str]] = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") if isinstance(record, Mapping) else None
        if not isinstance(s3, Mapping):
            continue
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if isinstance(bucket, str) and isinstance(key, str):
            out.append((bucket, urllib.parse.unquote_plus(key)))
    return out


def refine_requests(event: Mapping[str, Any]) -> list[RefineRequest]:
    """One :class:`RefineRequest` per (bucket, day) among the event's raw parquet keys, sorted by day.

    Keys outside ``raw/``, not ending in ``.parquet`` or with an impossible date are ignored.
    """
    grouped: dict[tuple[str, date], list[str]] = {}
    for bucket, key in object_keys(event):
        parsed = layout.parse_raw_key(key)
        if parsed is None:
            continue
        grouped.setdefault((bucket, parsed.day), []).append(key)
    return [
        RefineRequest(bucket=b, day=d, keys=tuple(sorted(set(keys))))
        for (b, d), keys in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def s3_event(bucket: str, keys: Iterable[str]) -> dict[str, Any]:
    """An S3 ``ObjectCreated:Put`` notification for ``keys``, as S3 would send it (keys URL-encoded)."""
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": urllib.parse.quote_plus(key, safe="/=")},
                },
            }
            for key in keys
        ]
    }

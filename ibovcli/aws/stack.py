"""The deployed CloudFormation stack: its state, parameters and outputs (the names of everything else)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ibovcli.aws.clients import error_code, error_message
from ibovcli.errors import NotDeployed

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

#: Stack states left by a failed first create: the stack holds nothing and must be deleted to retry.
DEAD = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS", "DELETE_FAILED"})

#: Output keys of infra/cloudformation.yaml that ibov reads.
OUT_BUCKET = "DataBucket"
OUT_GLUE_JOB = "GlueJobName"
OUT_WORKGROUP = "WorkGroup"
OUT_DATABASE = "Database"
OUT_TABLE = "RefinedTable"
OUT_TRIGGER = "TriggerFunction"


@dataclass(frozen=True)
class Stack:
    name: str
    stack_id: str
    status: str
    reason: str = ""
    updated: datetime | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def in_progress(self) -> bool:
        return self.status.endswith("_IN_PROGRESS") and self.status != "REVIEW_IN_PROGRESS"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason or None,
            "updated": self.updated.isoformat(timespec="seconds") if self.updated else None,
            "outputs": dict(self.outputs),
        }


def _is_missing(exc: BaseException) -> bool:
    return error_code(exc) == "ValidationError" and "does not exist" in error_message(exc)


def find(cfn: CloudFormationClient, name: str) -> Stack | None:
    """The stack called ``name`` (or with that stack id), or ``None`` when there is none."""
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if _is_missing(exc):
            return None
        raise
    if not stacks:
        return None
    s = stacks[0]
    if s["StackStatus"] == "DELETE_COMPLETE":
        return None
    return Stack(
        name=s["StackName"],
        stack_id=s.get("StackId", ""),
        status=s["StackStatus"],
        reason=s.get("StackStatusReason", ""),
        updated=s.get("LastUpdatedTime") or s.get("CreationTime"),
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in s.get("Parameters", [])},
        outputs={o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])},
    )


def describe(cfn: CloudFormationClient, name: str) -> Stack:
    """Like :func:`find`, but a missing stack is :class:`NotDeployed`."""
    stack = find(cfn, name)
    if stack is None:
        raise NotDeployed(f"no CloudFormation stack named {name!r} in this account and region")
    return stack

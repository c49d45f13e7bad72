"""``ibov deploy`` and ``ibov destroy``: the AWS stack's life cycle (the work: :mod:`ibovcli.aws.deploy`)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from ibovcli.cli_options import Common, shared

DataBucketOpt = Annotated[
    str | None,
    typer.Option(
        "--bucket",
        metavar="NAME",
        help="Data bucket the stack creates (globally unique). Env: IBOV_BUCKET. "
        "Default: the deployed stack's, else <stack>-<account>-<region>.",
        show_default=False,
    ),
]
ArtifactBucketOpt = Annotated[
    str | None,
    typer.Option(
        "--artifact-bucket",
        metavar="NAME",
        help="Bucket for the uploaded code, created if missing. "
        "Default: the deployed stack's, else <stack>-artifacts-<account>-<region>.",
        show_default=False,
    ),
]


def _progress() -> Any:
    from ibovcli import render

    started = time.monotonic()

    def progress(message: str) -> None:
        render.note(f"[{time.monotonic() - started:5.0f}s] {message}")

    return progress


@shared(engine=False, aws_only=True)
def deploy(
    common: Common,
    bucket: DataBucketOpt = None,
    artifact_bucket: ArtifactBucketOpt = None,
    role_arn: Annotated[
        str | None,
        typer.Option(
            "--role-arn",
            metavar="ARN",
            help="Use this existing IAM role for the Lambda and the Glue job instead of creating roles "
            "(accounts that cannot create roles, e.g. AWS Academy Learner Lab: the LabRole ARN). "
            "Kept on later deploys; pass --role-arn '' to go back to created roles.",
            show_default=False,
        ),
    ] = None,
    alert_email: Annotated[
        str | None,
        typer.Option(
            "--alert-email",
            metavar="EMAIL",
            help="E-mail to notify when the Glue job fails (confirm the subscription mail). Kept on later "
            "deploys; --alert-email '' removes it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or update the AWS stack: bucket, trigger Lambda, Glue job, Athena workgroup and queries.

    Packages the Glue script, the ibovcli modules and the Lambda, uploads them under content-hashed
    keys, then creates or updates the CloudFormation stack (infra/cloudformation.yaml) and waits,
    showing each stack event. Running it again is safe: unchanged code and settings change nothing.
    Credentials come from boto3's usual chain (profile, environment, SSO, role).

    Examples:

      ibov deploy

      ibov deploy --bucket my-ibov-data --alert-email me@example.com

      ibov deploy --role-arn arn:aws:iam::123456789012:role/LabRole    # AWS Academy Learner Lab
    """
    from ibovcli import render
    from ibovcli.aws import deploy as aws_deploy
    from ibovcli.aws.clients import Aws

    s = common.settings(engine="aws", bucket=bucket)
    aws = Aws.connect(s.profile, s.region)
    opts = aws_deploy.DeployOptions(
        stack=s.stack_name,
        data_bucket=s.bucket,
        artifact_bucket=artifact_bucket,
        role_arn=role_arn,
        alert_email=alert_email,
        table=s.table,
    )
    result = aws_deploy.deploy(aws, opts, progress=_progress())
    if common.json:
        render.print_json(result.as_json())
        return
    render.print_table(
        ["output", "value"],
        sorted(result.outputs.items()),
        title=f"stack {result.stack} in {aws.region}: {result.action} ({result.status})",
    )
    render.note("next: ibov run --engine aws   (or export IBOV_ENGINE=aws)")


@shared(engine=False, aws_only=True)
def destroy(
    common: Common,
    bucket: DataBucketOpt = None,
    delete_data: Annotated[
        bool,
        typer.Option(
            "--delete-data",
            help="Also delete the data bucket (every object version), the artifact bucket and the "
            "catalog table. Asks first unless --yes.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the AWS stack. The data bucket is kept unless --delete-data.

    A kept bucket is adopted again by the next `ibov deploy`, which reuses the settings of the last
    deploy (bucket, role, alert e-mail, table). The kept bucket stops notifying the deleted trigger.

    Examples:

      ibov destroy

      ibov destroy --delete-data --yes
    """
    from ibovcli import render
    from ibovcli.aws import deploy as aws_deploy
    from ibovcli.aws.clients import Aws

    s = common.settings(engine="aws", bucket=bucket)
    aws = Aws.connect(s.profile, s.region)
    target = aws_deploy.targets(aws, s.stack_name, data_bucket=s.bucket)
    if delete_data and not yes:
        what = f"the stack {s.stack_name} and " if target.stack else ""
        typer.confirm(
            f"Delete {what}every object version in s3://{target.data_bucket} and "
            f"s3://{target.artifact_bucket}, and the table {target.database}.{target.table}? "
            "This cannot be undone.",
            abort=True,
            err=True,
        )
    result = aws_deploy.destroy(aws, target, delete_data=delete_data, progress=_progress())
    if common.json:
        render.print_json(result.as_json())
        return
    rows: list[tuple[Any, ...]] = []
    if result.stack_deleted:
        rows.append(("stack", result.stack, "deleted"))
    rows += [("bucket", b, f"deleted ({n} object versions)") for b, n in result.deleted_buckets.items()]
    if result.table_deleted:
        rows.append(("table", f"{target.database}.{target.table}", "deleted"))
    rows += [("bucket", b, "kept") for b in result.kept]
    if result.notifications_removed:
        rows.append(("notification", target.data_bucket, "removed (it named the deleted trigger)"))
    render.print_table(["resource", "name", "result"], rows, title="destroy")
    if result.kept:
        render.note(
            "`ibov deploy` adopts kept buckets again, with the same settings; "
            "`ibov destroy --delete-data` removes them"
        )

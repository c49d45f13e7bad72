"""``ibov deploy`` / ``ibov destroy``: package the code, upload it, create or update the stack, or remove it.

Deploy, step by step (every step is safe to repeat):

1. package: the Glue script, a zip of the stdlib-only ``ibovcli`` modules the job imports (plus
   ``ibovcli/sql/``) for ``--extra-py-files``, and the Lambda zip (``lambda/trigger.py`` + the ``ibovcli``
   modules it imports). Zips are byte-for-byte reproducible, so unchanged code keeps its key.
2. upload them to the artifact bucket under content-hashed keys ``artifacts/<sha256>/<file>`` (created
   when missing: it must exist before the stack that references it, so it cannot be the stack's own
   data bucket).
3. create the stack, or update it (no changes is fine), or, when a previous ``destroy`` kept the data
   bucket, import that bucket into a new stack first; then wait, reporting each stack event.
4. remember the settings (buckets, role, alert e-mail, table) in the artifact bucket, so that a deploy
   after ``destroy`` (no stack left to read them from) reuses them; the template also tags the data
   bucket with the artifact bucket and the table, and those tags stay on the bucket ``destroy`` keeps.

Destroy deletes the stack, keeps both buckets (unless ``--delete-data``) and removes the kept data
bucket's event notification to the deleted trigger function.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibovcli import datasets, layout, schema
from ibovcli.aws import s3, sources, stack
from ibovcli.aws.clients import Aws, aws_errors, error_code, error_message
from ibovcli.errors import ConfigError, JobFailed
from ibovcli.settings import table_name

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

Progress = Callable[[str], None]
Sleep = Callable[[float], None]

GLUE_MODULES_ZIP = "ibovcli-modules.zip"
LAMBDA_ZIP = "trigger-lambda.zip"
CAPABILITIES = ["CAPABILITY_IAM"]
TAGS = [{"Key": "project", "Value": "ibov"}]
#: CloudFormation accepts inline template bodies up to this size; larger ones go through S3.
MAX_TEMPLATE_BODY = 51_200
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,39}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: The template's AlertEmail AllowedPattern (SNS would otherwise fail the subscription mid-create).
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DeployFailed(JobFailed):
    """A CloudFormation operation ended in failure (the stack rolled back)."""

    hint = "The stack events in the CloudFormation console tell the rest; fix the cause and deploy again."


def _quiet(_msg: str) -> None:
    return None


# ----------------------------------------------------------------------------------------------
# packaging


@dataclass(frozen=True)
class Artifact:
    name: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def key(self) -> str:
        """Content-hashed key: new content, new key, so CloudFormation sees the change."""
        return f"{layout.ARTIFACTS_PREFIX}{self.sha256}/{self.name}"


@dataclass(frozen=True)
class Package:
    glue_script: Artifact
    glue_modules: Artifact
    lambda_code: Artifact
    template: str

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        return (self.glue_script, self.glue_modules, self.lambda_code)


def _top_level_imports(source: str) -> set[str]:
    """Modules imported when ``source`` is executed (not inside functions, classes or TYPE_CHECKING)."""
    found: set[str] = set()

    def visit(statements: Iterable[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module:
                    found.add(node.module)
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(ast.parse(source).body)
    return found


def _module_file(root: Path, name: str) -> Path | None:
    """``ibovcli.layout`` -> ``root/ibovcli/layout.py`` (``None`` if ``name`` is not a module file)."""
    parts = name.split(".")
    if parts[0] != "ibovcli":
        return None
    package = root.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    module = root.joinpath(*parts[:-1], parts[-1] + ".py")
    return module if module.is_file() else None


def ibovcli_closure(root: Path, entry: Path, required: Iterable[str] = ()) -> list[Path]:
    """The ``ibovcli`` module files ``entry`` needs at import time, transitively, plus ``required``.

    Every one of them must import only the standard library and ``ibovcli`` at module level: they run on
    Glue's and Lambda's Python with nothing else installed.
    """
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    todo = [n for n in _top_level_imports(entry.read_text(encoding="utf-8")) if n.startswith("ibovcli")]
    todo += ["ibovcli", *required]
    files: dict[Path, None] = {}
    while todo:
        path = _module_file(root, todo.pop())
        if path is None or path in files:
            continue
        files[path] = None
        for name in _top_level_imports(path.read_text(encoding="utf-8")):
            top = name.split(".")[0]
            if top == "ibovcli":
                todo.append(name)
            elif top not in stdlib:
                rel = path.relative_to(root)
                raise ConfigError(
                    f"{rel} imports {top} at module level, but it ships to Glue/Lambda, where only the "
                    "standard library is available",
                    hint="Import the dependency inside the function that needs it.",
                )
    return sorted(files)


def _zip(entries: dict[str, bytes]) -> bytes:
    """A reproducible zip: sorted entries, fixed timestamps and permissions."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compresslevel=9)
    return buf.getvalue()


def _tree(root: Path, folder: str) -> dict[str, bytes]:
    base = root / folder
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }


def package(root: Path = sources.ROOT) -> Package:
    """Build the three artifacts and read the template."""
    script = sources.path(sources.GLUE_SCRIPT, root)
    handler = sources.path(sources.LAMBDA_HANDLER, root)
    template = sources.path(sources.TEMPLATE, root).read_text(encoding="utf-8")

    glue_files = ibovcli_closure(root, script, required=("ibovcli.datasets", "ibovcli.schema"))
    modules = {p.relative_to(root).as_posix(): p.read_bytes() for p in glue_files}
    modules.update(_tree(root, "ibovcli/sql"))

    lambda_files = ibovcli_closure(root, handler, required=("ibovcli.datasets", "ibovcli.trigger"))
    code = {p.relative_to(root).as_posix(): p.read_bytes() for p in lambda_files}
    code[handler.name] = handler.read_bytes()

    return Package(
        glue_script=Artifact(script.name, script.read_bytes()),
        glue_modules=Artifact(GLUE_MODULES_ZIP, _zip(modules)),
        lambda_code=Artifact(LAMBDA_ZIP, _zip(code)),
        template=template,
    )


# ----------------------------------------------------------------------------------------------
# names and parameters


def default_data_bucket(stack_name: str, account: str, region: str) -> str:
    return _bucket_name(f"{stack_name.lower()}-{account}-{region}")


def default_artifact_bucket(stack_name: str, account: str, region: str) -> str:
    return _bucket_name(f"{stack_name.lower()}-artifacts-{account}-{region}")


def _bucket_name(name: str) -> str:
    if not _BUCKET_RE.match(name) or ".." in name:
        raise ConfigError(f"{name!r} is not a valid S3 bucket name", hint="Pass --bucket with a valid name.")
    return name


def check_stack_name(name: str) -> str:
    if not _STACK_NAME_RE.match(name):
        raise ConfigError(
            f"{name!r} is not a usable stack name",
            hint="Use 1-40 letters, digits and hyphens, starting with a letter.",
        )
    return name


@dataclass(frozen=True)
class DeployOptions:
    stack: str = "ibov"
    data_bucket: str | None = None
    artifact_bucket: str | None = None
    #: ``None``: keep the deployed value (none at first); ``""``: create roles.
    role_arn: str | None = None
    alert_email: str | None = None
    table: str | None = None


def parameters(
    opts: DeployOptions, pkg: Package, previous: dict[str, str], account: str, region: str
) -> dict[str, str]:
    """The stack parameters: flags, else what the deployed stack has, else defaults."""
    data_bucket = opts.data_bucket or previous.get("DataBucketName")
    if previous.get("DataBucketName") and opts.data_bucket and opts.data_bucket != previous["DataBucketName"]:
        raise ConfigError(
            f"the stack {opts.stack} keeps its data in {previous['DataBucketName']}, not {opts.data_bucket}",
            hint="A deployed stack's data bucket cannot change; `ibov destroy` first, or drop --bucket.",
        )
    role_arn = opts.role_arn if opts.role_arn is not None else previous.get("ExistingRoleArn", "")
    alert_email = opts.alert_email if opts.alert_email is not None else previous.get("AlertEmail", "")
    if alert_email and not _EMAIL_RE.match(alert_email):
        raise ConfigError(
            f"{alert_email!r} is not an e-mail address",
            hint="Pass --alert-email NAME@DOMAIN, or '' for none.",
        )
    table = table_name(opts.table or previous.get("RefinedTableName") or datasets.PORTFOLIO.table)
    return {
        "DataBucketName": _bucket_name(data_bucket or default_data_bucket(opts.stack, account, region)),
        "ArtifactBucketName": _bucket_name(
            opts.artifact_bucket
            or previous.get("ArtifactBucketName")
            or default_artifact_bucket(opts.stack, account, region)
        ),
        "GlueScriptKey": pkg.glue_script.key,
        "GlueModulesKey": pkg.glue_modules.key,
        "LambdaCodeKey": pkg.lambda_code.key,
        "ExistingRoleArn": role_arn,
        "RefinedTableName": table,
        "AlertEmail": alert_email,
    }


def _cfn_parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


# ----------------------------------------------------------------------------------------------
# remembered settings: what a deploy after `destroy` reuses

#: The stack parameters a deploy remembers: every one but the content-hashed code keys.
REMEMBERED = ("DataBucketName", "ArtifactBucketName", "ExistingRoleArn", "AlertEmail", "RefinedTableName")
#: Where, in the artifact bucket, a deploy remembers them (one JSON object per stack).
SETTINGS_PREFIX = "deploy-settings/"
#: Tags infra/cloudformation.yaml puts on the data bucket. They stay on the bucket that ``destroy``
#: keeps, and lead a later deploy to the artifact bucket (and so to the settings) and to the table.
TAG_STACK = "ibov:stack"
TAG_ARTIFACT_BUCKET = "ibov:artifact-bucket"
TAG_TABLE = "ibov:table"


def settings_key(stack_name: str) -> str:
    return f"{SETTINGS_PREFIX}{stack_name}.json"


def _settings_document(stack_name: str, region: str, values: dict[str, str]) -> dict[str, str]:
    return {"stack": stack_name, "region": region, **{k: values.get(k, "") for k in REMEMBERED}}


def read_settings(aws: Aws, bucket: str, stack_name: str, region: str) -> dict[str, str] | None:
    """The settings a deploy of ``stack_name`` in ``region`` remembered in ``bucket`` (``None``: none)."""
    from botocore.exceptions import ClientError

    try:
        document = s3.read_json(aws.s3(), bucket, settings_key(stack_name))
    except ClientError as exc:
        if error_code(exc) in ("AccessDenied", "403", "Forbidden"):
            return None  # someone else's bucket: nothing of ours in it
        raise
    if not isinstance(document, dict):
        return None
    if document.get("stack") != stack_name or document.get("region") != region:
        return None
    return {k: v for k in REMEMBERED if isinstance(v := document.get(k), str)}


def save_settings(aws: Aws, stack_name: str, region: str, values: dict[str, str], progress: Progress) -> bool:
    """Remember ``values`` in their artifact bucket; False when the same settings are there already."""
    bucket = values["ArtifactBucketName"]
    document = _settings_document(stack_name, region, values)
    if read_settings(aws, bucket, stack_name, region) == {k: document[k] for k in REMEMBERED}:
        return False
    key = settings_key(stack_name)
    body = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
    aws.s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    progress(f"remembered the deploy settings in s3://{bucket}/{key}")
    return True


@dataclass(frozen=True)
class Remembered:
    """What earlier deploys of a stack left behind, for when the stack itself is gone."""

    stack: str
    #: Stack parameters (keys of :data:`REMEMBERED`) recovered from the settings object or the tags.
    values: dict[str, str] = field(default_factory=dict)
    #: ``s3://`` address of the settings object read; ``""`` when none was found.
    settings_at: str = ""
    #: The data bucket an earlier deploy left (it exists); ``""`` when there is none.
    kept_bucket: str = ""
    #: Where the settings object was looked for (for the message when it was not found).
    looked_at: str = ""

    def apply(self, opts: DeployOptions) -> DeployOptions:
        """``opts`` with every setting the flags leave open taken from here."""
        v = self.values
        return replace(
            opts,
            data_bucket=opts.data_bucket or v.get("DataBucketName") or None,
            artifact_bucket=opts.artifact_bucket or v.get("ArtifactBucketName") or None,
            role_arn=opts.role_arn if opts.role_arn is not None else v.get("ExistingRoleArn"),
            alert_email=opts.alert_email if opts.alert_email is not None else v.get("AlertEmail"),
            table=opts.table or v.get("RefinedTableName") or None,
        )

    def note(self, opts: DeployOptions, account: str) -> str | None:
        """One progress line: what is reused, and what could not be recovered and how to pass it."""
        v = self.values
        reused = []
        if not opts.data_bucket and v.get("DataBucketName"):
            reused.append(f"data bucket {v['DataBucketName']}")
        if not opts.artifact_bucket and v.get("ArtifactBucketName"):
            reused.append(f"artifact bucket {v['ArtifactBucketName']}")
        if opts.role_arn is None and v.get("ExistingRoleArn"):
            reused.append(f"role {v['ExistingRoleArn']}")
        if opts.alert_email is None and v.get("AlertEmail"):
            reused.append(f"alert e-mail {v['AlertEmail']}")
        if not opts.table and v.get("RefinedTableName"):
            reused.append(f"table {v['RefinedTableName']}")
        if self.settings_at:
            if not reused:
                return None
            return (
                f"no stack {self.stack}: reusing the settings of its last deploy ({self.settings_at}): "
                + ", ".join(reused)
                + " (flags override them)"
            )
        if not self.kept_bucket:
            return None  # a first deploy: nothing to reuse
        line = f"no stack {self.stack}: adopting the data bucket {self.kept_bucket} (kept by a destroy)"
        others = [r for r in reused if not r.startswith("data bucket ")]
        if others:
            line += " (from its tags: " + ", ".join(others) + ")"
        missing = []
        if opts.role_arn is None:
            missing.append(
                f"--role-arn ARN if it used an existing role "
                f"(Learner Lab: arn:aws:iam::{account}:role/LabRole)"
            )
        if opts.alert_email is None:
            missing.append("--alert-email EMAIL if it sent alerts")
        if not opts.table and not v.get("RefinedTableName"):
            missing.append(f"IBOV_TABLE=NAME if its table was not {datasets.PORTFOLIO.table}")
        if missing:
            where = f" (nothing at {self.looked_at})" if self.looked_at else ""
            line += f"; its other settings were not found{where}: pass " + "; ".join(missing)
        return line


def recall(
    aws: Aws,
    stack_name: str,
    account: str,
    region: str,
    *,
    data_bucket: str | None = None,
    artifact_bucket: str | None = None,
) -> Remembered:
    """Find what earlier deploys of ``stack_name`` left: the settings object in the artifact bucket
    (the flag's, else the default name), else the tags of the kept data bucket (the flag's, else the
    remembered one, else the default name), which name the artifact bucket and the table."""
    client = aws.s3()
    artifacts = artifact_bucket or default_artifact_bucket(stack_name, account, region)
    looked_at = f"s3://{artifacts}/{settings_key(stack_name)}"
    found = read_settings(aws, artifacts, stack_name, region)
    settings_at = looked_at if found is not None else ""
    values = dict(found or {})
    data = data_bucket or values.get("DataBucketName") or default_data_bucket(stack_name, account, region)
    kept = ""
    if s3.bucket_state(client, data) == "ours":
        kept = data
        tags = s3.bucket_tags(client, data)
        tagged = tags.get(TAG_ARTIFACT_BUCKET, "")
        if found is None and not artifact_bucket and tagged and tagged != artifacts:
            looked_at = f"s3://{tagged}/{settings_key(stack_name)}"
            found = read_settings(aws, tagged, stack_name, region)
            if found is not None:
                settings_at, values = looked_at, dict(found)
        values.setdefault("DataBucketName", data)
        if tagged:
            values.setdefault("ArtifactBucketName", tagged)
        if tags.get(TAG_TABLE):
            values.setdefault("RefinedTableName", tags[TAG_TABLE])
    return Remembered(stack_name, values, settings_at, kept, looked_at)


# ----------------------------------------------------------------------------------------------
# waiting on the stack


@dataclass
class _Events:
    """Stack events seen so far; new ones are reported oldest first."""

    stop_at: str | None = None
    seen: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def poll(self, cfn: CloudFormationClient, stack_id: str, progress: Progress) -> None:
        fresh: list[dict[str, Any]] = []
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            done = False
            for event in page.get("StackEvents", []):
                event_id = event["EventId"]
                if event_id == self.stop_at or event_id in self.seen:
                    done = True
                    break
                fresh.append(dict(event))
            if done:
                break
        for event in reversed(fresh):
            self.seen.add(event["EventId"])
            status = event.get("ResourceStatus", "")
            reason = event.get("ResourceStatusReason", "")
            line = f"{status} {event.get('LogicalResourceId', '')}"
            if reason:
                line += f": {reason}"
            progress(line)
            if status.endswith("_FAILED") and reason and "cancelled" not in reason.lower():
                self.failures.append(f"{event.get('LogicalResourceId', '')}: {reason}")

    @classmethod
    def after_latest(cls, cfn: CloudFormationClient, stack_id: str) -> _Events:
        """Ignore the events that already happened."""
        page = cfn.describe_stack_events(StackName=stack_id)
        events = page.get("StackEvents", [])
        return cls(stop_at=events[0]["EventId"] if events else None)


def wait_stack(
    cfn: CloudFormationClient,
    stack_id: str,
    events: _Events,
    *,
    progress: Progress,
    sleep: Sleep,
    every: float = 5.0,
    timeout: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
) -> stack.Stack | None:
    """Wait until the stack leaves its ``*_IN_PROGRESS`` state; ``None`` once it is deleted."""
    deadline = clock() + timeout
    while True:
        current = stack.find(cfn, stack_id)
        events.poll(cfn, stack_id, progress)
        if current is None or not current.in_progress:
            return current
        if clock() >= deadline:
            raise DeployFailed(
                f"the stack is still {current.status} after {timeout:.0f}s",
                hint="It carries on in AWS; check it in the CloudFormation console.",
            )
        sleep(every)


def _expect(
    result: stack.Stack | None, wanted: str, name: str, events: _Events, doing: str, account: str = ""
) -> stack.Stack:
    if result is not None and result.status == wanted:
        return result
    status = result.status if result else "DELETE_COMPLETE"
    cause = events.failures[0] if events.failures else (result.reason if result else "")
    message = f"{doing} the stack {name} failed ({status})" + (f": {cause}" if cause else "")
    if "iam:CreateRole" in cause:
        lab = f"arn:aws:iam::{account or '<account>'}:role/LabRole"
        raise DeployFailed(
            message,
            hint="This account may not create IAM roles: deploy again with --role-arn and an existing role "
            f"that Lambda and Glue can assume (AWS Academy Learner Lab: --role-arn {lab}).",
        )
    raise DeployFailed(message)


# ----------------------------------------------------------------------------------------------
# deploy


@dataclass(frozen=True)
class Deployed:
    stack: str
    action: str  # created | updated | unchanged | imported
    status: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    uploaded: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "action": self.action,
            "status": self.status,
            "outputs": dict(self.outputs),
            "parameters": dict(self.parameters),
            "uploaded": list(self.uploaded),
        }


def upload(aws: Aws, bucket: str, pkg: Package, progress: Progress) -> tuple[str, ...]:
    """Upload the artifacts that are not in ``bucket`` yet; returns the keys uploaded."""
    client = aws.s3()
    uploaded = []
    for artifact in pkg.artifacts:
        if s3.exists(client, bucket, artifact.key):
            continue
        client.put_object(Bucket=bucket, Key=artifact.key, Body=artifact.body)
        progress(f"uploaded {artifact.name} ({len(artifact.body):,} bytes, sha256 {artifact.sha256[:12]}…)")
        uploaded.append(artifact.key)
    return tuple(uploaded)


def _template_source(aws: Aws, bucket: str, template: str, progress: Progress) -> dict[str, str]:
    body = template.encode("utf-8")
    if len(body) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": template}
    artifact = Artifact("cloudformation.yaml", body)
    client = aws.s3()
    if not s3.exists(client, bucket, artifact.key):
        client.put_object(Bucket=bucket, Key=artifact.key, Body=body)
        progress(f"uploaded the template to s3://{bucket}/{artifact.key}")
    return {"TemplateURL": f"{client.meta.endpoint_url}/{bucket}/{artifact.key}"}


#: What a new stack starts from when it adopts a data bucket kept by an earlier ``destroy``. The next
#: update applies the full template (notification, policy, lifecycle) to it.
IMPORT_TEMPLATE = json.dumps(
    {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "ibov: adopt the data bucket kept by an earlier destroy",
        "Parameters": {"DataBucketName": {"Type": "String"}},
        "Resources": {
            "DataBucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {"BucketName": {"Ref": "DataBucketName"}},
            }
        },
    },
    indent=1,
)


def _import_bucket(
    aws: Aws, name: str, bucket: str, progress: Progress, sleep: Sleep, every: float
) -> stack.Stack:
    cfn = aws.cloudformation()
    change_set = f"ibov-import-{int(time.time())}"
    progress(f"the data bucket {bucket} exists (kept by an earlier destroy): importing it into {name}")
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="IMPORT",
        TemplateBody=IMPORT_TEMPLATE,
        Parameters=_cfn_parameters({"DataBucketName": bucket}),  # type: ignore[arg-type]
        ResourcesToImport=[
            {
                "ResourceType": "AWS::S3::Bucket",
                "LogicalResourceId": "DataBucket",
                "ResourceIdentifier": {"BucketName": bucket},
            }
        ],
        Capabilities=CAPABILITIES,  # type: ignore[arg-type]
    )  # no Tags: the update that follows tags everything, the import only adopts the bucket
    stack_id = created["StackId"]
    while True:
        described = cfn.describe_change_set(ChangeSetName=change_set, StackName=stack_id)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            break
        if status == "FAILED":
            raise DeployFailed(f"importing {bucket} failed: {described.get('StatusReason', '')}")
        sleep(every)
    cfn.execute_change_set(ChangeSetName=change_set, StackName=stack_id)
    events = _Events()
    result = wait_stack(cfn, stack_id, events, progress=progress, sleep=sleep, every=every)
    return _expect(result, "IMPORT_COMPLETE", name, events, "importing the bucket into")


def _delete_dead_stack(aws: Aws, dead: stack.Stack, progress: Progress, sleep: Sleep, every: float) -> None:
    cfn = aws.cloudformation()
    progress(f"the stack {dead.name} is {dead.status} after a failed first deploy: deleting it")
    events = _Events.after_latest(cfn, dead.stack_id)
    cfn.delete_stack(StackName=dead.stack_id)
    result = wait_stack(cfn, dead.stack_id, events, progress=progress, sleep=sleep, every=every)
    if result is not None:
        _expect(result, "DELETE_COMPLETE", dead.name, events, "deleting")


def ensure_catalog_database(aws: Aws, database: str, progress: Progress) -> None:
    """Create the Glue database the job writes to (``default``) when the account has none yet.

    It is not a stack resource: most accounts already have it, and a stack must not delete it.
    """
    from botocore.exceptions import ClientError

    glue = aws.glue()
    try:
        glue.get_database(Name=database)
        return
    except ClientError as exc:
        if error_code(exc) != "EntityNotFoundException":
            progress(f"could not check the Glue database {database}: {error_message(exc)}")
            return
    glue.create_database(DatabaseInput={"Name": database, "Description": "Default Hive database"})
    progress(f"created the Glue database {database}")


def deploy(
    aws: Aws,
    opts: DeployOptions,
    *,
    progress: Progress = _quiet,
    sleep: Sleep = time.sleep,
    every: float = 5.0,
    root: Path = sources.ROOT,
) -> Deployed:
    """Package, upload, then create / update / import-and-update the stack; returns its outputs."""
    name = check_stack_name(opts.stack)
    with aws_errors(f"deploying the stack {name}"):
        pkg = package(root)
        cfn = aws.cloudformation()
        existing = stack.find(cfn, name)
        if existing is not None and existing.in_progress:
            raise ConfigError(
                f"the stack {name} is busy ({existing.status})",
                hint="Wait for the running operation to finish, then deploy again.",
            )
        if existing is not None and existing.status in stack.DEAD:
            _delete_dead_stack(aws, existing, progress, sleep, every)
            existing = None
        account = aws.account_id()
        if existing is None:
            memory = recall(
                aws,
                name,
                account,
                aws.region,
                data_bucket=opts.data_bucket,
                artifact_bucket=opts.artifact_bucket,
            )
            line = memory.note(opts, account)
            if line:
                progress(line)
            opts = memory.apply(opts)
        values = parameters(opts, pkg, existing.parameters if existing else {}, account, aws.region)

        s3_client = aws.s3()
        if s3.ensure_private_bucket(s3_client, values["ArtifactBucketName"], aws.region):
            progress(f"created the artifact bucket {values['ArtifactBucketName']}")
        else:
            # Lambda takes its code only from a bucket in its own region (Lambda API reference,
            # FunctionCode.S3Bucket: https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCode.html)
            _check_region(
                aws,
                values["ArtifactBucketName"],
                "artifact bucket",
                f"Pass --artifact-bucket with a bucket in {aws.region} (or a new name: it is created).",
            )
        uploaded = upload(aws, values["ArtifactBucketName"], pkg, progress)
        source = _template_source(aws, values["ArtifactBucketName"], pkg.template, progress)
        common: dict[str, Any] = {
            "StackName": name,
            **source,
            "Parameters": _cfn_parameters(values),
            "Capabilities": CAPABILITIES,
            "Tags": TAGS,
        }

        def done(action: str, final: stack.Stack) -> Deployed:
            ensure_catalog_database(aws, schema.CATALOG_DATABASE, progress)
            save_settings(aws, name, aws.region, values, progress)
            return Deployed(name, action, final.status, final.outputs, values, uploaded)

        if existing is None:
            bucket_state = s3.bucket_state(s3_client, values["DataBucketName"])
            if bucket_state == "taken":
                raise ConfigError(
                    f"the bucket name {values['DataBucketName']} belongs to another account",
                    hint="Bucket names are global: pass --bucket with another name.",
                )
            if bucket_state == "missing":
                progress(f"creating the stack {name}")
                stack_id = cfn.create_stack(**common)["StackId"]
                events = _Events()
                result = wait_stack(cfn, stack_id, events, progress=progress, sleep=sleep, every=every)
                return done("created", _expect(result, "CREATE_COMPLETE", name, events, "creating", account))
            # a stack adopts only a bucket of its own region; the trigger must be in the bucket's region
            _check_region(
                aws,
                values["DataBucketName"],
                "data bucket",
                "Deploy to the bucket's region (--region), or pass --bucket with a new name.",
            )
            existing = _import_bucket(aws, name, values["DataBucketName"], progress, sleep, every)
            action = "imported"
        else:
            action = "updated"

        from botocore.exceptions import ClientError

        events = _Events.after_latest(cfn, existing.stack_id)
        try:
            cfn.update_stack(**common)
        except ClientError as exc:
            if "No updates are to be performed" in error_message(exc):
                progress(f"the stack {name} is up to date")
                return done("unchanged", existing)
            raise
        progress(f"updating the stack {name}")
        result = wait_stack(cfn, existing.stack_id, events, progress=progress, sleep=sleep, every=every)
        return done(action, _expect(result, "UPDATE_COMPLETE", name, events, "updating", account))


def _check_region(aws: Aws, bucket: str, what: str, hint: str) -> None:
    """Refuse an existing ``bucket`` outside the stack's region (skipped without GetBucketLocation)."""
    from botocore.exceptions import ClientError

    try:
        where = s3.bucket_region(aws.s3(), bucket)
    except ClientError:
        return  # not allowed to ask: CloudFormation will tell
    if where != aws.region:
        raise ConfigError(f"the {what} {bucket} is in {where}, not in {aws.region} like the stack", hint=hint)


# ----------------------------------------------------------------------------------------------
# destroy


@dataclass(frozen=True)
class Targets:
    """What ``destroy`` would remove."""

    stack: stack.Stack | None
    data_bucket: str
    artifact_bucket: str
    database: str
    table: str
    #: The stack's trigger Lambda, whose notification a kept data bucket must lose.
    trigger_function: str = ""


def targets(
    aws: Aws, stack_name: str, *, data_bucket: str | None = None, artifact_bucket: str | None = None
) -> Targets:
    """The stack and the buckets ``destroy`` deals with: the stack's, else flags, else what an earlier
    deploy remembered (:func:`recall`), else the default names."""
    name = check_stack_name(stack_name)
    with aws_errors(f"looking up the stack {name}"):
        found = stack.find(aws.cloudformation(), name)
        params = dict(found.parameters) if found else {}
        outputs = found.outputs if found else {}
        if found is None:
            account = aws.account_id()
            memory = recall(
                aws, name, account, aws.region, data_bucket=data_bucket, artifact_bucket=artifact_bucket
            )
            params = memory.values
        data = data_bucket or params.get("DataBucketName")
        artifacts = artifact_bucket or params.get("ArtifactBucketName")
        if not data or not artifacts:
            account = aws.account_id()
            data = data or default_data_bucket(name, account, aws.region)
            artifacts = artifacts or default_artifact_bucket(name, account, aws.region)
        return Targets(
            stack=found,
            data_bucket=data,
            artifact_bucket=artifacts,
            database=outputs.get(stack.OUT_DATABASE, schema.CATALOG_DATABASE),
            table=params.get("RefinedTableName") or datasets.PORTFOLIO.table,
            trigger_function=outputs.get(stack.OUT_TRIGGER) or f"{name}-trigger",
        )


@dataclass(frozen=True)
class Destroyed:
    stack: str
    stack_deleted: bool
    deleted_buckets: dict[str, int]
    kept: tuple[str, ...]
    table_deleted: bool
    #: Event notifications removed from the kept data bucket (they named the deleted trigger).
    notifications_removed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "stack_deleted": self.stack_deleted,
            "deleted_buckets": dict(self.deleted_buckets),
            "kept": list(self.kept),
            "table_deleted": self.table_deleted,
            "notifications_removed": self.notifications_removed,
        }


def destroy(
    aws: Aws,
    target: Targets,
    *,
    delete_data: bool = False,
    progress: Progress = _quiet,
    sleep: Sleep = time.sleep,
    every: float = 5.0,
) -> Destroyed:
    """Delete the stack. The data bucket is retained (``DeletionPolicy: Retain``) unless ``delete_data``,
    which also deletes every object version in it and in the artifact bucket, and the catalog table.

    A kept data bucket loses its event notification to the deleted trigger function (the next deploy adds
    it again through the stack), and the stack's settings are remembered in the kept artifact bucket, so
    that a plain ``ibov deploy`` afterwards reuses them (:func:`recall`).
    """
    name = target.stack.name if target.stack else "(none)"
    with aws_errors(f"deleting the stack {name}"):
        cfn = aws.cloudformation()
        stack_deleted = False
        if target.stack is not None:
            if target.stack.in_progress:
                raise ConfigError(
                    f"the stack {name} is busy ({target.stack.status})",
                    hint="Wait for the running operation to finish, then destroy again.",
                )
            events = _Events.after_latest(cfn, target.stack.stack_id)
            progress(f"deleting the stack {name}")
            cfn.delete_stack(StackName=target.stack.stack_id)
            stack_id = target.stack.stack_id
            result = wait_stack(cfn, stack_id, events, progress=progress, sleep=sleep, every=every)
            if result is not None:
                _expect(result, "DELETE_COMPLETE", name, events, "deleting")
            stack_deleted = True
        else:
            progress("no stack to delete")
        deleted: dict[str, int] = {}
        kept: tuple[str, ...] = ()
        table_deleted = False
        removed = 0
        if delete_data:
            for bucket in (target.data_bucket, target.artifact_bucket):
                if s3.bucket_state(aws.s3(), bucket) == "ours":
                    deleted[bucket] = s3.delete_bucket(aws.s3(), bucket, progress)
                    progress(f"deleted the bucket {bucket}")
            table_deleted = _delete_table(aws, target.database, target.table, progress)
        else:
            buckets = (target.data_bucket, target.artifact_bucket)
            kept = tuple(b for b in buckets if s3.bucket_state(aws.s3(), b) == "ours")
            if target.data_bucket in kept and target.trigger_function:
                removed = s3.remove_lambda_notifications(
                    aws.s3(), target.data_bucket, target.trigger_function
                )
                if removed:
                    progress(
                        f"removed the event notification of s3://{target.data_bucket} to the deleted "
                        f"function {target.trigger_function}; the next `ibov deploy` adds it again"
                    )
            if target.stack is not None and target.artifact_bucket in kept:
                values = {k: target.stack.parameters.get(k, "") for k in REMEMBERED}
                if values["DataBucketName"] and values["ArtifactBucketName"] == target.artifact_bucket:
                    save_settings(aws, target.stack.name, aws.region, values, progress)
        return Destroyed(name, stack_deleted, deleted, kept, table_deleted, removed)


def _delete_table(aws: Aws, database: str, table: str, progress: Progress) -> bool:
    from botocore.exceptions import ClientError

    try:
        aws.glue().delete_table(DatabaseName=database, Name=table)
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return False
        raise
    progress(f"deleted the catalog table {database}.{table}")
    return True

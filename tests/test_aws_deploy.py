"""`ibov deploy` / `ibov destroy`: packaging, content-hashed uploads, parameters, create / update / no-op /
import / failed-stack paths (CloudFormation stubbed call by call; S3, STS and Glue on moto)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from ibovcli import layout, schema
from ibovcli.aws import deploy, sources
from ibovcli.aws import s3 as s3_module
from ibovcli.aws.clients import Aws
from ibovcli.errors import ConfigError
from tests.aws_helpers import (
    REGION,
    moto_server,  # noqa: F401 - fixture
)
from tests.aws_helpers import _moto_server_session as _moto_server_session
from tests.aws_helpers import client as aws_client
from tests.conftest import run_ibov

ACCOUNT = "123456789012"  # moto's
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ibov/0f1e"
DATA = f"ibov-{ACCOUNT}-{REGION}"
ARTIFACTS = f"ibov-artifacts-{ACCOUNT}-{REGION}"
LAB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/LabRole"
T = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


# -- packaging ------------------------------------------------------------------------------------


def names(artifact: deploy.Artifact) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(artifact.body)).namelist())


def test_package_holds_what_glue_and_lambda_import() -> None:
    pkg = deploy.package()
    modules = names(pkg.glue_modules)
    for needed in ("ibovcli/__init__.py", "ibovcli/layout.py", "ibovcli/schema.py", "ibovcli/sql/refine.sql"):
        assert needed in modules
    queries = sorted(p.name for p in (sources.ROOT / "ibovcli" / "sql" / "queries").glob("*.sql"))
    assert [m.rsplit("/", 1)[1] for m in modules if m.startswith("ibovcli/sql/queries/")] == queries
    assert "ibovcli/local.py" not in modules  # imported only inside the local mode's functions
    assert all(not m.endswith(".pyc") and "__pycache__" not in m for m in modules)
    # the handler at the zip's root (Handler: trigger.handler) + the stdlib-only modules it imports
    assert names(pkg.lambda_code) == [
        "ibovcli/__init__.py",
        "ibovcli/layout.py",
        "ibovcli/trigger.py",
        "trigger.py",
    ]
    assert pkg.glue_script.body == (sources.ROOT / sources.GLUE_SCRIPT).read_bytes()
    assert pkg.template == (sources.ROOT / sources.TEMPLATE).read_text()


def test_artifact_keys_are_content_hashed_and_reproducible() -> None:
    first, second = deploy.package(), deploy.package()
    for a, b in zip(first.artifacts, second.artifacts, strict=True):
        assert a.body == b.body and a.key == b.key
        assert a.key == f"{layout.ARTIFACTS_PREFIX}{a.sha256}/{a.name}"
        assert len(a.sha256) == 64
    assert len({a.key for a in first.artifacts}) == 3
    changed = deploy.Artifact(first.glue_script.name, first.glue_script.body + b"\n# changed\n")
    assert changed.key != first.glue_script.key


def test_zips_import_from_the_zip_alone(tmp_path: Path) -> None:
    pkg = deploy.package()
    modules = tmp_path / "modules.zip"
    modules.write_bytes(pkg.glue_modules.body)
    # -S: no site-packages, so ibovcli can only come from the zip (as on Glue via --extra-py-files)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import ibovcli, ibovcli.layout, ibovcli.schema, ibovcli.errors;"
        "from importlib import resources;"
        "sql = (resources.files('ibovcli') / 'sql' / 'refine.sql').read_text();"
        "assert 'raw_day' in sql and ibovcli.__file__.startswith(sys.argv[1]), ibovcli.__file__"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", probe, str(modules)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    code = tmp_path / "lambda.zip"
    code.write_bytes(pkg.lambda_code.body)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import trigger, ibovcli;"
        "assert ibovcli.__file__.startswith(sys.argv[1]) and callable(trigger.handler)"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(code)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_packaging_refuses_modules_that_import_more_than_the_stdlib(tmp_path: Path) -> None:
    pkg = tmp_path / "ibovcli"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layout.py").write_text("from ibovcli import helper\n")
    (pkg / "helper.py").write_text("import json\nimport pandas\n")
    (pkg / "lazy.py").write_text("def f():\n    import pandas\n")
    entry = tmp_path / "job.py"
    entry.write_text("import pyspark\nfrom ibovcli import lazy\nfrom ibovcli.layout import x\n")
    with pytest.raises(ConfigError, match=r"ibovcli/helper.py imports pandas at module level"):
        deploy.ibovcli_closure(tmp_path, entry)
    (pkg / "helper.py").write_text("import json\nif TYPE_CHECKING:\n    import pandas\n")
    found = deploy.ibovcli_closure(tmp_path, entry)
    assert [p.name for p in found] == ["__init__.py", "helper.py", "layout.py", "lazy.py"]


def test_missing_sources_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"glue_scripts/refine_job\.py not found") as caught:
        deploy.package(tmp_path)
    assert "pip install -e" in caught.value.hint


# -- parameters -----------------------------------------------------------------------------------


def test_parameters_keep_the_deployed_values_unless_flags_change_them() -> None:
    pkg = deploy.package()
    fresh = deploy.parameters(deploy.DeployOptions(), pkg, {}, ACCOUNT, REGION)
    assert fresh == {
        "DataBucketName": DATA,
        "ArtifactBucketName": ARTIFACTS,
        "GlueScriptKey": pkg.glue_script.key,
        "GlueModulesKey": pkg.glue_modules.key,
        "LambdaCodeKey": pkg.lambda_code.key,
        "ExistingRoleArn": "",
        "RefinedTableName": schema.REFINED_TABLE,
        "AlertEmail": "",
    }
    previous = {**fresh, "DataBucketName": "my-data", "ExistingRoleArn": LAB_ROLE, "AlertEmail": "a@b.c"}
    kept = deploy.parameters(deploy.DeployOptions(), pkg, previous, ACCOUNT, REGION)
    assert (kept["DataBucketName"], kept["ExistingRoleArn"], kept["AlertEmail"]) == (
        "my-data",
        LAB_ROLE,
        "a@b.c",
    )
    cleared = deploy.parameters(
        deploy.DeployOptions(role_arn="", alert_email=""), pkg, previous, ACCOUNT, REGION
    )
    assert (cleared["ExistingRoleArn"], cleared["AlertEmail"]) == ("", "")
    with pytest.raises(ConfigError, match="keeps its data in my-data"):
        deploy.parameters(deploy.DeployOptions(data_bucket="other-data"), pkg, previous, ACCOUNT, REGION)
    with pytest.raises(ConfigError, match="not a valid S3 bucket name"):
        deploy.parameters(deploy.DeployOptions(data_bucket="Bad_Name"), pkg, {}, ACCOUNT, REGION)
    with pytest.raises(ConfigError, match="not a usable stack name"):
        deploy.check_stack_name("1-starts-with-a-digit")


# -- orchestration --------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[tuple[Aws, Stubber]]:
    """moto for S3/STS/Glue, a Stubber for CloudFormation (moto cannot create this template's Glue and
    Athena resources, and never says "No updates are to be performed")."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        cfn = session.client("cloudformation")
        # moto denies every request to a bucket whose policy has a Deny, conditions ignored; over plain
        # http ibov puts no TLS-only policy (test_artifact_bucket_is_private_and_tls_only checks it)
        s3 = session.client("s3", endpoint_url="http://s3.amazonaws.com")
        stub = Stubber(cfn)
        with stub:
            yield Aws(session, clients={"cloudformation": cfn, "s3": s3}), stub
            stub.assert_no_pending_responses()


def stack_description(status: str, params: dict[str, str] | None = None, **outputs: str) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "ibov",
                "StackId": STACK_ID,
                "StackStatus": status,
                "CreationTime": T,
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in (params or {}).items()],
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def events(*items: tuple[str, str, str, str]) -> dict[str, Any]:
    """Stack events, newest first: (id, logical id, status, reason)."""
    return {
        "StackEvents": [
            {
                "StackId": STACK_ID,
                "EventId": event_id,
                "StackName": "ibov",
                "LogicalResourceId": logical,
                "ResourceStatus": status,
                "ResourceStatusReason": reason,
                "Timestamp": T,
            }
            for event_id, logical, status, reason in items
        ]
    }


def no_stack(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id ibov does not exist", 400, {"StackName": "ibov"}
    )


def expected_call(pkg: deploy.Package, **params: str) -> dict[str, Any]:
    values = deploy.parameters(deploy.DeployOptions(), pkg, {}, ACCOUNT, REGION) | params
    return {
        "StackName": "ibov",
        "TemplateBody": pkg.template,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "project", "Value": "ibov"}],
    }


OUTPUTS = {"DataBucket": DATA, "GlueJobName": "ibov-refine", "WorkGroup": "ibov"}


def test_first_deploy_uploads_creates_and_reports_each_event(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    pkg = deploy.package()
    no_stack(stub)
    stub.add_response("create_stack", {"StackId": STACK_ID}, expected_call(pkg))
    stub.add_response("describe_stacks", stack_description("CREATE_IN_PROGRESS"), {"StackName": STACK_ID})
    first = events(
        ("e2", "TriggerLogGroup", "CREATE_IN_PROGRESS", ""),
        ("e1", "ibov", "CREATE_IN_PROGRESS", "User Initiated"),
    )
    stub.add_response("describe_stack_events", first, {"StackName": STACK_ID})
    stub.add_response(
        "describe_stacks", stack_description("CREATE_COMPLETE", **OUTPUTS), {"StackName": STACK_ID}
    )
    done = events(
        ("e3", "ibov", "CREATE_COMPLETE", ""),
        *[
            (e["EventId"], e["LogicalResourceId"], e["ResourceStatus"], e["ResourceStatusReason"])
            for e in first["StackEvents"]
        ],
    )
    stub.add_response("describe_stack_events", done, {"StackName": STACK_ID})
    notes: list[str] = []
    sleeps: list[float] = []
    result = deploy.deploy(
        client, deploy.DeployOptions(), progress=notes.append, sleep=sleeps.append, every=7
    )
    assert (result.action, result.status, result.outputs) == ("created", "CREATE_COMPLETE", OUTPUTS)
    assert sleeps == [7]
    s3 = client.s3()
    stored = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=ARTIFACTS)["Contents"])
    assert stored == sorted(a.key for a in pkg.artifacts) == sorted(result.uploaded)
    assert s3.get_object(Bucket=ARTIFACTS, Key=pkg.glue_modules.key)["Body"].read() == pkg.glue_modules.body
    assert s3.get_public_access_block(Bucket=ARTIFACTS)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    events_seen = [n for n in notes if n.startswith("CREATE_")]
    assert events_seen == [
        "CREATE_IN_PROGRESS ibov: User Initiated",
        "CREATE_IN_PROGRESS TriggerLogGroup",
        "CREATE_COMPLETE ibov",
    ]
    assert client.glue().get_database(Name="default")["Database"]["Name"] == "default"
    assert notes[0] == f"created the artifact bucket {ARTIFACTS}"


def deployed_params(pkg: deploy.Package, **changes: str) -> dict[str, str]:
    return deploy.parameters(deploy.DeployOptions(), pkg, {}, ACCOUNT, REGION) | changes


def test_running_deploy_again_is_a_no_op(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    pkg = deploy.package()
    client.s3().create_bucket(Bucket=ARTIFACTS)
    for artifact in pkg.artifacts:  # already uploaded by the previous deploy
        client.s3().put_object(Bucket=ARTIFACTS, Key=artifact.key, Body=artifact.body)
    previous = deployed_params(pkg, ExistingRoleArn=LAB_ROLE)
    stub.add_response(
        "describe_stacks", stack_description("UPDATE_COMPLETE", previous, **OUTPUTS), {"StackName": "ibov"}
    )
    stub.add_response(
        "describe_stack_events", events(("e9", "ibov", "UPDATE_COMPLETE", "")), {"StackName": STACK_ID}
    )
    stub.add_client_error(
        "update_stack",
        "ValidationError",
        "No updates are to be performed.",
        400,
        expected_call(pkg, ExistingRoleArn=LAB_ROLE),  # the role given last time is kept
    )
    notes: list[str] = []
    result = deploy.deploy(client, deploy.DeployOptions(), progress=notes.append, sleep=lambda _s: None)
    assert (result.action, result.uploaded, result.outputs) == ("unchanged", (), OUTPUTS)
    assert "the stack ibov is up to date" in notes


def test_changed_code_updates_the_stack(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    pkg = deploy.package()
    old = deployed_params(pkg, GlueScriptKey="artifacts/0000/refine_job.py")
    stub.add_response(
        "describe_stacks", stack_description("UPDATE_COMPLETE", old, **OUTPUTS), {"StackName": "ibov"}
    )
    stub.add_response(
        "describe_stack_events", events(("e9", "ibov", "UPDATE_COMPLETE", "")), {"StackName": STACK_ID}
    )
    stub.add_response("update_stack", {"StackId": STACK_ID}, expected_call(pkg))
    stub.add_response(
        "describe_stacks", stack_description("UPDATE_COMPLETE", **OUTPUTS), {"StackName": STACK_ID}
    )
    stub.add_response(
        "describe_stack_events",
        events(
            ("e11", "ibov", "UPDATE_COMPLETE", ""),
            ("e10", "RefineJob", "UPDATE_COMPLETE", ""),
            ("e9", "ibov", "UPDATE_COMPLETE", ""),
        ),
        {"StackName": STACK_ID},
    )
    notes: list[str] = []
    result = deploy.deploy(client, deploy.DeployOptions(), progress=notes.append, sleep=lambda _s: None)
    assert result.action == "updated"
    assert [n for n in notes if n.startswith("UPDATE_")] == [
        "UPDATE_COMPLETE RefineJob",
        "UPDATE_COMPLETE ibov",
    ]


def test_a_failed_create_reports_the_first_cause(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    pkg = deploy.package()
    no_stack(stub)
    stub.add_response("create_stack", {"StackId": STACK_ID}, expected_call(pkg))
    stub.add_response("describe_stacks", stack_description("ROLLBACK_COMPLETE"), {"StackName": STACK_ID})
    denied = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/voclabs/u is not authorized to perform: iam:CreateRole"
    )
    stub.add_response(
        "describe_stack_events",
        events(
            ("e4", "ibov", "ROLLBACK_COMPLETE", ""),
            ("e3", "TriggerLogGroup", "CREATE_FAILED", "Resource creation cancelled"),
            ("e2", "TriggerRole", "CREATE_FAILED", denied),
            ("e1", "ibov", "CREATE_IN_PROGRESS", "User Initiated"),
        ),
        {"StackName": STACK_ID},
    )
    with pytest.raises(deploy.DeployFailed) as caught:
        deploy.deploy(client, deploy.DeployOptions(), sleep=lambda _s: None)
    assert str(caught.value) == f"creating the stack ibov failed (ROLLBACK_COMPLETE): TriggerRole: {denied}"
    assert caught.value.exit_code == 6


def test_a_dead_first_stack_is_deleted_before_creating_again(aws: tuple[Aws, Stubber]) -> None:
    """Learner Lab: the first deploy without --role-arn rolls back; the retry with it must start over."""
    client, stub = aws
    pkg = deploy.package()
    stub.add_response("describe_stacks", stack_description("ROLLBACK_COMPLETE"), {"StackName": "ibov"})
    stub.add_response(
        "describe_stack_events", events(("e4", "ibov", "ROLLBACK_COMPLETE", "")), {"StackName": STACK_ID}
    )
    stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    stub.add_response("describe_stacks", stack_description("DELETE_COMPLETE"), {"StackName": STACK_ID})
    stub.add_response(
        "describe_stack_events", events(("e5", "ibov", "DELETE_COMPLETE", "")), {"StackName": STACK_ID}
    )
    stub.add_response("create_stack", {"StackId": STACK_ID}, expected_call(pkg, ExistingRoleArn=LAB_ROLE))
    stub.add_response(
        "describe_stacks", stack_description("CREATE_COMPLETE", **OUTPUTS), {"StackName": STACK_ID}
    )
    stub.add_response(
        "describe_stack_events", events(("e6", "ibov", "CREATE_COMPLETE", "")), {"StackName": STACK_ID}
    )
    notes: list[str] = []
    result = deploy.deploy(
        client, deploy.DeployOptions(role_arn=LAB_ROLE), progress=notes.append, sleep=lambda _s: None
    )
    assert result.action == "created"
    assert "the stack ibov is ROLLBACK_COMPLETE after a failed first deploy: deleting it" in notes


def test_a_data_bucket_kept_by_destroy_is_imported_then_updated(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    pkg = deploy.package()
    client.s3().create_bucket(Bucket=DATA)  # left by `ibov destroy` (DeletionPolicy: Retain)
    no_stack(stub)
    stub.add_response(
        "create_change_set",
        {"Id": "cs-1", "StackId": STACK_ID},
        {
            "StackName": "ibov",
            "ChangeSetName": ANY,
            "ChangeSetType": "IMPORT",
            "TemplateBody": deploy.IMPORT_TEMPLATE,
            "Parameters": [{"ParameterKey": "DataBucketName", "ParameterValue": DATA}],
            "ResourcesToImport": [
                {
                    "ResourceType": "AWS::S3::Bucket",
                    "LogicalResourceId": "DataBucket",
                    "ResourceIdentifier": {"BucketName": DATA},
                }
            ],
            "Capabilities": ["CAPABILITY_IAM"],
        },
    )
    stub.add_response(
        "describe_change_set", {"Status": "CREATE_PENDING"}, {"ChangeSetName": ANY, "StackName": STACK_ID}
    )
    stub.add_response(
        "describe_change_set", {"Status": "CREATE_COMPLETE"}, {"ChangeSetName": ANY, "StackName": STACK_ID}
    )
    stub.add_response("execute_change_set", {}, {"ChangeSetName": ANY, "StackName": STACK_ID})
    stub.add_response("describe_stacks", stack_description("IMPORT_COMPLETE"), {"StackName": STACK_ID})
    stub.add_response(
        "describe_stack_events", events(("e1", "DataBucket", "IMPORT_COMPLETE", "")), {"StackName": STACK_ID}
    )
    stub.add_response(
        "describe_stack_events", events(("e1", "DataBucket", "IMPORT_COMPLETE", "")), {"StackName": STACK_ID}
    )
    stub.add_response("update_stack", {"StackId": STACK_ID}, expected_call(pkg))
    stub.add_response(
        "describe_stacks", stack_description("UPDATE_COMPLETE", **OUTPUTS), {"StackName": STACK_ID}
    )
    stub.add_response(
        "describe_stack_events", events(("e2", "ibov", "UPDATE_COMPLETE", "")), {"StackName": STACK_ID}
    )
    result = deploy.deploy(client, deploy.DeployOptions(), sleep=lambda _s: None)
    assert (result.action, result.status) == ("imported", "UPDATE_COMPLETE")


def test_busy_stack_and_taken_bucket_are_refused(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    stub.add_response("describe_stacks", stack_description("UPDATE_IN_PROGRESS"), {"StackName": "ibov"})
    with pytest.raises(ConfigError, match=r"busy \(UPDATE_IN_PROGRESS\)"):
        deploy.deploy(client, deploy.DeployOptions(), sleep=lambda _s: None)


def test_artifact_bucket_is_private_and_tls_only() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        assert s3_module.ensure_private_bucket(s3, ARTIFACTS, "eu-west-1") is True
        assert s3_module.ensure_private_bucket(s3, ARTIFACTS, "eu-west-1") is False
        assert s3.get_bucket_location(Bucket=ARTIFACTS)["LocationConstraint"] == "eu-west-1"
        block = s3.get_public_access_block(Bucket=ARTIFACTS)["PublicAccessBlockConfiguration"]
        assert set(block.values()) == {True}
        [rule] = s3.get_bucket_encryption(Bucket=ARTIFACTS)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        [deny] = json.loads(s3.get_bucket_policy(Bucket=ARTIFACTS)["Policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == [f"arn:aws:s3:::{ARTIFACTS}", f"arn:aws:s3:::{ARTIFACTS}/*"]


def test_large_templates_go_through_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "MAX_TEMPLATE_BODY", 100)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        client = Aws(session, clients={"s3": session.client("s3", endpoint_url="http://s3.amazonaws.com")})
        client.s3().create_bucket(Bucket=ARTIFACTS)
        template = (sources.ROOT / sources.TEMPLATE).read_text()
        source = deploy._template_source(client, ARTIFACTS, template, lambda _m: None)
        [url] = source.values()
        assert list(source) == ["TemplateURL"]
        key = url.split(f"/{ARTIFACTS}/", 1)[1]
        assert key.startswith(layout.ARTIFACTS_PREFIX) and key.endswith("/cloudformation.yaml")
        assert client.s3().get_object(Bucket=ARTIFACTS, Key=key)["Body"].read().decode() == template
    assert deploy._template_source(client, ARTIFACTS, "x" * 100, lambda _m: None) == {
        "TemplateBody": "x" * 100
    }


# -- destroy (moto CloudFormation: a stand-in stack with the same parameters) ----------------------

STANDIN = {
    "Parameters": {
        "DataBucketName": {"Type": "String"},
        "ArtifactBucketName": {"Type": "String"},
        "RefinedTableName": {"Type": "String"},
    },
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"Database": {"Value": "default"}},
}


@pytest.fixture
def deployed() -> Iterator[Aws]:
    with mock_aws():
        client = Aws.connect(region=REGION)
        s3 = client.s3()
        for bucket in (DATA, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            for n in range(3):
                s3.put_object(Bucket=bucket, Key="raw/dt=2025-04-30/IBOV.parquet", Body=f"v{n}".encode())
            s3.delete_object(Bucket=bucket, Key="raw/dt=2025-04-30/IBOV.parquet")  # a delete marker
        params = {"DataBucketName": DATA, "ArtifactBucketName": ARTIFACTS, "RefinedTableName": "ibov_refined"}
        client.cloudformation().create_stack(
            StackName="ibov",
            TemplateBody=json.dumps(STANDIN),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        )
        client.glue().create_database(DatabaseInput={"Name": "default"})
        client.glue().create_table(DatabaseName="default", TableInput={"Name": "ibov_refined"})
        yield client


def test_destroy_keeps_the_data_by_default(deployed: Aws) -> None:
    target = deploy.targets(deployed, "ibov")
    assert (target.data_bucket, target.artifact_bucket, target.table) == (DATA, ARTIFACTS, "ibov_refined")
    result = deploy.destroy(deployed, target, sleep=lambda _s: None)
    assert result.stack_deleted and result.kept == (DATA, ARTIFACTS) and not result.deleted_buckets
    assert deploy.targets(deployed, "ibov").stack is None
    assert deployed.s3().list_object_versions(Bucket=DATA)["Versions"]
    assert deployed.glue().get_table(DatabaseName="default", Name="ibov_refined")


def test_destroy_delete_data_empties_every_version(deployed: Aws) -> None:
    notes: list[str] = []
    result = deploy.destroy(
        deployed, deploy.targets(deployed, "ibov"), delete_data=True, progress=notes.append
    )
    assert result.deleted_buckets == {DATA: 4, ARTIFACTS: 4}  # 3 versions + 1 delete marker each
    assert result.table_deleted and result.kept == ()
    names = {b["Name"] for b in deployed.s3().list_buckets()["Buckets"]}
    assert not names & {DATA, ARTIFACTS}
    again = deploy.destroy(deployed, deploy.targets(deployed, "ibov"), delete_data=True)
    assert (again.stack_deleted, again.deleted_buckets, again.table_deleted) == (False, {}, False)


def test_cli_destroy_asks_before_deleting_data(moto_server: str) -> None:  # noqa: F811
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=DATA)
    s3.put_object(Bucket=DATA, Key="raw/dt=2025-04-30/IBOV.parquet", Body=b"x")
    env = {"AWS_ENDPOINT_URL": moto_server}
    refused = run_ibov("destroy", "--delete-data", env=env)  # stdin is empty: the answer is "no"
    assert refused.code == 1 and "Aborted" in refused.stderr
    assert f"every object version in s3://{DATA}" in refused.stderr
    assert s3.list_objects_v2(Bucket=DATA)["KeyCount"] == 1
    kept = run_ibov("destroy", env=env)
    assert kept.code == 0, kept.stderr
    assert "no stack to delete" in kept.stderr and DATA in kept.stdout and "kept" in kept.stdout
    done = run_ibov("destroy", "--delete-data", "--yes", "--json", env=env)
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["deleted_buckets"] == {DATA: 1}
    assert DATA not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_cli_deploy_twice_status_and_destroy_on_moto(moto_server: str) -> None:  # noqa: F811
    """The real template on moto's CloudFormation (which skips the Glue and Athena resources): a second
    deploy changes nothing, `status` sees the stack, `destroy` keeps the data."""
    env = {"AWS_ENDPOINT_URL": moto_server}
    first = run_ibov("deploy", "--json", env=env)
    assert first.code == 0, first.stderr
    created = json.loads(first.stdout)
    assert (created["action"], created["status"]) == ("created", "CREATE_COMPLETE")
    assert (
        created["outputs"]["DataBucket"] == DATA and created["outputs"]["TriggerFunction"] == "ibov-trigger"
    )
    assert "CREATE_COMPLETE ibov" in first.stderr
    code = aws_client("lambda").get_function(FunctionName="ibov-trigger")["Configuration"]
    assert code["Handler"] == "trigger.handler" and code["Runtime"] == "python3.12"

    second = run_ibov("deploy", "--json", env=env)
    assert second.code == 0, second.stderr
    again = json.loads(second.stdout)
    assert (again["action"], again["uploaded"], again["parameters"]) == (
        "unchanged",
        [],
        created["parameters"],
    )

    status = run_ibov("status", "--engine", "aws", "--json", env=env)
    assert status.code == 0, status.stderr
    info = json.loads(status.stdout)
    assert (info["stack"]["status"], info["lake"], info["indices"]) == (
        "CREATE_COMPLETE",
        f"s3://{DATA}/",
        [],
    )

    gone = run_ibov("destroy", "--json", env=env)
    assert gone.code == 0, gone.stderr
    assert json.loads(gone.stdout)["kept"] == [DATA, ARTIFACTS]

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

from ibovcli import datasets, layout
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
    for needed in ("ibovcli/__init__.py", "ibovcli/datasets.py", "ibovcli/schema.py", "ibovcli/trigger.py"):
        assert needed in modules
    for dataset in datasets.ALL.values():  # every dataset's refine SQL
        assert f"ibovcli/sql/{dataset.refine_sql}" in modules
    queries = sorted(p.name for p in (sources.ROOT / "ibovcli" / "sql" / "queries").glob("*.sql"))
    assert [m.rsplit("/", 1)[1] for m in modules if m.startswith("ibovcli/sql/queries/")] == queries
    assert "ibovcli/engines/local.py" not in modules  # imported only inside the local mode's functions
    assert all(not m.endswith(".pyc") and "__pycache__" not in m for m in modules)
    # the handler at the zip's root (Handler: trigger.handler) + the stdlib-only modules it imports
    assert names(pkg.lambda_code) == [
        "ibovcli/__init__.py",
        "ibovcli/datasets.py",
        "ibovcli/schema.py",
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
        "import ibovcli, ibovcli.datasets, ibovcli.trigger, ibovcli.errors;"
        "sqls = [d.sql() for d in ibovcli.datasets.ALL.values()];"
        "assert all('raw_rows' in sql for sql in sqls) and ibovcli.__file__.startswith(sys.argv[1])"
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
        "RefinedTableName": datasets.PORTFOLIO.table,
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
    with pytest.raises(ConfigError, match=r"'me at example\.com' is not an e-mail address"):
        deploy.parameters(deploy.DeployOptions(alert_email="me at example.com"), pkg, {}, ACCOUNT, REGION)


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
    code = [k for k in stored if k.startswith(layout.ARTIFACTS_PREFIX)]
    assert code == sorted(a.key for a in pkg.artifacts) == sorted(result.uploaded)
    # the settings a deploy after `destroy` reuses, remembered in the artifact bucket
    assert set(stored) - set(code) == {"deploy-settings/ibov.json"}
    remembered = json.loads(s3.get_object(Bucket=ARTIFACTS, Key="deploy-settings/ibov.json")["Body"].read())
    assert remembered == {"stack": "ibov", "region": REGION} | {
        k: result.parameters[k] for k in deploy.REMEMBERED
    }
    assert f"remembered the deploy settings in s3://{ARTIFACTS}/deploy-settings/ibov.json" in notes
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
    assert f"--role-arn arn:aws:iam::{ACCOUNT}:role/LabRole" in caught.value.hint


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
    notes: list[str] = []
    result = deploy.deploy(client, deploy.DeployOptions(), progress=notes.append, sleep=lambda _s: None)
    assert (result.action, result.status) == ("imported", "UPDATE_COMPLETE")
    # a bucket without ibov's tags and no remembered settings (e.g. kept by an older ibov): say what to pass
    assert notes[0] == (
        f"no stack ibov: adopting the data bucket {DATA} (kept by a destroy); its other settings were not "
        f"found (nothing at s3://{ARTIFACTS}/deploy-settings/ibov.json): pass --role-arn ARN if it used an "
        f"existing role (Learner Lab: arn:aws:iam::{ACCOUNT}:role/LabRole); --alert-email EMAIL if it sent "
        "alerts; IBOV_TABLE=NAME if its table was not ibov_refined"
    )


def test_busy_stack_and_taken_bucket_are_refused(aws: tuple[Aws, Stubber]) -> None:
    client, stub = aws
    stub.add_response("describe_stacks", stack_description("UPDATE_IN_PROGRESS"), {"StackName": "ibov"})
    with pytest.raises(ConfigError, match=r"busy \(UPDATE_IN_PROGRESS\)"):
        deploy.deploy(client, deploy.DeployOptions(), sleep=lambda _s: None)


def test_buckets_in_another_region_are_refused_before_anything_is_created(aws: tuple[Aws, Stubber]) -> None:
    """Lambda takes its code only from a bucket of its own region; a stack adopts only such a bucket."""
    client, stub = aws
    elsewhere = {"LocationConstraint": "eu-west-1"}
    client.s3().create_bucket(Bucket=ARTIFACTS, CreateBucketConfiguration=elsewhere)  # type: ignore[typeddict-item]
    no_stack(stub)
    with pytest.raises(ConfigError, match=rf"artifact bucket {ARTIFACTS} is in eu-west-1, not in {REGION}"):
        deploy.deploy(client, deploy.DeployOptions(), sleep=lambda _s: None)
    assert "Contents" not in client.s3().list_objects_v2(Bucket=ARTIFACTS)  # nothing uploaded
    client.s3().create_bucket(Bucket="kept-data", CreateBucketConfiguration=elsewhere)  # type: ignore[typeddict-item]
    no_stack(stub)
    with pytest.raises(
        ConfigError, match=rf"data bucket kept-data is in eu-west-1, not in {REGION}"
    ) as caught:
        deploy.deploy(
            client,
            deploy.DeployOptions(data_bucket="kept-data", artifact_bucket="code-here"),
            sleep=lambda _s: None,
        )
    assert "--region" in caught.value.hint


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


def lambda_notification(function: str, prefix: str = "raw/") -> dict[str, Any]:
    return {
        "LambdaFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
    }


def test_destroy_keeps_the_data_by_default(deployed: Aws) -> None:
    s3 = deployed.s3()
    # what the stack set up (moto's CloudFormation skips NotificationConfiguration), plus someone else's
    s3.put_bucket_notification_configuration(
        Bucket=DATA,
        NotificationConfiguration={  # type: ignore[typeddict-item]
            "LambdaFunctionConfigurations": [
                lambda_notification("ibov-trigger"),
                lambda_notification("audit-copier", prefix="snapshots/"),
            ]
        },
    )
    target = deploy.targets(deployed, "ibov")
    assert (target.data_bucket, target.artifact_bucket, target.table) == (DATA, ARTIFACTS, "ibov_refined")
    assert target.trigger_function == "ibov-trigger"
    notes: list[str] = []
    result = deploy.destroy(deployed, target, progress=notes.append, sleep=lambda _s: None)
    assert result.stack_deleted and result.kept == (DATA, ARTIFACTS) and not result.deleted_buckets
    assert deploy.targets(deployed, "ibov").stack is None
    assert s3.list_object_versions(Bucket=DATA)["Versions"]
    assert deployed.glue().get_table(DatabaseName="default", Name="ibov_refined")
    # the kept bucket no longer notifies the deleted function; the other consumer is left alone
    assert result.notifications_removed == 1 and result.as_json()["notifications_removed"] == 1
    left = s3.get_bucket_notification_configuration(Bucket=DATA)["LambdaFunctionConfigurations"]
    assert [c["LambdaFunctionArn"].rsplit(":", 1)[1] for c in left] == ["audit-copier"]
    assert (
        f"removed the event notification of s3://{DATA} to the deleted function ibov-trigger; "
        "the next `ibov deploy` adds it again"
    ) in notes
    # the stack's settings are remembered even though it was deployed before ibov remembered them
    remembered = json.loads(s3.get_object(Bucket=ARTIFACTS, Key="deploy-settings/ibov.json")["Body"].read())
    assert remembered["DataBucketName"] == DATA and remembered["RefinedTableName"] == "ibov_refined"
    # a second destroy (no stack) finds the same buckets and has nothing left to remove
    again = deploy.destroy(deployed, deploy.targets(deployed, "ibov"), sleep=lambda _s: None)
    assert (again.stack_deleted, again.kept, again.notifications_removed) == (False, (DATA, ARTIFACTS), 0)


def test_removing_the_only_notification_turns_notifications_off() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=DATA)
        config: Any = {"LambdaFunctionConfigurations": [lambda_notification("ibov-trigger")]}
        s3.put_bucket_notification_configuration(Bucket=DATA, NotificationConfiguration=config)
        assert s3_module.remove_lambda_notifications(s3, DATA, "other-function") == 0
        assert s3_module.remove_lambda_notifications(s3, DATA, "ibov-trigger") == 1
        left = s3.get_bucket_notification_configuration(Bucket=DATA)
        assert "LambdaFunctionConfigurations" not in left
        assert s3_module.remove_lambda_notifications(s3, DATA, "ibov-trigger") == 0


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
    assert refused.code == 1 and "aborted: nothing was changed" in refused.stderr
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
    assert (info["stack"]["status"], info["lake"], info["coverage"]) == (
        "CREATE_COMPLETE",
        f"s3://{DATA}/",
        [],
    )

    gone = run_ibov("destroy", "--json", env=env)
    assert gone.code == 0, gone.stderr
    assert json.loads(gone.stdout)["kept"] == [DATA, ARTIFACTS]


# -- redeploy after destroy: the remembered settings ------------------------------------------------


def stub_import_then_update(stub: Stubber, bucket: str, update_call: dict[str, Any]) -> None:
    """CloudFormation's side of adopting ``bucket`` into a new stack, then the full update (moto cannot
    execute an IMPORT change set: it creates the bucket again and fails with BucketAlreadyExists)."""
    no_stack(stub)
    stub.add_response(
        "create_change_set",
        {"Id": "cs-1", "StackId": STACK_ID},
        {
            "StackName": "ibov",
            "ChangeSetName": ANY,
            "ChangeSetType": "IMPORT",
            "TemplateBody": deploy.IMPORT_TEMPLATE,
            "Parameters": [{"ParameterKey": "DataBucketName", "ParameterValue": bucket}],
            "ResourcesToImport": [
                {
                    "ResourceType": "AWS::S3::Bucket",
                    "LogicalResourceId": "DataBucket",
                    "ResourceIdentifier": {"BucketName": bucket},
                }
            ],
            "Capabilities": ["CAPABILITY_IAM"],
        },
    )
    stub.add_response(
        "describe_change_set", {"Status": "CREATE_COMPLETE"}, {"ChangeSetName": ANY, "StackName": STACK_ID}
    )
    stub.add_response("execute_change_set", {}, {"ChangeSetName": ANY, "StackName": STACK_ID})
    stub.add_response("describe_stacks", stack_description("IMPORT_COMPLETE"), {"StackName": STACK_ID})
    imported = events(("e1", "DataBucket", "IMPORT_COMPLETE", ""))
    stub.add_response("describe_stack_events", imported, {"StackName": STACK_ID})
    stub.add_response("describe_stack_events", imported, {"StackName": STACK_ID})
    stub.add_response("update_stack", {"StackId": STACK_ID}, update_call)
    stub.add_response(
        "describe_stacks", stack_description("UPDATE_COMPLETE", **OUTPUTS), {"StackName": STACK_ID}
    )
    stub.add_response(
        "describe_stack_events", events(("e2", "ibov", "UPDATE_COMPLETE", "")), {"StackName": STACK_ID}
    )


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_plain_deploy_after_destroy_adopts_the_kept_bucket_with_the_same_settings(
    moto_server: str,  # noqa: F811
) -> None:
    """Learner Lab: `deploy --bucket X --role-arn R --alert-email E`, `destroy`, then a plain `deploy`
    must adopt X (not create a new default bucket) and keep R (without it: iam:CreateRole is denied)
    and E. The first two run as the CLI on moto's CloudFormation with the real template."""
    env = {"AWS_ENDPOINT_URL": moto_server}
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "glue.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws_client("iam").create_role(RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(trust))
    assert role["Role"]["Arn"] == LAB_ROLE
    first = run_ibov(
        "deploy",
        "--bucket",
        "my-ibov-data",
        "--role-arn",
        LAB_ROLE,
        "--alert-email",
        "me@example.com",
        env=env,
    )
    assert first.code == 0, first.stderr
    s3 = aws_client("s3")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="my-ibov-data")["TagSet"]}
    assert tags[deploy.TAG_ARTIFACT_BUCKET] == ARTIFACTS and tags[deploy.TAG_TABLE] == "ibov_refined"
    # the notification the stack gives the bucket (moto's CloudFormation does not apply it)
    s3.put_bucket_notification_configuration(
        Bucket="my-ibov-data",
        NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_notification("ibov-trigger")]},
    )

    gone = run_ibov("destroy", "--json", env=env)
    assert gone.code == 0, gone.stderr
    assert json.loads(gone.stdout)["kept"] == ["my-ibov-data", ARTIFACTS]
    assert json.loads(gone.stdout)["notifications_removed"] == 1
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(
        Bucket="my-ibov-data"
    )
    assert DATA not in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    session = boto3.Session(region_name=REGION)
    cfn = session.client("cloudformation")
    client = Aws(session, clients={"cloudformation": cfn})
    pkg = deploy.package()
    with Stubber(cfn) as stub:
        stub_import_then_update(
            stub,
            "my-ibov-data",
            expected_call(
                pkg, DataBucketName="my-ibov-data", ExistingRoleArn=LAB_ROLE, AlertEmail="me@example.com"
            ),
        )
        notes: list[str] = []
        result = deploy.deploy(client, deploy.DeployOptions(), progress=notes.append, sleep=lambda _s: None)
        stub.assert_no_pending_responses()
    assert (result.action, result.parameters["DataBucketName"]) == ("imported", "my-ibov-data")
    assert notes[0] == (
        "no stack ibov: reusing the settings of its last deploy "
        f"(s3://{ARTIFACTS}/deploy-settings/ibov.json): data bucket my-ibov-data, artifact bucket "
        f"{ARTIFACTS}, role {LAB_ROLE}, alert e-mail me@example.com, table ibov_refined (flags override them)"
    )
    assert DATA not in {b["Name"] for b in s3.list_buckets()["Buckets"]}  # no new default bucket


def test_settings_lost_but_tags_kept_recover_what_they_can_and_name_the_rest() -> None:
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        client = Aws(session, clients={"s3": session.client("s3", endpoint_url="http://s3.amazonaws.com")})
        s3 = client.s3()
        s3.create_bucket(Bucket="my-data")
        s3.put_bucket_tagging(
            Bucket="my-data",
            Tagging={
                "TagSet": [
                    {"Key": deploy.TAG_STACK, "Value": "ibov"},
                    {"Key": deploy.TAG_ARTIFACT_BUCKET, "Value": "my-code"},
                    {"Key": deploy.TAG_TABLE, "Value": "lab_refined"},
                ]
            },
        )
        memory = deploy.recall(client, "ibov", ACCOUNT, REGION, data_bucket="my-data")
        assert (memory.kept_bucket, memory.settings_at) == ("my-data", "")
        assert memory.values == {
            "DataBucketName": "my-data",
            "ArtifactBucketName": "my-code",
            "RefinedTableName": "lab_refined",
        }
        opts = deploy.DeployOptions(data_bucket="my-data")
        assert memory.note(opts, ACCOUNT) == (
            "no stack ibov: adopting the data bucket my-data (kept by a destroy) (from its tags: artifact "
            "bucket my-code, table lab_refined); its other settings were not found (nothing at "
            "s3://my-code/deploy-settings/ibov.json): pass --role-arn ARN if it used an existing role "
            f"(Learner Lab: arn:aws:iam::{ACCOUNT}:role/LabRole); --alert-email EMAIL if it sent alerts"
        )
        filled = memory.apply(opts)
        assert (filled.artifact_bucket, filled.table, filled.role_arn) == ("my-code", "lab_refined", None)
        # flags given: nothing left to ask for
        given = deploy.DeployOptions(data_bucket="my-data", role_arn=LAB_ROLE, alert_email="")
        assert memory.note(given, ACCOUNT) == (
            "no stack ibov: adopting the data bucket my-data (kept by a destroy) (from its tags: artifact "
            "bucket my-code, table lab_refined)"
        )

        # the settings in the custom artifact bucket the tags name are found, and flags override them
        s3.create_bucket(Bucket="my-code")
        values = {
            "DataBucketName": "my-data",
            "ArtifactBucketName": "my-code",
            "ExistingRoleArn": LAB_ROLE,
            "AlertEmail": "me@example.com",
            "RefinedTableName": "lab_refined",
        }
        assert deploy.save_settings(client, "ibov", REGION, values, lambda _m: None) is True
        assert deploy.save_settings(client, "ibov", REGION, values, lambda _m: None) is False  # unchanged
        memory = deploy.recall(client, "ibov", ACCOUNT, REGION, data_bucket="my-data")
        assert memory.settings_at == "s3://my-code/deploy-settings/ibov.json" and memory.values == values
        override = memory.apply(deploy.DeployOptions(data_bucket="my-data", alert_email=""))
        assert (override.role_arn, override.alert_email) == (LAB_ROLE, "")
        # another stack's or another region's settings are not this stack's
        assert deploy.recall(client, "other", ACCOUNT, REGION, data_bucket="my-data").settings_at == ""
        assert deploy.read_settings(client, "my-code", "ibov", "eu-west-1") is None
        # nothing kept and nothing remembered: a first deploy, nothing to say
        fresh = deploy.recall(client, "fresh", ACCOUNT, REGION)
        assert (fresh.values, fresh.kept_bucket) == ({}, "")
        assert fresh.note(deploy.DeployOptions(stack="fresh"), ACCOUNT) is None

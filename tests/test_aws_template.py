"""infra/cloudformation.yaml: lint-clean, and wired the way the code expects (read with cfn-lint's decoder).

moto cannot create Glue, Athena or the bucket notification from a template, so the wiring is checked
by reading the template itself.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from ibovcli import datasets, layout, queries, schema
from ibovcli.aws import deploy, namedqueries, sources, stack

TEMPLATE = sources.ROOT / sources.TEMPLATE


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert decoded is not None
    return dict(decoded)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, res in template["Resources"].items():
        for node in walk(res.get("Properties", {})):
            if isinstance(node, dict) and "Effect" in node and "Action" in node:
                yield name, node


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def sub_text(value: Any) -> str:
    """The text of ``!Sub "..."`` (or a plain string)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        inner = value["Fn::Sub"]
        return inner if isinstance(inner, str) else inner[0]
    assert isinstance(value, str), value
    return value


def test_cfn_lint_reports_nothing() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=300)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_raw_uploads_notify_the_trigger_without_a_dependency_cycle(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["DataBucket"]
    [config] = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    rules = {r["Name"]: r["Value"] for r in config["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": layout.RAW_PREFIX, "suffix": datasets.RAW_SUFFIX}
    # every dataset's raw files are under that prefix, so every one of them reaches the trigger
    assert all(d.raw_prefix.startswith(layout.RAW_PREFIX) for d in datasets.ALL.values())
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Function"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}
    # the permission is built from the bucket *parameter*, so it never depends on the bucket resource
    permission = template["Resources"][bucket["DependsOn"]]
    assert permission["Type"] == "AWS::Lambda::Permission"
    props = permission["Properties"]
    assert props["Principal"] == "s3.amazonaws.com"
    assert props["SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${DataBucketName}"}
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert bucket["Properties"]["BucketName"] == {"Ref": "DataBucketName"}
    text = json.dumps(permission)
    assert '"DataBucket"' not in text and "${DataBucket}" not in text and "${DataBucket." not in text
    # a bucket kept by `destroy` (Retain) is what `deploy` imports back, under this logical ID
    imported = json.loads(deploy.IMPORT_TEMPLATE)["Resources"]
    assert list(imported) == ["DataBucket"]
    assert bucket["DeletionPolicy"] == imported["DataBucket"]["DeletionPolicy"] == "Retain"


def test_data_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    props = template["Resources"]["DataBucket"]["Properties"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    [sse] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    lifecycle = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert lifecycle["expire-athena-results"]["Prefix"] == layout.ATHENA_RESULTS_PREFIX
    assert lifecycle["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    [deny] = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_lambda_starts_this_job(template: dict[str, Any]) -> None:
    fn = template["Resources"]["TriggerFunction"]["Properties"]
    assert fn["Environment"]["Variables"] == {"GLUE_JOB_NAME": {"Ref": "RefineJob"}}
    assert fn["Runtime"] == "python3.12"
    module, function = fn["Handler"].split(".")
    assert module == Path(sources.LAMBDA_HANDLER).stem
    assert f"def {function}(" in (sources.ROOT / sources.LAMBDA_HANDLER).read_text()
    assert fn["Code"] == {"S3Bucket": {"Ref": "ArtifactBucketName"}, "S3Key": {"Ref": "LambdaCodeKey"}}
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "TriggerLogGroup"}
    assert template["Resources"]["TriggerLogGroup"]["Properties"]["RetentionInDays"] > 0
    # least privilege: two Glue actions, on this job only
    role = template["Resources"]["TriggerRole"]["Properties"]
    glue_statements = [
        s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if "glue:" in str(s["Action"])
    ]
    assert [sorted(as_list(s["Action"])) for s in glue_statements] == [
        ["glue:GetJobRuns", "glue:StartJobRun"]
    ]
    assert sub_text(glue_statements[0]["Resource"]).endswith(":job/${RefineJob}")


def test_glue_job_is_glue_5_serialised_and_gets_the_modules(template: dict[str, Any]) -> None:
    job = template["Resources"]["RefineJob"]["Properties"]
    assert job["GlueVersion"] == "5.0"
    assert job["Command"]["Name"] == "glueetl"
    assert sub_text(job["Command"]["ScriptLocation"]) == "s3://${ArtifactBucketName}/${GlueScriptKey}"
    assert (job["WorkerType"], job["NumberOfWorkers"]) == ("G.1X", 2)
    assert job["Timeout"] > 0
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["JobRunQueuingEnabled"] is True
    args = job["DefaultArguments"]
    assert sub_text(args["--extra-py-files"]) == "s3://${ArtifactBucketName}/${GlueModulesKey}"
    assert args["--enable-glue-datacatalog"] == "true"
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    assert args["--bucket"] == {"Ref": "DataBucketName"}
    assert args["--refined_table"] == {"Ref": "RefinedTableName"}
    assert args["--database"] == schema.CATALOG_DATABASE
    assert template["Parameters"]["RefinedTableName"]["Default"] == datasets.PORTFOLIO.table


def test_glue_role_lists_the_bucket_and_reaches_only_its_prefixes_and_its_table(
    template: dict[str, Any],
) -> None:
    role = template["Resources"]["GlueJobRole"]["Properties"]
    stmts = {s["Sid"]: s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
    assert sub_text(stmts["ReadRaw"]["Resource"]).endswith(f"/{layout.RAW_PREFIX}*")
    # exactly the refined prefix of every dataset and the compact copy's prefix, nothing else
    written = [d.refined_prefix for d in datasets.ALL.values()] + [datasets.COMPACT.prefix]
    assert [sub_text(r) for r in as_list(stmts["RewriteRefined"]["Resource"])] == [
        f"arn:${{AWS::Partition}}:s3:::${{DataBucketName}}/{prefix}*" for prefix in written
    ]
    # ListBucket on the bucket itself and unconditioned: a HEAD of a key Spark has not written yet
    # must answer 404, not 403, and a HEAD carries no s3:prefix for a condition to match
    listing = [s for s in stmts.values() if "s3:ListBucket" in as_list(s["Action"])]
    assert [s["Sid"] for s in listing] == ["ListDataBucket"]
    assert as_list(listing[0]["Action"]) == ["s3:ListBucket"]
    assert sub_text(listing[0]["Resource"]) == "arn:${AWS::Partition}:s3:::${DataBucketName}"
    assert "Condition" not in listing[0]
    # every object action stays on raw/, refined/ or the job's two code objects
    allowed = (
        f"${{DataBucketName}}/{layout.RAW_PREFIX}*",
        *(f"${{DataBucketName}}/{prefix}*" for prefix in written),
        "${ArtifactBucketName}/${GlueScriptKey}",
        "${ArtifactBucketName}/${GlueModulesKey}",
    )
    object_statements = [
        s
        for s in stmts.values()
        if any(a.startswith("s3:") for a in as_list(s["Action"])) and s not in listing
    ]
    assert {a for s in object_statements for a in as_list(s["Action"])} == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }
    for statement in object_statements:
        for resource in as_list(statement["Resource"]):
            assert sub_text(resource).split(":::", 1)[1] in allowed, statement["Sid"]
    writes = [s for s in object_statements if "s3:PutObject" in as_list(s["Action"])]
    assert [sub_text(r) for s in writes for r in as_list(s["Resource"])] == [
        f"arn:${{AWS::Partition}}:s3:::${{DataBucketName}}/{prefix}*" for prefix in written
    ]
    catalog = [sub_text(r).split("${AWS::AccountId}:")[1] for r in stmts["UpdateTheRefinedTable"]["Resource"]]
    db = schema.CATALOG_DATABASE
    # every dataset's table; the portfolio's name is a stack parameter
    tables = ["${RefinedTableName}" if d is datasets.PORTFOLIO else d.table for d in datasets.ALL.values()]
    tables.append(datasets.COMPACT.table)  # the compact copy, whose partitions the job adds and drops
    assert catalog == ["catalog", f"database/{db}", *(f"table/{db}/{t}" for t in tables)]


def test_no_iam_statement_allows_wildcard_actions(template: dict[str, Any]) -> None:
    found = list(statements(template))
    assert len(found) >= 10
    for name, statement in found:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{name}: {action}"


def test_existing_role_replaces_both_roles(template: dict[str, Any]) -> None:
    roles = resources(template, "AWS::IAM::Role")
    assert set(roles) == {"TriggerRole", "GlueJobRole"}
    assert all(r["Condition"] == "CreateRoles" for r in roles.values())
    assert template["Conditions"]["CreateRoles"] == {"Fn::Equals": [{"Ref": "ExistingRoleArn"}, ""]}
    assert template["Resources"]["TriggerFunction"]["Properties"]["Role"] == {
        "Fn::If": ["CreateRoles", {"Fn::GetAtt": ["TriggerRole", "Arn"]}, {"Ref": "ExistingRoleArn"}]
    }
    assert template["Resources"]["RefineJob"]["Properties"]["Role"] == {
        "Fn::If": ["CreateRoles", {"Fn::GetAtt": ["GlueJobRole", "Arn"]}, {"Ref": "ExistingRoleArn"}]
    }
    assert template["Parameters"]["ExistingRoleArn"]["Default"] == ""


def test_athena_workgroup(template: dict[str, Any]) -> None:
    config = template["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    assert config["BytesScannedCutoffPerQuery"] >= 10 * 1024 * 1024
    results = config["ResultConfiguration"]
    assert sub_text(results["OutputLocation"]) == f"s3://${{DataBucketName}}/{layout.ATHENA_RESULTS_PREFIX}"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"


def test_every_saved_query_is_a_named_query_with_the_athena_text(template: dict[str, Any]) -> None:
    saved = queries.load_all()
    named = resources(template, "AWS::Athena::NamedQuery")
    assert len(named) == len(saved) >= 1
    for name, q in saved.items():
        props = named[namedqueries.logical_id(name)]["Properties"]
        text, order = queries.athena_statement(q.sql, None)
        # the header comments become one line naming the ? parameters in order; the SQL is kept whole
        first_sql = next(
            i for i, ln in enumerate(text.splitlines()) if ln.strip() and not ln.startswith("--")
        )
        text = f"-- {name}: parameters in order: {', '.join(order)}\n" + "\n".join(
            text.splitlines()[first_sql:]
        )
        # the serving tables: the portfolio's compact copy (one object per index and month)
        variables = {
            name: datasets.COMPACT.table if name == "portfolio" else datasets.get(name).table
            for name in queries.table_tokens(q.sql)
        }
        assert props["QueryString"] == {"Fn::Sub": [text, variables]}
        assert props["Name"] == name
        assert props["Description"] == q.description
        assert props["Database"] == schema.CATALOG_DATABASE
        assert props["WorkGroup"] == {"Ref": "AthenaWorkGroup"}


def test_template_named_queries_are_up_to_date() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert namedqueries.is_current(text, queries.load_all().values()), (
        "run: python -m ibovcli.aws.namedqueries --write"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ibovcli.aws.namedqueries", "--check", "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_generator_handles_any_number_of_queries_and_detects_stale_templates(tmp_path: Path) -> None:
    tricky = [
        queries.SavedQuery(
            "one", "First: 'quoted' and \"double\" — ünïcode.", (), "SELECT 1 AS x FROM ${portfolio}\n"
        ),
        queries.SavedQuery("two-parts", "Second.", (), "  -- leading spaces\nSELECT 2\n\n\n"),
        queries.SavedQuery("three_x", "Third.", (), "SELECT\n\tcol FROM ${portfolio} JOIN ${levels}"),
    ]
    copy = tmp_path / "t.yaml"
    original = TEMPLATE.read_text(encoding="utf-8")
    copy.write_text(original, encoding="utf-8")
    for count in (0, 1, 3):
        chosen = tricky[:count]
        copy.write_text(namedqueries.rewrite(copy.read_text(encoding="utf-8"), chosen), encoding="utf-8")
        assert namedqueries.is_current(copy.read_text(encoding="utf-8"), chosen)
        decoded, problems = decode(str(copy))
        assert not problems and decoded is not None
        named = resources(dict(decoded), "AWS::Athena::NamedQuery")
        assert sorted(named) == sorted(namedqueries.logical_id(q.name) for q in chosen)
        for q in chosen:
            sql = named[namedqueries.logical_id(q.name)]["Properties"]["QueryString"]["Fn::Sub"][0]
            # the header comments give way to one line naming the parameters; the SQL is kept whole
            lines = queries.athena_statement(q.sql)[0].splitlines()
            first = next(i for i, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("--"))
            assert sql == f"-- {q.name}: no parameters\n" + "\n".join(lines[first:])
    assert not namedqueries.is_current(copy.read_text(encoding="utf-8"), tricky[:2])
    # everything outside the block is untouched
    restored = namedqueries.rewrite(copy.read_text(encoding="utf-8"), queries.load_all().values())
    assert restored == original
    with pytest.raises(ValueError, match="one logical ID"):
        namedqueries.render([tricky[1], queries.SavedQuery("two_parts", "x", (), "SELECT 1")])
    with pytest.raises(ValueError, match="not datasets"):
        namedqueries.render([queries.SavedQuery("bad", "x", (), "SELECT '${other}'")])


def test_outputs_name_everything_ibov_reads(template: dict[str, Any]) -> None:
    wanted = {getattr(stack, n) for n in dir(stack) if n.startswith("OUT_")}
    assert wanted <= set(template["Outputs"])
    assert template["Outputs"]["Database"]["Value"] == schema.CATALOG_DATABASE


def test_failed_job_runs_alert_the_topic(template: dict[str, Any]) -> None:
    rule = template["Resources"]["JobFailureRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": [{"Ref": "RefineJob"}], "state": ["FAILED", "TIMEOUT", "STOPPED"]},
    }
    assert [t["Arn"] for t in rule["Targets"]] == [{"Ref": "AlertTopic"}]
    policy = template["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    events = [s for s in policy if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events and events[0]["Action"] == "sns:Publish"
    assert template["Resources"]["AlertSubscription"]["Condition"] == "HasAlertEmail"


def test_lambda_keeps_the_platform_start_end_and_report_lines(template: dict[str, Any]) -> None:
    """System logs at INFO (Lambda's default) include START/END/REPORT (duration, billed time, memory);
    WARN drops them, leaving no record of the invocations that went well."""
    logging = template["Resources"]["TriggerFunction"]["Properties"]["LoggingConfig"]
    assert logging["SystemLogLevel"] == "INFO"
    assert logging["ApplicationLogLevel"] == "INFO"


def test_data_bucket_tags_lead_a_later_deploy_to_the_remembered_settings(template: dict[str, Any]) -> None:
    tags = {t["Key"]: t["Value"] for t in template["Resources"]["DataBucket"]["Properties"]["Tags"]}
    assert tags == {
        deploy.TAG_STACK: {"Ref": "AWS::StackName"},
        deploy.TAG_ARTIFACT_BUCKET: {"Ref": "ArtifactBucketName"},
        deploy.TAG_TABLE: {"Ref": "RefinedTableName"},
    }
    # bucket names ([a-z0-9.-]), table names ([a-z0-9_]) and stack names ([A-Za-z0-9-]) are all valid tag
    # values; the deploy code reads exactly these keys
    assert template["Parameters"]["RefinedTableName"]["AllowedPattern"] == "^[a-z_][a-z0-9_]{0,127}$"


def test_alert_email_is_checked_before_anything_is_created(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["AlertEmail"]["AllowedPattern"])
    assert template["Parameters"]["AlertEmail"]["Default"] == ""
    for good in ("", "me@example.com", "first.last+ibov@sub.example.org"):
        assert pattern.match(good) and (good == "" or deploy._EMAIL_RE.match(good)), good
    for bad in ("me", "me@example", "me @example.com", "a@b@c.d"):
        assert not pattern.match(bad) and not deploy._EMAIL_RE.match(bad), bad


def test_every_checkov_skip_says_why(template: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, res in template["Resources"].items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) > 40, (name, skip)


def test_the_template_fits_inline() -> None:
    """CloudFormation takes at most 51,200 bytes of inline TemplateBody (deploy.MAX_TEMPLATE_BODY)."""
    assert len(TEMPLATE.read_bytes()) <= deploy.MAX_TEMPLATE_BODY

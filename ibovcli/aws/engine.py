"""The AWS engine: raw snapshots go to S3, the upload's S3 event starts the Glue job (through the
trigger Lambda), ibov follows that run, and saved queries run on Athena.

Resource names come from the settings (``--bucket``, ``IBOV_GLUE_JOB``, ``IBOV_WORKGROUP``,
``IBOV_TABLE``) or else from the stack's outputs, read only when a name is needed; so ``ibov scrape
--engine aws --bucket B`` works against any bucket, deployed by ibov or not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ibovcli import b3, layout, queries, schema, trigger
from ibovcli.aws import athena, glue, s3, stack
from ibovcli.aws.clients import Aws, aws_errors
from ibovcli.errors import NotDeployed
from ibovcli.pipeline import Notify, Refined, index_entries
from ibovcli.settings import Settings, table_name

_CONTENT_TYPES = {"json": "application/json", "csv": "text/csv", "txt": "text/plain"}
_UNSET: Any = object()


class AwsEngine:
    """The :class:`ibovcli.pipeline.Engine` on S3 + Lambda + Glue + Athena."""

    name = "aws"
    triggers_in_process = False  # S3 -> Lambda -> Glue does it; process() follows the run

    def __init__(
        self,
        aws: Aws,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        appear_timeout: float = 180.0,
        run_timeout: float = 3600.0,
        skew: float = 10.0,
        poll_every: float = 5.0,
    ) -> None:
        self.aws = aws
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.appear_timeout = appear_timeout
        self.run_timeout = run_timeout
        self.skew = skew
        self.poll_every = poll_every
        self._stack: stack.Stack | None = _UNSET
        #: raw key -> when S3 stored it (S3's clock), for finding the Glue run that upload triggered
        self._uploads: dict[str, datetime] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsEngine:
        with aws_errors("connecting to AWS"):
            return cls(Aws.connect(settings.profile, settings.region), settings)

    # -- names -------------------------------------------------------------------------------------

    def deployed(self) -> stack.Stack | None:
        """The stack (looked up once), or ``None`` when it is not deployed."""
        if self._stack is _UNSET:
            with aws_errors(f"looking up the stack {self.settings.stack_name}"):
                self._stack = stack.find(self.aws.cloudformation(), self.settings.stack_name)
        return self._stack

    def _name(self, setting: str | None, output: str, what: str, override: str) -> str:
        if setting:
            return setting
        deployed = self.deployed()
        if deployed is None:
            raise NotDeployed(
                f"no {what}: the stack {self.settings.stack_name!r} is not deployed and {override} is not set"
            )
        value = deployed.outputs.get(output)
        if not value:
            raise NotDeployed(f"the stack {deployed.name} ({deployed.status}) has no output {output}")
        return value

    @property
    def bucket(self) -> str:
        return self._name(self.settings.bucket, stack.OUT_BUCKET, "data bucket", "--bucket / IBOV_BUCKET")

    @property
    def glue_job(self) -> str:
        return self._name(self.settings.glue_job, stack.OUT_GLUE_JOB, "Glue job", "IBOV_GLUE_JOB")

    @property
    def workgroup(self) -> str:
        return self._name(self.settings.workgroup, stack.OUT_WORKGROUP, "Athena workgroup", "IBOV_WORKGROUP")

    @property
    def table(self) -> str:
        table = self.settings.table
        if not table:
            deployed = self.deployed()
            table = (deployed.outputs.get(stack.OUT_TABLE) if deployed else None) or schema.REFINED_TABLE
        return table_name(table)

    @property
    def database(self) -> str:
        s = self.settings
        # with every name given, ibov works without a stack (and without CloudFormation permissions)
        standalone = bool(s.bucket and s.glue_job and s.workgroup and s.table)
        deployed = None if standalone else self.deployed()
        return (deployed.outputs.get(stack.OUT_DATABASE) if deployed else None) or schema.CATALOG_DATABASE

    # -- Engine ------------------------------------------------------------------------------------

    def lock(self) -> contextlib.AbstractContextManager[None]:
        # S3 writes are atomic per object and the Glue job is serialised by the job itself
        # (MaxConcurrentRuns 1 + run queuing): nothing to lock on this side.
        return contextlib.nullcontext()

    def write_raw(self, p: b3.Portfolio) -> str:
        """Upload the original bytes, then the raw parquet (whose S3 event triggers the refine)."""
        from ibovcli.local import parquet_bytes, portfolio_table

        bucket = self.bucket
        key = layout.raw_key(p.index, p.session_date)
        with aws_errors(f"uploading {p.index} {p.session_date} to s3://{bucket}"):
            client = self.aws.s3()
            snapshot = layout.snapshot_key(p.index, p.session_date, p.original_ext)
            s3.put(client, bucket, snapshot, p.original, _CONTENT_TYPES.get(p.original_ext, "text/plain"))
            body = parquet_bytes(portfolio_table(p))
            stored_at = s3.put(client, bucket, key, body, "application/vnd.apache.parquet")
        self._uploads[key] = stored_at or datetime.now(UTC)
        return key

    def process(self, keys: list[str], notify: Notify) -> list[Refined]:
        """Follow the Glue run each day's upload triggered (or start one, for keys this engine did not
        upload, with the arguments the Lambda would pass) to the end."""
        bucket = self.bucket
        job = self.glue_job
        out: list[Refined] = []
        with aws_errors(f"following the Glue job {job}"):
            client = self.aws.glue()
            for req in trigger.refine_requests(trigger.s3_event(bucket, keys)):
                uploaded = [self._uploads[k] for k in req.keys if k in self._uploads]
                if uploaded:
                    notify(f"waiting for the Glue run that the upload of {req.day} triggers ({job})")
                    run = glue.find_triggered_run(
                        client,
                        job,
                        req.day,
                        glue.skewed(max(uploaded), self.skew),
                        bucket=bucket,
                        timeout=self.appear_timeout,
                        sleep=self.sleep,
                        clock=self.clock,
                    )
                    run_id = str(run["Id"])
                else:
                    run_id = glue.start_run(client, job, req.job_arguments())
                    notify(f"started the Glue run {run_id} with {req.job_arguments()}")

                def on_state(state: str, _run: Any, day: Any = req.day) -> None:
                    notify(f"Glue run {_run.get('Id')} (dt={day}): {state}")

                while True:
                    final = glue.wait_job_run(
                        client,
                        job,
                        run_id,
                        every=self.poll_every,
                        timeout=self.run_timeout,
                        sleep=self.sleep,
                        clock=self.clock,
                        on_state=on_state,
                    )
                    later = glue.newer_run(client, job, req.day, final, bucket) if uploaded else None
                    if later is None:
                        break
                    run_id = str(later["Id"])
                    notify(f"a later run for {req.day} supersedes it: {run_id}")
                day = s3.refined_day(self.aws.s3(), bucket, req.day)
                out.append(Refined(req.day, day.rows, day.indices, glue.run_seconds(final), run_id=run_id))
        return out

    def run_query(
        self, q: queries.SavedQuery, params: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        workgroup, database, table = self.workgroup, self.database, self.table
        with aws_errors(f"running the query {q.name} on Athena"):
            return athena.run_saved_query(
                self.aws.athena(),
                q,
                params,
                workgroup=workgroup,
                database=database,
                table=table,
                sleep=self.sleep,
                clock=self.clock,
            )

    def index_days(self, index: str) -> list[str]:
        """The days of ``index`` that Athena can read: raw snapshots in S3 whose day is a catalog partition.

        Two metadata reads, and no refined object: the raw zone's listing (one LIST per 1,000 raw keys)
        and, unless the index has no raw day, the partition metadata query of
        :func:`athena.partition_days`.
        """
        bucket = self.bucket
        workgroup, database, table = self.workgroup, self.database, self.table
        with aws_errors(f"listing the stored days of {index}"):
            raw = s3.raw_inventory(self.aws.s3(), bucket).get(index, [])
            if not raw:
                return []
            cataloged = athena.partition_days(
                self.aws.athena(),
                workgroup=workgroup,
                database=database,
                table=table,
                sleep=self.sleep,
                clock=self.clock,
            )
        return [d.isoformat() for d in raw if d.isoformat() in cataloged]

    def status(self) -> dict[str, Any]:
        """Stack state, raw days per index, days in the catalog, the last Glue runs."""
        deployed = self.deployed()
        bucket = self.bucket
        database, table = self.database, self.table
        job = self.settings.glue_job or (deployed.outputs.get(stack.OUT_GLUE_JOB) if deployed else None)
        with aws_errors(f"reading the state of s3://{bucket}"):
            raw = s3.raw_inventory(self.aws.s3(), bucket)
            cataloged = set(glue.catalog_days(self.aws.glue(), database, table))
            runs = [r.as_json() for r in glue.recent_runs(self.aws.glue(), job)] if job else []
        refined_counts = {
            index: sum(1 for d in days if d.isoformat() in cataloged) for index, days in raw.items()
        }
        indices = index_entries(raw, refined_counts)
        return {
            "engine": "aws",
            "lake": f"s3://{bucket}/",
            "stack": (
                deployed.as_json()
                if deployed
                else {"name": self.settings.stack_name, "status": "NOT_DEPLOYED"}
            ),
            "resources": {"bucket": bucket, "glue_job": job, "database": database, "table": table},
            "catalog_days": len(cataloged),
            "indices": indices,
            "runs": runs,
        }

    def watch(self, notify: Notify) -> None:
        """Follow the job's newest active Glue run, if any, to its end (JobFailed if it fails)."""
        job = self.glue_job
        with aws_errors(f"following the Glue job {job}"):
            client = self.aws.glue()
            active = [
                r
                for r in glue.job_runs(client, job, pages=1, page_size=25)
                if r.get("JobRunState") in glue.ACTIVE
            ]
            if not active:
                notify(f"no run of {job} in progress")
                return
            run = active[0]
            notify(f"following the Glue run {run['Id']} (dt={(run.get('Arguments') or {}).get('--dt')})")

            def on_state(state: str, r: Any) -> None:
                notify(f"Glue run {r.get('Id')}: {state}")

            done = glue.wait_job_run(
                client,
                job,
                str(run["Id"]),
                every=self.poll_every,
                timeout=self.run_timeout,
                sleep=self.sleep,
                clock=self.clock,
                on_state=on_state,
            )
            notify(f"Glue run {done['Id']} succeeded in {glue.run_seconds(done):.0f}s")

    def log_run(self, entry: dict[str, Any]) -> None:
        """Nothing to add: the Glue job runs are the record (``status`` lists them)."""
        return None

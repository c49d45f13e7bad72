"""The AWS engine: raw files go to S3, each upload's S3 event starts the Glue job (through the trigger
Lambda), ibov follows that run, and SQL runs on Athena.

Resource names come from the settings (``--bucket``, ``IBOV_GLUE_JOB``, ``IBOV_WORKGROUP``,
``IBOV_TABLE``) or else from the stack's outputs, read only when a name is needed; so ``ibov scrape
--engine aws --bucket B`` works against any bucket, deployed by ibov or not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ibovcli import datasets, layout, queries, rawfiles, schema, trigger
from ibovcli.aws import athena, glue, s3, stack
from ibovcli.aws.clients import Aws, aws_errors
from ibovcli.datasets import Unit
from ibovcli.engines.base import (
    Coverage,
    Notify,
    RefineResult,
    Removal,
    RunRecord,
    StatusReport,
    UnitCheck,
    compact_checks,
    quiet,
)
from ibovcli.errors import IbovError, JobFailed, NotDeployed
from ibovcli.rawfiles import RawWrite
from ibovcli.settings import Settings
from ibovcli.tradingdays import missing_days

_UNSET: Any = object()


class AwsEngine:
    """The :class:`~ibovcli.engines.base.Engine` on S3 + Lambda + Glue + Athena."""

    name = "aws"
    triggers_in_process = False  # S3 -> Lambda -> Glue does it; process() follows the run

    def __init__(
        self,
        aws: Aws,
        settings: Settings,
        *,
        notify: Notify = quiet,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        appear_timeout: float = 180.0,
        run_timeout: float = 3600.0,
        skew: float = 10.0,
        poll_every: float = 5.0,
    ) -> None:
        self.aws = aws
        self.settings = settings
        self.notify = notify
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
    def from_settings(cls, settings: Settings, notify: Notify = quiet) -> AwsEngine:
        with aws_errors("connecting to AWS"):
            return cls(Aws.connect(settings.profile, settings.region), settings, notify=notify)

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

    def _standalone(self) -> bool:
        """With every name given, ibov works without a stack (and without CloudFormation permissions)."""
        s = self.settings
        return bool(s.bucket and s.glue_job and s.workgroup and s.table)

    def tables(self) -> dict[str, str]:
        """The catalog table of each dataset (the portfolio's from IBOV_TABLE or the stack's output)."""
        table = self.settings.table
        if not table and not self._standalone():
            deployed = self.deployed()
            table = deployed.outputs.get(stack.OUT_TABLE) if deployed else None
        return datasets.tables(table)

    @property
    def database(self) -> str:
        deployed = None if self._standalone() else self.deployed()
        return (deployed.outputs.get(stack.OUT_DATABASE) if deployed else None) or schema.CATALOG_DATABASE

    # -- Engine ------------------------------------------------------------------------------------

    def lock(self) -> contextlib.AbstractContextManager[None]:
        # S3 writes are atomic per object and the Glue job is serialised by the job itself
        # (MaxConcurrentRuns 1 + run queuing): nothing to lock on this side.
        return contextlib.nullcontext()

    def write_raw(self, writes: Sequence[RawWrite]) -> list[str]:
        """Upload each write's original bytes, then its raw parquet (whose S3 event triggers the refine)."""
        bucket = self.bucket
        client = self.aws.s3()
        for w in writes:
            with aws_errors(f"uploading {w.key} to s3://{bucket}"):
                stored_at = None
                for key, body, content_type in w.files():
                    if body is None:
                        s3.delete(client, bucket, key)  # an original of another kind
                    else:
                        stored_at = s3.put(client, bucket, key, body, content_type)
            self._uploads[w.key] = stored_at or datetime.now(UTC)
        return [w.key for w in writes]

    def remove(self, raw_keys: Sequence[str], *, dry_run: bool, notify: Notify) -> Removal:
        """Delete the objects; a unit with raw files left is refined again by the Glue job, a unit left
        empty loses its refined objects and catalog partitions here (the job needs raw files)."""
        bucket, client = self.bucket, self.aws.s3()
        with aws_errors(f"reading s3://{bucket}"):
            keys = [k for raw in raw_keys for k in rawfiles.keys_of(raw) if s3.exists(client, bucket, k)]
            raws = [k for k in keys if k in raw_keys]
            counts = s3.rows_by_index(client, bucket, raws)
        rows = sum(n for found in counts.values() for i, n in found.items() if not i.startswith("!"))
        out = Removal(keys, rows)
        if dry_run or not keys:
            return out
        with aws_errors(f"deleting from s3://{bucket}"):
            s3.delete_keys(client, bucket, keys)
        units = sorted({u.unit for k in raws if (u := datasets.parse_raw_key(k))}, key=str)
        for unit in units:
            dataset = unit.spec
            with aws_errors(f"listing s3://{bucket}/{dataset.raw_unit_prefix(unit)}"):
                left = [
                    k
                    for k in s3.keys(client, bucket, dataset.raw_unit_prefix(unit))
                    if dataset.parse_raw_key(k)
                ]
            if left:
                out.refined.append(self._refine(unit, None, notify))
                continue
            notify(f"clearing {unit}: no raw file left")
            with aws_errors(f"clearing {unit}"):
                s3.delete_keys(client, bucket, s3.keys(client, bucket, dataset.refined_unit_prefix(unit)))
                glue.delete_partitions(
                    self.aws.glue(), self.database, self.tables()[dataset.name], dataset.unit_key, unit.value
                )
            out.cleared.append(unit)
        return out

    def is_stored(self, write: RawWrite) -> bool:
        """The stored original's ETag is its MD5 (single-part uploads, SSE-S3): compare without a GET."""
        import hashlib

        bucket, client = self.bucket, self.aws.s3()
        with aws_errors(f"checking s3://{bucket}/{write.snapshot_key}"):
            etag = s3.etag(client, bucket, write.snapshot_key)
            if etag is None or etag != hashlib.md5(write.original, usedforsecurity=False).hexdigest():
                return False
            return s3.etag(client, bucket, write.key) is not None

    def stored_units(self, dataset: str) -> dict[Unit, tuple[str, ...]]:
        d = datasets.get(dataset)
        with aws_errors(f"listing the raw files of {dataset}"):
            found = layout.raw_keys(s3.keys(self.aws.s3(), self.bucket, d.raw_listing_prefix), dataset)
        out: dict[Unit, set[str]] = {}
        for parsed in found:
            out.setdefault(parsed.unit, set()).update({parsed.index} if parsed.index else set())
        return {unit: tuple(sorted(v)) for unit, v in sorted(out.items(), key=lambda kv: kv[0].value)}

    def process(self, keys: Sequence[str], notify: Notify) -> list[RefineResult]:
        """Follow the Glue run each unit's upload triggered (or start one, for keys this engine did not
        upload, with the arguments the Lambda would pass) to the end."""
        out = []
        for req in trigger.refine_requests(self.bucket, keys):
            uploaded = [self._uploads[k] for k in req.keys if k in self._uploads]
            since = max(uploaded) - timedelta(seconds=self.skew) if uploaded else None
            out.append(self._refine(req.unit, since, notify))
        return out

    def refine(self, units: Sequence[Unit], notify: Notify) -> list[RefineResult]:
        return [self._refine(unit, None, notify) for unit in units]

    def _refine(self, unit: Unit, since: datetime | None, notify: Notify) -> RefineResult:
        bucket, job = self.bucket, self.glue_job
        with aws_errors(f"following the Glue job {job}"):
            client = self.aws.glue()
            if since is None:
                run_id = glue.start_run(client, job, trigger.job_arguments(bucket, unit))
                notify(f"started the Glue run {run_id} for {unit}")
            else:
                notify(f"waiting for the Glue run that the upload of {unit} triggers ({job})")
                run_id = str(self._triggered_run(client, job, bucket, unit, since)["Id"])

            def on_state(state: str, run: Any) -> None:
                notify(f"Glue run {run.get('Id')} ({unit}): {state.lower()}")

            followed: set[str] = set()
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
                followed.add(run_id)
                started = trigger.started_on(final)
                later = trigger.covering_run(
                    glue.job_runs(client, job, pages=1),
                    bucket,
                    unit,
                    since=started + timedelta(microseconds=1) if started else None,
                    exclude=followed,
                )
                if later is None:
                    break
                run_id = str(later["Id"])
                notify(f"a later run for {unit} supersedes it: {run_id}")
            stats = s3.refined_stats(self.aws.s3(), bucket, unit.spec.refined_unit_prefix(unit))
        return RefineResult(unit, stats.rows, stats.indices, glue.run_seconds(final), run_id=run_id)

    def _triggered_run(
        self, client: Any, job: str, bucket: str, unit: Unit, since: datetime
    ) -> dict[str, Any]:
        """The run that will refine ``unit`` after an upload at ``since``: the Lambda started it within
        seconds (sometimes a minute), or left the upload to a run that had not listed the files yet."""
        deadline = self.clock() + self.appear_timeout
        while True:
            found = trigger.covering_run(glue.job_runs(client, job, pages=1), bucket, unit, since=since)
            if found is not None:
                return found
            if self.clock() >= deadline:
                raise JobFailed(
                    f"no run of the Glue job {job} for {unit} started within {self.appear_timeout:.0f}s "
                    f"of the upload (looked for runs since {since.isoformat(timespec='seconds')})",
                    hint="Is the S3 -> Lambda trigger deployed and working? Check the trigger's logs, its "
                    "dead-letter queue and `ibov status --engine aws`.",
                )
            self.sleep(3.0)

    def sql(
        self, statement: str, params: dict[str, Any], *, what: str, verbatim: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Saved queries and ibov's own reads get the serving tables (``${portfolio}`` is the compact
        copy: one object per index and month instead of one per ticker and day); ``ibov sql`` gets
        the tables as named (:meth:`table_names`)."""
        tables = self.table_names() if verbatim else datasets.serving_tables(self.tables())
        return self._athena(statement, params, what=what, verbatim=verbatim, tables=tables)

    def _athena(
        self, statement: str, params: dict[str, Any], *, what: str, verbatim: bool, tables: dict[str, str]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        workgroup, database = self.workgroup, self.database
        order: list[str] = []
        if verbatim:
            sql = queries.with_tables(statement, tables)
        else:
            sql, order = queries.athena_statement(statement, tables)
        values = [queries.athena_literal(params[name]) for name in order]
        with aws_errors(f"running {what} on Athena"):
            return athena.run(
                self.aws.athena(),
                sql,
                values,
                workgroup=workgroup,
                database=database,
                what=what,
                sleep=self.sleep,
                clock=self.clock,
            )

    def table_names(self) -> dict[str, str]:
        return {**self.tables(), datasets.COMPACT.name: datasets.COMPACT.table}

    def stored_days(self, dataset: str, index: str) -> list[str]:
        """The days of ``index``'s portfolio that Athena can read: raw files in S3 whose day is a catalog
        partition.

        Two metadata reads and no refined object: the raw listing (one LIST per 1,000 keys) and, unless
        the index has nothing stored, the partition metadata query of :func:`athena.partition_values`.
        """
        d = datasets.get(dataset)
        if d is not datasets.PORTFOLIO:
            raise ValueError(f"stored days are listed for the portfolio, not {dataset}")
        bucket, workgroup, database = self.bucket, self.workgroup, self.database
        table = self.tables()[dataset]
        with aws_errors(f"listing the stored days of {index}"):
            raw = _days_by_index(s3.keys(self.aws.s3(), bucket, d.raw_listing_prefix), dataset).get(index, [])
            if not raw:
                return []
            cataloged = athena.partition_values(
                self.aws.athena(),
                d.unit_key,
                workgroup=workgroup,
                database=database,
                table=table,
                sleep=self.sleep,
                clock=self.clock,
            )
        return [day for day in raw if day in cataloged]

    def status(self) -> StatusReport:
        """Stack state, raw files per dataset and index, catalog partitions, the last Glue runs."""
        deployed = None if self._standalone() else self.deployed()
        bucket, database, tables = self.bucket, self.database, self.tables()
        job = self.settings.glue_job or (deployed.outputs.get(stack.OUT_GLUE_JOB) if deployed else None)
        with aws_errors(f"reading the state of s3://{bucket}"):
            client = self.aws.s3()
            portfolio = _days_by_index(
                s3.keys(client, bucket, datasets.PORTFOLIO.raw_listing_prefix), "portfolio"
            )
            levels = _days_by_index(s3.keys(client, bucket, datasets.LEVELS.raw_listing_prefix), "levels")
            refined_days = {
                v[0] for v in glue.partition_values(self.aws.glue(), database, tables["portfolio"]) if v
            }
            refined_years = {
                (v[0], v[1])
                for v in glue.partition_values(self.aws.glue(), database, tables["levels"])
                if len(v) > 1
            }
            compact = datasets.COMPACT
            compact_parts = {
                (v[0], v[1])
                for v in glue.partition_values(self.aws.glue(), database, compact.table)
                if len(v) > 1
            }
            runs = glue.recent_runs(self.aws.glue(), job) if job else []
        coverage = []
        for index, days in portfolio.items():
            stored = [date.fromisoformat(d) for d in days]
            coverage.append(
                Coverage(
                    "portfolio",
                    index,
                    days[0],
                    days[-1],
                    len(days),
                    sum(1 for d in days if d in refined_days),
                    tuple(d.isoformat() for d in missing_days(stored)),
                )
            )
        for index, years in levels.items():
            refined = sum(1 for y in years if (index, y) in refined_years)
            coverage.append(Coverage("levels", index, years[0], years[-1], len(years), refined, (), "years"))
        with aws_errors(f"reading the state of s3://{bucket}"):
            for name, d in datasets.ALL.items():
                if name in (datasets.PORTFOLIO.name, datasets.LEVELS.name):
                    continue
                found = _labels_by_index(s3.keys(client, bucket, d.raw_listing_prefix), name)
                # the catalog's partitions of index-split datasets: (index_code, label) pairs
                cataloged = (
                    {tuple(v[:2]) for v in glue.partition_values(self.aws.glue(), database, tables[name])}
                    if found and d.unit_key == "index_code"
                    else set()
                )
                for index, labels in found.items():
                    refined = sum(1 for label in labels if (index, label) in cataloged)
                    coverage.append(
                        Coverage(name, index, labels[0], labels[-1], len(labels), refined, (), "files")
                    )
        # the compact copy: a month of refined days of an index with no catalog partition is pending (the
        # Glue job that refined the day rebuilds its month; a stack upgraded from before the copy has none)
        wanted = {
            (compact.month_of(d), index)
            for index, days in portfolio.items()
            for d in days
            if d in refined_days
        }
        months = sorted({month for month, index in wanted if (month, index) not in compact_parts})
        return StatusReport(
            engine=self.name,
            location=f"s3://{bucket}/",
            coverage=tuple(coverage),
            pending=tuple(f"{compact.name} {compact.month_folder(m)}" for m in months),
            runs=tuple(
                RunRecord(
                    started_at=r.started_at.isoformat(timespec="seconds") if r.started_at else "",
                    command=f"glue refine {r.what}" if r.what else "glue refine",
                    state=r.state.lower(),
                    duration_s=round(r.seconds, 1),
                    error=r.error,
                    run_id=r.run_id,
                )
                for r in runs
            ),
            stack=(
                deployed.as_json()
                if deployed
                else {"name": self.settings.stack_name, "status": "NOT_DEPLOYED"}
            ),
            resources={"bucket": bucket, "glue_job": job, "database": database, "tables": tables},
        )

    def verify(self, notify: Notify) -> list[UnitCheck]:
        """Every unit and index counted in raw/, refined/ (the parquet files' footers and index column)
        and the catalog (one Athena query per dataset, reading the index column only); a unit whose raw
        files are newer than its refined files is stale (its Glue run failed, or has not run)."""
        bucket, client = self.bucket, self.aws.s3()
        out: list[UnitCheck] = []
        for dataset in datasets.ALL.values():
            notify(f"verifying {dataset.name}")
            key = dataset.unit_key
            with aws_errors(f"reading s3://{bucket}/{dataset.raw_prefix}"):
                raw_objects = {
                    k: when
                    for k, when in s3.objects(client, bucket, dataset.raw_listing_prefix).items()
                    if dataset.parse_raw_key(k)
                }
                refined_objects = {
                    k: when
                    for k, when in s3.objects(client, bucket, dataset.refined_prefix).items()
                    if k.endswith(".parquet")
                }
                raw_counts = s3.rows_by_index(client, bucket, sorted(raw_objects))
                refined_counts = s3.rows_by_index(client, bucket, sorted(refined_objects))
            try:
                table = "${" + dataset.name + "}"
                _cols, found = self._athena(  # the refined table itself, not its compact copy
                    f'SELECT CAST("{key}" AS VARCHAR), {_index_column(dataset)}, count(*) FROM {table} '  # nosec B608 - declared names
                    "GROUP BY 1, 2",
                    {},
                    what=f"counting the catalog rows of {dataset.name}",
                    verbatim=False,
                    tables=self.tables(),
                )
            except IbovError:  # no table yet: nothing cataloged
                found = []
            catalog = {(str(u), str(i)): int(n) for u, i, n in found}
            raw_rows: dict[tuple[str, str], int] = {}
            damaged: dict[str, list[tuple[str, str]]] = {}
            newest_raw: dict[str, datetime] = {}
            for k, counts in raw_counts.items():
                parsed = dataset.parse_raw_key(k)
                assert parsed is not None
                unit = parsed.unit.value
                newest_raw[unit] = max(newest_raw.get(unit, raw_objects[k]), raw_objects[k])
                for index, n in counts.items():
                    if index.startswith("!"):
                        damaged.setdefault(unit, []).append((k, index[1:]))
                    else:
                        raw_rows[(unit, index or parsed.index)] = (
                            raw_rows.get((unit, index or parsed.index), 0) + n
                        )
            refined_rows: dict[tuple[str, str], int] = {}
            oldest_refined: dict[str, datetime] = {}
            for k, counts in refined_counts.items():
                unit = next((p.split("=", 1)[1] for p in k.split("/") if p.startswith(f"{key}=")), "")
                oldest_refined[unit] = min(oldest_refined.get(unit, refined_objects[k]), refined_objects[k])
                for index, n in counts.items():
                    if not index.startswith("!"):
                        refined_rows[(unit, index)] = refined_rows.get((unit, index), 0) + n
            units = sorted({u for u, _ in (*raw_rows, *refined_rows, *catalog)} | set(damaged))
            for unit in units:
                stale = unit in newest_raw and (
                    unit not in oldest_refined or newest_raw[unit] > oldest_refined[unit]
                )
                indices = sorted({i for u, i in (*raw_rows, *refined_rows, *catalog) if u == unit}) or [""]
                for index in indices:
                    out.append(
                        UnitCheck(
                            dataset.name,
                            f"{key}={unit}",
                            index,
                            raw_rows.get((unit, index), 0),
                            refined_rows.get((unit, index), 0),
                            catalog.get((unit, index), 0),
                            tuple(damaged.get(unit, [])) if index == indices[0] else (),
                            stale,
                        )
                    )
        notify(f"verifying {datasets.COMPACT.name}")
        out.extend(self._verify_compact())
        return out

    def _verify_compact(self) -> list[UnitCheck]:
        """Each month and index of the compact copy: the refined table's rows (one Athena query, shown
        as raw and catalog rows) against the rows of its objects (their parquet footers)."""
        spec = datasets.COMPACT
        bucket, client = self.bucket, self.aws.s3()
        with aws_errors(f"reading s3://{bucket}/{spec.prefix}"):
            keys = sorted(k for k in s3.keys(client, bucket, spec.prefix) if k.endswith(".parquet"))
            counts = s3.rows_by_index(client, bucket, keys)
        found: dict[tuple[str, str], int] = {}
        for k, by_index in counts.items():
            month = next((p.split("=", 1)[1] for p in k.split("/") if p.startswith("month=")), "")
            for index, n in by_index.items():  # a damaged object ("!why") counts no rows
                key = (month, index if not index.startswith("!") else "")
                found[key] = found.get(key, 0) + n
        try:
            _cols, rows = self._athena(
                f"SELECT {spec.MONTH_SQL}, index_code, count(*) FROM ${{portfolio}} GROUP BY 1, 2",  # nosec B608
                {},
                what="counting the refined rows per month",
                verbatim=False,
                tables=self.tables(),
            )
        except IbovError:  # no table yet
            rows = []
        return compact_checks({(str(m), str(i)): int(n) for m, i, n in rows}, found)

    def watch(self, notify: Notify) -> None:
        """Follow the job's newest active Glue run, if any, to its end (JobFailed if it fails)."""
        job = self.glue_job
        with aws_errors(f"following the Glue job {job}"):
            client = self.aws.glue()
            active = [
                r
                for r in glue.job_runs(client, job, pages=1, page_size=25)
                if r.get("JobRunState") in trigger.ACTIVE_STATES
            ]
            if not active:
                notify(f"no run of {job} in progress")
                return
            run = active[0]
            parsed = trigger.parse_job_arguments(run.get("Arguments") or {})
            notify(f"following the Glue run {run['Id']}" + (f" ({parsed[1]})" if parsed else ""))

            def on_state(state: str, r: Any) -> None:
                notify(f"Glue run {r.get('Id')}: {state.lower()}")

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

    def log_run(self, record: RunRecord) -> None:
        """Nothing to add: the Glue job runs are the record (``status`` lists them)."""
        return None

    def close(self) -> None:
        return None


def _days_by_index(keys: Sequence[str], dataset: str) -> dict[str, list[str]]:
    """Per index code, the sorted labels (portfolio days, levels years...) of the dataset's raw keys."""
    out: dict[str, set[str]] = {}
    for parsed in layout.raw_keys(keys, dataset):
        out.setdefault(parsed.index, set()).add(parsed.label)
    return {index: sorted(found) for index, found in sorted(out.items())}


def _labels_by_index(keys: Sequence[str], dataset: str) -> dict[str, list[str]]:
    """Per index code, the sorted labels of every raw file of the dataset (one per file: a period
    stored in three collections is listed three times)."""
    out: dict[str, list[str]] = {}
    for parsed in layout.raw_keys(keys, dataset):
        out.setdefault(parsed.index, []).append(parsed.label)
    return {index: sorted(found) for index, found in sorted(out.items())}


def _index_column(dataset: datasets.Dataset) -> str:
    """SQL for a row's index code: ``index_code``, or ``''`` for a dataset not split by index (quotes)."""
    return "index_code" if "index_code" in {c.name for c in dataset.columns} else "''"

"""The ``quotes`` dataset: B3 COTAHIST files -> one raw file per session.

Which file for which request (``ibov scrape quotes``):

* ``--date D`` (repeatable): the daily file ``COTAHIST_D<DDMMYYYY>.ZIP`` of each day. A day that is not
  a B3 session (weekend, holiday) is reported as not published without asking B3; B3's 404 for a day it
  has not published yet is reported as such and never retried (:class:`ibovcli.cotahist.NotPublished`).
* ``--year YYYY`` (repeatable): the annual file ``COTAHIST_A<YYYY>.ZIP`` (~86 MB zipped, streamed).
* ``--since D``: the daily files of every session from D to the last closed one.
* ``--from FILE``: saved ``.ZIP`` or ``.TXT`` files (CRLF or LF), daily, monthly or annual, named as B3
  names them (the name says which day, month or year the content must hold).

The unit is the session: whatever the file, each session it holds becomes one raw file
``raw/quotes/session_date=YYYY-MM-DD/COTAHIST.parquet`` (the kept quotes, :data:`QUOTE_COLUMNS`, plus
lineage). The original bytes kept under ``snapshots/`` are the daily file itself (``.zip`` or ``.txt``)
when the session came from a daily file; for a session read from an annual or monthly file they are
the session's kept rows as CSV (``.csv``), because storing an 86 MB annual file once per session would
be 250 copies of it: the rows' ``source_sha256`` is then the CSV's hash (the rows come from that
snapshot, as for every raw file) and ``source`` ends with ``#sha256=<the annual file's hash>``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ibovcli import datasets, layout, rawfiles, schema
from ibovcli.errors import SnapshotError, UsageError
from ibovcli.rawfiles import RawWrite

Notify = Callable[[str], None]

#: The first daily COTAHIST file B3 serves (older sessions: annual files, from 1986).
FIRST_DAILY = date(2014, 1, 2)
FIRST_ANNUAL_YEAR = 1986
#: Brasilia is UTC-3 (no daylight saving since 2019); daily files appear by about 20:45 there.
PUBLISHED_BY_UTC_HOUR = 24 - 1  # 20:xx BRT = 23:xx UTC; from 23:00 UTC today's file is expected


def last_closed_session(now: datetime | None = None) -> date:
    """The latest session whose daily file B3 should have published by ``now`` (UTC): today after
    23:00 UTC (20:00 Brasilia, the close plus the file's usual delay), else the previous session."""
    from ibovcli.tradingdays import is_trading_day

    now = now or datetime.now(UTC)
    d = now.date() if now.hour >= PUBLISHED_BY_UTC_HOUR else now.date() - timedelta(days=1)
    while not is_trading_day(d):
        d -= timedelta(days=1)
    return d


def raw_writes(
    source: Any,
    *,
    name: Any,
    source_label: str,
    collected_at: datetime,
    original: bytes | None,
) -> list[RawWrite]:
    """One :class:`RawWrite` per session of a COTAHIST file (``source``: a path or bytes, read with
    :func:`ibovcli.cotahist.read_quotes`; ``original``: the input's bytes, kept as the snapshot of a
    daily file). Every check of the reader passes before anything is returned."""
    from ibovcli.cotahist import read_quotes

    qf = read_quotes(source, name=name)
    out: list[RawWrite] = []
    for day, table in qf.days():
        summary = qf.summary
        out.append(
            session_write(
                day,
                table,
                kind=summary.name.kind,
                file_name=summary.name.stem,
                source_label=source_label,
                sha256=summary.sha256,
                collected_at=collected_at,
                original=original if summary.name.kind == "daily" else None,
            )
        )
    if not out:
        summary = qf.summary
        raise SnapshotError(
            f"{summary.name.filename} holds no cash-market quote to keep ({summary.records:,} records)",
            hint="docs/quotes.md says which markets and BDI codes are kept.",
        )
    return out


def session_write(
    day: date,
    table: Any,
    *,
    kind: str,
    file_name: str,
    source_label: str,
    sha256: str,
    collected_at: datetime,
    original: bytes | None,
) -> RawWrite:
    """The raw files of one session's quotes (``table``: :data:`ibovcli.cotahist.QUOTE_COLUMNS`)."""
    import hashlib

    import pyarrow as pa

    n = table.num_rows
    if original is not None:
        ext, snapshot, lineage_sha, source = (
            ("zip" if original[:2] == b"PK" else "txt"),
            original,
            sha256,
            source_label,
        )
    else:
        # the snapshot is the session's rows as CSV: source_sha256 is that snapshot's hash (the rows came
        # from it, as for every raw file); the annual or monthly file's own hash rides on the source
        ext, snapshot = "csv", _csv(table)
        lineage_sha = hashlib.sha256(snapshot).hexdigest()
        source = f"{source_label}#sha256={sha256}"
    lineage = rawfiles.lineage(n, collected_at, source, f"cotahist/{kind}", lineage_sha)
    target = schema.arrow_schema(schema.QUOTES_RAW)
    columns = {name: table.column(name) for name in table.column_names}
    for name, values in lineage.items():
        columns[name] = pa.array(values, type=target.field(name).type)  # type: ignore[attr-defined]
    try:
        full = pa.table([columns[f.name] for f in target], schema=target)  # type: ignore[attr-defined]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # pragma: no cover - the reader's types are these
        raise SnapshotError(f"{file_name}: the quotes of {day} do not fit the raw schema ({exc})") from None
    key = layout.quotes_raw_key(day)
    return RawWrite(
        key=key,
        body=rawfiles.parquet_bytes(full),
        rows=n,
        snapshot_key=layout.snapshot_key(key, ext),
        original=snapshot,
        describe={
            "dataset": datasets.QUOTES.name,
            "date": day.isoformat(),
            "rows": n,
            "key": key,
            "file": file_name,  # B3's name of the file the session came from
            "source": source_label,
            "format": f"cotahist/{kind}",
            "sha256": sha256,
        },
    )


def _csv(table: Any) -> bytes:
    """A session's kept rows as CSV (header, then rows in file order): the snapshot of a session read
    from an annual or monthly file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return bytes(sink.getvalue().to_pybytes())


# -- what to fetch --------------------------------------------------------------------------------------


def days_asked(
    dates: Sequence[str], since: str | None, today: date, now: datetime | None = None
) -> list[date]:
    """The sessions of ``--date`` (as given) or ``--since`` (every session from it to the last closed
    one). :class:`UsageError` for a malformed or impossible date."""
    from ibovcli.tradingdays import trading_days

    if dates and since:
        raise UsageError("give --date or --since, not both")
    parsed = [_day(d, "--date") for d in dates]
    if since is not None:
        start = _day(since, "--since")
        end = last_closed_session(now)
        parsed = trading_days(start, end)
        if not parsed:
            raise UsageError(f"--since {since}: no closed session from that day on (the last is {end})")
    for d in parsed:
        if d < FIRST_DAILY:
            raise UsageError(
                f"{d}: B3's daily files start on {FIRST_DAILY}",
                hint=f"Older sessions are in the annual files: ibov scrape quotes --year {d.year}",
            )
        if d > today:
            raise UsageError(f"{d} is in the future")
    return sorted(set(parsed))


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} takes a day YYYY-MM-DD, got {text!r}") from None


def check_years(years: Sequence[int], today: date) -> list[int]:
    for y in years:
        if not FIRST_ANNUAL_YEAR <= y <= today.year:
            raise UsageError(f"--year {y} is outside {FIRST_ANNUAL_YEAR}..{today.year} (B3's annual files)")
    return sorted(set(years))


def fetch_writes(
    name: Any,
    *,
    base_url: str,
    policy: Any,
    notify: Notify,
    started: float,
    now: datetime | None = None,
) -> list[RawWrite]:
    """Download one COTAHIST file (a :class:`ibovcli.cotahist.CotahistName`) and parse it into raw
    writes. A daily file of a day that is not a B3 session is not asked for: :class:`NotPublished`."""
    from ibovcli import cotahist
    from ibovcli.tradingdays import is_trading_day

    if name.kind == "daily" and not is_trading_day(name.first_day):
        raise cotahist.not_published(name)
    with tempfile.TemporaryDirectory(prefix="ibov-quotes-") as tmp:
        path = cotahist.fetch_cotahist(
            name, dest=Path(tmp), base_url=base_url, policy=policy, on_event=notify, started=started
        )
        url = f"{base_url.rstrip('/')}/{name.filename}"
        original = path.read_bytes() if name.kind == "daily" else None
        return raw_writes(
            path,
            name=name,
            source_label=url,
            collected_at=now or datetime.now(UTC),
            original=original,
        )


def read_writes(path: Path, *, max_daily_bytes: int) -> list[RawWrite]:
    """Parse a saved COTAHIST file (``--from``). A daily file is read into memory (its bytes are the
    snapshot, within ``max_daily_bytes``); a monthly or annual one is streamed from disk."""
    from ibovcli import cotahist
    from ibovcli.safeio import read_input

    name = cotahist.CotahistName.parse(path.name)
    label = f"file:{path.name}"
    started = datetime.now(UTC)
    if name.kind == "daily":
        data = read_input(path, max_bytes=max_daily_bytes)
        return raw_writes(data, name=path.name, source_label=label, collected_at=started, original=data)
    read_input_check(path)
    return raw_writes(path, name=path.name, source_label=label, collected_at=started, original=None)


def read_input_check(path: Path) -> None:
    """A monthly or annual file must be a readable regular file (it is streamed, not read at once)."""
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        raise UsageError(f"--from {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"--from {path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"--from {path}: permission denied")

"""ibovcli.cotahist: names, the streaming reader and its checks, the download (synthetic files only)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ibovcli import cotahist, fetch
from ibovcli.cotahist import CotahistName, NotPublished, read_quotes
from ibovcli.errors import SnapshotError, SourceError
from tests import fake_cotahist as fake
from tests.b3fake import FakeB3Server

DAY = date(2024, 11, 8)
NAME = "COTAHIST_D08112024.TXT"


def quote(ticker: str = "PETR4", close: str = "36.18", **kw: Any) -> fake.Quote:
    return fake.Quote(session=kw.pop("session", DAY), ticker=ticker, close=Decimal(close), **kw)


def read(data: bytes | Path, name: str | None = NAME, *, fast: bool = True, **kw: Any) -> tuple[Any, dict]:
    qf = read_quotes(data, name=name, **kw)
    qf._fast = fast
    days = {d: t for d, t in qf.days()}
    return qf.summary, days


def rows(table: Any) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: r["ticker"])


SMALL_MIX = fake.small_mix(0.004)  # every category of a real session, 1-20 records each


# ----------------------------------------------------------------------------------------------
# columns and names


def test_quote_columns_are_snake_case_commented_and_match_the_arrow_schema() -> None:
    names = [c.name for c in cotahist.QUOTE_COLUMNS]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)
    assert all(c.comment and "'" not in c.comment for c in cotahist.QUOTE_COLUMNS)
    schema = cotahist.arrow_schema()
    assert schema.names == names
    assert schema.field("close").type == pa.decimal128(20, 8)
    assert schema.field("volume").type == pa.decimal128(20, 2)
    assert schema.field("quantity").type == pa.int64()
    assert schema.field("session_date").type == pa.date32()
    assert [f.nullable for f in schema] == [c.nullable for c in cotahist.QUOTE_COLUMNS]
    assert {c.name for c in cotahist.QUOTE_COLUMNS if c.nullable} == {"best_bid", "best_ask"}


def test_importing_the_module_does_not_import_pyarrow() -> None:
    code = "import sys, ibovcli.cotahist; print('pyarrow' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("text", "expected", "filename"),
    [
        ("COTAHIST_D08112024.ZIP", CotahistName("daily", 2024, 11, 8), "COTAHIST_D08112024.ZIP"),
        ("cotahist_d08112024.zip", CotahistName("daily", 2024, 11, 8), "COTAHIST_D08112024.ZIP"),
        ("COTAHIST_D08112024.TXT", CotahistName("daily", 2024, 11, 8), "COTAHIST_D08112024.ZIP"),
        ("COTAHIST_M012024.ZIP", CotahistName("monthly", 2024, 1), "COTAHIST_M012024.ZIP"),
        ("COTAHIST_A2024.ZIP", CotahistName("annual", 2024), "COTAHIST_A2024.ZIP"),
        ("COTAHIST.A1986", CotahistName("annual", 1986), "COTAHIST_A1986.ZIP"),
        ("COTAHIST_A2001", CotahistName("annual", 2001), "COTAHIST_A2001.ZIP"),
        ("COTAHIST_A2002.TXT", CotahistName("annual", 2002), "COTAHIST_A2002.ZIP"),
        ("some/dir/COTAHIST_A2002.TXT", CotahistName("annual", 2002), "COTAHIST_A2002.ZIP"),
        ("C:\\b3\\Cotahist_M122023.Txt", CotahistName("monthly", 2023, 12), "COTAHIST_M122023.ZIP"),
    ],
)
def test_names_parse_b3_file_and_member_names(text: str, expected: CotahistName, filename: str) -> None:
    name = CotahistName.parse(text)
    assert name == expected
    assert name.filename == filename
    assert CotahistName.parse(name.filename) == name


@pytest.mark.parametrize(
    "text", ["COTAHIST_D31022024.ZIP", "COTAHIST_M132024.ZIP", "COTAHIST_D0811202.ZIP", "quotes.zip", ""]
)
def test_names_refuse_what_is_not_a_cotahist_name(text: str) -> None:
    with pytest.raises(SnapshotError, match="COTAHIST file name"):
        CotahistName.parse(text)


def test_name_constructors_and_ranges() -> None:
    assert CotahistName.for_day(DAY).filename == "COTAHIST_D08112024.ZIP"
    assert CotahistName.for_month(2024, 2).last_day == date(2024, 2, 29)
    assert CotahistName.for_month(2024, 12).last_day == date(2024, 12, 31)
    year = CotahistName.for_year(2024)
    assert (year.first_day, year.last_day, str(year)) == (
        date(2024, 1, 1),
        date(2024, 12, 31),
        "COTAHIST_A2024",
    )
    assert year.covers(DAY) and not year.covers(date(2025, 1, 2))
    assert CotahistName.for_day(DAY).covers(DAY) and not CotahistName.for_day(DAY).covers(date(2024, 11, 7))
    with pytest.raises(ValueError, match="year, month and day"):
        CotahistName("daily", 2024, 11)
    with pytest.raises(ValueError):
        CotahistName("weekly", 2024)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# values


def test_exact_values_types_nulls_latin1_and_quote_factor_1000() -> None:
    quotes = [
        quote(
            "PETR4",
            "36.18",
            especi="PN      N2",
            short_name="PETROBRAS",
            open=Decimal("35.85"),
            high=Decimal("36.32"),
            low=Decimal("35.54"),
            average=Decimal("35.96"),
            best_bid=Decimal("36.17"),
            best_ask=Decimal("36.18"),
            trades=80702,
            quantity=49_792_700,
            volume=Decimal("1790870570.00"),
            isin="BRPETRACNPR6",
            distribution=214,
        ),
        # quoted per thousand units: 0.36 per thousand = 0.00036 per unit; no bid (zero -> null)
        quote(
            "FUND11",
            "0.00036",
            bdi="14",
            especi="CI *",
            short_name="FUNDO MIL",
            open=Decimal("0.00034"),
            high=Decimal("0.00036"),
            low=Decimal("0.00034"),
            average=Decimal("0.00035"),
            best_ask=Decimal("0.00036"),
            trades=34,
            quantity=138_390_000,
            volume=Decimal("47947.64"),
            factor=1000,
            isin="BRFUNDCTF013",
            distribution=2,
        ),
        quote("ACUC3", "12.50", short_name="AÇÚCAR SÃO", especi="ON      NM", isin="BRACUCACNOR1"),
    ]
    summary, days = read(fake.render(quotes))
    assert list(days) == [DAY]
    table = days[DAY]
    assert table.schema == cotahist.arrow_schema()
    got = {r["ticker"]: r for r in table.to_pylist()}
    assert got["PETR4"] == {
        "session_date": DAY,
        "ticker": "PETR4",
        "isin": "BRPETRACNPR6",
        "bdi_code": "02",
        "market_type": "010",
        "short_name": "PETROBRAS",
        "specification": "PN      N2",
        "currency": "R$",
        "open": Decimal("35.85"),
        "high": Decimal("36.32"),
        "low": Decimal("35.54"),
        "average": Decimal("35.96"),
        "close": Decimal("36.18"),
        "best_bid": Decimal("36.17"),
        "best_ask": Decimal("36.18"),
        "trades": 80702,
        "quantity": 49_792_700,
        "volume": Decimal("1790870570.00"),
        "quote_factor": 1,
        "distribution": 214,
    }
    fund = got["FUND11"]
    assert (fund["open"], fund["close"], fund["average"]) == (
        Decimal("0.00034"),
        Decimal("0.00036"),
        Decimal("0.00035"),
    )
    assert fund["best_bid"] is None and fund["best_ask"] == Decimal("0.00036")
    assert (fund["quote_factor"], fund["volume"], fund["specification"]) == (
        1000,
        Decimal("47947.64"),
        "CI *",
    )
    assert got["ACUC3"]["short_name"] == "AÇÚCAR SÃO"
    assert summary.kept == summary.records == 3
    assert summary.kept_by_bdi == {"02": 2, "14": 1}


def test_prices_beyond_int64_stay_exact() -> None:
    big = quote("BIGG3", "99999999999.99", quantity=1, volume=Decimal("99999999999.99"))
    _, days = read(fake.render([big, quote()]))
    row = next(r for r in days[DAY].to_pylist() if r["ticker"] == "BIGG3")
    assert row["close"] == row["high"] == Decimal("99999999999.99")


def test_the_arrow_and_python_batch_builders_agree() -> None:
    quotes = fake.market_day(DAY, mix=SMALL_MIX)
    quotes.append(quote("ACUC3", "12.50", short_name="AÇÚCAR"))
    lines = [fake.record(q) + b"\r" for q in quotes if q.market == "010" and q.bdi in cotahist.KEPT_BDI]
    lines = [line for line in lines if line[39:42] not in (b"DIR", b"TPR", b"CPA")]
    schema = cotahist.arrow_schema()
    fast = cotahist._batch(pa, schema, DAY, lines)
    slow = cotahist._batch_python(pa, schema, DAY, lines)
    assert fast.equals(slow)
    ascii_only = [line for line in lines if line.isascii()]
    fast = cotahist._batch(pa, schema, DAY, ascii_only)
    assert fast.equals(cotahist._batch_python(pa, schema, DAY, ascii_only))


# ----------------------------------------------------------------------------------------------
# what is kept


def test_keeps_cash_market_shares_units_funds_and_bdrs_only() -> None:
    quotes = fake.market_day(DAY, mix=SMALL_MIX)
    summary, days = read(fake.render(quotes))
    kept = {q.ticker for q in quotes if SMALL_MIX[_category(q)][4]}
    assert set(days[DAY].column("ticker").to_pylist()) == kept
    assert summary.kept == len(kept)
    assert summary.records == len(quotes)
    assert summary.records == summary.kept + sum(summary.skipped.values())
    mix = SMALL_MIX
    assert summary.skipped == {
        "BDI 10 rights and receipts": mix["rights"][0],
        "BDI 22 subscription warrants": mix["warrant"][0],
        "ESPECI CPA CEPAC certificates": mix["cepac"][0],
        "ESPECI DIR subscription rights": mix["fii_rights"][0],
        "ESPECI TPR participation securities": mix["participation"][0],
        "TPMERC 012 call option exercise": mix["call_exercise"][0],
        "TPMERC 013 put option exercise": mix["put_exercise"][0],
        "TPMERC 020 odd lot": mix["odd_lot"][0],
        "TPMERC 021 not in the layout": mix["q_market"][0],
        "TPMERC 030 forward": mix["forward"][0],
        "TPMERC 070 call options": mix["call"][0] + mix["index_call"][0],
        "TPMERC 080 put options": mix["put"][0] + mix["index_put"][0],
    }
    assert set(summary.kept_by_bdi) == {"02", "08", "12", "13", "14", "34", "35", "36", "58"}


def _category(q: fake.Quote) -> str:
    for inst in fake.instruments(SMALL_MIX):
        if inst.ticker == q.ticker:
            return inst.category
    raise KeyError(q.ticker)


@pytest.mark.parametrize("chunk_size", [300, 5_000, 1 << 22])
def test_the_block_path_and_the_line_path_give_the_same_result(chunk_size: int) -> None:
    quotes = [q for d in fake.sessions(date(2024, 11, 4), 3) for q in fake.market_day(d, mix=SMALL_MIX)]
    data = fake.render(quotes)
    name = "COTAHIST_M112024.TXT"
    fast_summary, fast_days = read(data, name, chunk_size=chunk_size, batch_rows=7)
    slow_summary, slow_days = read(data, name, fast=False, chunk_size=chunk_size)
    assert fast_summary == slow_summary
    assert list(fast_days) == list(slow_days) == fake.sessions(date(2024, 11, 4), 3)
    for d in fast_days:
        assert fast_days[d].equals(slow_days[d])


# ----------------------------------------------------------------------------------------------
# file shapes


def _market_file(ending: bytes = b"\r\n", count: fake.Count = "all") -> bytes:
    return fake.render(fake.market_day(DAY, mix=SMALL_MIX), ending=ending, count=count)


def test_crlf_lf_and_a_last_line_without_line_ending_read_the_same() -> None:
    reference_summary, reference = read(_market_file())
    assert reference_summary.line_ending == "CRLF"
    for data, ending in [
        (_market_file(b"\n"), "LF"),
        (_market_file()[:-2], "CRLF"),
        (_market_file(b"\n")[:-1], "LF"),
    ]:
        summary, days = read(data)
        assert summary.line_ending == ending
        assert days[DAY].equals(reference[DAY])
        assert summary.records == reference_summary.records


@pytest.mark.parametrize("count", ["all", "quotes"])
def test_both_trailer_count_conventions_are_accepted(count: fake.Count) -> None:
    summary, _ = read(_market_file(count=count))
    assert summary.trailer_counts_all is (count == "all")
    assert summary.trailer_count == summary.records + (2 if count == "all" else 0)


def test_a_truncated_file_is_refused_before_any_day_is_yielded() -> None:
    data = _market_file()
    lines = data.split(b"\r\n")
    truncated = b"\r\n".join(lines[:20] + lines[-2:])  # the trailer still counts every record
    qf = read_quotes(truncated, name=NAME)
    with pytest.raises(RuntimeError, match="not been read"):
        _ = qf.summary
    with pytest.raises(
        SnapshotError, match=r"line 21: the trailer counts [\d,]+ records but the file has 21"
    ):
        next(qf.days())
    with pytest.raises(RuntimeError):
        _ = qf.summary


@pytest.mark.parametrize("member", ["COTAHIST_D08112024.TXT", "cotahist_d08112024.txt", "COTAHIST.D08112024"])
def test_zip_members_of_any_name_are_read_and_name_the_file(member: str) -> None:
    text = _market_file()
    summary, days = read(fake.zipped(text, member), name=None)
    assert summary.member == member
    assert summary.name == CotahistName.for_day(DAY)
    assert summary.text_size == len(text)
    assert days[DAY].equals(read(text)[1][DAY])


def test_annual_zip_path_with_an_old_style_member(tmp_path: Path) -> None:
    quotes = [q for d in (date(2024, 1, 2), date(2024, 7, 1)) for q in fake.market_day(d, mix=SMALL_MIX)]
    path = tmp_path / "COTAHIST_A2024.ZIP"
    path.write_bytes(fake.zipped(fake.render(quotes), "COTAHIST.A2024"))
    summary, days = read(path, name=None)
    assert summary.name == CotahistName.for_year(2024)
    assert summary.source == str(path)
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary.size == path.stat().st_size
    assert list(days) == [date(2024, 1, 2), date(2024, 7, 1)]


def test_check_gives_the_summary_of_days_and_hashes_the_input(tmp_path: Path) -> None:
    path = tmp_path / "COTAHIST_D08112024.TXT"
    path.write_bytes(_market_file(b"\n"))
    qf = read_quotes(path)
    checked = qf.check()
    tables = list(qf.days())
    assert qf.summary == checked
    assert checked.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert checked.member is None and checked.line_ending == "LF"
    assert [d for d, _ in tables] == list(checked.kept_sessions) == list(checked.sessions) == [DAY]


def test_zip_trouble_is_refused(tmp_path: Path) -> None:
    text = _market_file()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("COTAHIST_D08112024.TXT", text)
        zf.writestr("README.TXT", b"hello")
    with pytest.raises(SnapshotError, match="holds 2 files"):
        read(buf.getvalue())
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("COTAHIST_D08112024.TXT", text)
    damaged = bytearray(stored.getvalue())
    damaged[200] ^= 0xFF  # inside the member's data: CRC mismatch
    with pytest.raises(SnapshotError, match="damaged zip"):
        read(bytes(damaged))
    with pytest.raises(SnapshotError, match="not a readable zip"):
        read(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(SnapshotError, match=r"'whatever.txt' is not a COTAHIST name"):
        read(fake.zipped(text, "whatever.txt"), name=None)
    summary, _ = read(fake.zipped(text, "whatever.txt"), name="COTAHIST_D08112024.ZIP")
    assert summary.member == "whatever.txt"
    with pytest.raises(SnapshotError, match="bytes without a name"):
        read(text, name=None)
    with pytest.raises(SnapshotError, match="cannot read"):
        read(tmp_path / "COTAHIST_D08112024.ZIP")


# ----------------------------------------------------------------------------------------------
# every check, one message each

Lines = list[bytes]


def _base_lines() -> Lines:
    """Header, 30 quotes (lines 2-31: kept ones and options), trailer (line 32)."""
    quotes = []
    for i in range(15):
        quotes.append(quote(f"QQ{i:02d}3", f"{10 + i}.25"))
        quotes.append(quote(f"QQ{i:02d}K{i:02d}", "1.05", bdi="78", market="070", term="000"))
    return fake.render(quotes, count="all").split(b"\r\n")[:-1]


def _set(line: bytes, first: int, text: bytes) -> bytes:
    """``line`` with ``text`` written from 1-based column ``first``."""
    return line[: first - 1] + text + line[first - 1 + len(text) :]


def _edit(n: int, first: int, text: bytes) -> Callable[[Lines], Lines]:
    def mutate(lines: Lines) -> Lines:
        lines[n - 1] = _set(lines[n - 1], first, text)
        return lines

    return mutate


def _trailer_count(lines: Lines) -> Lines:
    lines[-1] = _set(lines[-1], 32, b"%011d" % len(lines))
    return lines


REFUSALS: list[tuple[str, Callable[[Lines], Lines], str, bool]] = [
    # (id, mutation of the lines, expected message, joined with CRLF)
    (
        "short record",
        lambda ls: [*ls[:9], ls[9][:-1], *ls[10:]],
        "line 10: a record is 245 characters, this one has 244",
        True,
    ),
    (
        "long record",
        lambda ls: [*ls[:9], ls[9] + b" ", *ls[10:]],
        "line 10: a record is 245 characters, this one has 246",
        True,
    ),
    (
        "line ending inside a field",
        _edit(12, 20, b"\n"),
        "line 12: a record is 245 characters, this one has 19",
        True,
    ),
    ("no header", lambda ls: ls[1:], "line 1: the file does not start with a 00 header record", True),
    ("bad header", _edit(1, 16, b"BOVESPX"), "line 1: not a COTAHIST header", True),
    (
        "header year",
        _edit(1, 12, b"2023"),
        "line 1: the header says year 2023, the file name COTAHIST_D08112024.ZIP says 2024",
        True,
    ),
    (
        "header date",
        _edit(1, 24, b"20241131"),
        "line 1: the header's generation date (columns 24-31) is not a valid date",
        True,
    ),
    ("unknown record type", _edit(7, 1, b"02"), "line 7: unknown record type '02'", True),
    ("second header", lambda ls: [*ls[:5], ls[0], *ls[5:]], "line 6: a second 00 header record", True),
    (
        "quote after the trailer",
        lambda ls: [*ls, ls[3]],
        "line 33: data after the 99 trailer record (line 32)",
        True,
    ),
    ("two trailers", lambda ls: [*ls, ls[-1]], "line 33: data after the 99 trailer record (line 32)", True),
    (
        "no trailer",
        lambda ls: ls[:-1],
        "line 31: the file ends without its 99 trailer record after 31 lines",
        True,
    ),
    (
        "trailer date",
        _edit(32, 24, b"20241109"),
        "line 32: the trailer '99COTAHIST.2024BOVESPA 20241109' does not repeat",
        True,
    ),
    (
        "trailer count",
        _edit(32, 32, b"0000000003X"),
        "line 32: the trailer's record count (columns 32-42) is not a number",
        True,
    ),
    (
        "wrong count",
        _edit(32, 32, b"00000000033"),
        "line 32: the trailer counts 33 records but the file has 32 (30 quotes)",
        True,
    ),
    (
        "session of another day",
        _edit(17, 3, b"20241107"),
        "line 17: session date 2024-11-07 is not in the day 2024-11-08",
        True,
    ),
    (
        "impossible date",
        _edit(17, 3, b"20241131"),
        "line 17: DATPRE (columns 3-10), the session date, is not a valid date: '20241131'",
        True,
    ),
    (
        "date not digits",
        _edit(17, 3, b"2024-1-8"),
        "line 17: DATPRE (columns 3-10), the session date, is not a date",
        True,
    ),
    (
        "close with a blank",
        _edit(4, 115, b" "),
        "line 4: PREULT (columns 109-121) is not a number: '000000 001125'",
        True,
    ),
    ("option quantity", _edit(5, 160, b"X"), "line 5: QUATOT (columns 153-170) is not a number", True),
    (
        "superscript two",
        _edit(9, 245, "²".encode("latin-1")),
        "line 9: DISMES (columns 243-245) is not a number: '10²'",
        True,
    ),
    ("market type", _edit(9, 25, b"O10"), "line 9: TPMERC (columns 25-27) is not a number: 'O10'", True),
    ("strike", _edit(11, 190, b"a"), "line 11: PREEXE (columns 189-201) is not a number", True),
    (
        "zero factor",
        _edit(6, 211, b"0000000"),
        "line 6: FATCOT (columns 211-217), the quote factor, is zero",
        True,
    ),
    (
        "inexact factor",
        _edit(6, 211, b"0000003"),
        "line 6: PREABE (columns 57-69) 12.25 divided by FATCOT 3 needs more than 8 decimals",
        True,
    ),
    ("blank ticker", _edit(8, 13, b"     "), "line 8: CODNEG (columns 13-24), the ticker, is blank", True),
    (
        "lf line in a crlf file",
        lambda ls: ls,
        "line 2: this line ends with LF, the file's first line with CRLF",
        False,
    ),
]


@pytest.mark.parametrize("fast", [True, False], ids=["blocks", "lines"])
@pytest.mark.parametrize("chunk_size", [1000, 1 << 22])
@pytest.mark.parametrize(
    ("mutate", "message", "crlf"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_each_check_refuses_with_one_clear_message(
    mutate: Callable[[Lines], Lines], message: str, crlf: bool, fast: bool, chunk_size: int
) -> None:
    lines = mutate(_base_lines())
    # without crlf: the header with CRLF, the rest with LF
    crlf_text = b"\r\n".join(lines) + b"\r\n"
    data = crlf_text if crlf else lines[0] + b"\r\n" + b"\n".join(lines[1:]) + b"\n"
    with pytest.raises(SnapshotError) as info:
        read(data, "COTAHIST_D08112024.ZIP", fast=fast, chunk_size=chunk_size)
    assert str(info.value).startswith("COTAHIST_D08112024.ZIP " + message)
    assert "\n" not in str(info.value)
    assert info.value.hint


def test_the_unmutated_base_file_is_valid() -> None:
    summary, _ = read(b"\r\n".join(_base_lines()) + b"\r\n", "COTAHIST_D08112024.ZIP")
    assert (summary.records, summary.kept) == (30, 15)
    assert summary.skipped == {"TPMERC 070 call options": 15}


@pytest.mark.parametrize(
    ("name", "session", "message"),
    [
        (
            "COTAHIST_M112024.ZIP",
            date(2024, 12, 2),
            "session date 2024-12-02 is not in 2024-11 that the name",
        ),
        ("COTAHIST_A2024.ZIP", date(2025, 1, 2), "line 1: the header says year 2025"),
        ("COTAHIST_A2024.ZIP", None, "line 3: session date 2025-01-02 is not in 2024 that the name"),
    ],
)
def test_monthly_and_annual_content_must_match_the_name(
    name: str, session: date | None, message: str
) -> None:
    if session is not None:
        data = fake.render([quote(session=date(2024, 11, 29)), quote("VALE3", session=session)])
    else:
        data = fake.render(
            [quote(session=date(2024, 12, 30)), quote("VALE3", session=date(2025, 1, 2))],
            year=2024,
            generated=date(2025, 1, 3),
        )
    with pytest.raises(SnapshotError, match=re.escape(message)):
        read(data, name)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(SnapshotError, match=r"COTAHIST_D08112024\.TXT is empty"):
        read(b"")


# ----------------------------------------------------------------------------------------------
# order and memory


@pytest.mark.parametrize("chunk_size", [2000, 1 << 22])
@pytest.mark.parametrize("shuffle", ["days", "records"])
def test_days_out_of_order_still_give_whole_days_in_date_order(shuffle: str, chunk_size: int) -> None:
    days = fake.sessions(date(2024, 11, 4), 5)
    per_day = {d: fake.market_day(d, mix=SMALL_MIX) for d in days}
    name = "COTAHIST_M112024.TXT"
    _, reference = read(fake.render([q for d in days for q in per_day[d]]), name)
    rng = random.Random(5)
    if shuffle == "days":
        order = days[:]
        rng.shuffle(order)
        quotes = [q for d in order for q in per_day[d]]
    else:
        quotes = [q for d in days for q in per_day[d]]
        rng.shuffle(quotes)
    for fast in (True, False):
        summary, got = read(fake.render(quotes), name, fast=fast, chunk_size=chunk_size, batch_rows=3)
        assert list(got) == days == list(summary.kept_sessions)
        for d in days:
            assert rows(got[d]) == rows(reference[d])


def test_spill_files_are_removed(tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    spill.mkdir()
    qf = read_quotes(_market_file(), name=NAME, spill_dir=spill)
    for _ in qf.days():
        assert any(spill.iterdir())
    assert not any(spill.iterdir())
    gen = qf.days()
    next(gen)
    gen.close()  # a consumer that stops early
    assert not any(spill.iterdir())


# ----------------------------------------------------------------------------------------------
# download


@pytest.fixture
def b3() -> Any:
    with FakeB3Server() as server:
        yield server


POLICY = fetch.HttpPolicy(attempts=3, backoff=0.01, max_backoff=0.01, deadline=20)


def test_fetch_writes_the_file_atomically(b3: Any, tmp_path: Path) -> None:
    body = fake.zipped(_market_file())
    base = fake.mount(b3, {"COTAHIST_D08112024.ZIP": body})
    events: list[str] = []
    path = cotahist.fetch_cotahist(
        CotahistName.for_day(DAY), base_url=base, dest=tmp_path, policy=POLICY, on_event=events.append
    )
    assert path == tmp_path / "COTAHIST_D08112024.ZIP"
    assert path.read_bytes() == body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["COTAHIST_D08112024.ZIP"]
    assert b3.requests[-1][0] == "/InstDados/SerHist/COTAHIST_D08112024.ZIP"
    assert events and "COTAHIST_D08112024.ZIP" in events[-1]
    target = tmp_path / "sub" / "today.zip"
    again = cotahist.fetch_cotahist("COTAHIST_D08112024.ZIP", base_url=base, dest=target, policy=POLICY)
    assert again == target and target.read_bytes() == body
    summary, _ = read(target, name="COTAHIST_D08112024.ZIP")
    assert summary.records > 0


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (
            date(2024, 11, 7),
            "not a session, or too early; daily files appear around 20:30-20:45 Brasilia time",
        ),
        (date(2024, 11, 9), "2024-11-09 is a Saturday, not a session"),
        (date(2024, 11, 15), "2024-11-15 is a B3 holiday"),
    ],
)
def test_a_404_is_not_published_and_is_not_retried(b3: Any, tmp_path: Path, day: date, why: str) -> None:
    base = fake.mount(b3, {})
    sleeps: list[float] = []
    with pytest.raises(NotPublished) as info:
        cotahist.fetch_cotahist(
            CotahistName.for_day(day), base_url=base, dest=tmp_path, policy=POLICY, sleep=sleeps.append
        )
    name = CotahistName.for_day(day).filename
    assert str(info.value).startswith(f"B3 has not published {name} (yet): {why}")
    assert isinstance(info.value, SourceError)
    assert info.value.hint and "20:30" in info.value.hint
    assert len(b3.requests) == 1 and sleeps == []
    assert list(tmp_path.iterdir()) == []


def test_a_missing_annual_file_says_so(b3: Any, tmp_path: Path) -> None:
    with pytest.raises(NotPublished, match=r"COTAHIST_A2030\.ZIP \(yet\): annual files exist from 1986"):
        cotahist.fetch_cotahist(
            CotahistName.for_year(2030), base_url=fake.mount(b3, {}), dest=tmp_path, policy=POLICY
        )


def test_fetch_retries_a_server_error_then_succeeds(b3: Any, tmp_path: Path) -> None:
    body = fake.zipped(_market_file())
    base = fake.mount(b3, {"COTAHIST_D08112024.ZIP": body})
    b3.add_fault("status", 503)
    sleeps: list[float] = []
    path = cotahist.fetch_cotahist(
        CotahistName.for_day(DAY), base_url=base, dest=tmp_path, policy=POLICY, sleep=sleeps.append
    )
    assert path.read_bytes() == body
    assert len(b3.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"COTAHIST text, not zipped", "something that is not a zip"),
        (b"PK\x03\x04garbage", "damaged zip"),
    ],
)
def test_fetch_refuses_an_answer_that_is_not_a_cotahist_zip(
    b3: Any, tmp_path: Path, body: bytes, message: str
) -> None:
    base = fake.mount(b3, {"COTAHIST_D08112024.ZIP": body})
    with pytest.raises(SnapshotError, match=message):
        cotahist.fetch_cotahist(CotahistName.for_day(DAY), base_url=base, dest=tmp_path, policy=POLICY)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# the fake itself


def test_fake_records_follow_the_layout() -> None:
    q = quote(
        "PETR4",
        "36.18",
        especi="PN      N2",
        short_name="PETROBRAS",
        trades=80702,
        quantity=49_792_700,
        volume=Decimal("1790870570.00"),
        isin="BRPETRACNPR6",
        distribution=214,
    )
    rec = fake.record(q)
    assert len(rec) == 245
    cols = {name: rec[a - 1 : b].decode("latin-1") for name, a, b in cotahist._FIELDS}
    assert cols["TIPREG"] == "01" and cols["DATPRE"] == "20241108" and cols["CODBDI"] == "02"
    assert cols["CODNEG"] == "PETR4       " and cols["TPMERC"] == "010" and cols["NOMRES"] == "PETROBRAS   "
    assert cols["ESPECI"] == "PN      N2" and cols["MODREF"] == "R$  " and cols["PRAZOT"] == "   "
    assert cols["PREULT"] == "0000000003618" and cols["PREOFC"] == "0000000000000"
    assert cols["TOTNEG"] == "80702" and cols["QUATOT"] == "000000000049792700"
    assert cols["VOLTOT"] == "000000179087057000" and cols["DATVEN"] == "99991231"
    assert cols["FATCOT"] == "0000001" and cols["CODISI"] == "BRPETRACNPR6" and cols["DISMES"] == "214"
    head = fake.header(2024, DAY)
    assert head.startswith(b"00COTAHIST.2024BOVESPA 20241108") and len(head) == 245 and head.endswith(b" ")
    assert fake.trailer(2024, DAY, 7)[:42] == b"99COTAHIST.2024BOVESPA 2024110800000000007"
    with pytest.raises(ValueError, match="whole number of cents"):
        fake.price_digits(Decimal("1.005"))
    assert fake.price_digits(Decimal("0.00036"), 1000) == "0000000000036"
    text = fake.render([q], ending=b"\n", count="quotes")
    assert text.count(b"\n") == 3 and text.splitlines()[-1][31:42] == b"00000000001"
    assert dataclasses.replace(q, session=date(2024, 1, 2)).session == date(2024, 1, 2)


def test_fake_mount_serves_files_and_404s_the_rest(b3: Any) -> None:
    import requests

    files = {"COTAHIST_A2024.ZIP": b"PK\x03\x04zip"}
    base = fake.mount(b3, files)
    assert base == b3.url + "/InstDados/SerHist"
    ok = requests.get(base + "/COTAHIST_A2024.ZIP", timeout=5)
    assert (ok.status_code, ok.content) == (200, b"PK\x03\x04zip")
    assert requests.get(base + "/COTAHIST_A2023.ZIP", timeout=5).status_code == 404
    files["COTAHIST_A2023.ZIP"] = b"later"
    assert requests.get(base + "/COTAHIST_A2023.ZIP", timeout=5).content == b"later"

"""Parsing every accepted B3 format exactly, on the project's own fixtures (tests/fixtures/b3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ibovcli import b3, quality
from ibovcli.errors import SnapshotError
from tests import b3fake

FIX = Path(__file__).parent / "fixtures" / "b3"

CASES = [
    (
        "ibov_2025-04-30_ptbr_seg1.json",
        "IBOV",
        date(2025, 4, 30),
        "json/pt-br/segment-1",
        b3fake.IBOV_2025_04_30,
    ),
    (
        "ibov_2025-04-30_ptbr_seg2.json",
        "IBOV",
        date(2025, 4, 30),
        "json/pt-br/segment-2",
        b3fake.IBOV_2025_04_30,
    ),
    (
        "ibov_2025-04-30_enus_seg1.json",
        "IBOV",
        date(2025, 4, 30),
        "json/en-us/segment-1",
        b3fake.IBOV_2025_04_30,
    ),
    (
        "ibov_2025-04-30_enus_seg2.json",
        "IBOV",
        date(2025, 4, 30),
        "json/en-us/segment-2",
        b3fake.IBOV_2025_04_30,
    ),
    (
        "ibov_2025-05-05_ptbr_seg2.json",
        "IBOV",
        date(2025, 5, 5),
        "json/pt-br/segment-2",
        b3fake.IBOV_2025_05_05,
    ),
    (
        "ibov_2025-04-30_double_encoded.json",
        "IBOV",
        date(2025, 4, 30),
        "double-encoded json/pt-br/segment-2",
        b3fake.IBOV_2025_04_30,
    ),
    ("IBOVDia_30-04-25_crlf.csv", "IBOV", date(2025, 4, 30), "csv/pt-br", b3fake.IBOV_2025_04_30),
    ("IBOVDia_05-05-25_lf.csv", "IBOV", date(2025, 5, 5), "csv/pt-br", b3fake.IBOV_2025_05_05),
    ("IBXXDia_30-04-25.csv", "IBXX", date(2025, 4, 30), "csv/pt-br", b3fake.IBXX_2025_04_30),
    (
        "ibxx_2025-04-30_download_body_quoted.txt",
        "IBXX",
        date(2025, 4, 30),
        "base64-csv/pt-br",
        b3fake.IBXX_2025_04_30,
    ),
    (
        "ibov_2025-04-30_download_body_plain.txt",
        "IBOV",
        date(2025, 4, 30),
        "base64-csv/pt-br",
        b3fake.IBOV_2025_04_30,
    ),
]


@pytest.mark.parametrize(("name", "index", "day", "fmt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_format_parses_exactly(
    name: str, index: str, day: date, fmt: str, expected: b3fake.Portfolio
) -> None:
    data = (FIX / name).read_bytes()
    p = quality.validate(b3.parse_snapshot(data, source=name), today=date(2025, 4, 29))
    assert (p.index, p.session_date, p.source_format) == (index, day, fmt)
    assert p.total_qty == expected.total_qty
    assert p.reductor == expected.reductor
    got = {h.cod: (h.asset, h.type, h.part, h.qty) for h in p.holdings}
    want = {r.cod: (r.asset, r.type, r.part, r.qty) for r in expected.rows}
    assert got == want
    assert p.original == data
    if fmt.endswith("segment-2"):
        assert {h.cod: h.segment for h in p.holdings} == {r.cod: r.segment for r in expected.rows}
    else:
        assert all(h.segment is None for h in p.holdings)


def test_numbers_are_exact_in_both_locales() -> None:
    assert b3.parse_int("1.481.593.024", "pt-br", "q") == 1_481_593_024
    assert b3.parse_int("1,481,593,024", "en-us", "q") == 1_481_593_024
    assert b3.parse_decimal("18.553.794,87445950", "pt-br", "r") == Decimal("18553794.87445950")
    assert b3.parse_decimal("16,036,751.16744128", "en-us", "r") == Decimal("16036751.16744128")
    assert b3.parse_decimal("2,728", "pt-br", "p") == Decimal("2.728")
    assert b3.parse_decimal("2.663", "en-us", "p") == Decimal("2.663")
    # the classic bug: float(s.replace(',', '.')) on a pt-br quantity
    with pytest.raises(SnapshotError, match="not a whole number"):
        b3.parse_int("1,481,593,024", "pt-br", "q")
    with pytest.raises(SnapshotError, match="not a number"):
        b3.parse_decimal("1.48", "pt-br", "p")  # pt-br has no decimal point


def test_dates_follow_the_language() -> None:
    assert b3.parse_b3_date("08/12/22", "pt-br") == date(2022, 12, 8)
    assert b3.parse_b3_date("04/07/25", "en-us") == date(2025, 4, 7)
    with pytest.raises(SnapshotError, match="not a real date"):
        b3.parse_b3_date("31/02/25", "pt-br")


def test_index_comes_from_the_csv_title_and_conflicts_are_refused() -> None:
    data = (FIX / "IBXXDia_30-04-25.csv").read_bytes()
    assert b3.parse_snapshot(data).index == "IBXX"
    with pytest.raises(SnapshotError, match="IBXX portfolio but --index IBOV"):
        b3.parse_snapshot(data, index="IBOV")


def test_json_takes_the_index_from_the_caller() -> None:
    data = (FIX / "ibov_2025-04-30_ptbr_seg1.json").read_bytes()
    assert b3.parse_snapshot(data, index="SMLL").index == "SMLL"
    assert b3.parse_snapshot(data).index == "IBOV"


def test_a_multi_page_answer_stored_as_a_list_of_pages_parses_back() -> None:
    p = b3fake.IBOV_2025_04_30
    pages = [b3fake.portfolio_day_json(p, segment=2, page=n, page_size=5) for n in (1, 2, 3)]
    data = b"[" + b",".join(b3fake.to_json_bytes(x) for x in pages) + b"]"
    parsed = quality.validate(b3.parse_snapshot(data), today=date(2025, 4, 29))
    assert len(parsed.holdings) == 14
    assert parsed.total_records == 14


def test_a_missing_page_is_caught_by_validation() -> None:
    p = b3fake.IBOV_2025_04_30
    pages = [b3fake.portfolio_day_json(p, segment=1, page=n, page_size=5) for n in (1, 2)]
    data = b"[" + b",".join(b3fake.to_json_bytes(x) for x in pages) + b"]"
    with pytest.raises(SnapshotError, match=r"10 rows but page\.totalRecords says 14"):
        quality.validate(b3.parse_snapshot(data), today=date(2025, 4, 29))


def test_weekend_and_far_future_dates_are_refused() -> None:
    p = b3.parse_snapshot((FIX / "ibov_2025-04-30_ptbr_seg1.json").read_bytes())
    assert quality.problems(p, today=date(2025, 4, 29)) == []
    far = quality.problems(p, today=date(2025, 4, 1))
    assert any("more than 7 days after collection" in x for x in far)

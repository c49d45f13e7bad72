"""B3's official index levels (ibovcli/levels.py) against synthetic answers (tests/fake_levels.py)."""

from __future__ import annotations

import base64
import copy
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ibovcli import levels, tradingdays
from ibovcli.errors import SnapshotError, SourceError
from ibovcli.fetch import HttpPolicy
from ibovcli.levels import LevelsYear, NoLevels, fetch_levels, levels_url, parse_levels
from tests import b3fake
from tests import fake_levels as fl

FAST = HttpPolicy(
    connect_timeout=1.0, read_timeout=1.0, attempts=3, backoff=0.01, max_backoff=0.05, deadline=10.0
)
IBOV_2022 = fl.make_year("IBOV", 2022)
TODAY = date(2025, 4, 7)


def _parse(
    data: bytes | dict[str, Any], year: int = 2022, today: date = TODAY, index: str = "IBOV"
) -> LevelsYear:
    body = b3fake.to_json_bytes(data) if isinstance(data, dict) else data
    return parse_levels(body, index=index, year=year, today=today)


def _doc(language: str = "pt-br") -> dict[str, Any]:
    return fl.levels_json(IBOV_2022, language)


def _set(doc: dict[str, Any], day: int, month: int, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["results"][day - 1][f"rateValue{month}"] = value
    return out


# ----------------------------------------------------------------------------------------------
# numbers, languages, the grid


@pytest.mark.parametrize("language", ["pt-br", "en-us"])
def test_both_languages_parse_to_the_exact_levels(language: str) -> None:
    got = _parse(fl.render(IBOV_2022, language))
    assert got.sessions == IBOV_2022.sessions
    assert got.source_format == f"json/{language}"
    assert all(level.as_tuple().exponent == -2 for _, level in got.sessions)
    assert [d for d, _ in got.sessions] == tradingdays.trading_days(date(2022, 1, 1), date(2022, 12, 31))
    assert (got.index, got.year, got.holidays_with_value) == ("IBOV", 2022, ())


@pytest.mark.parametrize(
    ("pt", "en", "expected"),
    [
        ("101.005,64", "101,005.64", "101005.64"),
        ("955,50", "955.50", "955.50"),
        ("1.234.567,08", "1,234,567.08", "1234567.08"),
        ("0,01", "0.01", "0.01"),
    ],
)
def test_one_cell_in_each_language(pt: str, en: str, expected: str) -> None:
    y = fl.FakeYear("IBOV", 2022, ((date(2022, 3, 15), Decimal(expected)),))
    for language, text in (("pt-br", pt), ("en-us", en)):
        doc = fl.levels_json(y, language)
        assert doc["results"][14]["rateValue3"] == text
        got = _parse(doc)
        assert got.sessions == ((date(2022, 3, 15), Decimal(expected)),)
        assert str(got.sessions[0][1]) == expected


def test_the_grid_maps_day_rows_and_month_columns_to_dates() -> None:
    cells = (date(2024, 1, 31), date(2024, 2, 29), date(2024, 12, 2))  # 29 Feb of a leap year exists
    y = fl.FakeYear("IDIV", 2024, tuple((d, Decimal(i + 1)) for i, d in enumerate(cells)))
    doc = fl.levels_json(y)
    assert doc["results"][30]["rateValue1"] == "1,00"
    assert doc["results"][28]["rateValue2"] == "2,00"
    assert doc["results"][1]["rateValue12"] == "3,00"
    got = _parse(doc, year=2024, index="IDIV")
    assert got.sessions == (
        (cells[0], Decimal("1.00")),
        (cells[1], Decimal("2.00")),
        (cells[2], Decimal("3.00")),
    )


def test_null_and_empty_string_both_mean_no_session() -> None:
    with_blanks = fl.render(IBOV_2022, blank="")
    assert b'"rateValue1":""' in with_blanks
    assert _parse(with_blanks).sessions == IBOV_2022.sessions
    doc = _set(_doc(), 1, 1, "  ")  # 1 Jan: whitespace only is empty too
    assert _parse(doc).sessions == IBOV_2022.sessions


def test_a_file_mixing_both_languages_is_refused() -> None:
    doc = _set(_doc("pt-br"), 3, 1, fl.levels_json(IBOV_2022, "en-us")["results"][2]["rateValue1"])
    with pytest.raises(
        SnapshotError, match=r"mixes number formats: .* is pt-br, results day 3 rateValue1 .* en-us"
    ):
        _parse(doc)
    # the min/max rows count too
    doc = copy.deepcopy(_doc("en-us"))
    doc["min"]["rateValue5"] = fl.levels_json(IBOV_2022, "pt-br")["min"]["rateValue5"]
    with pytest.raises(SnapshotError, match=r"mixes number formats: .*min.rateValue5"):
        _parse(doc)


@pytest.mark.parametrize(
    "bad", ["101.005", "101005", "101.005,6", "101,005.642", "1.01.005,64", "abc", "12,34,56", 101005.64]
)
def test_a_value_without_exactly_two_decimals_is_refused_naming_the_cell(bad: Any) -> None:
    with pytest.raises(SnapshotError, match=r"results day 3 rateValue1 is .*not a level with two decimals"):
        _parse(_set(_doc(), 3, 1, bad))


@pytest.mark.parametrize("bad", ["0,00", "-1,00", "-101.005,64"])
def test_a_zero_or_negative_level_is_refused(bad: str) -> None:
    with pytest.raises(SnapshotError, match=r"results day 3 rateValue1 is .*: a level must be positive"):
        _parse(_set(_doc(), 3, 1, bad))


# ----------------------------------------------------------------------------------------------
# dates


@pytest.mark.parametrize(
    ("year", "day", "month", "name"),
    [
        (2022, 30, 2, "30 Feb 2022"),
        (2022, 31, 4, "31 Apr 2022"),
        (2023, 29, 2, "29 Feb 2023"),
        (2022, 31, 11, "31 Nov"),
    ],
)
def test_a_value_on_an_impossible_date_is_refused_naming_the_cell(
    year: int, day: int, month: int, name: str
) -> None:
    doc = _set(fl.levels_json(fl.make_year("IBOV", year)), day, month, "100,00")
    with pytest.raises(
        SnapshotError, match=rf"results day {day} rateValue{month} holds '100,00', but {name}.* not exist"
    ):
        _parse(doc, year=year)


@pytest.mark.parametrize(("d", "weekday"), [(date(2022, 1, 1), "Saturday"), (date(2022, 7, 3), "Sunday")])
def test_a_value_on_a_weekend_is_refused(d: date, weekday: str) -> None:
    y = fl.make_year("IBOV", 2022, extra_days=[d])  # min/max stay consistent: only the date is wrong
    with pytest.raises(SnapshotError, match=rf"results day {d.day} rateValue{d.month} .* on a {weekday}"):
        _parse(fl.render(y))


def test_a_value_after_today_is_refused_and_today_itself_is_fine() -> None:
    y = fl.make_year("IBOV", 2022, until=date(2022, 12, 7))
    assert _parse(fl.render(y), today=date(2022, 12, 7)).sessions[-1][0] == date(2022, 12, 7)
    with pytest.raises(
        SnapshotError, match=r"results day 7 rateValue12 .* 2022-12-07, after today \(2022-12-06\)"
    ):
        _parse(fl.render(y), today=date(2022, 12, 6))


def test_today_defaults_to_the_collection_date() -> None:
    now = datetime.now(UTC).date()
    later = [d for d in tradingdays.trading_days(now + timedelta(days=2), date(now.year, 12, 31))]
    if not later:
        pytest.skip("no trading day left this year after tomorrow")
    y = fl.FakeYear("IBOV", now.year, ((later[0], Decimal("100.00")),))
    with pytest.raises(SnapshotError, match="after today"):
        parse_levels(fl.render(y), index="IBOV", year=now.year)
    with pytest.raises(SnapshotError, match=rf"year {now.year + 1} is outside 1968\.\.{now.year}"):
        parse_levels(fl.render(fl.FakeYear("IBOV", now.year + 1, ())), index="IBOV", year=now.year + 1)


def test_a_value_on_a_b3_holiday_is_kept_and_reported() -> None:
    tiradentes, good_friday = date(2022, 4, 21), date(2022, 4, 15)
    assert tradingdays.holiday_name(tiradentes) and tradingdays.holiday_name(good_friday)
    y = fl.make_year("IBOV", 2022, extra_days=[good_friday, tiradentes])
    got = _parse(fl.render(y))
    assert got.holidays_with_value == (good_friday, tiradentes)
    assert got.sessions == y.sessions and len(got.sessions) == 252


@pytest.mark.parametrize("year", [1967, 2026, 0, -1])
def test_the_year_must_be_1968_to_this_year(year: int) -> None:
    with pytest.raises(SnapshotError, match=rf"year {year} is outside 1968\.\.2025"):
        _parse(fl.render(IBOV_2022), year=year)


def test_the_first_year_and_pre_1997_values_are_kept_unadjusted() -> None:
    first = fl.make_year("IBOV", 1968, start=Decimal("100.00"))
    assert _parse(fl.render(first), year=1968).sessions == first.sessions
    old = fl.make_year("IBOV", 1996, start=Decimal("6955.54"))  # as reported, no /10 rescaling applied
    assert _parse(fl.render(old, "en-us"), year=1996).sessions == old.sessions
    assert "not adjusted" in (levels.__doc__ or "") and "1997-03-03" in (levels.__doc__ or "")


def test_a_month_outside_the_year_is_refused() -> None:
    doc = copy.deepcopy(_doc())
    doc["results"][4]["rateValue13"] = "100,00"
    with pytest.raises(
        SnapshotError, match=r"results day 5 has rateValue13='100,00', but a year has 12 months"
    ):
        _parse(doc)
    doc["results"][4]["rateValue13"] = None  # an empty extra column says nothing: accepted
    assert _parse(doc).sessions == IBOV_2022.sessions


# ----------------------------------------------------------------------------------------------
# min / max


@pytest.mark.parametrize("key", ["min", "max"])
def test_min_and_max_must_match_the_grid(key: str) -> None:
    doc = copy.deepcopy(_doc())
    doc[key]["rateValue3"] = "1,00" if key == "min" else "999.999,99"
    with pytest.raises(SnapshotError, match=rf"{key}.rateValue3 is .* but the {key} of Mar's sessions is"):
        _parse(doc)
    doc[key]["rateValue3"] = None
    with pytest.raises(SnapshotError, match=rf"{key}.rateValue3 is empty but Mar has 22 sessions"):
        _parse(doc)


def test_a_month_without_sessions_has_null_or_absent_extremes() -> None:
    y = fl.make_year("IDIV", 2024, until=date(2024, 6, 14))
    doc = fl.levels_json(y)
    assert doc["min"]["rateValue7"] is None and doc["max"]["rateValue12"] is None
    assert len(_parse(doc, year=2024).sessions) == len(y.sessions)
    del doc["min"]["rateValue7"], doc["max"]["rateValue12"]
    doc["max"]["rateValue8"] = ""
    assert len(_parse(doc, year=2024).sessions) == len(y.sessions)
    doc["min"]["rateValue9"] = "100,00"
    with pytest.raises(SnapshotError, match=r"min.rateValue9 is '100,00' but Sep has no session"):
        _parse(doc, year=2024)


def test_min_max_rows_are_not_data() -> None:
    got = _parse(_doc())
    assert all(d.day != 0 for d, _ in got.sessions) and len(got.sessions) == len(IBOV_2022.sessions)


# ----------------------------------------------------------------------------------------------
# whole answers: no data, empty, wrong shapes, double encoding


@pytest.mark.parametrize(
    "body",
    [b'{"min":null,"max":null,"results":null}', b'{"results":null}', b'{"min":{},"max":{},"results":[]}'],
)
def test_results_null_is_no_levels(body: bytes) -> None:
    with pytest.raises(NoLevels, match="no such index or year") as exc:
        _parse(body)
    assert isinstance(exc.value, SnapshotError) and exc.value.exit_code == 5


def test_a_grid_without_any_value_is_no_levels() -> None:
    with pytest.raises(NoLevels, match="grid without any value"):
        _parse(fl.render(fl.FakeYear("IBOV", 2022, ())))


@pytest.mark.parametrize("body", [b"", b"  \r\n", b"\xef\xbb\xbf"])
def test_an_empty_body_is_what_b3_sends_for_a_malformed_request(body: bytes) -> None:
    with pytest.raises(
        SnapshotError, match="empty body, which is what it sends for a malformed request"
    ) as exc:
        _parse(body)
    assert not isinstance(exc.value, NoLevels)


def test_a_daily_portfolio_answer_is_refused_saying_what_it_is() -> None:
    body = b3fake.to_json_bytes(b3fake.portfolio_day_json(b3fake.IBOV_2025_04_30))
    with pytest.raises(
        SnapshotError, match=r"daily portfolio answer \(indexProxy/indexCall/GetPortfolioDay\)"
    ):
        _parse(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "the JSON is a list, not B3's index levels"),
        (b'"just text"', "the JSON is a string"),
        (b"null", "the JSON is null"),
        (b'{"foo": 1}', 'has no "results" \\(keys: foo\\)'),
        (b'{"min":{},"max":{},"results":', "not valid JSON"),
        (b"<html><title>Just a moment...</title></html>", "HTML page"),
        (b'{"min":{},"max":{},"results":{"day":1}}', '"results" is an object, not a list of 31 day rows'),
        (b'{"min":[],"max":{},"results":[{"day":1}]}', '"min" is a list'),
        (b'{"max":{},"results":[{"day":1}]}', 'no "min" row'),
    ],
)
def test_json_of_another_shape_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        _parse(body)


def test_day_rows_must_be_the_31_days_once_each_with_12_months() -> None:
    doc = copy.deepcopy(_doc())
    del doc["results"][30]
    with pytest.raises(
        SnapshotError, match=r"results has 30 day rows, B3 sends 31 \(missing day 31; truncated\?\)"
    ):
        _parse(doc)
    doc = copy.deepcopy(_doc())
    doc["results"][30]["day"] = 30
    with pytest.raises(SnapshotError, match="results holds day 30 twice"):
        _parse(doc)
    for bad_day in (0, 32, "5", None, True):
        doc = copy.deepcopy(_doc())
        doc["results"][4]["day"] = bad_day
        with pytest.raises(SnapshotError, match=r"results\[4\] is not a day row"):
            _parse(doc)
    doc = copy.deepcopy(_doc())
    del doc["results"][2]["rateValue7"]
    with pytest.raises(SnapshotError, match="results day 3 lacks rateValue7"):
        _parse(doc)


def test_double_encoded_json_is_accepted() -> None:
    body = b3fake.double_encoded(fl.levels_json(IBOV_2022, "en-us"))
    assert body.startswith(b'"{\\"min\\"')
    got = _parse(body)
    assert got.sessions == IBOV_2022.sessions and got.source_format == "json/en-us"
    assert got.original == body


# ----------------------------------------------------------------------------------------------
# the dataclass and the URL


def test_original_bytes_sha256_source_and_with_source() -> None:
    body = fl.render(IBOV_2022)
    got = parse_levels(body, index="IBOV", year=2022, today=TODAY, source="saved.json")
    assert got.original == body and got.source == "saved.json" and got.original_ext == "json"
    assert got.sha256 == __import__("hashlib").sha256(body).hexdigest()
    assert got.collected_at.tzinfo is UTC
    when = datetime(2023, 1, 2, 3, 4, tzinfo=UTC)
    moved = got.with_source("https://example/x", b"other", when)
    assert (moved.source, moved.original, moved.collected_at, moved.sessions) == (
        "https://example/x",
        b"other",
        when,
        got.sessions,
    )
    assert got.with_source("s", b"o").collected_at == got.collected_at


def test_levels_url_is_the_documented_token() -> None:
    url = levels_url("https://sistemaswebb3-listados.b3.com.br/", "IBOV", 2022)
    assert url == (
        "https://sistemaswebb3-listados.b3.com.br/indexStatisticsProxy/IndexCall/GetPortfolioDay/"
        "eyJsYW5ndWFnZSI6InB0LWJyIiwiaW5kZXgiOiJJQk9WIiwieWVhciI6MjAyMn0="
    )
    token = levels_url("http://x", "SMLL", 2024, "en-us").rsplit("/", 1)[1]
    assert base64.b64decode(token) == b'{"language":"en-us","index":"SMLL","year":2024}'
    with pytest.raises(ValueError, match="language"):
        levels_url("http://x", "IBOV", 2022, "pt")


# ----------------------------------------------------------------------------------------------
# the fake: fixtures and rendering


def test_fixture_files_are_up_to_date() -> None:
    names = set()
    for name, data, _ in fl.fixture_files():
        assert (fl.FIXTURES_DIR / name).read_bytes() == data, f"{name}: run `python -m tests.fake_levels`"
        names.add(name)
    readme = (fl.FIXTURES_DIR / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in names)
    assert {p.name for p in fl.FIXTURES_DIR.iterdir()} == names | {"README.md"}


@pytest.mark.parametrize("name", [n for n, _, _ in fl.fixture_files() if n != "no_levels.json"])
def test_every_fixture_parses(name: str) -> None:
    data = (fl.FIXTURES_DIR / name).read_bytes()
    index, year = name.split("_")[:2]
    got = parse_levels(data, index=index, year=int(year), today=TODAY)
    assert got.sessions == fl.make_year(index, int(year), until=got.sessions[-1][0]).sessions


def test_the_fake_is_deterministic_compact_and_follows_the_b3_calendar() -> None:
    assert fl.make_year("IBOV", 2022) == IBOV_2022 and fl.make_year("SMLL", 2022) != IBOV_2022
    body = fl.render(IBOV_2022, "en-us")
    assert body.startswith(b'{"min":{"day":0,"rateValue1":"') and body.endswith(b"}]}")
    assert b", " not in body and b": " not in body and b"\n" not in body
    assert body.count(b'"day":') == 33
    partial = fl.make_year("IBOV", 2022, until=date(2022, 12, 7))
    assert partial.sessions == IBOV_2022.sessions[: len(partial.sessions)] and partial.sessions[-1][
        0
    ] == date(2022, 12, 7)
    with pytest.raises(ValueError, match="two decimals"):
        fl.make_year(start=Decimal("1.001"))


# ----------------------------------------------------------------------------------------------
# the fake endpoint and fetch_levels over loopback


@pytest.fixture
def server() -> Iterator[b3fake.FakeB3Server]:
    with b3fake.FakeB3Server() as srv:
        fl.mount(
            srv,
            {("IBOV", 2022): IBOV_2022, ("IDIV", 2024): fl.make_year("IDIV", 2024, until=date(2024, 6, 14))},
        )
        yield srv


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read()


def test_fetch_levels_over_loopback(server: b3fake.FakeB3Server) -> None:
    got = fetch_levels("IBOV", 2022, base_url=server.url, policy=FAST, today=TODAY)
    assert got.sessions == IBOV_2022.sessions and got.source_format == "json/pt-br"
    assert got.source == levels_url(server.url, "IBOV", 2022)
    assert got.original == fl.render(IBOV_2022, "pt-br")
    assert fl.requested_tokens(server) == [{"language": "pt-br", "index": "IBOV", "year": 2022}]
    assert "/indexStatisticsPage/daily-evolution/IBOV" in server.request_headers[0]["Referer"]


def test_fetch_levels_bounds_by_today(server: b3fake.FakeB3Server) -> None:
    with pytest.raises(SnapshotError, match="after today"):
        fetch_levels("IDIV", 2024, base_url=server.url, policy=FAST, today=date(2024, 6, 13))
    got = fetch_levels("IDIV", 2024, base_url=server.url, policy=FAST, today=date(2024, 6, 15))
    assert got.sessions[-1][0] == date(2024, 6, 14)


def test_fetch_levels_results_null_is_no_levels(server: b3fake.FakeB3Server) -> None:
    with pytest.raises(NoLevels, match=r"IBOV 2021 levels: .*no such index or year"):
        fetch_levels("IBOV", 2021, base_url=server.url, policy=FAST, today=TODAY)
    with pytest.raises(NoLevels):
        fetch_levels("XXXX", 2022, base_url=server.url, policy=FAST, today=TODAY)
    assert len(server.requests) == 2


def test_fetch_levels_refuses_a_bad_year_before_any_request(server: b3fake.FakeB3Server) -> None:
    with pytest.raises(SnapshotError, match="outside 1968"):
        fetch_levels("IBOV", 1950, base_url=server.url, policy=FAST, today=TODAY)
    assert server.requests == []


def test_fetch_levels_goes_through_fetch_get_retries(server: b3fake.FakeB3Server) -> None:
    server.add_fault("status", 503)
    events: list[str] = []
    got = fetch_levels("IBOV", 2022, base_url=server.url, policy=FAST, today=TODAY, on_event=events.append)
    assert got.sessions == IBOV_2022.sessions
    assert len(server.requests) == 2 and "IBOV 2022 levels: HTTP 503; retrying" in events[0]
    server.add_fault("status", 404)
    with pytest.raises(SourceError, match="B3 answered IBOV 2022 levels with HTTP 404"):
        fetch_levels("IBOV", 2022, base_url=server.url, policy=FAST, today=TODAY)


def test_fetch_levels_empty_body_is_a_snapshot_error(server: b3fake.FakeB3Server) -> None:
    server.add_fault("raw", 200, b"")
    with pytest.raises(SnapshotError, match="malformed request"):
        fetch_levels("IBOV", 2022, base_url=server.url, policy=FAST, today=TODAY)


def test_fake_endpoint_answers(server: b3fake.FakeB3Server) -> None:
    base = server.url + fl.ROUTE
    status, body = _get(base + b3fake.encode_token({"language": "en-us", "index": "IBOV", "year": "2022"}))
    assert status == 200 and body == fl.render(IBOV_2022, "en-us")  # a string year works, as with B3
    status, body = _get(base + b3fake.encode_token({"language": "pt-br", "index": "IBOV", "year": 1999}))
    assert (status, json.loads(body)["results"]) == (200, None)
    for bad in ("not-base64!", b3fake.encode_token({"index": "IBOV"}), base64.b64encode(b"[1]").decode()):
        assert _get(base + bad) == (200, b"")

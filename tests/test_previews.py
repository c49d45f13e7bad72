"""B3's 4-month periods, theoretical portfolios and previews (ibovcli.previews) on synthetic data."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ibovcli import b3, periods, previews
from ibovcli.errors import ConfigError, SnapshotError, SourceError
from ibovcli.fetch import HttpPolicy
from ibovcli.periods import Period
from ibovcli.previews import PeriodPortfolio
from tests import b3fake
from tests import fake_previews as fp

JAN, MAY, IBXX, SEP = (
    fp.THEORETICAL_IBOV_2025_01,
    fp.THEORETICAL_IBOV_2025_05,
    fp.THEORETICAL_IBXX_2025_05,
    fp.PREVIEW_IBOV_2025_09,
)
FAST = HttpPolicy(
    connect_timeout=1.0, read_timeout=1.0, attempts=3, backoff=0.01, max_backoff=0.02, deadline=10
)


def period_of(f: fp.PeriodFake) -> Period:
    return Period(f.year, f.first_month)


def parse(data: bytes, f: fp.PeriodFake, **kw: object) -> PeriodPortfolio:
    args: dict[str, object] = {"kind": f.kind, "index": f.index, "period": period_of(f)}
    args.update(kw)
    return previews.parse_period_portfolio(data, **args)


def assert_matches(p: PeriodPortfolio, f: fp.PeriodFake) -> None:
    """``p`` holds exactly ``f``'s rows, numbers and header values."""
    assert (p.kind, p.index, p.period) == (f.kind, f.index, period_of(f))
    got = {h.cod: (h.asset, h.type, h.part, h.qty) for h in p.holdings}
    assert got == {r.cod: (r.asset, r.type, r.part, r.qty) for r in f.portfolio.rows}
    assert p.total_qty == f.portfolio.total_qty
    assert p.reductor == f.portfolio.reductor
    assert all(isinstance(h.part, Decimal) and isinstance(h.qty, int) for h in p.holdings)
    assert previews.problems(p) == []


# ----------------------------------------------------------------------------------------------
# Period


def test_period_label_bounds_and_order() -> None:
    p = Period.from_month("2025-05")
    assert (p.year, p.first_month, p.last_month, p.label, p.month, str(p)) == (
        2025,
        5,
        8,
        "2025-05..08",
        "2025-05",
        "2025-05..08",
    )
    assert Period.from_month("2025-09..12") == Period(2025, 9)
    assert Period(2025, 9).next() == Period(2026, 1) and Period(2026, 1).previous() == Period(2025, 9)
    ps = [Period(2026, 1), Period(2025, 9), Period(2025, 1), Period(2025, 5)]
    assert sorted(ps) == sorted(ps, key=lambda x: x.label) == [Period(2025, 1), Period(2025, 5), *ps[1::-1]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("2025-03", "month 03 is in 2025-01"),
        ("2025-12", "month 12 is in 2025-09"),
        ("2025-13", "no month 13"),
        ("25-05", "not YYYY-MM"),
        ("2025-05..07", "does not end in month 08"),
    ],
)
def test_from_month_refuses_other_months_with_a_hint(text: str, match: str) -> None:
    with pytest.raises(periods.BadPeriod, match=match) as info:
        Period.from_month(text)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigError)
    assert "01 (Jan-Apr), 05 (May-Aug) or 09 (Sep-Dec)" in info.value.hint


def test_starts_on_is_the_first_monday_seen_in_the_news() -> None:
    # effective dates reported for IBOV's new portfolios (b3-source.md 6.2)
    assert Period(2024, 5).starts_on == date(2024, 5, 6)
    assert Period(2025, 1).starts_on == date(2025, 1, 6)
    assert Period(2025, 9).starts_on == date(2025, 9, 1)
    assert Period(2026, 1).starts_on == date(2026, 1, 5)
    assert all(Period(y, m).starts_on.weekday() == 0 for y in range(2020, 2031) for m in (1, 5, 9))


def test_first_session_skips_a_holiday_monday() -> None:
    assert Period(2024, 1).starts_on == date(2024, 1, 1)  # New Year's Day is a Monday
    assert Period(2024, 1).first_session() == date(2024, 1, 2)
    assert Period(2025, 9).first_session() == date(2025, 9, 1)


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2026, 1, 2), "2025-09..12"),  # before the first Monday of January
        (date(2026, 1, 5), "2026-01..04"),
        (date(2025, 8, 31), "2025-05..08"),
        (date(2025, 9, 1), "2025-09..12"),
        (date(2025, 5, 4), "2025-01..04"),  # Sunday before Monday 5 May 2025
        (date(2025, 5, 5), "2025-05..08"),
        (date(2025, 12, 31), "2025-09..12"),
    ],
)
def test_containing_switches_on_the_first_monday(day: date, label: str) -> None:
    assert Period.containing(day).label == label


def test_the_fetch_period_comes_from_the_day() -> None:
    assert previews.period_for("theoretical", date(2025, 8, 20)) == Period(2025, 5)
    assert previews.period_for("preview", date(2025, 8, 20)) == Period(2025, 9)
    assert previews.period_for("preview", date(2025, 12, 30)) == Period(2026, 1)
    assert periods.brasilia_today(datetime(2025, 9, 1, 2, 30, tzinfo=UTC)) == date(2025, 8, 31)


# ----------------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize("f", fp.PERIODS, ids=lambda f: f"{f.index}-{f.kind}-{f.month}")
@pytest.mark.parametrize("language", ["pt-br", "en-us"])
def test_json_parses_exactly(f: fp.PeriodFake, language: str) -> None:
    data = b3fake.to_json_bytes(fp.period_json(f, language=language))
    p = parse(data, f, source="here")
    assert_matches(p, f)
    assert p.source_format == f"json/{language}" and p.total_records == len(f.portfolio.rows)
    assert (p.source, p.original, p.original_ext) == ("here", data, "json")
    # cont: the row's rank in company-name order, rows sorted by ticker
    assert [h.cod for h in p.holdings] == sorted(h.cod for h in p.holdings)
    by_name = {r.cod: i for i, r in enumerate(f.portfolio.rows, start=1)}
    assert all(h.cont == by_name[h.cod] for h in p.holdings)


def test_weights_off_100_by_rounding_are_normal() -> None:
    jan = parse(b3fake.to_json_bytes(fp.period_json(JAN)), JAN)
    sep = parse(b3fake.to_json_bytes(fp.period_json(SEP)), SEP)
    assert sum(h.part for h in jan.holdings) == Decimal("99.999")
    assert sum(h.part for h in sep.holdings) == Decimal("100.001")
    assert previews.validate(jan) is jan and previews.validate(sep) is sep


def test_double_encoded_and_a_list_of_pages_parse_back() -> None:
    p = parse(b3fake.double_encoded(fp.period_json(SEP)), SEP)
    assert_matches(p, SEP)
    assert p.source_format == "double-encoded json/pt-br"
    pages = [fp.period_json(SEP, page=n, page_size=5) for n in (1, 2, 3)]
    stored = (
        "["
        + ",".join(json.dumps(json.dumps(pg)) if n == 2 else json.dumps(pg) for n, pg in enumerate(pages))
        + "]"
    )
    p = parse(stored.encode(), SEP)
    assert_matches(p, SEP)
    assert p.total_records == 14


def test_a_missing_page_is_caught() -> None:
    data = json.dumps([fp.period_json(MAY, page=1, page_size=5), fp.period_json(MAY, page=2, page_size=5)])
    p = parse(data.encode(), MAY)
    assert previews.problems(p)[0] == "10 rows but page.totalRecords says 14 (missing pages?)"
    with pytest.raises(
        SnapshotError, match=r"^IBOV theoretical 2025-05\.\.08: 10 rows .* \(and 2 more problems\)"
    ):
        previews.validate(p)


def test_json_needs_the_period_and_the_index() -> None:
    data = b3fake.to_json_bytes(fp.period_json(MAY))
    with pytest.raises(SnapshotError, match=r"pass --period YYYY-MM"):
        parse(data, MAY, period=None)
    with pytest.raises(SnapshotError, match=r"pass --index"):
        parse(data, MAY, index=None)


def test_a_day_portfolio_is_not_a_theoretical_one_and_vice_versa() -> None:
    day = b3fake.to_json_bytes(b3fake.portfolio_day_json(b3fake.IBOV_2025_05_05))
    with pytest.raises(
        SnapshotError, match=r"GetPortfolioDay answer \(the portfolio of the session 05/05/25\)"
    ):
        parse(day, MAY)
    with pytest.raises(SnapshotError, match="this is GetTheoricalPortfolio"):
        b3.parse_snapshot(b3fake.to_json_bytes(fp.period_json(MAY)), index="IBOV")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b3fake.CLOUDFLARE_CHALLENGE.encode(), "HTML"),
        (b"null", "JSON value null"),
        (b'{"page":{"totalRecords":1},"header":{}}', "no 'results' list"),
        (b3fake.to_json_bytes(fp.empty_period_json()), "empty"),
        (b3fake.to_json_bytes(fp.period_json(MAY))[:300], "not valid JSON"),
    ],
)
def test_broken_answers_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        parse(data, MAY)


def test_an_empty_preview_says_no_preview_is_published() -> None:
    with pytest.raises(SnapshotError, match="no preview is published now"):
        parse(b3fake.to_json_bytes(fp.empty_period_json()), SEP)


def test_bad_rows_are_refused_with_the_row() -> None:
    body = fp.period_json(MAY)
    body["results"][3]["part"] = "abc"
    with pytest.raises(SnapshotError, match=r"row 4 \(BBDC4\) part is not a number"):
        parse(json.dumps(body).encode(), MAY)
    body = fp.period_json(MAY)
    body["results"][0]["cont"] = "1"
    with pytest.raises(SnapshotError, match="cont is not a positive whole number"):
        parse(json.dumps(body).encode(), MAY)


# ----------------------------------------------------------------------------------------------
# CSV and download bodies


@pytest.mark.parametrize("f", fp.PERIODS, ids=lambda f: f"{f.index}-{f.kind}-{f.month}")
@pytest.mark.parametrize(
    "style",
    [
        {"newline": "\n"},
        {"newline": "\r\n"},
        {"language": "en-us"},
        {"title_style": "site"},
        {"language": "en-us", "title_style": "site"},
        {"extra_column": True},
    ],
    ids=lambda s: "-".join(f"{k}={v!r}" for k, v in s.items()),
)
def test_csv_parses_exactly_and_names_its_period(f: fp.PeriodFake, style: dict[str, object]) -> None:
    data = fp.period_csv(f, **style)
    p = parse(data, f, index=None, period=None)
    assert_matches(p, f)
    language = style.get("language", "pt-br")
    assert (p.source_format, p.original_ext, p.total_records) == (f"csv/{language}", "csv", None)
    assert all(h.cont is None for h in p.holdings)


def test_csv_preview_rows_keep_company_order_and_theoretical_ones_ticker_order() -> None:
    preview = parse(fp.period_csv(SEP), SEP)
    theo = parse(fp.period_csv(MAY), MAY)
    assert [h.cod for h in preview.holdings] == [r.cod for r in SEP.portfolio.rows]
    assert [h.cod for h in theo.holdings] == sorted(r.cod for r in MAY.portfolio.rows)


@pytest.mark.parametrize("quoted", [True, False])
def test_download_body_parses(quoted: bool) -> None:
    data = fp.period_download_body(SEP, quoted=quoted)
    p = parse(data, SEP, period=None)
    assert_matches(p, SEP)
    assert (p.source_format, p.original_ext, p.original) == ("base64-csv/pt-br", "txt", data)


@pytest.mark.parametrize(
    ("f", "kw", "match"),
    [
        (MAY, {"index": "IBXX"}, "the file is a IBOV portfolio but --index IBXX was given"),
        (
            MAY,
            {"kind": "preview"},
            r"the file is a theoretical portfolio \('IBOV - Carteira Mai. a Ago. 2025'\), not a preview",
        ),
        (SEP, {"kind": "theoretical"}, r"is a preview .*, not a theoretical portfolio"),
        (MAY, {"period": Period(2025, 9)}, r"for the period 2025-05\.\.08 .* but --period 2025-09 was given"),
    ],
)
def test_csv_title_contradictions_are_refused(f: fp.PeriodFake, kw: dict[str, object], match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        parse(fp.period_csv(f), f, **kw)


def _lines(f: fp.PeriodFake) -> list[str]:
    return fp.period_csv(f).decode("latin-1").split("\n")[:-1]


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("latin-1")


@pytest.mark.parametrize(
    ("title", "match"),
    [
        ("IBOV - Carteira do Dia 05/05/25", r"the portfolio of a day \('IBOV - Carteira do Dia 05/05/25'\)"),
        ("IBOV - Carteira", "names no 4-month period"),
        ("IBOV - Carteira Mar. a Jun. 2025", "months 3-6, not a B3 4-month period"),
        ("IBOV - Carteira Mai. a Xyz. 2025", "unknown month 'xyz'"),
        ("IBOV - Mai. a Ago. 2025", "neither 'Carteira' nor 'Prévia'"),
        ("Carteira Mai. a Ago. 2025", "no index code"),
    ],
)
def test_bad_csv_titles_are_refused(title: str, match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        parse(_csv([title, *_lines(MAY)[1:]]), MAY, period=None)


def test_the_day_csv_is_refused_as_a_period_portfolio() -> None:
    with pytest.raises(SnapshotError, match="the portfolio of a day"):
        parse(b3fake.download_csv(b3fake.IBOV_2025_05_05), MAY, index=None, period=None)


def test_broken_csv_bodies_are_refused() -> None:
    lines = _lines(MAY)
    with pytest.raises(SnapshotError, match="no 'Quantidade Teórica Total' footer"):
        parse(_csv(lines[:8]), MAY)
    with pytest.raises(SnapshotError, match="no 'Redutor' footer"):
        parse(_csv(lines[:-1]), MAY)
    with pytest.raises(SnapshotError, match=r"CSV line 4: 4 fields, expected 5"):
        parse(_csv([*lines[:3], "B3SA3;B3;5.250.613.402;5,375;", *lines[4:]]), MAY)
    with pytest.raises(SnapshotError, match="no qty column"):
        parse(_csv([lines[0], "Código;Ação;Tipo;Quantos;Part. (%)", *lines[2:]]), MAY)
    with pytest.raises(SnapshotError, match="base64 body does not decode to a B3 CSV"):
        parse(b'"' + base64.b64encode(bytes(range(200))) + b'"', MAY)


# ----------------------------------------------------------------------------------------------
# B3's invariants


def _portfolio(f: fp.PeriodFake = MAY) -> PeriodPortfolio:
    return parse(b3fake.to_json_bytes(fp.period_json(f)), f)


def _rows(p: PeriodPortfolio, i: int, **changes: object) -> PeriodPortfolio:
    holdings = list(p.holdings)
    holdings[i] = replace(holdings[i], **changes)
    return replace(p, holdings=tuple(holdings))


def test_weight_tolerance_is_the_rounding_bound() -> None:
    p = _portfolio()
    assert previews.weight_tolerance(14) == Decimal("0.0070")
    vale = next(i for i, h in enumerate(p.holdings) if h.cod == "VALE3")
    part = p.holdings[vale].part
    assert previews.problems(_rows(p, vale, part=part + Decimal("0.007"))) == []
    assert previews.problems(_rows(p, vale, part=part - Decimal("0.008"))) == [
        "weights sum to 99.992, not 100 ± 0.0070 (rounding of 14 weights)"
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: _rows(p, 1, cod=p.holdings[0].cod), "ticker ABEV3 is duplicated"),
        (lambda p: _rows(p, 1, cod="b3sa3"), "row 2 ticker 'b3sa3' is not a B3 ticker"),
        (lambda p: _rows(p, 1, cod=""), "row 2 has an empty ticker"),
        (lambda p: _rows(p, 1, asset=""), "row 2 (B3SA3) has an empty company name"),
        (lambda p: replace(p, total_qty=p.total_qty + 1), "quantities sum to 42,185,838,482 but"),
        (lambda p: replace(p, reductor=Decimal(0)), "the reductor must be positive"),
        (lambda p: replace(p, holdings=(), total_records=0, total_qty=0), "the portfolio has no rows"),
        (lambda p: _rows(p, 1, part=Decimal("-5.375")), "row 2 (B3SA3) has a negative weight -5.375"),
    ],
)
def test_each_invariant_is_checked(
    change: Callable[[PeriodPortfolio], PeriodPortfolio], problem: str
) -> None:
    found = previews.problems(change(_portfolio()))
    assert any(x.startswith(problem) for x in found), found


def test_negative_quantity_is_refused_even_when_the_total_matches() -> None:
    p = _portfolio()
    qty = p.holdings[1].qty
    p = replace(_rows(p, 1, qty=-qty), total_qty=p.total_qty - 2 * qty)
    assert previews.problems(p) == [f"row 2 (B3SA3) has a negative quantity {-qty}"]


def test_a_null_reductor_is_accepted() -> None:
    body = fp.period_json(SEP)
    body["header"]["reductor"] = None
    p = parse(json.dumps(body).encode(), SEP)
    assert p.reductor is None and previews.problems(p) == []


# ----------------------------------------------------------------------------------------------
# GetConfigurations


@pytest.mark.parametrize(
    ("answer", "has"),
    [
        (fp.configurations_json(1), True),
        (fp.configurations_json(0), False),
        (fp.configurations_json([0, 1]), True),
        (fp.configurations_json([]), False),
        (fp.configurations_json(1, extra={"theorical": [{"has": 1}], "index": "IBOV"}), True),
    ],
)
def test_configurations_say_whether_a_preview_is_current(answer: dict[str, object], has: bool) -> None:
    status = previews.parse_configurations(b3fake.to_json_bytes(answer), index="IBOV")
    assert (status.index, status.has_preview, status.raw) == ("IBOV", has, answer)
    assert previews.parse_configurations(b3fake.double_encoded(answer), index="IBOV").has_preview is has


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"index":"IBOV"}', "no 'preview' list"),
        (b'{"preview":[{"has":2}]}', "has no 'has' 0 or 1"),
        (b'{"preview":[1]}', "has no 'has' 0 or 1"),
        (b"[1]", "not a JSON object"),
        (b"<html></html>", "HTML"),
    ],
)
def test_odd_configurations_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        previews.parse_configurations(data, index="IBOV")


# ----------------------------------------------------------------------------------------------
# fetching from the fake server


@pytest.fixture
def server() -> Iterator[b3fake.FakeB3Server]:
    with b3fake.FakeB3Server() as srv:
        fp.mount(srv, previews={"IBOV": SEP}, theoretical={"IBOV": JAN, "IBXX": IBXX})
        yield srv


def _tokens(srv: b3fake.FakeB3Server, method: str) -> list[dict[str, object]]:
    return [b3fake.decode_token(path.rsplit("/", 1)[1]) for path, _ in srv.requests if f"/{method}/" in path]


def test_fetch_theoretical_reads_every_page(server: b3fake.FakeB3Server) -> None:
    p = previews.fetch_period_portfolio(
        "theoretical", "IBOV", base_url=server.url, policy=FAST, page_size=5, today=date(2025, 3, 10)
    )
    assert_matches(p, JAN)
    assert (
        p.total_records == 14
        and p.original.startswith(b"[")
        and p.sha256 == hashlib.sha256(p.original).hexdigest()
    )
    assert [t["pageNumber"] for t in _tokens(server, "GetTheoricalPortfolio")] == [1, 2, 3]
    assert _tokens(server, "GetTheoricalPortfolio")[0] == {
        "pageNumber": 1,
        "pageSize": 5,
        "language": "pt-br",
        "index": "IBOV",
    }
    assert server.request_headers[0]["Referer"].endswith("/indexPage/theorical/IBOV?language=pt-br")
    assert "GetTheoricalPortfolio/" in p.source and p.collected_at.tzinfo is not None


def test_fetch_preview_gets_the_next_period_and_retries(server: b3fake.FakeB3Server) -> None:
    server.add_fault("status", 520)
    events: list[str] = []
    p = previews.fetch_period_portfolio(
        "preview",
        "IBOV",
        base_url=server.url,
        policy=FAST,
        sleep=lambda _s: None,
        on_event=events.append,
        today=date(2025, 8, 20),
    )
    assert_matches(p, SEP)
    assert p.original == b3fake.to_json_bytes(fp.period_json(SEP, page_size=120))
    assert len(events) == 1 and "HTTP 520" in events[0]


def test_fetch_with_a_wrong_day_gives_a_wrong_period_which_validate_cannot_see(
    server: b3fake.FakeB3Server,
) -> None:
    # the JSON does not carry the period: a fetch after the switch labels a stale preview as the next one
    p = previews.fetch_period_portfolio(
        "preview", "IBOV", base_url=server.url, policy=FAST, today=date(2025, 9, 2)
    )
    assert p.period == Period(2026, 1) and previews.problems(p) == []


def test_fetch_of_an_index_without_a_preview_is_refused(server: b3fake.FakeB3Server) -> None:
    with pytest.raises(SnapshotError, match="no rows for the IBXX preview") as info:
        previews.fetch_period_portfolio("preview", "IBXX", base_url=server.url, policy=FAST)
    assert "GetConfigurations" in info.value.hint


def test_fetch_preview_status(server: b3fake.FakeB3Server) -> None:
    assert previews.fetch_preview_status("IBOV", base_url=server.url, policy=FAST).has_preview is True
    assert previews.fetch_preview_status("IBXX", base_url=server.url, policy=FAST).has_preview is False
    assert _tokens(server, "GetConfigurations") == [
        {"index": "IBOV", "language": "pt-br"},
        {"index": "IBXX", "language": "pt-br"},
    ]


def test_fetch_downloads_take_the_period_from_the_title(server: b3fake.FakeB3Server) -> None:
    p = previews.fetch_period_download("preview", "IBOV", base_url=server.url, policy=FAST)
    assert_matches(p, SEP)
    assert p.source_format == "base64-csv/pt-br" and "GetDownloadPreview/" in p.source
    q = previews.fetch_period_download(
        "theoretical", "IBXX", base_url=server.url, policy=FAST, period=Period(2025, 5)
    )
    assert_matches(q, IBXX)
    with pytest.raises(SnapshotError, match="but --period 2025-09 was given"):
        previews.fetch_period_download(
            "theoretical", "IBXX", base_url=server.url, policy=FAST, period=Period(2025, 9)
        )
    with pytest.raises(SnapshotError, match="no preview download for IBXX"):
        previews.fetch_period_download("preview", "IBXX", base_url=server.url, policy=FAST)


def test_server_errors_surface_as_source_errors(server: b3fake.FakeB3Server) -> None:
    for _ in range(FAST.attempts):
        server.add_fault("status", 503)
    with pytest.raises(SourceError, match="HTTP 503"):
        previews.fetch_preview_status("IBOV", base_url=server.url, policy=FAST, sleep=lambda _s: None)


def test_the_servers_own_theoretical_answer_also_parses() -> None:
    # without `theoretical=`, FakeB3Server renders its day portfolios as theoretical ones
    with b3fake.FakeB3Server() as srv:
        p = previews.fetch_period_portfolio(
            "theoretical", "IBOV", base_url=srv.url, policy=FAST, today=date(2025, 4, 1)
        )
    assert p.period == Period(2025, 1) and len(p.holdings) == 14 and previews.problems(p) == []


def test_fake_routes_refuse_bad_tokens(server: b3fake.FakeB3Server) -> None:
    import requests

    for method in ("GetQuartelyPreview", "GetConfigurations", "GetDownloadPreview"):
        assert requests.get(f"{server.base_url}{method}/not-a-token", timeout=5).status_code == 400

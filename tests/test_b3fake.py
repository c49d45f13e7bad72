"""Self-checks of the synthetic B3 data, renderers, fixture files and fake server (tests/b3fake.py)."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from email.message import Message
from itertools import groupby
from typing import Any

import pytest

from tests.b3fake import (
    BROKEN_DIR,
    FIXTURES_DIR,
    IBOV_2025_04_30,
    IBOV_2025_05_05,
    IBXX_2025_04_30,
    FakeB3Server,
    Portfolio,
    broken_snapshots,
    decode_token,
    double_encoded,
    download_body,
    download_csv,
    empty_portfolio_day_json,
    encode_token,
    fixture_files,
    portfolio_day_json,
    theoretical_portfolio_json,
    to_json_bytes,
)

ALL = [IBOV_2025_04_30, IBOV_2025_05_05, IBXX_2025_04_30]
IDS = ["ibov-0430", "ibov-0505", "ibxx-0430"]

EXPECTED_TOP5 = {
    ("IBOV", dt.date(2025, 4, 30)): ["VALE3", "ITUB4", "PETR4", "PETR3", "BBDC4"],
    ("IBOV", dt.date(2025, 5, 5)): ["VALE3", "ITUB4", "PETR4", "PETR3", "BBDC4"],
    ("IBXX", dt.date(2025, 4, 30)): ["ITUB4", "VALE3", "PETR4", "BBAS3", "ABEV3"],
}


# independent parsers (deliberately not shared with b3fake)


def num(s: str, language: str) -> Decimal:
    if language == "pt-br":
        return Decimal(s.replace(".", "").replace(",", "."))
    return Decimal(s.replace(",", ""))


def qty(s: str, language: str) -> int:
    sep = "." if language == "pt-br" else ","
    assert s.replace(sep, "").isdigit(), s
    return int(s.replace(sep, ""))


def day(s: str, language: str) -> dt.date:
    return dt.datetime.strptime(s, "%d/%m/%y" if language == "pt-br" else "%m/%d/%y").date()


# ----------------------------------------------------------------------------------------------
# dataset


@pytest.mark.parametrize("p", ALL, ids=IDS)
def test_portfolio_invariants(p: Portfolio) -> None:
    assert p.part_sum == Decimal("100.000")
    assert all(r.part.as_tuple().exponent == -3 and r.part > 0 for r in p.rows)
    assert p.qty_sum == p.total_qty
    assert all(r.qty > 0 for r in p.rows)
    assert any(r.qty > 1_000_000_000 for r in p.rows)
    assert len({r.cod for r in p.rows}) == len(p.rows)
    assert list(p.rows) == sorted(p.rows, key=lambda r: (r.asset, r.cod))
    assert p.reductor.as_tuple().exponent == -8
    assert [cod for cod, _ in p.top()] == EXPECTED_TOP5[(p.index, p.date)]
    assert p.date.weekday() < 5


def test_rebalance_changes_membership_weights_and_quantities() -> None:
    before = {r.cod: r for r in IBOV_2025_04_30.rows}
    after = {r.cod: r for r in IBOV_2025_05_05.rows}
    assert set(before) - set(after) == {"MGLU3"}
    assert set(after) - set(before) == {"RDOR3"}
    common = set(before) & set(after)
    assert all(before[c].part != after[c].part for c in common)
    assert {c for c in common if before[c].qty != after[c].qty} == {"VALE3", "PETR4", "ELET3"}
    assert IBOV_2025_05_05.date == dt.date(2025, 5, 5)  # first Monday of May 2025
    assert IBOV_2025_05_05.reductor != IBOV_2025_04_30.reductor


def test_ibxx_overlaps_ibov_but_differs() -> None:
    ibov = {r.cod for r in IBOV_2025_04_30.rows}
    ibxx = {r.cod for r in IBXX_2025_04_30.rows}
    assert len(ibov & ibxx) >= 5
    assert ibxx - ibov


# ----------------------------------------------------------------------------------------------
# JSON rendering


@pytest.mark.parametrize("language", ["pt-br", "en-us"])
@pytest.mark.parametrize("p", ALL, ids=IDS)
def test_portfolio_day_json_round_trips(p: Portfolio, language: str) -> None:
    d = portfolio_day_json(p, language=language)
    h = d["header"]
    assert day(h["date"], language) == p.date
    assert num(h["reductor"], language) == p.reductor
    assert qty(h["theoricalQty"], language) == p.total_qty
    assert num(h["part"], language) == 100
    assert h["partAcum"] is None
    assert (h["text"], h["textReductor"]) == (
        ("Quantidade Teórica Total", "Redutor")
        if language == "pt-br"
        else ("Total Theorethical Quantity", "Reductor")
    )
    assert d["page"] == {"pageNumber": 1, "pageSize": 9999, "totalRecords": len(p.rows), "totalPages": 1}
    got = [
        (x["cod"], x["asset"], x["type"], num(x["part"], language), qty(x["theoricalQty"], language))
        for x in d["results"]
    ]
    assert got == [(r.cod, r.asset, r.type, r.part, r.qty) for r in p.rows]
    assert all(x["segment"] is None and x["partAcum"] is None for x in d["results"])
    assert list(d["results"][0]) == ["segment", "cod", "asset", "type", "part", "partAcum", "theoricalQty"]


def test_number_formats_match_b3_examples() -> None:
    d = portfolio_day_json(IBOV_2025_04_30)
    e = portfolio_day_json(IBOV_2025_04_30, language="en-us")
    assert d["header"]["reductor"] == "15.873.402,61937058"
    assert e["header"]["reductor"] == "15,873,402.61937058"
    assert d["header"]["date"] == "30/04/25" and e["header"]["date"] == "04/30/25"
    assert d["header"]["theoricalQty"] == "40.415.600.596"
    assert e["header"]["theoricalQty"] == "40,415,600,596"
    vale_pt = next(x for x in d["results"] if x["cod"] == "VALE3")
    vale_en = next(x for x in e["results"] if x["cod"] == "VALE3")
    assert (vale_pt["part"], vale_pt["theoricalQty"]) == ("18,250", "4.196.877.563")
    assert (vale_en["part"], vale_en["theoricalQty"]) == ("18.250", "4,196,877,563")
    mglu = next(x for x in d["results"] if x["cod"] == "MGLU3")
    assert mglu["part"] == "0,331"


@pytest.mark.parametrize("language", ["pt-br", "en-us"])
@pytest.mark.parametrize("p", ALL, ids=IDS)
def test_segment_2_groups_by_sector_with_subtotals(p: Portfolio, language: str) -> None:
    d = portfolio_day_json(p, language=language, segment="2")
    assert num(d["header"]["partAcum"], language) == 100
    results = d["results"]
    assert sorted(x["cod"] for x in results) == sorted(r.cod for r in p.rows)
    sectors = [k for k, _ in groupby(x["segment"] for x in results)]
    assert len(sectors) == len(set(sectors)), "each sector must be one contiguous block"
    for _, group in groupby(results, key=lambda x: x["segment"]):
        rows = list(group)
        subtotal = sum((num(x["part"], language) for x in rows), Decimal(0))
        assert {num(x["partAcum"], language) for x in rows} == {subtotal}
    assert portfolio_day_json(p, language=language, segment=1)["header"] == {
        **d["header"],
        "partAcum": None,
    }


def test_segment_2_order_is_accent_insensitive_like_b3() -> None:
    results = portfolio_day_json(IBOV_2025_04_30, segment=2)["results"]
    assert results[0]["cod"] == "WEGE3"  # "Máqs e Equips" sorts before "Mat Transporte"
    assert results[1]["cod"] == "EMBR3"


@pytest.mark.parametrize("page_size", [1, 3, 5, 14, 20])
def test_pagination_slices_concatenate(page_size: int) -> None:
    p = IBOV_2025_04_30
    full = portfolio_day_json(p, segment=2)["results"]
    pages = -(-len(p.rows) // page_size)
    got: list[dict[str, Any]] = []
    for n in range(1, pages + 1):
        d = portfolio_day_json(p, segment=2, page=n, page_size=page_size)
        assert d["page"] == {"pageNumber": n, "pageSize": page_size, "totalRecords": 14, "totalPages": pages}
        got += d["results"]
    assert got == full
    assert portfolio_day_json(p, page=pages + 1, page_size=page_size)["results"] == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        portfolio_day_json(IBOV_2025_04_30, language="pt-pt")
    with pytest.raises(ValueError):
        portfolio_day_json(IBOV_2025_04_30, segment=3)
    with pytest.raises(ValueError):
        portfolio_day_json(IBOV_2025_04_30, page_size=0)


def test_serialisation_and_double_encoding() -> None:
    d = portfolio_day_json(IBOV_2025_04_30, segment=2)
    raw = to_json_bytes(d)
    assert "Máqs".encode() in raw and b"\\u" not in raw and not raw.endswith(b"\n")
    assert json.loads(raw) == d
    twice = double_encoded(d)
    assert twice.startswith(b'"') and twice.endswith(b'"')
    inner = json.loads(twice)
    assert isinstance(inner, str) and json.loads(inner) == d


def test_theoretical_and_empty_shapes() -> None:
    t = theoretical_portfolio_json(IBOV_2025_04_30)
    assert set(t["header"]) == {"part", "theoricalQty", "reductor"}
    assert [x["cod"] for x in t["results"]] == sorted(r.cod for r in IBOV_2025_04_30.rows)
    assert sorted(x["cont"] for x in t["results"]) == list(range(1, 15))
    e = empty_portfolio_day_json(page_size=120)
    assert e["page"] == {"pageNumber": 1, "pageSize": 120, "totalRecords": 0, "totalPages": 0}
    assert e["results"] == [] and set(e["header"].values()) == {None}


# ----------------------------------------------------------------------------------------------
# CSV and download body


def parse_csv(data: bytes) -> tuple[str, list[list[str]], list[str]]:
    text = data.decode("latin-1")
    lines = text.splitlines()
    return lines[0], [ln.split(";") for ln in lines[2:-2]], lines[-2:]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("p", ALL, ids=IDS)
def test_download_csv(p: Portfolio, newline: str) -> None:
    data = download_csv(p, newline=newline)
    text = data.decode("latin-1")
    assert text.endswith(newline) and text.count(newline) == len(p.rows) + 4
    if newline == "\n":
        assert "\r" not in text
    assert data.split(b"\n")[1].rstrip(b"\r") == "Código;Ação;Tipo;Qtde. Teórica;Part. (%)".encode("latin-1")
    title, rows, footer = parse_csv(data)
    assert title == f"{p.index} - Carteira do Dia {p.date:%d/%m/%y}"
    assert all(len(f) == 6 and f[5] == "" for f in rows)  # trailing ';'
    assert [(f[0], f[1], f[2], qty(f[3], "pt-br"), num(f[4], "pt-br")) for f in rows] == [
        (r.cod, r.asset, r.type, r.qty, r.part) for r in p.rows
    ]
    total, reductor = (ln.split(";") for ln in footer)
    assert total[:3] == ["Quantidade Teórica Total", "", ""] and len(total) == 5
    assert qty(total[3], "pt-br") == p.total_qty and total[4] == "100,000"
    assert reductor[:3] == ["Redutor", "", ""] and len(reductor) == 4
    assert num(reductor[3], "pt-br") == p.reductor


def test_download_body() -> None:
    quoted = download_body(IBXX_2025_04_30)
    assert quoted.startswith(b'"') and quoted.endswith(b'"')
    assert base64.b64decode(quoted[1:-1], validate=True) == download_csv(IBXX_2025_04_30)
    plain = download_body(IBOV_2025_04_30, quoted=False)
    assert base64.b64decode(plain, validate=True) == download_csv(IBOV_2025_04_30)


def test_tokens_round_trip() -> None:
    params = {"language": "pt-br", "pageNumber": 1, "pageSize": 120, "index": "IBOV", "segment": "1"}
    token = encode_token(params)
    assert decode_token(token) == params
    # the URL seen most often in public code (b3-source.md section 1)
    real = (
        "eyJsYW5ndWFnZSI6InB0LWJyIiwicGFnZU51bWJlciI6MSwicGFnZVNpemUiOjEyMCwiaW5kZXgiOiJJQk9WIiwic2VnbWVudCI6"
        "IjEifQ=="
    )
    assert decode_token(real) == params
    assert decode_token(real.rstrip("=")) == params
    with pytest.raises(ValueError):
        decode_token("not-base64!")


# ----------------------------------------------------------------------------------------------
# static files


def test_static_fixtures_are_up_to_date() -> None:
    for name, data, _ in fixture_files():
        assert (FIXTURES_DIR / name).read_bytes() == data, f"{name} is stale: run python -m tests.b3fake"
    readme = (FIXTURES_DIR / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme
    assert all(f"`{name}`" in readme for name, _, _ in fixture_files())


def test_static_csv_line_endings() -> None:
    assert b"\r\n" in (FIXTURES_DIR / "IBOVDia_30-04-25_crlf.csv").read_bytes()
    assert b"\r" not in (FIXTURES_DIR / "IBOVDia_05-05-25_lf.csv").read_bytes()
    plain = (FIXTURES_DIR / "ibov_2025-04-30_download_body_plain.txt").read_bytes()
    assert not plain.startswith(b'"') and not plain.endswith(b"\n")


def test_broken_corpus_matches_manifest() -> None:
    manifest = json.loads((BROKEN_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest) >= 26
    files = [m["file"] for m in manifest]
    assert len(files) == len(set(files))
    on_disk = {f.name for f in BROKEN_DIR.iterdir()} - {"manifest.json"}
    assert on_disk == set(files)
    for m, b in zip(manifest, broken_snapshots(), strict=True):
        assert m == {"file": b.file, "problem": b.problem, "expect": b.expect, "format": b.format}
        assert m["expect"] == m["expect"].lower() and m["expect"].strip() and m["problem"].strip()
        assert (BROKEN_DIR / m["file"]).read_bytes() == b.data, f"{m['file']} is stale"


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def test_broken_corpus_defects_are_what_the_manifest_says() -> None:
    corpus = {b.file: b.data for b in broken_snapshots()}
    good = portfolio_day_json(IBOV_2025_04_30)
    assert corpus["empty.json"] == b"" and not corpus["whitespace_only.json"].strip()
    for name in ("binary_garbage.json", "truncated.json", "cloudflare_challenge.json"):
        assert _json_or_none(corpus[name]) is None, name
    inner = json.loads(corpus["double_encoded_inner_broken.json"])
    assert isinstance(inner, str) and _json_or_none(inner.encode()) is None

    def diff(name: str) -> list[str]:
        d = json.loads(corpus[name])
        out = [k for k in ("page", "header") if d.get(k) != good.get(k)]
        if d.get("results") != good["results"]:
            out.append("results")
        return out

    assert diff("header_date_impossible.json") == ["header"]
    assert diff("fewer_rows_than_total_records.json") == ["page"]
    assert diff("qty_sum_mismatch.json") == ["header"]
    for name in ("part_not_numeric.json", "empty_ticker.json", "parts_sum_97_5.json", "part_negative.json"):
        assert diff(name) == ["results"], name
    dup = json.loads(corpus["duplicate_ticker.json"])
    cods = [x["cod"] for x in dup["results"]]
    assert cods.count("VALE3") == 2 and dup["page"]["totalRecords"] == len(cods)
    assert sum(qty(x["theoricalQty"], "pt-br") for x in dup["results"]) == IBOV_2025_04_30.total_qty
    neg = json.loads(corpus["qty_negative.json"])
    assert sum(int(x["theoricalQty"].replace(".", "")) for x in neg["results"]) == qty(
        neg["header"]["theoricalQty"], "pt-br"
    )
    assert sum(num(x["part"], "pt-br") for x in json.loads(corpus["part_negative.json"])["results"]) == 100
    assert sum(
        num(x["part"], "pt-br") for x in json.loads(corpus["parts_sum_97_5.json"])["results"]
    ) == Decimal("97.500")
    assert "date" not in json.loads(corpus["theoretical_portfolio.json"])["header"]
    csv_ok = download_csv(IBOV_2025_04_30).decode("latin-1").splitlines()
    for name in ("csv_title_without_date.csv", "csv_wrong_field_count.csv", "csv_qty_not_numeric.csv"):
        lines = corpus[name].decode("latin-1").splitlines()
        assert len(lines) == len(csv_ok) and sum(a != b for a, b in zip(lines, csv_ok, strict=True)) == 1
    assert "Redutor" not in corpus["csv_truncated_no_footer.csv"].decode("latin-1")
    garbage = base64.b64decode(corpus["download_body_base64_garbage.txt"][1:-1], validate=True)
    assert b"Carteira do Dia" not in garbage


# ----------------------------------------------------------------------------------------------
# fake server

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, timeout: float = 5) -> tuple[int, Message, bytes]:
    try:
        with OPENER.open(url, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture
def server() -> Iterator[FakeB3Server]:
    with FakeB3Server({"IBOV": IBOV_2025_04_30, "IBXX": IBXX_2025_04_30}) as s:
        yield s


@pytest.mark.parametrize("segment", ["1", 2])
@pytest.mark.parametrize("language", ["pt-br", "en-us"])
def test_server_pages_concatenate_to_the_portfolio(server: FakeB3Server, language: str, segment: Any) -> None:
    rows: list[dict[str, Any]] = []
    for n in (1, 2, 3):
        status, headers, body = get(
            server.portfolio_day_url("IBOV", language=language, page=n, page_size=5, segment=segment)
        )
        assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
        assert body == to_json_bytes(
            portfolio_day_json(IBOV_2025_04_30, language=language, segment=segment, page=n, page_size=5)
        )
        d = json.loads(body)
        assert d["page"]["totalPages"] == 3 and d["page"]["totalRecords"] == 14
        rows += d["results"]
    assert rows == portfolio_day_json(IBOV_2025_04_30, language=language, segment=segment)["results"]
    assert [t["pageNumber"] for _, t in server.requests] == [1, 2, 3]
    assert all(path.startswith("/indexProxy/indexCall/GetPortfolioDay/") for path, _ in server.requests)


def test_server_unknown_index_bad_token_and_other_methods(server: FakeB3Server) -> None:
    status, _, body = get(server.portfolio_day_url("XXXX", page_size=120))
    assert status == 200 and json.loads(body) == empty_portfolio_day_json(page_size=120)
    status, _, _ = get(server.base_url + "GetPortfolioDay/%%%not-a-token")
    assert status == 400
    status, _, _ = get(server.portfolio_day_url("IBOV", segment="7"))
    assert status == 400
    status, _, _ = get(server.url + "/somewhere/else")
    assert status == 404
    status, _, body = get(server.download_url("IBXX"))
    assert status == 200 and body == download_body(IBXX_2025_04_30)
    status, _, body = get(server.download_url("NOPE"))
    assert status == 200 and body == b'""'
    tok = encode_token({"pageNumber": 1, "pageSize": 9999, "language": "pt-br", "index": "IBOV"})
    status, _, body = get(f"{server.base_url}GetTheoricalPortfolio/{tok}")
    assert status == 200 and json.loads(body) == theoretical_portfolio_json(IBOV_2025_04_30)
    # a compact token with a numeric segment, like rb3's
    rb3 = base64.b64encode(b'{"pageNumber":1,"pageSize":9999,"language":"en-us","index":"IBXX","segment":2}')
    status, _, body = get(f"{server.base_url}GetPortfolioDay/{rb3.decode()}")
    assert json.loads(body) == portfolio_day_json(IBXX_2025_04_30, language="en-us", segment=2)
    assert server.requests[1] == ("/indexProxy/indexCall/GetPortfolioDay/%%%not-a-token", {})


def test_server_is_thread_safe(server: FakeB3Server) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        status, _, body = get(server.portfolio_day_url("IBOV", page=1 + n % 3, page_size=5))
        with lock:
            results.append(status if json.loads(body)["page"]["pageNumber"] == 1 + n % 3 else -1)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 24 and len(server.requests) == 24


def test_fault_status_is_one_shot(server: FakeB3Server) -> None:
    server.add_fault("status", 520)
    server.faults.append(("status", 403, "<html><title>Attention Required! | Cloudflare</title></html>"))
    url = server.portfolio_day_url()
    status, headers, body = get(url)
    assert (status, body) == (520, b"error code: 520")
    status, headers, body = get(url)
    assert status == 403 and headers["Content-Type"].startswith("text/html") and b"Cloudflare" in body
    status, _, body = get(url)
    assert status == 200 and json.loads(body)["page"]["totalRecords"] == 14
    assert server.faults == []


def test_fault_html_with_200(server: FakeB3Server) -> None:
    server.add_fault("html", 200)
    status, headers, body = get(server.portfolio_day_url())
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>") and b"Just a moment" in body


def test_fault_delay_causes_a_read_timeout_then_recovers(server: FakeB3Server) -> None:
    server.add_fault("delay", 3)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        get(server.portfolio_day_url(), timeout=0.3)
    status, _, _ = get(server.portfolio_day_url(), timeout=2)
    assert status == 200


def test_fault_delay_shorter_than_timeout_is_just_slow(server: FakeB3Server) -> None:
    server.add_fault("delay", 0.2)
    status, _, body = get(server.portfolio_day_url())
    assert status == 200 and json.loads(body)["results"]


def test_fault_truncate(server: FakeB3Server) -> None:
    server.add_fault("truncate")
    with pytest.raises(http.client.IncompleteRead):
        get(server.portfolio_day_url())
    server.add_fault("truncate", "short")
    status, _, body = get(server.portfolio_day_url())
    assert status == 200 and body.startswith(b'{"page"')
    with pytest.raises(ValueError):
        json.loads(body)


def test_fault_fail_page_is_persistent(server: FakeB3Server) -> None:
    server.add_fault("fail_page", 2)
    for _ in range(3):
        assert get(server.portfolio_day_url(page=2, page_size=5))[0] == 500
        assert get(server.portfolio_day_url(page=1, page_size=5))[0] == 200
        assert get(server.portfolio_day_url(page=3, page_size=5))[0] == 200
    assert server.faults == [("fail_page", 2)]


def test_fault_raw_and_double_encode(server: FakeB3Server) -> None:
    server.add_fault("raw", 200, b"", "application/json; charset=utf-8")
    server.add_fault("double_encode")
    assert get(server.portfolio_day_url())[2] == b""
    _, _, body = get(server.portfolio_day_url(segment=2, page_size=9999))
    assert body == double_encoded(portfolio_day_json(IBOV_2025_04_30, segment=2))
    with pytest.raises(ValueError):
        server.add_fault("explode")


def test_faults_from_constructor_and_download_endpoint() -> None:
    with FakeB3Server(faults=[("status", 502)]) as s:
        assert get(s.download_url())[0] == 502
        status, _, body = get(s.download_url())
        assert status == 200 and base64.b64decode(body.strip(b'"')) == download_csv(IBOV_2025_04_30)


def test_server_shuts_down_cleanly_even_with_a_pending_delay() -> None:
    with FakeB3Server() as s:
        url = s.portfolio_day_url()
        s.add_fault("delay", 30)
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            get(url, timeout=0.2)
    with pytest.raises(urllib.error.URLError):
        get(url, timeout=1)
    with pytest.raises(RuntimeError):
        _ = s.url

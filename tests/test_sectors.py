"""Sectors for every stored day: B3's segment text (the row's, another index's that day, the shipped
table, another share class of the issuer) mapped to B3's eleven official sectors, on DuckDB (and, through
the same refine.sql, on Spark: tests/test_glue_job.py)."""

from __future__ import annotations

import datetime as dt
import json
import runpy
from decimal import Decimal
from pathlib import Path

import pytest

from ibovcli import datasets, sectors
from tests import b3fake
from tests.conftest import ROOT, run_ibov

REAL = ROOT.parent / "shared" / "fixtures" / "b3"
DAY = dt.date(2025, 4, 30)


def refine_segments(texts: list[str | None], tickers: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(ticker, sector, subsector) the refine gives rows with these segment texts."""
    import duckdb

    from ibovcli.engines.local import DUCKDB_SHIMS

    tickers = tickers or [f"T{i:03d}3" for i in range(len(texts))]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE raw_rows (index_code VARCHAR, session_date DATE, cod VARCHAR, asset VARCHAR, "
        "type VARCHAR, part DECIMAL(7,3), theoricalQty BIGINT, total_theoricalQty BIGINT, "
        "reductor DECIMAL(20,8), segment VARCHAR)"
    )
    for t, text in zip(tickers, texts, strict=True):
        con.execute("INSERT INTO raw_rows VALUES ('IBOV', ?, ?, 'X', 'ON', 1, 1, 1, 1, ?)", [DAY, t, text])
    for shim in DUCKDB_SHIMS:
        con.execute(shim)
    rows = con.execute(f"SELECT ticker, sector, subsector FROM ({datasets.PORTFOLIO.sql()}) ORDER BY ticker")
    return [tuple(r) for r in rows.fetchall()]


@pytest.mark.parametrize(
    ("text", "sector", "subsector"),
    [
        ("Bens Indls / Máqs e Equips", "Bens Industriais", "Máqs e Equips"),
        ("Bens Indls/Transporte", "Bens Industriais", "Transporte"),
        ("Cons N  Básico / Alimentos Processados", "Consumo não Cíclico", "Alimentos Processados"),
        ("Cons N Ciclico/Agropecuária", "Consumo não Cíclico", "Agropecuária"),
        ("Consumo Cíclico / Tecid Vest Calç", "Consumo Cíclico", "Tecid Vest Calç"),
        ("Financ e Outros / Previd  Seguros", "Financeiro", "Previd Seguros"),
        ("Financeiro e Outros/Serviços Financeiros Diversos", "Financeiro", "Serviços Financeiros Diversos"),
        ("Mats Básicos / Sid Metalurgia", "Materiais Básicos", "Sid Metalurgia"),
        ("Petróleo, Gás e Biocombustíveis", "Petróleo, Gás e Biocombustíveis", None),
        ("Saúde/SM Hosp An.Diag", "Saúde", "SM Hosp An.Diag"),
        ("Tec.Informação/Programas Servs", "Tecnologia da Informação", "Programas Servs"),
        ("Utilidade Públ / Água Saneamento", "Utilidade Pública", "Água Saneamento"),
        # B3 sometimes sends only the subsector
        ("Comput e Equips", "Tecnologia da Informação", "Comput e Equips"),
        ("Diversos", "Consumo Cíclico", "Diversos"),
        ("Telecomunicação", "Comunicações", "Telecomunicação"),
        # a broken encoding (as some recordings have it) still maps
        ("Sa\ufffdde/Com\ufffdrcio Distr.", "Saúde", "Com\ufffdrcio Distr."),
        # a text B3 never sent: no sector, not a twelfth one
        ("Astrologia / Horóscopos", None, "Horóscopos"),
    ],
)
def test_every_b3_text_maps_to_an_official_sector(
    text: str, sector: str | None, subsector: str | None
) -> None:
    [(_t, got_sector, got_subsector)] = refine_segments([text], ["ZZZZ3"])
    assert (got_sector, got_subsector) == (sector, subsector)
    assert got_sector is None or got_sector in sectors.OFFICIAL


def test_every_sector_text_in_the_real_answers_maps_to_an_official_sector() -> None:
    answers = sorted(REAL.glob("*GetPortfolioDay*segment2*.json"))
    if not answers:
        pytest.skip(f"the real B3 answers are not here ({REAL})")
    from ibovcli import b3

    texts = sorted(
        {
            h.segment
            for f in answers
            for h in b3.parse_snapshot(f.read_bytes(), index="IBOV").holdings
            if h.segment
        }
    )
    assert len(texts) >= 30
    found = refine_segments(list(texts))
    assert {s for _t, s, _sub in found} <= set(sectors.OFFICIAL), sorted(
        {s for _t, s, _ in found} - set(sectors.OFFICIAL)
    )


def test_the_shipped_table_says_where_each_row_comes_from_and_maps_cleanly() -> None:
    table = sectors.table()
    assert len(table) >= 100
    assert len({k.ticker for k in table}) == len(table)
    assert all(k.segment and k.source and dt.date.fromisoformat(k.seen_on) for k in table)
    assert all("\ufffd" not in k.segment for k in table)
    tool = runpy.run_path(str(ROOT / "tools" / "sectors_table.py"))
    tool["check"](table)  # raises when a text maps to no official sector
    found = refine_segments([None] * len(table), [k.ticker for k in table])
    assert all(s in sectors.OFFICIAL for _t, s, _sub in found)


def _portfolio(index: str, rows: list[tuple[str, str | None]]) -> b3fake.Portfolio:
    share = Decimal(100) / len(rows)
    parts = [share.quantize(Decimal("0.001")) for _ in rows]
    parts[-1] += Decimal(100) - sum(parts)
    made = tuple(
        b3fake.Row(cod, cod[:4], "ON      NM", segment or "", part, 1000)
        for (cod, segment), part in zip(rows, parts, strict=True)
    )
    return b3fake.Portfolio(index, DAY, Decimal("1.0"), 1000 * len(rows), made)


def test_a_day_without_sectors_takes_them_from_the_day_the_table_and_the_issuer(
    lake: Path, tmp_path: Path
) -> None:
    # IBXX that day, a segment-2 answer: QQQQ3 and RRRR3 appear only here
    ibxx = _portfolio(
        "IBXX",
        [("QQQQ3", "Mats Básicos / Mineração"), ("RRRR3", "Diversos"), ("VALE3", "Mats Básicos / Mineração")],
    )
    (tmp_path / "ibxx.json").write_text(
        json.dumps(b3fake.portfolio_day_json(ibxx, segment=2)), encoding="utf-8"
    )
    # IBOV that day, the Download CSV (no sectors): from the IBXX answer, the table, the issuer, or nothing
    ibov = _portfolio(
        "IBOV", [("QQQQ3", None), ("VALE3", None), ("PETR4", None), ("RRRR11", None), ("NOPE3", None)]
    )
    (tmp_path / "ibov.csv").write_bytes(b3fake.download_csv(ibov))
    r = run_ibov("scrape", "--from", str(tmp_path / "ibxx.json"), "--index", "IBXX", "--lake", str(lake))
    assert r.code == 0, r.stderr
    r = run_ibov("scrape", "--from", str(tmp_path / "ibov.csv"), "--lake", str(lake))
    assert r.code == 0, r.stderr
    assert "no sector known for 1 IBOV tickers of 2025-04-30: NOPE3" in r.stderr
    r = run_ibov(
        "sql",
        "SELECT ticker, sector FROM ibov_refined WHERE index_code = 'IBOV' ORDER BY ticker",
        "--lake",
        str(lake),
        "--json",
    )
    got = {row["ticker"]: row["sector"] for row in json.loads(r.stdout)}
    assert got == {
        "NOPE3": None,  # nowhere: said on stderr
        "PETR4": "Petróleo, Gás e Biocombustíveis",  # the shipped table
        "QQQQ3": "Materiais Básicos",  # IBXX's answer of the same day
        "RRRR11": "Consumo Cíclico",  # RRRR3, the same issuer, in IBXX's answer
        "VALE3": "Materiais Básicos",
    }

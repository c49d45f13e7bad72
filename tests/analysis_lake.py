"""Hand-made lakes for the analysis tests (saved queries, charts, status) and the docs' example charts.

:data:`SNAPSHOTS` is small enough to work every answer out by hand (the expected values are pinned
in ``tests/test_queries.py``); :func:`synthetic_history` makes a longer, plausible series for charts.
All names and numbers are made up; only the tickers and B3 sector strings look real.

``python -m tests.analysis_lake OUT_DIR`` builds a synthetic multi-day lake under a temporary folder
and draws the three example charts of ``docs/analysis.md`` into ``OUT_DIR`` (``docs/img``).
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ibovcli.b3 import Holding, Portfolio

# B3 sector strings (segment-2 style, with B3's abbreviations) -> refined sector, see refine.sql.
MINERACAO = "Mats Básicos / Mineração"  # Materiais Básicos
MADEIRA = "Mats Básicos / Madeira e Papel"  # Materiais Básicos
BANCOS = "Financ e Outros / Interms Financs"  # Financeiro
SERV_FIN = "Financeiro e Outros/Serviços Financeiros Diversos"  # Financeiro
PETROLEO = "Petróleo, Gás e Biocombustíveis / Petróleo, Gás e Biocombustíveis"  # Petróleo, ...
ENERGIA = "Utilidade Públ / Energ Elétrica"  # Utilidade Pública
MAQUINAS = "Bens Indls / Máqs e Equips"  # Bens Industriais
TRANSPORTE = "Bens Indls / Transporte"  # Bens Industriais
BEBIDAS = "Cons N Cíclico / Bebidas"  # Consumo não Cíclico
AGRO = "Cons N Cíclico / Agropecuária"  # Consumo não Cíclico
COMERCIO = "Consumo Cíclico / Comércio"  # Consumo Cíclico
HOSPITAIS = "Saúde/SM Hosp An.Diag"  # Saúde

COMPANY = {
    "VALE3": ("VALE", "ON      NM", MINERACAO),
    "ITUB4": ("ITAUUNIBANCO", "PN      N1", BANCOS),
    "PETR4": ("PETROBRAS", "PN      N2", PETROLEO),
    "PETR3": ("PETROBRAS", "ON      N2", PETROLEO),
    "BBDC4": ("BRADESCO", "PN      N1", BANCOS),
    "BBAS3": ("BRASIL", "ON      NM", BANCOS),
    "ELET3": ("ELETROBRAS", "ON      N1", ENERGIA),
    "WEGE3": ("WEG", "ON      NM", MAQUINAS),
    "ABEV3": ("AMBEV S/A", "ON", BEBIDAS),
    "B3SA3": ("B3", "ON      NM", SERV_FIN),
    "SUZB3": ("SUZANO S.A.", "ON      NM", MADEIRA),
    "MGLU3": ("MAGAZ LUIZA", "ON      NM", COMERCIO),
    "RDOR3": ("REDE D OR", "ON      NM", HOSPITAIS),
    "CASH3": ("MELIUZ", "ON      NM", COMERCIO),
    "AZUL4": ("AZUL", "PN      N2", TRANSPORTE),
    "SLCE3": ("SLC AGRICOLA", "ON      NM", AGRO),
}


def _weights(text: str) -> dict[str, str]:
    """``"VALE3=20 ITUB4=15"`` -> ``{"VALE3": "20", "ITUB4": "15"}``."""
    return dict(pair.split("=") for pair in text.split())


#: (index, day) -> {ticker: weight in percent}. Every day sums to exactly 100.
SNAPSHOTS: dict[tuple[str, date], dict[str, str]] = {
    ("IBOV", date(2025, 4, 28)): _weights(
        "VALE3=20 ITUB4=15 PETR4=12 PETR3=10 BBDC4=8 BBAS3=8 ELET3=7 WEGE3=6 ABEV3=5 B3SA3=4 SUZB3=3 MGLU3=2"
    ),
    ("IBOV", date(2025, 4, 30)): _weights(
        "VALE3=22 ITUB4=14 PETR4=12 PETR3=10 BBDC4=8 BBAS3=8 ELET3=7 WEGE3=6 ABEV3=5 B3SA3=4 SUZB3=2 MGLU3=2"
    ),
    # The May-Aug rebalance: MGLU3 leaves, RDOR3 enters.
    ("IBOV", date(2025, 5, 5)): _weights(
        "VALE3=21 ITUB4=14 PETR4=12 PETR3=10 BBDC4=9 BBAS3=8 ELET3=7 WEGE3=6 ABEV3=4 B3SA3=4 SUZB3=2 RDOR3=3"
    ),
    ("SMLL", date(2025, 4, 30)): _weights("MGLU3=40.5 RDOR3=30 CASH3=20 AZUL4=9.5"),
    # RDOR3 moved up to IBOV; SLCE3 enters.
    ("SMLL", date(2025, 5, 5)): _weights("MGLU3=45 CASH3=25 AZUL4=20 SLCE3=10"),
}


def portfolio(index: str, day: date, weights: dict[str, str | Decimal]) -> Portfolio:
    """A parsed-looking portfolio with the given weights (quantities are made up but consistent)."""
    holdings = []
    for i, (cod, part) in enumerate(sorted(weights.items())):
        company, type_, segment = COMPANY[cod]
        qty = 1_000_000_000 + 7_919 * i
        holdings.append(Holding(cod, company, type_, segment, Decimal(part), qty))
    total = sum(h.qty for h in holdings)
    return Portfolio(
        index=index,
        session_date=day,
        holdings=tuple(holdings),
        total_qty=total,
        reductor=Decimal("15873402.61937058"),
        source_format="json/pt-br/segment-2",
        total_records=len(holdings),
        source="test:analysis_lake",
        original=f"{index} {day} {sorted(weights.items())}".encode(),
        collected_at=datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC)
        + timedelta(hours=22),
    )


def build(root: Path, snapshots: dict[tuple[str, date], dict[str, str]] | None = None) -> Path:
    """Write raw snapshots into the lake at ``root`` and refine every day, as ``ibov run`` would."""
    from tests.lakes import store

    snapshots = SNAPSHOTS if snapshots is None else snapshots
    store(root, *(portfolio(index, day, dict(weights)) for (index, day), weights in snapshots.items()))
    return root


def synthetic_history(
    days: int = 80, start: date = date(2025, 2, 3), seed: int = 7
) -> dict[tuple[str, date], dict[str, str]]:
    """IBOV over ``days`` B3 trading days: weights drift like prices; MGLU3 -> RDOR3 on 2025-05-05."""
    from ibovcli.tradingdays import trading_days

    rng = random.Random(seed)
    base = {
        t: float(w)
        for t, w in _weights(
            "VALE3=12 ITUB4=9.5 PETR4=8 PETR3=6 BBDC4=4.5 BBAS3=4 ELET3=3.5 WEGE3=3.2 ABEV3=3 B3SA3=2.8 "
            "SUZB3=2 MGLU3=0.6 CASH3=0.4 AZUL4=0.3 SLCE3=0.5"
        ).items()
    }
    price = dict.fromkeys(base, 1.0)
    out: dict[tuple[str, date], dict[str, str]] = {}
    for day in trading_days(start, start + timedelta(days=days * 2))[:days]:
        members = [t for t in base if not (t == "MGLU3" and day >= date(2025, 5, 5))]
        if day >= date(2025, 5, 5):
            members.append("RDOR3")
            base.setdefault("RDOR3", 1.1)
            price.setdefault("RDOR3", 1.0)
        for t in members:
            price[t] *= 1 + rng.gauss(0.0004, 0.018)
        raw = {t: base[t] * price[t] for t in members}
        total = sum(raw.values())
        weights = {t: Decimal(str(round(100 * v / total, 3))) for t, v in raw.items()}
        heaviest = max(weights, key=lambda t: weights[t])
        weights[heaviest] += Decimal(100) - sum(weights.values())  # exactly 100.000
        out[("IBOV", day)] = {t: str(w) for t, w in weights.items()}
    return out


def draw_examples(out_dir: Path) -> list[Path]:
    """Build a synthetic lake and draw the docs' three example charts into ``out_dir``."""
    from ibovcli import charts
    from ibovcli.settings import Settings

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = build(Path(tmp) / "lake", synthetic_history())
        settings = Settings.load(lake_dir=root, engine="local")
        return [
            charts.draw(settings, "weight-history", out_dir / "weight-history.png", ticker="PETR4").path,
            charts.draw(settings, "sectors", out_dir / "sectors.png").path,
            charts.draw(settings, "concentration", out_dir / "concentration.png").path,
        ]


if __name__ == "__main__":  # pragma: no cover - a maintenance entry point
    for p in draw_examples(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(p)

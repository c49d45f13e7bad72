"""Every index whose daily portfolio B3 publishes through ``GetPortfolioDay``: the one list of them.

``ibov scrape --index all`` and ``ibov run --index all`` fetch each of these. The codes are the 34 in
B3's ``GetStockIndex`` on 2025-04-07 (shared/docs/b3-source.md section 4). B3 adds indices now and
then: when it does, add the code here (a future ``ibov indices --refresh`` could read GetStockIndex).
The names are B3's short names, for people; the code is what B3's endpoints take.
Stdlib only.
"""

from __future__ import annotations

#: (code, name), in alphabetical order of code.
INDICES: tuple[tuple[str, str], ...] = (
    ("AGFS", "Agro Free Float Setorial (IAGRO)"),
    ("BDRX", "BDRs Não Patrocinados Global"),
    ("GPTW", "GPTW (Great Place to Work)"),
    ("IBBR", "Ibovespa B3 BR+"),
    ("IBEE", "Ibovespa B3 Estatais"),
    ("IBEP", "Ibovespa B3 Empresas Privadas"),
    ("IBEW", "Ibovespa B3 Equal Weight"),
    ("IBHB", "Ibovespa Smart High Beta"),
    ("IBLV", "Ibovespa Smart Low Volatility"),
    ("IBOV", "Ibovespa"),
    ("IBRA", "Brasil Amplo (IBrA)"),
    ("IBSD", "Ibovespa Smart Dividendos"),
    ("IBXL", "Brasil 50 (IBrX 50)"),
    ("IBXX", "Brasil 100 (IBrX 100)"),
    ("ICO2", "Carbono Eficiente (ICO2)"),
    ("ICON", "Consumo"),
    ("IDIV", "Dividendos"),
    ("IDVR", "Diversidade (IDIVERSA)"),
    ("IEEX", "Energia Elétrica"),
    ("IFIL", "Fundos Imobiliários de Alta Liquidez"),
    ("IFIX", "Fundos Imobiliários"),
    ("IFNC", "Financeiro"),
    ("IGCT", "Governança Corporativa Trade"),
    ("IGCX", "Governança Corporativa Diferenciada"),
    ("IGNM", "Governança Corporativa Novo Mercado"),
    ("IMAT", "Materiais Básicos"),
    ("IMOB", "Imobiliário"),
    ("INDX", "Industrial"),
    ("ISEE", "Sustentabilidade Empresarial (ISE)"),
    ("ITAG", "Tag Along Diferenciado"),
    ("IVBX", "Valor (IVBX 2)"),
    ("MLCX", "MidLarge Cap"),
    ("SMLL", "Small Cap"),
    ("UTIL", "Utilidade Pública"),
)

#: The word that stands for every index in ``--index``.
ALL = "ALL"


def codes() -> list[str]:
    """Every index code, alphabetically."""
    return [code for code, _ in INDICES]


def name(code: str) -> str | None:
    """B3's short name of ``code`` (``'Small Cap'`` for SMLL), or None for a code not in the list."""
    return dict(INDICES).get(code.upper())


def expand(requested: list[str]) -> list[str]:
    """Upper-cased codes in the order given, ``all`` replaced by every code, duplicates dropped."""
    out: list[str] = []
    for item in requested:
        for code in codes() if item.strip().upper() == ALL else [item.strip().upper()]:
            if code not in out:
                out.append(code)
    return out

"""The public procurement tables of the extracts (contract §8.4), from the procurement marts of
one date (clauses.compute, sql/insert_mart_procurement.sql).

A region with a counted contract gets `commande_publique` (one row per year) and
`acheteurs_sans_facilitateur`; the nation gets `commande_publique_regions` (one row per region
and year, the unattributed contracts, then a total per year) and `decp_fichiers` once a snapshot
entry was received. Without any entry received on or before the date, no table at all: the
extracts are then those of §7 alone.

The ratios (Part, Part en montant, Écart, Taux de couverture) are derived here, and only here,
from the counts and sums of the marts, exactly (fractions), then rounded half up to 4 decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clauses.contract.kinds import REGIONS
from clauses.publish.cells import FILE_COLUMNS, Fmt, Table
from clauses.publish.page import ProcurementYear
from clauses.warehouse.engine import sql_query

T, N, D4, E, DT = Fmt.TEXT, Fmt.INT, Fmt.DEC4, Fmt.EUR, Fmt.DATE

FIGURE_COLUMNS: list[tuple[str, Fmt]] = [
    ("Contrats", N),
    ("Avec considération sociale", N),
    ("Part", D4),
    ("Montant", E),
    ("Montant avec considération sociale", E),
    ("Part en montant", D4),
    ("Objectif PNAD", D4),
    ("Écart", D4),
    ("Accompagnés", N),
    ("Taux de couverture", D4),
    ("Au-dessus des seuils sans considération sociale", N),
]
YEAR_COLUMNS = [("Année", N), *FIGURE_COLUMNS]
REGION_COLUMNS = [("Code région", T), ("Région", T), ("Année", N), *FIGURE_COLUMNS]
BUYER_COLUMNS = [
    ("Année", N),
    ("SIRET acheteur", T),
    ("Acheteur", T),
    ("Contrats avec considération sociale", N),
    ("Montant", E),
]
DECP_FILE_COLUMNS = [*FILE_COLUMNS, ("Lignes exclues", N)]  # §8.4: fichiers.csv's, and one more
KIND = "DECP"  # the Type of an entry read as a snapshot
UNATTRIBUTED = "Non attribuée"
TOTAL = "Total"
ADDITIVE = (
    "contrats",
    "avec_consideration",
    "montant",
    "montant_avec_consideration",
    "accompagnes",
    "au_dessus_seuils",
)
DUPLICATE_REASON = (
    "instantané identique à un instantané déjà reçu (même empreinte SHA-256) : compté une seule "
    "fois, à sa première réception"
)
SUPERSEDED_REASON = "remplacé par un instantané reçu plus tard"


def _exact(value: Any) -> Fraction:
    """A stored number as the decimal it was written as (a float's shortest digits)."""
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def rounded_ratio(value: Fraction | None) -> Decimal | None:
    """`value` rounded half up (away from zero) to 4 decimals; None stays None."""
    if value is None:
        return None
    scaled = abs(value) * 10_000
    units = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(units if value >= 0 else -units).scaleb(-4)


def figure_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of FIGURE_COLUMNS for one mart row (or a sum of rows of one year): the
    counts and amounts as stored, the ratios exact then rounded, empty when undefined
    (no contract, no amount, no contract with a social consideration)."""
    contracts, social = int(row["contrats"]), int(row["avec_consideration"])
    amount, social_amount = _exact(row["montant"]), _exact(row["montant_avec_consideration"])
    share = Fraction(social, contracts) if contracts else None
    target = _exact(row["objectif_pnad"])
    return (
        contracts,
        social,
        rounded_ratio(share),
        row["montant"],
        row["montant_avec_consideration"],
        rounded_ratio(social_amount / amount if amount else None),
        rounded_ratio(target),
        rounded_ratio(share - target if share is not None else None),
        int(row["accompagnes"]),
        rounded_ratio(Fraction(int(row["accompagnes"]), social) if social else None),
        int(row["au_dessus_seuils"]),
    )


def _figures(connection: Connection, as_of: date, region: str | None) -> list[dict[str, Any]]:
    query = sql_query("select_procurement")
    rows = connection.execute(query, {"as_of": as_of, "region": region}).mappings()
    return [dict(row) for row in rows]


def region_procurement_tables(
    connection: Connection, region: str, as_of: date
) -> tuple[list[Table], set[str]]:
    """The two tables of a region with a counted contract as of `as_of` (none otherwise), and
    the versions of the rules they were computed with."""
    rows = _figures(connection, as_of, region)
    if not rows:
        return [], set()
    years = Table(
        "commande_publique",
        "Commande publique",
        YEAR_COLUMNS,
        [(r["annee"], *figure_values(r)) for r in rows],
    )
    buyers = connection.execute(
        sql_query("select_procurement_buyers"), {"as_of": as_of, "region": region}
    ).all()
    buyer_table = Table(
        "acheteurs_sans_facilitateur",
        "Acheteurs sans facilitateur",
        BUYER_COLUMNS,
        [(year, siret, name, n, amount) for year, siret, name, n, amount in buyers],
    )
    return [years, buyer_table], {r["rules_version"] for r in rows}


def national_procurement_tables(
    connection: Connection, as_of: date
) -> tuple[list[Table], set[str]]:
    """The two national tables once a snapshot entry was received on or before `as_of` (none
    otherwise), and the versions of the rules of their figures."""
    files = _decp_files(connection, as_of)
    if not files:
        return [], set()
    rows = _figures(connection, as_of, None)
    body = [
        (
            r["code_region"] or "",
            REGIONS[r["code_region"]][0] if r["code_region"] else UNATTRIBUTED,
            r["annee"],
            *figure_values(r),
        )
        for r in rows
    ]
    for year in sorted({r["annee"] for r in rows}):
        body.append(
            ("", TOTAL, year, *figure_values(_year_total([r for r in rows if r["annee"] == year])))
        )
    table = Table("commande_publique_regions", "Commande publique", REGION_COLUMNS, body)
    return [table, Table("decp_fichiers", "Fichiers DECP", DECP_FILE_COLUMNS, files)], {
        r["rules_version"] for r in rows
    }


def procurement_pictures(
    connection: Connection, as_of: date, region: str | None
) -> dict[str | None, list[ProcurementYear]]:
    """What the summary pages draw of the figures as of `as_of`, with the values the tables
    publish: a region's years (`region` given), or every region's and the nation's (key None,
    its totals per year, unattributed contracts included) when `region` is None."""
    rows = _figures(connection, as_of, region)
    pictures: dict[str | None, list[ProcurementYear]] = {}
    for row in rows:
        pictures.setdefault(row["code_region"] if region is None else region, []).append(
            _picture(row)
        )
    if region is None:
        pictures.pop(None, None)  # the unattributed contracts: in the nation's totals only
        years = sorted({r["annee"] for r in rows})
        pictures[None] = [
            _picture({**_year_total([r for r in rows if r["annee"] == y]), "annee": y})
            for y in years
        ]
    return pictures


def _picture(row: Mapping[str, Any]) -> ProcurementYear:
    contracts, social, share, _, _, _, target, _, accompanied, coverage, _ = figure_values(row)
    return ProcurementYear(
        year=int(row["annee"]),
        contracts=contracts,
        social=social,
        share=None if share is None else float(share),
        target=None if target is None else float(target),
        accompanied=accompanied,
        coverage=None if coverage is None else float(coverage),
    )


def _year_total(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {c: sum(r[c] for r in rows) for c in ADDITIVE}
    total["objectif_pnad"] = rows[0]["objectif_pnad"]  # the year's rules: one target per year
    return total


def _decp_files(connection: Connection, as_of: date) -> list[tuple[Any, ...]]:
    """decp_fichiers.csv: each entry with its status as of the date, its rows read and
    excluded; a copy shows neither (counted once, at its first receipt)."""
    query = sql_query("select_decp_files").columns(receipt_date=sa.Date)
    rows = []
    for name, sha, received, status, statut, n_rows, n_excluded, reason in connection.execute(
        query, {"as_of": as_of}
    ):
        kind = KIND if status in ("loaded", "quarantined") else ""
        if statut == "doublon":
            n_rows, n_excluded, reason = None, None, DUPLICATE_REASON
        elif statut == "remplacé":
            reason = SUPERSEDED_REASON + (f" | {reason}" if reason else "")
        rows.append((name, sha, received, kind, statut, n_rows, reason, n_excluded))
    return rows


def snapshot_in_force(connection: Connection, as_of: date) -> str | None:
    """The SHA-256 of the snapshot in force as of `as_of` (a source of the procurement
    figures, listed in the manifests), or None."""
    return connection.execute(sql_query("select_decp_snapshot_in_force"), {"as_of": as_of}).scalar()


__all__ = [
    "figure_values",
    "national_procurement_tables",
    "procurement_pictures",
    "region_procurement_tables",
    "rounded_ratio",
    "snapshot_in_force",
]

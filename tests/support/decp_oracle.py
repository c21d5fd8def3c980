"""Test oracle of the public procurement figures (contract §8.1 statuses, §8.3 figures, §8.4
files), independent of the pipeline's SQL: pandas over the contracts each snapshot states
(support/decp_rows.Contract lists, not the versions stored in the warehouse), the current
Marchés and Contacts rows of the §4 oracle (support/oracle.py, pure Python over the staging
tables), and the rules given as plain numbers.

Choices where the contract leaves room (the pipeline makes the same ones, see the report):
1. Regions and years: one row per (region, year) with a counted contract; the national table
   lists the regions in code order, then the unattributed contracts (`Non attribuée`), then one
   `Total` per year.
2. A buyer's `Montant` is the amount of its counted contracts with a social consideration
   listed; its name is the smallest non-empty name among them.
3. Ratios are exact, rounded half up to 4 decimals; Écart uses the unrounded Part.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pandas as pd

from support.decp_rows import Contract
from support.oracle import _fmt, _state

CLIMATE_LAW = date(2026, 8, 21)
REGION_NAMES = {
    "01": "Guadeloupe", "02": "Martinique", "03": "Guyane", "04": "La Réunion", "06": "Mayotte",
    "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté",
    "28": "Normandie", "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire",
    "53": "Bretagne", "75": "Nouvelle-Aquitaine", "76": "Occitanie",
    "84": "Auvergne-Rhône-Alpes", "93": "Provence-Alpes-Côte d'Azur", "94": "Corse",
}  # fmt: skip
FIGURES = (
    "Contrats",
    "Avec considération sociale",
    "Part",
    "Montant",
    "Montant avec considération sociale",
    "Part en montant",
    "Objectif PNAD",
    "Écart",
    "Accompagnés",
    "Taux de couverture",
    "Au-dessus des seuils sans considération sociale",
)


@dataclass(frozen=True)
class YearRules:
    decp_min_amount: float = 40_000
    pnad_social_share_target: float = 0.30
    eu_threshold_works: float = 5_404_000
    eu_threshold_supplies_services: float = 216_000


@dataclass(frozen=True)
class Entry:
    received: date
    name: str
    sha: str
    status: str  # loaded | quarantined | refused
    n_rows: int | None = None
    n_excluded: int | None = 0


def _exact(x: float) -> Fraction:
    return Fraction(Decimal(repr(float(x))))


def _key(number: str) -> str:
    return re.sub(r"[\W_]", "", number).upper()


def entry_statuses(entries: Iterable[Entry], as_of: date) -> list[tuple[Entry, str]]:
    """Each entry received on or before `as_of`, in order of receipt, with its Statut."""
    received = sorted(
        (e for e in entries if e.received <= as_of), key=lambda e: (e.received, e.name, e.sha)
    )
    seen: set[str] = set()
    firsts: list[tuple[Entry, bool]] = []
    for e in received:
        copy = bool(e.sha) and e.sha in seen
        seen.add(e.sha)
        firsts.append((e, copy))
    loaded = [e for e, copy in firsts if not copy and e.status == "loaded"]
    in_force = loaded[-1] if loaded else None
    out = []
    for e, copy in firsts:
        if copy:
            statut = "doublon"
        elif e.status == "quarantined":
            statut = "en quarantaine"
        elif e.status == "refused":
            statut = "refusé"
        else:
            statut = "chargé" if e is in_force else "remplacé"
        out.append((e, statut))
    return out


@dataclass
class Expected:
    regions: dict[str, list[dict[str, str]]]  # commande_publique.csv per region
    buyers: dict[str, list[dict[str, str]]]  # acheteurs_sans_facilitateur.csv per region
    national: list[dict[str, str]] | None  # commande_publique_regions.csv (None: not written)
    files: list[dict[str, str]] | None  # decp_fichiers.csv, some columns


def expected(
    engine: Any,
    as_of: date,
    entries: Iterable[Entry],
    snapshots: Mapping[str, list[Contract]],
    rules: Callable[[int], YearRules] = lambda year: YearRules(),
) -> Expected:
    statuses = entry_statuses(entries, as_of)
    if not statuses:
        return Expected({}, {}, None, None)
    files = [
        {
            "Fichier": e.name,
            "SHA-256": e.sha,
            "Date de réception": e.received.isoformat(),
            "Statut": statut,
            "Lignes": "" if statut == "doublon" or e.n_rows is None else str(e.n_rows),
            "Lignes exclues": ""
            if statut == "doublon" or e.n_excluded is None
            else str(e.n_excluded),
        }
        for e, statut in statuses
    ]
    in_force = [e for e, statut in statuses if statut == "chargé"]
    contracts = snapshots[in_force[0].sha] if in_force else []

    state = _state(engine, as_of)
    marches = state.activity["stg_marches"]
    keys = {(r["siret_donneur_ordre"], _key(r["num_marche"])) for r in marches}
    reached = {r["siret_donneur_ordre"] for r in marches}
    reached |= {r["siret_acheteur"] for r in state.activity["stg_contacts"]}

    df = pd.DataFrame([dataclasses.asdict(c) for c in contracts])
    first_names: dict[str, str] = {}  # §8.4: the buyer's first row of the snapshot
    for c in contracts:
        first_names.setdefault(c.buyer_siret, c.buyer_name or "")
    if df.empty:
        return Expected({}, {}, [], files)
    df = df[df["notified_on"] <= as_of].copy()
    df["year"] = df["notified_on"].map(lambda d: d.year)
    df["region"] = df["region"].fillna("")
    year_rules = {y: rules(y) for y in df["year"].unique()}
    df = df[df.apply(lambda r: r["amount"] >= year_rules[r["year"]].decp_min_amount, axis=1)]
    df["accompanied"] = df.apply(
        lambda r: bool(r["social"]) and (r["buyer_siret"], _key(r["number"])) in keys, axis=1
    )
    df["above"] = df.apply(
        lambda r: (
            not r["social"]
            and r["notified_on"] >= CLIMATE_LAW
            and r["amount"]
            >= (
                year_rules[r["year"]].eu_threshold_works
                if r["works"]
                else year_rules[r["year"]].eu_threshold_supplies_services
            )
        ),
        axis=1,
    )

    def figures(group: pd.DataFrame, year: int) -> dict[str, str]:
        n, social = len(group), int(group["social"].sum())
        amount = sum((_exact(a) for a in group["amount"]), Fraction(0))
        social_amount = sum((_exact(a) for a in group[group["social"]]["amount"]), Fraction(0))
        share = Fraction(social, n) if n else None
        target = _exact(year_rules[year].pnad_social_share_target)
        accompanied = int(group["accompanied"].sum())
        return {
            "Contrats": str(n),
            "Avec considération sociale": str(social),
            "Part": _fmt(share, 4),
            "Montant": _fmt(amount, 2),
            "Montant avec considération sociale": _fmt(social_amount, 2),
            "Part en montant": _fmt(social_amount / amount if amount else None, 4),
            "Objectif PNAD": _fmt(target, 4),
            "Écart": _fmt(share - target if share is not None else None, 4),
            "Accompagnés": str(accompanied),
            "Taux de couverture": _fmt(Fraction(accompanied, social) if social else None, 4),
            "Au-dessus des seuils sans considération sociale": str(int(group["above"].sum())),
        }

    regions: dict[str, list[dict[str, str]]] = {}
    national: list[dict[str, str]] = []
    for (region, year), group in sorted(
        df.groupby(["region", "year"]), key=lambda item: (item[0][0] == "", item[0])
    ):
        row = figures(group, int(year))
        if region:
            regions.setdefault(region, []).append({"Année": str(year), **row})
        national.append(
            {
                "Code région": region,
                "Région": REGION_NAMES[region] if region else "Non attribuée",
                "Année": str(year),
                **row,
            }
        )
    for year, group in sorted(df.groupby("year")):
        national.append(
            {"Code région": "", "Région": "Total", "Année": str(year), **figures(group, year)}
        )

    buyers: dict[str, list[dict[str, str]]] = {}
    unreached = df[df["social"] & ~df["buyer_siret"].isin(reached)]
    listed = []
    for (region, year, siret), group in unreached.groupby(["region", "year", "buyer_siret"]):
        amount = sum((_exact(a) for a in group["amount"]), Fraction(0))
        listed.append((region, year, -amount, siret, first_names.get(siret, ""), len(group)))
    for region, year, minus_amount, siret, name, n in sorted(listed):
        if region:
            buyers.setdefault(region, []).append(
                {
                    "Année": str(year),
                    "SIRET acheteur": siret,
                    "Acheteur": name,
                    "Contrats avec considération sociale": str(n),
                    "Montant": _fmt(-minus_amount, 2),
                }
            )
    for region in regions:
        buyers.setdefault(region, [])
    return Expected(regions, buyers, national, files)

"""Deterministic national sample dataset for the landing zone (data contract §1-3).

`generate_sample` writes, under ``landing_dir/<code_region>/<AAAA-MM-JJ>/``, the files a national
deployment would receive over two campaigns (millésimes 2024 and 2025, receipts from 2024-01 to
2026-03): the conventions registers of the 18 DREETS, the monthly activity exports of every
facilitator structure (Heures, Marchés, Contacts, Partenariats), their corrections, and the
intermediate and annual reports (Bilans).

The files deliberately exercise the reader: the column headers below are written here as literal
strings (with their spelling variants) rather than taken from `clauses.contract.kinds`, so that the
generated files test the reader independently of the contract module. Encodings, separators,
number, date and month forms, SIRETs stored as numbers, title and total rows in workbooks, several
kinds per workbook, personal-data columns... are spread over the files; `GenerateSummary.variants`
names, for each variant class, some files that carry it.

Determinism: everything is drawn from `random.Random` instances seeded from ``seed`` and a label
(never the global random state, never the wall clock); workbooks carry a fixed creation date and
xlsxwriter's fixed zip timestamps. The same ``(scale, seed, defects)`` gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import math
import random
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from clauses.contract.kinds import (
    INCLUSIVE_EMPLOYERS,
    NATURE,
    PUBLIC_PRIORITAIRE,
    REGIONS,
    TYPE_CLAUSE,
    TYPE_DONNEUR_ORDRE,
    TYPE_EMPLOYEUR,
    Kind,
)

__all__ = ["GenerateSummary", "generate_sample", "siret_is_valid"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------

FIRST_RECEIPT = date(2024, 1, 1)
LAST_RECEIPT = date(2026, 3, 31)
MILLESIMES = (2024, 2025)


def _mi(d: date) -> int:
    """Month index of a date (year * 12 + month - 1)."""
    return d.year * 12 + d.month - 1


def _month_start(m: int) -> date:
    return date(m // 12, m % 12 + 1, 1)


def _month_end(m: int) -> date:
    return _month_start(m + 1) - timedelta(days=1)


def _add_months(d: date, n: int) -> date:
    m = _mi(d) + n
    return date(m // 12, m % 12 + 1, min(d.day, _month_end(m).day))


def _ym(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


LAST_ACTIVITY_MONTH = _mi(LAST_RECEIPT) - 1  # activity of month M is received during M + 1

# --------------------------------------------------------------------------------------------
# Randomness, identifiers
# --------------------------------------------------------------------------------------------


def _sub_rng(seed: int, *labels: object) -> random.Random:
    """An independent generator for one concern, derived from the seed and a label."""
    digest = hashlib.sha256(repr((seed, *labels)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if _luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")


LA_POSTE_SIREN = "356000000"


def siret_is_valid(siret: str) -> bool:
    """Contract check of a 14-digit SIRET (Luhn on SIRET and SIREN; La Poste: digit sum % 5)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return sum(map(int, siret)) % 5 == 0
    return _luhn_ok(siret) and _luhn_ok(siret[:9])


class _Sirets:
    """Unique, valid SIRETs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, *, leading_zero: bool = False) -> str:
        rng = self.rng
        while True:
            # one leading zero at most: a number cell then keeps 13 digits
            first = f"0{rng.randint(1, 9)}" if leading_zero else str(rng.randint(1, 9))
            siren = _luhn_complete(
                first + "".join(str(rng.randint(0, 9)) for _ in range(8 - len(first)))
            )
            nic = f"{rng.choice((1, 1, 2, 3, 11, 12, 24, 35, 41, 57, 112, 203)):04d}"
            siret = _luhn_complete(siren + nic)
            if siret not in self.used and _luhn_ok(siret[:9]):
                self.used.add(siret)
                return siret

    def la_poste(self) -> str:
        """A La Poste SIRET: digit sum a multiple of 5, failing the Luhn check."""
        rng = self.rng
        while True:
            body = LA_POSTE_SIREN + f"{rng.randint(100, 9999):04d}"
            for last in "0123456789":
                siret = body + last
                if sum(map(int, siret)) % 5 == 0 and not _luhn_ok(siret):
                    if siret not in self.used:
                        self.used.add(siret)
                        return siret


def _strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


# --------------------------------------------------------------------------------------------
# Literal headers (contract §2), with spelling variants (contract §3)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Col:
    key: str
    ctype: str  # siret|month|date|num|amount|int|enum|list|text|code
    headers: tuple[str, str, str, str]  # canonical, snake, loose, upper
    droppable: bool = False  # optional column that some exports leave out


def _c(key: str, ctype: str, *headers: str, droppable: bool = False) -> _Col:
    assert len(headers) == 4
    return _Col(key, ctype, (headers[0], headers[1], headers[2], headers[3]), droppable)


_SIRET_PORTEUR = _c(
    "siret_porteur", "siret", "SIRET porteur", "siret_porteur", "Siret Porteur ", "SIRET_PORTEUR"
)
_MOIS = _c("mois", "month", "Mois", "mois", " Mois ", "MOIS")

HEADERS: dict[Kind, tuple[_Col, ...]] = {
    Kind.HEURES: (
        _SIRET_PORTEUR,
        _MOIS,
        _c(
            "code_operation",
            "text",
            "Code opération",
            "code_operation",
            "Code.Operation",
            "CODE_OPERATION",
        ),
        _c("num_marche", "text", "N° marché", "n°_marche", "N° Marché", "N°_MARCHE"),
        _c("num_lot", "text", "N° lot", "n°_lot", "N° Lot ", "N°_LOT"),
        _c(
            "siret_donneur_ordre",
            "siret",
            "SIRET donneur d'ordre",
            "siret_donneur_d_ordre",
            "Siret donneur d ordre",
            "SIRET_DONNEUR_D_ORDRE",
        ),
        _c(
            "type_donneur_ordre",
            "enum",
            "Type de donneur d'ordre",
            "type_de_donneur_d_ordre",
            "type-de-donneur-d-ordre",
            "TYPE_DE_DONNEUR_D_ORDRE",
        ),
        _c(
            "siret_employeur",
            "siret",
            "SIRET employeur",
            "siret_employeur",
            "Siret Employeur",
            "SIRET_EMPLOYEUR",
        ),
        _c(
            "type_employeur",
            "enum",
            "Type d'employeur",
            "type_d_employeur",
            "Type d employeur ",
            "TYPE_D_EMPLOYEUR",
        ),
        _c(
            "id_participant",
            "text",
            "ID participant",
            "id_participant",
            "Id Participant",
            "ID_PARTICIPANT",
        ),
        _c(
            "public_prioritaire",
            "list",
            "Public prioritaire",
            "public_prioritaire",
            "Public Prioritaire",
            "PUBLIC_PRIORITAIRE",
        ),
        _c("modalite", "enum", "Modalité", "modalite", "Modalite ", "MODALITE"),
        _c(
            "heures_realisees",
            "num",
            "Heures réalisées",
            "heures_realisees",
            "heures-realisees",
            "HEURES_REALISEES",
        ),
        _c(
            "heures_formation",
            "num",
            "Heures de formation",
            "heures_de_formation",
            "Heures de Formation",
            "HEURES_DE_FORMATION",
            droppable=True,
        ),
        _c("sexe", "enum", "Sexe", "sexe", "SEXE ", "SEXE", droppable=True),
        _c(
            "annee_naissance",
            "int",
            "Année de naissance",
            "annee_de_naissance",
            "Annee de naissance",
            "ANNEE_DE_NAISSANCE",
            droppable=True,
        ),
    ),
    Kind.MARCHES: (
        _SIRET_PORTEUR,
        _MOIS,
        _c(
            "siret_donneur_ordre",
            "siret",
            "SIRET donneur d'ordre",
            "siret_donneur_d_ordre",
            "Siret donneur d ordre",
            "SIRET_DONNEUR_D_ORDRE",
        ),
        _c(
            "type_donneur_ordre",
            "enum",
            "Type de donneur d'ordre",
            "type_de_donneur_d_ordre",
            "type-de-donneur-d-ordre",
            "TYPE_DE_DONNEUR_D_ORDRE",
        ),
        _c("num_marche", "text", "N° marché", "n°_marche", "N° Marché", "N°_MARCHE"),
        _c("num_lot", "text", "N° lot", "n°_lot", "N° Lot ", "N°_LOT"),
        _c("objet", "text", "Objet", "objet", "Objet ", "OBJET"),
        _c("nature", "enum", "Nature", "nature", "Nature ", "NATURE"),
        _c(
            "type_clause",
            "enum",
            "Type de clause",
            "type_de_clause",
            "Type de Clause ",
            "TYPE_DE_CLAUSE",
        ),
        _c("montant_ht", "amount", "Montant HT", "montant_ht", "Montant-HT", "MONTANT_HT"),
        _c(
            "heures_prevues",
            "num",
            "Heures prévues",
            "heures_prevues",
            "Heures Prevues",
            "HEURES_PREVUES",
        ),
        _c(
            "date_notification",
            "date",
            "Date de notification",
            "date_de_notification",
            "Date de Notification",
            "DATE_DE_NOTIFICATION",
            droppable=True,
        ),
        _c(
            "grand_projet",
            "enum",
            "Grand projet",
            "grand_projet",
            "Grand Projet ",
            "GRAND_PROJET",
            droppable=True,
        ),
    ),
    Kind.CONTACTS: (
        _SIRET_PORTEUR,
        _MOIS,
        _c("date", "date", "Date", "date", "Date ", "DATE"),
        _c(
            "siret_acheteur",
            "siret",
            "SIRET acheteur",
            "siret_acheteur",
            "Siret Acheteur ",
            "SIRET_ACHETEUR",
        ),
        _c(
            "type_donneur_ordre",
            "enum",
            "Type de donneur d'ordre",
            "type_de_donneur_d_ordre",
            "type-de-donneur-d-ordre",
            "TYPE_DE_DONNEUR_D_ORDRE",
        ),
        _c("objet", "text", "Objet", "objet", "Objet ", "OBJET", droppable=True),
    ),
    Kind.PARTENARIATS: (
        _SIRET_PORTEUR,
        _MOIS,
        _c("date", "date", "Date", "date", "Date ", "DATE"),
        _c("partenaire", "text", "Partenaire", "partenaire", "Partenaire ", "PARTENAIRE"),
        _c(
            "siret_partenaire",
            "siret",
            "SIRET partenaire",
            "siret_partenaire",
            "Siret Partenaire",
            "SIRET_PARTENAIRE",
            droppable=True,
        ),
        _c(
            "type_partenaire",
            "enum",
            "Type de partenaire",
            "type_de_partenaire",
            "Type de Partenaire ",
            "TYPE_DE_PARTENAIRE",
        ),
        _c("objet", "text", "Objet", "objet", "Objet ", "OBJET", droppable=True),
    ),
    Kind.BILANS: (
        _SIRET_PORTEUR,
        _c(
            "num_convention",
            "text",
            "N° convention",
            "n°_convention",
            "N° Convention",
            "N°_CONVENTION",
        ),
        _c("millesime", "int", "Millésime", "millesime", "Millesime", "MILLESIME"),
        _c(
            "type_bilan",
            "enum",
            "Type de bilan",
            "type_de_bilan",
            "Type de Bilan ",
            "TYPE_DE_BILAN",
        ),
        _c(
            "date_bilan", "date", "Date du bilan", "date_du_bilan", "Date du Bilan", "DATE_DU_BILAN"
        ),
        _c(
            "heures_insertion",
            "num",
            "Heures d'insertion",
            "heures_d_insertion",
            "Heures d insertion",
            "HEURES_D_INSERTION",
        ),
        _c(
            "beneficiaires",
            "num",
            "Bénéficiaires",
            "beneficiaires",
            "Beneficiaires ",
            "BENEFICIAIRES",
        ),
        _c(
            "beneficiaires_etp",
            "num",
            "Bénéficiaires ETP",
            "beneficiaires_etp",
            "Beneficiaires-ETP",
            "BENEFICIAIRES_ETP",
        ),
        _c(
            "structures_inclusives",
            "num",
            "Structures inclusives",
            "structures_inclusives",
            "Structures Inclusives",
            "STRUCTURES_INCLUSIVES",
        ),
        _c(
            "contacts_acheteurs",
            "num",
            "Contacts acheteurs",
            "contacts_acheteurs",
            "Contacts Acheteurs",
            "CONTACTS_ACHETEURS",
        ),
        _c(
            "marches_accompagnes",
            "num",
            "Marchés accompagnés",
            "marches_accompagnes",
            "Marches accompagnes",
            "MARCHES_ACCOMPAGNES",
        ),
        _c("partenariats", "num", "Partenariats", "partenariats", "Partenariats ", "PARTENARIATS"),
        _c(
            "bilan_qualitatif",
            "text",
            "Bilan qualitatif",
            "bilan_qualitatif",
            "Bilan Qualitatif",
            "BILAN_QUALITATIF",
            droppable=True,
        ),
    ),
    Kind.CONVENTIONS: (
        _c(
            "num_convention",
            "text",
            "N° convention",
            "n°_convention",
            "N° Convention",
            "N°_CONVENTION",
        ),
        _c("millesime", "int", "Millésime", "millesime", "Millesime", "MILLESIME"),
        _c("code_region", "code", "Code région", "code_region", "Code Region ", "CODE_REGION"),
        _SIRET_PORTEUR,
        _c(
            "raison_sociale",
            "text",
            "Raison sociale",
            "raison_sociale",
            "Raison Sociale",
            "RAISON_SOCIALE",
        ),
        _c(
            "categorie_juridique",
            "int",
            "Catégorie juridique",
            "categorie_juridique",
            "Categorie juridique ",
            "CATEGORIE_JURIDIQUE",
        ),
        _c("volet", "enum", "Volet", "volet", "Volet ", "VOLET"),
        _c(
            "etp_conventionnes",
            "num",
            "ETP conventionnés",
            "etp_conventionnes",
            "ETP Conventionnes",
            "ETP_CONVENTIONNES",
        ),
        _c(
            "date_debut", "date", "Date de début", "date_de_debut", "Date de Debut", "DATE_DE_DEBUT"
        ),
        _c("date_fin", "date", "Date de fin", "date_de_fin", "Date de Fin ", "DATE_DE_FIN"),
        _c(
            "date_recrutement",
            "date",
            "Date de recrutement",
            "date_de_recrutement",
            "Date de Recrutement",
            "DATE_DE_RECRUTEMENT",
        ),
        _c("cout_total", "amount", "Coût total", "cout_total", "Cout Total", "COUT_TOTAL"),
        _c(
            "subvention_etat",
            "amount",
            "Subvention État",
            "subvention_etat",
            "Subvention Etat ",
            "SUBVENTION_ETAT",
        ),
        _c(
            "cofinancements",
            "amount",
            "Cofinancements",
            "cofinancements",
            "Cofinancements ",
            "COFINANCEMENTS",
        ),
        _c(
            "cofinanceurs",
            "text",
            "Cofinanceurs",
            "cofinanceurs",
            "Cofinanceurs ",
            "COFINANCEURS",
            droppable=True,
        ),
        _c(
            "financements_preexistants",
            "amount",
            "Financements préexistants",
            "financements_preexistants",
            "Financements Preexistants",
            "FINANCEMENTS_PREEXISTANTS",
        ),
        _c(
            "date_signature",
            "date",
            "Date de signature",
            "date_de_signature",
            "Date de Signature",
            "DATE_DE_SIGNATURE",
            droppable=True,
        ),
        _c(
            "avance_versee",
            "amount",
            "Avance versée",
            "avance_versee",
            "Avance Versee ",
            "AVANCE_VERSEE",
        ),
        _c("num_avenant", "int", "N° avenant", "n°_avenant", "N° Avenant", "N°_AVENANT"),
        _c(
            "objectif_heures",
            "num",
            "Objectif heures",
            "objectif_heures",
            "Objectif Heures",
            "OBJECTIF_HEURES",
        ),
        _c(
            "objectif_beneficiaires",
            "num",
            "Objectif bénéficiaires",
            "objectif_beneficiaires",
            "Objectif Beneficiaires",
            "OBJECTIF_BENEFICIAIRES",
        ),
        _c(
            "objectif_beneficiaires_etp",
            "num",
            "Objectif bénéficiaires ETP",
            "objectif_beneficiaires_etp",
            "Objectif Beneficiaires-ETP",
            "OBJECTIF_BENEFICIAIRES_ETP",
        ),
        _c(
            "objectif_structures_inclusives",
            "num",
            "Objectif structures inclusives",
            "objectif_structures_inclusives",
            "Objectif Structures Inclusives",
            "OBJECTIF_STRUCTURES_INCLUSIVES",
        ),
        _c(
            "objectif_contacts_acheteurs",
            "num",
            "Objectif contacts acheteurs",
            "objectif_contacts_acheteurs",
            "Objectif Contacts Acheteurs",
            "OBJECTIF_CONTACTS_ACHETEURS",
        ),
        _c(
            "objectif_marches_accompagnes",
            "num",
            "Objectif marchés accompagnés",
            "objectif_marches_accompagnes",
            "Objectif Marches Accompagnes",
            "OBJECTIF_MARCHES_ACCOMPAGNES",
        ),
        _c(
            "objectif_partenariats",
            "num",
            "Objectif partenariats",
            "objectif_partenariats",
            "Objectif Partenariats",
            "OBJECTIF_PARTENARIATS",
        ),
    ),
}

# Row tuples follow the column order of HEADERS; a few indices are used by name.
_H = {c.key: i for i, c in enumerate(HEADERS[Kind.HEURES])}
_HI_PARTICIPANT = _H["id_participant"]
_HI_HOURS = _H["heures_realisees"]
_HI_SEXE = _H["sexe"]
_HI_ANNEE = _H["annee_naissance"]
_HI_EMP = _H["siret_employeur"]
_HI_EMP_TYPE = _H["type_employeur"]

# Unknown columns, personal-data columns (contract §3: dropped at reading)
_EXTRA_HEADERS = ("Commentaire", "Référent interne", "Code analytique", "Statut dossier")
_EXTRA_VALUES = ("", "RAS", "", "à vérifier", "", "", "vu")
_PERSONAL_HEADERS = ("Nom", "Prénom", "Date de naissance", "Courriel")

KIND_SLUG: dict[Kind, str] = {
    Kind.HEURES: "heures",
    Kind.MARCHES: "marches",
    Kind.CONTACTS: "contacts",
    Kind.PARTENARIATS: "partenariats",
    Kind.BILANS: "bilans",
    Kind.CONVENTIONS: "conventions",
}
_ACTIVITY: tuple[Kind, ...] = (Kind.HEURES, Kind.MARCHES, Kind.CONTACTS, Kind.PARTENARIATS)

# Sheet names: canonical, other case/accents (still recognised by name), other (by columns)
_SHEET_NAMES: dict[Kind, tuple[str, str, str]] = {
    Kind.HEURES: ("Heures", "HEURES", "Export heures"),
    Kind.MARCHES: ("Marchés", "MARCHES", "Suivi des marchés"),
    Kind.CONTACTS: ("Contacts", "contacts", "Contacts acheteurs"),
    Kind.PARTENARIATS: ("Partenariats", "PARTENARIATS", "Feuil4"),
    Kind.BILANS: ("Bilans", "BILANS", "Bilan"),
    Kind.CONVENTIONS: ("Conventions", "CONVENTIONS", "Registre"),
}

# --------------------------------------------------------------------------------------------
# Reference data: regions, towns, names
# --------------------------------------------------------------------------------------------

# code: (structures at scale 1, delivery shape, period, presets)
_REGION_PLAN: dict[str, tuple[int, str, str, tuple[str, ...]]] = {
    "01": (3, "structure", "quarter", ("xlsx",)),
    "02": (3, "structure", "month", ("cp1252",)),
    "03": (2, "structure", "quarter", ("utf8bom",)),
    "04": (5, "structure", "month", ("xlsx", "tab")),
    "06": (2, "structure", "quarter", ("tab",)),
    "11": (40, "region", "month", ("xlsx",)),
    "24": (10, "structure", "quarter", ("xlsx", "cp1252")),
    "27": (10, "region", "month", ("cp1252",)),
    "28": (12, "structure", "quarter", ("xlsx", "utf8bom")),
    "32": (24, "region", "month", ("tab",)),
    "44": (20, "region", "month", ("cp1252",)),
    "52": (16, "structure", "quarter", ("nnbsp",)),
    "53": (12, "structure", "quarter", ("xlsx",)),
    "75": (24, "region", "month", ("utf8bom",)),
    "76": (24, "region", "month", ("xlsx_split",)),
    "84": (28, "structure", "quarter", ("cp1252", "xlsx", "tab", "nnbsp")),
    "93": (18, "region", "month", ("xlsx",)),
    "94": (2, "structure", "month", ("cp1252",)),
}

_TOWNS: dict[str, tuple[str, ...]] = {
    "01": ("Pointe-à-Pitre", "Les Abymes", "Basse-Terre", "Baie-Mahault", "Le Gosier"),
    "02": ("Fort-de-France", "Le Lamentin", "Schœlcher", "Le Robert", "Sainte-Marie"),
    "03": ("Cayenne", "Kourou", "Saint-Laurent-du-Maroni", "Matoury"),
    "04": ("Saint-Denis", "Saint-Pierre", "Le Port", "Saint-Paul", "Le Tampon"),
    "06": ("Mamoudzou", "Koungou", "Dzaoudzi"),
    "11": (
        "Paris",
        "Saint-Denis",
        "Créteil",
        "Nanterre",
        "Évry-Courcouronnes",
        "Cergy",
        "Versailles",
        "Montreuil",
        "Argenteuil",
        "Meaux",
        "Aubervilliers",
        "Melun",
    ),
    "24": ("Orléans", "Tours", "Bourges", "Blois", "Chartres", "Châteauroux"),
    "27": ("Dijon", "Besançon", "Belfort", "Auxerre", "Chalon-sur-Saône", "Nevers", "Mâcon"),
    "28": ("Rouen", "Caen", "Le Havre", "Cherbourg-en-Cotentin", "Évreux", "Alençon"),
    "32": ("Lille", "Amiens", "Roubaix", "Dunkerque", "Lens", "Valenciennes", "Beauvais", "Calais"),
    "44": ("Strasbourg", "Reims", "Metz", "Mulhouse", "Nancy", "Troyes", "Colmar"),
    "52": ("Nantes", "Angers", "Le Mans", "Saint-Nazaire", "La Roche-sur-Yon", "Laval"),
    "53": ("Rennes", "Brest", "Lorient", "Quimper", "Saint-Brieuc", "Vannes"),
    "75": ("Bordeaux", "Limoges", "Poitiers", "La Rochelle", "Pau", "Angoulême", "Niort"),
    "76": ("Toulouse", "Montpellier", "Nîmes", "Perpignan", "Béziers", "Albi", "Tarbes"),
    "84": (
        "Lyon",
        "Grenoble",
        "Saint-Étienne",
        "Clermont-Ferrand",
        "Villeurbanne",
        "Annecy",
        "Valence",
        "Chambéry",
    ),
    "93": ("Marseille", "Nice", "Toulon", "Avignon", "Aix-en-Provence", "Cannes"),
    "94": ("Ajaccio", "Bastia", "Porto-Vecchio"),
}

# (name template, catégorie juridique, local authority, weight)
_STRUCTURE_TYPES: tuple[tuple[str, str, bool, float], ...] = (
    ("PLIE de {t}", "9220", False, 0.20),
    ("Maison de l'emploi de {t}", "9220", False, 0.15),
    ("Association Insertion et Emploi {t}", "9220", False, 0.10),
    ("Commune de {t}", "7210", True, 0.08),
    ("Département – antenne de {t}", "7220", True, 0.06),
    ("Communauté d'agglomération de {t}", "7348", True, 0.10),
    ("Communauté de communes du Pays de {t}", "7346", True, 0.06),
    ("Métropole de {t}", "7344", True, 0.05),
    ("GIP Emploi Insertion {t}", "7410", False, 0.12),
    ("Agence publique pour l'emploi de {t}", "7389", False, 0.08),
)

_COFINANCEURS = (
    "Conseil départemental",
    "Commune",
    "Communauté d'agglomération",
    "FSE+",
    "Région",
    "Métropole",
    "Bailleurs sociaux",
    "Caisse des dépôts",
)
_BUYER_TYPE_WEIGHTS = (8, 7, 35, 14, 14, 6, 6, 6, 4)  # in TYPE_DONNEUR_ORDRE order
_BUYER_NAMES = {
    "État": "Préfecture",
    "Établissement public de l'État": "Université",
    "Collectivité territoriale": "Ville",
    "Établissement public local": "Syndicat mixte",
    "Bailleur social": "Office public de l'habitat",
    "Établissement de santé": "Centre hospitalier",
    "Entreprise publique": "Société publique locale",
    "Acheteur privé": "Promoteur",
    "Autre": "Association",
}
_EMPLOYER_TYPE_WEIGHTS = {
    "Entreprise": 60,
    "ETT": 8,
    "EI": 6,
    "ETTI": 8,
    "AI": 4,
    "ACI": 5,
    "EA": 3,
    "ESAT": 2,
    "GEIQ": 4,
}
_MODALITE_BY_EMPLOYER: dict[str, tuple[tuple[str, int], ...]] = {
    "Entreprise": (
        ("CDD", 40),
        ("CDI", 20),
        ("Apprentissage", 10),
        ("Contrat de professionnalisation", 8),
        ("Formation", 4),
        ("Autre", 3),
    ),
    "ETT": (("Intérim", 1),),
    "EI": (("Contrat d'insertion SIAE", 1),),
    "ACI": (("Contrat d'insertion SIAE", 1),),
    "ETTI": (("Mise à disposition ETTI", 1),),
    "AI": (("Mise à disposition AI", 1),),
    "EA": (("CDD", 3), ("CDI", 2)),
    "ESAT": (("Autre", 1), ("CDD", 1)),
    "GEIQ": (("Contrat de professionnalisation", 3), ("Apprentissage", 1)),
}
_PUBLIC_WEIGHTS = (30, 25, 5, 5, 8, 20, 8, 15, 6, 3)  # in PUBLIC_PRIORITAIRE order
_MARKET_OBJETS = {
    "Travaux": (
        "Réhabilitation du groupe scolaire {t}",
        "Construction d'un gymnase à {t}",
        "Rénovation énergétique de 120 logements, {t}",
        "Voirie et réseaux divers, {t}",
        "Extension du tramway ; lot génie civil",
        'Démolition-reconstruction, quartier "les Tilleuls"',
    ),
    "Services": (
        "Nettoyage des locaux administratifs",
        "Entretien des espaces verts de {t}",
        "Collecte des déchets ménagers",
        "Restauration scolaire, {t}",
        "Gardiennage",
        "Blanchisserie hospitalière",
    ),
    "Fournitures": (
        "Fourniture de mobilier scolaire",
        "Fourniture de repas",
        "Fourniture de vêtements de travail",
        "Fourniture de matériel informatique",
    ),
}
_CONTACT_OBJETS = (
    "Présentation de la démarche clauses",
    "Aide à la rédaction d'une clause",
    "Calibrage des heures d'insertion",
    "Réunion de lancement de chantier",
    "Suivi d'exécution",
    "Bilan de fin de marché",
    None,
    None,
)
_PARTNERS: tuple[tuple[str, str], ...] = (
    ("France Travail {t}", "Service public de l'emploi"),
    ("Mission locale de {t}", "Service public de l'emploi"),
    ("Cap emploi {t}", "Service public de l'emploi"),
    ("ACI Jardins de {t}", "SIAE"),
    ("ETTI Intérim Solidaire {t}", "SIAE"),
    ("ESAT Les Ateliers de {t}", "EA-ESAT"),
    ("GEIQ BTP {t}", "GEIQ"),
    ("AFPA {t}", "Organisme de formation"),
    ("GRETA {t}", "Organisme de formation"),
    ("Ville de {t}", "Collectivité"),
    ("Fédération du BTP, section {t}", "Entreprise"),
    ("CRESS, antenne de {t}", "Autre"),
)
_PARTNER_OBJETS = (
    "Convention de partenariat",
    "Job dating",
    "Information collective",
    "Parcours de formation",
    "Forum de l'emploi",
    None,
)
_NOMS = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "García",
    "N'Diaye",
)
_PRENOMS_F = ("Marie", "Fatou", "Léa", "Sarah", "Nadia", "Chloé", "Inès", "Julie")
_PRENOMS_H = ("Karim", "Lucas", "Mamadou", "Hugo", "Yanis", "Théo", "Julien", "Nicolas")
_QUALITATIF = (
    "Montée en charge conforme ; forte mobilisation des bailleurs.",
    "Difficultés de recrutement sur le BTP, reprise au 2e semestre.",
    "Partenariat renforcé avec France Travail et les SIAE du territoire.",
    'Nouveaux acheteurs : hôpital, "SPL Aménagement", syndicat des eaux.',
    None,
)
_SEASON = {
    1: 0.9,
    2: 1.0,
    3: 1.05,
    4: 1.05,
    5: 1.0,
    6: 1.05,
    7: 0.85,
    8: 0.55,
    9: 1.0,
    10: 1.1,
    11: 1.05,
    12: 0.85,
}
_MEAN_ROW_HOURS = 10 + 141 * 1.4 / 3.4  # expectation of the hours drawn per row
_ROWS_PER_PARTICIPANT_MONTH = 1.35  # several missions in a month

# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass
class _Buyer:
    siret: str
    type: str
    name: str


@dataclass
class _Employer:
    siret: str
    type: str


@dataclass
class _Market:
    buyer: _Buyer
    num: str
    lot: str
    code_op: str
    objet: str
    nature: str
    clause: str
    montant: int  # cents
    heures_prevues: float
    notification: date | None
    grand_projet: str | None
    start: int
    end: int
    employers: list[_Employer]


@dataclass
class _ConvRow:
    """One row of a conventions register (one avenant of one strand)."""

    num: str
    millesime: int
    region: str
    volet: str
    etp: float
    debut: date
    fin: date
    recrut: date | None
    cout: int
    subv: int
    cofi: int
    cofinanceurs: str | None
    preexist: int | None
    signature: date | None
    avance: int
    avenant: int
    objectives: tuple[float, ...] | None


@dataclass
class _Strand:
    row: _ConvRow  # the millésime's first row
    amendment: _ConvRow | None = None
    amendment_date: date | None = None

    @property
    def last(self) -> _ConvRow:
        return self.amendment or self.row


@dataclass
class _Structure:
    code: str
    region: str
    index: int
    siret: str
    raison: str
    cat: str
    local: bool
    town: str
    strands: list[_Strand] = field(default_factory=list)
    prod: float = 0.0
    preset: str = ""
    data: dict[Kind, dict[int, list[tuple[Any, ...]]]] = field(default_factory=dict)

    def fac(self) -> list[_Strand]:
        return [s for s in self.strands if s.row.volet == "facilitateur"]

    def months_with_data(self) -> list[int]:
        months: set[int] = set()
        for per_month in self.data.values():
            months.update(m for m, rows in per_month.items() if rows)
        return sorted(months)


@dataclass
class _Unit:
    """One delivery: the activity of some structures over some months, in one receipt."""

    folder: str
    receipt: date
    months: list[int]
    structures: list[_Structure]
    preset: str
    shape: str  # region | structure
    label: str  # period label for file names
    period: str = "month"  # month | quarter


# --------------------------------------------------------------------------------------------
# File styles (contract §3 variants)
# --------------------------------------------------------------------------------------------


@dataclass
class _Style:
    preset: str
    fmt: str  # csv | xlsx
    encoding: str = "utf-8"
    sep: str = ";"
    dec: str = ","
    th: str = ""
    eol: str = "\n"
    date_fmt: str = "dmy"  # dmy | iso | cell
    month_fmt: str = "ym"  # ym | my | date_dmy | date_iso | cell
    list_sep: str = "|"
    header_mode: int = 0  # 0-3 one variant for all columns, 4 mixed
    enum_mode: int = -1  # -1: canonical values
    siret_mode: str = "plain"  # plain | spaces | lost_zeros | number
    extra_col: bool = False
    personal: bool = False
    upper_ext: bool = False
    shuffle_cols: bool = False
    drop_optional: bool = False
    title_rows: int = 0
    total_row: bool = False
    blank_rows: bool = False
    numbers_as_text: bool = False
    formulas: bool = False
    notes_sheet: bool = False
    sheet_names: int = 0  # index in _SHEET_NAMES
    header_only: bool = False

    def tags(self, kinds: Iterable[Kind]) -> list[str]:
        """Variant classes this file carries (for GenerateSummary.variants)."""
        kinds = list(kinds)
        big_numbers = any(k in (Kind.MARCHES, Kind.BILANS, Kind.CONVENTIONS) for k in kinds)
        tags: list[str] = []
        if self.fmt == "csv":
            tags.append(
                {"cp1252": "csv_cp1252", "utf-8-sig": "csv_utf8_bom", "utf-8": "csv_utf8"}[
                    self.encoding
                ]
            )
            tags.append(
                {";": "csv_sep_semicolon", ",": "csv_sep_comma", "\t": "csv_sep_tab"}[self.sep]
            )
            tags.append("decimal_comma" if self.dec == "," else "decimal_point")
            if big_numbers and self.th:
                tags.append(
                    {
                        " ": "thousands_space",
                        "\u00a0": "thousands_nbsp",
                        "\u202f": "thousands_nnbsp",
                    }[self.th]
                )
            if self.eol == "\r\n":
                tags.append("csv_crlf")
            if self.siret_mode == "lost_zeros":
                tags.append("siret_lost_zeros_text")
        else:
            tags.append("xlsx")
            if self.title_rows:
                tags.append("xlsx_title_rows")
            if self.total_row:
                tags.append("xlsx_total_row")
            if self.blank_rows:
                tags.append("xlsx_blank_rows")
            if self.numbers_as_text:
                tags.append("xlsx_numbers_as_text")
            if self.formulas and (Kind.HEURES in kinds or Kind.BILANS in kinds):
                tags.append("xlsx_formula_cells")
            if self.notes_sheet:
                tags.append("xlsx_notes_sheet")
            if self.siret_mode == "number":
                tags.append("xlsx_siret_as_number")
            tags.append(
                "xlsx_sheet_"
                + ("canonical_name", "name_case_variant", "recognised_by_columns")[self.sheet_names]
            )
        if self.fmt == "xlsx" and self.date_fmt == "cell":
            tags.append("xlsx_date_cells")
        else:
            tags.append("date_" + self.date_fmt)
            if self.fmt == "xlsx":
                tags.append("xlsx_text_dates")
        if any(k in _ACTIVITY for k in kinds):
            tags.append("month_" + self.month_fmt)
        if self.header_mode:
            tags.append("header_spelling_variants")
        if self.enum_mode >= 0:
            tags.append("enum_case_accent_variants")
        if self.siret_mode == "spaces":
            tags.append("siret_with_spaces")
        if self.extra_col:
            tags.append("unknown_extra_column")
        if self.personal and Kind.HEURES in kinds:
            tags.append("personal_data_columns")
        if self.upper_ext:
            tags.append("upper_case_extension")
        if self.shuffle_cols:
            tags.append("column_order_shuffled")
        if self.drop_optional:
            tags.append("optional_columns_absent")
        if self.list_sep == "," and Kind.HEURES in kinds:
            tags.append("public_list_comma")
        return tags


_CSV_PRESETS: dict[str, _Style] = {
    "cp1252": _Style("cp1252", "csv", encoding="cp1252", sep=";", dec=",", eol="\r\n"),
    "utf8bom": _Style("utf8bom", "csv", encoding="utf-8-sig", sep=",", dec=".", th=""),
    "tab": _Style("tab", "csv", encoding="utf-8", sep="\t", dec=","),
    "nnbsp": _Style("nnbsp", "csv", encoding="utf-8", sep=";", dec=",", th="\u202f"),
}


def _make_style(preset: str, k: int, *, region: str = "") -> _Style:
    """The k-th file style of a preset: flags cycle so that every variant appears early."""
    if preset in _CSV_PRESETS:
        st = dataclasses.replace(_CSV_PRESETS[preset])
        if preset == "cp1252":
            st.th = (" ", "\u00a0", "")[k % 3]
        elif preset == "tab":
            st.dec = (",", ".")[k % 2]
        st.date_fmt = ("dmy", "iso")[k % 2]
        st.month_fmt = ("ym", "my", "date_dmy", "ym", "date_iso")[k % 5]
        st.siret_mode = ("plain", "plain", "spaces", "lost_zeros")[k % 4]
        st.upper_ext = region == "44" or k % 13 == 5
    else:
        st = _Style(preset=preset, fmt="xlsx")
        st.date_fmt = ("cell", "dmy", "cell", "iso")[k % 4]
        st.month_fmt = ("cell", "ym", "my", "cell", "date_dmy")[k % 5]
        st.siret_mode = ("number", "plain", "number", "spaces")[k % 4]
        st.title_rows = (0, 3, 1, 10, 5, 0, 2)[k % 7]
        st.total_row = k % 2 == 0
        st.blank_rows = k % 3 == 1
        st.numbers_as_text = k % 4 == 3
        st.formulas = k % 5 == 2
        st.notes_sheet = k % 3 == 0
        st.sheet_names = (0, 2, 1)[k % 3]
        st.upper_ext = k % 17 == 8
    st.header_mode = (0, 1, 2, 3, 4)[k % 5]
    st.enum_mode = (k // 3) % 5 if k % 3 == 1 else -1
    st.extra_col = k % 4 == 2
    st.personal = k % 19 == 3
    st.shuffle_cols = k % 7 == 4
    st.drop_optional = k % 6 == 5
    st.list_sep = ("|", ",")[k % 2]
    st.header_only = k % 9 == 0
    return st


def _fmt_number(x: float, dec: str, th: str, ndigits: int | None = None) -> str:
    if ndigits is None:
        if x == int(x):
            s = f"{int(x):,d}"
        else:
            s = f"{x:,.2f}".rstrip("0")
    else:
        s = f"{x:,.{ndigits}f}"
    return s.replace(",", "\x00").replace(".", dec).replace("\x00", th)


def _enum_tx(value: str, mode: int) -> str:
    if mode == 0:
        return value.lower()  # "cdi"
    if mode == 1:
        return _strip_accents(value).upper()  # "INTERIM"
    if mode == 2:
        return _strip_accents(value).lower()  # "collectivite territoriale"
    if mode == 3:
        return f" {value} "
    return value.upper()  # "INTÉRIM"


def _siret_text(siret: str, mode: str) -> str:
    if mode == "spaces":
        return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    if mode in ("lost_zeros", "number"):
        return str(int(siret))
    return siret


def _month_text(m: int, mode: str) -> str:
    y, mo = m // 12, m % 12 + 1
    if mode == "my":
        return f"{mo:02d}/{y:04d}"
    if mode == "date_dmy":
        return f"01/{mo:02d}/{y:04d}"
    if mode == "date_iso":
        return f"{y:04d}-{mo:02d}-01"
    return f"{y:04d}-{mo:02d}"


def _date_text(d: date, mode: str) -> str:
    return d.isoformat() if mode == "iso" else d.strftime("%d/%m/%Y")


def _text_base(ctype: str, style: _Style) -> Callable[[Any], str]:
    """Raw value -> its text form in a file of this style."""
    if ctype == "siret":
        mode = style.siret_mode
        return lambda v: _siret_text(v, mode)
    if ctype == "month":
        mode = "date_dmy" if style.month_fmt == "cell" else style.month_fmt
        return lambda v: _month_text(v, mode)
    if ctype == "date":
        mode = "dmy" if style.date_fmt == "cell" else style.date_fmt
        return lambda v: _date_text(v, mode)
    if ctype == "num":
        dec, th = style.dec, style.th
        return lambda v: _fmt_number(v, dec, th)
    if ctype == "amount":
        dec, th = style.dec, style.th
        return lambda v: _fmt_number(v / 100, dec, th, 2)
    if ctype == "enum":
        if style.enum_mode < 0:
            return str
        enum_mode = style.enum_mode
        return lambda v: _enum_tx(v, enum_mode)
    if ctype == "list":
        joiner, list_mode = style.list_sep, style.enum_mode
        if list_mode < 0:
            return lambda v: joiner.join(v)
        return lambda v: joiner.join(_enum_tx(x, list_mode).strip() for x in v)
    return str


def _csv_cell(ctype: str, style: _Style) -> Callable[[Any], str]:
    """Raw value -> CSV field (quoted when needed), memoised."""
    base = _text_base(ctype, style)
    sep = style.sep
    cache: dict[Any, str] = {}

    def cell(v: Any) -> str:
        if v is None:
            return ""
        out = cache.get(v)
        if out is None:
            out = base(v)
            if sep in out or '"' in out or "\n" in out:
                out = '"' + out.replace('"', '""') + '"'
            cache[v] = out
        return out

    return cell


# A column of an output table: header, type, value getter
_OutCol = tuple[str, str, Callable[[tuple[Any, ...]], Any]]


def _personal_getters() -> list[_OutCol]:
    def parts(row: tuple[Any, ...]) -> tuple[str, str, date, str]:
        n = int(str(row[_HI_PARTICIPANT]).rsplit("-", 1)[1])
        nom = _NOMS[(n * 7) % len(_NOMS)]
        prenoms = _PRENOMS_F if row[_HI_SEXE] == "F" else _PRENOMS_H
        prenom = prenoms[(n * 3) % len(prenoms)]
        born = date(row[_HI_ANNEE] or 1985, n % 12 + 1, n % 28 + 1)
        mail = _strip_accents(f"{prenom}.{nom}{n % 100}@exemple.fr").lower().replace("'", "")
        return nom, prenom, born, mail

    return [
        ("Nom", "text", lambda r: parts(r)[0]),
        ("Prénom", "text", lambda r: parts(r)[1]),
        ("Date de naissance", "date", lambda r: parts(r)[2]),
        ("Courriel", "text", lambda r: parts(r)[3]),
    ]


def _layout(kind: Kind, style: _Style, k: int) -> list[_OutCol]:
    """The output columns of a table of `kind` in a file of `style`."""
    out: list[_OutCol] = []
    cols = [
        (i, c) for i, c in enumerate(HEADERS[kind]) if not (style.drop_optional and c.droppable)
    ]
    for j, (i, col) in enumerate(cols):
        mode = style.header_mode if style.header_mode < 4 else j % 4
        out.append((col.headers[mode], col.ctype, itemgetter(i)))
        if kind is Kind.HEURES and style.personal and col.key == "id_participant":
            out.extend(_personal_getters())
    if style.extra_col:
        values = itertools.cycle(_EXTRA_VALUES)
        header = _EXTRA_HEADERS[(k // 4) % len(_EXTRA_HEADERS)]
        out.insert(min(3, len(out)), (header, "text", lambda _r: next(values) or None))
    if style.shuffle_cols:
        out = out[1::2] + out[0::2]
    return out


def _csv_bytes(kind: Kind, rows: Sequence[tuple[Any, ...]], style: _Style, k: int) -> bytes:
    layout = _layout(kind, style, k)
    sep = style.sep
    header_cell = _csv_cell("text", style)
    lines = [sep.join(header_cell(h) for h, _t, _g in layout)]
    pairs = [(_csv_cell(t, style), g) for _h, t, g in layout]
    for row in rows:
        lines.append(sep.join([f(g(row)) for f, g in pairs]))
    text = style.eol.join(lines) + style.eol
    return text.encode(style.encoding)


def _xlsx_num_literal(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


class _XlsxSheetWriter:
    """Writes one table into one worksheet with the variants of a style."""

    def __init__(self, wb: xlsxwriter.Workbook, style: _Style) -> None:
        self.wb = wb
        self.style = style
        self.f_date = wb.add_format({"num_format": "dd/mm/yyyy"})
        self.f_month = wb.add_format({"num_format": "mm/yyyy"})
        self.f_money = wb.add_format({"num_format": "#,##0.00"})
        self.f_head = wb.add_format({"bold": True})
        self.f_title = wb.add_format({"bold": True, "font_size": 13})

    def _cell_fn(self, ws: Any, ctype: str) -> Callable[[int, int, Any], None]:
        st = self.style
        text = _text_base(ctype, st)
        french = _Style(preset="x", fmt="csv", dec=",", th=" ")
        if ctype == "siret":
            if st.siret_mode == "number":
                return lambda r, c, v: ws.write_number(r, c, int(v))
            return lambda r, c, v: ws.write_string(r, c, text(v))
        if ctype == "month":
            if st.month_fmt == "cell":
                f = self.f_month
                return lambda r, c, v: ws.write_datetime(r, c, _month_start(v), f)
            return lambda r, c, v: ws.write_string(r, c, text(v))
        if ctype == "date":
            if st.date_fmt == "cell":
                f = self.f_date
                return lambda r, c, v: ws.write_datetime(r, c, v, f)
            return lambda r, c, v: ws.write_string(r, c, text(v))
        if ctype in ("num", "amount", "int"):
            scale = 100 if ctype == "amount" else 1
            fmt = self.f_money if ctype == "amount" else None
            as_text = str if ctype == "int" else _text_base(ctype, french)
            numbers_as_text, formulas = st.numbers_as_text, st.formulas and ctype == "num"

            def write_num(r: int, c: int, v: Any) -> None:
                if numbers_as_text and r % 7 == 3:
                    ws.write_string(r, c, as_text(v))
                elif formulas and r % 29 == 5 and v >= 2:
                    x = v / scale
                    a = math.floor(x / 2)
                    ws.write_formula(r, c, f"={a}+{_xlsx_num_literal(x - a)}", fmt, x)
                else:
                    ws.write_number(r, c, v / scale, fmt)

            return write_num
        return lambda r, c, v: ws.write_string(r, c, text(v))

    def write(
        self, ws: Any, kind: Kind, rows: Sequence[tuple[Any, ...]], k: int, titles: Sequence[str]
    ) -> None:
        st = self.style
        layout = _layout(kind, st, k)
        r = 0
        for line in titles[: st.title_rows]:
            if line:
                ws.write_string(r, 0, line, self.f_title)
            r += 1
        for c, (header, _t, _g) in enumerate(layout):
            ws.write_string(r, c, header, self.f_head)
        r += 1
        if st.blank_rows:
            r += 1
        first = r
        writers = [(c, self._cell_fn(ws, t), g) for c, (_h, t, g) in enumerate(layout)]
        for i, row in enumerate(rows):
            if st.blank_rows and i and i % 97 == 0:
                r += 1
            for c, w, g in writers:
                v = g(row)
                if v is not None:
                    w(r, c, v)
            r += 1
        if st.total_row and rows:
            last = r - 1
            if st.blank_rows:
                r += 1
            ws.write_string(r, 0, ("Total", "TOTAL GÉNÉRAL", "Total général")[k % 3])
            for c, (_h, t, g) in enumerate(layout):
                if c == 0 or t not in ("num", "amount"):
                    continue
                values = [g(row) for row in rows]
                total = sum(v for v in values if v is not None)
                if t == "amount":
                    total = total / 100
                col = xl_col_to_name(c)
                ws.write_formula(
                    r,
                    c,
                    f"=SUM({col}{first + 1}:{col}{last + 1})",
                    self.f_money if t == "amount" else None,
                    round(total, 2),
                )


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


@dataclass
class GenerateSummary:
    """What `generate_sample` wrote.

    - ``files``: number of files written (defect files included);
    - ``rows_per_kind``: data rows written per kind (French kind name) in the non-defect files,
      superseded copies, corrections and re-sent copies included;
    - ``hours``: total Heures réalisées of the rows that are the truth once every correction is
      applied (what a complete load must count);
    - ``strands``: distinct (N° convention, Millésime) in the registers;
    - ``regions``: region folders written;
    - ``defects``: relative path (from ``landing_dir``) of each defect file -> expected outcome,
      ``"quarantined"`` or ``"refused"`` (only with ``defects=True``);
    - ``variants``: variant class -> relative paths of (at most 25) files carrying it.
    """

    files: int
    rows_per_kind: dict[str, int]
    hours: float
    strands: int
    regions: int
    defects: dict[str, str] = field(default_factory=dict)
    variants: dict[str, list[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, landing: Path, scale: float, seed: int) -> None:
        self.landing = landing
        self.scale = scale
        self.seed = seed
        self.sirets = _Sirets(_sub_rng(seed, "sirets"))
        self.structures: list[_Structure] = []
        self.by_region: dict[str, list[_Structure]] = {}
        self.buyers: dict[str, list[_Buyer]] = {}
        self.la_poste: list[_Buyer] = []
        self.units: list[_Unit] = []
        self.perturbed: dict[tuple[Kind, str, int], list[tuple[Any, ...]]] = {}
        self.unit_of: dict[tuple[str, int], _Unit] = {}
        self.first_names: dict[tuple[int, Kind], str] = {}
        # output bookkeeping
        self.names: set[tuple[str, str, str]] = set()
        self.files = 0
        self.rows: dict[str, int] = {k.value: 0 for k in Kind}
        self.variants: dict[str, list[str]] = {}
        self.style_counters: dict[str, int] = {}
        self.defects: dict[str, str] = {}

    # ---- output -----------------------------------------------------------------------------

    def _style(self, preset: str, region: str = "") -> tuple[_Style, int]:
        k = self.style_counters.get(preset, 0)
        self.style_counters[preset] = k + 1
        return _make_style(preset, k, region=region), k

    def _tag(self, rel: str, tags: Iterable[str]) -> None:
        for tag in tags:
            paths = self.variants.setdefault(tag, [])
            if len(paths) < 25:
                paths.append(rel)

    def _path(self, folder: str, receipt: date, name: str) -> tuple[Path, str]:
        if receipt > LAST_RECEIPT or receipt < FIRST_RECEIPT:
            raise AssertionError(f"receipt date out of range: {receipt}")
        day = receipt.isoformat()
        stem, dot, ext = name.rpartition(".")
        n = 1
        while (folder, day, name.casefold()) in self.names:
            n += 1
            name = f"{stem}_{n}{dot}{ext}"
        self.names.add((folder, day, name.casefold()))
        rel = f"{folder}/{day}/{name}"
        path = self.landing / folder / day / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel

    def _ext(self, style: _Style) -> str:
        ext = "csv" if style.fmt == "csv" else "xlsx"
        return ext.upper() if style.upper_ext else ext

    def write_csv(
        self,
        folder: str,
        receipt: date,
        stem: str,
        kind: Kind,
        rows: Sequence[tuple[Any, ...]],
        style: _Style,
        k: int,
        extra_tags: Sequence[str] = (),
        count: bool = True,
    ) -> tuple[str, bytes]:
        data = _csv_bytes(kind, rows, style, k)
        path, rel = self._path(folder, receipt, f"{stem}.{self._ext(style)}")
        path.write_bytes(data)
        self.files += 1
        if count:
            self.rows[kind.value] += len(rows)
            self._tag(rel, [*style.tags([kind]), *extra_tags])
            if not rows:
                self._tag(rel, ["header_only_file"])
        return rel, data

    def write_xlsx(
        self,
        folder: str,
        receipt: date,
        stem: str,
        sheets: Sequence[tuple[Kind, Sequence[tuple[Any, ...]]]],
        style: _Style,
        k: int,
        titles: Sequence[str],
        extra_tags: Sequence[str] = (),
        count: bool = True,
    ) -> str:
        path, rel = self._path(folder, receipt, f"{stem}.{self._ext(style)}")
        big = sum(len(rows) for _k, rows in sheets) > 2000
        options = {"constant_memory": True} if big else {"in_memory": True}
        wb = xlsxwriter.Workbook(str(path), options)
        created = datetime(receipt.year, receipt.month, receipt.day, 7, 30, 0)
        wb.set_properties({"title": stem, "author": "ABC Clauses", "created": created})
        writer = _XlsxSheetWriter(wb, style)
        if style.notes_sheet and k % 2 == 0:
            self._notes(wb, receipt)
        for kind, rows in sheets:
            name = _SHEET_NAMES[kind][style.sheet_names]
            ws = wb.add_worksheet(name)
            writer.write(ws, kind, rows, k, titles)
            if count:
                self.rows[kind.value] += len(rows)
        if style.notes_sheet and k % 2 == 1:
            self._notes(wb, receipt)
        wb.close()
        self.files += 1
        if count:
            kinds = [kd for kd, _r in sheets]
            tags = [*style.tags(kinds), *extra_tags]
            if len(sheets) > 1:
                tags.append("xlsx_several_kinds")
            if any(not rows for _k, rows in sheets):
                tags.append("header_only_sheet")
            self._tag(rel, tags)
        return rel

    @staticmethod
    def _notes(wb: xlsxwriter.Workbook, receipt: date) -> None:
        ws = wb.add_worksheet("Notes")
        lines = (
            "Données extraites de l'outil de suivi des clauses sociales.",
            f"Extraction du {receipt:%d/%m/%Y}.",
            "Les heures sont déclarées par les entreprises attributaires.",
            "Contact : cellule clauses sociales de la structure.",
        )
        for i, line in enumerate(lines):
            ws.write_string(i, 0, line)

    # ---- world ------------------------------------------------------------------------------

    def build_world(self) -> None:
        rng = _sub_rng(self.seed, "world")
        for _ in range(3):
            self.la_poste.append(_Buyer(self.sirets.la_poste(), "Entreprise publique", "La Poste"))
        for region in sorted(REGIONS):
            weight = _REGION_PLAN[region][0]
            n = max(1, round(weight * self.scale))
            towns = _TOWNS[region]
            buyers = [self.la_poste[int(region) % len(self.la_poste)]]
            for _ in range(8 + 3 * n):
                btype = rng.choices(TYPE_DONNEUR_ORDRE, weights=_BUYER_TYPE_WEIGHTS)[0]
                name = f"{_BUYER_NAMES[btype]} {rng.choice(towns)}"
                buyers.append(
                    _Buyer(self.sirets.make(leading_zero=rng.random() < 0.05), btype, name)
                )
            self.buyers[region] = buyers
            structures: list[_Structure] = []
            names: set[str] = set()
            for i in range(n):
                template, cat, local, _w = rng.choices(
                    _STRUCTURE_TYPES, weights=[t[3] for t in _STRUCTURE_TYPES]
                )[0]
                town = towns[(i + rng.randint(0, len(towns) - 1)) % len(towns)]
                raison = template.format(t=town)
                j = 2
                while raison in names:
                    raison = f"{template.format(t=town)} ({j})"
                    j += 1
                names.add(raison)
                leading_zero = (i == 0 and region in ("11", "84", "53")) or rng.random() < 0.04
                s = _Structure(
                    code=f"{region}{i + 1:03d}",
                    region=region,
                    index=i,
                    siret=self.sirets.make(leading_zero=leading_zero),
                    raison=raison,
                    cat=cat,
                    local=local,
                    town=town,
                )
                self._make_strands(s, rng)
                structures.append(s)
            self.by_region[region] = structures
            self.structures.extend(structures)

    def _money(
        self, rng: random.Random, etp: float, local: bool, per_fte: float
    ) -> tuple[int, int, int]:
        cout = round(etp * per_fte) * 100  # whole euros, in cents
        num, den = (8, 10) if local else (7, 10)
        cap = cout * num // den
        u = rng.random()
        if u < 0.04:
            subv = round(cap * rng.uniform(1.03, 1.12))  # above the cap (R01)
        elif u < 0.35:
            subv = cap  # exactly at the cap: passes (bounds inclusive)
        else:
            subv = round(cap * rng.uniform(0.8, 1.0))
        cofi = cout - subv
        if rng.random() < 0.05:
            cofi = max(0, cofi - round(cout * rng.uniform(0.02, 0.1)))  # a gap (R02)
        return cout, subv, max(0, cofi)

    def _objectives(self, rng: random.Random) -> tuple[float, ...]:
        hours = round(rng.uniform(20000, 40000), -2)
        return (
            hours,
            float(rng.randint(30, 60)),
            round(hours / 1607 * rng.uniform(0.95, 1.05), 2),
            float(rng.randint(5, 15)),
            float(rng.randint(20, 60)),
            float(rng.randint(10, 30)),
            float(rng.randint(3, 10)),
        )

    def _make_strands(self, s: _Structure, rng: random.Random) -> None:
        forced = s.index == 0
        new_2025 = not forced and rng.random() < 0.08
        renewed = forced or (not new_2025 and rng.random() < 0.9)
        coord = (forced and s.region in ("11", "84", "32", "53")) or rng.random() < 0.22
        starts = [date(2024, mo, 1) for mo in range(1, 7)] + [date(2024, 2, 15), date(2024, 3, 15)]
        weights = [16, 12, 14, 12, 10, 12, 6, 6]
        debut24 = rng.choices(starts, weights=weights)[0]
        debut25_new = rng.choice([date(2025, mo, 1) for mo in range(1, 7)])
        etp_f = rng.choices((0.5, 0.8, 1.0, 1.5, 2.0, 3.0), weights=(14, 10, 40, 16, 15, 5))[0]
        etp_c = rng.choice((0.5, 0.8, 1.0))
        per_fte = rng.uniform(50000, 70000)
        preexist = round(rng.uniform(10000, 120000)) * 100 if rng.random() < 0.85 else None
        cofinanceurs = "; ".join(rng.sample(_COFINANCEURS, rng.randint(1, 3)))
        volets = [("facilitateur", etp_f, "F")] + ([("coordinateur", etp_c, "C")] if coord else [])
        for volet, etp0, suffix in volets:
            num = f"PNAD-{s.region}-{s.index + 1:04d}-{suffix}"
            objectives = (
                self._objectives(rng)
                if (volet == "facilitateur" and rng.random() < 0.9) or rng.random() < 0.1
                else None
            )
            recrut = self._recrutement(rng, debut24)
            previous: _Strand | None = None
            pre = preexist
            for millesime in MILLESIMES:
                if millesime == 2024 and new_2025:
                    continue
                if millesime == 2025 and not (renewed or new_2025):
                    continue
                if previous is not None:
                    debut = previous.row.fin + timedelta(days=1)
                    avenant = previous.last.avenant + 1  # the renewal is itself an avenant
                    if recrut is None:
                        recrut = (
                            _add_months(debut, rng.randint(1, 4)) if rng.random() < 0.6 else None
                        )
                    elif rng.random() < 0.08:  # the post was vacated and filled again
                        recrut = debut + timedelta(days=rng.randint(30, 120))
                    etp = etp0 if rng.random() < 0.8 else max(0.5, etp0 + rng.choice((-0.5, 0.5)))
                    per_fte *= rng.uniform(1.0, 1.04)
                    if pre is not None:
                        u = rng.random()
                        if u < 0.12:
                            pre = round(pre * rng.uniform(0.7, 0.95) / 100) * 100  # lower (R09)
                        elif u < 0.4:
                            pre = round(pre * rng.uniform(1.02, 1.1) / 100) * 100
                        elif u < 0.45:
                            pre = None
                    if objectives is not None:
                        objectives = tuple(
                            round(x * rng.uniform(0.95, 1.1), 2 if i == 2 else 0)
                            for i, x in enumerate(objectives)
                        )
                else:
                    debut = debut24 if millesime == 2024 else debut25_new
                    avenant = 0
                    etp = etp0
                    if millesime == 2025:
                        recrut = self._recrutement(rng, debut)
                if rng.random() < 0.025:
                    etp = 0.4  # below the 0.5 minimum (R03)
                fin = _add_months(debut, 12) - timedelta(days=1)
                cout, subv, cofi = self._money(rng, etp, s.local, per_fte)
                row = _ConvRow(
                    num=num,
                    millesime=millesime,
                    region=s.region,
                    volet=volet,
                    etp=etp,
                    debut=debut,
                    fin=fin,
                    recrut=recrut,
                    cout=cout,
                    subv=subv,
                    cofi=cofi,
                    cofinanceurs=cofinanceurs if rng.random() < 0.9 else None,
                    preexist=pre,
                    signature=(
                        debut - timedelta(days=rng.randint(5, 45)) if rng.random() < 0.85 else None
                    ),
                    avance=(subv + 1) // 2,
                    avenant=avenant,
                    objectives=objectives,
                )
                strand = _Strand(row)
                force_amendment = (
                    forced
                    and s.region in ("11", "24")
                    and millesime == 2024
                    and volet == "facilitateur"
                )
                if rng.random() < 0.09 or force_amendment:
                    self._amend(strand, rng, s.local, per_fte)
                s.strands.append(strand)
                previous = strand
        fac_obj = [st.last.objectives[0] for st in s.fac() if st.last.objectives]
        base = sum(fac_obj) / len(fac_obj) if fac_obj else rng.uniform(22000, 34000)
        s.prod = base * rng.uniform(0.7, 1.35)

    @staticmethod
    def _recrutement(rng: random.Random, debut: date) -> date | None:
        u = rng.random()
        if u < 0.68:
            return debut - timedelta(days=rng.randint(0, 500))
        if u < 0.75:
            return debut
        if u < 0.95:
            return debut + timedelta(days=rng.randint(15, 150))  # mid-year recruitment
        return None  # post not filled

    def _amend(self, strand: _Strand, rng: random.Random, local: bool, per_fte: float) -> None:
        row = strand.row
        when = row.debut + timedelta(days=rng.randint(90, 240))
        if when > LAST_RECEIPT:
            return
        etp = row.etp
        if rng.random() < 0.5:
            etp = row.etp + 0.5
            cout, subv, cofi = self._money(rng, etp, local, per_fte)
        else:
            cout = round(row.cout * rng.uniform(1.03, 1.1) / 100) * 100
            cap = cout * (8 if local else 7) // 10
            subv = min(round(row.subv * rng.uniform(1.0, 1.1)), max(cap, row.subv))
            cofi = cout - subv
        strand.amendment = _ConvRow(
            num=row.num,
            millesime=row.millesime,
            region=row.region,
            volet=row.volet,
            etp=etp,
            debut=row.debut,
            fin=row.fin,
            recrut=row.recrut,
            cout=cout,
            subv=subv,
            cofi=cofi,
            cofinanceurs=row.cofinanceurs,
            preexist=row.preexist,
            signature=when - timedelta(days=rng.randint(1, 10)),
            avance=row.avance,
            avenant=row.avenant + 1,
            objectives=row.objectives,
        )
        strand.amendment_date = when

    # ---- activity ---------------------------------------------------------------------------

    @staticmethod
    def _etp_in(s: _Structure, m: int) -> tuple[float, date | None]:
        best, recrut = 0.0, None
        for st in s.fac():
            row = st.last
            if (
                _mi(row.debut) <= m <= _mi(row.fin)
                and row.recrut is not None
                and _mi(row.recrut) <= m
                and row.etp > best
            ):
                best, recrut = row.etp, row.recrut
        return best, recrut

    def simulate(self) -> None:
        for s in self.structures:
            self._simulate(s)

    def _simulate(self, s: _Structure) -> None:
        rng = _sub_rng(self.seed, "activity", s.code)
        s.data = {k: {} for k in _ACTIVITY}
        fac = s.fac()
        if not fac:
            return
        first = min(_mi(st.row.debut) for st in fac)
        last = min(max(_mi(st.row.fin) for st in fac), LAST_ACTIVITY_MONTH)
        etp_by_m = {m: self._etp_in(s, m) for m in range(first, last + 1)}
        active = [m for m, (e, _r) in etp_by_m.items() if e > 0]
        if not active:
            return
        fte_years = sum(e for e, _r in etp_by_m.values()) / 12
        region_buyers = self.buyers[s.region]
        # employers
        incl_types = [t for t in TYPE_EMPLOYEUR if t in INCLUSIVE_EMPLOYERS]
        other_types = [t for t in TYPE_EMPLOYEUR if t not in INCLUSIVE_EMPLOYERS]
        employers = [
            _Employer(
                self.sirets.make(leading_zero=rng.random() < 0.05),
                rng.choices(incl_types, weights=[_EMPLOYER_TYPE_WEIGHTS[t] for t in incl_types])[0],
            )
            for _ in range(max(2, round(fte_years * rng.uniform(7, 14))))
        ]
        n_incl = len(employers)
        employers += [
            _Employer(
                self.sirets.make(leading_zero=rng.random() < 0.05),
                rng.choices(other_types, weights=[_EMPLOYER_TYPE_WEIGHTS[t] for t in other_types])[
                    0
                ],
            )
            for _ in range(max(3, round(fte_years * rng.uniform(6, 12))))
        ]
        # markets
        n_markets = max(2, round(fte_years * rng.uniform(10, 20)))
        markets: list[_Market] = []
        keys: set[tuple[str, str, str]] = set()
        for j in range(n_markets):
            start = rng.randint(active[0] - 4, active[-1])
            markets.append(self._market(rng, s, region_buyers, employers, n_incl, start, j, keys))
        if s.index == 0 and s.region == "11":
            markets[0].buyer = self.la_poste[0]  # a La Poste SIRET, surely used
            markets[0].start, markets[0].end = active[0], active[-1]
        for m in active:
            if not any(mk.start <= m <= mk.end for mk in markets):
                markets.append(
                    self._market(rng, s, region_buyers, employers, n_incl, m, len(markets), keys)
                )
        # participants
        heures = s.data[Kind.HEURES]
        marches = s.data[Kind.MARCHES]
        contacts = s.data[Kind.CONTACTS]
        partenariats = s.data[Kind.PARTENARIATS]
        pool: list[list[Any]] = []  # [id, months left, attrs, contract]
        next_id = 1
        c_rate = rng.uniform(22, 55)
        p_rate = rng.uniform(3.5, 9)
        for m in active:
            etp, recrut = etp_by_m[m]
            live = [mk for mk in markets if mk.start <= m <= mk.end]
            ramp = 1.0
            if recrut is not None and _mi(recrut) == m:
                ramp = 0.5
            elif recrut is not None and _mi(recrut) == m - 1:
                ramp = 0.8
            target_hours = (
                etp * s.prod / 12 * _SEASON[m % 12 + 1] * ramp * rng.lognormvariate(0, 0.08)
            )
            target = max(1, round(target_hours / (_MEAN_ROW_HOURS * _ROWS_PER_PARTICIPANT_MONTH)))
            pool = [p for p in pool if p[1] > 0]
            while len(pool) < target:
                pid = f"P-{s.code}-{next_id:05d}"
                next_id += 1
                pool.append([pid, rng.randint(6, 20), self._person(rng), None])
            share = min(1.0, target / len(pool))
            rows: list[tuple[Any, ...]] = []
            for p in pool:
                p[1] -= 1
                if share < 1.0 and rng.random() > share:
                    continue
                contract = p[3]
                if contract is None or not (contract[0].start <= m <= contract[0].end):
                    contract = p[3] = self._contract(rng, live or markets)
                contracts = [contract]
                u = rng.random()
                for _ in range(2 if u < 0.05 else (1 if u < 0.30 else 0)):
                    other = self._contract(rng, live or markets)
                    if all(other[0] is not c[0] or other[1] is not c[1] for c in contracts):
                        contracts.append(other)
                sexe, annee, public = p[2]
                for mk, emp, modalite in contracts:
                    if rng.random() < 0.00025:
                        hours = round(rng.uniform(221, 320) * 2) / 2  # > 220: a warning
                    else:
                        hours = round((10 + 141 * rng.betavariate(1.4, 2.0)) * 2) / 2
                    formation = round(rng.uniform(2, 35) * 2) / 2 if rng.random() < 0.12 else None
                    rows.append(
                        (
                            s.siret,
                            m,
                            mk.code_op,
                            mk.num,
                            mk.lot or None,
                            mk.buyer.siret,
                            mk.buyer.type,
                            emp.siret,
                            emp.type,
                            p[0],
                            public,
                            modalite,
                            hours,
                            formation,
                            sexe,
                            annee,
                        )
                    )
            heures[m] = rows
            marches[m] = [
                (
                    s.siret,
                    m,
                    mk.buyer.siret,
                    mk.buyer.type,
                    mk.num,
                    mk.lot or None,
                    mk.objet,
                    mk.nature,
                    mk.clause,
                    mk.montant,
                    mk.heures_prevues,
                    mk.notification,
                    mk.grand_projet,
                )
                for mk in live
                if mk.start == m or rng.random() < 0.6
            ]
            contacts[m] = self._contacts(rng, s, m, etp * c_rate / 12, region_buyers)
            partenariats[m] = self._partenariats(rng, s, m, etp * p_rate / 12)
        if s.index == 0 and s.region == "11" and active:
            m = active[0]
            day = _month_start(m) + timedelta(days=9)
            row = (
                s.siret,
                m,
                day,
                self.la_poste[1].siret,
                "Entreprise publique",
                "Présentation de la démarche clauses",
            )
            if all(r[:5] != row[:5] for r in contacts[m]):
                contacts[m].append(row)
        if s.index == 0 and s.region == "84" and active:  # at least one row above 220 hours
            rows = heures[active[min(2, len(active) - 1)]]
            if rows and not any(r[_HI_HOURS] > 220 for r in rows):
                r = rows[0]
                rows[0] = r[:_HI_HOURS] + (236.5,) + r[_HI_HOURS + 1 :]

    def _market(
        self,
        rng: random.Random,
        s: _Structure,
        buyers: list[_Buyer],
        employers: list[_Employer],
        n_incl: int,
        start: int,
        j: int,
        keys: set[tuple[str, str, str]],
    ) -> _Market:
        nature = rng.choices(NATURE, weights=(55, 35, 10))[0]
        while True:
            buyer = rng.choice(buyers)
            year = start // 12
            num = rng.choice(
                (
                    f"{year}-{rng.randint(1, 400):03d}",
                    f"M{year % 100:02d}-{rng.randint(1, 999):04d}",
                    f"{year % 100:02d}S{rng.randint(1, 99):04d}",
                )
            )
            lot = rng.choice(("", "", "", "1", "2", "3", "4", "7", "12", "Lot 03"))
            if (buyer.siret, num, lot) not in keys:
                keys.add((buyer.siret, num, lot))
                break
        projects: tuple[str, ...]
        if s.region == "11":
            projects = ("JOP 2024", "Grand Paris Express", "NPNRU", "Autre")
        elif s.region == "32":
            projects = ("Canal Seine-Nord Europe", "Bassin minier", "NPNRU", "Autre")
        else:
            projects = ("NPNRU", "Autre")
        montant = round(rng.lognormvariate(math.log(600000), 1.0) * 100)
        n_emp = rng.randint(1, 3)
        chosen = rng.sample(employers[n_incl:], min(n_emp, len(employers) - n_incl))
        if rng.random() < 0.75:
            chosen.extend(rng.sample(employers[:n_incl], min(n_incl, rng.randint(1, 2))))
        return _Market(
            buyer=buyer,
            num=num,
            lot=lot,
            code_op=f"OP-{s.code}-{j + 1:04d}",
            objet=rng.choice(_MARKET_OBJETS[nature]).format(t=rng.choice(_TOWNS[s.region])),
            nature=nature,
            clause=rng.choices(TYPE_CLAUSE, weights=(60, 15, 10, 5, 10))[0],
            montant=montant,
            heures_prevues=float(max(35, round(montant / 100 * 0.05 / 35) * 7)),
            notification=(
                _month_start(start) - timedelta(days=rng.randint(10, 120))
                if rng.random() < 0.85
                else None
            ),
            grand_projet=rng.choice(projects) if rng.random() < 0.3 else None,
            start=start,
            end=start + rng.randint(3, 14),
            employers=chosen,
        )

    @staticmethod
    def _contract(rng: random.Random, markets: list[_Market]) -> tuple[_Market, _Employer, str]:
        mk = rng.choice(markets)
        emp = rng.choice(mk.employers)
        options = _MODALITE_BY_EMPLOYER[emp.type]
        modalite = rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]
        return mk, emp, modalite

    @staticmethod
    def _person(rng: random.Random) -> tuple[str | None, int | None, tuple[str, ...] | None]:
        u = rng.random()
        sexe = "F" if u < 0.42 else ("H" if u < 0.95 else None)
        annee = rng.randint(1962, 2006) if rng.random() < 0.94 else None
        public: tuple[str, ...] | None = None
        if rng.random() < 0.85:
            n = rng.choice((1, 1, 1, 2, 2, 3))
            picked: list[str] = []
            while len(picked) < n:
                v = rng.choices(PUBLIC_PRIORITAIRE, weights=_PUBLIC_WEIGHTS)[0]
                if v not in picked:
                    picked.append(v)
            public = tuple(picked)
        return sexe, annee, public

    @staticmethod
    def _contacts(
        rng: random.Random, s: _Structure, m: int, lam: float, buyers: list[_Buyer]
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        seen: set[tuple[Any, ...]] = set()
        last_day = _month_end(m).day
        for _ in range(_poisson(rng, lam)):
            b = rng.choice(buyers)
            row = (
                s.siret,
                m,
                _month_start(m) + timedelta(days=rng.randint(0, last_day - 1)),
                b.siret,
                b.type,
                rng.choice(_CONTACT_OBJETS),
            )
            key = row[:5]  # distinct even when a file leaves the optional Objet out
            if key not in seen:
                seen.add(key)
                rows.append(row)
        return rows

    def _partenariats(
        self, rng: random.Random, s: _Structure, m: int, lam: float
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        seen: set[tuple[Any, ...]] = set()
        last_day = _month_end(m).day
        for _ in range(_poisson(rng, lam)):
            name, ptype = rng.choice(_PARTNERS)
            town = rng.choice(_TOWNS[s.region])
            partner_siret = _partner_siret(self.seed, name, town) if rng.random() < 0.7 else None
            row = (
                s.siret,
                m,
                _month_start(m) + timedelta(days=rng.randint(0, last_day - 1)),
                name.format(t=town),
                partner_siret,
                ptype,
                rng.choice(_PARTNER_OBJETS),
            )
            key = (row[2], row[3], row[5])  # distinct without the optional columns too
            if key not in seen:
                seen.add(key)
                rows.append(row)
        return rows

    # ---- deliveries -------------------------------------------------------------------------

    def plan(self) -> None:
        rng = _sub_rng(self.seed, "plan")
        for region in sorted(REGIONS):
            _w, shape, period, presets = _REGION_PLAN[region]
            structures = self.by_region[region]
            if shape == "region":
                months = sorted({m for s in structures for m in s.months_with_data()})
                groups: list[list[int]] = []
                for m in months:
                    if (
                        region == "75"
                        and groups
                        and groups[-1] == [m - 1]
                        and _ym(m - 1) == "2024-07"
                    ):
                        groups[-1].append(m)  # a catch-up export covering two months
                    else:
                        groups.append([m])
                day = 3 + int(region) % 6
                for g in groups:
                    receipt = _month_start(g[-1] + 1) + timedelta(days=day + rng.randint(0, 3))
                    label = _ym(g[0]) if len(g) == 1 else f"{_ym(g[0])}_{_ym(g[-1])}"
                    self._add_unit(
                        _Unit(region, receipt, g, structures, presets[0], "region", label)
                    )
            else:
                for s in structures:
                    s.preset = presets[s.index % len(presets)]
                    months = s.months_with_data()
                    if period == "month":
                        for m in months:
                            receipt = _month_start(m + 1) + timedelta(days=rng.randint(0, 19))
                            self._add_unit(
                                _Unit(region, receipt, [m], [s], s.preset, "structure", _ym(m))
                            )
                    else:
                        quarters: dict[int, list[int]] = {}
                        for m in months:
                            quarters.setdefault(m // 3, []).append(m)
                        for q, ms in quarters.items():
                            receipt = _month_start(q * 3 + 3) + timedelta(days=rng.randint(2, 24))
                            folder = region
                            if region == "24" and s.index == 0 and q == (2025 * 12) // 3:
                                folder = "27"  # dropped in the neighbouring region's folder
                            label = f"{q // 4}-T{q % 4 + 1}"
                            self._add_unit(
                                _Unit(
                                    folder,
                                    receipt,
                                    ms,
                                    [s],
                                    s.preset,
                                    "structure",
                                    label,
                                    "quarter",
                                )
                            )
        # months that nobody sent before the end of the period are not part of the dataset
        for s in self.structures:
            for kind in _ACTIVITY:
                per_month = s.data.get(kind, {})
                for m in list(per_month):
                    if (s.code, m) not in self.unit_of:
                        del per_month[m]

    def _add_unit(self, unit: _Unit) -> None:
        if unit.receipt > LAST_RECEIPT:
            return
        self.units.append(unit)
        for s in unit.structures:
            for m in unit.months:
                self.unit_of[(s.code, m)] = unit

    # ---- corrections ------------------------------------------------------------------------

    def plan_corrections(self) -> list[tuple[Kind, _Structure, int, date, str]]:
        """Pick partitions whose first delivery is wrong and re-sent later.

        Returns (kind, structure, month, receipt of the correction, how) with how in
        "file" (a correction file), "same_day" (same receipt date, name sorting last).
        """
        rng = _sub_rng(self.seed, "corrections")
        rates = {Kind.HEURES: 0.025, Kind.MARCHES: 0.01, Kind.CONTACTS: 0.006}
        out: list[tuple[Kind, _Structure, int, date, str]] = []
        same_day_done = forced_done = False
        for s in self.structures:
            for kind, rate in rates.items():
                for m, rows in sorted(s.data[kind].items()):
                    forced = (
                        kind is Kind.HEURES
                        and s.index == 0
                        and s.region == "84"
                        and not forced_done
                    )
                    if len(rows) < 3 or not (rng.random() < rate or forced):
                        continue
                    forced_done = forced_done or forced
                    unit = self.unit_of[(s.code, m)]
                    if not same_day_done and kind is Kind.HEURES:
                        when, how = unit.receipt, "same_day"
                        same_day_done = True
                    else:
                        when, how = unit.receipt + timedelta(days=rng.randint(6, 45)), "file"
                    if when > LAST_RECEIPT:
                        continue
                    self.perturbed[(kind, s.code, m)] = self._perturb(rng, kind, rows)
                    out.append((kind, s, m, when, how))
        return out

    @staticmethod
    def _perturb(
        rng: random.Random, kind: Kind, rows: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        bad = list(rows)
        for _ in range(rng.randint(1, 2)):
            if len(bad) > 1:
                bad.pop(rng.randrange(len(bad)))
        if kind is Kind.HEURES:
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(bad))
                r = bad[i]
                h = r[_HI_HOURS]
                new = h + 7 if h + 7 <= 151 else h - 7
                bad[i] = r[:_HI_HOURS] + (new,) + r[_HI_HOURS + 1 :]
        return bad

    # ---- writing: activity ------------------------------------------------------------------

    def _unit_rows(self, unit: _Unit, kind: Kind, *, truth: bool = False) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for s in unit.structures:
            per_month = s.data[kind]
            for m in unit.months:
                rows = None if truth else self.perturbed.get((kind, s.code, m))
                if rows is None:
                    rows = per_month.get(m)
                if rows:
                    out.extend(rows)
        return out

    def _titles(self, what: str, unit_label: str, receipt: date, who: str) -> list[str]:
        return [
            f"ABC Clauses — {what}",
            who,
            f"Période : {unit_label}",
            f"Extraction du {receipt:%d/%m/%Y}",
            "",
            "Données déclaratives, susceptibles de corrections.",
            "Source : outil de suivi des clauses sociales",
            "",
            "Document de travail",
            "",
        ]

    def write_activity(self) -> None:
        corrections = self.plan_corrections()
        full_resend = self._pick_full_resend()
        doublon_done = False
        for unit in self.units:
            kinds_rows = [(kind, self._unit_rows(unit, kind)) for kind in _ACTIVITY]
            if unit.shape == "region":
                who = f"Région : {REGIONS[unit.folder][0]}"
                tags = ["region_wide_export"]
                if len(unit.months) > 1:
                    tags.append("region_export_several_months")
            else:
                s = unit.structures[0]
                who = f"Structure : {s.raison} (SIRET {s.siret})"
                tags = [
                    "structure_monthly_file"
                    if unit.period == "month"
                    else "structure_quarterly_file"
                ]
                if unit.folder != s.region:
                    tags.append("activity_in_other_region_folder")
            if unit.preset == "xlsx":
                style, k = self._style(unit.preset)
                sheets = [
                    (kind, rows)
                    for kind, rows in kinds_rows
                    if rows or kind is Kind.HEURES or style.header_only
                ]
                if unit.shape == "region":
                    stem = f"Export {REGIONS[unit.folder][0]} {unit.label}"
                else:
                    s = unit.structures[0]
                    stem = (
                        f"ABC_{s.code}_{unit.label}"
                        if unit.period == "month"
                        else f"Suivi clauses {s.raison} {unit.label}"
                    )
                titles = self._titles("Suivi de l'activité", unit.label, unit.receipt, who)
                rel = self.write_xlsx(
                    unit.folder, unit.receipt, stem, sheets, style, k, titles, tags
                )
                for kind, _rows in sheets:
                    self.first_names[(id(unit), kind)] = rel
                continue
            for kind, rows in kinds_rows:
                style, k = self._style(unit.preset, unit.folder)
                if not rows and not (style.header_only and kind is not Kind.HEURES):
                    continue
                slug = KIND_SLUG[kind]
                if unit.shape == "region":
                    stem = f"export_{unit.folder}_{slug}_{unit.label}"
                elif unit.period == "month":
                    stem = f"{unit.structures[0].siret}_{slug}_{unit.label}"
                else:
                    stem = f"{unit.structures[0].code}_{slug}_{unit.label}"
                if unit.preset == "xlsx_split":
                    titles = self._titles(f"Export {slug}", unit.label, unit.receipt, who)
                    self.first_names[(id(unit), kind)] = self.write_xlsx(
                        unit.folder, unit.receipt, stem, [(kind, rows)], style, k, titles, tags
                    )
                    continue
                rel, data = self.write_csv(
                    unit.folder, unit.receipt, stem, kind, rows, style, k, tags
                )
                self.first_names[(id(unit), kind)] = rel
                if unit is full_resend[0] and kind is Kind.HEURES:
                    truth = self._unit_rows(unit, kind, truth=True)
                    later = unit.receipt + timedelta(days=12)
                    self.write_csv(
                        unit.folder,
                        later,
                        stem + "_corrige",
                        kind,
                        truth,
                        style,
                        k,
                        ["correction_full_resend"],
                    )
                if (
                    not doublon_done
                    and unit.shape == "region"
                    and kind is Kind.CONTACTS
                    and unit.receipt + timedelta(days=4) <= LAST_RECEIPT
                    and unit.receipt.year == 2024
                    and unit.receipt.month >= 6
                ):
                    name = "renvoi " + rel.rsplit("/", 1)[1]
                    path, rel2 = self._path(unit.folder, unit.receipt + timedelta(days=4), name)
                    path.write_bytes(data)  # the same bytes again: a doublon
                    self.files += 1
                    self.rows[kind.value] += len(rows)
                    self._tag(rel2, ["doublon_same_bytes"])
                    doublon_done = True
        for kind, s, m, when, how in corrections:
            self._write_correction(kind, s, m, when, how)

    def _pick_full_resend(self) -> tuple[_Unit | None, list[tuple[str, int]]]:
        """A region-wide CSV export re-sent whole, corrected, twelve days later."""
        rng = _sub_rng(self.seed, "resend")
        for unit in self.units:
            if unit.shape == "region" and unit.folder == "44" and _ym(unit.months[0]) >= "2024-09":
                if unit.receipt + timedelta(days=12) > LAST_RECEIPT:
                    continue
                parts = []
                for s in unit.structures[:2]:
                    rows = s.data[Kind.HEURES].get(unit.months[0])
                    if (
                        rows
                        and len(rows) >= 3
                        and (Kind.HEURES, s.code, unit.months[0]) not in self.perturbed
                    ):
                        self.perturbed[(Kind.HEURES, s.code, unit.months[0])] = self._perturb(
                            rng, Kind.HEURES, rows
                        )
                        parts.append((s.code, unit.months[0]))
                if parts:
                    return unit, parts
        return None, []

    def _write_correction(self, kind: Kind, s: _Structure, m: int, when: date, how: str) -> None:
        unit = self.unit_of[(s.code, m)]
        rows = s.data[kind][m]
        preset = unit.preset if unit.preset not in ("xlsx", "xlsx_split") else "xlsx"
        style, k = self._style(preset, unit.folder)
        style.header_only = False
        if how == "same_day":
            # same receipt date as the first delivery, a name that sorts after it
            first = self.first_names[(id(unit), kind)].rsplit("/", 1)[1]
            stem = first.rsplit(".", 1)[0] + "_v2"
            tags = ["correction_same_day_name_sorts_last"]
            style = _make_style("cp1252", 1)
            style.upper_ext = False
        else:
            stem = f"correctif_{KIND_SLUG[kind]}_{s.siret}_{_ym(m)}"
            tags = ["correction_later_receipt"]
        if style.fmt == "xlsx":
            titles = self._titles("Correctif", _ym(m), when, f"Structure : {s.raison}")
            self.write_xlsx(unit.folder, when, stem, [(kind, rows)], style, k, titles, tags)
        else:
            self.write_csv(unit.folder, when, stem, kind, rows, style, k, tags)

    # ---- writing: conventions ---------------------------------------------------------------

    @staticmethod
    def _conv_tuple(row: _ConvRow, s: _Structure, region: str | None = None) -> tuple[Any, ...]:
        obj = row.objectives or (None,) * 7
        return (
            row.num,
            row.millesime,
            region or row.region,
            s.siret,
            s.raison,
            int(s.cat),
            row.volet,
            row.etp,
            row.debut,
            row.fin,
            row.recrut,
            row.cout,
            row.subv,
            row.cofi,
            row.cofinanceurs,
            row.preexist,
            row.signature,
            row.avance,
            row.avenant,
            *obj,
        )

    def write_conventions(self) -> None:
        rng = _sub_rng(self.seed, "registers")
        for ri, region in enumerate(sorted(REGIONS)):
            preset = ("xlsx", "cp1252", "utf8bom")[ri % 3]
            for millesime in MILLESIMES:
                base = [
                    (st, s)
                    for s in self.by_region[region]
                    for st in s.strands
                    if st.row.millesime == millesime
                ]
                if not base:
                    continue
                rows = [self._conv_tuple(st.row, s) for st, s in base]
                receipt = date(millesime, 1, 8 + rng.randint(0, 17))
                stem = f"registre_conventions_{region}_{millesime}"
                self._write_register(region, receipt, stem, rows, preset, ["register_initial"])
                amended = [(st, s) for st, s in base if st.amendment is not None]
                if not amended:
                    continue
                when = max(st.amendment_date for st, _s in amended if st.amendment_date)
                amendments = [
                    self._conv_tuple(st.amendment, s) for st, s in amended if st.amendment
                ]
                if ri % 2 == 0:
                    self._write_register(
                        region,
                        when,
                        stem + "_avenants",
                        amendments,
                        preset,
                        ["register_avenants_only"],
                    )
                else:
                    full = sorted(rows + amendments, key=lambda r: (r[0], r[18]))
                    self._write_register(
                        region, when, stem + "_maj", full, preset, ["register_full_with_avenants"]
                    )

    def _write_register(
        self,
        region: str,
        receipt: date,
        stem: str,
        rows: list[tuple[Any, ...]],
        preset: str,
        tags: list[str],
        count: bool = True,
    ) -> str:
        style, k = self._style("reg_" + preset)
        style = _make_style(preset, k, region=region)
        style.personal = False
        style.header_only = False
        if style.fmt == "xlsx":
            name, service = REGIONS[region]
            titles = [
                f"{service} {name}",
                "Registre des conventions PNAD — facilitateurs des clauses sociales",
                f"Extraction du {receipt:%d/%m/%Y}",
                "",
                "Montants en euros",
                "",
                "",
                "",
                "",
                "",
            ]
            return self.write_xlsx(
                region,
                receipt,
                stem,
                [(Kind.CONVENTIONS, rows)],
                style,
                k,
                titles,
                tags,
                count=count,
            )
        return self.write_csv(
            region, receipt, stem, Kind.CONVENTIONS, rows, style, k, tags, count=count
        )[0]

    # ---- writing: bilans --------------------------------------------------------------------

    def _truth(self, s: _Structure, m0: int, m1: int) -> tuple[float, int, int, int, int, int]:
        hours = 0.0
        participants: set[str] = set()
        inclusive: set[str] = set()
        marches: set[tuple[Any, ...]] = set()
        contacts = partenariats = 0
        for m in range(m0, m1 + 1):
            for r in s.data[Kind.HEURES].get(m, ()):
                hours += r[_HI_HOURS]
                participants.add(r[_HI_PARTICIPANT])
                if r[_HI_EMP_TYPE] in INCLUSIVE_EMPLOYERS:
                    inclusive.add(r[_HI_EMP])
            for r in s.data[Kind.MARCHES].get(m, ()):
                marches.add((r[2], r[4], r[5]))
            contacts += len(s.data[Kind.CONTACTS].get(m, ()))
            partenariats += len(s.data[Kind.PARTENARIATS].get(m, ()))
        return hours, len(participants), len(inclusive), contacts, len(marches), partenariats

    def _bilan_row(
        self,
        rng: random.Random,
        s: _Structure,
        row: _ConvRow,
        kind: str,
        when: date,
        m0: int,
        m1: int,
        off: bool,
    ) -> tuple[Any, ...]:
        if row.volet == "coordinateur":
            values: tuple[float, ...] = (
                0.0,
                0.0,
                0.0,
                0.0,
                float(rng.randint(8, 40)),
                float(rng.randint(0, 12)),
                float(rng.randint(4, 20)),
            )
        else:
            hours, benef, incl, contacts, marches, parts = self._truth(s, m0, m1)
            if off:
                f = rng.choice((-1, 1)) * rng.uniform(0.07, 0.2)
                hours_d = round(hours * (1 + f) * 2) / 2
                benef_d = round(benef * (1 + rng.choice((0, f))))
            elif rng.random() < 0.5:
                hours_d, benef_d = hours, benef
            else:
                hours_d = round(hours * (1 + rng.uniform(-0.03, 0.03)) * 2) / 2
                benef_d = round(benef * (1 + rng.uniform(-0.03, 0.03)))
            values = (
                hours_d,
                float(benef_d),
                round(hours_d / 1607, 2),
                float(incl),
                float(contacts + rng.randint(-1, 2) if contacts else 0),
                float(marches),
                float(parts),
            )
        return (s.siret, row.num, row.millesime, kind, when, *values, rng.choice(_QUALITATIF))

    def write_bilans(self) -> None:
        rng = _sub_rng(self.seed, "bilans")
        # (region folder, receipt, structure or None) -> rows
        batches: dict[tuple[str, date, str], list[tuple[Any, ...]]] = {}
        owners: dict[tuple[str, date, str], _Structure] = {}
        for s in self.structures:
            shape = _REGION_PLAN[s.region][1]
            late_i = rng.random() < 0.15
            miss_i = rng.random() < 0.05
            miss_a = rng.random() < 0.06
            for st in s.strands:
                row = st.last
                m0, m1 = _mi(row.debut), _mi(row.fin)
                deadline = _add_months(row.debut, 7)
                if not miss_i:
                    if late_i:
                        when = deadline + timedelta(days=rng.randint(5, 60))
                    else:
                        when = _add_months(row.debut, 6) + timedelta(days=rng.randint(3, 24))
                        when = min(when, deadline - timedelta(days=1))
                    rows_i = self._bilan_row(
                        rng,
                        s,
                        row,
                        "intermédiaire",
                        when - timedelta(days=rng.randint(0, 4)),
                        m0,
                        min(m0 + 5, m1),
                        off=False,
                    )
                    self._batch(batches, owners, s, shape, when, rows_i)
                if not miss_a:
                    when = row.fin + timedelta(days=rng.randint(12, 75))
                    off = rng.random() < 0.08
                    rows_a = self._bilan_row(
                        rng, s, row, "annuel", when - timedelta(days=rng.randint(0, 6)), m0, m1, off
                    )
                    self._batch(batches, owners, s, shape, when, rows_a)
        for (folder, receipt, key), rows in sorted(batches.items(), key=lambda kv: kv[0]):
            if receipt > LAST_RECEIPT:
                continue
            s = owners[(folder, receipt, key)]
            if key == "*":
                preset = _REGION_PLAN[folder][3][0]
                preset = "xlsx" if preset == "xlsx_split" else preset
                stem = f"bilans_{folder}_{receipt.isoformat()}"
                tags = ["bilans_region_batch"]
            else:
                preset = s.preset
                types = sorted({r[3] for r in rows})
                stem = (
                    f"bilan_{'_'.join(_strip_accents(t) for t in types)}_{s.code}_{receipt:%Y%m%d}"
                )
                tags = ["bilans_structure_file"]
            style, k = self._style("bil_" + preset)
            style = _make_style(preset, k, region=folder)
            style.personal = False
            style.header_only = False
            if style.fmt == "xlsx":
                titles = self._titles(
                    "Bilans des conventions",
                    receipt.isoformat(),
                    receipt,
                    f"Structure : {s.raison}",
                )
                self.write_xlsx(
                    folder, receipt, stem, [(Kind.BILANS, rows)], style, k, titles, tags
                )
            else:
                self.write_csv(folder, receipt, stem, Kind.BILANS, rows, style, k, tags)

    @staticmethod
    def _batch(
        batches: dict[tuple[str, date, str], list[tuple[Any, ...]]],
        owners: dict[tuple[str, date, str], _Structure],
        s: _Structure,
        shape: str,
        when: date,
        row: tuple[Any, ...],
    ) -> None:
        if shape == "region":
            # the region collects reports and drops them on the 14th and the 28th
            when = (
                date(when.year, when.month, 14)
                if when.day <= 14
                else (
                    date(when.year, when.month, 28)
                    if when.day <= 28
                    else _month_start(_mi(when) + 1) + timedelta(days=13)
                )
            )
            key = (s.region, when, "*")
        else:
            key = (s.region, when, s.code)
        rows = batches.setdefault(key, [])
        if any(r[1] == row[1] and r[2] == row[2] and r[3] == row[3] for r in rows):
            return  # never twice the same (N° convention, Millésime, Type de bilan) in a file
        rows.append(row)
        owners.setdefault(key, s)

    # ---- defects ----------------------------------------------------------------------------

    def write_defects(self) -> None:
        rng = _sub_rng(self.seed, "defects")

        def heures_rows(region: str) -> tuple[_Structure, int, list[tuple[Any, ...]]]:
            for s in self.by_region[region]:
                for m, rows in sorted(s.data[Kind.HEURES].items()):
                    if len(rows) >= 4 and _ym(m) >= "2024-06":
                        return s, m, list(rows[:12])
            raise AssertionError(f"no activity in region {region}")

        def later(m: int, days: int) -> date:
            return min(_month_start(m + 1) + timedelta(days=days), LAST_RECEIPT)

        def record(rel: str, outcome: str) -> None:
            self.defects[rel] = outcome

        plain = _make_style("cp1252", 0)
        plain.upper_ext = False
        plain.personal = plain.extra_col = plain.shuffle_cols = plain.drop_optional = False
        plain.siret_mode = "plain"
        # invalid SIRET
        s, m, rows = heures_rows("84")
        r = rows[1]
        bad_siret = r[_HI_EMP][:13] + str((int(r[_HI_EMP][13]) + 1) % 10)
        rows[1] = r[:_HI_EMP] + (bad_siret,) + r[_HI_EMP + 1 :]
        rel, _ = self.write_csv(
            "84", later(m, 25), "defaut_siret_invalide", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # value out of range
        s, m, rows = heures_rows("11")
        rows[0] = rows[0][:_HI_HOURS] + (900.0,) + rows[0][_HI_HOURS + 1 :]
        rel, _ = self.write_csv(
            "11", later(m, 26), "defaut_heures_hors_plage", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # unknown enumeration value
        s, m, rows = heures_rows("93")
        rows[2] = rows[2][:_HI_EMP_TYPE] + ("Auto-entrepreneur",) + rows[2][_HI_EMP_TYPE + 1 :]
        rel, _ = self.write_csv(
            "93", later(m, 24), "defaut_valeur_inconnue", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # duplicate rows
        s, m, rows = heures_rows("53")
        rows.append(rows[0])
        rel, _ = self.write_csv(
            "53", later(m, 27), "defaut_lignes_dupliquees", Kind.HEURES, rows, plain, 0, count=False
        )
        record(rel, "quarantined")
        # missing required column (a Marchés sheet without "Nature")
        s44 = self.by_region["44"][0]
        m44 = min(m for m, rows in s44.data[Kind.MARCHES].items() if rows and _ym(m) >= "2024-06")
        xl = _make_style("xlsx", 1)
        xl.extra_col = xl.personal = xl.drop_optional = xl.shuffle_cols = xl.notes_sheet = False
        xl.sheet_names = 0
        xl.header_mode = 0
        path, rel = self._path("44", later(m44, 25), "defaut_colonne_manquante.xlsx")
        wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
        wb.set_properties({"created": datetime(2024, 7, 1, 9, 0, 0)})
        ws = wb.add_worksheet("Marchés")
        layout = [c for c in _layout(Kind.MARCHES, xl, 0) if c[0] != "Nature"]
        for c, (h, _t, _g) in enumerate(layout):
            ws.write_string(0, c, h)
        for r_i, row in enumerate(s44.data[Kind.MARCHES][m44], start=1):
            for c, (_h, t, g) in enumerate(layout):
                v = g(row)
                if v is not None:
                    ws.write_string(r_i, c, _text_base(t, plain)(v))
        wb.close()
        self.files += 1
        record(rel, "quarantined")
        # conventions: duplicate key within the file
        region = "76"
        base = [
            (st, s) for s in self.by_region[region] for st in s.strands if st.row.millesime == 2025
        ]
        rows = [self._conv_tuple(st.row, s) for st, s in base]
        dup = list(rows[0])
        dup[7] = dup[7] + 0.5  # same key, another ETP
        rows.insert(1, tuple(dup))
        rel = self._write_register(
            region,
            date(2025, 3, 3),
            "defaut_conventions_cle_dupliquee",
            rows,
            "cp1252",
            [],
            count=False,
        )
        record(rel, "quarantined")
        # conventions: register of another region dropped here
        base = [
            (st, s) for s in self.by_region["28"] for st in s.strands if st.row.millesime == 2025
        ]
        rows = [self._conv_tuple(st.row, s) for st, s in base]
        rel = self._write_register(
            "27", date(2025, 2, 4), "defaut_code_region_autre", rows, "xlsx", [], count=False
        )
        record(rel, "quarantined")
        # not a CSV at all
        garbage = bytes([0x00, 0x81, 0x8D, 0xFF, 0xFE, 0x00, 0x9D]) + rng.randbytes(4096)
        path, rel = self._path("24", date(2024, 11, 5), "defaut_pas_un_csv.csv")
        path.write_bytes(garbage)
        self.files += 1
        record(rel, "refused")
        # a PDF
        path, rel = self._path("32", date(2025, 5, 12), "defaut_document.pdf")
        path.write_bytes(
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
        )
        self.files += 1
        record(rel, "refused")
        # a CSV of no known kind
        path, rel = self._path("52", date(2025, 1, 20), "defaut_sans_type.csv")
        path.write_bytes(
            "Code;Libellé;Commentaire\r\nA1;Réunion de réseau;RAS\r\n"
            "A2;Comité de pilotage;reporté\r\n".encode("cp1252")
        )
        self.files += 1
        record(rel, "refused")
        # an empty file
        path, rel = self._path("75", date(2024, 9, 16), "defaut_fichier_vide.csv")
        path.write_bytes(b"")
        self.files += 1
        record(rel, "refused")

    # ---- summary ----------------------------------------------------------------------------

    def summary(self) -> GenerateSummary:
        hours = 0.0
        for s in self.structures:
            for rows in s.data.get(Kind.HEURES, {}).values():
                hours += sum(r[_HI_HOURS] for r in rows)
        strands = len({(st.row.num, st.row.millesime) for s in self.structures for st in s.strands})
        regions = len({p.name for p in self.landing.iterdir() if p.is_dir()})
        return GenerateSummary(
            files=self.files,
            rows_per_kind=dict(self.rows),
            hours=round(hours, 2),
            strands=strands,
            regions=regions,
            defects=dict(sorted(self.defects.items())),
            variants=dict(sorted(self.variants.items())),
        )


def _partner_siret(seed: int, name: str, town: str) -> str:
    """A stable valid SIRET for a named partner (the same partner keeps its SIRET)."""
    rng = _sub_rng(seed, "partner", name, town)
    siren = _luhn_complete(
        str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
    )
    return _luhn_complete(siren + f"{rng.randint(1, 60):04d}")


def generate_sample(
    landing_dir: Path, *, scale: float = 1.0, seed: int = 0, defects: bool = False
) -> GenerateSummary:
    """Write a deterministic national sample dataset into ``landing_dir``.

    Files go to ``landing_dir/<code_region>/<AAAA-MM-JJ>/<name>`` where the date folder is the
    receipt date (2024-01 to 2026-03). ``scale`` multiplies the number of structures (every
    region keeps at least one); at scale 1 there are about 600 convention strands, a few hundred
    thousand Heures rows and about 15 million hours. ``defects=True`` adds, in a few regions,
    files of known defect classes named ``defaut_*`` (see ``GenerateSummary.defects``); the other
    files are the same bytes with or without defects.

    ``landing_dir`` must be absent or empty: files of an earlier run are never mixed in.
    """
    landing_dir = Path(landing_dir)
    if scale <= 0:
        raise ValueError("scale must be > 0")
    if landing_dir.exists() and any(landing_dir.iterdir()):
        raise FileExistsError(f"{landing_dir} is not empty")
    landing_dir.mkdir(parents=True, exist_ok=True)
    gen = _Generator(landing_dir, scale, seed)
    gen.build_world()
    gen.simulate()
    gen.plan()
    gen.write_conventions()
    gen.write_activity()
    gen.write_bilans()
    if defects:
        gen.write_defects()
    summary = gen.summary()
    log.info(
        "sample generated in %s: %d files, %d strands, %.0f hours, rows %s%s",
        landing_dir,
        summary.files,
        summary.strands,
        summary.hours,
        summary.rows_per_kind,
        f", {len(summary.defects)} defect files" if summary.defects else "",
    )
    return summary

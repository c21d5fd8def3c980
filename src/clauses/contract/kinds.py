"""The data contract (shared/data-contract.md §2-3) as data: kinds, columns, enumerations.

Everything that reads, validates, loads or generates files refers to this module, so that a
column, a type or an enumeration is defined once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """A kind of contract file; the value is its French name, as shown to users."""

    HEURES = "Heures"
    MARCHES = "Marchés"
    CONTACTS = "Contacts"
    PARTENARIATS = "Partenariats"
    BILANS = "Bilans"
    CONVENTIONS = "Conventions"


KIND_ORDER: tuple[Kind, ...] = tuple(Kind)


class ColType(StrEnum):
    TEXT = "text"
    SIRET = "siret"
    MONTH = "month"  # stored as 'AAAA-MM'
    DATE = "date"
    NUMBER = "number"  # float
    INTEGER = "integer"
    AMOUNT = "amount"  # euros, stored as integer cents
    ENUM = "enum"  # one value of `enum`, stored canonical
    ENUM_LIST = "enum_list"  # values of `enum` separated by | or , ; stored joined by |
    REGION = "region"
    LEGAL_CATEGORY = "legal_category"  # 4 digits
    PARTICIPANT = "participant"  # pseudonymous id, stored as a keyed hash


@dataclass(frozen=True)
class Column:
    header: str  # the French header of the contract
    name: str  # the warehouse column name
    type: ColType
    required: bool = True
    enum: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    warn_max: float | None = None  # above this: a warning, the file still loads
    max_length: int | None = None

    def __reduce_ex__(self, protocol: Any) -> Any:
        """A column of the contract's kinds pickles as its header and name, and unpickles as
        that same column: every file read by a worker process (`clauses.check.read_ahead`)
        carries its table's column plan, and building a copy of each column back cost the run
        more than half a second a national night. Any other column pickles whole."""
        if _CONTRACT_COLUMNS.get((self.header, self.name)) is self:
            return (contract_column, (self.header, self.name))
        return super().__reduce_ex__(protocol)


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    table: str  # staging table in the warehouse
    columns: tuple[Column, ...]
    signature: tuple[str, ...]  # headers that identify the kind
    unique_within_file: tuple[str, ...] = ()  # column names; a repeated key blocks the file
    extra: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def fold(text: str) -> str:
    """Lower-case, accents removed, surrounding spaces stripped, inner runs of spaces single."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", stripped).strip().casefold()


_HEADER_SEPARATORS = re.compile(r"[\s_\-'’.]+")


def header_key(text: str) -> str:
    """Key under which two column headers are the same (contract §3).

    The degree sign of "N°" (or the ordinal "º" often typed instead) counts as a separator, so
    "N° lot", "N°lot", "Nº lot" and "n_lot" share a key.
    """
    folded = fold(str(text).replace("\u00ba", "°")).replace("°", " ")
    return _HEADER_SEPARATORS.sub(" ", folded).strip()


# Enumerations (contract §2, "Enumerations")
TYPE_DONNEUR_ORDRE = (
    "État",
    "Établissement public de l'État",
    "Collectivité territoriale",
    "Établissement public local",
    "Bailleur social",
    "Établissement de santé",
    "Entreprise publique",
    "Acheteur privé",
    "Autre",
)
TYPE_EMPLOYEUR = ("Entreprise", "EI", "ETTI", "AI", "ACI", "EA", "ESAT", "GEIQ", "ETT")
INCLUSIVE_EMPLOYERS = ("EI", "ETTI", "AI", "ACI", "EA", "ESAT", "GEIQ")
PUBLIC_PRIORITAIRE = (
    "DELD",
    "BRSA",
    "ASS",
    "AAH",
    "RQTH",
    "Jeune -26 ans",
    "Senior +50 ans",
    "Résident QPV",
    "Suivi SIAE",
    "Autre",
)
MODALITE = (
    "CDI",
    "CDD",
    "Intérim",
    "Mise à disposition ETTI",
    "Mise à disposition AI",
    "Contrat d'insertion SIAE",
    "Apprentissage",
    "Contrat de professionnalisation",
    "Formation",
    "Autre",
)
TYPE_CLAUSE = (
    "Condition d'exécution",
    "Critère d'attribution",
    "Marché réservé SIAE",
    "Marché réservé EA-ESAT",
    "Marché d'insertion",
)
TYPE_PARTENAIRE = (
    "Service public de l'emploi",
    "SIAE",
    "EA-ESAT",
    "GEIQ",
    "Organisme de formation",
    "Collectivité",
    "Entreprise",
    "Autre",
)
SEXE = ("F", "H")
NATURE = ("Travaux", "Services", "Fournitures")
GRAND_PROJET = (
    "JOP 2024",
    "Grand Paris Express",
    "Canal Seine-Nord Europe",
    "NPNRU",
    "Bassin minier",
    "Autre",
)
TYPE_BILAN = ("intermédiaire", "annuel")
VOLET = ("facilitateur", "coordinateur")

REGIONS: dict[str, tuple[str, str]] = {
    "01": ("Guadeloupe", "DEETS"),
    "02": ("Martinique", "DEETS"),
    "03": ("Guyane", "DGCOPOP"),
    "04": ("La Réunion", "DEETS"),
    "06": ("Mayotte", "DEETS"),
    "11": ("Île-de-France", "DRIEETS"),
    "24": ("Centre-Val de Loire", "DREETS"),
    "27": ("Bourgogne-Franche-Comté", "DREETS"),
    "28": ("Normandie", "DREETS"),
    "32": ("Hauts-de-France", "DREETS"),
    "44": ("Grand Est", "DREETS"),
    "52": ("Pays de la Loire", "DREETS"),
    "53": ("Bretagne", "DREETS"),
    "75": ("Nouvelle-Aquitaine", "DREETS"),
    "76": ("Occitanie", "DREETS"),
    "84": ("Auvergne-Rhône-Alpes", "DREETS"),
    "93": ("Provence-Alpes-Côte d'Azur", "DREETS"),
    "94": ("Corse", "DREETS"),
}

# Headers of direct personal identifiers: dropped at reading, never stored (contract §3).
PERSONAL_DATA_HEADERS = (
    "Nom",
    "Nom de naissance",
    "Nom d'usage",
    "Prénom",
    "Prénoms",
    "NIR",
    "Numéro de sécurité sociale",
    "N° de sécurité sociale",
    "N° sécurité sociale",
    "Numéro sécu",
    "Date de naissance",
    "Adresse",
    "Adresse postale",
    "Téléphone",
    "Tél",
    "Portable",
    "Courriel",
    "Email",
    "E-mail",
    "Mail",
    "Adresse e-mail",
    "Adresse mail",
)

_T = ColType
SIRET_PORTEUR = Column("SIRET porteur", "siret_porteur", _T.SIRET)
MOIS = Column("Mois", "mois", _T.MONTH)

KINDS: dict[Kind, KindSpec] = {
    Kind.HEURES: KindSpec(
        Kind.HEURES,
        "stg_heures",
        (
            SIRET_PORTEUR,
            MOIS,
            Column("Code opération", "code_operation", _T.TEXT),
            Column("N° marché", "num_marche", _T.TEXT),
            Column("N° lot", "num_lot", _T.TEXT, required=False),
            Column("SIRET donneur d'ordre", "siret_donneur_ordre", _T.SIRET),
            Column(
                "Type de donneur d'ordre", "type_donneur_ordre", _T.ENUM, enum=TYPE_DONNEUR_ORDRE
            ),
            Column("SIRET employeur", "siret_employeur", _T.SIRET),
            Column("Type d'employeur", "type_employeur", _T.ENUM, enum=TYPE_EMPLOYEUR),
            Column("ID participant", "participant_hash", _T.PARTICIPANT, max_length=64),
            Column(
                "Public prioritaire",
                "public_prioritaire",
                _T.ENUM_LIST,
                required=False,
                enum=PUBLIC_PRIORITAIRE,
            ),
            Column("Modalité", "modalite", _T.ENUM, enum=MODALITE),
            Column("Heures réalisées", "heures_realisees", _T.NUMBER, min=0, max=744, warn_max=220),
            Column("Heures de formation", "heures_formation", _T.NUMBER, required=False, min=0),
            Column("Sexe", "sexe", _T.ENUM, required=False, enum=SEXE),
            Column(
                "Année de naissance",
                "annee_naissance",
                _T.INTEGER,
                required=False,
                min=1940,
                max=2012,
            ),
        ),
        signature=("ID participant", "Heures réalisées"),
    ),
    Kind.MARCHES: KindSpec(
        Kind.MARCHES,
        "stg_marches",
        (
            SIRET_PORTEUR,
            MOIS,
            Column("SIRET donneur d'ordre", "siret_donneur_ordre", _T.SIRET),
            Column(
                "Type de donneur d'ordre", "type_donneur_ordre", _T.ENUM, enum=TYPE_DONNEUR_ORDRE
            ),
            Column("N° marché", "num_marche", _T.TEXT),
            Column("N° lot", "num_lot", _T.TEXT, required=False),
            Column("Objet", "objet", _T.TEXT),
            Column("Nature", "nature", _T.ENUM, enum=NATURE),
            Column("Type de clause", "type_clause", _T.ENUM, enum=TYPE_CLAUSE),
            Column("Montant HT", "montant_ht_cents", _T.AMOUNT, min=0),
            Column("Heures prévues", "heures_prevues", _T.NUMBER, min=0),
            Column("Date de notification", "date_notification", _T.DATE, required=False),
            Column("Grand projet", "grand_projet", _T.ENUM, required=False, enum=GRAND_PROJET),
        ),
        signature=("Type de clause",),
    ),
    Kind.CONTACTS: KindSpec(
        Kind.CONTACTS,
        "stg_contacts",
        (
            SIRET_PORTEUR,
            MOIS,
            Column("Date", "date_contact", _T.DATE),
            Column("SIRET acheteur", "siret_acheteur", _T.SIRET),
            Column(
                "Type de donneur d'ordre", "type_donneur_ordre", _T.ENUM, enum=TYPE_DONNEUR_ORDRE
            ),
            Column("Objet", "objet", _T.TEXT, required=False),
        ),
        signature=("SIRET acheteur",),
    ),
    Kind.PARTENARIATS: KindSpec(
        Kind.PARTENARIATS,
        "stg_partenariats",
        (
            SIRET_PORTEUR,
            MOIS,
            Column("Date", "date_partenariat", _T.DATE),
            Column("Partenaire", "partenaire", _T.TEXT),
            Column("SIRET partenaire", "siret_partenaire", _T.SIRET, required=False),
            Column("Type de partenaire", "type_partenaire", _T.ENUM, enum=TYPE_PARTENAIRE),
            Column("Objet", "objet", _T.TEXT, required=False),
        ),
        signature=("Type de partenaire",),
    ),
    Kind.BILANS: KindSpec(
        Kind.BILANS,
        "stg_bilans",
        (
            SIRET_PORTEUR,
            Column("N° convention", "num_convention", _T.TEXT),
            Column("Millésime", "millesime", _T.INTEGER, min=2000, max=2100),
            Column("Type de bilan", "type_bilan", _T.ENUM, enum=TYPE_BILAN),
            Column("Date du bilan", "date_bilan", _T.DATE),
            Column("Heures d'insertion", "heures_insertion", _T.NUMBER, min=0),
            Column("Bénéficiaires", "beneficiaires", _T.NUMBER, min=0),
            Column("Bénéficiaires ETP", "beneficiaires_etp", _T.NUMBER, min=0),
            Column("Structures inclusives", "structures_inclusives", _T.NUMBER, min=0),
            Column("Contacts acheteurs", "contacts_acheteurs", _T.NUMBER, min=0),
            Column("Marchés accompagnés", "marches_accompagnes", _T.NUMBER, min=0),
            Column("Partenariats", "partenariats", _T.NUMBER, min=0),
            Column("Bilan qualitatif", "bilan_qualitatif", _T.TEXT, required=False),
        ),
        signature=("Type de bilan",),
        unique_within_file=("num_convention", "millesime", "type_bilan"),
    ),
    Kind.CONVENTIONS: KindSpec(
        Kind.CONVENTIONS,
        "stg_conventions",
        (
            Column("N° convention", "num_convention", _T.TEXT),
            Column("Millésime", "millesime", _T.INTEGER, min=2000, max=2100),
            Column("Code région", "code_region", _T.REGION),
            SIRET_PORTEUR,
            Column("Raison sociale", "raison_sociale", _T.TEXT),
            Column("Catégorie juridique", "categorie_juridique", _T.LEGAL_CATEGORY),
            Column("Volet", "volet", _T.ENUM, enum=VOLET),
            Column("ETP conventionnés", "etp_conventionnes", _T.NUMBER, min=0, min_exclusive=True),
            Column("Date de début", "date_debut", _T.DATE),
            Column("Date de fin", "date_fin", _T.DATE),
            Column("Date de recrutement", "date_recrutement", _T.DATE, required=False),
            Column("Coût total", "cout_total_cents", _T.AMOUNT, min=0, min_exclusive=True),
            Column("Subvention État", "subvention_etat_cents", _T.AMOUNT, min=0),
            Column("Cofinancements", "cofinancements_cents", _T.AMOUNT, min=0),
            Column("Cofinanceurs", "cofinanceurs", _T.TEXT, required=False),
            Column(
                "Financements préexistants",
                "financements_preexistants_cents",
                _T.AMOUNT,
                required=False,
                min=0,
            ),
            Column("Date de signature", "date_signature", _T.DATE, required=False),
            Column("Avance versée", "avance_versee_cents", _T.AMOUNT, min=0),
            Column("N° avenant", "num_avenant", _T.INTEGER, min=0),
            Column("Objectif heures", "objectif_heures", _T.NUMBER, required=False, min=0),
            Column(
                "Objectif bénéficiaires", "objectif_beneficiaires", _T.NUMBER, required=False, min=0
            ),
            Column(
                "Objectif bénéficiaires ETP",
                "objectif_beneficiaires_etp",
                _T.NUMBER,
                required=False,
                min=0,
            ),
            Column(
                "Objectif structures inclusives",
                "objectif_structures_inclusives",
                _T.NUMBER,
                required=False,
                min=0,
            ),
            Column(
                "Objectif contacts acheteurs",
                "objectif_contacts_acheteurs",
                _T.NUMBER,
                required=False,
                min=0,
            ),
            Column(
                "Objectif marchés accompagnés",
                "objectif_marches_accompagnes",
                _T.NUMBER,
                required=False,
                min=0,
            ),
            Column(
                "Objectif partenariats", "objectif_partenariats", _T.NUMBER, required=False, min=0
            ),
        ),
        signature=("ETP conventionnés",),
        unique_within_file=("num_convention", "millesime", "num_avenant"),
    ),
}

# Sheet names that fix a sheet's kind whatever its columns (compared with `fold`).
# The columns of KINDS by (header, name), where that names one column only.
_CONTRACT_COLUMNS: dict[tuple[str, str], Column] = {}
_NAMED_TWICE: set[tuple[str, str]] = set()
for _spec in KINDS.values():
    for _column in _spec.columns:
        if _CONTRACT_COLUMNS.setdefault((_column.header, _column.name), _column) is not _column:
            _NAMED_TWICE.add((_column.header, _column.name))
for _key in _NAMED_TWICE:
    del _CONTRACT_COLUMNS[_key]


def contract_column(header: str, name: str) -> Column:
    """The column of KINDS with this header and name (how such a column unpickles)."""
    return _CONTRACT_COLUMNS[header, name]


SHEET_KINDS: dict[str, Kind] = {fold(k.value): k for k in Kind}

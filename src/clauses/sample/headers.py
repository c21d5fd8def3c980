"""Literal headers (contract §2), with the spelling variants a reader must accept (§3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clauses.contract.kinds import (
    Kind,
)

log = logging.getLogger(__name__)

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

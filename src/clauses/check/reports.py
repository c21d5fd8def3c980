"""French reports on a file: why it was refused or quarantined, or what was noticed on loading.

Written for the facilitator who sent the file: each failed rule, how many rows, up to 20 example
rows (line in the original file, column, value) and what to correct. Never any personal data:
those columns were dropped at reading, and participant ids are masked before validation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from clauses.check.expectations import CheckResult
from clauses.contract.decp import FOLDER as DECP_FOLDER
from clauses.contract.kinds import REGIONS
from clauses.contract.vocabulary import Level
from clauses.receive.landing import fitting_name, temporary_name

# A file may hold thousands of unknown columns or sheets: a Motif or a report lists the first
# ones, each name cut to a readable length, and counts the others.
MAX_LISTED = 20
MAX_NAME_CHARS = 80


def _name(text: str) -> str:
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"


def _listed(items: Sequence[str], others: str, separator: str = ", ", *, names: bool = True) -> str:
    """The first MAX_LISTED of ``items`` (names cut to MAX_NAME_CHARS), then how many
    ``others`` (a French plural: "colonnes", "onglets"...) there are beyond; one more item is
    listed rather than counted."""
    listed = items if len(items) <= MAX_LISTED + 1 else items[:MAX_LISTED]
    shown = separator.join(_name(i) if names else i for i in listed)
    rest = len(items) - len(listed)
    return f"{shown} … et {rest} autres {others}" if rest else shown


@dataclass
class FileReport:
    region: str
    receipt_date: date
    file_name: str
    sha256: str
    outcome: str  # 'chargé', 'en quarantaine' or 'refusé'
    refusal: str | None = None
    kinds: list[str] = field(default_factory=list)
    rows: int | None = None
    failures: list[CheckResult] = field(default_factory=list)  # failed checks only
    ignored_sheets: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    personal_columns: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[CheckResult]:
        return [f for f in self.failures if f.level == Level.BLOCKING]

    @property
    def warnings(self) -> list[CheckResult]:
        return [f for f in self.failures if f.level != Level.BLOCKING]

    def reason(self) -> str:
        """One line for fichiers.csv (Motif), of bounded length whatever the file: its lists
        (rules, columns, sheets) name their first MAX_LISTED items and count the others."""
        if self.refusal:
            return self.refusal
        parts = []
        if self.blocking:
            summaries = [_summary(f) for f in self.blocking]
            parts.append(_listed(summaries, "points bloquants", " | ", names=False))
        if self.warnings:
            summaries = [_summary(f) for f in self.warnings]
            parts.append(
                "avertissements : " + _listed(summaries, "avertissements", " ; ", names=False)
            )
        if self.personal_columns:
            parts.append(
                "données personnelles supprimées à la lecture : "
                + _listed(self.personal_columns, "colonnes")
            )
        if self.unknown_columns:
            parts.append("colonnes ignorées : " + _listed(self.unknown_columns, "colonnes"))
        if self.ignored_sheets:
            parts.append("onglets ignorés : " + _listed(self.ignored_sheets, "onglets"))
        return " | ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "fichier": self.file_name,
            "region": self.region,
            "date_de_reception": self.receipt_date.isoformat(),
            "sha256": self.sha256,
            "decision": self.outcome,
            "motif_de_refus": self.refusal,
            "types": self.kinds,
            "lignes": self.rows,
            "regles_en_echec": [
                {
                    "type": str(f.kind),
                    "onglet": f.sheet,
                    "colonne": f.column,
                    "niveau": Level(f.level).label,
                    "regle": f.message,
                    "controle": f.check,
                    "lignes_concernees": f.unexpected_count,
                    "exemples": f.examples,
                }
                for f in self.failures
            ],
            "onglets_ignores": self.ignored_sheets,
            "colonnes_ignorees": self.unknown_columns,
            "colonnes_personnelles_supprimees": self.personal_columns,
        }

    def to_text(self) -> str:
        if self.region == DECP_FOLDER:
            origin = "Données essentielles de la commande publique (DECP), instantané national"
        else:
            origin = f"Région : {self.region} ({REGIONS.get(self.region, ('?', ''))[0]})"
        lines = [
            f"Rapport de contrôle du fichier « {self.file_name} »",
            f"{origin} ; reçu le {self.receipt_date.strftime('%d/%m/%Y')}",
            f"Empreinte SHA-256 : {self.sha256 or '(fichier non lu)'}",
            "",
        ]
        if self.outcome == "refusé":
            lines += [
                "DÉCISION : fichier refusé, il n'a pas été lu et rien n'a été chargé.",
                f"Motif : {self.refusal}",
                "À faire : déposez un fichier .csv ou .xlsx conforme au modèle (colonnes du "
                "contrat de données), sous un nom simple, dans le dossier de votre région.",
            ]
        elif self.outcome == "en quarantaine" and self.region == DECP_FOLDER:
            lines += [
                "DÉCISION : instantané mis en quarantaine. Rien n'a été chargé ; l'instantané "
                "précédent reste en vigueur.",
                f"Motif : {self.refusal}",
                "À faire : vérifiez le fichier téléchargé (format Parquet ou CSV UTF-8, colonnes "
                "du schéma national : uid, id, acheteur_id, dateNotification, montant, "
                "considerationsSociales) puis déposez-le à nouveau, ou attendez la publication "
                "suivante.",
            ]
        elif self.outcome == "en quarantaine":
            lines += [
                "DÉCISION : fichier mis en quarantaine. Rien n'a été chargé : un fichier est "
                "chargé entier ou pas du tout.",
                "À faire : corrigez les points bloquants ci-dessous puis déposez à nouveau le "
                "fichier complet.",
            ]
        else:
            lines.append("DÉCISION : fichier chargé.")
        if self.kinds:
            lines.append(f"Types reconnus : {', '.join(self.kinds)} ; lignes lues : {self.rows}")
        titles = (
            (("Lignes exclues (règles du contrat, §8.1)", self.failures),)
            if self.region == DECP_FOLDER
            else (("Points bloquants", self.blocking), ("Avertissements", self.warnings))
        )
        for title, items in titles:
            if not items:
                continue
            lines += ["", f"{title} :"]
            for number, failure in enumerate(items, 1):
                sheet = f" / onglet {_name(failure.sheet)}" if failure.sheet else ""
                where = f"[{failure.kind}{sheet}]"
                column = f" colonne « {failure.column} » :" if failure.column else ""
                lines.append(
                    f"{number}. {where}{column} {failure.message} ; "
                    f"{failure.unexpected_count} ligne(s) concernée(s)"
                )
                for example in failure.examples:
                    lines.append(f"     ligne {example['ligne']} : {example['valeur']}")
        if self.personal_columns:
            lines += [
                "",
                "Colonnes de données personnelles supprimées à la lecture (leurs valeurs n'ont été "
                "ni chargées ni conservées ; ne les envoyez plus) : "
                + _listed(self.personal_columns, "colonnes"),
            ]
        if self.unknown_columns:
            lines += [
                "",
                "Colonnes inconnues, ignorées : " + _listed(self.unknown_columns, "colonnes"),
            ]
        if self.ignored_sheets:
            lines += [
                "",
                "Onglets sans type reconnu, ignorés : " + _listed(self.ignored_sheets, "onglets"),
            ]
        return "\n".join(lines) + "\n"


def _summary(failure: CheckResult) -> str:
    column = f"{failure.column} : " if failure.column else ""
    return f"{column}{failure.message} ({failure.unexpected_count} ligne(s))"


def write_report(folder: Path, report: FileReport) -> Path:
    """Write `<file>.rapport.txt` and its JSON twin in `folder`; returns the text report path.

    A file name too long to take the suffix within the file system's limit is shortened
    (`fitting_name`), the same for both; the reports name the file in full.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    safe_name = report.file_name.encode("utf-8", "replace").decode("utf-8")
    stem = fitting_name(safe_name, len(".rapport.json"))
    text_path = folder / f"{stem}.rapport.txt"
    _write_private(text_path, report.to_text())
    _write_private(
        folder / f"{stem}.rapport.json",
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n",
    )
    return text_path


def _write_private(path: Path, text: str) -> None:
    """Write then rename: concurrent runs writing the same report never see a partial one."""
    tmp = path.with_name(temporary_name(path.name))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)

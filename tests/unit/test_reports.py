"""French reports on a file (contract §4, §7): written whatever the file's name."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from clauses.check.expectations import CheckResult
from clauses.check.reports import FileReport, write_report
from clauses.contract.kinds import Kind
from clauses.contract.vocabulary import Level

NAME_MAX = 255  # bytes in a file name (ext4, XFS, tmpfs...)


def test_reports_of_a_long_name_fit_the_file_system_and_name_the_file_in_full(
    tmp_path: Path,
) -> None:
    for name in (
        "é" * 123 + ".csv",  # 250 bytes: a valid name (contract §1)
        "latin1-" + "\\xe9" * 200 + ".csv",  # a name shown with escapes: 811 bytes
    ):
        report = FileReport("11", date(2025, 6, 2), name, "", "refusé", refusal="motif")
        folder = tmp_path / str(len(name))
        text_path = write_report(folder, report)
        json_path = text_path.with_name(text_path.name.replace(".txt", ".json"))
        assert {p.name for p in folder.iterdir()} == {text_path.name, json_path.name}
        assert len(json_path.name.encode()) <= NAME_MAX
        assert text_path.name.startswith(name[:50])
        assert f"« {name} »" in text_path.read_text(encoding="utf-8")
        twin = json.loads(json_path.read_text(encoding="utf-8"))
        assert twin["fichier"] == name
    short = write_report(tmp_path, FileReport("11", date(2025, 6, 2), "a.csv", "", "refusé"))
    assert short.name == "a.csv.rapport.txt"  # a name that fits is kept as is


def _failure(level: str, column: str) -> CheckResult:
    return CheckResult(Kind.HEURES, None, "check", column, level, "valeur invalide", False, 2, 1)


def test_motif_and_report_stay_short_whatever_the_file_holds() -> None:
    """Ten thousand unknown columns (some with a long header), personal-data columns and
    sheets, a hundred failed rules: the Motif (fichiers.csv, warehouse) names the first 20 of
    each list, each name cut, and counts the others; the JSON twin keeps every name."""
    unknown = ["x" * 500] + [f"colonne {n}" for n in range(9_999)]
    report = FileReport(
        "11",
        date(2025, 6, 2),
        "large.xlsx",
        "0" * 64,
        "en quarantaine",
        kinds=["Heures"],
        rows=2,
        failures=[_failure(Level.BLOCKING, f"c{n}") for n in range(100)]
        + [_failure(Level.WARNING, f"w{n}") for n in range(30)],
        ignored_sheets=[f"Feuille {n}" for n in range(500)],
        unknown_columns=unknown,
        personal_columns=[f"Nom {n}" for n in range(1_000)],
    )
    motif = report.reason()
    assert len(motif) < 4_000, len(motif)
    assert "colonnes ignorées : " + "x" * 79 + "…, colonne 0, colonne 1" in motif
    assert "colonne 18 … et 9980 autres colonnes" in motif and "colonne 19" not in motif
    assert "Nom 19 … et 980 autres colonnes" in motif
    assert "Feuille 19 … et 480 autres onglets" in motif
    assert "c19 : valeur invalide (1 ligne(s)) … et 80 autres points bloquants" in motif
    assert "w19 : valeur invalide (1 ligne(s)) … et 10 autres avertissements" in motif
    text = report.to_text()
    assert len(text) < 20_000, len(text)
    assert "colonne 18 … et 9980 autres colonnes" in text
    assert "100. [Heures] colonne « c99 »" in text  # every failed rule named (contract §4)
    assert report.to_dict()["colonnes_ignorees"] == unknown
    one_more = FileReport(
        "11", date(2025, 6, 2), "a.csv", "", "chargé", unknown_columns=[f"k{n}" for n in range(21)]
    )
    assert one_more.reason() == "colonnes ignorées : " + ", ".join(f"k{n}" for n in range(21))

"""A whole run on the hand-computed landing zone of tests/small_landing.py (SQLite warehouse).

The tests that only look at what a run as of 2025-03-01 left share one such run (`run_2025`);
the others make their own, on a copy of the session's migrated warehouse, except
test_no_personal_data_reaches_warehouse_or_outputs: it reads the bytes of warehouse.sqlite right
after its own run from a new warehouse, as it always did (a migrated copy, or a file checkpointed
since, holds the calendar and the regions, in which `P1` and `Martin` occur)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.small_landing import (
    EXPECTED_CONVENTION_2025_03_01,
    EXPECTED_FILES_2025_03_01,
    write_small_landing,
)

from clauses.config import load_settings
from clauses.run.pipeline import RunReport, run_date
from clauses.warehouse.engine import make_engine

PERSONAL_VALUES = ("Dupont", "Durand", "Martin", "Petit")
KEY = "small-landing-test-key"


@pytest.fixture(scope="module")
def run_2025(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunReport]:
    """One run as of 2025-03-01 on the hand-computed landing zone, from a new warehouse: its
    data folder and report, for the tests that only read what it left."""
    data_dir = tmp_path_factory.mktemp("run_2025") / "data"
    write_small_landing(data_dir / "landing")
    settings = load_settings(env={"CLAUSES_DATA_DIR": str(data_dir), "CLAUSES_PSEUDONYM_KEY": KEY})
    return data_dir, run_date(settings, date(2025, 3, 1))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def dump_facts(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    tables = ("raw_files", "raw_loads", "stg_heures", "stg_conventions", "stg_bilans")
    with engine.connect() as connection:
        return {
            t: sorted(
                tuple(
                    v
                    for k, v in r._mapping.items()
                    if k
                    not in (
                        "file_id",
                        "load_id",
                        "run_id",
                        "registered_at",
                        "loaded_at",
                        "report_path",
                    )
                )
                for r in connection.execute(sa.text(f"SELECT * FROM {t}"))
            )
            for t in tables
        }


def test_run_matches_hand_computed_figures(run_2025: tuple[Path, RunReport]) -> None:
    data_dir, report = run_2025
    assert report.regions["11"]["loaded"] == 6
    assert report.regions["11"]["quarantined"] == 1
    assert report.regions["11"]["refused"] == 1
    assert report.regions["11"]["copies"] == 1
    with make_engine(f"sqlite:///{data_dir / 'warehouse.sqlite'}").connect() as connection:
        summary = connection.execute(
            sa.text(
                "SELECT files_received, files_loaded, rows_loaded, n_en_cours, n_a_examiner, "
                "n_liberable FROM run_summaries WHERE run_id = :run AND region = '11'"
            ),
            {"run": report.run_id},
        ).one()
    assert tuple(summary) == (9, 6, 7, 0, 1, 0)  # 4 Heures rows, 1 convention, 2 bilans

    folder = data_dir / "extracts" / "11" / "2025-03-01"
    rows = read_csv(folder / "conventions.csv")
    assert rows == [EXPECTED_CONVENTION_2025_03_01]

    files = {r["Fichier"]: r for r in read_csv(folder / "fichiers.csv")}
    assert {name: r["Statut"] for name, r in files.items()} == EXPECTED_FILES_2025_03_01
    assert files["notice.pdf"]["SHA-256"] == "" and files["notice.pdf"]["Lignes"] == ""
    assert files["heures_2024-01.csv"]["Lignes"] == "2"
    assert "220" in files["heures_2024-01.csv"]["Motif"]  # the warning is reported
    assert "Nom" in files["heures_2024-01.csv"]["Motif"]  # the dropped personal column too
    assert "SIRET employeur" in files["heures_errone.csv"]["Motif"]

    anomalies = read_csv(folder / "anomalies.csv")
    assert [(a["Règle"], a["Niveau"]) for a in anomalies] == [
        ("R01", "avertissement"),
        ("R08", "avertissement"),
    ]
    assert all(a["Explication"] for a in anomalies)

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2025-03-01" and manifest["rules_version"] == "contrat-1.1"
    assert {o["file"] for o in manifest["outputs"]} == {
        "conformite_11_2025-03-01.xlsx",
        "synthese.csv",
        "conventions.csv",
        "anomalies.csv",
        "fichiers.csv",
        "synthese.html",
    }
    # the figures rest on the register, both reports and the two current Heures files
    assert len(manifest["sources"]) == 5

    national = data_dir / "extracts" / "national" / "2025-03-01"
    assert (national / "consolidation_nationale_2025-03-01.xlsx").exists()


def test_quarantine_keeps_the_file_and_a_french_report(run_2025: tuple[Path, RunReport]) -> None:
    data_dir, _ = run_2025
    folder = data_dir / "quarantine" / "11" / "2024-04-02"
    original = data_dir / "landing" / "11" / "2024-04-02" / "heures_errone.csv"
    assert (folder / "heures_errone.csv").read_bytes() == original.read_bytes()
    report = (folder / "heures_errone.csv.rapport.txt").read_text(encoding="utf-8")
    assert "mis en quarantaine" in report and "SIRET employeur" in report
    assert "ligne 2 : 12345678901234" in report
    twin = json.loads((folder / "heures_errone.csv.rapport.json").read_text(encoding="utf-8"))
    assert twin["regles_en_echec"][0]["lignes_concernees"] == 1
    refused = (folder / "notice.pdf.rapport.txt").read_text(encoding="utf-8")
    assert "refusé" in refused and ".csv" in refused


def test_figures_as_of_an_earlier_date(data_dir: Path, sqlite_warehouse: str) -> None:
    write_small_landing(data_dir / "landing")
    run_date(load_settings(), date(2024, 3, 10))
    folder = data_dir / "extracts" / "11" / "2024-03-10"
    (row,) = read_csv(folder / "conventions.csv")
    assert row["Heures"] == "421,00"  # 100.5 + 250 + 70.5: the correction is not received yet
    assert row["Décision"] == "en cours" and row["Montant proposé"] == ""
    statuses = {r["Fichier"]: r["Statut"] for r in read_csv(folder / "fichiers.csv")}
    assert statuses == {
        "registre_2024.csv": "chargé",
        "heures_2024-01.csv": "chargé",
        "heures_2024-02.csv": "chargé",
    }


def test_rerun_and_second_date_leave_identical_facts(data_dir: Path, sqlite_warehouse: str) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    run_date(settings, date(2025, 3, 1))
    first = dump_facts(settings.warehouse_url)
    run_date(settings, date(2025, 3, 1))
    run_date(settings, date(2024, 6, 1))
    assert dump_facts(settings.warehouse_url) == first


def test_no_personal_data_reaches_warehouse_or_outputs(data_dir: Path) -> None:
    write_small_landing(data_dir / "landing")
    run_date(load_settings(), date(2025, 3, 1))
    warehouse = (data_dir / "warehouse.sqlite").read_bytes()
    for value in (*PERSONAL_VALUES, "P1", "P2", "P3"):
        assert value.encode() not in warehouse.replace(b"OP1", b""), value
    for path in (data_dir / "extracts").rglob("*"):
        if path.suffix in (".csv", ".json"):
            text = path.read_text(encoding="utf-8-sig")
            assert not any(v in text for v in PERSONAL_VALUES), path
    for path in (data_dir / "quarantine").rglob("*.rapport.*"):
        text = path.read_text(encoding="utf-8")
        assert not any(v in text for v in PERSONAL_VALUES), path


def test_national_extract_and_target(run_2025: tuple[Path, RunReport]) -> None:
    data_dir, _ = run_2025
    national = data_dir / "extracts" / "national" / "2025-03-01"
    regions = read_csv(national / "regions.csv")
    assert [r["Région"] for r in regions] == ["Île-de-France", "Total national"]
    assert regions[-1]["Heures"] == "430,50" and regions[-1]["À examiner"] == "1"
    assert regions[-1]["Solde à examiner"] == "1114,75"
    (target,) = read_csv(national / "objectif_national.csv")
    assert target["Cible nationale (ETP)"] == "585,00"
    assert target["Atteinte de la cible"] == "0,0009"  # 0.502732 / 585


def test_delivery_confined_to_each_region_outbox(
    data_dir: Path, sqlite_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_small_landing(data_dir / "landing")
    (data_dir / "landing" / "24" / "2024-05-02").mkdir(parents=True)
    (data_dir / "landing" / "24" / "2024-05-02" / "vide.csv").write_text("")
    monkeypatch.setenv("CLAUSES_OUTBOX_TEMPLATE", str(tmp_path / "outbox-{region}"))
    run_date(load_settings(), date(2025, 3, 1))
    delivered = sorted(
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if "outbox" in p.as_posix() and p.is_file()
    )
    assert "outbox-11/2025-03-01/conventions.csv" in delivered
    assert "outbox-24/2025-03-01/fichiers.csv" in delivered
    assert not any("national" in p for p in delivered)
    eleven = (tmp_path / "outbox-11" / "2025-03-01" / "fichiers.csv").read_text("utf-8-sig")
    twenty_four = (tmp_path / "outbox-24" / "2025-03-01" / "fichiers.csv").read_text("utf-8-sig")
    assert "vide.csv" in twenty_four and "vide.csv" not in eleven
    assert "heures_2024-01.csv" not in twenty_four
    assert (
        oct((tmp_path / "outbox-11" / "2025-03-01" / "conventions.csv").stat().st_mode)[-3:]
        == "640"
    )

"""`clauses explain` and `clauses diff` on the hand-computed landing zone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from support.small_landing import write_small_landing

from clauses.config import load_settings
from clauses.run.audit import diff, explain
from clauses.run.pipeline import run_date
from clauses.warehouse.engine import make_engine


def test_explain_and_diff(data_dir: Path, sqlite_warehouse: str) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    run_date(settings, date(2025, 3, 1))
    engine = make_engine(settings.warehouse_url)

    text = explain(engine, "C-11-001", 2024, date(2025, 3, 1))
    assert "Fraction en poste f = 0,502732" in text
    assert "Subvention éligible = min(subvention, plafond) × f, arrondie au centime = " in text
    assert "21\u202f114,75 €" in text and "1\u202f114,75 €" in text
    assert "R01 (niveau avertissement) : EN ÉCHEC" in text
    assert "R04 (niveau bloquant) : respectée" in text
    assert "Décision : à examiner" in text
    assert text.count("registre_2024.csv") == 1 and "heures_2024-02.csv" not in text

    # 2024-12-31 is computed on demand: still running; by 2025-03-01 decided.
    changes = diff(engine, date(2024, 12, 31), date(2025, 3, 1), "11")
    assert "C-11-001 (2024) : en cours -> à examiner 1\u202f114,75 €" in changes
    assert "Fichiers reçus entre les deux dates : 1" in changes
    assert "bilan_annuel.csv : chargé" in changes
    assert "inconnue" in explain(engine, "C-99", 2024, date(2025, 3, 1))

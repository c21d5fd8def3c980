"""A rules file of a millésime, applied by a real run: only what it changes changes."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

from support.small_landing import write_small_landing

from clauses.compute.figures import compute_as_of
from clauses.config import RULES_DIR, load_settings
from clauses.publish.tables import region_tables
from clauses.run.pipeline import run_date
from clauses.warehouse.engine import make_engine


def test_a_new_rate_changes_exactly_the_capped_strand(
    data_dir: Path, sqlite_warehouse: str, tmp_path: Path
) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    run_date(settings, date(2025, 3, 1))
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    shutil.copy(RULES_DIR / "default.toml", rules_dir / "default.toml")
    (rules_dir / "2024.toml").write_text(
        'version = "dreets-2024-75"\n[amounts]\nrate_default = 0.75\n'
    )

    engine = make_engine(settings.warehouse_url)
    compute_as_of(engine, date(2025, 3, 1), rules_dir)
    with engine.connect() as connection:
        tables, manifest = region_tables(connection, "11", date(2025, 3, 1))
    conventions = next(t for t in tables if t.name == "conventions")
    headers = [h for h, _ in conventions.columns]
    (row,) = [dict(zip(headers, r, strict=True)) for r in conventions.rows]
    # 45 000 € is now exactly 75 % of 60 000 €: R01 passes (bounds are inclusive)
    assert row["Règles en échec"] == "R08"
    assert str(row["Subvention éligible"]) == "22622.95"  # 45 000 × 184 / 366, half up
    assert str(row["Solde théorique"]) == "2622.95"
    assert row["Décision"] == "à examiner"
    assert manifest["rules_version"] == "dreets-2024-75"
    with open(data_dir / "extracts/11/2025-03-01/conventions.csv", encoding="utf-8-sig") as fh:
        published = next(csv.DictReader(fh, delimiter=";"))
    assert published["Règles en échec"] == "R01|R08"  # the published extract is untouched

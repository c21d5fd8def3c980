"""A value the expectations let through but PostgreSQL refuses (a data exception): the file is
quarantined whole with a French report naming the row, the column and the value, and every
other file of the region loads, whether it was loaded in a group of small files or streamed by
batches.

The refusal is real: a staging column is narrowed (`Code opération` to 8 characters), a limit
the data contract does not state, so that a valid file holds a value the warehouse cannot store.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.contract_files import HEURES, heures_row, write_csv

from clauses.check import examine
from clauses.config import Settings
from clauses.load.ingest import ingest_regions
from clauses.load.writes import WAREHOUSE_CHECK
from clauses.read import csv_files
from clauses.receive.landing import LandingEntry
from clauses.warehouse.engine import make_engine, migrate

pytestmark = pytest.mark.postgres

KEY = b"refusal-test-key"
DAY = date(2024, 6, 1)
TOO_LONG = "OPERATION-TROP-LONGUE"


@pytest.mark.parametrize("streamed", [False, True], ids=["group", "streamed"])
def test_a_value_the_warehouse_refuses_quarantines_its_file_alone(
    postgres_warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    postgres_url = postgres_warehouse_url
    if streamed:  # files of more than 700 bytes are read and loaded by batches of 40 rows
        monkeypatch.setattr(csv_files, "CSV_BLOCK_BYTES", 700)
        monkeypatch.setattr(examine, "STREAM_CELLS", 16 * 40)
    settings = Settings(tmp_path / "data", postgres_url, KEY)
    folder = settings.landing_dir / "11" / DAY.isoformat()
    folder.mkdir(parents=True)
    good = write_csv(folder / "bon.csv", HEURES, [heures_row(i) for i in range(100)])
    rows = [heures_row(i + 1000) for i in range(100)]
    rows[96] = heures_row(1096, **{"Code opération": TOO_LONG})  # line 98, in the last batch
    bad = write_csv(folder / "mauvais.csv", HEURES, rows)
    other = write_csv(folder / "autre.csv", HEURES, [heures_row(i + 2000) for i in range(100)])
    engine = make_engine(postgres_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text("ALTER TABLE stg_heures ALTER COLUMN code_operation TYPE varchar(8)")
        )
    entries = [LandingEntry("11", DAY, p.name, p) for p in (good, bad, other)]
    outcome = ingest_regions(engine, settings, {"11": entries}, "refusal-run")["11"]

    assert outcome.error is None
    assert (outcome.loaded, outcome.quarantined, outcome.rows_loaded) == (2, 1, 200)
    assert outcome.quarantined_files == ["mauvais.csv"]
    with engine.connect() as connection:
        loaded = dict(
            connection.execute(
                sa.text(
                    "SELECT f.file_name, COUNT(*) FROM stg_heures h JOIN raw_files f "
                    "ON f.sha256 = h.file_sha256 GROUP BY f.file_name"
                )
            ).all()
        )
        statuses = dict(
            connection.execute(sa.text("SELECT file_name, status FROM raw_files")).all()
        )
        (examples,) = connection.execute(
            sa.text("SELECT examples FROM dq_results WHERE expectation = :check AND NOT success"),
            {"check": WAREHOUSE_CHECK},
        ).one()
    assert loaded == {"bon.csv": 100, "autre.csv": 100}
    assert statuses == {"bon.csv": "loaded", "autre.csv": "loaded", "mauvais.csv": "quarantined"}
    assert json.loads(examples) == [{"ligne": 98, "colonne": "Code opération", "valeur": TOO_LONG}]
    quarantine = settings.quarantine_dir / "11" / DAY.isoformat()
    assert (quarantine / "mauvais.csv").read_bytes() == bad.read_bytes()
    report = (quarantine / "mauvais.csv.rapport.txt").read_text(encoding="utf-8")
    assert "colonne « Code opération » : valeur que l'entrepôt de données ne peut pas" in report
    assert f"ligne 98 : {TOO_LONG}" in report
    engine.dispose()

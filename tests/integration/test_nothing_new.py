"""A run with nothing new (a night without files, most runs of a backfill) reads nothing and
does not import the readers, pandas or Great Expectations; a changed file is still read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.small_landing import write_small_landing

PROBE = """
import json, sys
from datetime import date
from clauses.config import load_settings
from clauses.run.pipeline import run_date
report = run_date(load_settings(), date.fromisoformat(sys.argv[1]))
print(json.dumps({
    "imported": sorted(m for m in ("pandas", "great_expectations", "clauses.load.ingest",
                                   "clauses.check.examine") if m in sys.modules),
    "regions": report.regions,
}))
"""


def _run(data_dir: Path, day: str) -> dict:
    env = {**os.environ, "CLAUSES_DATA_DIR": str(data_dir), "CLAUSES_PSEUDONYM_KEY": "k"}
    env.pop("CLAUSES_WAREHOUSE_URL", None)  # the data folder's own SQLite warehouse
    done = subprocess.run(
        [sys.executable, "-c", PROBE, day], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_with_nothing_new_imports_no_reader(tmp_path: Path) -> None:
    write_small_landing(tmp_path / "landing")
    first = _run(tmp_path, "2025-03-01")
    assert "clauses.load.ingest" in first["imported"]
    assert first["regions"]["11"]["loaded"] > 0

    again = _run(tmp_path, "2025-03-02")
    assert again["imported"] == []
    region = again["regions"]["11"]
    assert region["received"] == region["already_known"] == first["regions"]["11"]["received"]
    assert region["loaded"] == region["refused"] == region["quarantined"] == 0

    # The same name with other bytes is a new entry: read, checked and registered.
    changed = tmp_path / "landing" / "11" / "2024-04-02" / "heures_errone.csv"
    changed.write_bytes(changed.read_bytes() + b"\n")
    third = _run(tmp_path, "2025-03-03")
    assert "clauses.load.ingest" in third["imported"]
    assert third["regions"]["11"]["already_known"] == region["received"] - 1

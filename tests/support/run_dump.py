"""What a run left, to compare two runs that should leave the same: rows of warehouse tables
(without the columns that differ from run to run) and the CSV files of its extracts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from clauses.warehouse.engine import make_engine

# Ids, run and load ids, times: never the same twice.
VARYING = frozenset({"file_id", "load_id", "run_id", "loaded_at", "received_at", "registered_at"})


def left_by_run(
    url: str, data_dir: Path, tables: Iterable[str], varying: Iterable[str] = VARYING
) -> dict[str, Any]:
    """Each table's rows (sorted, report paths made relative to ``data_dir``) and each CSV
    output's bytes but the execution log's."""
    left_out = set(varying)
    engine = make_engine(url)
    dumped: dict[str, Any] = {}
    with engine.connect() as connection:
        for table in tables:
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).mappings()
            dumped[table] = sorted(
                repr(sorted((k, v) for k, v in row.items() if k not in left_out)).replace(
                    str(data_dir), "<data>"
                )
                for row in rows
            )
    engine.dispose()
    extracts = data_dir / "extracts"
    dumped["csv"] = {
        str(p.relative_to(extracts)): p.read_bytes()
        for p in sorted(extracts.rglob("*.csv"))
        if p.name != "execution.csv"
    }
    return dumped

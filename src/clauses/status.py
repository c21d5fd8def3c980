"""Per-region status for the data engineers (the Airflow UI page of plugins/clauses_airflow.py):
the last files received, the quarantined ones, and the decisions of the last computed date."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clauses.contract import REGIONS

STATUS_FR = {"loaded": "chargé", "quarantined": "en quarantaine", "refused": "refusé"}


def region_status(engine: Engine, last_files: int = 5) -> dict[str, Any]:
    """{"as_of": last computed date or None, "regions": [per region: files, quarantined,
    decisions, last run summary]}; every value JSON-serialisable."""
    with engine.connect() as connection:
        as_of = connection.execute(sa.text("SELECT MAX(as_of) FROM mart_conventions")).scalar()
        files = connection.execute(
            sa.text(
                "SELECT region, receipt_date, file_name, status, reason FROM raw_files "
                "ORDER BY region, receipt_date DESC, file_name DESC"
            )
        ).all()
        decisions = connection.execute(
            sa.text(
                "SELECT code_region, decision, COUNT(*) FROM mart_conventions "
                "WHERE as_of = :d GROUP BY code_region, decision"
            ),
            {"d": as_of},
        ).all()
        runs = (
            connection.execute(
                sa.text(
                    "SELECT region, run_id, as_of, files_received, files_loaded, "
                    "files_quarantined, files_refused, rows_loaded, seconds, error, finished_at "
                    "FROM run_summaries "
                    "ORDER BY finished_at"
                )
            )
            .mappings()
            .all()
        )
    regions = []
    for code, (name, service) in REGIONS.items():
        mine = [f for f in files if f[0] == code]
        last_run = next((dict(r) for r in reversed(runs) if r["region"] == code), None)
        regions.append(
            {
                "region": code,
                "name": name,
                "service": service,
                "last_files": [
                    {"received": str(d), "file": n, "status": STATUS_FR.get(s, s)}
                    for _, d, n, s, _ in mine[:last_files]
                ],
                "quarantined": [
                    {"received": str(d), "file": n, "reason": r}
                    for _, d, n, s, r in mine
                    if s == "quarantined"
                ],
                "decisions": {d: n for c, d, n in decisions if c == code},
                "last_run": {k: str(v) if v is not None else None for k, v in last_run.items()}
                if last_run
                else None,
            }
        )
    return {"as_of": str(as_of) if as_of else None, "regions": regions}

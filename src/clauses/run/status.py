"""Per-region status for the data engineers (the Airflow UI page of plugins/clauses_airflow.py):
the last files received, the quarantined ones, and the decisions of the last computed date; and
the decisions and durations each run adds to its summary rows."""

from __future__ import annotations

import functools
import logging
from datetime import date
from typing import Any

import jinja2
from sqlalchemy.engine import Engine

from clauses.contract.kinds import REGIONS
from clauses.contract.vocabulary import DECISIONS, FileStatus
from clauses.warehouse.engine import sql_query

log = logging.getLogger(__name__)


def _status_label(status: str) -> str:
    try:
        return FileStatus(status).label
    except ValueError:  # a status of another version of the registry: shown as stored
        return status


def region_status(engine: Engine, last_files: int = 5) -> dict[str, Any]:
    """{"as_of": last computed date or None, "regions": [per region: files, quarantined,
    decisions, last run summary]}; every value JSON-serialisable."""
    with engine.connect() as connection:
        as_of = connection.execute(sql_query("select_last_computed_date")).scalar()
        files = connection.execute(sql_query("select_files_latest_first")).all()
        decisions = connection.execute(sql_query("select_decision_counts"), {"as_of": as_of}).all()
        runs = connection.execute(sql_query("select_run_summaries")).mappings().all()
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
                    {
                        "received": str(d),
                        "file": n,
                        "status": FileStatus(s).label if s in tuple(FileStatus) else s,
                    }
                    for _, d, n, s, _ in mine[:last_files]
                ],
                "quarantined": [
                    {"received": str(d), "file": n, "reason": r}
                    for _, d, n, s, r in mine
                    if s == FileStatus.QUARANTINED
                ],
                "decisions": {d: n for c, d, n in decisions if c == code},
                "last_run": {k: str(v) if v is not None else None for k, v in last_run.items()}
                if last_run
                else None,
            }
        )
    return {"as_of": str(as_of) if as_of else None, "regions": regions}


DECISION_COLUMNS = {decision: decision.count_column for decision in DECISIONS}


def record_decisions(
    engine: Engine, run_id: str, as_of: date, compute_s: float, publish_s: float
) -> None:
    """Complete the run's summary rows with each region's decisions and the run's compute and
    publication times; log one line per region."""
    with engine.begin() as connection:
        counts = connection.execute(sql_query("select_decision_counts"), {"as_of": as_of}).all()
        summaries = (
            connection.execute(sql_query("select_run_summaries_of_run"), {"run": run_id})
            .mappings()
            .all()
        )
        for summary in summaries:
            region = summary["region"]
            decided = {d: n for r, d, n in counts if r == region}
            connection.execute(
                sql_query("update_run_summary_decisions"),
                {
                    **{c: decided.get(d, 0) for d, c in DECISION_COLUMNS.items()},
                    "compute": compute_s,
                    "publish": publish_s,
                    "run": run_id,
                    "region": region,
                },
            )
            log.info(
                "region %s as of %s: %d files received (%d loaded, %d quarantined, %d refused), "
                "%d rows loaded in %.1f s; decisions: %s%s",
                region,
                as_of,
                summary["files_received"],
                summary["files_loaded"],
                summary["files_quarantined"],
                summary["files_refused"],
                summary["rows_loaded"],
                summary["seconds"],
                ", ".join(f"{d} {n}" for d, n in sorted(decided.items())) or "none",
                f"; ERROR {summary['error']}" if summary["error"] else "",
            )


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("clauses.run", "templates"),
        autoescape=True,  # file names and errors come from outside: always escaped
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_status_page(status: dict[str, Any]) -> str:
    """The status page (`region_status`) as one HTML document, every value escaped."""
    return _templates().get_template("status.html").render(**status)

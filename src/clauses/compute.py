"""Figures, rules and decisions as of a date (contract §5-6), set-based SQL from `sql/`.

A computation replaces every row of its date in the mart tables, inside one transaction, so a
nightly run and a backfill of the same date leave the same rows, and an interrupted one leaves
the previous state.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.config import RULES_DIR
from clauses.explanations import describe
from clauses.rules import refresh_rule_tables
from clauses.warehouse import COMPUTE_LOCK, sql_statements

log = logging.getLogger(__name__)

MART_TABLES = (
    "mart_conventions",
    "mart_rule_results",
    "mart_regions",
    "mart_files",
    "mart_convention_sources",
    "mart_monthly_hours",
)
WORK_TABLES = ("work_activity", "work_bilans", "work_strands", "work_partitions", "work_contents")
STAGING_TABLES = (
    "raw_files",
    "stg_heures",
    "stg_marches",
    "stg_contacts",
    "stg_partenariats",
    "stg_bilans",
    "stg_conventions",
)
STEPS = (
    "insert_work_contents",
    "insert_work_partitions",
    "insert_work_strands",
    "insert_work_bilans",
    "insert_work_activity",
    "insert_mart_conventions",
    "insert_mart_rule_results",
    "update_mart_conventions_decision",
    "insert_mart_regions",
    "insert_mart_files",
    "insert_mart_convention_sources",
    "insert_mart_monthly_hours",
)


def compute_as_of(engine: Engine, as_of: date, rules_dir: Path = RULES_DIR) -> dict[str, int]:
    """Recompute every mart row of `as_of`; returns the count of strands per decision."""
    params = {"as_of": as_of}
    with engine.begin() as connection:
        _lock(connection)
        refresh_rule_tables(connection, rules_dir)
        for table in (*MART_TABLES, *WORK_TABLES):
            connection.execute(sa.text(f"DELETE FROM {table} WHERE as_of = :as_of"), params)
        _analyze(connection, STAGING_TABLES)
        for step in STEPS:
            for statement in sql_statements(step):
                connection.execute(statement, params)
            if step.startswith("insert_work_"):
                _analyze(connection, (step.removeprefix("insert_"),))
        _write_explanations(connection, as_of)
        for table in WORK_TABLES:
            connection.execute(sa.text(f"DELETE FROM {table} WHERE as_of = :as_of"), params)
        decisions: dict[str, int] = dict(
            connection.execute(
                sa.text(
                    "SELECT decision, COUNT(*) FROM mart_conventions WHERE as_of = :as_of "
                    "GROUP BY decision"
                ),
                params,
            ).all()
        )
    log.info("computed figures as of %s: %s", as_of, decisions)
    return decisions


def _analyze(connection: Connection, tables: tuple[str, ...]) -> None:
    """Fresh planner statistics on PostgreSQL: right after a bulk load or a work-table fill,
    stale ones make it choose nested loops (a national year's compute went from seconds to
    minutes without this). SQLite's planner needs none here."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"ANALYZE {', '.join(tables)}"))


def _lock(connection: Connection) -> None:
    """Serialise computations (PostgreSQL; SQLite serialises writers already): every date
    rewrites the shared rule tables, and a backfill runs several dates at once."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMPUTE_LOCK})


def _write_explanations(connection: Connection, as_of: date) -> None:
    rows = (
        connection.execute(
            sa.text(
                "SELECT num_convention, millesime, rule_id, measured_num, expected_num, "
                "measured_num2, expected_num2, measured_date, expected_date "
                "FROM mart_rule_results WHERE as_of = :as_of AND status = 'failed'"
            ),
            {"as_of": as_of},
        )
        .mappings()
        .all()
    )
    updates = []
    for row in rows:
        measured, expected, explanation = describe(row["rule_id"], dict(row))
        updates.append(
            {
                "as_of": as_of,
                "num_convention": row["num_convention"],
                "millesime": row["millesime"],
                "rule_id": row["rule_id"],
                "measured_text": measured,
                "expected_text": expected,
                "explanation": explanation,
            }
        )
    if updates:
        connection.execute(
            sa.text(
                "UPDATE mart_rule_results SET measured_text = :measured_text, "
                "expected_text = :expected_text, explanation = :explanation "
                "WHERE as_of = :as_of AND num_convention = :num_convention "
                "AND millesime = :millesime AND rule_id = :rule_id"
            ),
            updates,
        )


__all__ = ["compute_as_of"]

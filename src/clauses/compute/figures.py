"""Figures, rules and decisions as of a date (contract §5-6), and the public procurement figures
(§8.3), set-based SQL from `sql/`.

A computation replaces every row of its date in the mart tables, inside one transaction, so a
nightly run and a backfill of the same date leave the same rows, and an interrupted one leaves
the previous state.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import clauses.compute
import clauses.contract
from clauses.compute.explanations import describe
from clauses.compute.procurement import fill_contract_keys, procurement_params
from clauses.compute.rules import Rules, refresh_procurement_rules, refresh_rule_tables, rules_for
from clauses.config import RULES_DIR, SQL_DIR
from clauses.fingerprint import update_with_sources
from clauses.warehouse.engine import (
    COMPUTE_LOCK,
    analyze,
    analyze_apart,
    as_date,
    insert_mappings,
    lock_for_transaction,
    sql_query,
    sql_statements,
)

log = logging.getLogger(__name__)

MART_TABLES = (
    "mart_conventions",
    "mart_rule_results",
    "mart_regions",
    "mart_files",
    "mart_convention_sources",
    "mart_monthly_hours",
    "mart_decp_files",
    "mart_procurement",
    "mart_procurement_buyers",
)
REANALYZE_GROWTH = 0.1  # staging rows added since the last ANALYZE, as a share, that call for one
STAGING_TABLES = (
    "raw_files",
    "stg_heures",
    "stg_marches",
    "stg_contacts",
    "stg_partenariats",
    "stg_bilans",
    "stg_conventions",
    "file_partitions",
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
# After STEPS, once a snapshot is in force and the current Marchés numbers are keyed (§8.3).
PROCUREMENT_STEPS = (
    "insert_work_decp_accompanied",
    "insert_work_reached_buyers",
    "insert_mart_procurement_buyers",
    "insert_mart_procurement",
)


@dataclass
class Computation:
    """What `compute_as_of` did for a date: computed in full, carried over from an earlier
    date with the same inputs, or nothing (the date's figures were already those)."""

    as_of: date
    mode: str  # computed | carried | unchanged
    basis_as_of: date
    decisions: dict[str, int]
    seconds: float


def inputs_fingerprint(connection: Connection, as_of: date, rules_dir: Path = RULES_DIR) -> str:
    """SHA-256 of everything the figures as of `as_of` depend on, but the date itself: every
    file entry received on or before it with its status (contract §5), every DECP snapshot
    entry received on or before it with its status (§8.1), the rules files and the code of
    the computation (its SQL and the Python that writes rules and explanations)."""
    digest = hashlib.sha256()
    entries = connection.execute(sql_query("select_received_entries"), {"as_of": as_of})
    for entry in entries:
        digest.update(repr(tuple(str(value) for value in entry)).encode())
    snapshots = connection.execute(sql_query("select_received_decp_entries"), {"as_of": as_of})
    for entry in snapshots:
        digest.update(repr(("decp", *(str(value) for value in entry))).encode())
    update_with_sources(
        digest, [clauses.compute, clauses.contract], [(rules_dir, "*.toml"), (SQL_DIR, "*.sql")]
    )
    return digest.hexdigest()


def compute_as_of(
    engine: Engine, as_of: date, rules_dir: Path = RULES_DIR, *, force: bool = False
) -> Computation:
    """Make the mart rows of `as_of` current, rewriting nothing that would come out identical.

    - The date was computed from the same inputs already: nothing is written.
    - An earlier date P has the same inputs, no strand crosses a date threshold of the rules
      between P and `as_of` (Date de fin, R05's deadline) and no contract of the DECP
      snapshot in force is notified after P and on or before `as_of`: the figures of P are
      the figures of `as_of`, copied in one statement per mart table.
    - Otherwise (or with `force`) every step of `sql/` runs.
    In every case the date's rows change in one transaction: an interrupted computation leaves
    the previous state.
    """
    started = time.perf_counter()
    params = {"as_of": as_of}
    with engine.begin() as connection:
        _lock(connection)
        fingerprint = inputs_fingerprint(connection, as_of, rules_dir)
        done = connection.execute(sql_query("select_computation"), params).first()
        if done is not None and done[0] == fingerprint and not force:
            mode, basis_as_of = "unchanged", as_date(done[1])
        else:
            basis = None if force else _carry_basis(connection, as_of, fingerprint)
            _execute(connection, "delete_marts_as_of", params)
            _execute(connection, "delete_work_as_of", params)
            if basis is not None:
                _carry(connection, basis, as_of)
                mode, basis_as_of = "carried", basis
            else:
                _compute(connection, as_of, rules_dir)
                mode, basis_as_of = "computed", as_of
            connection.execute(sql_query("delete_computation"), params)
            insert_mappings(
                connection,
                "computations",
                [
                    {
                        "as_of": as_of,
                        "inputs_sha256": fingerprint,
                        "mode": mode,
                        "basis_as_of": basis_as_of,
                        "seconds": time.perf_counter() - started,
                        "computed_at": datetime.now(UTC),
                    }
                ],
            )
        decisions: dict[str, int] = {}
        for _, decision, n in connection.execute(sql_query("select_decision_counts"), params):
            decisions[decision] = decisions.get(decision, 0) + n
    seconds = time.perf_counter() - started
    log.info(
        "figures as of %s %s (basis %s) in %.2f s: %s", as_of, mode, basis_as_of, seconds, decisions
    )
    return Computation(as_of, mode, basis_as_of, decisions, seconds)


def _carry_basis(connection: Connection, as_of: date, fingerprint: str) -> date | None:
    """The latest earlier date whose figures are those of `as_of`, if any: same inputs, no
    strand whose Date de fin or R05 deadline t lies in [P, as_of) (the only comparisons of the
    rules with the date itself, in update_mart_conventions_decision.sql and
    insert_mart_rule_results.sql), and no contract of the snapshot in force notified in
    (P, as_of] (the procurement figures count the contracts notified on or before the date)."""
    previous = connection.execute(
        sql_query("select_previous_computation"), {"as_of": as_of}
    ).first()
    if previous is None or previous[1] != fingerprint:
        return None
    basis = as_date(previous[0])
    crossings = connection.execute(
        sql_query("select_threshold_crossings"), {"basis": basis, "as_of": as_of}
    ).scalar_one()
    return basis if crossings == 0 else None


def _carry(connection: Connection, basis: date, as_of: date) -> None:
    """Copy the mart rows of `basis` as the rows of `as_of`."""
    inspector = sa.inspect(connection)
    for table in MART_TABLES:
        columns = [c["name"] for c in inspector.get_columns(table) if c["name"] != "as_of"]
        names = ", ".join(columns)
        # Inline: the tables and their columns are identifiers (they cannot be bound), read
        # from the schema so that a column a migration adds is carried over too.
        connection.execute(
            sa.text(
                f"INSERT INTO {table} (as_of, {names}) "
                f"SELECT :as_of, {names} FROM {table} WHERE as_of = :basis"
            ),
            {"as_of": as_of, "basis": basis},
        )


def _compute(connection: Connection, as_of: date, rules_dir: Path) -> None:
    """Every step of `sql/`, then the explanations; work tables emptied afterwards."""
    params = {"as_of": as_of}
    refresh_rule_tables(connection, rules_dir)
    refresh_procurement_rules(connection, as_of.year, rules_dir)
    analyze(connection, ("ref_procurement_rules",))  # a year's rows in a range of contracts
    _execute(connection, "insert_file_partitions", params)  # the contents loaded since the last
    _analyze_staging(connection)
    for step in STEPS:
        started = time.perf_counter()
        _execute(connection, step, params)
        if step.startswith("insert_work_"):
            analyze(connection, (step.removeprefix("insert_"),))
        log.debug("%s: %.2f s", step, time.perf_counter() - started)
    _write_explanations(connection, as_of)
    _compute_procurement(connection, as_of)
    _execute(connection, "delete_work_as_of", params)


def _compute_procurement(connection: Connection, as_of: date) -> None:
    """The procurement marts of `as_of` (contract §8.3-8.4): the status of every snapshot entry,
    then, when a snapshot is in force, the figures; the work tables of STEPS are filled."""
    params: dict[str, object] = dict(procurement_params(as_of))
    _execute(connection, "insert_mart_decp_files", params)
    snapshot_id = _key_current_marches(connection, as_of)
    if snapshot_id is None:
        return
    params["snapshot_id"] = snapshot_id
    if connection.dialect.name == "postgresql":
        # Inline: PostgreSQL-only setting, for the rest of this transaction. The plans of a
        # national snapshot cost millions (estimates of ranges joined to a rules table), so
        # PostgreSQL compiled them with JIT: 1.5 s of compilation for 4 s of work, measured.
        connection.execute(sa.text("SET LOCAL jit = off"))
    for step in PROCUREMENT_STEPS:
        started = time.perf_counter()
        _execute(connection, step, params)
        if step.startswith("insert_work_"):
            analyze(connection, (step.removeprefix("insert_"),))
        log.debug("%s: %.2f s", step, time.perf_counter() - started)


def _key_current_marches(connection: Connection, as_of: date) -> int | None:
    """The snapshot in force as of `as_of` (mart_decp_files filled) into work_decp_snapshot and
    the keys of the current Marchés numbers (work_partitions filled) into work_contract_keys;
    returns the snapshot's id, or None, and no key, when no snapshot is in force."""
    params = {"as_of": as_of}
    _execute(connection, "insert_work_decp_snapshot", params)
    snapshot = connection.execute(sql_query("select_work_decp_snapshot"), params).first()
    if snapshot is None:
        return None
    fill_contract_keys(connection, as_of)
    analyze(connection, ("work_decp_snapshot", "work_contract_keys"))
    return int(snapshot[0])


def prepare_procurement_matches(connection: Connection, as_of: date) -> int | None:
    """Fill, inside the caller's transaction (which should be rolled back: nothing here is a
    mart), the work tables that tell which current Marchés rows match which contracts as of
    `as_of`: work_contents, work_partitions, work_decp_snapshot and work_contract_keys. The
    date must have been computed (mart_decp_files). Returns the id of the snapshot in force,
    or None. For `clauses explain`, which lists the rows behind a region's figures."""
    _lock(connection)
    params = {"as_of": as_of}
    _execute(connection, "delete_work_as_of", params)
    _execute(connection, "insert_work_contents", params)
    _execute(connection, "insert_work_partitions", params)
    return _key_current_marches(connection, as_of)


def _execute(connection: Connection, name: str, params: Mapping[str, object]) -> None:
    """Run every statement of `sql/<name>.sql`."""
    for statement in sql_statements(name):
        connection.execute(statement, params)


def _analyze_staging(connection: Connection) -> None:
    """ANALYZE the registry and the staging tables when their rows grew by more than
    REANALYZE_GROWTH since the last time (migration 0004): only a bulk load changes a plan."""
    if connection.dialect.name != "postgresql":
        return
    rows = connection.execute(sql_query("select_loaded_rows")).scalar()
    last = connection.execute(sql_query("select_analyzed_rows")).scalar()
    if last is not None and rows <= last * (1 + REANALYZE_GROWTH):
        log.debug("staging statistics current (%s rows, %s at the last ANALYZE)", rows, last)
        return
    # The registry and staging rows were committed by the ingestion: analysed apart, at once;
    # file_partitions was filled just above, in this transaction: analysed in it.
    analyze_apart(connection.engine, [t for t in STAGING_TABLES if t != "file_partitions"])
    analyze(connection, ("file_partitions",))
    _execute(connection, "update_analyzed_staging", {"rows": rows})


def _lock(connection: Connection) -> None:
    """Serialise computations: every date rewrites the shared rule tables and reads the
    register of computations, and a backfill runs several dates at once. PostgreSQL: an
    advisory lock; SQLite: a first write takes the database's write lock at once."""
    if connection.dialect.name == "postgresql":
        lock_for_transaction(connection, COMPUTE_LOCK)
    else:
        # Inline: SQLite-only locking (a write that deletes nothing takes the write lock).
        connection.execute(sa.text("DELETE FROM computations WHERE 0 = 1"))


def _write_explanations(connection: Connection, as_of: date) -> None:
    rows = (
        connection.execute(sql_query("select_failed_rule_results"), {"as_of": as_of})
        .mappings()
        .all()
    )
    updates = []
    in_force: dict[int, Rules] = {}
    for row in rows:
        millesime = int(row["millesime"])
        if millesime not in in_force:
            in_force[millesime] = rules_for(millesime)
        measured, expected, explanation = describe(row["rule_id"], dict(row), in_force[millesime])
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
        connection.execute(sql_query("update_mart_rule_results_explanation"), updates)


__all__ = ["Computation", "compute_as_of", "inputs_fingerprint", "prepare_procurement_matches"]

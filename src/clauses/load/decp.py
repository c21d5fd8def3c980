"""Receiving DECP snapshots (contract §8.1): each entry of `landing/decp/<date>/` registered,
read and checked, then loaded as versions of contracts (migration 0007) or quarantined whole
with a French report; the same bytes again take the outcome of their first receipt.

Loading a snapshot compares its contracts with the open versions (those of the content loaded
last) by `uid` and `row_hash`: the unchanged stay open, the changed and the gone are closed at
the previous snapshot, the new and the changed are added. It costs one read of the open
versions' keys and writes in proportion to what changed.

Whatever one snapshot does while it is read or checked, it alone is quarantined: the regions'
files, the other snapshots and the run go on (a failure of the run itself, `is_run_failure`,
still fails the run).
"""

from __future__ import annotations

import contextlib
import logging
import time
import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.check.decp import SnapshotExamination, examine_snapshot, row_hashes
from clauses.check.examine import is_run_failure, unreadable_reason
from clauses.check.reports import FileReport, write_report
from clauses.config import RULES_DIR, Settings
from clauses.contract import decp
from clauses.contract.vocabulary import FileStatus
from clauses.load.outcomes import DecpIngest
from clauses.load.registry import QUALITY_COLUMNS, entry_key, known_decp_entries, quality_rows
from clauses.read.decp import SnapshotUnreadable
from clauses.receive.landing import LandingEntry, file_sha256
from clauses.receive.quarantine import copy_into_quarantine, quarantine_folder
from clauses.warehouse.engine import (
    ENCODED_ROWS,
    analyze,
    bulk_insert,
    insert_encoded,
    insert_mappings,
    sql_query,
)

log = logging.getLogger(__name__)

CLOSE_CHUNK = 10_000  # version ids per UPDATE
BULK_SHARE = 0.25  # versions added, as a share of the table after, that rebuild its indexes
REANALYZE_GROWTH = 0.1  # versions added, as a share of those kept open, that call for ANALYZE
# Each versioned table: the query of its open versions, the statement that closes some.
VERSIONED = {
    "decp_contracts": ("select_open_decp_contracts", "update_decp_contracts_closed"),
    "decp_buyers": ("select_open_decp_buyers", "update_decp_buyers_closed"),
}


def ingest_snapshots(
    engine: Engine, settings: Settings, entries: list[LandingEntry], run_id: str
) -> DecpIngest:
    """Register, check and load or quarantine every DECP entry not registered yet, in receipt
    order (date, then name). The caller holds the ingestion lock."""
    started = time.perf_counter()
    outcome = DecpIngest(received=len(entries))
    known = known_decp_entries(engine) if entries else set()
    for entry in sorted(entries, key=lambda e: (e.receipt_date, e.file_name)):
        sha = ""
        if entry.refusal is None:
            try:
                sha = file_sha256(entry.path)
            except OSError as error:
                if is_run_failure(error):
                    raise
                entry = LandingEntry(
                    entry.region,
                    entry.receipt_date,
                    entry.file_name,
                    entry.path,
                    unreadable_reason(error),
                )
        if entry_key(entry, sha) in known:
            outcome.already_known += 1
            continue
        status = _receive(engine, settings, entry, sha, run_id, outcome)
        setattr(outcome, status, getattr(outcome, status) + 1)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _receive(
    engine: Engine,
    settings: Settings,
    entry: LandingEntry,
    sha: str,
    run_id: str,
    outcome: DecpIngest,
) -> str:
    """Register one new entry; returns the DecpIngest counter it adds to."""
    if entry.refusal is not None:
        _register(engine, entry, sha, run_id, FileStatus.REFUSED, None, None, entry.refusal, None)
        log.warning("DECP %s/%s refused: %s", entry.receipt_date, entry.file_name, entry.refusal)
        return "refused"
    with engine.connect() as connection:
        first = connection.execute(
            sql_query("select_registered_decp_contents"), {"sha": sha}
        ).first()
    if first is not None:  # the same bytes received before: its outcome (contract §1)
        status, n_rows, n_excluded, reason, report_path = first
        _register(
            engine, entry, sha, run_id, FileStatus(status), n_rows, n_excluded, reason, report_path
        )
        return "duplicates"
    min_amount = lowest_min_amount(RULES_DIR)
    started = time.perf_counter()
    try:
        examination = examine_snapshot(entry.path, min_amount)
    except SnapshotUnreadable as error:
        _quarantine(engine, settings, entry, sha, run_id, str(error), None)
        return "quarantined"
    except Exception as error:  # the failure boundary of one snapshot
        if is_run_failure(error):
            raise
        log.exception(
            "DECP %s/%s: unexpected error while reading", entry.receipt_date, entry.file_name
        )
        outcome.internal_errors.append(f"{entry.receipt_date}/{entry.file_name}")
        _quarantine(engine, settings, entry, sha, run_id, unreadable_reason(error), None)
        return "quarantined"
    outcome.examine_s += time.perf_counter() - started
    if examination.too_many_excluded():
        share = f"{examination.excluded_share:.1%}".replace(".", ",")
        reason = (
            f"trop de lignes exclues : {examination.excluded} sur {examination.rows} ({share}, "
            f"plus de {decp.MAX_EXCLUDED_SHARE:.0%}) ; l'instantané précédent reste en vigueur"
        )
        _quarantine(engine, settings, entry, sha, run_id, reason, examination)
        return "quarantined"
    started = time.perf_counter()
    added, closed = _load(engine, entry, sha, run_id, examination, min_amount)
    outcome.load_s += time.perf_counter() - started
    outcome.contracts += len(examination.contracts)
    outcome.versions_added += added
    outcome.versions_closed += closed
    log.info(
        "DECP %s/%s loaded: %d rows, %d excluded, %d contracts, %d versions added, %d closed",
        entry.receipt_date,
        entry.file_name,
        examination.rows,
        examination.excluded,
        len(examination.contracts),
        added,
        closed,
    )
    return "loaded"


def _report(
    entry: LandingEntry,
    sha: str,
    decision: str,
    *,
    refusal: str | None = None,
    examination: SnapshotExamination | None = None,
) -> FileReport:
    return FileReport(
        region=entry.region,
        receipt_date=entry.receipt_date,
        file_name=entry.file_name,
        sha256=sha,
        outcome=decision,
        refusal=refusal,
        kinds=[] if examination is None else ["DECP"],
        rows=None if examination is None else examination.rows,
        failures=[] if examination is None else [c for c in examination.checks if not c.success],
        unknown_columns=[] if examination is None else examination.columns.unknown,
    )


def _quarantine(
    engine: Engine,
    settings: Settings,
    entry: LandingEntry,
    sha: str,
    run_id: str,
    reason: str,
    examination: SnapshotExamination | None,
) -> None:
    """The snapshot kept as received in quarantine/decp/<date>/, beside its French report."""
    folder = quarantine_folder(settings, entry)
    copy_into_quarantine(folder, entry)
    report = _report(entry, sha, "en quarantaine", refusal=reason, examination=examination)
    report_path = write_report(folder, report)
    rows = None if examination is None else examination.rows
    excluded = None if examination is None else examination.excluded
    with engine.begin() as connection:
        if examination is not None:
            _quality(connection, sha, examination, run_id)
        _insert_entry(
            connection,
            entry,
            sha,
            run_id,
            FileStatus.QUARANTINED,
            rows,
            excluded,
            reason,
            str(report_path),
        )
    log.warning("DECP %s/%s quarantined: %s", entry.receipt_date, entry.file_name, reason)


def _register(
    engine: Engine,
    entry: LandingEntry,
    sha: str,
    run_id: str,
    status: FileStatus,
    rows: int | None,
    excluded: int | None,
    reason: str,
    report_path: str | None,
) -> None:
    try:
        with engine.begin() as connection:
            _insert_entry(
                connection, entry, sha, run_id, status, rows, excluded, reason, report_path
            )
    except sa.exc.IntegrityError:
        log.info("DECP entry %s/%s already registered", entry.receipt_date, entry.file_name)


def _insert_entry(
    connection: Connection,
    entry: LandingEntry,
    sha: str,
    run_id: str,
    status: FileStatus,
    rows: int | None,
    excluded: int | None,
    reason: str,
    report_path: str | None,
) -> None:
    insert_mappings(
        connection,
        "decp_files",
        [
            {
                "receipt_date": entry.receipt_date,
                "file_name": entry.file_name,
                "sha256": sha,
                "status": str(status),
                "n_rows": rows,
                "n_excluded": excluded,
                "reason": reason,
                "report_path": report_path,
                "run_id": run_id,
                "registered_at": datetime.now(UTC),
            }
        ],
    )


def _quality(
    connection: Connection, sha: str, examination: SnapshotExamination, run_id: str
) -> None:
    rows = quality_rows(sha, examination.checks, run_id)
    if rows:
        bulk_insert(connection, "dq_results", QUALITY_COLUMNS, rows)


def lowest_min_amount(rules_dir: Path) -> float:
    """The lowest `decp_min_amount` of every rules file (§8.2: a contract below the threshold
    of its year's rules is not counted): below it a contract counts in no year, and is not
    stored. A rules file that later lowers it makes the snapshots stored before incomplete:
    `decp_snapshots.min_amount` records the floor each was stored with, but nothing reloads
    them yet (the snapshots' bytes stay in the landing zone)."""
    amounts = []
    for path in sorted(rules_dir.glob("*.toml")):
        procurement = tomllib.loads(path.read_text(encoding="utf-8")).get("procurement", {})
        if "decp_min_amount" in procurement:
            amounts.append(float(procurement["decp_min_amount"]))
        elif path.name == "default.toml":  # the contract's default, where no file says
            amounts.append(decp.DEFAULT_MIN_AMOUNT)
    return min(amounts, default=decp.DEFAULT_MIN_AMOUNT)


def _load(
    engine: Engine,
    entry: LandingEntry,
    sha: str,
    run_id: str,
    examination: SnapshotExamination,
    min_amount: float,
) -> tuple[int, int]:
    """Load the snapshot's contracts and buyers as versions, its quality results and its
    entry, in one transaction; returns (contract versions added, contract versions closed)."""
    contracts, buyers = examination.contracts, examination.buyers
    buyers = buyers.assign(row_hash=row_hashes(buyers, ("buyer_siret", "buyer_name")))
    with engine.begin() as connection:
        contract_changes = _changes(connection, "decp_contracts", contracts)
        buyer_changes = _changes(connection, "decp_buyers", buyers)
        snapshot = connection.execute(
            sql_query("insert_decp_snapshot"),
            {
                "sha256": sha,
                "load_id": str(uuid.uuid4()),
                "run_id": run_id,
                "loaded_at": datetime.now(UTC),
                "n_rows": examination.rows,
                "n_excluded": examination.excluded,
                "n_contracts": len(contracts),
                "min_amount": min_amount,
                "versions_added": len(contract_changes[0]),
                "versions_closed": len(contract_changes[1]),
            },
        ).scalar_one()
        for table, frame, (adding, closing) in (
            ("decp_contracts", contracts, contract_changes),
            ("decp_buyers", buyers, buyer_changes),
        ):
            _close(connection, table, closing, int(snapshot))
            if len(adding):
                every = len(adding) == len(frame)  # a first load: no copy of the frame
                with _indexes_rebuilt_if_bulk(connection, table, len(adding)):
                    versions = frame if every else frame.iloc[adding]
                    _insert_versions(connection, table, versions, int(snapshot))
        _quality(connection, sha, examination, run_id)
        added = len(contract_changes[0])
        if added > REANALYZE_GROWTH * (len(contracts) - added):
            analyze(connection, tuple(VERSIONED))  # PostgreSQL: migration 0009
        _insert_entry(
            connection,
            entry,
            sha,
            run_id,
            FileStatus.LOADED,
            examination.rows,
            examination.excluded,
            examination.exclusion_summary(),
            None,
        )
    return len(contract_changes[0]), len(contract_changes[1])


@contextlib.contextmanager
def _indexes_rebuilt_if_bulk(connection: Connection, table: str, adding: int) -> Iterator[None]:
    """When ``adding`` versions are a large share of ``table`` (a first national snapshot),
    its secondary indexes are dropped for the inserts and created again after, in the same
    transaction: one sort per index instead of a million scattered updates (1.1 M versions on
    SQLite: 25 s with the indexes, 7 s without them and their rebuild; PostgreSQL 16 s, 7 s).
    Their definitions are read back from the catalog, so they stay the migrations'. On
    PostgreSQL only an owner of the table may drop them; another role inserts into them."""
    # Inline: a table of VERSIONED (identifiers cannot be bound).
    stored = connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    if adding < BULK_SHARE * (int(stored) + adding):
        yield
        return
    indexes = _secondary_indexes(connection, table)
    for name in indexes:
        # Inline: index names read from the catalog (identifiers cannot be bound).
        connection.execute(sa.text(f"DROP INDEX {name}"))
    yield
    for definition in indexes.values():
        # Inline: the CREATE INDEX statements the catalog kept, as the migrations wrote them.
        connection.execute(sa.text(definition))
    log.info("%s: %d versions added, %d indexes rebuilt", table, adding, len(indexes))


def _secondary_indexes(connection: Connection, table: str) -> dict[str, str]:
    """The name and CREATE INDEX statement of each index of ``table`` the migrations created
    (named ix_*), those this role may drop: none on PostgreSQL for a role not owning it."""
    if connection.dialect.name == "postgresql":
        query = (
            "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_tables t "
            "ON t.schemaname = i.schemaname AND t.tablename = i.tablename "
            "WHERE i.tablename = :table AND i.schemaname = current_schema() "
            "AND i.indexname LIKE 'ix\\_%' AND pg_has_role(t.tableowner, 'MEMBER') "
            "ORDER BY i.indexname"
        )
    else:
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
            "AND name LIKE 'ix\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY name"
        )
    # Inline: each dialect's own catalog.
    return {name: sql for name, sql in connection.execute(sa.text(query), {"table": table})}


def _changes(
    connection: Connection, table: str, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``frame`` of the versions to add, ids of the open versions to close): a
    version is its key with its values, and `row_hash` digests both, so an open version whose
    digest is in ``frame`` stays open and the comparison reads two integers per version."""
    rows = connection.execute(sql_query(VERSIONED[table][0])).all()
    open_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    open_hashes = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    del rows
    new_hashes = frame["row_hash"].to_numpy(dtype=np.int64)
    closing = open_ids[~np.isin(open_hashes, new_hashes)]
    adding = np.flatnonzero(~np.isin(new_hashes, open_hashes))
    return adding, closing


def _close(connection: Connection, table: str, versions: np.ndarray, snapshot: int) -> None:
    """Close ``versions`` of ``table`` at the snapshot loaded before ``snapshot``."""
    if not len(versions):
        return
    previous = connection.execute(
        sql_query("select_previous_decp_snapshot"), {"snapshot": snapshot}
    ).scalar_one()
    statement = sql_query(VERSIONED[table][1]).bindparams(sa.bindparam("versions", expanding=True))
    for start in range(0, len(versions), CLOSE_CHUNK):
        part = versions[start : start + CLOSE_CHUNK].tolist()
        connection.execute(statement, {"previous": previous, "versions": part})


def _insert_versions(
    connection: Connection, table: str, versions: pd.DataFrame, snapshot: int
) -> None:
    """Insert ``versions`` as opened at ``snapshot``, ENCODED_ROWS at a time: the Python
    values the driver needs are made for one slice only."""
    columns = [*versions.columns, "first_snapshot"]
    sqlite = connection.dialect.name == "sqlite"
    for start in range(0, len(versions), ENCODED_ROWS):
        part = versions.iloc[start : start + ENCODED_ROWS]
        values = []
        for name in versions.columns:
            series = part[name]
            if name == "notified_on":
                days = series.to_numpy(dtype="datetime64[D]")
                # SQLite stores a date as its ISO text: made at once here, not by the driver's
                # adapter one value at a time (3 s for a national snapshot).
                values.append(np.datetime_as_string(days).astype(object) if sqlite else days)
            elif series.dtype == object or isinstance(series.dtype, pd.StringDtype):
                values.append(series.to_numpy(dtype=object, na_value=None))
            else:
                values.append(series.to_numpy())
        values.append(np.full(len(part), snapshot, dtype=np.int64))
        insert_encoded(connection, table, columns, values, [None] * len(columns))

"""The file registry (`raw_files`, `raw_loads`, `dq_results`): what was received, read, loaded
or refused, and why; one row per entry of the landing zone."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.receive.landing import LandingEntry, file_sha256
from clauses.warehouse.engine import as_date, insert_mappings, sql_query

if TYPE_CHECKING:  # the registry is read without the readers and checkers (`nothing_new`)
    from clauses.check.expectations import CheckResult

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


def registered_outcome(status: str, kinds: str, n_rows: int | None, reason: str) -> dict[str, Any]:
    return {"status": status, "kinds": kinds, "n_rows": n_rows, "reason": reason}


def entry_key(entry: LandingEntry, sha256: str) -> tuple[date, str, str]:
    """How the registry knows an entry: its receipt date, its name and its bytes' SHA-256
    ("" for an entry refused unread, or whose bytes could not be hashed)."""
    return (entry.receipt_date, entry.file_name, sha256)


def known_entries(engine: Engine, regions: list[str]) -> set[tuple[date, str, str]]:
    """The `entry_key` of every entry registered for these regions."""
    if not regions:
        return set()
    statement = sql_query("select_known_entries").bindparams(
        sa.bindparam("regions", expanding=True)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement, {"regions": regions}).all()
    return {(as_date(d), name, sha) for d, name, sha in rows}


def nothing_new(engine: Engine, entries_by_region: Mapping[str, Sequence[LandingEntry]]) -> bool:
    """Whether every entry is registered already, with the same bytes: a run with nothing new
    then neither reads nor checks anything (nor imports what reading and checking need). An
    entry that cannot be hashed is new: the ingestion reports it."""
    known = known_entries(engine, sorted(entries_by_region))
    for entries in entries_by_region.values():
        for entry in entries:
            if entry.refusal:
                sha = ""
            else:
                try:
                    sha = file_sha256(entry.path)
                except OSError:
                    return False
            if entry_key(entry, sha) not in known:
                return False
    return True


def known_decp_entries(engine: Engine) -> set[tuple[object, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sql_query("select_known_decp_entries")).all()
    return {(as_date(d), name, sha) for d, name, sha in rows}


def decp_nothing_new(engine: Engine, entries: list[LandingEntry]) -> bool:
    """Whether every DECP entry is registered already with the same bytes."""
    if not entries:
        return True
    known = known_decp_entries(engine)
    for entry in entries:
        try:
            sha = "" if entry.refusal else file_sha256(entry.path)
        except OSError:
            return False
        if entry_key(entry, sha) not in known:
            return False
    return True


def registered_contents(engine: Engine, shas: list[str]) -> dict[str, dict[str, Any]]:
    """The outcome first recorded for each of these contents received before."""
    found: dict[str, dict[str, Any]] = {}
    statement = sql_query("select_registered_contents").bindparams(
        sa.bindparam("shas", expanding=True)
    )
    with engine.connect() as connection:
        for start in range(0, len(shas), 500):
            part = shas[start : start + 500]
            for row in connection.execute(statement, {"shas": part}).mappings():
                found.setdefault(
                    row["sha256"],
                    registered_outcome(row["status"], row["kinds"], row["n_rows"], row["reason"]),
                )
    return found


def already_loaded(connection: Connection, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    statement = sql_query("select_loaded_contents").bindparams(sa.bindparam("shas", expanding=True))
    found: set[str] = set()
    for start in range(0, len(shas), 500):
        found |= {r[0] for r in connection.execute(statement, {"shas": shas[start : start + 500]})}
    return found


def registry_row(
    entry: LandingEntry,
    sha: str,
    run_id: str,
    now: datetime,
    *,
    status: str,
    kinds: str,
    n_rows: int | None,
    reason: str,
    report_path: str | None = None,
) -> dict[str, Any]:
    return {
        "region": entry.region,
        "receipt_date": entry.receipt_date,
        "file_name": entry.file_name,
        "sha256": sha,
        "status": status,
        "kinds": kinds,
        "n_rows": n_rows,
        "reason": reason,
        "report_path": report_path,
        "run_id": run_id,
        "registered_at": now,
    }


def register_entry(
    engine: Engine,
    entry: LandingEntry,
    sha: str,
    run_id: str,
    *,
    status: str,
    kinds: str,
    n_rows: int | None,
    reason: str,
    report_path: str | None = None,
) -> None:
    row = registry_row(
        entry,
        sha,
        run_id,
        datetime.now(UTC),
        status=status,
        kinds=kinds,
        n_rows=n_rows,
        reason=reason,
        report_path=report_path,
    )
    try:
        with engine.begin() as connection:
            insert_mappings(connection, "raw_files", [row])
    except sa.exc.IntegrityError:
        log.info("entry %s/%s already registered by another run", entry.region, entry.file_name)


QUALITY_COLUMNS = (
    "sha256",
    "kind",
    "sheet",
    "expectation",
    "column_name",
    "level",
    "success",
    "element_count",
    "unexpected_count",
    "examples",
    "run_id",
)


def quality_rows(sha: str, checks: Sequence[CheckResult], run_id: str) -> list[tuple[Any, ...]]:
    """One dq_results row (QUALITY_COLUMNS) per check."""
    return [
        (
            sha,
            str(c.kind),
            c.sheet,
            c.check,
            c.column,
            c.level,
            c.success,
            c.element_count,
            c.unexpected_count,
            json.dumps(c.examples, ensure_ascii=False) if c.examples else None,
            run_id,
        )
        for c in checks
    ]

"""Receive, read, validate, quarantine or load the files of one region (contract §1-4).

A file is loaded whole or not at all, in one transaction with its registry entry, its quality
results and its lineage (file SHA-256, load id, run id): the same bytes twice, a retried task or a
run killed in the middle all end in the same warehouse state. A broken file is copied byte for
byte to quarantine/<region>/<date>/ beside a French report; nothing of it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.config import Settings
from clauses.contract import KIND_ORDER, KINDS, Kind
from clauses.landing import LandingEntry
from clauses.normalize import FILE_COLUMN, normalize
from clauses.reading import FileRefused, ReadResult, SheetTable, read_file
from clauses.reports import FileReport, write_report
from clauses.validation import CheckResult, TableToValidate, is_blocking_failure, validate_kind
from clauses.warehouse import bulk_insert, insert_mappings

log = logging.getLogger(__name__)

LINEAGE_COLUMNS = ("file_sha256", "sheet", "row_number", "load_id")


@dataclass
class RegionIngest:
    """What one region's ingestion did in a run."""

    region: str
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    refused: int = 0
    copies: int = 0
    already_known: int = 0
    rows_loaded: int = 0
    seconds: float = 0.0
    read_s: float = 0.0  # hashing and reading files
    validate_s: float = 0.0  # normalising and running the expectations
    load_s: float = 0.0  # quarantining or loading, registry included
    error: str | None = None
    quarantined_files: list[str] = field(default_factory=list)


@dataclass
class ExaminedFile:
    """A file read; `examine_files` adds its normalised tables and the outcome of its checks."""

    entry: LandingEntry
    sha256: str
    read: ReadResult
    frames: list[tuple[SheetTable, pd.DataFrame]] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file's bytes, never following a symbolic link."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_region(
    engine: Engine, settings: Settings, region: str, entries: list[LandingEntry], run_id: str
) -> RegionIngest:
    """Process every entry of `region` not seen before; never raises for a bad file."""
    started = time.monotonic()
    outcome = RegionIngest(region, received=len(entries))
    known = _known_entries(engine, region)
    pending: list[ExaminedFile] = []
    seen_in_run: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.refusal:
            if (entry.receipt_date, entry.file_name, "") not in known:
                _refuse(engine, settings, entry, "", entry.refusal, run_id, copy=False)
                outcome.refused += 1
            else:
                outcome.already_known += 1
            continue
        sha = file_sha256(entry.path)
        if (entry.receipt_date, entry.file_name, sha) in known:
            outcome.already_known += 1
            continue
        previous = seen_in_run.get(sha) or _registered_content(engine, sha)
        if previous is not None:
            _register(engine, entry, sha, run_id, **previous)
            outcome.copies += 1
            continue
        step = time.perf_counter()
        try:
            result = read_file(entry.path)
            outcome.read_s += time.perf_counter() - step
        except FileRefused as refused:
            outcome.read_s += time.perf_counter() - step
            _refuse(engine, settings, entry, sha, refused.reason, run_id, copy=True)
            seen_in_run[sha] = _outcome("refused", "", None, refused.reason)
            outcome.refused += 1
            continue
        pending.append(ExaminedFile(entry, sha, result))
        seen_in_run[sha] = _outcome("pending", "", None, "")

    step = time.perf_counter()
    examine_files(pending, pseudonym_key=settings.pseudonym_key, region=region)
    outcome.validate_s = time.perf_counter() - step
    step = time.perf_counter()
    for item in pending:
        report = file_report(item)
        if any(is_blocking_failure(c) for c in item.checks):
            report.outcome = "en quarantaine"
            _quarantine(engine, settings, item, report, run_id)
            outcome.quarantined += 1
            outcome.quarantined_files.append(item.entry.file_name)
        else:
            outcome.rows_loaded += _load(engine, item, report, run_id)
            outcome.loaded += 1
    outcome.load_s = time.perf_counter() - step
    outcome.seconds = time.monotonic() - started
    log.info(
        "region %s: %d received, %d loaded (%d rows), %d quarantined, %d refused, %d copies, "
        "%d already known",
        region,
        outcome.received,
        outcome.loaded,
        outcome.rows_loaded,
        outcome.quarantined,
        outcome.refused,
        outcome.copies,
        outcome.already_known,
    )
    return outcome


def _outcome(status: str, kinds: str, n_rows: int | None, reason: str) -> dict[str, Any]:
    return {"status": status, "kinds": kinds, "n_rows": n_rows, "reason": reason}


def _known_entries(engine: Engine, region: str) -> set[tuple[date, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT receipt_date, file_name, sha256 FROM raw_files WHERE region = :r"),
            {"r": region},
        ).all()
    return {(_as_date(d), name, sha) for d, name, sha in rows}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _registered_content(engine: Engine, sha: str) -> dict[str, Any] | None:
    """The outcome already recorded for these bytes, if they were received before."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.text(
                    "SELECT status, kinds, n_rows, reason FROM raw_files WHERE sha256 = :sha "
                    "ORDER BY file_id LIMIT 1"
                ),
                {"sha": sha},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def _register(
    engine_or_connection: Engine | Connection,
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
    row = {
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
        "registered_at": datetime.now(UTC),
    }
    if isinstance(engine_or_connection, Connection):
        insert_mappings(engine_or_connection, "raw_files", [row])
        return
    try:
        with engine_or_connection.begin() as connection:
            insert_mappings(connection, "raw_files", [row])
    except sa.exc.IntegrityError:
        log.info("entry %s/%s already registered by another run", entry.region, entry.file_name)


def _quarantine_folder(settings: Settings, entry: LandingEntry) -> Path:
    return settings.quarantine_dir / entry.region / entry.receipt_date.isoformat()


def _refuse(
    engine: Engine,
    settings: Settings,
    entry: LandingEntry,
    sha: str,
    reason: str,
    run_id: str,
    *,
    copy: bool,
) -> None:
    folder = _quarantine_folder(settings, entry)
    report = FileReport(
        entry.region, entry.receipt_date, entry.file_name, sha, "refusé", refusal=reason
    )
    if copy:
        _copy_into(folder, entry)
    path = write_report(folder, report)
    _register(
        engine,
        entry,
        sha,
        run_id,
        status="refused",
        kinds="",
        n_rows=None,
        reason=reason,
        report_path=str(path),
    )


def _copy_into(folder: Path, entry: LandingEntry) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    target = folder / entry.file_name
    partial = folder / f".{entry.file_name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as source, open(partial, "wb") as sink:
        shutil.copyfileobj(source, sink)
    os.chmod(partial, 0o640)
    os.replace(partial, target)  # a concurrent run copying the same file never sees half of it


def examine_files(items: list[ExaminedFile], *, pseudonym_key: bytes, region: str | None) -> None:
    """Normalise and validate the tables of `items`: one batch per kind, so that the fixed cost
    of normalising and of a GX validation is paid once per kind, not once per file."""
    by_kind: dict[Kind, list[tuple[int, ExaminedFile, SheetTable]]] = defaultdict(list)
    for item in items:
        for table in item.read.tables:
            by_kind[table.kind].append((len(by_kind[table.kind]), item, table))
    for kind, members in by_kind.items():
        raw = pd.concat(
            [table.frame.assign(**{FILE_COLUMN: key}) for key, _, table in members],
            ignore_index=True,
        )
        batch = normalize(
            SheetTable(kind, None, raw, [], [], []), pseudonym_key=pseudonym_key, region=region
        )
        tables = [
            TableToValidate(key, table.sheet, len(table.frame), table.missing_columns)
            for key, _, table in members
        ]
        checks = validate_kind(kind, batch, tables)
        parts = dict(iter(batch.groupby(FILE_COLUMN, sort=False)))
        for key, item, table in members:
            part = parts.get(key, batch.iloc[0:0])
            item.frames.append((table, part.drop(columns=[FILE_COLUMN]).reset_index(drop=True)))
            item.checks.extend(checks[key])


def file_report(item: ExaminedFile) -> FileReport:
    kinds = [k for k in KIND_ORDER if any(t.kind is k for t, _ in item.frames)]
    return FileReport(
        region=item.entry.region,
        receipt_date=item.entry.receipt_date,
        file_name=item.entry.file_name,
        sha256=item.sha256,
        outcome="chargé",
        kinds=[str(k) for k in kinds],
        rows=sum(len(f) for _, f in item.frames),
        failures=[c for c in item.checks if not c.success],
        ignored_sheets=list(item.read.ignored_sheets),
        unknown_columns=sorted({c for t, _ in item.frames for c in t.unknown_columns}),
        personal_columns=sorted({c for t, _ in item.frames for c in t.personal_columns}),
    )


def _quality_rows(item: ExaminedFile, run_id: str) -> list[dict[str, Any]]:
    return [
        {
            "sha256": item.sha256,
            "kind": str(c.kind),
            "sheet": c.sheet,
            "expectation": c.check,
            "column_name": c.column,
            "level": c.level,
            "success": c.success,
            "element_count": c.element_count,
            "unexpected_count": c.unexpected_count,
            "examples": json.dumps(c.examples, ensure_ascii=False) if c.examples else None,
            "run_id": run_id,
        }
        for c in item.checks
    ]


def _quarantine(
    engine: Engine, settings: Settings, item: ExaminedFile, report: FileReport, run_id: str
) -> None:
    folder = _quarantine_folder(settings, item.entry)
    _copy_into(folder, item.entry)
    path = write_report(folder, report)
    try:
        with engine.begin() as connection:
            insert_mappings(connection, "dq_results", _quality_rows(item, run_id))
            _register(
                connection,
                item.entry,
                item.sha256,
                run_id,
                status="quarantined",
                kinds="|".join(report.kinds),
                n_rows=report.rows,
                reason=report.reason(),
                report_path=str(path),
            )
    except sa.exc.IntegrityError:
        log.info("quarantined file %s was registered by another run", item.entry.file_name)


def _load(engine: Engine, item: ExaminedFile, report: FileReport, run_id: str) -> int:
    """Load every table of a valid file in one transaction; returns the rows loaded."""
    load_id = str(uuid.uuid4())
    loaded = 0
    try:
        with engine.begin() as connection:
            already = connection.execute(
                sa.text("SELECT 1 FROM raw_loads WHERE sha256 = :sha"), {"sha": item.sha256}
            ).first()
            if not already:
                for table, frame in item.frames:
                    spec = KINDS[table.kind]
                    columns = [c.name for c in spec.columns]
                    lineage = {"file_sha256": item.sha256, "sheet": table.sheet, "load_id": load_id}
                    loaded += bulk_insert(
                        connection,
                        spec.table,
                        [*LINEAGE_COLUMNS, *columns],
                        _rows(frame, columns, lineage),
                    )
                insert_mappings(
                    connection,
                    "raw_loads",
                    [
                        {
                            "sha256": item.sha256,
                            "load_id": load_id,
                            "run_id": run_id,
                            "loaded_at": datetime.now(UTC),
                            "n_rows": loaded,
                        }
                    ],
                )
                insert_mappings(connection, "dq_results", _quality_rows(item, run_id))
            _register(
                connection,
                item.entry,
                item.sha256,
                run_id,
                status="loaded",
                kinds="|".join(report.kinds),
                n_rows=report.rows,
                reason=report.reason(),
            )
    except sa.exc.IntegrityError:
        log.info("file %s was loaded by another run", item.entry.file_name)
        return 0
    return loaded


def _rows(frame: pd.DataFrame, columns: list[str], lineage: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Plain Python tuples (None for missing values) in lineage + contract column order."""
    values = [_clean(frame[c].tolist()) for c in columns]
    row_numbers = [int(r) for r in frame["_row"].tolist()]
    for index, row_number in enumerate(row_numbers):
        yield (
            lineage["file_sha256"],
            lineage["sheet"],
            row_number,
            lineage["load_id"],
            *(column[index] for column in values),
        )


def _clean(values: list[Any]) -> list[Any]:
    cleaned: list[Any] = []
    for value in values:
        if value is None or value is pd.NA or value is pd.NaT:
            cleaned.append(None)
        elif isinstance(value, float) and math.isnan(value):
            cleaned.append(None)
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
            cleaned.append(value.item())  # numpy scalar
        else:
            cleaned.append(value)
    return cleaned


__all__ = [
    "ExaminedFile",
    "RegionIngest",
    "examine_files",
    "file_report",
    "file_sha256",
    "ingest_region",
]

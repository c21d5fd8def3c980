"""Receive, read, validate, quarantine or load the files of the regions (contract §1-4).

A file is loaded whole or not at all, in one transaction with its registry entry, its quality
results and its lineage (file SHA-256, load id, run id): the same bytes twice, a retried task or a
run killed in the middle all end in the same warehouse state. A broken file is copied byte for
byte to quarantine/<region>/<date>/ beside a French report; nothing of it is loaded.

Every file has a failure boundary: whatever happens while one file is hashed, opened, read,
normalised or validated, that file alone is refused (its reader's reason, or an internal error
whose traceback goes to the log) and the others go on. Only an error of the run itself (the
warehouse lost, the disk full: `is_run_failure`) stops the run, which is then retried.

Memory follows the largest file, never the nation:
- small files (the usual monthly exports: a few thousand rows) are read whole and grouped, all
  regions together, until the group holds `GROUP_CELLS` cells; each group is normalised and
  validated with one GX call per kind, then loaded with one transaction per region (a region's
  failure never stops another's loads);
- a big file is read by batches, each normalised, validated and loaded as it comes inside one
  transaction, rolled back (and the file quarantined) when a batch breaks a blocking rule; its
  report adds the batches up, and duplicate rows or repeated keys are found across batches.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.check.examine import (
    ExaminedFile,
    ExaminedTable,
    examine,
    examine_apart,
    examine_stream,
    file_report,
    is_run_failure,
    log_examined,
    unreadable_reason,
)
from clauses.check.normalize import NormalizedBatch
from clauses.check.reports import FileReport, write_report
from clauses.config import Settings
from clauses.contract.kinds import Kind
from clauses.contract.vocabulary import FileStatus
from clauses.load.registry import (
    QUALITY_COLUMNS,
    already_loaded,
    known_entries,
    quality_rows,
    register_entry,
    registered_contents,
    registered_outcome,
    registry_row,
)
from clauses.load.writes import insert_group, insert_rows, warehouse_refusal
from clauses.read.files import open_file
from clauses.read.tables import FileRefused
from clauses.receive.landing import LandingEntry, file_sha256
from clauses.receive.quarantine import copy_into_quarantine, quarantine_folder
from clauses.warehouse.engine import bulk_insert, insert_mappings

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


# Small files are grouped until a group holds GROUP_CELLS cells (rows x contract columns).
GROUP_CELLS = 4_000_000
SMALL_FILE_BYTES = 16 << 20  # files up to this size are usually read whole


@dataclass
class RegionIngest:
    """What one region's ingestion did in a run.

    Files of several regions are validated together: the time of a shared step is shared
    between the regions in proportion of their cells, so that the sums are the run's times.
    """

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
    # of load_s, the seconds spent writing fact rows into the staging tables, by kind
    rows_load_s: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    quarantined_files: list[str] = field(default_factory=list)
    # files refused for an error nobody foresaw while reading or checking them (see the log)
    internal_errors: list[str] = field(default_factory=list)


def ingest_regions(
    engine: Engine,
    settings: Settings,
    entries_by_region: Mapping[str, Sequence[LandingEntry]],
    run_id: str,
) -> dict[str, RegionIngest]:
    """Process every entry not seen before, all regions together; never raises for a bad file.

    Regions are isolated: an unexpected error while reading, validating or loading a region's
    files is recorded in that region's `error` (its remaining files wait for the next run) and
    the other regions go on. Returns one RegionIngest per region, in code order.
    """
    return _Ingestion(engine, settings, run_id).run(entries_by_region)


@dataclass
class _Pending:
    """A file to read, and the later entries holding the same bytes."""

    entry: LandingEntry
    sha256: str
    copies: list[LandingEntry] = field(default_factory=list)
    size: int = 0


class _Ingestion:
    def __init__(self, engine: Engine, settings: Settings, run_id: str) -> None:
        self.engine = engine
        self.settings = settings
        self.run_id = run_id
        self.outcomes: dict[str, RegionIngest] = {}

    # ---- bookkeeping ---------------------------------------------------------------------

    def _fail(self, region: str, error: BaseException) -> None:
        if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
            raise error  # the warehouse failed, not the region: the whole run stops
        log.error("region %s: ingestion failed", region, exc_info=error)
        if self.outcomes[region].error is None:
            self.outcomes[region].error = repr(error)

    def _failed(self, region: str) -> bool:
        return self.outcomes[region].error is not None

    def _share(self, stage: str, seconds: float, items: Sequence[ExaminedFile]) -> None:
        """Share a step's time between the regions of ``items``, by cells."""
        cells: dict[str, int] = defaultdict(int)
        for item in items:
            cells[item.entry.region] += item.cells()
        total = sum(cells.values()) or 1
        for region, n in cells.items():
            outcome = self.outcomes[region]
            setattr(outcome, stage, getattr(outcome, stage) + seconds * n / total)

    def _add(self, region: str, stage: str, seconds: float) -> None:
        outcome = self.outcomes[region]
        setattr(outcome, stage, getattr(outcome, stage) + seconds)

    def _add_rows_load(self, region: str, kind: Kind, seconds: float) -> None:
        times = self.outcomes[region].rows_load_s
        times[kind.value] = times.get(kind.value, 0.0) + seconds

    # ---- the run ---------------------------------------------------------------------------

    def run(
        self, entries_by_region: Mapping[str, Sequence[LandingEntry]]
    ) -> dict[str, RegionIngest]:
        for region in sorted(entries_by_region):
            self.outcomes[region] = RegionIngest(region, received=len(entries_by_region[region]))
        pending = self._scan(entries_by_region)
        self._process(pending)
        for outcome in self.outcomes.values():
            outcome.seconds = outcome.read_s + outcome.validate_s + outcome.load_s
            log.info(
                "region %s: %d received, %d loaded (%d rows), %d quarantined, %d refused, "
                "%d copies, %d already known",
                outcome.region,
                outcome.received,
                outcome.loaded,
                outcome.rows_loaded,
                outcome.quarantined,
                outcome.refused,
                outcome.copies,
                outcome.already_known,
            )
        return self.outcomes

    def _scan(self, entries_by_region: Mapping[str, Sequence[LandingEntry]]) -> list[_Pending]:
        """Entries refused unread are registered; entries known are skipped; the same bytes
        received before are registered as copies; the others are returned, to be read."""
        known = known_entries(self.engine, list(self.outcomes))
        originals: dict[str, _Pending] = {}
        candidates: list[_Pending] = []
        for region, outcome in self.outcomes.items():
            started = time.perf_counter()
            for entry in entries_by_region[region]:
                try:
                    if entry.refusal:
                        if (entry.receipt_date, entry.file_name, "") not in known:
                            self._refuse(entry, "", entry.refusal, copy=False)
                            outcome.refused += 1
                        else:
                            outcome.already_known += 1
                        continue
                    try:
                        sha = file_sha256(entry.path)
                        size = entry.path.stat().st_size
                    except Exception as error:  # the file's own: the others go on
                        if is_run_failure(error):
                            raise
                        log.error("file %s: hashing failed", entry.file_name, exc_info=error)
                        if (entry.receipt_date, entry.file_name, "") not in known:
                            self._refuse(entry, "", unreadable_reason(error), copy=False)
                            outcome.refused += 1
                            outcome.internal_errors.append(entry.file_name)
                        else:
                            outcome.already_known += 1
                        continue
                    if (entry.receipt_date, entry.file_name, sha) in known:
                        outcome.already_known += 1
                    elif sha in originals:
                        originals[sha].copies.append(entry)
                    else:
                        originals[sha] = _Pending(entry, sha, size=size)
                        candidates.append(originals[sha])
                except Exception as error:  # not one file's: the region stops, the others go on
                    self._fail(region, error)
                    break
            outcome.read_s += time.perf_counter() - started
        registered = registered_contents(self.engine, [c.sha256 for c in candidates])
        to_read = []
        for candidate in candidates:
            region = candidate.entry.region
            previous = registered.get(candidate.sha256)
            if self._failed(region):
                continue
            if previous is None:
                to_read.append(candidate)
                continue
            for entry in [candidate.entry, *candidate.copies]:
                if not self._failed(entry.region):
                    register_entry(self.engine, entry, candidate.sha256, self.run_id, **previous)
                    self.outcomes[entry.region].copies += 1
        return to_read

    def _process(self, pending: list[_Pending]) -> None:
        group: list[ExaminedFile] = []
        cells = group_bytes = 0
        # Bytes of the small files still to read: a last group much smaller than the others
        # is not worth its own GX calls, the group before takes it in (up to 1.25 budget).
        remaining = sum(w.size for w in pending if w.size <= SMALL_FILE_BYTES)
        for work in pending:
            region = work.entry.region
            if work.size <= SMALL_FILE_BYTES:
                remaining -= work.size
            if self._failed(region):
                continue
            started = time.perf_counter()
            try:
                opened = open_file(work.entry.path)
                item = examine(work.entry, work.sha256, opened)
                item.copies = work.copies
            except FileRefused as refused:
                self._add(region, "read_s", time.perf_counter() - started)
                self._refused_with_copies(work, refused.reason)
                continue
            except Exception as error:  # the file's own, unforeseen: it alone is refused
                self._add(region, "read_s", time.perf_counter() - started)
                self._set_apart(work, error)
                continue
            pa.default_memory_pool().release_unused()  # what parsing freed, not kept by the pool
            self._add(region, "read_s", time.perf_counter() - started)
            if opened.whole:
                group.append(item)
                cells += item.cells()
                group_bytes += work.size
                left = remaining * cells / max(group_bytes, 1)
                if cells >= GROUP_CELLS and left >= GROUP_CELLS / 4:
                    self._flush(group)
                    group, cells, group_bytes = [], 0, 0
            else:
                self._flush(group)  # memory: one big file at a time, and nothing else
                group, cells, group_bytes = [], 0, 0
                self._stream(item)
        self._flush(group)

    def _set_apart(self, work: _Pending, error: Exception) -> None:
        """Refuse a file whose reading or checking raised ``error``: its reader's refusal, or
        an error nobody foresaw (then its traceback is logged for the team). Its bytes are
        kept in quarantine. An error of the run itself is raised instead."""
        if is_run_failure(error):
            raise error
        region = work.entry.region
        if self._failed(region):
            return
        if not isinstance(error, FileRefused):
            log.error(
                "region %s, file %s: unforeseen error, file refused and kept in quarantine",
                region,
                work.entry.file_name,
                exc_info=error,
            )
            self.outcomes[region].internal_errors.append(work.entry.file_name)
        reason = error.reason if isinstance(error, FileRefused) else unreadable_reason(error)
        try:
            self._refused_with_copies(work, reason)
        except Exception as failure:  # registering the refusal failed: not the file's
            self._fail(region, failure)

    def _refused_with_copies(self, work: _Pending, reason: str) -> None:
        self._refuse(work.entry, work.sha256, reason, copy=True)
        self.outcomes[work.entry.region].refused += 1
        for entry in work.copies:
            if not self._failed(entry.region):
                register_entry(
                    self.engine,
                    entry,
                    work.sha256,
                    self.run_id,
                    **registered_outcome(FileStatus.REFUSED, "", None, reason),
                )
                self.outcomes[entry.region].copies += 1

    def _refuse(self, entry: LandingEntry, sha: str, reason: str, *, copy: bool) -> None:
        folder = quarantine_folder(self.settings, entry)
        report = FileReport(
            entry.region, entry.receipt_date, entry.file_name, sha, "refusé", refusal=reason
        )
        if copy:
            copy_into_quarantine(folder, entry)
        path = write_report(folder, report)
        register_entry(
            self.engine,
            entry,
            sha,
            self.run_id,
            status=FileStatus.REFUSED,
            kinds="",
            n_rows=None,
            reason=reason,
            report_path=str(path),
        )

    # ---- small files: a group ----------------------------------------------------------------

    def _flush(self, group: list[ExaminedFile]) -> None:
        if not group:
            return
        started = time.perf_counter()
        examined, apart = examine_apart(
            group, pseudonym_key=self.settings.pseudonym_key, release_text=True
        )
        self._share("validate_s", time.perf_counter() - started, group)
        for item, error in apart:
            self._set_apart(_Pending(item.entry, item.sha256, item.copies), error)
        for part in examined:
            for region, items in _by_region(part.items).items():
                if self._failed(region):
                    continue
                started = time.perf_counter()
                try:
                    self._commit_region(items, part.batches)
                except Exception as error:  # not one file's: the region stops, others go on
                    self._fail(region, error)
                self._add(region, "load_s", time.perf_counter() - started)

    def _commit_region(
        self, items: list[ExaminedFile], batches: Mapping[Kind, NormalizedBatch]
    ) -> None:
        """Quarantine the broken files, load the others, in one transaction; file by file when
        that fails for one file's sake: another run registered it meanwhile, or the warehouse
        refuses one of its values (the file is then quarantined, and the others load)."""
        reports = {id(item): file_report(item) for item in items}
        paths: dict[int, Path] = {}
        for item in items:
            log_examined(item)
            if item.blocking:
                paths[id(item)] = self._write_quarantine(item, reports[id(item)])
        inserted: dict[str, int] = {}
        try:
            with self.engine.begin() as connection:
                inserted = self._write(connection, items, reports, paths, batches)
        except (sa.exc.IntegrityError, sa.exc.DataError) as error:
            log.info(
                "a file of the group could not be loaded (%s): committed one by one", error.orig
            )
            for item in items:
                inserted |= self._commit_alone(item, reports, paths, batches)
        for item in items:
            self._count(item, inserted.get(item.sha256, 0))

    def _commit_alone(
        self,
        item: ExaminedFile,
        reports: dict[int, FileReport],
        paths: dict[int, Path],
        batches: Mapping[Kind, NormalizedBatch],
    ) -> dict[str, int]:
        try:
            with self.engine.begin() as connection:
                return self._write(connection, [item], reports, paths, batches)
        except sa.exc.IntegrityError:
            log.info("file %s was registered by another run", item.entry.file_name)
            return {}
        except sa.exc.DataError as error:
            log.warning(
                "file %s: the warehouse refused a value: %s", item.entry.file_name, error.orig
            )
            item.refusals.append(warehouse_refusal(item, error, batches))
        reports[id(item)] = file_report(item)
        paths[id(item)] = self._write_quarantine(item, reports[id(item)])
        with self.engine.begin() as connection:
            return self._write(connection, [item], reports, paths, batches)

    def _write(
        self,
        connection: Connection,
        items: list[ExaminedFile],
        reports: Mapping[int, FileReport],
        paths: Mapping[int, Path],
        batches: Mapping[Kind, NormalizedBatch],
    ) -> dict[str, int]:
        """The facts of the valid files among ``items`` (unless loaded already), their loads,
        quality results and registry entries, and those of their copies; returns the rows
        inserted per file."""
        valid = [item for item in items if not item.blocking]
        loaded = already_loaded(connection, [item.sha256 for item in valid])
        to_load = [item for item in valid if item.sha256 not in loaded]
        counts: dict[str, int] = {item.sha256: 0 for item in to_load}
        for kind, batch in batches.items():
            tables = [
                (item, table)
                for item in to_load
                for table in item.tables
                if table.reader.kind is kind and table.rows
            ]
            if tables:
                started = time.perf_counter()
                inserted = insert_group(connection, kind, batch, tables)
                self._add_rows_load(items[0].entry.region, kind, time.perf_counter() - started)
                for (item, _), n in zip(tables, inserted, strict=True):
                    counts[item.sha256] += n
        self._registry(connection, items, reports, paths, counts)
        return counts

    def _registry(
        self,
        connection: Connection,
        items: list[ExaminedFile],
        reports: Mapping[int, FileReport],
        paths: Mapping[int, Path],
        loads: Mapping[str, int],
    ) -> None:
        """Load rows (files in ``loads``, with the rows inserted), quality results (files
        loaded now or quarantined) and registry entries of ``items`` and of their copies."""
        now = datetime.now(UTC)
        insert_mappings(
            connection,
            "raw_loads",
            [
                {
                    "sha256": item.sha256,
                    "load_id": item.load_id,
                    "run_id": self.run_id,
                    "loaded_at": now,
                    "n_rows": loads[item.sha256],
                }
                for item in items
                if item.sha256 in loads
            ],
        )
        quality = [
            row
            for item in items
            if item.blocking or item.sha256 in loads
            for row in quality_rows(item.sha256, item.checks, self.run_id)
        ]
        if quality:  # about 30 rows a file: COPY on PostgreSQL
            bulk_insert(connection, "dq_results", QUALITY_COLUMNS, quality)
        entries = []
        for item in items:
            report = reports[id(item)]
            fields = registered_outcome(
                FileStatus.QUARANTINED if item.blocking else FileStatus.LOADED,
                "|".join(report.kinds),
                report.rows,
                report.reason(),
            )
            path = paths.get(id(item))
            entries.append(
                registry_row(
                    item.entry,
                    item.sha256,
                    self.run_id,
                    now,
                    report_path=str(path) if path else None,
                    **fields,
                )
            )
            entries += [
                registry_row(e, item.sha256, self.run_id, now, **fields) for e in item.copies
            ]
        insert_mappings(connection, "raw_files", entries)

    def _write_quarantine(self, item: ExaminedFile, report: FileReport) -> Path:
        folder = quarantine_folder(self.settings, item.entry)
        copy_into_quarantine(folder, item.entry)
        return write_report(folder, report)

    def _count(self, item: ExaminedFile, inserted: int) -> None:
        outcome = self.outcomes[item.entry.region]
        if item.blocking:
            outcome.quarantined += 1
            outcome.quarantined_files.append(item.entry.file_name)
        else:
            outcome.loaded += 1
            outcome.rows_loaded += inserted
        for entry in item.copies:
            self.outcomes[entry.region].copies += 1

    # ---- a big file: by batches --------------------------------------------------------------

    def _stream(self, item: ExaminedFile) -> None:
        """Read, validate and load a big file batch by batch in one transaction; roll it back
        and quarantine the file when a batch breaks a blocking rule."""
        region = item.entry.region
        started = time.perf_counter()
        load_s = 0.0
        inserted = 0
        # A required column missing: the file will be quarantined, whatever its rows.
        doomed = any(t.reader.missing_columns for t in item.tables)
        try:
            with self.engine.connect() as connection:
                transaction = connection.begin()
                try:
                    loading = not already_loaded(connection, [item.sha256])

                    def load(table: ExaminedTable, batch: NormalizedBatch) -> None:
                        nonlocal load_s, inserted
                        if not loading or doomed or item.blocking:
                            return  # the file will not be loaded: stop writing, keep checking
                        step = time.perf_counter()
                        try:
                            inserted += insert_rows(
                                connection,
                                table.reader.kind,
                                batch,
                                None,
                                (
                                    np.array([item.sha256], dtype=object),
                                    np.array([table.reader.sheet], dtype=object),
                                    np.array([item.load_id], dtype=object),
                                ),
                                np.zeros(len(batch), dtype=np.int64),
                            )
                        except sa.exc.DataError as error:  # rolled back below, as blocking
                            log.warning(
                                "file %s: the warehouse refused a value: %s",
                                item.entry.file_name,
                                error.orig,
                            )
                            item.refusals.append(
                                warehouse_refusal(item, error, {batch.kind: batch})
                            )
                        self._add_rows_load(region, batch.kind, time.perf_counter() - step)
                        load_s += time.perf_counter() - step

                    examine_stream(item, pseudonym_key=self.settings.pseudonym_key, on_batch=load)
                    log_examined(item)
                    report = file_report(item)
                    step = time.perf_counter()
                    paths = {}
                    if item.blocking:
                        transaction.rollback()
                        inserted = 0
                        paths[id(item)] = self._write_quarantine(item, report)
                        transaction = connection.begin()
                    loads = {item.sha256: inserted} if loading and not item.blocking else {}
                    self._registry(connection, [item], {id(item): report}, paths, loads)
                    transaction.commit()
                    load_s += time.perf_counter() - step
                except BaseException:
                    if transaction.is_active:
                        transaction.rollback()
                    raise
            self._count(item, inserted)
        except FileRefused as refused:  # found unreadable further down: nothing was kept
            self._refused_with_copies(
                _Pending(item.entry, item.sha256, item.copies), refused.reason
            )
        except sa.exc.IntegrityError:
            log.info("file %s was registered by another run", item.entry.file_name)
        except Exception as error:  # the file's own, unforeseen (rolled back): it alone is refused
            self._set_apart(_Pending(item.entry, item.sha256, item.copies), error)
        elapsed = time.perf_counter() - started
        self._add(region, "load_s", load_s)
        self._add(region, "validate_s", elapsed - load_s)


def _by_region(items: Sequence[ExaminedFile]) -> dict[str, list[ExaminedFile]]:
    out: dict[str, list[ExaminedFile]] = defaultdict(list)
    for item in items:
        out[item.entry.region].append(item)
    return dict(sorted(out.items()))

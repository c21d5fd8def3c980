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

import errno
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.check.expectations import (
    BLOCKING,
    UNIQUE_KEY_CHECK,
    CheckResult,
    FileChecks,
    KeyTracker,
    TableToValidate,
    is_blocking_failure,
    validate_batch,
)
from clauses.check.normalize import DuplicateTracker, NormalizedBatch, normalize_batch
from clauses.check.reports import FileReport, write_report
from clauses.config import Settings
from clauses.contract.kinds import KIND_ORDER, KINDS, Kind
from clauses.read.files import open_file
from clauses.read.tables import FileRefused, OpenedFile, TableReader, TextBatch, concat_batches
from clauses.receive.landing import LandingEntry, temporary_name
from clauses.warehouse.engine import as_date, bulk_insert, insert_encoded, insert_mappings

log = logging.getLogger(__name__)

LINEAGE_COLUMNS = ("file_sha256", "sheet", "row_number", "load_id")
# Cells (rows x contract columns) validated together: small files are grouped up to GROUP_CELLS,
# a big file is validated by batches of STREAM_CELLS. GX's cost is mostly per call, memory per
# cell (a few hundred bytes a cell at the peak of a GX call).
GROUP_CELLS = 4_000_000
STREAM_CELLS = 2_000_000
SMALL_FILE_BYTES = 16 << 20  # files up to this size are usually read whole

# The reason given for a file whose reading or checking raised an error nobody foresaw. The file
# is kept in the quarantine folder and the traceback is logged at ERROR level for the team.
INTERNAL_ERROR = (
    "Erreur interne lors de la lecture ; le fichier est conservé et l'équipe est prévenue. "
    "Vous n'avez rien à corriger pour l'instant : votre DREETS vous recontactera si besoin."
)
# Errors of the machine, not of a file: storage full, failing or read-only.
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM})


def is_run_failure(error: BaseException) -> bool:
    """Whether ``error`` is the run's, not one file's: the warehouse unreachable or lost, the
    disk full or failing, a module missing. Such an error fails the run (Airflow retries it);
    any other error met while a file is read or checked is that file's alone."""
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError | ImportError):
        return True
    return isinstance(error, OSError) and error.errno in _MACHINE_ERRNOS


def unreadable_reason(error: BaseException) -> str:
    """The French reason for a file that raised ``error`` (not a refusal of its reader)."""
    if isinstance(error, OSError):
        return (
            "Le fichier n'a pas pu être lu (accès refusé, ou fichier retiré pendant la lecture) "
            "; déposez-le à nouveau."
        )
    return INTERNAL_ERROR


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


@dataclass
class ExaminedTable:
    """One table of a file being examined: its checks, added up over its batches."""

    reader: TableReader
    rows: int = 0
    checks: FileChecks = field(default_factory=FileChecks)
    text: TextBatch | None = None  # all its rows, for a file read whole
    key: int = -1  # its key in the batch of its kind (small files validated together)

    def cells(self) -> int:
        return max(self.rows, 1) * len(KINDS[self.reader.kind].columns)


@dataclass
class ExaminedFile:
    """A file opened; its tables' checks are filled by `examine_group` or `examine_stream`."""

    entry: LandingEntry
    sha256: str
    opened: OpenedFile
    tables: list[ExaminedTable] = field(default_factory=list)
    copies: list[LandingEntry] = field(default_factory=list)  # the same bytes again, this run
    load_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    refusals: list[CheckResult] = field(default_factory=list)  # values the warehouse refused

    @property
    def checks(self) -> list[CheckResult]:
        return [c for t in self.tables for c in t.checks.results] + self.refusals

    @property
    def blocking(self) -> bool:
        return any(is_blocking_failure(c) for c in self.checks)

    def cells(self) -> int:
        return sum(t.cells() for t in self.tables)


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file's bytes, never following a symbolic link."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def examine(entry: LandingEntry, sha256: str, opened: OpenedFile) -> ExaminedFile:
    """An opened file, ready to be examined; a file read whole keeps its rows."""
    item = ExaminedFile(entry, sha256, opened)
    for reader in opened.tables:
        table = ExaminedTable(reader)
        if opened.whole:
            batches = list(reader.batches())
            table.text = concat_batches(batches) if batches else None
            table.rows = len(table.text) if table.text is not None else 0
        item.tables.append(table)
    return item


# --------------------------------------------------------------------------------------------
# Examination: normalise and validate
# --------------------------------------------------------------------------------------------


def examine_group(
    items: Sequence[ExaminedFile],
    *,
    pseudonym_key: bytes,
    with_region: bool = True,
    release_text: bool = False,
) -> dict[Kind, NormalizedBatch]:
    """Normalise and validate the tables of files read whole: one batch per kind, so that the
    fixed cost of normalising and of a GX validation is paid once per kind, not once per file.
    Fills each table's checks; returns the normalised batches (rows of table ``key``). With
    ``release_text``, each table's text is let go once its kind is normalised."""
    members: dict[Kind, list[ExaminedTable]] = defaultdict(list)
    regions: dict[Kind, list[str]] = defaultdict(list)
    for item in items:
        for table in item.tables:
            kind = table.reader.kind
            table.key = len(members[kind])
            table.checks = FileChecks()
            members[kind].append(table)
            regions[kind].append(item.entry.region)
    batches: dict[Kind, NormalizedBatch] = {}
    for kind in KIND_ORDER:
        tables = members.get(kind)
        if not tables:
            continue
        texts = [t.text for t in tables if t.text is not None and len(t.text)]
        files = np.repeat([t.key for t in tables], [t.rows for t in tables]).astype(np.int64)
        if release_text:
            for table in tables:
                table.text = None  # the batch below holds a copy: memory for one kind at a time
        names = list(dict.fromkeys(name for text in texts for name in text.columns))
        columns = {
            name: pa.concat_arrays(
                [text.columns.get(name, pa.nulls(len(text), pa.string())) for text in texts]
            )
            for name in names
        }
        rows = np.concatenate([text.rows for text in texts]) if texts else np.empty(0, np.int64)
        del texts
        batch = normalize_batch(
            kind,
            columns,
            rows,
            pseudonym_key=pseudonym_key,
            files=files,
            regions=regions[kind] if with_region else None,
        )
        results = validate_batch(
            kind,
            batch,
            [
                TableToValidate(t.key, t.reader.sheet, t.rows, t.reader.missing_columns)
                for t in tables
            ],
        )
        for table in tables:
            table.checks.add(results[table.key])
        batches[kind] = batch
    return batches


@dataclass
class ExaminedGroup:
    """Files examined together, and the normalised batches of their rows (`examine_group`)."""

    items: list[ExaminedFile]
    batches: dict[Kind, NormalizedBatch]


def examine_apart(
    items: list[ExaminedFile],
    *,
    pseudonym_key: bytes,
    with_region: bool = True,
    release_text: bool = False,
) -> tuple[list[ExaminedGroup], list[tuple[ExaminedFile, Exception]]]:
    """`examine_group` with a failure boundary around each file.

    When examining the files together raises, the group is halved and each half read again
    and examined, down to the file that raises alone: a bad file costs about 2·log2(n) more
    examinations, not n. Returns the groups examined and the files set apart, each with its
    error, for the caller to report. An error of the run itself (`is_run_failure`) is raised."""
    try:
        batches = examine_group(
            items, pseudonym_key=pseudonym_key, with_region=with_region, release_text=release_text
        )
        return [ExaminedGroup(items, batches)], []
    except Exception as error:
        if is_run_failure(error):
            raise
        if len(items) == 1:
            return [], [(items[0], error)]
        log.warning("a group of %d files failed to be examined: halved", len(items))
    groups: list[ExaminedGroup] = []
    apart: list[tuple[ExaminedFile, Exception]] = []
    middle = len(items) // 2
    for half in (items[:middle], items[middle:]):
        again: list[ExaminedFile] = []
        for item in half:
            try:
                again.append(reopen(item))
            except Exception as error:  # the file's own: it read once, but not twice
                if is_run_failure(error):
                    raise
                apart.append((item, error))
        if again:
            more, failed = examine_apart(
                again,
                pseudonym_key=pseudonym_key,
                with_region=with_region,
                release_text=release_text,
            )
            groups += more
            apart += failed
    return groups, apart


def reopen(item: ExaminedFile) -> ExaminedFile:
    """The same file read anew (its text let go once examined), with its copies and load id."""
    again = examine(item.entry, item.sha256, open_file(item.entry.path))
    again.copies, again.load_id = item.copies, item.load_id
    return again


def rebatch(batches: Iterable[TextBatch], rows: int) -> Iterator[TextBatch]:
    """The same rows, in batches of about ``rows`` rows."""
    pending: list[TextBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += len(batch)
        if count >= rows:
            yield concat_batches(pending)
            pending, count = [], 0
    if pending:
        yield concat_batches(pending)


def examine_stream(
    item: ExaminedFile,
    *,
    pseudonym_key: bytes,
    with_region: bool = True,
    on_batch: Callable[[ExaminedTable, NormalizedBatch], None] | None = None,
    batch_cells: int | None = None,
) -> None:
    """Normalise and validate a file batch by batch, adding its checks up; ``on_batch`` gets
    every batch (to load it). Rows equal to a row of an earlier batch are duplicates; a key
    that must be unique and repeats across batches is counted with its rows and examples (the
    file is read a second time for the examples, only then)."""
    region = item.entry.region if with_region else None
    for table in item.tables:
        kind = table.reader.kind
        table.checks, table.rows = FileChecks(), 0
        duplicates, keys = DuplicateTracker(), KeyTracker(kind)
        size = max(1, (batch_cells or STREAM_CELLS) // len(KINDS[kind].columns))
        empty = TextBatch(np.empty(0, np.int64), {})
        for text in itertools.chain(rebatch(table.reader.batches(), size), [None]):
            if text is None and table.rows:
                break
            text = text or empty  # a table without rows: its checks are listed all the same
            batch = normalize_batch(
                kind,
                text.columns,
                text.rows,
                pseudonym_key=pseudonym_key,
                regions=region,
                duplicates=duplicates,
            )
            this = TableToValidate(0, table.reader.sheet, len(batch), table.reader.missing_columns)
            table.checks.add(validate_batch(kind, batch, [this])[0])
            keys.add(batch)
            table.rows += len(batch)
            if on_batch is not None and len(batch):
                on_batch(table, batch)
        repeated = keys.repeated_across_batches()
        if repeated is not None:
            _count_repeated_keys(table, keys, repeated, pseudonym_key, region, size)


def _count_repeated_keys(
    table: ExaminedTable,
    keys: KeyTracker,
    repeated: tuple[int, np.ndarray],
    pseudonym_key: bytes,
    region: str | None,
    size: int,
) -> None:
    count, hashes = repeated
    result = next((c for c in table.checks.results if c.check == UNIQUE_KEY_CHECK), None)
    if result is None:
        return
    examples: list[dict[str, Any]] = []
    for text in rebatch(table.reader.batches(), size):
        batch = normalize_batch(
            table.reader.kind, text.columns, text.rows, pseudonym_key=pseudonym_key, regions=region
        )
        examples += keys.examples(batch, hashes, result.column, 20 - len(examples))
        if len(examples) >= 20:
            break
    result.unexpected_count, result.success, result.examples = count, False, examples


def file_report(item: ExaminedFile) -> FileReport:
    kinds = [k for k in KIND_ORDER if any(t.reader.kind is k for t in item.tables)]
    return FileReport(
        region=item.entry.region,
        receipt_date=item.entry.receipt_date,
        file_name=item.entry.file_name,
        sha256=item.sha256,
        outcome="en quarantaine" if item.blocking else "chargé",
        kinds=[str(k) for k in kinds],
        rows=sum(t.rows for t in item.tables),
        failures=[c for c in item.checks if not c.success],
        ignored_sheets=list(item.opened.ignored_sheets),
        unknown_columns=sorted({c for t in item.tables for c in t.reader.unknown_columns}),
        personal_columns=sorted({c for t in item.tables for c in t.reader.personal_columns}),
    )


def _log_examined(item: ExaminedFile) -> None:
    log.info(
        "read %s: %s",
        item.entry.file_name,
        ", ".join(
            f"{t.reader.kind.value}{f' [{t.reader.sheet}]' if t.reader.sheet else ''} {t.rows} rows"
            for t in item.tables
        ),
    )
    personal = sum(len(t.reader.personal_columns) for t in item.tables)
    if personal:
        log.info("read %s: %d personal-data column(s) dropped", item.entry.file_name, personal)


# --------------------------------------------------------------------------------------------
# Ingestion of the regions
# --------------------------------------------------------------------------------------------


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


def ingest_region(
    engine: Engine, settings: Settings, region: str, entries: list[LandingEntry], run_id: str
) -> RegionIngest:
    """Process every entry of `region` not seen before (`ingest_regions` for one region)."""
    return ingest_regions(engine, settings, {region: entries}, run_id)[region]


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
        known = _known_entries(self.engine, list(self.outcomes))
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
        registered = _registered_contents(self.engine, [c.sha256 for c in candidates])
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
                    _register(self.engine, entry, candidate.sha256, self.run_id, **previous)
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
                _register(
                    self.engine,
                    entry,
                    work.sha256,
                    self.run_id,
                    **_outcome("refused", "", None, reason),
                )
                self.outcomes[entry.region].copies += 1

    def _refuse(self, entry: LandingEntry, sha: str, reason: str, *, copy: bool) -> None:
        folder = _quarantine_folder(self.settings, entry)
        report = FileReport(
            entry.region, entry.receipt_date, entry.file_name, sha, "refusé", refusal=reason
        )
        if copy:
            _copy_into(folder, entry)
        path = write_report(folder, report)
        _register(
            self.engine,
            entry,
            sha,
            self.run_id,
            status="refused",
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
            _log_examined(item)
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
            item.refusals.append(_refusal(item, error, batches))
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
        loaded = _already_loaded(connection, [item.sha256 for item in valid])
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
                inserted = _insert_group(connection, kind, batch, tables)
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
            for row in _quality_rows(item.sha256, item.checks, self.run_id)
        ]
        if quality:  # about 30 rows a file: COPY on PostgreSQL
            bulk_insert(connection, "dq_results", QUALITY_COLUMNS, quality)
        entries = []
        for item in items:
            report = reports[id(item)]
            fields = _outcome(
                "quarantined" if item.blocking else "loaded",
                "|".join(report.kinds),
                report.rows,
                report.reason(),
            )
            path = paths.get(id(item))
            entries.append(
                _registry_row(
                    item.entry,
                    item.sha256,
                    self.run_id,
                    now,
                    report_path=str(path) if path else None,
                    **fields,
                )
            )
            entries += [
                _registry_row(e, item.sha256, self.run_id, now, **fields) for e in item.copies
            ]
        insert_mappings(connection, "raw_files", entries)

    def _write_quarantine(self, item: ExaminedFile, report: FileReport) -> Path:
        folder = _quarantine_folder(self.settings, item.entry)
        _copy_into(folder, item.entry)
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
                    loading = not _already_loaded(connection, [item.sha256])

                    def load(table: ExaminedTable, batch: NormalizedBatch) -> None:
                        nonlocal load_s, inserted
                        if not loading or doomed or item.blocking:
                            return  # the file will not be loaded: stop writing, keep checking
                        step = time.perf_counter()
                        try:
                            inserted += _insert_rows(
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
                            item.refusals.append(_refusal(item, error, {batch.kind: batch}))
                        self._add_rows_load(region, batch.kind, time.perf_counter() - step)
                        load_s += time.perf_counter() - step

                    examine_stream(item, pseudonym_key=self.settings.pseudonym_key, on_batch=load)
                    _log_examined(item)
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


# --------------------------------------------------------------------------------------------
# Warehouse writes
# --------------------------------------------------------------------------------------------


def _by_region(items: Sequence[ExaminedFile]) -> dict[str, list[ExaminedFile]]:
    out: dict[str, list[ExaminedFile]] = defaultdict(list)
    for item in items:
        out[item.entry.region].append(item)
    return dict(sorted(out.items()))


def _insert_group(
    connection: Connection,
    kind: Kind,
    batch: NormalizedBatch,
    tables: list[tuple[ExaminedFile, ExaminedTable]],
) -> list[int]:
    """Insert the rows of ``tables`` (files of a group) from their kind's batch; returns the
    rows inserted per table."""
    keys = np.array([table.key for _, table in tables], dtype=np.int64)
    selected = np.flatnonzero(np.isin(batch.files, keys))  # in file order, as batched
    files = batch.files[selected]
    n_keys = int(batch.files.max()) + 1 if len(batch.files) else 0
    shas = np.empty(n_keys, dtype=object)
    sheets = np.empty(n_keys, dtype=object)
    loads = np.empty(n_keys, dtype=object)
    for item, table in tables:
        shas[table.key], sheets[table.key], loads[table.key] = (
            item.sha256,
            table.reader.sheet,
            item.load_id,
        )
    _insert_rows(connection, kind, batch, selected, (shas, sheets, loads), files)
    counts = np.bincount(files, minlength=n_keys)
    return [int(counts[table.key]) for _, table in tables]


def _insert_rows(
    connection: Connection,
    kind: Kind,
    batch: NormalizedBatch,
    selected: np.ndarray | None,
    lineage: tuple[np.ndarray, np.ndarray, np.ndarray],
    files: np.ndarray,
) -> int:
    """Insert rows of ``batch`` (all, or ``selected``) into the kind's staging table, with their
    lineage: ``lineage`` holds the SHA-256, sheet and load id per file key, ``files`` each
    inserted row's file key."""
    spec = KINDS[kind]
    names = [c.name for c in spec.columns]
    positions = np.arange(len(batch)) if selected is None else selected
    shas, sheets, loads = lineage
    return insert_encoded(
        connection,
        spec.table,
        [*LINEAGE_COLUMNS, *names],
        [shas, sheets, batch.rows[positions], loads]
        + [batch.columns[name].python_values() for name in names],
        [files, files, None, files] + [batch.columns[name].codes[positions] for name in names],
    )


# How PostgreSQL names the row and the value a COPY refused, in the error's context.
_COPY_CONTEXT = re.compile(r'COPY (\w+), line (\d+), column (\w+): "(.*)"', re.DOTALL)
WAREHOUSE_CHECK = "warehouse_accepts_values"


def _refusal(
    item: ExaminedFile, error: sa.exc.DBAPIError, batches: Mapping[Kind, NormalizedBatch]
) -> CheckResult:
    """A failed blocking check for a value of ``item`` that the warehouse refused (out of the
    range of its column...), which the expectations did not foresee: the file is quarantined
    with it, the row and value named when the warehouse's message names them. ``batches`` are
    those the failed insert wrote ``item``'s rows from."""
    kind = item.tables[0].reader.kind if item.tables else Kind.HEURES
    column, examples = "", []
    context = getattr(getattr(error.orig, "diag", None), "context", None) or ""
    found = _COPY_CONTEXT.search(context)
    spec = next((k for k in KINDS.values() if found and k.table == found.group(1)), None)
    if found and spec is not None:
        kind, name, value = spec.kind, found.group(3), found.group(4)
        column = next((c.header for c in spec.columns if c.name == name), name)
        batch = batches.get(kind)
        keys = [t.key for t in item.tables if t.reader.kind is kind]
        line: int | None = None
        if batch is not None:
            # The COPY wrote this file's rows of the kind in the order of the batch.
            mine = np.flatnonzero(np.isin(batch.files, keys)) if batch.has_files else None
            rows = batch.rows if mine is None else batch.rows[mine]
            n = int(found.group(2)) - 1
            line = int(rows[n]) if 0 <= n < len(rows) else None
        examples = [{"ligne": line, "colonne": column, "valeur": value}]
    return CheckResult(
        kind=kind,
        sheet=None,
        check=WAREHOUSE_CHECK,
        column=column,
        level=BLOCKING,
        message="valeur que l'entrepôt de données ne peut pas enregistrer (hors des limites de "
        "sa colonne) : corrigez-la, ou signalez ce fichier à votre DREETS s'il vous semble juste",
        success=False,
        element_count=sum(t.rows for t in item.tables if t.reader.kind is kind),
        unexpected_count=1,
        examples=examples,
    )


def _outcome(status: str, kinds: str, n_rows: int | None, reason: str) -> dict[str, Any]:
    return {"status": status, "kinds": kinds, "n_rows": n_rows, "reason": reason}


def _known_entries(engine: Engine, regions: list[str]) -> set[tuple[date, str, str]]:
    if not regions:
        return set()
    statement = sa.text(
        "SELECT receipt_date, file_name, sha256 FROM raw_files WHERE region IN :regions"
    ).bindparams(sa.bindparam("regions", expanding=True))
    with engine.connect() as connection:
        rows = connection.execute(statement, {"regions": regions}).all()
    return {(as_date(d), name, sha) for d, name, sha in rows}


def _registered_contents(engine: Engine, shas: list[str]) -> dict[str, dict[str, Any]]:
    """The outcome first recorded for each of these contents received before."""
    found: dict[str, dict[str, Any]] = {}
    statement = sa.text(
        "SELECT sha256, status, kinds, n_rows, reason FROM raw_files "
        "WHERE sha256 IN :shas ORDER BY file_id"
    ).bindparams(sa.bindparam("shas", expanding=True))
    with engine.connect() as connection:
        for start in range(0, len(shas), 500):
            part = shas[start : start + 500]
            for row in connection.execute(statement, {"shas": part}).mappings():
                found.setdefault(
                    row["sha256"],
                    _outcome(row["status"], row["kinds"], row["n_rows"], row["reason"]),
                )
    return found


def _already_loaded(connection: Connection, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    statement = sa.text("SELECT sha256 FROM raw_loads WHERE sha256 IN :shas").bindparams(
        sa.bindparam("shas", expanding=True)
    )
    found: set[str] = set()
    for start in range(0, len(shas), 500):
        found |= {r[0] for r in connection.execute(statement, {"shas": shas[start : start + 500]})}
    return found


def _registry_row(
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


def _register(
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
    row = _registry_row(
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


def _quarantine_folder(settings: Settings, entry: LandingEntry) -> Path:
    return settings.quarantine_dir / entry.region / entry.receipt_date.isoformat()


def _copy_into(folder: Path, entry: LandingEntry) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    target = folder / entry.file_name
    partial = folder / temporary_name(entry.file_name)
    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as source, open(partial, "wb") as sink:
        shutil.copyfileobj(source, sink)
    os.chmod(partial, 0o640)
    os.replace(partial, target)  # a concurrent run copying the same file never sees half of it


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


def _quality_rows(sha: str, checks: Sequence[CheckResult], run_id: str) -> list[tuple[Any, ...]]:
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


__all__ = [
    "ExaminedFile",
    "ExaminedTable",
    "RegionIngest",
    "examine",
    "examine_group",
    "examine_stream",
    "file_report",
    "file_sha256",
    "ingest_region",
    "ingest_regions",
]

"""Examining files: each file read is normalised and validated, alone or in a group, with a
failure boundary around it (`examine_apart`); its checks add up to its report (contract §4).

Small files are read whole and examined together, one GX call per kind for the whole group;
a big file is examined batch by batch (`examine_stream`), duplicate rows and repeated keys
found across batches."""

from __future__ import annotations

import errno
import itertools
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from clauses.check.expectations import (
    UNIQUE_KEY_CHECK,
    CheckResult,
    FileChecks,
    KeyTracker,
    TableToValidate,
    is_blocking_failure,
    validate_batch,
)
from clauses.check.normalize import DuplicateTracker, NormalizedBatch, normalize_batch
from clauses.check.reports import FileReport
from clauses.contract.kinds import KIND_ORDER, KINDS, Kind
from clauses.read.files import open_file
from clauses.read.tables import OpenedFile, TableReader, TextBatch, concat_batches
from clauses.receive.landing import LandingEntry

log = logging.getLogger(__name__)


# Cells (rows x contract columns) validated together by a big file's batch. GX's cost is mostly
# per call, memory per cell (a few hundred bytes a cell at the peak of a GX call).
STREAM_CELLS = 2_000_000


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
    if isinstance(error, PermissionError | FileNotFoundError):
        return (
            "Le fichier n'a pas pu être lu (accès refusé, ou fichier retiré pendant la lecture) "
            "; déposez-le à nouveau."
        )
    return INTERNAL_ERROR


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


def examine(entry: LandingEntry, sha256: str, opened: OpenedFile) -> ExaminedFile:
    """An opened file, ready to be examined; a file read whole keeps its rows."""
    item = ExaminedFile(entry, sha256, opened)
    for reader in opened.tables:
        table = ExaminedTable(reader)
        if opened.whole:
            batches = list(reader.batches())
            table.text = concat_batches(batches) if batches else None
            table.rows = len(table.text) if table.text is not None else 0
            reader.let_go()  # the rows live in the table's text alone (`release_text`)
        item.tables.append(table)
    return item


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


def log_examined(item: ExaminedFile) -> None:
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

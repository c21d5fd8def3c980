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
- small files (the usual monthly exports: a few thousand rows) are read whole (by worker
  processes on a night with many of them: `clauses.check.read_ahead`) and grouped, all
  regions together, until the group holds `GROUP_CELLS` cells; each group is normalised and
  validated with one GX call per kind, then loaded with one transaction per region (a region's
  failure never stops another's loads; on PostgreSQL, `REGION_COMMITS` regions at a time);
- a big file is read by batches, each normalised, validated and loaded as it comes inside one
  transaction, rolled back (and the file quarantined) when a batch breaks a blocking rule; its
  report adds the batches up, and duplicate rows or repeated keys are found across batches.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clauses.check.examine import (
    ExaminedFile,
    ExaminedGroup,
    examine,
    examine_apart,
    is_run_failure,
    unreadable_reason,
)
from clauses.check.expectations import import_gx_ahead
from clauses.check.read_ahead import ToRead, read_ahead
from clauses.check.reports import FileReport, write_report
from clauses.config import Settings
from clauses.contract.vocabulary import FileStatus
from clauses.load.commit import Committer
from clauses.load.outcomes import Outcomes, RegionIngest
from clauses.load.registry import (
    entry_key,
    known_entries,
    register_entry,
    registered_contents,
    registered_outcome,
)
from clauses.read.files import open_file
from clauses.read.tables import FileRefused
from clauses.receive.landing import LandingEntry, file_sha256
from clauses.receive.quarantine import copy_into_quarantine, quarantine_folder

log = logging.getLogger(__name__)


# Small files are grouped until a group holds GROUP_CELLS cells (rows x contract columns).
GROUP_CELLS = 4_000_000
SMALL_FILE_BYTES = 16 << 20  # files up to this size are usually read whole
# Regions committed at a time on PostgreSQL (`_Ingestion._commit_regions`).
REGION_COMMITS = 3


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
    """A night's files, all regions together: scanned, read and examined in groups (or one
    big file at a time), then handed to the `Committer`; refusals registered here."""

    def __init__(self, engine: Engine, settings: Settings, run_id: str) -> None:
        self.engine = engine
        self.settings = settings
        self.run_id = run_id
        self.outcomes = Outcomes()
        self.committer = Committer(engine, settings, run_id, self.outcomes)

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
                        if entry_key(entry, "") not in known:
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
                        if entry_key(entry, "") not in known:
                            self._refuse(entry, "", unreadable_reason(error), copy=False)
                            outcome.refused += 1
                            outcome.internal_errors.append(entry.file_name)
                        else:
                            outcome.already_known += 1
                        continue
                    if entry_key(entry, sha) in known:
                        outcome.already_known += 1
                    elif sha in originals:
                        originals[sha].copies.append(entry)
                    else:
                        originals[sha] = _Pending(entry, sha, size=size)
                        candidates.append(originals[sha])
                except Exception as error:  # not one file's: the region stops, the others go on
                    self.outcomes.fail(region, error)
                    break
            outcome.read_s += time.perf_counter() - started
        registered = registered_contents(self.engine, [c.sha256 for c in candidates])
        to_read = []
        for candidate in candidates:
            region = candidate.entry.region
            previous = registered.get(candidate.sha256)
            if self.outcomes.failed(region):
                continue
            if previous is None:
                to_read.append(candidate)
                continue
            for entry in [candidate.entry, *candidate.copies]:
                if not self.outcomes.failed(entry.region):
                    register_entry(self.engine, entry, candidate.sha256, self.run_id, **previous)
                    self.outcomes[entry.region].copies += 1
        return to_read

    def _process(self, pending: list[_Pending]) -> None:
        group: list[ExaminedFile] = []
        cells = group_bytes = 0
        # Bytes of the small files still to read: a last group much smaller than the others
        # is not worth its own GX calls, the group before takes it in (up to 1.25 budget).
        remaining = sum(w.size for w in pending if w.size <= SMALL_FILE_BYTES)
        # Small files are read by worker processes when there are enough of them; meanwhile
        # this process imports Great Expectations.
        read = read_ahead(
            [ToRead(w.entry, w.sha256, w.size) for w in pending],
            workers=self.settings.workers,
            small=SMALL_FILE_BYTES,
            on_start=import_gx_ahead,
        )
        try:
            for work in pending:
                started = time.perf_counter()
                ahead = next(read)
                if work.size <= SMALL_FILE_BYTES:
                    remaining -= work.size
                if self.outcomes.failed(work.entry.region):
                    continue
                item = self._examined(work, ahead)
                self.outcomes.add(work.entry.region, "read_s", time.perf_counter() - started)
                if item is None:
                    continue
                if item.opened.whole:
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
        finally:
            read.close()  # the workers stop, even when the run does
        self._flush(group)

    def _examined(
        self, work: _Pending, ahead: ExaminedFile | BaseException | None
    ) -> ExaminedFile | None:
        """The file as read by a worker (``ahead``), or read here when it was not; None when it
        is refused (its refusal registered)."""
        try:
            if isinstance(ahead, BaseException):
                raise ahead
            item = ahead
            if item is None:
                item = examine(work.entry, work.sha256, open_file(work.entry.path))
                pa.default_memory_pool().release_unused()  # what parsing freed
        except FileRefused as refused:
            self._refused_with_copies(work, refused.reason)
            return None
        except Exception as error:  # the file's own, unforeseen: it alone is refused
            self._set_apart(work, error)
            return None
        item.copies = work.copies
        return item

    def _set_apart(self, work: _Pending, error: Exception) -> None:
        """Refuse a file whose reading or checking raised ``error``: its reader's refusal, or
        an error nobody foresaw (then its traceback is logged for the team). Its bytes are
        kept in quarantine. An error of the run itself is raised instead."""
        if is_run_failure(error):
            raise error
        region = work.entry.region
        if self.outcomes.failed(region):
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
            self.outcomes.fail(region, failure)

    def _refused_with_copies(self, work: _Pending, reason: str) -> None:
        self._refuse(work.entry, work.sha256, reason, copy=True)
        self.outcomes[work.entry.region].refused += 1
        for entry in work.copies:
            if not self.outcomes.failed(entry.region):
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

    def _stream(self, item: ExaminedFile) -> None:
        """A big file, examined and loaded batch by batch (`Committer.stream`); refused alone
        when it raises (everything it wrote is rolled back)."""
        work = _Pending(item.entry, item.sha256, item.copies)
        try:
            self.committer.stream(item)
        except FileRefused as refused:  # found unreadable further down: nothing was kept
            self._refused_with_copies(work, refused.reason)
        except sa.exc.IntegrityError:
            log.info("file %s was registered by another run", item.entry.file_name)
        except Exception as error:  # the file's own, unforeseen (rolled back): it alone is refused
            self._set_apart(work, error)

    def _flush(self, group: list[ExaminedFile]) -> None:
        if not group:
            return
        started = time.perf_counter()
        examined, apart = examine_apart(
            group, pseudonym_key=self.settings.pseudonym_key, release_text=True
        )
        self.outcomes.share("validate_s", time.perf_counter() - started, group)
        for item, error in apart:
            self._set_apart(_Pending(item.entry, item.sha256, item.copies), error)
        for part in examined:
            self._commit_regions(part)

    def _commit_regions(self, part: ExaminedGroup) -> None:
        """Each region's files of ``part`` committed in a transaction of its own. On
        PostgreSQL, `REGION_COMMITS` regions at a time: the server's processes write the rows
        and maintain the indexes while this one encodes the next region's (SQLite has one
        writer at a time). Each region's share of the stage is its own time, scaled to the
        stage's elapsed time, so that the regions' times add up to the run's."""
        todo = {
            r: items for r, items in _by_region(part.items).items() if not self.outcomes.failed(r)
        }
        seconds: dict[str, float] = {}

        def commit(region: str) -> None:
            started = time.perf_counter()
            try:
                self.committer.commit_region(todo[region], part.batches)
            except Exception as error:  # not one file's: the region stops, others go on
                self.outcomes.fail(region, error)  # raises when the warehouse is lost
            finally:
                seconds[region] = time.perf_counter() - started

        started = time.perf_counter()
        threads = REGION_COMMITS if self.engine.dialect.name == "postgresql" else 1
        if threads > 1 and len(todo) > 1:
            with ThreadPoolExecutor(threads, thread_name_prefix="commit") as pool:
                for done in [pool.submit(commit, region) for region in todo]:
                    done.result()  # a lost warehouse stops the run, as in sequence
        else:
            for region in todo:
                commit(region)
        scale = (time.perf_counter() - started) / (sum(seconds.values()) or 1)
        for region, spent in seconds.items():
            self.outcomes.add(region, "load_s", spent * scale)


def _by_region(items: Sequence[ExaminedFile]) -> dict[str, list[ExaminedFile]]:
    out: dict[str, list[ExaminedFile]] = defaultdict(list)
    for item in items:
        out[item.entry.region].append(item)
    return dict(sorted(out.items()))

"""The warehouse side of a night's files: each examined file quarantined or loaded whole, in
one transaction with its registry entry, quality results and lineage (contract §1-4).

Small files are committed a region at a time (`commit_region`), one by one when one of them
cannot be (another run registered it, or the warehouse refuses one of its values); a big file
is loaded batch by batch as it is examined, in one transaction rolled back when it turns out
to break a blocking rule (`stream`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clauses.check.examine import (
    ExaminedFile,
    ExaminedTable,
    examine_stream,
    file_report,
    log_examined,
)
from clauses.check.normalize import NormalizedBatch
from clauses.check.reports import FileReport, write_report
from clauses.config import Settings
from clauses.contract.kinds import Kind
from clauses.contract.vocabulary import FileStatus
from clauses.load.outcomes import Outcomes
from clauses.load.registry import (
    QUALITY_COLUMNS,
    already_loaded,
    quality_rows,
    registered_outcome,
    registry_row,
)
from clauses.load.writes import insert_group, insert_rows, warehouse_refusal
from clauses.receive.quarantine import copy_into_quarantine, quarantine_folder
from clauses.warehouse.engine import bulk_insert, insert_mappings

log = logging.getLogger(__name__)


@dataclass
class Committer:
    """Writes the examined files of one run into the warehouse, counting them in ``outcomes``."""

    engine: Engine
    settings: Settings
    run_id: str
    outcomes: Outcomes

    def commit_region(
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
                paths[id(item)] = self.write_quarantine(item, reports[id(item)])
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
            self.outcomes.count(item, inserted.get(item.sha256, 0))

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
        paths[id(item)] = self.write_quarantine(item, reports[id(item)])
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
                self.outcomes.add_rows_load(
                    items[0].entry.region, kind, time.perf_counter() - started
                )
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

    def write_quarantine(self, item: ExaminedFile, report: FileReport) -> Path:
        folder = quarantine_folder(self.settings, item.entry)
        copy_into_quarantine(folder, item.entry)
        return write_report(folder, report)

    def stream(self, item: ExaminedFile) -> None:
        """Read, validate and load a big file batch by batch in one transaction; roll it back
        and quarantine the file when a batch breaks a blocking rule. Raises what the file
        raised once rolled back (`FileRefused` found further down, or an error nobody
        foresaw), and IntegrityError when another run registered it meanwhile."""
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
                        self.outcomes.add_rows_load(region, batch.kind, time.perf_counter() - step)
                        load_s += time.perf_counter() - step

                    examine_stream(item, pseudonym_key=self.settings.pseudonym_key, on_batch=load)
                    log_examined(item)
                    report = file_report(item)
                    step = time.perf_counter()
                    paths = {}
                    if item.blocking:
                        transaction.rollback()
                        inserted = 0
                        paths[id(item)] = self.write_quarantine(item, report)
                        transaction = connection.begin()
                    loads = {item.sha256: inserted} if loading and not item.blocking else {}
                    self._registry(connection, [item], {id(item): report}, paths, loads)
                    transaction.commit()
                    load_s += time.perf_counter() - step
                except BaseException:
                    if transaction.is_active:
                        transaction.rollback()
                    raise
            self.outcomes.count(item, inserted)
        finally:
            elapsed = time.perf_counter() - started
            self.outcomes.add(region, "load_s", load_s)
            self.outcomes.add(region, "validate_s", elapsed - load_s)

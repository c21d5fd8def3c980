"""What a night's ingestion did, region by region: counts, seconds per stage, errors.

Files of several regions are read, validated and loaded together; `Outcomes` keeps each
region's account, shares the time of a shared step between regions, and records a region's
failure (the other regions go on)."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from clauses.contract.kinds import Kind

if TYPE_CHECKING:  # a run with nothing new counts its files without the checkers
    from clauses.check.examine import ExaminedFile

log = logging.getLogger(__name__)


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


class Outcomes(dict[str, RegionIngest]):
    """Each region's `RegionIngest`, by region code. Regions committed at once (PostgreSQL)
    count from threads of their own: every update holds the lock (a file's copies may be
    another region's)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def fail(self, region: str, error: BaseException) -> None:
        """Record that ``region`` stops here; an error of the warehouse stops the whole run."""
        if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
            raise error  # the warehouse failed, not the region: the whole run stops
        log.error("region %s: ingestion failed", region, exc_info=error)
        if self[region].error is None:
            self[region].error = repr(error)

    def failed(self, region: str) -> bool:
        return self[region].error is not None

    def share(self, stage: str, seconds: float, items: Sequence[ExaminedFile]) -> None:
        """Share a step's time between the regions of ``items``, by cells."""
        cells: dict[str, int] = defaultdict(int)
        for item in items:
            cells[item.entry.region] += item.cells()
        total = sum(cells.values()) or 1
        for region, n in cells.items():
            self.add(region, stage, seconds * n / total)

    def add(self, region: str, stage: str, seconds: float) -> None:
        with self._lock:
            outcome = self[region]
            setattr(outcome, stage, getattr(outcome, stage) + seconds)

    def add_rows_load(self, region: str, kind: Kind, seconds: float) -> None:
        with self._lock:
            times = self[region].rows_load_s
            times[kind.value] = times.get(kind.value, 0.0) + seconds

    def count(self, item: ExaminedFile, inserted: int) -> None:
        """Count a file quarantined or loaded (with its rows), and its copies."""
        with self._lock:
            outcome = self[item.entry.region]
            if item.blocking:
                outcome.quarantined += 1
                outcome.quarantined_files.append(item.entry.file_name)
            else:
                outcome.loaded += 1
                outcome.rows_loaded += inserted
            for entry in item.copies:
                self[entry.region].copies += 1


@dataclass
class DecpIngest:
    """What a run did with the DECP entries (the run report's `decp`)."""

    received: int = 0
    already_known: int = 0
    loaded: int = 0
    quarantined: int = 0
    refused: int = 0
    duplicates: int = 0  # the same bytes as an entry registered before
    contracts: int = 0  # of the snapshots loaded by this run
    versions_added: int = 0
    versions_closed: int = 0
    internal_errors: list[str] = field(default_factory=list)
    examine_s: float = 0.0  # reading, typing and validating
    load_s: float = 0.0  # comparing with the open versions and writing
    seconds: float = 0.0

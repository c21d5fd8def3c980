"""One run as of a date: receive, validate and load, compute, publish (DESIGN.md, data flow).

The same functions serve the command line (`clauses run`) and the Airflow tasks, so that a
nightly run, a backfill and a run by hand leave the same figures for the same date.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from clauses.compute.figures import compute_as_of
from clauses.config import TIMEZONE, Settings
from clauses.load.outcomes import DecpIngest, RegionIngest
from clauses.load.registry import decp_nothing_new, nothing_new
from clauses.publish.tables import publish_extracts
from clauses.receive.landing import LandingEntry, move_loose_files, scan_landing
from clauses.receive.quarantine import purge_quarantine
from clauses.run.status import record_decisions
from clauses.warehouse.engine import (
    INGEST_LOCK,
    exclusive,
    insert_mappings,
    make_engine,
    migrate,
    sql_query,
    unavailable_as_error,
)

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What a run did, small enough to pass between Airflow tasks (as a dict)."""

    run_id: str
    as_of: str
    live: bool
    moved: int = 0
    outside: list[tuple[str, str]] = field(default_factory=list)
    regions: dict[str, dict[str, object]] = field(default_factory=dict)
    decp: dict[str, object] = field(default_factory=dict)  # the DECP snapshots (§8.1)
    decisions: dict[str, int] = field(default_factory=dict)
    computation: str = ""  # computed | carried (from an earlier date) | unchanged
    extracts: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    peak_rss_mb: float | None = None  # the process's own peak memory once the run ended

    def failed_regions(self) -> list[str]:
        return [r for r, s in self.regions.items() if s.get("error")]

    def internal_errors(self) -> dict[str, list[str]]:
        """The files refused for an error nobody foresaw (see the log), by region."""
        found: dict[str, list[str]] = {}
        for region, summary in self.regions.items():
            files = summary.get("internal_errors")
            if isinstance(files, list) and files:
                found[region] = [str(name) for name in files]
        snapshots = self.decp.get("internal_errors")
        if isinstance(snapshots, list) and snapshots:
            found["decp"] = [str(name) for name in snapshots]
        return found


def today_in_paris() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def prepare_warehouse(settings: Settings) -> Engine:
    """The warehouse engine, its schema migrated to the latest revision."""
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    return engine


def receive_and_load(
    settings: Settings,
    engine: Engine,
    as_of: date,
    *,
    live: bool,
    run_id: str,
    regions: set[str] | None = None,
    receive_until: date | None = None,
) -> RunReport:
    """Receive every file of the landing zone as of `as_of` and load the valid ones.

    A live run (as_of is today) first moves loose files into today's receipt folder; a
    backfill never does. Regions are isolated: an unexpected error in one is recorded in the
    report and the run summary, and the others go on.

    With `receive_until` after `as_of` (a backfill: its other runs will need them), the files
    received after `as_of` up to that date are received too, in the same process, once the
    run's own are: the runs of the later dates then find them known instead of each importing
    Great Expectations to read them. They count for neither this run's figures (everything is
    computed as of a date) nor its report: their own date's run reports them.
    """
    report = RunReport(run_id=run_id, as_of=as_of.isoformat(), live=live)
    if live:
        with exclusive(engine, INGEST_LOCK):
            today = today_in_paris()
            report.moved = len(move_loose_files(settings.landing_dir, today))
            purge_quarantine(settings.quarantine_dir, today, settings.quarantine_retention_days)
    scan = scan_landing(settings.landing_dir, as_of, regions)
    report.outside = scan.outside
    for path, reason in scan.outside:
        log.warning("landing/%s refused: %s", path, reason)
    outcomes, snapshots = _ingest(engine, settings, _by_region(scan.entries), scan.decp, run_id)
    if snapshots is not None:
        report.decp = asdict(snapshots)
    if receive_until is not None and receive_until > as_of:
        _receive_ahead(engine, settings, receive_until, regions, run_id)
    for region, outcome in outcomes.items():
        report.regions[region] = asdict(outcome)
        _store_summary(engine, run_id, as_of, outcome)
    return report


def _by_region(entries: list[LandingEntry]) -> dict[str, list[LandingEntry]]:
    by_region: dict[str, list[LandingEntry]] = {}
    for entry in entries:
        by_region.setdefault(entry.region, []).append(entry)
    return by_region


def _ingest(
    engine: Engine,
    settings: Settings,
    entries_by_region: dict[str, list[LandingEntry]],
    snapshots: list[LandingEntry],
    run_id: str,
) -> tuple[dict[str, RegionIngest], DecpIngest | None]:
    """`ingest_regions` and `ingest_snapshots` (the DECP) under the warehouse's ingestion lock,
    unless every entry is registered already with the same bytes (most runs of a backfill, a
    night without files): then nothing is read, the lock is not taken (a registered entry stays
    registered: the runs of a backfill that find nothing new do not wait for each other), and
    the readers and checkers (pandas, and Great Expectations when a file is validated) are not
    even imported. The DECP outcome is None when there was no DECP entry at all."""
    if nothing_new(engine, entries_by_region) and decp_nothing_new(engine, snapshots):
        log.info(
            "nothing new among %d entries",
            sum(map(len, entries_by_region.values())) + len(snapshots),
        )
        regions = {
            region: RegionIngest(region, received=len(entries), already_known=len(entries))
            for region, entries in sorted(entries_by_region.items())
        }
        known = DecpIngest(received=len(snapshots), already_known=len(snapshots))
        return regions, known if snapshots else None
    from clauses.load.decp import ingest_snapshots  # imported here: see above
    from clauses.load.ingest import ingest_regions

    with exclusive(engine, INGEST_LOCK):  # another run may have registered them meanwhile
        regions = ingest_regions(engine, settings, entries_by_region, run_id)
        # After the regions: a snapshot that fails the run leaves their files loaded.
        decp = ingest_snapshots(engine, settings, snapshots, run_id) if snapshots else None
        return regions, decp


def _receive_ahead(
    engine: Engine, settings: Settings, until: date, regions: set[str] | None, run_id: str
) -> None:
    """Receive the files of the landing zone as of `until`, for the runs of later dates; a
    region's failure is logged here and reported by the run of the date of its files."""
    log.info("receiving the files up to %s for the runs of the later dates", until)
    scan = scan_landing(settings.landing_dir, until, regions)
    outcomes, _ = _ingest(engine, settings, _by_region(scan.entries), scan.decp, run_id)
    for region, outcome in outcomes.items():
        if outcome.error:
            log.warning("region %s, files up to %s: %s", region, until, outcome.error)


def _store_summary(engine: Engine, run_id: str, as_of: date, outcome: RegionIngest) -> None:
    with engine.begin() as connection:
        connection.execute(
            sql_query("delete_run_summary"), {"run": run_id, "region": outcome.region}
        )
        insert_mappings(
            connection,
            "run_summaries",
            [
                {
                    "run_id": run_id,
                    "region": outcome.region,
                    "as_of": as_of,
                    "files_received": outcome.received,
                    "files_loaded": outcome.loaded,
                    "files_quarantined": outcome.quarantined,
                    "files_refused": outcome.refused,
                    "rows_loaded": outcome.rows_loaded,
                    "seconds": outcome.seconds,
                    "error": outcome.error,
                    "finished_at": datetime.now(UTC),
                }
            ],
        )


def run_date(
    settings: Settings,
    as_of: date,
    *,
    regions: set[str] | None = None,
    live: bool | None = None,
    run_id: str | None = None,
    force: bool = False,
    receive_until: date | None = None,
) -> RunReport:
    """A whole run as of `as_of`: the nightly run by hand. With `force`, the figures and the
    extracts are rewritten even where they would come out identical; `receive_until`: see
    `receive_and_load`."""
    live = (as_of == today_in_paris()) if live is None else live
    run_id = run_id or f"manual__{as_of.isoformat()}__{uuid.uuid4().hex[:8]}"
    engine = make_engine(settings.warehouse_url)
    with unavailable_as_error(engine):
        return _run_date(settings, engine, as_of, regions, live, run_id, force, receive_until)


def _run_date(
    settings: Settings,
    engine: Engine,
    as_of: date,
    regions: set[str] | None,
    live: bool,
    run_id: str,
    force: bool,
    receive_until: date | None,
) -> RunReport:
    started = time.perf_counter()
    migrate(engine)
    report = receive_and_load(
        settings,
        engine,
        as_of,
        live=live,
        run_id=run_id,
        regions=regions,
        receive_until=receive_until,
    )
    step = time.perf_counter()
    computation = compute_as_of(engine, as_of, force=force)
    report.decisions, report.computation = computation.decisions, computation.mode
    compute_s = time.perf_counter() - step
    step = time.perf_counter()
    report.extracts = {
        region: str(path)
        for region, path in publish_extracts(
            engine,
            settings.extracts_dir,
            as_of,
            regions,
            settings.outbox_template,
            force=force,
            processes=settings.workers,
        ).items()
    }
    report.timings = {
        stage: sum(float(str(r[stage])) for r in report.regions.values())
        for stage in ("read_s", "validate_s", "load_s")
    }
    extract_s = time.perf_counter() - step
    record_decisions(engine, run_id, as_of, compute_s, extract_s)
    report.timings |= {
        "compute_s": compute_s,
        "extract_s": extract_s,
        "total_s": time.perf_counter() - started,
    }
    report.peak_rss_mb = peak_rss_mb()
    return report


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB, from its own address space (Linux
    `VmHWM`): unlike getrusage's, it never counts the memory of the process it was forked
    from. None where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None

"""One run as of a date: receive, validate and load, compute, publish (DESIGN.md, data flow).

The same functions serve the command line (`clauses run`) and the Airflow tasks, so that a
nightly run, a backfill and a run by hand leave the same figures for the same date.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clauses.compute import compute_as_of
from clauses.config import TIMEZONE, Settings
from clauses.ingest import RegionIngest, ingest_regions
from clauses.landing import (
    LandingEntry,
    LandingScan,
    move_loose_files,
    purge_quarantine,
    scan_landing,
)
from clauses.publish import publish_extracts
from clauses.status import record_decisions
from clauses.warehouse import (
    INGEST_LOCK,
    as_date,
    exclusive,
    insert_mappings,
    make_engine,
    migrate,
    unavailable_as_error,
)

log = logging.getLogger(__name__)

MAX_RECEPTION_PASSES = 3  # passes of one reception while waiting runs ask for later dates
REQUEST_TTL = timedelta(hours=1)  # a run waiting longer than this to receive has died


@dataclass
class RunReport:
    """What a run did, small enough to pass between Airflow tasks (as a dict)."""

    run_id: str
    as_of: str
    live: bool
    moved: int = 0
    outside: list[tuple[str, str]] = field(default_factory=list)
    regions: dict[str, dict[str, object]] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    computation: str = ""  # computed | carried (from an earlier date) | unchanged
    extracts: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    def failed_regions(self) -> list[str]:
        return [r for r, s in self.regions.items() if s.get("error")]


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
) -> RunReport:
    """Receive every file of the landing zone as of `as_of` and load the valid ones.

    A live run (as_of is today) first moves loose files into today's receipt folder; a
    backfill never does. Regions are isolated: an unexpected error in one is recorded in the
    report and the run summary, and the others go on. Runs receive one at a time (the runs of a
    backfill start together); the run holding the lock also receives the files of the dates
    the waiting runs asked for (`_receive`), which then find them known instead of reading
    them and importing Great Expectations again. Figures stay as of each run's own date.
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
    with _reception_request(engine, run_id, as_of, all_regions=regions is None):
        with exclusive(engine, INGEST_LOCK):
            outcomes = _receive(engine, settings, scan, as_of, regions, run_id)
    for region, outcome in outcomes.items():
        report.regions[region] = asdict(outcome)
        _store_summary(engine, run_id, as_of, outcome)
    return report


def _by_region(entries: list[LandingEntry]) -> dict[str, list[LandingEntry]]:
    by_region: dict[str, list[LandingEntry]] = {}
    for entry in entries:
        by_region.setdefault(entry.region, []).append(entry)
    return by_region


def _receive(
    engine: Engine,
    settings: Settings,
    scan: LandingScan,
    as_of: date,
    regions: set[str] | None,
    run_id: str,
) -> dict[str, RegionIngest]:
    """Ingest the files of `scan` and, for a run of every region, those of the later dates
    that waiting runs asked for (`_requested_horizon`), in passes while more are asked for.

    A region that fails on the way gets one more pass over its own files as of `as_of`
    alone, so that a later date's file never fails this run (it fails its own date's run).
    `received` counts the run's own files, as of its date.
    """
    own = _by_region(scan.entries)
    served = as_of
    outcomes: dict[str, RegionIngest] = {}
    for _ in range(MAX_RECEPTION_PASSES):
        horizon = max(served, _requested_horizon(engine)) if regions is None else as_of
        if outcomes and horizon == served:
            break
        if horizon == as_of:
            entries = own
        else:
            log.info("receiving up to %s for the runs waiting to receive", horizon)
            entries = _by_region(scan_landing(settings.landing_dir, horizon).entries)
        for region, outcome in ingest_regions(engine, settings, entries, run_id).items():
            if region in outcomes and not outcome.error:
                outcome.error = outcomes[region].error  # an earlier pass's failure stays known
            outcomes[region] = outcome
        served = horizon
    failed = {r: own.get(r, []) for r, o in outcomes.items() if o.error}
    if failed and served > as_of:
        outcomes.update(ingest_regions(engine, settings, failed, run_id))
    for region, outcome in outcomes.items():
        outcome.received = len(own.get(region, []))
    return outcomes


@contextlib.contextmanager
def _reception_request(
    engine: Engine, run_id: str, as_of: date, *, all_regions: bool
) -> Iterator[None]:
    """Record, while the run waits for and holds the ingest lock, the date it receives as of."""
    with engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM reception_requests WHERE run_id = :run"), {"run": run_id}
        )
        insert_mappings(
            connection,
            "reception_requests",
            [
                {
                    "run_id": run_id,
                    "as_of": as_of,
                    "all_regions": all_regions,
                    "requested_at": datetime.now(UTC),
                }
            ],
        )
    try:
        yield
    finally:
        # A lost warehouse: the block's own error is the one to report; the request expires.
        with contextlib.suppress(sa.exc.DBAPIError), engine.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM reception_requests WHERE run_id = :run"), {"run": run_id}
            )


def _requested_horizon(engine: Engine) -> date:
    """The latest date, not after today, that a run of every region waiting to receive asked
    for (requests older than REQUEST_TTL are runs that died waiting)."""
    with engine.connect() as connection:
        latest = connection.execute(
            sa.text(
                "SELECT MAX(as_of) FROM reception_requests "
                "WHERE all_regions AND requested_at >= :since AND as_of <= :today"
            ),
            {"since": datetime.now(UTC) - REQUEST_TTL, "today": today_in_paris()},
        ).scalar()
    return date.min if latest is None else as_date(latest)


def _store_summary(engine: Engine, run_id: str, as_of: date, outcome: RegionIngest) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM run_summaries WHERE run_id = :run AND region = :region"),
            {"run": run_id, "region": outcome.region},
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
) -> RunReport:
    """A whole run as of `as_of`: the nightly run by hand. With `force`, the figures and the
    extracts are rewritten even where they would come out identical."""
    live = (as_of == today_in_paris()) if live is None else live
    run_id = run_id or f"manual__{as_of.isoformat()}__{uuid.uuid4().hex[:8]}"
    engine = make_engine(settings.warehouse_url)
    with unavailable_as_error(engine):
        return _run_date(settings, engine, as_of, regions, live, run_id, force)


def _run_date(
    settings: Settings,
    engine: Engine,
    as_of: date,
    regions: set[str] | None,
    live: bool,
    run_id: str,
    force: bool,
) -> RunReport:
    started = time.perf_counter()
    migrate(engine)
    report = receive_and_load(settings, engine, as_of, live=live, run_id=run_id, regions=regions)
    step = time.perf_counter()
    computation = compute_as_of(engine, as_of, force=force)
    report.decisions, report.computation = computation.decisions, computation.mode
    compute_s = time.perf_counter() - step
    step = time.perf_counter()
    report.extracts = {
        region: str(path)
        for region, path in publish_extracts(
            engine, settings.extracts_dir, as_of, regions, settings.outbox_template, force=force
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
    return report

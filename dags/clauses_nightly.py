"""The nightly consolidation: receive, validate and load, compute, publish (see doc_md)."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable
from clauses_airflow import (
    TIMEZONE,
    dag_defaults,
    is_live,
    receive_until,
    run_date,
    task_settings,
)

DOC = """
### clauses_nightly

Every night at midnight (Europe/Paris) the pipeline consolidates, as of the day that ends (the
logical date D, start of the data interval), what the 18 regions dropped in
`landing/<region>/<D>/`:

1. **receive_and_load**: lists the landing zone as of D (the scheduled run first moves loose
   files into today's folder; a backfill never does), reads and validates each new file with its
   Great Expectations suite, quarantines broken files with a French report, loads the others.
   Regions are isolated: a failure in one is recorded and the others go on. A backfill run
   also receives the files of its later dates (up to today), so that its sibling runs find
   them known; they count only for the figures of their own dates.
2. **compute_and_publish**: figures, rules R01-R09 and decisions as of D (set-based SQL),
   then each region's compliance extract and the national one, published atomically under
   `extracts/<region>/<D>/`; it fails the run, after every extract is written, if a region
   failed in step 1 (without retrying: the failure is recorded, a retry would change nothing).

A date whose inputs (files received on or before D, with their status), rules and code did
not change since the previous computed date is cheap: its figures are carried over unless a
strand crosses a date threshold (Date de fin, R05's deadline), and an extract whose content
would come out identical is not rewritten.

Manual runs: Params `date` (D, default the logical date), `regions` (default all) and
`force` (recompute and rewrite even where nothing changed).
Backfill: `airflow backfill create --dag-id clauses_nightly --from-date ... --to-date ...`.
"""


@dag(
    dag_id="clauses_nightly",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=TIMEZONE),
    doc_md=DOC,
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="D, the date the figures are computed as of (AAAA-MM-JJ)",
        ),
        "regions": Param([], type="array", description="region codes; empty: all 18"),
        "force": Param(
            False,
            type="boolean",
            description="recompute the figures and rewrite the extracts even where unchanged",
        ),
    },
    **dag_defaults(),
)
def clauses_nightly() -> None:
    @task
    def receive_and_load() -> dict:
        from clauses import pipeline
        from clauses.warehouse import make_engine, migrate, unavailable_as_error

        context = get_current_context()
        settings = task_settings()
        regions = set(context["params"].get("regions") or []) or None
        engine = make_engine(settings.warehouse_url)
        with unavailable_as_error(engine):  # a clear message; the task retries
            migrate(engine)
            report = pipeline.receive_and_load(
                settings,
                engine,
                run_date(context),
                live=is_live(context),
                run_id=context["run_id"],
                regions=regions,
                receive_until=receive_until(context),
            )
        return {
            "as_of": report.as_of,
            "failed_regions": report.failed_regions(),
            "files": sum(int(r["received"]) for r in report.regions.values()),
        }

    @task
    def compute_and_publish(received: dict) -> dict:
        import time
        from datetime import date

        from airflow.sdk.exceptions import AirflowFailException

        from clauses.compute import compute_as_of
        from clauses.publish import publish_extracts
        from clauses.status import record_decisions
        from clauses.warehouse import make_engine, unavailable_as_error

        settings = task_settings()
        engine = make_engine(settings.warehouse_url)
        as_of = date.fromisoformat(received["as_of"])
        context = get_current_context()
        force = bool(context["params"].get("force"))
        with unavailable_as_error(engine):  # a clear message; the task retries
            computation = compute_as_of(engine, as_of, force=force)
            started = time.perf_counter()
            published = publish_extracts(
                engine,
                settings.extracts_dir,
                as_of,
                outbox_template=settings.outbox_template,
                force=force,
            )
            record_decisions(
                engine, context["run_id"], as_of, computation.seconds, time.perf_counter() - started
            )
        if received["failed_regions"]:
            # Every other region's figures and extracts are published; retrying changes nothing.
            raise AirflowFailException(f"regions failed: {', '.join(received['failed_regions'])}")
        return {
            **received,
            "decisions": computation.decisions,
            "computation": computation.mode,
            "extracts": len(published),
        }

    compute_and_publish(receive_and_load())


clauses_nightly()

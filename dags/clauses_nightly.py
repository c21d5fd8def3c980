"""The nightly consolidation: receive, validate and load, compute, publish (see doc_md)."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable
from clauses_airflow import (
    TIMEZONE,
    dag_defaults,
    is_live,
    notify_internal_errors,
    receive_until,
    run_date,
    task_settings,
)

DOC = """
### clauses_nightly

Every night at midnight (Europe/Paris) the pipeline consolidates, as of the day that ends (the
logical date D, start of the data interval), what the 18 regions dropped in
`landing/<region>/<D>/`:

One coarse task, **consolidate** (Airflow's per-task overhead is seconds, and a backfill of
365 runs multiplies it), calling `clauses.run.pipeline.run_date`:

1. receive: list the landing zone as of D (the scheduled run first moves loose files into
   today's folder; a backfill never does), read and validate each new file with its Great
   Expectations suite, quarantine broken files with a French report, load the others. Regions
   are isolated: a failure in one is recorded and the others go on. A backfill run also
   receives the files of its later dates (up to today), so that its sibling runs find them
   known; they count only for the figures of their own dates.
2. compute: figures, rules R01-R09 and decisions as of D (set-based SQL);
3. publish each region's compliance extract and the national one, atomically, under
   `extracts/<region>/<D>/`.

The warehouse unreachable: the task retries (every step is idempotent). A region that failed
in step 1 fails the run once every extract is written, without retrying: the failure is
recorded, a retry would change nothing.

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
    def consolidate() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from clauses.run import pipeline

        context = get_current_context()
        params = context["params"]
        report = pipeline.run_date(  # WarehouseUnavailable when unreachable: the task retries
            task_settings(),
            run_date(context),
            regions=set(params.get("regions") or []) or None,
            live=is_live(context),
            run_id=context["run_id"],
            force=bool(params.get("force")),
            receive_until=receive_until(context),
        )
        internal = report.internal_errors()
        if internal:  # refused files the facilitators were told the team would look at
            notify_internal_errors(context["run_id"], internal)
        failed = report.failed_regions()
        if failed:
            # Every other region's figures and extracts are published; retrying changes nothing.
            raise AirflowFailException(f"regions failed: {', '.join(failed)}")
        return {
            "as_of": report.as_of,
            "files": sum(int(r["received"]) for r in report.regions.values()),
            "decisions": report.decisions,
            "computation": report.computation,
            "extracts": len(report.extracts),
            "internal_errors": internal,
        }

    consolidate()


clauses_nightly()

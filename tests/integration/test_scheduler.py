"""The DAG under a real Airflow deployment: api-server, scheduler, dag-processor (+ Celery worker).

Slow (a real scheduler, a backfill of 30 runs): marked `airflow` like the other Airflow tests.
The deployment is `tests/airflow_stack.py`; every wait is bounded and an assertion message ends
with the tail of the components' logs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from support.airflow_stack import AirflowStack, fresh_postgres_database
from support.templates import Samples, create_database, drop_database

from clauses.config import load_settings
from clauses.contract.kinds import REGIONS
from clauses.run import pipeline
from clauses.warehouse.engine import make_engine

pytestmark = pytest.mark.airflow

DAG_ID = "clauses_nightly"
PARIS = ZoneInfo("Europe/Paris")
KEY = "scheduler-test-pseudonymisation-key-not-for-production"
FIRST_DAY = date(2025, 1, 1)
DAYS = [FIRST_DAY + timedelta(days=n) for n in range(30)]  # 2025-01-01 .. 2025-01-30
BACKFILL_TIMEOUT = 20 * 60
# Columns that say when or by which run a row was written, not what it says.
VOLATILE_COLUMNS = {"run_id", "load_id", "file_id", "computed_at", "registered_at", "loaded_at"}
COMPARED_MARTS = ("mart_conventions", "mart_rule_results", "mart_regions")


@pytest.fixture
def metadata_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for Airflow's metadata."""
    with fresh_postgres_database(postgres_server, "clauses_airflow_meta") as url:
        yield url


@pytest.fixture
def reference_warehouse_url(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A second warehouse (a copy of the session's migrated one), for the same dates computed by
    hand."""
    url = create_database(postgres_server, "clauses_reference", template=postgres_template)
    yield url
    drop_database(postgres_server, url)


def pipeline_env(data_dir: Path, warehouse_url: str) -> dict[str, str]:
    """What the Airflow processes need to run the pipeline (README, configuration)."""
    return {
        "CLAUSES_DATA_DIR": str(data_dir),
        "CLAUSES_PSEUDONYM_KEY": KEY,
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE": json.dumps(
            {"conn_type": "postgres", "extra": {"url": warehouse_url}}
        ),
    }


def logical_day(logical) -> date:  # type: ignore[no-untyped-def]
    """D of a run: its logical date in Europe/Paris, as the DAG computes it."""
    return logical.astimezone(PARIS).date()


def failure_message(stack: AirflowStack, what: str) -> str:
    tis = [tuple(row) for row in stack.task_instances() if row.state != "success"]
    return f"{what}\nunsuccessful task instances: {tis}\n{stack.tail_logs()}"


def mart_rows(url: str, days: list[date]) -> dict[str, list[tuple]]:
    """The stored figures of `days`, without volatile columns; mart_files by file name."""
    engine = make_engine(url)
    result: dict[str, list[tuple]] = {}
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            for table in COMPARED_MARTS:
                columns = [
                    c["name"]
                    for c in inspector.get_columns(table)
                    if c["name"] not in VOLATILE_COLUMNS
                ]
                listed = ", ".join(columns)
                result[table] = [
                    tuple(row)
                    for row in connection.execute(
                        sa.text(
                            f"SELECT {listed} FROM {table} WHERE as_of BETWEEN :a AND :b "
                            f"ORDER BY {listed}"
                        ),
                        {"a": days[0], "b": days[-1]},
                    )
                ]
            file_columns = [
                f"m.{c['name']}"
                for c in inspector.get_columns("mart_files")
                if c["name"] not in VOLATILE_COLUMNS
            ]
            listed = ", ".join(
                [*file_columns, "f.region", "f.receipt_date", "f.file_name", "f.sha256", "f.status"]
            )
            result["mart_files"] = [
                tuple(row)
                for row in connection.execute(
                    sa.text(
                        f"SELECT {listed} FROM mart_files m JOIN raw_files f "
                        "ON f.file_id = m.file_id WHERE m.as_of BETWEEN :a AND :b "
                        f"ORDER BY {listed}"
                    ),
                    {"a": days[0], "b": days[-1]},
                )
            ]
    finally:
        engine.dispose()
    return result


def extract_csvs(extracts_dir: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(extracts_dir)): path.read_bytes()
        for path in sorted(extracts_dir.rglob("*.csv"))
    }


def test_backfill_with_real_scheduler_equals_clauses_run(
    tmp_path: Path,
    samples: Samples,
    postgres_warehouse_url: str,
    metadata_url: str,
    reference_warehouse_url: str,
) -> None:
    postgres_url = postgres_warehouse_url  # the backfill's warehouse, migrated already
    airflow_data = tmp_path / "airflow-data"
    samples.copy(airflow_data / "landing", 0.05, 5, defects=True)
    env = pipeline_env(airflow_data, postgres_url)
    # The same dates by hand, in this process, against another warehouse and data folder: run
    # while the scheduler works through the backfill (the landing zone is only read by both).
    reference_data = tmp_path / "reference-data"
    reference_data.mkdir()
    (reference_data / "landing").symlink_to(airflow_data / "landing", target_is_directory=True)
    settings = load_settings(
        env={
            "CLAUSES_DATA_DIR": str(reference_data),
            "CLAUSES_PSEUDONYM_KEY": KEY,
            "CLAUSES_WAREHOUSE_URL": reference_warehouse_url,
        }
    )

    with AirflowStack(tmp_path / "airflow-home", metadata_url, "LocalExecutor", env) as stack:
        stack.cli("dags", "unpause", DAG_ID)
        started = time.monotonic()
        # The README's command: the nightly interval starts at midnight, so the logical dates
        # are the days themselves, bounds included.
        # --max-active-runs 1: the DAG's max_active_runs=1 does not bound a backfill, whose own
        # limit defaults to 10 (see test_concurrent_backfill_runs_need_no_retry).
        stack.cli(
            "backfill", "create", "--dag-id", DAG_ID, "--max-active-runs", "1",
            "--from-date", "2025-01-01", "--to-date", "2025-01-30",
        )  # fmt: skip
        for day in DAYS:
            pipeline.run_date(settings, day, live=False)
        by_hand_s = time.monotonic() - started
        states = stack.wait_for_runs(DAG_ID, len(DAYS), timeout=BACKFILL_TIMEOUT)
        runs = stack.dag_runs()
        assert set(states.values()) == {"success"}, failure_message(
            stack, f"backfill runs not all successful: {states}"
        )
        retried = [(t.run_id, t.task_id, t.try_number) for t in stack.task_instances()]
        retried = [t for t in retried if t[2] != 1]
        assert not retried, failure_message(stack, f"tasks needed a retry: {retried}")
        assert [str(r.run_type) for r in runs] == ["backfill"] * len(DAYS), runs
        assert [logical_day(r.logical_date) for r in runs] == DAYS
        durations = [(r.end_date - r.start_date).total_seconds() for r in runs]
        elapsed = (max(r.end_date for r in runs) - min(r.start_date for r in runs)).total_seconds()
        print(
            f"\nbackfill of {len(runs)} runs: {elapsed:.0f}s from the first start to the last "
            f"end ({elapsed / len(runs):.1f}s a run); run durations min {min(durations):.1f}s, "
            f"mean {sum(durations) / len(durations):.1f}s, max {max(durations):.1f}s; "
            f"stack start {stack.timings['start']:.0f}s; the same dates by hand meanwhile, "
            f"{by_hand_s:.0f}s"
        )

    by_airflow = mart_rows(postgres_url, DAYS)
    by_hand = mart_rows(reference_warehouse_url, DAYS)
    for table in (*COMPARED_MARTS, "mart_files"):
        assert by_airflow[table], f"{table}: no rows for {DAYS[0]}..{DAYS[-1]}"
        assert {r[0] for r in by_airflow[table]} == set(DAYS), f"{table}: a date is missing"
        assert by_airflow[table] == by_hand[table], f"{table} differs"

    airflow_csvs = extract_csvs(airflow_data / "extracts")
    hand_csvs = extract_csvs(reference_data / "extracts")
    for day in DAYS:
        assert f"national/{day}/regions.csv" in airflow_csvs
    assert sorted(airflow_csvs) == sorted(hand_csvs)
    different = [name for name in airflow_csvs if airflow_csvs[name] != hand_csvs[name]]
    assert not different, f"extract CSV files differ: {different[:20]}"


def test_concurrent_backfill_runs_need_no_retry(
    tmp_path: Path, samples: Samples, postgres_url: str, metadata_url: str
) -> None:
    """The README's backfill command (no --max-active-runs: 10 runs at once) on a new warehouse."""
    data = tmp_path / "data"
    samples.copy(data / "landing", 0.05, 5, defects=True)
    env = pipeline_env(data, postgres_url)
    days = 10

    def failed_attempts() -> list[tuple]:
        return [
            (t.run_id, t.task_id, t.try_number, t.state)
            for t in stack.task_instances()
            if t.try_number > 1 or t.state in ("up_for_retry", "failed")
        ]

    def done() -> bool | list[tuple]:
        final = [r for r in stack.dag_runs() if r.state in ("success", "failed")]
        return failed_attempts() or len(final) == days

    with AirflowStack(tmp_path / "airflow-home", metadata_url, "LocalExecutor", env) as stack:
        stack.cli("dags", "unpause", DAG_ID)
        stack.cli(
            "backfill", "create", "--dag-id", DAG_ID,
            "--from-date", "2025-01-01", "--to-date", "2025-01-10",
        )  # fmt: skip
        stack.wait_for(done, BACKFILL_TIMEOUT, f"{days} runs or a failed attempt", poll=2)
        failed = failed_attempts()
        assert not failed, f"attempts failed: {failed}\n{stack.task_errors()}"
        assert {r.state for r in stack.dag_runs()} == {"success"}


def test_nightly_run_with_celery_executor(
    tmp_path: Path, samples: Samples, postgres_url: str, metadata_url: str
) -> None:
    data = tmp_path / "data"
    samples.copy(data / "landing", 0.05, 5, defects=True)
    regions = sorted(p.name for p in (data / "landing").iterdir() if p.name in REGIONS)
    env = pipeline_env(data, postgres_url)

    with AirflowStack(tmp_path / "airflow-home", metadata_url, "CeleryExecutor", env) as stack:
        stack.cli("dags", "unpause", DAG_ID)
        started = time.monotonic()
        stack.cli(
            "dags", "trigger", DAG_ID,
            "--logical-date", "2025-03-01T00:00:00+01:00", "--run-id", "celery_2025-03-01",
        )  # fmt: skip
        states = stack.wait_for_runs(DAG_ID, 1, timeout=10 * 60)
        elapsed = time.monotonic() - started
        assert states == {"celery_2025-03-01": "success"}, failure_message(
            stack, f"run not successful: {states}"
        )
        (run,) = stack.dag_runs()
        assert logical_day(run.logical_date) == date(2025, 3, 1)
        tis = stack.task_instances()
        assert [ti.task_id for ti in tis] == ["consolidate"]
        for ti in tis:
            assert ti.state == "success", failure_message(stack, f"{ti.task_id}: {ti.state}")
            assert ti.queue == stack.queue, (ti.task_id, ti.queue)
            assert ti.external_executor_id, f"{ti.task_id} has no Celery task id"
        worker_log = (stack.logs_dir / "celery-worker.log").read_text(errors="replace")
        for ti in tis:
            assert ti.external_executor_id in worker_log, failure_message(
                stack, f"the Celery worker never received {ti.task_id}"
            )
        print(f"\nCelery run: {elapsed:.0f}s wall; stack start {stack.timings['start']:.0f}s")

    for region in regions:
        folder = data / "extracts" / region / "2025-03-01"
        assert (folder / f"conformite_{region}_2025-03-01.xlsx").is_file(), region
        for name in ("synthese", "conventions", "anomalies", "fichiers"):
            assert (folder / f"{name}.csv").is_file(), (region, name)
        assert (folder / "manifest.json").is_file(), region
    national = data / "extracts" / "national" / "2025-03-01"
    assert (national / "regions.csv").is_file()

"""`make bench`: the pipeline against its floor, at two scales, on SQLite and PostgreSQL, with
memory, an incremental night, a no-op night and a year's backfill with the real scheduler.

Every timing of a report is measured in the same run, so that the ratios hold on a noisy
machine. Writes bench/results/latest.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.floor import floor_seconds, heures_copy_seconds
from clauses.sample.generate import generate_sample
from clauses.warehouse.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
YEAR_END = "2026-04-01"  # the sample's last receipts are in 2026-03
NEXT_NIGHTS = ("2026-04-02", "2026-04-03")
KEY = "bench-pseudonymisation-key"
POSTGRES = os.environ.get("CLAUSES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _database(backend: str, work: Path) -> str:
    """A fresh, empty warehouse for one measurement."""
    if backend == "sqlite":
        return f"sqlite:///{work / f'warehouse-{uuid.uuid4().hex[:8]}.sqlite'}"
    name = f"clauses_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        admin = make_engine(POSTGRES).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
            )
        admin.dispose()


def _run(data_dir: Path, url: str, day: str) -> dict[str, Any]:
    """`clauses run` in a child process: its report (with stage timings), wall time, peak RSS."""
    report = data_dir / f"report-{day}.json"
    env = {
        **os.environ,
        "CLAUSES_DATA_DIR": str(data_dir),
        "CLAUSES_WAREHOUSE_URL": url,
        "CLAUSES_PSEUDONYM_KEY": KEY,
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "clauses.cli", "run", "--date", day, "--json-report", str(report)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / f"run-{day}.log", "w"),
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"clauses run {day} failed: see {data_dir}/run-{day}.log")
    result = json.loads(report.read_text(encoding="utf-8"))
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "timings": result["timings"],
        # seconds the run spent writing Heures fact rows (COPY or executemany), all regions
        "heures_rows_load_s": sum(
            r["rows_load_s"].get("Heures", 0.0) for r in result["regions"].values()
        ),
    }


def _data_dir(work: Path, landing: Path, name: str) -> Path:
    folder = work / name
    folder.mkdir()
    (folder / "landing").symlink_to(landing, target_is_directory=True)
    return folder


def _new_file(landing: Path) -> Path:
    """One new file of one region, received the day after the year's end: a CSV export sent
    again with a blank line added (new bytes, so a new receipt that supersedes its partitions)."""
    region = landing / "27"
    source = next(
        p
        for p in sorted(region.rglob("*"))
        if p.suffix.lower() == ".csv" and "defaut" not in p.name
    )
    target = region / NEXT_NIGHTS[0] / f"renvoi_{source.name}"
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(source.read_bytes() + b"\r\n")
    return target


def measure_backend(backend: str, work: Path, landings: dict[int, Path]) -> dict[str, Any]:
    print(f"[{backend}] full national year, scale 1", flush=True)
    url = _database(backend, work)
    data = _data_dir(work, landings[1], f"{backend}-scale1")
    full = _run(data, url, YEAR_END)
    print(f"[{backend}] bare copy of the Heures rows", flush=True)
    heures_copy_s, heures_rows = heures_copy_seconds(url)
    print(f"[{backend}] floor", flush=True)
    floor_url = _database(backend, work)
    floor_read_s, floor_write_s, bare_write_s, floor_rows = floor_seconds(landings[1], floor_url)
    floor_s = floor_read_s + floor_write_s
    _drop(floor_url)
    print(f"[{backend}] incremental and no-op nights", flush=True)
    sent_again = _new_file(landings[1])
    incremental = _run(data, url, NEXT_NIGHTS[0])
    noop = _run(data, url, NEXT_NIGHTS[1])
    sent_again.unlink()  # the next backend's floor reads the same files as the first one's
    _drop(url)
    print(f"[{backend}] full national year, scale 5", flush=True)
    url5 = _database(backend, work)
    full5 = _run(_data_dir(work, landings[5], f"{backend}-scale5"), url5, YEAR_END)
    _drop(url5)
    return {
        "full_year_s": round(full["wall_s"], 2),
        "stages_s": {k: round(v, 2) for k, v in full["timings"].items()},
        "rows_floor": floor_rows,
        "rows_per_s": round(floor_rows / full["wall_s"]),
        "floor_s": round(floor_s, 2),
        "floor_read_s": round(floor_read_s, 2),
        "floor_write_s": round(floor_write_s, 2),  # into a table indexed like the staging
        "floor_write_unindexed_s": round(bare_write_s, 2),
        "ratio_to_floor": round(full["wall_s"] / floor_s, 2),
        # issue #3: reading against pyarrow/calamine alone, loading against a bare COPY or
        # executemany of the same rows (into a table indexed as the staging tables, and not)
        "read_over_floor": round(full["timings"]["read_s"] / floor_read_s, 2),
        "load_over_floor": round(full["timings"]["load_s"] / floor_write_s, 2),
        "load_over_unindexed_floor": round(full["timings"]["load_s"] / bare_write_s, 2),
        # the Heures rows alone: the run's writes of them against a bare COPY (executemany)
        # of the same rows, read back, into a table like stg_heures (same indexes)
        "heures_rows": heures_rows,
        "heures_rows_load_s": round(full["heures_rows_load_s"], 2),
        "heures_bare_copy_s": round(heures_copy_s, 2),
        "heures_load_over_copy": round(full["heures_rows_load_s"] / heures_copy_s, 2),
        "full_year_scale5_s": round(full5["wall_s"], 2),
        "scale5_over_scale1": round(full5["wall_s"] / full["wall_s"], 2),
        "peak_rss_mb": round(max(full["peak_rss_mb"], full5["peak_rss_mb"]), 1),
        "peak_rss_mb_scale1": round(full["peak_rss_mb"], 1),
        "peak_rss_mb_scale5": round(full5["peak_rss_mb"], 1),
        # processing, as the run reports it; the *_wall_s add the process start and imports
        "incremental_s": round(incremental["timings"]["total_s"], 2),
        "noop_s": round(noop["timings"]["total_s"], 2),
        "incremental_wall_s": round(incremental["wall_s"], 2),
        "noop_wall_s": round(noop["wall_s"], 2),
    }


def measure_backfill(work: Path, landing: Path, days: int, budget_s: float) -> dict[str, Any]:
    """`airflow backfill create` over `days` dates with the real scheduler (LocalExecutor,
    PostgreSQL metadata database), over the scale-1 sample."""
    sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the integration tests' harness
    from support.airflow_stack import AirflowStack, StackError

    warehouse = _database("postgresql", work)
    metadata = _database("postgresql", work)
    data = _data_dir(work, landing, "backfill")
    env = {
        "CLAUSES_DATA_DIR": str(data),
        "CLAUSES_PSEUDONYM_KEY": KEY,
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE": json.dumps(
            {"conn_type": "postgres", "extra": {"url": warehouse}}
        ),
    }
    end = datetime(2025, 1, 1).toordinal() + days - 1
    last = datetime.fromordinal(end).date().isoformat()
    try:
        with AirflowStack(work / "airflow", metadata, "LocalExecutor", env) as stack:
            stack.cli("dags", "unpause", "clauses_nightly")  # runs of a paused DAG never start
            started = time.perf_counter()
            stack.cli(
                "backfill",
                "create",
                "--dag-id",
                "clauses_nightly",
                "--from-date",
                "2025-01-01",
                "--to-date",
                last,
            )
            try:
                stack.wait_for_runs("clauses_nightly", days, timeout=budget_s)
            except StackError:  # over budget: report how far it got
                pass
            seconds = time.perf_counter() - started
            states = [run.state for run in stack.dag_runs("clauses_nightly")]
    finally:
        _drop(warehouse)
        _drop(metadata)
    done = sum(1 for state in states if state == "success")
    return {
        "days": days,
        "seconds": round(seconds, 1),
        "runs_succeeded": done,
        "runs_failed": sum(1 for state in states if state == "failed"),
        "s_per_finished_run": round(seconds / max(done, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backfill-days", type=int, default=365)
    parser.add_argument("--backfill-budget-s", type=float, default=1200)
    parser.add_argument("--skip-backfill", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="clauses-bench-"))
    landings = {}
    for scale in (1, 5):
        print(f"generating the sample at scale {scale}", flush=True)
        landings[scale] = work / f"landing-{scale}"
        generate_sample(landings[scale], scale=scale, seed=0, defects=True)
    results: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "memory_gb": _memory_gb()},
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for backend in ("sqlite", "postgres"):
        results[backend] = measure_backend(backend, work, landings)
    if not args.skip_backfill:
        print(f"backfill of {args.backfill_days} days with the real scheduler", flush=True)
        backfill = measure_backfill(work, landings[1], args.backfill_days, args.backfill_budget_s)
        results["backfill"] = backfill
        complete = backfill["runs_succeeded"] == args.backfill_days
        results["backfill_365_s"] = (
            backfill["seconds"] if complete and args.backfill_days == 365 else None
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _print_table(results)
    shutil.rmtree(work, ignore_errors=True)


def _memory_gb() -> float:
    with open("/proc/meminfo") as meminfo:
        kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return round(kb / 1024 / 1024, 1)


def _print_table(results: dict[str, Any]) -> None:
    keys = (
        "full_year_s",
        "floor_s",
        "ratio_to_floor",
        "read_over_floor",
        "load_over_floor",
        "load_over_unindexed_floor",
        "heures_load_over_copy",
        "full_year_scale5_s",
        "scale5_over_scale1",
        "peak_rss_mb",
        "incremental_s",
        "noop_s",
    )
    print(f"\n{'measure':<27}{'sqlite':>12}{'postgres':>12}")
    for key in keys:
        print(f"{key:<27}{results['sqlite'][key]:>12}{results['postgres'][key]:>12}")
    for backend in ("sqlite", "postgres"):
        stages = ", ".join(f"{k} {v}" for k, v in results[backend]["stages_s"].items())
        print(f"stages ({backend}): {stages}")
    if "backfill" in results:
        print(f"backfill: {results['backfill']} ; backfill_365_s = {results['backfill_365_s']}")
    print(f"\nwritten to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()

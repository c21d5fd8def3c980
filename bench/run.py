"""`make bench`: the pipeline against its floor, at two scales, on SQLite and PostgreSQL, with
memory, an incremental night, a no-op night and a year's backfill with the real scheduler; and
a national DECP snapshot (2 million rows) from landing to published figures against its floor,
with memory and the next night's snapshot where 1% of contracts changed (`measure_decp`).

Every timing of a report is measured in the same run, so that the ratios hold on a noisy
machine. Writes bench/results/latest.json and prints a table; `--only decp` measures the DECP
part alone (`--decp-rows N` for a quicker trial) and writes bench/results/latest-decp.json.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.floor import decp_floor_seconds, floor_seconds, heures_copy_seconds
from clauses.contract import decp
from clauses.sample.generate import generate_sample
from clauses.sample.procurement import SCHEDULE
from clauses.sample.snapshots import write_changed_snapshot
from clauses.warehouse.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
YEAR_END = "2026-04-01"  # the sample's last receipts are in 2026-03
NEXT_NIGHTS = ("2026-04-02", "2026-04-03")
KEY = "bench-pseudonymisation-key"
# The sample's latest DECP snapshot, filled up to --decp-rows rows (a national table): the
# runs of the other measures (up to NEXT_NIGHTS) never receive it.
DECP_DAY, DECP_FILE = SCHEDULE[-1][0], SCHEDULE[-1][1]
DECP_EVE = (date.fromisoformat(DECP_DAY) - timedelta(days=1)).isoformat()
DECP_NEXT = (date.fromisoformat(DECP_DAY) + timedelta(days=1)).isoformat()
DECP_ROWS = 2_000_000
DECP_CHANGED_SHARE = 0.01
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
    """`clauses run` in a child process: its report (with stage timings), wall time, CPU time,
    peak RSS."""
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
        "cpu_s": usage.ru_utime + usage.ru_stime,  # the run's process (not a database server)
        # the run's own peak (VmHWM): wait4's ru_maxrss also counts the bench process's
        # memory at the fork, which holds the floors' reads and the generated samples
        "peak_rss_mb": result.get("peak_rss_mb") or usage.ru_maxrss / 1024,
        "timings": result["timings"],
        # seconds the run spent writing Heures fact rows (COPY or executemany), all regions
        "heures_rows_load_s": sum(
            r["rows_load_s"].get("Heures", 0.0) for r in result["regions"].values()
        ),
        "decp": result["decp"],  # the DECP snapshots received (DecpIngest)
        "computation": result["computation"],
    }


def _regions_only(landing: Path) -> Path:
    """A landing zone beside ``landing`` holding its region folders, not its DECP snapshots
    (the same files, hard-linked: the landing scan follows no symbolic link)."""
    regions = landing.with_name(landing.name + "-regions")
    shutil.copytree(
        landing, regions, copy_function=os.link, ignore=shutil.ignore_patterns(decp.FOLDER)
    )
    return regions


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


def measure_decp(backend: str, work: Path, landing: Path) -> dict[str, Any]:
    """The night of DECP_DAY, whose only new entry is the national snapshot (the regions' files
    and the earlier snapshots loaded by a run of the eve, not measured), from landing to
    published figures, against the floor of reading it and copying its counted contracts; then
    the next night, with the snapshot again where DECP_CHANGED_SHARE of its contracts changed."""
    started = time.perf_counter()
    snapshot = landing / decp.FOLDER / DECP_DAY / DECP_FILE
    url = _database(backend, work)
    data = _data_dir(work, landing, f"{backend}-decp")
    print(f"[{backend}] DECP: the regions and the earlier snapshots, as of {DECP_EVE}", flush=True)
    _run(data, url, DECP_EVE)
    print(f"[{backend}] DECP: the national snapshot of {DECP_DAY}", flush=True)
    night = _run(data, url, DECP_DAY)
    _loaded_one(night, DECP_DAY)
    first = _decp_counts(url)
    print(f"[{backend}] DECP: floor", flush=True)
    floor_read_s, floor_write_s, floor_cpu_s, floor_rows = decp_floor_seconds(snapshot, url)
    floor_s = floor_read_s + floor_write_s
    print(f"[{backend}] DECP: the next night, {DECP_CHANGED_SHARE:.0%} changed", flush=True)
    changed = landing / decp.FOLDER / DECP_NEXT / DECP_FILE
    write_changed_snapshot(snapshot, changed, share=DECP_CHANGED_SHARE)
    try:
        next_night = _run(data, url, DECP_NEXT)
    finally:  # the next backend starts from the same landing zone
        shutil.rmtree(changed.parent)
    _loaded_one(next_night, DECP_NEXT)
    second = _decp_counts(url)
    _drop(url)
    stages = night["timings"]
    return {
        "decp_rows": first["n_rows"],  # rows of the snapshot, read
        "decp_rows_excluded": first["n_excluded"],
        "decp_contracts": first["n_contracts"],  # counted contracts, stored
        # from landing to published figures: wall time of `clauses run` (process start and
        # imports included), as full_year_s; decp_total_s is the run's own total
        "decp_s": round(night["wall_s"], 2),
        "decp_total_s": round(stages["total_s"], 2),
        "decp_stages_s": {
            "examine_s": round(night["decp"]["examine_s"], 2),  # read, type, check
            "load_s": round(night["decp"]["load_s"], 2),  # compare versions, write
            "ingest_s": round(night["decp"]["seconds"], 2),  # the two and registering
            "compute_s": round(stages["compute_s"], 2),
            "extract_s": round(stages["extract_s"], 2),
            "total_s": round(stages["total_s"], 2),
        },
        "decp_floor_s": round(floor_s, 2),
        "decp_floor_read_s": round(floor_read_s, 2),  # pyarrow, the §8 columns only
        "decp_floor_write_s": round(floor_write_s, 2),  # bare COPY/executemany, no index
        "decp_floor_rows": floor_rows,
        "decp_over_floor": round(night["wall_s"] / floor_s, 2),
        # the snapshot's own part of the run (read, check, compare, write; without the
        # figures of every region computed and published again for the new date)
        "decp_ingest_over_floor": round(night["decp"]["seconds"] / floor_s, 2),
        # CPU seconds of the run's process against the floor's (pyarrow's threads included,
        # a PostgreSQL server's work in neither): steadier than wall time on a shared machine
        "decp_cpu_s": round(night["cpu_s"], 2),
        "decp_floor_cpu_s": round(floor_cpu_s, 2),
        "decp_cpu_over_floor": round(night["cpu_s"] / floor_cpu_s, 2),
        "decp_peak_rss_mb": round(night["peak_rss_mb"], 1),
        # the next night: processing as the run reports it (as incremental_s), and its wall
        "decp_incremental_s": round(next_night["timings"]["total_s"], 2),
        "decp_incremental_wall_s": round(next_night["wall_s"], 2),
        "decp_incremental_peak_rss_mb": round(next_night["peak_rss_mb"], 1),
        "decp_incremental_versions": {
            "added": second["versions_added"],
            "closed": second["versions_closed"],
        },
        # storage: rows of decp_contracts after the national snapshot's night, and added by
        # the next one (in proportion to the changes, not to the snapshot)
        "decp_rows_after_first": first["stored"],
        "decp_rows_after_incremental": second["stored"],
        "decp_incremental_rows_added": second["stored"] - first["stored"],
        "decp_incremental_rows_share": round(
            (second["stored"] - first["stored"]) / max(first["n_contracts"], 1), 4
        ),
        "decp_measure_s": round(time.perf_counter() - started, 1),  # this whole part
    }


def _loaded_one(run: dict[str, Any], day: str) -> None:
    """The run of ``day`` received and loaded its one new snapshot (a measure of a snapshot
    quarantined would be no measure)."""
    found = run["decp"]
    if found.get("loaded") != 1 or found.get("received", 0) - found.get("already_known", 0) != 1:
        raise RuntimeError(f"the DECP run of {day} did not load one new snapshot: {found}")


def _decp_counts(url: str) -> dict[str, int]:
    """The snapshot loaded last (rows read and excluded, contracts, versions added and closed)
    and the rows of decp_contracts."""
    engine = make_engine(url)
    with engine.connect() as connection:
        last = (
            connection.execute(
                sa.text(
                    "SELECT n_rows, n_excluded, n_contracts, versions_added, versions_closed "
                    "FROM decp_snapshots ORDER BY snapshot_id DESC LIMIT 1"
                )
            )
            .mappings()
            .one()
        )
        stored = connection.execute(sa.text("SELECT COUNT(*) FROM decp_contracts")).scalar_one()
    engine.dispose()
    return {**{k: int(v) for k, v in last.items()}, "stored": int(stored)}


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
    parser.add_argument(
        "--only", choices=("decp",), help="measure this part alone (decp: the DECP snapshot)"
    )
    parser.add_argument(
        "--decp-rows",
        type=int,
        default=DECP_ROWS,
        help=f"rows of the national DECP snapshot (default {DECP_ROWS:,}; fewer for a trial)",
    )
    args = parser.parse_args()
    only_decp = args.only == "decp"

    work = Path(tempfile.mkdtemp(prefix="clauses-bench-"))
    landings = {}
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    # The scale-1 sample holds the national DECP snapshot too: its other files are the same
    # bytes with or without it, and the other measures' runs end before it is received.
    for scale in (1,) if only_decp else (1, 5):
        print(f"generating the sample at scale {scale}", flush=True)
        landings[scale] = work / f"landing-{scale}"
        generate_sample(
            landings[scale],
            scale=scale,
            seed=0,
            defects=True,
            decp_rows=args.decp_rows if scale == 1 else None,
        )
    results: dict[str, Any] = {
        # the load averages (1, 5, 15 min) before and after: other work on a shared machine
        "machine": {
            "cores": os.cpu_count(),
            "memory_gb": _memory_gb(),
            "load_at_start": [round(x, 2) for x in load_at_start],
        },
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generate_s": round(time.perf_counter() - started, 1),
        "decp_rows_asked": args.decp_rows,
    }
    # The measures of the regions' files (issue 18) read a landing zone without the DECP
    # snapshots, as their floor does: the DECP part is measured on its own (measure_decp).
    regions = {scale: _regions_only(landing) for scale, landing in landings.items()}
    for backend in ("sqlite", "postgres"):
        results[backend] = {} if only_decp else measure_backend(backend, work, regions)
        results[backend] |= measure_decp(backend, work, landings[1])
    if not args.skip_backfill and not only_decp:
        print(f"backfill of {args.backfill_days} days with the real scheduler", flush=True)
        backfill = measure_backfill(work, regions[1], args.backfill_days, args.backfill_budget_s)
        results["backfill"] = backfill
        complete = backfill["runs_succeeded"] == args.backfill_days
        results["backfill_365_s"] = (
            backfill["seconds"] if complete and args.backfill_days == 365 else None
        )
    results["machine"]["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("latest-decp.json" if only_decp else "latest.json")
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    _print_table(results, output)
    shutil.rmtree(work, ignore_errors=True)


def _memory_gb() -> float:
    with open("/proc/meminfo") as meminfo:
        kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return round(kb / 1024 / 1024, 1)


def _print_table(results: dict[str, Any], output: Path) -> None:
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
        "decp_rows",
        "decp_contracts",
        "decp_s",
        "decp_floor_s",
        "decp_over_floor",
        "decp_ingest_over_floor",
        "decp_cpu_over_floor",
        "decp_peak_rss_mb",
        "decp_incremental_s",
        "decp_incremental_versions",
        "decp_rows_after_first",
        "decp_incremental_rows_added",
    )
    print(f"\n{'measure':<27}{'sqlite':>15}{'postgres':>15}")
    for key in keys:
        if key in results["sqlite"]:
            cells = [_cell(results[backend][key]) for backend in ("sqlite", "postgres")]
            print(f"{key:<27}{cells[0]:>15}{cells[1]:>15}")
    for backend in ("sqlite", "postgres"):
        for name in ("stages_s", "decp_stages_s"):
            if name in results[backend]:
                stages = ", ".join(f"{k} {v}" for k, v in results[backend][name].items())
                print(f"{name.removesuffix('_s')} ({backend}): {stages}")
    if "backfill" in results:
        print(f"backfill: {results['backfill']} ; backfill_365_s = {results['backfill_365_s']}")
    print(f"\nwritten to {output}")


def _cell(value: Any) -> str:
    if isinstance(value, dict):  # decp_incremental_versions: added/closed
        return "/".join(str(v) for v in value.values())
    return str(value)


if __name__ == "__main__":
    main()

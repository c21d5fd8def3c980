"""Writing at once: regions committed by several threads on PostgreSQL (`_Ingestion.
_commit_regions`), extracts written by forked processes (`publish_extracts(processes=)`).
Either way the warehouse and the files are those written one at a time; a region that fails
stops alone, a lost warehouse stops the run, a worker that dies leaves its extracts to the run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import threading
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from support.run_dump import VARYING, left_by_run
from support.templates import create_database, drop_database

from clauses.config import Settings
from clauses.load import ingest
from clauses.load.commit import Committer
from clauses.publish import tables as publishing
from clauses.publish.tables import publish_extracts
from clauses.receive.landing import scan_landing
from clauses.run.pipeline import run_date
from clauses.warehouse.engine import make_engine, migrate

AS_OF = date(2026, 4, 1)
KEY = b"parallel-writes-test-key"
TABLES = ("raw_files", "raw_loads", "dq_results", "stg_heures", "stg_marches")


def settings_for(landing: Path, root: Path, url: str | None = None) -> Settings:
    data_dir = root / "data"
    shutil.copytree(landing, data_dir / "landing")
    return Settings(data_dir, url or f"sqlite:///{data_dir / 'warehouse.sqlite'}", KEY, workers=0)


def threads_of_commits(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Region -> the name of the thread that committed it, as the run goes."""
    seen: dict[str, str] = {}
    original = Committer.commit_region

    def recorded(self: Committer, items: Any, batches: Any) -> None:
        seen[items[0].entry.region] = threading.current_thread().name
        original(self, items, batches)

    monkeypatch.setattr(Committer, "commit_region", recorded)
    return seen


@pytest.mark.postgres
def test_regions_committed_at_once_leave_what_one_at_a_time_leaves(
    samples: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: str
) -> None:
    landing, _ = samples.get(0.05, 7, defects=True)
    dumps = {}
    for threads in (3, 1):
        monkeypatch.setattr(ingest, "REGION_COMMITS", threads)
        seen = threads_of_commits(monkeypatch)
        url = create_database(postgres_server, "clauses_test")
        try:
            settings = settings_for(landing, tmp_path / str(threads), url)
            report = run_date(settings, AS_OF, live=False)
            assert not report.failed_regions()
            # dq_results ids follow the order the regions were committed in
            dumps[threads] = left_by_run(url, settings.data_dir, TABLES, VARYING | {"id"})
        finally:
            drop_database(postgres_server, url)
        names = set(seen.values())
        assert len(seen) >= 10, seen  # the sample's regions
        if threads == 3:
            assert len(names) > 1 and all(n.startswith("commit") for n in names), names
        else:
            assert names == {threading.main_thread().name}
        monkeypatch.undo()
    assert dumps[3]["raw_files"] and dumps[3]["stg_heures"] and dumps[3]["dq_results"]
    assert dumps[3] == dumps[1]


@pytest.mark.postgres
def test_a_region_that_fails_stops_alone_and_a_lost_warehouse_stops_the_run(
    samples: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
    postgres_server: str,
) -> None:
    """Regions committed at once keep their failure boundaries: a region whose commit raises
    stops alone (its files wait for the next run) while the others load; an error of the
    warehouse itself, raised in a committing thread, stops the whole run."""
    landing, _ = samples.get(0.05, 7, defects=True)
    original = Committer.commit_region
    failing = {"24": RuntimeError("a bug in region 24's commit")}

    def fragile(self: Committer, items: Any, batches: Any) -> None:
        error = failing.get(items[0].entry.region)
        if error is not None:
            raise error
        original(self, items, batches)

    monkeypatch.setattr(Committer, "commit_region", fragile)
    settings = settings_for(landing, tmp_path / "first", postgres_url)
    report = run_date(settings, AS_OF, live=False)
    assert report.failed_regions() == ["24"]
    loaded = {r: o["loaded"] for r, o in report.regions.items()}
    assert loaded["24"] == 0 and sum(loaded.values()) > 100, loaded
    with make_engine(postgres_url).connect() as connection:
        regions = set(
            connection.execute(
                sa.text("SELECT DISTINCT region FROM raw_files WHERE status = 'loaded'")
            ).scalars()
        )
    assert "24" not in regions and len(regions) >= 10

    lost = sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
    failing = {"11": lost}
    url = create_database(postgres_server, "clauses_test")  # nothing known yet
    try:
        settings = settings_for(landing, tmp_path / "second", url)
        entries: dict[str, list[Any]] = {"11": [], "24": [], "32": []}
        for entry in scan_landing(settings.landing_dir, AS_OF, set(entries)).entries:
            entries[entry.region].append(entry)
        engine = make_engine(url)
        migrate(engine)
        with pytest.raises(sa.exc.OperationalError, match="server closed"):
            ingest.ingest_regions(engine, settings, entries, "second-run")
        engine.dispose()
    finally:
        drop_database(postgres_server, url)


def test_extracts_written_by_processes_equal_those_written_here(
    samples: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The extracts written by 2 forked processes hold the same files as those written in
    process (CSV byte for byte, workbooks opened back cell for cell); a worker that dies
    leaves the extracts it did not write to the run, which writes them; where no worker can
    start (a daemonic process), the run writes them all."""
    landing, _ = samples.get(0.05, 7, defects=True)
    settings = settings_for(landing, tmp_path / "run")
    run_date(settings, AS_OF, live=False)
    engine = make_engine(settings.warehouse_url)
    here = publish_extracts(engine, tmp_path / "here", AS_OF, force=True, processes=1)
    forked = publish_extracts(engine, tmp_path / "forked", AS_OF, force=True, processes=2)

    # In a daemonic process (a Celery worker's task) no worker can start: written there.
    daemonic = multiprocessing.get_context("fork").Process(
        target=publish_extracts,
        args=(engine, tmp_path / "daemonic", AS_OF),
        kwargs={"force": True, "processes": 2},
        daemon=True,
    )
    daemonic.start()
    daemonic.join(timeout=300)
    assert daemonic.exitcode == 0

    monkeypatch.setattr(publishing, "_publish", die_on_region_11)
    with caplog.at_level(logging.INFO):
        survived = publish_extracts(engine, tmp_path / "survived", AS_OF, force=True, processes=2)
    assert "a worker process writing extracts died: written here" in caplog.text
    # the workers' records are logged by this process
    assert "extract published at" in caplog.text
    assert len(here) >= 10 and set(here) == set(forked) == set(survived)
    for scope, folder in here.items():
        names = sorted(p.name for p in folder.iterdir())
        elsewhere = tmp_path / "daemonic" / folder.relative_to(tmp_path / "here")
        for other in (forked[scope], survived[scope], elsewhere):
            assert sorted(p.name for p in other.iterdir()) == names
            for name in names:
                mine, theirs = folder / name, other / name
                if name.endswith(".csv"):
                    assert mine.read_bytes() == theirs.read_bytes(), (scope, name)
                elif name.endswith(".xlsx"):
                    assert cells(mine) == cells(theirs), (scope, name)

    # A publication that fails in a worker is raised, once every other extract the workers
    # wrote is delivered to its region's outbox (a retry finds them unchanged: never again).
    monkeypatch.setattr(publishing, "_publish", fail_on_region_24)
    outboxes = tmp_path / "outbox-{region}"
    with pytest.raises(OSError, match="region 24"):
        publish_extracts(
            engine,
            tmp_path / "failing",
            AS_OF,
            outbox_template=str(outboxes),
            force=True,
            processes=2,
        )
    delivered = {p.parent.name.removeprefix("outbox-") for p in tmp_path.glob("outbox-*/*")}
    assert delivered == set(here) - {"24", "national"}


def fail_on_region_24(extract: publishing.Extract, force: bool) -> bool:
    if extract.target.parent.name == "24":
        raise OSError("cannot write region 24's extract")
    return extract.publish(force)


def die_on_region_11(extract: publishing.Extract, force: bool) -> bool:
    if extract.target.parent.name == "11":
        os._exit(70)  # as a crash would: no exception, the process is gone
    return extract.publish(force)


def cells(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return [(sheet.title, list(sheet.iter_rows(values_only=True))) for sheet in workbook]
    finally:
        workbook.close()

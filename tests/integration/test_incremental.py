"""Cheap dates: a date whose inputs did not change is carried over or left alone, and gives the
same figures and extracts as a full computation (tests/small_landing.py, SQLite). Every warehouse
here starts as a copy of the session's migrated one (`sqlite_warehouse`, `sqlite_template`)."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.small_landing import write_small_landing
from support.templates import copy_sqlite

from clauses.compute.figures import MART_TABLES, compute_as_of
from clauses.config import RULES_DIR, load_settings
from clauses.run.pipeline import RunReport, run_date
from clauses.warehouse.engine import make_engine

# Landing: files received 2024-01-15, 02-05, 03-05, 04-02, 07-20 and 2025-01-20; the strand's
# R05 deadline is 2024-08-01 and its Date de fin 2024-12-31.
SCHEDULE = [
    (date(2024, 4, 10), "computed"),  # the first date
    (date(2024, 5, 15), "carried"),  # nothing received, no threshold crossed
    (date(2024, 7, 31), "computed"),  # the interim report of 07-20 is new
    (date(2024, 8, 2), "computed"),  # nothing received, but R05's deadline 08-01 passed
    (date(2024, 8, 10), "carried"),
    (date(2024, 12, 31), "carried"),  # still en cours on its last day
    (date(2025, 1, 2), "computed"),  # Date de fin crossed, nothing received
    (date(2025, 1, 19), "carried"),
    (date(2025, 2, 1), "computed"),  # the annual report of 01-20
]


def mart_rows(url: str, day: date) -> dict[str, list[tuple]]:
    with make_engine(url).connect() as connection:
        return {
            table: sorted(
                tuple(str(v) for k, v in row._mapping.items() if k not in ("as_of", "file_id"))
                for row in connection.execute(
                    sa.text(f"SELECT * FROM {table} WHERE as_of = :d"), {"d": day}
                )
            )
            for table in MART_TABLES
        }


def modes(url: str) -> dict[date, str]:
    with make_engine(url).connect() as connection:
        rows = connection.execute(sa.text("SELECT as_of, mode FROM computations")).all()
    return {date.fromisoformat(str(d)): m for d, m in rows}


def test_carried_dates_equal_full_computations(
    data_dir: Path, sqlite_warehouse: str, sqlite_template: Path
) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    # Load every file first, as a run as of the last date does: the register then holds files
    # received after the early dates, which must not count for them.
    run_date(settings, date(2025, 3, 1))
    engine = make_engine(settings.warehouse_url)
    seen = {day: compute_as_of(engine, day).mode for day, _ in SCHEDULE}
    assert seen == dict(SCHEDULE)
    assert modes(settings.warehouse_url) == {**dict(SCHEDULE), date(2025, 3, 1): "computed"}

    # The same dates computed in full, each on its own, in a second warehouse.
    reference = copy_sqlite(sqlite_template, data_dir / "reference.sqlite")
    full = make_engine(reference)
    run_date(load_settings(warehouse_url=reference), date(2025, 3, 1))
    for day, _ in SCHEDULE:
        assert compute_as_of(full, day, force=True).mode == "computed"
    for day, _ in SCHEDULE:
        carried, computed = mart_rows(settings.warehouse_url, day), mart_rows(reference, day)
        assert sum(len(rows) for rows in carried.values()) > 10
        assert carried == computed, day


def test_rerun_rewrites_nothing_unless_inputs_change_or_forced(
    data_dir: Path, sqlite_warehouse: str
) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    day = date(2024, 4, 10)
    first = run_date(settings, day)
    assert first.computation == "computed"
    folder = data_dir / "extracts" / "11" / day.isoformat()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["content_sha256"]) == 64
    inode = folder.stat().st_ino

    again = run_date(settings, day)
    assert again.computation == "unchanged" and again.decisions == first.decisions
    assert folder.stat().st_ino == inode  # the folder was not replaced

    forced = run_date(settings, day, force=True)
    assert forced.computation == "computed"
    assert folder.stat().st_ino != inode
    assert (
        json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["content_sha256"]
        == manifest["content_sha256"]
    )
    inode = folder.stat().st_ino

    # A file received late for that date changes its inputs: figures and extract rewritten.
    late = data_dir / "landing" / "11" / "2024-04-10" / "heures_2024-03.csv"
    late.parent.mkdir()
    source = data_dir / "landing" / "11" / "2024-02-05" / "heures_2024-01.csv"
    late.write_text(
        source.read_text(encoding="utf-8").replace("2024-01", "2024-03"), encoding="utf-8"
    )
    changed = run_date(settings, day)
    assert changed.computation == "computed"
    assert folder.stat().st_ino != inode
    files = (folder / "fichiers.csv").read_text(encoding="utf-8-sig")
    assert "heures_2024-03.csv" in files


def test_rules_change_recomputes(data_dir: Path, sqlite_warehouse: str, tmp_path: Path) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    run_date(settings, date(2024, 4, 10))
    engine = make_engine(settings.warehouse_url)
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules_dir)
    assert compute_as_of(engine, date(2024, 4, 11), rules_dir).mode == "carried"
    (rules_dir / "2024.toml").write_text('version = "r-2024"\n[amounts]\nrate_default = 0.75\n')
    assert compute_as_of(engine, date(2024, 4, 11), rules_dir).mode == "computed"
    assert compute_as_of(engine, date(2024, 4, 12), rules_dir).mode == "carried"


def test_next_date_with_the_same_content_reuses_the_previous_files(
    data_dir: Path, sqlite_warehouse: str, caplog: pytest.LogCaptureFixture
) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    run_date(settings, date(2024, 5, 15))
    with caplog.at_level(logging.INFO, logger="clauses.publish.tables"):
        carried = run_date(settings, date(2024, 5, 16))
    assert carried.computation == "carried"
    reused = [r.getMessage() for r in caplog.records if "files reused" in r.getMessage()]
    assert len(reused) == 2  # region 11 and the national extract
    before, after = (data_dir / "extracts" / "11" / d for d in ("2024-05-15", "2024-05-16"))
    old = json.loads((before / "manifest.json").read_text(encoding="utf-8"))
    new = json.loads((after / "manifest.json").read_text(encoding="utf-8"))
    assert new["as_of"] == "2024-05-16" and new["content_sha256"] == old["content_sha256"]
    assert (after / "conformite_11_2024-05-16.xlsx").read_bytes() == (
        before / "conformite_11_2024-05-15.xlsx"
    ).read_bytes()
    assert "16/05/2024" in (after / "synthese.html").read_text(encoding="utf-8")

    # The same date rendered from scratch gives the same CSV bytes and workbook cells.
    import openpyxl

    forced = data_dir / "forced"
    shutil.copytree(after, forced)
    run_date(settings, date(2024, 5, 16), force=True)
    for name in ("conventions.csv", "anomalies.csv", "fichiers.csv", "synthese.csv"):
        assert (after / name).read_bytes() == (forced / name).read_bytes(), name
    workbooks = [
        openpyxl.load_workbook(folder / "conformite_11_2024-05-16.xlsx", read_only=True)
        for folder in (after, forced)
    ]
    cells = [
        {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
        for wb in workbooks
    ]
    assert cells[0] == cells[1] and len(cells[0]["Conventions"]) == 2


def test_a_run_receiving_ahead_keeps_its_own_figures_and_report(
    data_dir: Path, sqlite_warehouse: str, sqlite_template: Path
) -> None:
    """A backfill run also receives the files of its later dates (`receive_until`); its
    figures, extracts and report stay those of its own date."""
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    day = date(2024, 3, 10)
    report = run_date(settings, day, receive_until=date(2024, 4, 10))
    engine = make_engine(settings.warehouse_url)
    with engine.connect() as connection:
        received = connection.execute(
            sa.text("SELECT DISTINCT receipt_date FROM raw_files ORDER BY 1")
        ).scalars()
        assert [str(d)[:10] for d in received] == [
            "2024-01-15",
            "2024-02-05",
            "2024-03-05",
            "2024-04-02",  # received ahead: the correction, the copy, the broken file, the PDF
        ]

    reference = copy_sqlite(sqlite_template, data_dir / "reference.sqlite")
    alone = run_date(load_settings(warehouse_url=reference), day)
    assert counts(report) == counts(alone) == {"11": (3, 3, 0, 0, 0, 0, None)}
    ours, theirs = mart_rows(settings.warehouse_url, day), mart_rows(reference, day)
    assert sum(len(rows) for rows in ours.values()) > 5
    assert ours == theirs

    # The later date's run finds its files known: same figures, nothing read again.
    later_day = date(2024, 4, 10)
    later = run_date(settings, later_day)
    assert counts(later) == {"11": (7, 0, 0, 0, 0, 7, None)}
    assert counts(run_date(load_settings(warehouse_url=reference), later_day)) == {
        "11": (7, 1, 1, 1, 1, 3, None)  # the correction, the broken file, the PDF, the copy
    }
    assert mart_rows(settings.warehouse_url, later_day) == mart_rows(reference, later_day)


def counts(report: RunReport) -> dict[str, tuple]:
    fields = ("received", "loaded", "quarantined", "refused", "copies", "already_known", "error")
    return {r: tuple(outcome[f] for f in fields) for r, outcome in report.regions.items()}


def test_rebuild_receives_once_and_leaves_each_dates_figures(
    data_dir: Path, sqlite_warehouse: str, sqlite_template: Path
) -> None:
    """`clauses rebuild` over a range: every file of the range read by its first date, every
    date's figures those of a run of that date alone."""
    from clauses.cli import main

    write_small_landing(data_dir / "landing")
    assert main(["rebuild", "--from", "2024-03-09", "--to", "2024-04-03"]) == 0
    settings = load_settings()
    with make_engine(settings.warehouse_url).connect() as connection:
        first = connection.execute(
            sa.text("SELECT DISTINCT run_id FROM raw_files WHERE receipt_date <= '2024-04-02'")
        ).scalars()
        assert len(list(first)) == 1  # the run of 2024-03-09 received them all

    for day in (date(2024, 3, 9), date(2024, 4, 1), date(2024, 4, 3)):
        alone = copy_sqlite(sqlite_template, data_dir / f"alone-{day}.sqlite")
        run_date(load_settings(warehouse_url=alone), day)
        assert mart_rows(settings.warehouse_url, day) == mart_rows(alone, day), day

"""Reading ahead in worker processes (`clauses.check.read_ahead`), against reading in process:
the same examined files, the same refusals, a file that kills its worker set apart alone, and
a whole run that leaves the same warehouse and the same outputs either way."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support.run_dump import left_by_run

from clauses.check import read_ahead as ahead
from clauses.check.examine import ExaminedFile, examine
from clauses.check.read_ahead import (
    ReaderCrashed,
    ToRead,
    WorkerTraceback,
    examine_whole,
    read_ahead,
)
from clauses.config import Settings
from clauses.load.ingest import SMALL_FILE_BYTES
from clauses.read.files import open_file
from clauses.read.tables import FileRefused
from clauses.receive.landing import LandingEntry, file_sha256, scan_landing
from clauses.run.pipeline import run_date

AS_OF = date(2026, 4, 1)
KEY = b"read-ahead-test-key"


def to_read(landing: Path) -> list[ToRead]:
    scan = scan_landing(landing, AS_OF, None)
    return [
        ToRead(e, file_sha256(e.path), e.path.stat().st_size) for e in scan.entries if not e.refusal
    ]


def in_process(work: ToRead) -> ExaminedFile | Exception:
    try:
        return examine(work.entry, work.sha256, open_file(work.entry.path))
    except Exception as error:
        return error


def described(result: Any) -> Any:
    """What the run uses of a result: its tables' kinds, sheets, rows, row numbers, text and
    column lists; or the error's type and reason."""
    if isinstance(result, BaseException):
        return (type(result).__name__, getattr(result, "reason", str(result)))
    assert isinstance(result, ExaminedFile)
    return (
        result.sha256,
        result.opened.whole,
        list(result.opened.ignored_sheets),
        [
            (
                t.reader.kind,
                t.reader.sheet,
                t.rows,
                t.reader.missing_columns,
                t.reader.unknown_columns,
                t.reader.personal_columns,
                None if t.text is None else t.text.rows.tolist(),
                None
                if t.text is None
                else {name: values.to_pylist() for name, values in t.text.columns.items()},
            )
            for t in result.tables
        ],
    )


def test_workers_examine_every_file_as_the_run_would(samples: Any) -> None:
    """A sample with its defects (refused, quarantined files): each result is what reading in
    process gives, in the same order; a file given to nobody comes back None."""
    landing, _ = samples.get(0.05, 7, defects=True)
    files = to_read(landing)
    results = list(read_ahead(files, workers=2, small=SMALL_FILE_BYTES, min_bytes=0))
    assert len(results) == len(files)
    assert all(r is not None for r in results)
    assert any(isinstance(r, FileRefused) for r in results)  # the sample's refusals
    assert [described(r) for r in results] == [described(in_process(w)) for w in files]


def test_a_small_night_and_big_files_are_read_by_the_run(samples: Any) -> None:
    landing, _ = samples.get(0.05, 7, defects=True)
    files = to_read(landing)
    # below the threshold: nothing is read ahead
    total = sum(w.size for w in files)
    assert set(read_ahead(files, workers=2, small=SMALL_FILE_BYTES, min_bytes=total + 1)) == {None}
    few = files[:20]  # under the default threshold
    assert sum(w.size for w in few) < ahead.MIN_BYTES
    assert set(read_ahead(few, workers=2, small=SMALL_FILE_BYTES)) == {None}
    assert set(read_ahead(files, workers=0, small=SMALL_FILE_BYTES, min_bytes=0)) == {None}
    # files above `small` come back None, in their place; the others are read
    small = sorted(w.size for w in files)[len(files) // 2]
    results = list(read_ahead(files, workers=2, small=small, min_bytes=0))
    assert [r is None for r in results] == [w.size > small for w in files]


def crashing_reader(entry: LandingEntry, sha256: str) -> ExaminedFile | None:
    """A reader whose process dies on one file, as a crash in a native parser would."""
    if entry.file_name.startswith("crash"):
        os._exit(70)
    return examine_whole(entry, sha256)


def test_a_file_that_kills_its_worker_is_set_apart_alone(
    samples: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file that kills its worker comes back `ReaderCrashed`; the files read with it, and
    those after, come back read."""
    monkeypatch.setattr(ahead, "PARCEL_FILES", 5)
    landing, _ = samples.get(0.05, 7, defects=True)
    files = to_read(landing)[:40]
    victim = files[12]
    copy = tmp_path / "crash.csv"
    shutil.copyfile(victim.entry.path, copy)
    files[12] = ToRead(
        LandingEntry(victim.entry.region, victim.entry.receipt_date, "crash.csv", copy),
        victim.sha256,
        victim.size,
    )
    results = list(
        read_ahead(files, workers=2, small=SMALL_FILE_BYTES, reader=crashing_reader, min_bytes=0)
    )
    assert isinstance(results[12], ReaderCrashed)
    others = [r for i, r in enumerate(results) if i != 12]
    assert [described(r) for r in others] == [
        described(in_process(w)) for i, w in enumerate(files) if i != 12
    ]


class NeedsTwoArguments(Exception):
    """An error that pickles, and does not unpickle (its constructor wants two arguments)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a} {b}")


def failing_reader(entry: LandingEntry, sha256: str) -> ExaminedFile | None:
    if entry.path.suffix.lower() == ".xlsx":
        raise NeedsTwoArguments("cannot", "unpickle")
    raise OSError(28, "No space left on device")


def test_errors_come_back_with_the_workers_traceback(samples: Any) -> None:
    """An error nobody foresaw comes back with where the worker raised it; one that cannot
    cross processes comes back as a RuntimeError naming it; an error of the machine keeps its
    type and errno (the run stops on it, as it would in process)."""
    landing, _ = samples.get(0.05, 7, defects=True)
    files = to_read(landing)[:30]
    assert {w.entry.path.suffix.lower() for w in files} == {".csv", ".xlsx"}
    results = list(
        read_ahead(files, workers=2, small=SMALL_FILE_BYTES, reader=failing_reader, min_bytes=0)
    )
    for work, result in zip(files, results, strict=True):
        assert isinstance(result, Exception)
        assert isinstance(result.__cause__, WorkerTraceback)
        assert "failing_reader" in str(result.__cause__)
        if work.entry.path.suffix.lower() == ".xlsx":
            assert isinstance(result, RuntimeError)
            assert "NeedsTwoArguments: cannot unpickle" in str(result)
        else:
            assert isinstance(result, OSError) and result.errno == 28


def _read_in_a_daemon(landing: Path, queue: Any) -> None:
    files = to_read(landing)
    results = read_ahead(files, workers=2, small=SMALL_FILE_BYTES, min_bytes=0)
    queue.put([r is None for r in results])


def test_where_no_worker_can_start_the_run_reads_every_file(samples: Any) -> None:
    """A daemonic process may not start processes: every file comes back None, for the run
    to read it."""
    landing, _ = samples.get(0.05, 7, defects=True)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    daemon = context.Process(target=_read_in_a_daemon, args=(landing, queue), daemon=True)
    daemon.start()
    nones = queue.get(timeout=120)
    daemon.join(timeout=60)
    assert nones and all(nones)


def run_and_dump(landing: Path, root: Path, workers: int) -> dict[str, Any]:
    """A run as of AS_OF with ``workers`` reading ahead; what it left, without run and load
    ids or times."""
    data_dir = root / "data"
    shutil.copytree(landing, data_dir / "landing")
    url = f"sqlite:///{data_dir / 'warehouse.sqlite'}"
    report = run_date(Settings(data_dir, url, KEY, workers=workers), AS_OF, live=False)
    assert not report.failed_regions()
    return left_by_run(
        url,
        data_dir,
        ("raw_files", "dq_results", "stg_heures", "stg_conventions", "stg_bilans"),
    )


def test_a_run_leaves_the_same_whatever_reads_the_files(
    samples: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ahead, "MIN_BYTES", 0)
    landing, _ = samples.get(0.05, 7, defects=True)
    with caplog.at_level(logging.INFO, logger=ahead.__name__):
        by_workers = run_and_dump(landing, tmp_path / "workers", 2)
    assert "in 2 worker processes" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ahead.__name__):
        in_process = run_and_dump(landing, tmp_path / "in-process", 0)
    assert "worker processes" not in caplog.text
    assert by_workers["raw_files"] and by_workers["stg_heures"]
    assert by_workers == in_process


def _die_at_start() -> None:
    os._exit(71)


def test_workers_that_die_before_reading_leave_every_file_to_the_run(
    samples: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where workers cannot live (here: each killed as it starts), no file is blamed: every
    file comes back None, for the run to read it."""
    monkeypatch.setattr(
        ahead,
        "_executor",
        lambda workers: ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork"), initializer=_die_at_start
        ),
    )
    landing, _ = samples.get(0.05, 7, defects=True)
    files = to_read(landing)[:40]
    results = list(read_ahead(files, workers=2, small=SMALL_FILE_BYTES, min_bytes=0))
    assert results == [None] * len(files)

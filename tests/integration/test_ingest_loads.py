"""Loading files for real (SQLite): a big file whole or not at all, one transaction; a file
whose examination raises is refused alone; an error of the machine fails the run."""

from __future__ import annotations

import errno
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.contract_files import HEURES, heures_row, write_csv
from support.templates import copy_sqlite

from clauses.check import examine as examination
from clauses.config import Settings
from clauses.contract.kinds import KINDS, Kind
from clauses.load.ingest import ingest_regions
from clauses.receive.landing import LandingEntry
from clauses.warehouse.engine import make_engine, migrate

KEY = b"batch-test-key"
CONVENTIONS = [c.header for c in KINDS[Kind.CONVENTIONS].columns]


# ---- Loading a big file: one transaction, whole or nothing ------------------------------------


def _entry(path: Path, region: str = "11") -> LandingEntry:
    return LandingEntry(region, date(2024, 6, 1), path.name, path)


def _settings(tmp_path: Path, template: Path) -> Settings:
    """A data folder whose warehouse is a copy of the session's migrated one."""
    data = tmp_path / "data"
    return Settings(data, copy_sqlite(template, data / "warehouse.sqlite"), KEY)


def _ingest(settings: Settings, entries: list[LandingEntry]):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    return engine, ingest_regions(engine, settings, {"11": entries}, "test-run")["11"]


def test_file_read_by_batches_is_loaded_whole_or_quarantined_whole(
    tmp_path: Path, sqlite_template: Path, tiny_slices: None
) -> None:
    settings = _settings(tmp_path, sqlite_template)
    folder = settings.landing_dir / "11" / "2024-06-01"
    folder.mkdir(parents=True)
    good = write_csv(folder / "bon.csv", HEURES, [heures_row(i) for i in range(100)])
    rows = [heures_row(i + 1000) for i in range(100)]
    rows[97] = heures_row(1097, **{"SIRET porteur": "12345678901234"})  # line 99, last batch
    bad = write_csv(folder / "mauvais.csv", HEURES, rows)
    engine, outcome = _ingest(settings, [_entry(good), _entry(bad)])
    assert (outcome.loaded, outcome.quarantined, outcome.rows_loaded) == (1, 1, 100)
    with engine.connect() as connection:
        loaded = connection.execute(
            sa.text(
                "SELECT f.file_name, COUNT(*) FROM stg_heures h JOIN raw_files f "
                "ON f.sha256 = h.file_sha256 GROUP BY f.file_name"
            )
        ).all()
        files = dict(connection.execute(sa.text("SELECT file_name, status FROM raw_files")).all())
        checks = connection.execute(
            sa.text(
                "SELECT expectation, element_count, unexpected_count, examples "
                "FROM dq_results d JOIN raw_files f ON f.sha256 = d.sha256 "
                "WHERE f.file_name = 'mauvais.csv' AND NOT d.success"
            )
        ).all()
    assert loaded == [("bon.csv", 100)]  # nothing of the broken file, though its first
    assert files == {"bon.csv": "loaded", "mauvais.csv": "quarantined"}  # batches passed
    ((check, elements, unexpected, examples),) = checks
    assert (elements, unexpected) == (100, 1)
    assert json.loads(examples)[0]["ligne"] == 99
    quarantine = settings.quarantine_dir / "11" / "2024-06-01"
    assert (quarantine / "mauvais.csv").read_bytes() == bad.read_bytes()
    report = (quarantine / "mauvais.csv.rapport.txt").read_text(encoding="utf-8")
    assert "ligne 99 : 12345678901234" in report and "1 ligne(s)" in report


def test_a_file_breaking_a_shared_group_is_refused_alone(
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Small files of several regions are validated together; when that shared step raises an
    error nobody foresaw, the group is halved until the file at fault is alone: that file is
    refused with an internal-error report and kept in quarantine, its traceback logged, and
    every other file, of its region too, loads."""
    settings = _settings(tmp_path, sqlite_template)
    entries: dict[str, list[LandingEntry]] = {"11": [], "24": []}
    for n in range(7):
        region = ("11", "24")[n % 2]
        folder = settings.landing_dir / region / "2024-06-01"
        folder.mkdir(parents=True, exist_ok=True)
        marker = {"Code opération": "BOUM"} if n == 3 else {}
        rows = [heures_row(i + 10 * n, **marker) for i in range(9)]
        path = write_csv(folder / f"heures_{n}.csv", HEURES, rows)
        entries[region].append(LandingEntry(region, date(2024, 6, 1), path.name, path))
    original = examination.normalize_batch
    calls = []

    def fragile(kind, columns, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kind)
        values = columns.get("code_operation")
        if values is not None and "BOUM" in values.to_pylist():
            raise RuntimeError("a bug that one file's data triggers")
        return original(kind, columns, *args, **kwargs)

    monkeypatch.setattr(examination, "normalize_batch", fragile)
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    outcomes = ingest_regions(engine, settings, entries, "test-run")
    assert (outcomes["11"].loaded, outcomes["11"].rows_loaded, outcomes["11"].error) == (
        4,
        36,
        None,
    )
    assert (outcomes["24"].loaded, outcomes["24"].rows_loaded, outcomes["24"].error) == (
        2,
        18,
        None,
    )
    assert (outcomes["24"].refused, outcomes["24"].internal_errors) == (1, ["heures_3.csv"])
    assert len(calls) <= 1 + 2 * 3  # halved down to one file: log2(7) levels, two halves each
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM stg_heures")).scalar_one() == 54
        status, reason = connection.execute(
            sa.text("SELECT status, reason FROM raw_files WHERE file_name = 'heures_3.csv'")
        ).one()
    assert status == "refused" and reason == examination.INTERNAL_ERROR
    kept = settings.quarantine_dir / "24" / "2024-06-01"
    assert (kept / "heures_3.csv").read_bytes() == entries["24"][1].path.read_bytes()
    report = (kept / "heures_3.csv.rapport.txt").read_text(encoding="utf-8")
    assert "Erreur interne lors de la lecture ; le fichier est conservé" in report
    assert "Traceback" not in report
    assert any(
        r.levelname == "ERROR" and r.exc_info and "heures_3.csv" in r.getMessage()
        for r in caplog.records
    )


def test_an_error_of_the_machine_still_fails_the_run(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk full while files are read is the run's failure, not a file's: it is raised (the
    run fails and is retried) and no file is refused for it."""
    settings = _settings(tmp_path, sqlite_template)
    folder = settings.landing_dir / "11" / "2024-06-01"
    folder.mkdir(parents=True)
    path = write_csv(folder / "heures.csv", HEURES, [heures_row(0)])

    def full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(examination, "normalize_batch", full)
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    entries = {"11": [LandingEntry("11", date(2024, 6, 1), path.name, path)]}
    with pytest.raises(OSError, match="No space"):
        ingest_regions(engine, settings, entries, "test-run")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM raw_files")).scalar_one() == 0


def test_a_file_gone_before_it_is_hashed_is_refused_alone(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """A file listed in the landing zone then removed before it is read: it alone is refused
    (registered with an empty SHA-256, listed with its reason), the others load."""
    settings = _settings(tmp_path, sqlite_template)
    folder = settings.landing_dir / "11" / "2024-06-01"
    folder.mkdir(parents=True)
    good = write_csv(folder / "bon.csv", HEURES, [heures_row(i) for i in range(4)])
    gone = write_csv(folder / "parti.csv", HEURES, [heures_row(9)])
    entries = [_entry(good), _entry(gone)]
    gone.unlink()
    engine, outcome = _ingest(settings, entries)
    assert (outcome.loaded, outcome.rows_loaded, outcome.refused, outcome.error) == (1, 4, 1, None)
    assert outcome.internal_errors == ["parti.csv"]
    with engine.connect() as connection:
        sha, status, reason = connection.execute(
            sa.text("SELECT sha256, status, reason FROM raw_files WHERE file_name = 'parti.csv'")
        ).one()
    assert (sha, status) == ("", "refused") and "n'a pas pu être lu" in reason
    # Known from now on: the next run neither reads nor registers it again.
    assert _ingest(settings, entries)[1].already_known == 2


def test_a_big_file_whose_examination_raises_is_rolled_back_and_refused_alone(
    tmp_path: Path, sqlite_template: Path, tiny_slices: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read by batches (every file here: SMALL_FILE_BYTES is 0) whose second batch raises
    an error nobody foresaw: its rows already written are rolled back, it alone is refused
    with the internal-error reason, and the next file loads."""
    from clauses.load import ingest

    monkeypatch.setattr(ingest, "SMALL_FILE_BYTES", 0)
    settings = _settings(tmp_path, sqlite_template)
    folder = settings.landing_dir / "11" / "2024-06-01"
    folder.mkdir(parents=True)
    rows = [heures_row(i) for i in range(100)]
    rows[60] = heures_row(60, **{"ID participant": "BOUM"})
    broken = write_csv(folder / "a_casse.csv", HEURES, rows)
    good = write_csv(folder / "b_bon.csv", HEURES, [heures_row(i + 500) for i in range(50)])
    original = examination.normalize_batch

    def fragile(kind, columns, *args, **kwargs):  # type: ignore[no-untyped-def]
        values = columns.get("participant_hash")
        if values is not None and "BOUM" in values.to_pylist():
            raise ZeroDivisionError("a bug only one row triggers")
        return original(kind, columns, *args, **kwargs)

    monkeypatch.setattr(examination, "normalize_batch", fragile)
    engine, outcome = _ingest(settings, [_entry(broken), _entry(good)])
    assert (outcome.loaded, outcome.rows_loaded, outcome.refused, outcome.error) == (1, 50, 1, None)
    assert outcome.internal_errors == ["a_casse.csv"]
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                sa.text(
                    "SELECT f.file_name, COUNT(h.file_sha256) FROM raw_files f "
                    "LEFT JOIN stg_heures h ON h.file_sha256 = f.sha256 GROUP BY f.file_name"
                )
            ).all()
        )
        reason = connection.execute(
            sa.text("SELECT reason FROM raw_files WHERE file_name = 'a_casse.csv'")
        ).scalar_one()
    assert counts == {"a_casse.csv": 0, "b_bon.csv": 50}
    assert reason == examination.INTERNAL_ERROR
    kept = settings.quarantine_dir / "11" / "2024-06-01" / "a_casse.csv"
    assert kept.read_bytes() == broken.read_bytes()

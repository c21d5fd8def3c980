"""The published extracts agree with an independent implementation of the contract (tests/oracle.py)
on a generated sample with defects, at dates before and after the report deadlines, avenants and
corrections; and SQLite and PostgreSQL publish the same CSV files."""

from __future__ import annotations

import csv
import functools
from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from support import oracle
from support.oracle import expected_anomalies, expected_conventions, expected_files
from support.templates import Samples, copy_sqlite

from clauses.config import load_settings
from clauses.run.pipeline import run_date
from clauses.warehouse.engine import make_engine

DATES = (date(2024, 5, 31), date(2024, 9, 15), date(2025, 2, 10), date(2026, 4, 1))
CSV_FILES = ("conventions.csv", "anomalies.csv", "fichiers.csv", "synthese.csv")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


@pytest.fixture(scope="module")
def sample(samples: Samples) -> Path:
    """The session's sample (0.05, seed 7, with defects): the runs only read it."""
    return samples.get(0.05, 7, defects=True)[0]


def run_all_dates(sample: Path, data_dir: Path, url: str | None, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    (data_dir / "landing").symlink_to(sample, target_is_directory=True)
    if url:
        monkeypatch.setenv("CLAUSES_WAREHOUSE_URL", url)
    settings = load_settings()
    for day in DATES:
        report = run_date(settings, day)
        assert not report.failed_regions()
    return data_dir / "extracts"


def assert_matches_oracle(extracts: Path, url: str) -> None:
    engine = make_engine(url)
    # The warehouse no longer changes here: read it once per date, not once per region.
    with mock.patch.object(oracle, "_state", functools.lru_cache(maxsize=None)(oracle._state)):
        _compare(extracts, engine)


def _compare(extracts: Path, engine) -> None:  # type: ignore[no-untyped-def]
    compared = 0
    for day in DATES:
        for folder in sorted(p for p in extracts.iterdir() if p.name != "national"):
            region, target = folder.name, folder / day.isoformat()
            if not target.exists():
                continue
            got = read_csv(target / "conventions.csv")
            assert got == expected_conventions(engine, day, region), (region, day)
            anomalies = [
                {k: a[k] for k in ("N° convention", "Millésime", "Volet", "Règle", "Niveau")}
                for a in read_csv(target / "anomalies.csv")
            ]
            expected = [
                {k: a[k] for k in ("N° convention", "Millésime", "Volet", "Règle", "Niveau")}
                for a in expected_anomalies(engine, day, region)
            ]
            assert anomalies == expected, (region, day)
            files = sorted(
                (f["Fichier"], f["SHA-256"], f["Date de réception"], f["Statut"])
                for f in read_csv(target / "fichiers.csv")
            )
            assert files == sorted(
                (f["Fichier"], f["SHA-256"], f["Date de réception"], f["Statut"])
                for f in expected_files(engine, day, region)
            ), (region, day)
            compared += len(got)
    assert compared > 100  # the comparison really covered strands


@pytest.fixture(scope="module")
def sqlite_run(
    sample: Path, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> tuple[Path, str]:
    """The four dates run once on SQLite (a copy of the session's migrated warehouse), shared by
    the tests of this module."""
    data_dir = tmp_path_factory.mktemp("sqlite")
    copy_sqlite(sqlite_template, data_dir / "warehouse.sqlite")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("CLAUSES_DATA_DIR", str(data_dir))
        monkeypatch.setenv("CLAUSES_PSEUDONYM_KEY", "same-key-for-both-backends")
        monkeypatch.delenv("CLAUSES_WAREHOUSE_URL", raising=False)
        extracts = run_all_dates(sample, data_dir, None, monkeypatch)
        return extracts, load_settings().warehouse_url


def test_sqlite_matches_the_oracle(sqlite_run: tuple[Path, str]) -> None:
    assert_matches_oracle(*sqlite_run)


def test_postgres_matches_the_oracle_and_sqlite(  # type: ignore[no-untyped-def]
    sample: Path,
    sqlite_run: tuple[Path, str],
    tmp_path: Path,
    postgres_warehouse_url: str,
    monkeypatch,
) -> None:
    postgres_url = postgres_warehouse_url
    data_dir = tmp_path / "postgres"
    data_dir.mkdir()
    monkeypatch.setenv("CLAUSES_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CLAUSES_PSEUDONYM_KEY", "same-key-for-both-backends")
    extracts = run_all_dates(sample, data_dir, postgres_url, monkeypatch)
    assert_matches_oracle(extracts, postgres_url)
    sqlite_extracts = sqlite_run[0]
    csv_files = sorted(sqlite_extracts.rglob("*.csv"))
    assert len(csv_files) > 50
    for path in csv_files:
        twin = extracts / path.relative_to(sqlite_extracts)
        assert path.read_bytes() == twin.read_bytes(), path

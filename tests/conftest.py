"""Fixtures shared by the three tiers: data folders, PostgreSQL databases, and what is built once
per session for many tests (support/templates.py): migrated warehouses, sample landing zones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.templates import (
    Samples,
    copy_sqlite,
    create_database,
    drop_database,
    migrated_postgres,
    migrated_sqlite,
)

from clauses.check import examine as examination
from clauses.read import csv_files, sheet_slices, workbooks

ROOT = Path(__file__).resolve().parents[1]

POSTGRES_ENV = "CLAUSES_TEST_POSTGRES_URL"
TEST_KEY = "test-pseudonymisation-key-not-for-production"

# With pytest-xdist (`make test` runs two workers), each worker has Airflow metadata of its own:
# the dag.test() runs and `airflow db migrate` of two workers would otherwise share one SQLite
# file. Set here, before anything imports Airflow (it reads its configuration at import).
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    _home = Path(os.environ.get("AIRFLOW_HOME") or ROOT / ".airflow") / WORKER
    _home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(_home)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"

# The longest files first (a few minutes each, most of the suite's time): with several workers
# each file runs whole on one worker, taken in this order, so none of them starts last while the
# other workers have nothing left to do. The order of everything else is kept.
LONGEST_FIRST = (
    "tests/integration/test_scheduler.py",
    "tests/integration/test_generative_ingestion.py",
    "tests/integration/test_fault_injection.py",
    "tests/integration/test_ingest_big_files.py",
    "tests/integration/test_oracle_agreement.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server of CLAUSES_TEST_POSTGRES_URL; skipped when absent, unless CI is set."""
    import sqlalchemy as sa

    url = os.environ.get(POSTGRES_ENV, "postgresql://postgres@127.0.0.1:5432/test")
    from clauses.warehouse.engine import make_engine

    try:
        with make_engine(url).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means no usable server
        message = f"no PostgreSQL server at {url} ({error.__class__.__name__}); set {POSTGRES_ENV}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = create_database(postgres_server, "clauses_test")
    yield url
    drop_database(postgres_server, url)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL warehouse migrated once per session, copied by `postgres_warehouse_url`."""
    url = migrated_postgres(postgres_server)
    yield url
    drop_database(postgres_server, url)


@pytest.fixture
def postgres_warehouse_url(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A PostgreSQL warehouse for one test, migrated already (a copy of the session's template:
    what a run's first migration leaves), dropped afterwards."""
    url = create_database(postgres_server, "clauses_test", template=postgres_template)
    yield url
    drop_database(postgres_server, url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite warehouse migrated once per session, copied by `sqlite_warehouse`."""
    return migrated_sqlite(tmp_path_factory.mktemp("template") / "warehouse.sqlite")


@pytest.fixture
def sqlite_warehouse(data_dir: Path, sqlite_template: Path) -> str:
    """The warehouse of `data_dir` (its default place), migrated already: a copy of the
    session's template. Its URL."""
    return copy_sqlite(sqlite_template, data_dir / "warehouse.sqlite")


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Samples]:
    """The sample landing zones, each generated once per session (read, or copied to write)."""
    made = Samples(tmp_path_factory.mktemp("samples"))
    yield made
    made.check_untouched()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder, configured as the pipeline's, with a test pseudonymisation key."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("CLAUSES_DATA_DIR", str(folder))
    monkeypatch.setenv("CLAUSES_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("CLAUSES_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("CLAUSES_DEMO", raising=False)
    return folder


@pytest.fixture
def tiny_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read everything by slices of a few hundred bytes or cells, validate by batches of a few
    rows: every boundary lands somewhere inside the files."""
    monkeypatch.setattr(csv_files, "CSV_BLOCK_BYTES", 700)
    monkeypatch.setattr(csv_files, "CAREFUL_ROWS", 7)
    monkeypatch.setattr(workbooks, "XLSX_WHOLE_SHEET_BYTES", 0)
    monkeypatch.setattr(sheet_slices, "XLSX_SLICE_BYTES", 1500)
    monkeypatch.setattr(sheet_slices, "XLSX_SLICE_CELLS", 300)
    monkeypatch.setattr(examination, "STREAM_CELLS", 16 * 40)

"""The unit tier: no Airflow, no warehouse. A test that opens a warehouse (SQLite file or
PostgreSQL) or imports Airflow belongs to tests/integration; this tier says so when it happens."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import sqlalchemy


@pytest.fixture(autouse=True)
def no_warehouse(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test opens no warehouse: move it to tests/integration")

    monkeypatch.setattr(sqlalchemy, "create_engine", forbidden)
    imported_before = "airflow" in sys.modules  # by another tier of the same session
    yield
    assert imported_before or "airflow" not in sys.modules, (
        "a unit test imports no Airflow: move it to tests/integration"
    )

"""The Airflow UI page of the plugin, served through its real FastAPI app."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.small_landing import write_small_landing

from clauses.config import load_settings
from clauses.run.pipeline import run_date


def test_status_page_and_api(
    data_dir: Path, sqlite_warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_small_landing(data_dir / "landing")
    settings = load_settings()
    run_date(settings, date(2025, 3, 1))
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE",
        '{"conn_type": "sqlite", "host": "' + str(data_dir / "warehouse.sqlite") + '"}',
    )
    from clauses_status_plugin import ClausesPlugin

    (mounted,) = ClausesPlugin.fastapi_apps
    assert mounted["url_prefix"] == "/clauses"
    client = TestClient(mounted["app"])
    status = client.get("/api/regions").json()
    assert status["as_of"] == "2025-03-01"
    idf = next(r for r in status["regions"] if r["region"] == "11")
    assert idf["decisions"] == {"à examiner": 1}
    assert [q["file"] for q in idf["quarantined"]] == ["heures_errone.csv"]
    assert len(idf["last_files"]) == 5 and idf["last_run"]["files_loaded"] == "6"
    page = client.get("/").text
    assert "heures_errone.csv" in page and "Île-de-France" in page

"""The clauses page in the Airflow UI: per region, the last files received, the quarantined
ones and the decisions of the last computed date (served by the api-server under /clauses)."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin
from clauses_airflow import warehouse_url


def status_app():  # type: ignore[no-untyped-def]
    """The FastAPI app mounted by the api-server under /clauses: per region, the last files
    received, the quarantined ones and the decisions of the last computed date."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    app = FastAPI(title="clauses status")

    def _status() -> dict[str, Any]:
        from clauses.config import load_settings
        from clauses.run.status import region_status
        from clauses.warehouse.engine import make_engine

        return region_status(
            make_engine(load_settings(warehouse_url=warehouse_url()).warehouse_url)
        )

    @app.get("/api/regions")
    def regions() -> dict[str, Any]:
        return _status()

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        from clauses.run.status import render_status_page

        return render_status_page(_status())

    return app


class ClausesPlugin(AirflowPlugin):
    """The clauses page in the Airflow UI (Browse > Clauses), served by the api-server."""

    name = "clauses"

    fastapi_apps = [{"app": status_app(), "url_prefix": "/clauses", "name": "clauses status"}]

    external_views = [
        {
            "name": "Clauses",
            "href": "/clauses/",
            "destination": "nav",
            "category": "browse",
            "url_route": "clauses",
        },
    ]

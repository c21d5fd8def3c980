"""The clauses page in the Airflow UI: per region, the last files received, the quarantined
ones and the decisions of the last computed date (served by the api-server under /clauses)."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin
from clauses_airflow import warehouse_url


def status_app():  # type: ignore[no-untyped-def]
    """The FastAPI app mounted by the api-server under /clauses: per region, the last files
    received, the quarantined ones and the decisions of the last computed date."""
    import html

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
        status = _status()
        rows = []
        for r in status["regions"]:
            decisions = ", ".join(f"{k}: {v}" for k, v in sorted(r["decisions"].items()))
            files = "<br>".join(
                f"{html.escape(f['received'])} {html.escape(f['file'])} ({f['status']})"
                for f in r["last_files"]
            )
            quarantined = "<br>".join(
                f"{html.escape(q['received'])} {html.escape(q['file'])}" for q in r["quarantined"]
            )
            run = r["last_run"] or {}
            error = f" ERROR {html.escape(str(run['error']))}" if run.get("error") else ""
            rows.append(
                f"<tr><td>{r['region']} {html.escape(r['name'])}</td><td>{files}</td>"
                f"<td>{quarantined or '-'}</td><td>{html.escape(decisions) or '-'}</td>"
                f"<td>{html.escape(str(run.get('run_id', '-')))}"
                f"{error}</td></tr>"
            )
        return (
            "<!doctype html><html lang='en'><meta charset='utf-8'><title>clauses</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;"
            "vertical-align:top;font-size:13px}table{border-collapse:collapse}</style>"
            f"<h1>clauses: regions as of {html.escape(str(status['as_of']))}</h1><table>"
            "<tr><th>Region</th><th>Last files received</th><th>Quarantined</th>"
            "<th>Decisions (last computed date)</th><th>Last run</th></tr>"
            + "".join(rows)
            + "</table></html>"
        )

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

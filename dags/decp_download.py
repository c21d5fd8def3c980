"""The national DECP snapshot, downloaded into landing/decp/<today>/ every working day."""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task
from clauses_airflow import TIMEZONE, dag_defaults

DECP_CONN_ID = "decp_source"  # AIRFLOW_CONN_DECP_SOURCE: {"conn_type": "http", "host": "<URL>"}
TIMEOUT = (30, 300)  # seconds to connect, and of silence while the body arrives

DOC = """
### decp_download

Every working day at 06:00 (Europe/Paris) one task, **download_snapshot**, fetches the national
consolidated DECP table (contract §8.1) from the URL of the Airflow connection `decp_source`
(an `http` connection whose host is the whole URL) and lands it in `landing/decp/<today>/`,
where the next nightly run of `clauses_nightly` finds it
(`clauses.receive.decp_download`):

- the request is conditional (If-None-Match / If-Modified-Since, from the ETag and
  Last-Modified of the last file landed, remembered in `<data>/state/decp_download.json`): a
  file that did not change is not downloaded again, the server answers 304 and the task
  succeeds having landed nothing;
- the body is streamed to a hidden partial file, compared with its Content-Length and checked
  (a Parquet file's footer, a CSV's first line naming the required columns) before it is
  renamed, whole, into `landing/decp/<today>/` under a name that sorts after every snapshot
  already received that day (the last one is in force), never over another file;
- a connection error, an HTTP error, a body cut short or anything that is not a snapshot fails
  the task having landed nothing; Airflow retries it with a growing delay.

French public holidays need no calendar: the consolidation is not republished on those days,
so the run of a holiday costs one request answered 304.
"""


@dag(
    dag_id="decp_download",
    schedule=CronTriggerTimetable("0 6 * * 1-5", timezone=TIMEZONE),
    doc_md=DOC,
    **dag_defaults(tags=["clauses", "decp"]),
)
def decp_download() -> None:
    @task
    def download_snapshot() -> dict:
        from airflow.providers.http.hooks.http import HttpHook

        from clauses.config import data_dir_from_env
        from clauses.receive import decp_download as download

        hook = HttpHook(method="GET", http_conn_id=DECP_CONN_ID)
        plan = download.prepare(data_dir_from_env(), hook.url_from_endpoint(None))
        # An HTTP error status raises here (check_response), a connection error too: the task
        # fails, having landed nothing, and is retried.
        response = hook.run(
            headers=plan.headers, extra_options={"stream": True, "timeout": TIMEOUT}
        )
        with response:
            return download.land(plan, response).as_dict()

    download_snapshot()


decp_download()

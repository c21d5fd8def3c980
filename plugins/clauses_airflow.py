"""Airflow-only glue for the clauses DAGs: defaults, callbacks, the warehouse connection.

Imported by the DAG files (the plugins folder is on Airflow's path); the UI page lives in
clauses_status_plugin.py, so that parsing a DAG never imports the web stack.
Nothing here runs at import time beyond definitions: no connection, variable or database is
looked up while a DAG file is parsed.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import date, datetime, timedelta
from typing import Any

import pendulum

log = logging.getLogger(__name__)

TIMEZONE = pendulum.timezone("Europe/Paris")
WAREHOUSE_CONN_ID = "clauses_warehouse"
ALERT_WEBHOOK_ENV = "CLAUSES_ALERT_WEBHOOK"
ALERT_EMAIL_ENV = "CLAUSES_ALERT_EMAIL"
ALERT_FROM_ENV = "CLAUSES_ALERT_FROM"
SMTP_CONN_ID = "clauses_smtp"  # the mail server of the alerts (AIRFLOW_CONN_CLAUSES_SMTP)


def _send_email(subject: str, message: dict[str, Any]) -> None:
    """Mail ``message`` to CLAUSES_ALERT_EMAIL with Airflow's SMTP notifier, through the
    connection `clauses_smtp` (host, port, login; extra `from_email`), when the address is set."""
    recipient = os.environ.get(ALERT_EMAIL_ENV)
    if not recipient:
        return
    from html import escape

    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    notifier = SmtpNotifier(
        to=recipient,
        smtp_conn_id=SMTP_CONN_ID,
        from_email=os.environ.get(ALERT_FROM_ENV, "clauses@localhost"),
        subject=f"[clauses] {subject}",
        html_content=f"<pre>{escape(json.dumps(message, indent=2, default=str))}</pre>",
    )
    try:
        notifier.notify({})
    except Exception:  # an alert that cannot be sent is logged, never raised
        log.exception("could not mail the alert to %s", recipient)


def _alert(subject: str, message: dict[str, Any]) -> None:
    """Send ``message`` to the team: by e-mail and to the webhook in CLAUSES_ALERT_WEBHOOK,
    each when configured; an alert that cannot be sent is logged, never raised."""
    _send_email(subject, message)
    url = os.environ.get(ALERT_WEBHOOK_ENV)
    if not url:
        return
    request = urllib.request.Request(
        url, data=json.dumps(message).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (operator-set URL)
            pass
    except OSError:
        log.exception("could not post the alert to the webhook")


def notify_failure(context: dict[str, Any]) -> None:
    """Failure callback: log, and alert the team (e-mail, webhook) when configured."""
    ti = context.get("task_instance") or context.get("ti")
    message = {
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": repr(context.get("exception")),
    }
    log.error("clauses task failed: %s", message)
    _alert(f"{message['dag_id']}.{message['task_id']} failed", message)


def notify_internal_errors(run_id: str, files: dict[str, list[str]]) -> None:
    """A run that succeeded refused files for an error nobody foresaw (`files`: their names by
    region; the tracebacks are in the task's log): the team is alerted, since the facilitators
    were told it would be."""
    message = {"run_id": run_id, "event": "files_refused_for_an_internal_error", "files": files}
    log.error("files refused for an internal error (tracebacks above): %s", files)
    _alert(f"{sum(map(len, files.values()))} file(s) refused for an internal error", message)


def dag_defaults(**overrides: Any) -> dict[str, Any]:
    """The keyword arguments every clauses DAG starts from (STYLE.md rule 3)."""
    settings: dict[str, Any] = {
        "start_date": pendulum.datetime(2024, 1, 1, tz=TIMEZONE),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {
            "owner": "clauses",
            "retries": 2,
            "retry_delay": timedelta(minutes=1),
            "retry_exponential_backoff": 2.0,
            "max_retry_delay": timedelta(minutes=15),
            "on_failure_callback": notify_failure,
        },
        "tags": ["clauses"],
    }
    settings.update(overrides)
    return settings


def warehouse_url() -> str | None:
    """The SQLAlchemy URL of the `clauses_warehouse` connection, or None when it is not set."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(WAREHOUSE_CONN_ID)
    except Exception:  # the connection is optional: CLAUSES_WAREHOUSE_URL or the default apply
        log.warning(
            "no %s connection: using CLAUSES_WAREHOUSE_URL or the default", WAREHOUSE_CONN_ID
        )
        return None
    extra = conn.extra_dejson or {}
    if extra.get("url"):
        return str(extra["url"])
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    from sqlalchemy.engine import URL

    return URL.create(
        "postgresql+psycopg",
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    ).render_as_string(hide_password=False)


def task_settings():  # type: ignore[no-untyped-def]
    """clauses Settings for a task: the environment, with the warehouse of the connection."""
    from clauses.config import load_settings

    return load_settings(warehouse_url=warehouse_url())


def run_date(context: dict[str, Any]) -> date:
    """D for a run: the `date` Param when given, else the logical date in Europe/Paris."""
    wanted = (context.get("params") or {}).get("date")
    if wanted:
        return date.fromisoformat(str(wanted))
    logical: datetime | None = context.get("logical_date")
    moment = pendulum.now(TIMEZONE) if logical is None else pendulum.instance(logical)
    local = moment.in_timezone(TIMEZONE)
    return date(local.year, local.month, local.day)  # a plain date: drivers reject pendulum's


def _is_backfill(context: dict[str, Any]) -> bool:
    return "backfill" in str(getattr(context.get("dag_run"), "run_type", "")).lower()


def receive_until(context: dict[str, Any]) -> date | None:
    """A backfill run also receives the files of its later dates, up to today (see
    clauses.run.pipeline.receive_and_load): its sibling runs then find them known."""
    return pendulum.now(TIMEZONE).date() if _is_backfill(context) else None


def is_live(context: dict[str, Any]) -> bool:
    """A backfill never moves loose files; the scheduled nightly run and today's manual run do."""
    if _is_backfill(context):
        return False
    if "scheduled" in str(getattr(context.get("dag_run"), "run_type", "")).lower():
        return True
    return run_date(context) == pendulum.now(TIMEZONE).date()

"""Configuration, read from the environment in one place.

`src/clauses` never looks anything up in Airflow: the DAG passes the warehouse URL it got from the
`clauses_warehouse` connection, and the command line reads the environment variables below.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "sql"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
RULES_DIR = PROJECT_ROOT / "rules"
TIMEZONE = "Europe/Paris"


class ConfigurationError(RuntimeError):
    """The environment does not allow a run (for instance no pseudonymisation key)."""


def default_workers() -> int:
    """One worker process a core this process may run on, at most four."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know about its environment."""

    data_dir: Path
    warehouse_url: str
    pseudonym_key: bytes
    quarantine_retention_days: int = 90
    outbox_template: str | None = None  # e.g. /srv/outbox/dreets-{region}: one outbox a region
    # worker processes reading a night's small files and writing its extracts; 0: none
    workers: int = field(default_factory=default_workers)

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def extracts_dir(self) -> Path:
        return self.data_dir / "extracts"


def data_dir_from_env(env: dict[str, str] | None = None) -> Path:
    """CLAUSES_DATA_DIR, default ./data (needs no key: generating a sample reads only this)."""
    env = dict(os.environ) if env is None else env
    return Path(env.get("CLAUSES_DATA_DIR") or "data").resolve()


def default_warehouse_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'warehouse.sqlite').resolve()}"


def _demo_key(data_dir: Path) -> bytes:
    """A key generated once for the demo, kept beside the data it protects."""
    path = data_dir / ".demo_pseudonym_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning("CLAUSES_DEMO=1: generated a demo pseudonymisation key in %s", path)
    return path.read_text().strip().encode()


def _retention_days(text: str) -> int:
    try:
        days = int(text.strip())
    except ValueError:
        days = -1
    if days < 0:
        raise ConfigurationError(
            f"CLAUSES_QUARANTINE_RETENTION_DAYS={text!r} is not a number of days: set a whole "
            "number, 0 or more (default 90), the days a quarantined file is kept."
        )
    return days


def load_settings(warehouse_url: str | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from the environment.

    CLAUSES_DATA_DIR (default ./data), CLAUSES_WAREHOUSE_URL (default a SQLite file in the data
    folder; `warehouse_url` wins when given, as the DAG does with its Airflow connection),
    CLAUSES_PSEUDONYM_KEY (required unless CLAUSES_DEMO=1, which generates a local one),
    CLAUSES_QUARANTINE_RETENTION_DAYS (a whole number of days, 0 or more, default 90; anything
    else is a ConfigurationError), CLAUSES_OUTBOX_TEMPLATE (a folder path holding `{region}`;
    when set, each region's extract is also delivered there), CLAUSES_WORKERS (worker
    processes reading the small files of a night and writing its extracts, 0 for none; default
    one a core, at most 4).
    """
    env = dict(os.environ) if env is None else env
    data_dir = data_dir_from_env(env)
    url = warehouse_url or env.get("CLAUSES_WAREHOUSE_URL") or default_warehouse_url(data_dir)
    key_text = env.get("CLAUSES_PSEUDONYM_KEY", "")
    if key_text:
        key = key_text.encode()
    elif env.get("CLAUSES_DEMO") == "1":
        key = _demo_key(data_dir)
    else:
        raise ConfigurationError(
            "CLAUSES_PSEUDONYM_KEY is not set: participant ids cannot be pseudonymised. "
            "Set it (a long random secret, kept outside the repository), or CLAUSES_DEMO=1 "
            "for a local demonstration."
        )
    retention = _retention_days(env.get("CLAUSES_QUARANTINE_RETENTION_DAYS") or "90")
    outbox = env.get("CLAUSES_OUTBOX_TEMPLATE") or None
    if outbox is not None and "{region}" not in outbox:
        raise ConfigurationError(
            "CLAUSES_OUTBOX_TEMPLATE must contain {region}: each region has its own outbox"
        )
    workers = env.get("CLAUSES_WORKERS") or str(default_workers())
    if not workers.isdigit():
        raise ConfigurationError(
            f"CLAUSES_WORKERS must be a whole number of processes (0 or more): {workers!r}"
        )
    return Settings(data_dir, url, key, retention, outbox, int(workers))

"""Integration fixtures: Airflow's metadata database, migrated once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """`airflow db migrate` on the metadata database configured in the environment."""
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(Path.cwd() / ".airflow")))
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=600)

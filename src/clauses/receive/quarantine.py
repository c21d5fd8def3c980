"""The quarantine folder: byte-for-byte copies of refused and quarantined files beside their
reports, kept `CLAUSES_QUARANTINE_RETENTION_DAYS` then deleted."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import date
from pathlib import Path

from clauses.config import Settings
from clauses.receive.landing import LandingEntry, parse_date, temporary_name

log = logging.getLogger(__name__)


def quarantine_folder(settings: Settings, entry: LandingEntry) -> Path:
    return settings.quarantine_dir / entry.region / entry.receipt_date.isoformat()


def copy_into_quarantine(folder: Path, entry: LandingEntry) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    target = folder / entry.file_name
    partial = folder / temporary_name(entry.file_name)
    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as source, open(partial, "wb") as sink:
        shutil.copyfileobj(source, sink)
    os.chmod(partial, 0o640)
    os.replace(partial, target)  # a concurrent run copying the same file never sees half of it


def purge_quarantine(quarantine_dir: Path, today: date, retention_days: int) -> int:
    """Delete quarantined files (and their reports) received more than `retention_days` ago.

    Quarantine is the one place a file is kept as received, personal data included (contract
    §3): it is kept only for the configured retention. Returns the number of folders removed.
    """
    removed = 0
    if not quarantine_dir.is_dir():
        return removed
    for region_dir in quarantine_dir.iterdir():
        if not region_dir.is_dir() or region_dir.is_symlink():
            continue
        for date_dir in region_dir.iterdir():
            received = parse_date(date_dir.name)
            if received is not None and (today - received).days > retention_days:
                shutil.rmtree(date_dir)
                removed += 1
    if removed:
        log.info(
            "quarantine: removed %d receipt folders older than %d days", removed, retention_days
        )
    return removed

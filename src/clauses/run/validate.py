"""`clauses validate`: what a facilitator runs before sending a file.

The same reading, the same expectations and the same French report as the pipeline, with no
warehouse: exit code 0 when every file would be loaded, 1 otherwise. Small files are validated
together, a big one by batches, as the pipeline does; and, as in the pipeline, whatever one file
does, it alone gets a refusal (an unforeseen error is reported in French, its traceback logged).
"""

from __future__ import annotations

import logging
import secrets
import sys
from datetime import date
from pathlib import Path

from clauses.check.examine import (
    ExaminedFile,
    examine,
    examine_apart,
    examine_stream,
    file_report,
    is_run_failure,
    unreadable_reason,
)
from clauses.check.reports import FileReport
from clauses.read.files import open_file
from clauses.read.tables import FileRefused
from clauses.receive.landing import LandingEntry, file_sha256, name_problem

log = logging.getLogger(__name__)


def check_files(paths: list[Path], *, region: str | None = None) -> int:
    """Print a report per file; 0 when all would load, 1 otherwise."""
    key = secrets.token_bytes(32)  # ids are hashed only to be checked; nothing is kept
    region = region or "??"
    with_region = region != "??"
    today = date.today()
    reports: dict[int, FileReport] = {}
    small: dict[int, ExaminedFile] = {}

    def refused(index: int, path: Path, sha: str, error: Exception) -> None:
        if is_run_failure(error):
            raise error
        if not isinstance(error, FileRefused):
            log.error("%s: unforeseen error while checking it", path, exc_info=error)
        reason = error.reason if isinstance(error, FileRefused) else unreadable_reason(error)
        reports[index] = FileReport(region, today, path.name, sha, "refusé", refusal=reason)

    for index, path in enumerate(paths):
        entry = LandingEntry(region, today, path.name, path, name_problem(path.name))
        if not path.is_file() or path.is_symlink():
            entry = LandingEntry(
                region,
                today,
                path.name,
                path,
                "n'est pas un fichier ordinaire (lien, dossier ou absent)",
            )
        if entry.refusal:
            reports[index] = FileReport(
                region, today, path.name, "", "refusé", refusal=entry.refusal
            )
            continue
        sha = ""
        try:
            sha = file_sha256(path)
            item = examine(entry, sha, open_file(path))
            if item.opened.whole:
                small[index] = item
            else:
                examine_stream(item, pseudonym_key=key, with_region=with_region)
                reports[index] = file_report(item)
        except Exception as error:  # the file's own: the others are still checked
            refused(index, path, sha, error)
    indices = {id(item.entry): index for index, item in small.items()}  # kept when read again
    groups, apart = examine_apart(list(small.values()), pseudonym_key=key, with_region=with_region)
    for item, failure in apart:
        refused(indices[id(item.entry)], item.entry.path, item.sha256, failure)
    for group in groups:
        for item in group.items:
            reports[indices[id(item.entry)]] = file_report(item)
    for index in sorted(reports):
        sys.stdout.write(reports[index].to_text() + "\n")
    return 0 if all(r.outcome == "chargé" for r in reports.values()) else 1

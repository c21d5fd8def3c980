"""`clauses validate`: what a facilitator runs before sending a file.

The same reading, the same expectations and the same French report as the pipeline, with no
warehouse: exit code 0 when every file would be loaded, 1 otherwise.
"""

from __future__ import annotations

import secrets
import sys
from datetime import date
from pathlib import Path

from clauses.ingest import ExaminedFile, examine_files, file_report, file_sha256
from clauses.landing import LandingEntry, name_problem
from clauses.reading import FileRefused, read_file
from clauses.reports import FileReport


def check_files(paths: list[Path], *, region: str | None = None) -> int:
    """Print a report per file; 0 when all would load, 1 otherwise."""
    key = secrets.token_bytes(32)  # ids are hashed only to be checked; nothing is kept
    region = region or "??"
    today = date.today()
    examined: list[ExaminedFile] = []
    reports: list[FileReport] = []
    for path in paths:
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
            reports.append(
                FileReport(region, today, path.name, "", "refusé", refusal=entry.refusal)
            )
            continue
        sha = file_sha256(path)
        try:
            result = read_file(path)
        except FileRefused as refused:
            reports.append(
                FileReport(region, today, path.name, sha, "refusé", refusal=refused.reason)
            )
            continue
        examined.append(ExaminedFile(entry, sha, result))
    examine_files(examined, pseudonym_key=key, region=region if region != "??" else None)
    for item in examined:
        report = file_report(item)
        if report.blocking:
            report.outcome = "en quarantaine"
        reports.append(report)
    for report in reports:
        sys.stdout.write(report.to_text() + "\n")
    return 0 if all(r.outcome == "chargé" for r in reports) else 1

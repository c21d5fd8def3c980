"""`clauses validate`: what a facilitator runs before sending a file.

The same reading, the same expectations and the same French report as the pipeline, with no
warehouse: exit code 0 when every file would be loaded, 1 otherwise. Small files are validated
together, a big one by batches, as the pipeline does.
"""

from __future__ import annotations

import secrets
import sys
from datetime import date
from pathlib import Path

from clauses.ingest import examine, examine_group, examine_stream, file_report, file_sha256
from clauses.landing import LandingEntry, name_problem
from clauses.reading import FileRefused, open_file
from clauses.reports import FileReport


def check_files(paths: list[Path], *, region: str | None = None) -> int:
    """Print a report per file; 0 when all would load, 1 otherwise."""
    key = secrets.token_bytes(32)  # ids are hashed only to be checked; nothing is kept
    region = region or "??"
    with_region = region != "??"
    today = date.today()
    reports: dict[int, FileReport] = {}
    small = []
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
        sha = file_sha256(path)
        try:
            opened = open_file(path)
            item = examine(entry, sha, opened)
            if not opened.whole:
                examine_stream(item, pseudonym_key=key, with_region=with_region)
                reports[index] = file_report(item)
            else:
                small.append((index, item))
        except FileRefused as refused:
            reports[index] = FileReport(
                region, today, path.name, sha, "refusé", refusal=refused.reason
            )
    examine_group([item for _, item in small], pseudonym_key=key, with_region=with_region)
    for index, item in small:
        reports[index] = file_report(item)
    for index in sorted(reports):
        sys.stdout.write(reports[index].to_text() + "\n")
    return 0 if all(r.outcome == "chargé" for r in reports.values()) else 1

"""Opening a landed file: `open_file` is the only reader of landed files, and it reads them in
batches of rows, never whole (a CSV by `csv_files`, a workbook by `workbooks`). It guarantees
that what it returns holds text only (typing is `clauses.check.normalize`'s job), that the
values of personal-data columns are never part of its result, and that a file it cannot read
safely is refused with a French reason a facilitator can act on. `read_file` gathers a whole
file, for tests and small tools."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from clauses.read.csv_files import open_csv
from clauses.read.tables import (
    ACCEPTED_SUFFIXES,
    EMPTY_TEXT,
    ROW_COLUMN,
    FileRefused,
    OpenedFile,
    ReadResult,
    SheetTable,
    TableReader,
    TextBatch,
    cleaned,
)
from clauses.read.workbooks import open_xlsx


def open_file(path: Path, *, max_ratio: float = 100, max_uncompressed: int = 1 << 30) -> OpenedFile:
    """Open a landed CSV or XLSX file: check it, recognise its kinds, plan its columns.

    Guarantees:
    - the result holds at least one table; batches hold text only;
    - personal-data columns are listed by header in ``personal_columns``, their values are in
      no batch and no returned object;
    - an XLSX is checked against ``max_ratio`` and ``max_uncompressed`` from its zip directory
      and by measuring its real decompressed size, before any part of it is parsed;
    - a CSV's encoding is decided on all its bytes (one encoding per file).

    Raises FileRefused (with a French reason) when the extension is not .csv/.xlsx, the bytes
    are not what the extension says, the file is empty, the workbook is a decompression bomb,
    or no kind is recognised. Reading batches may raise FileRefused too (a CSV whose quotes
    are broken further down, a workbook part calamine cannot parse).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        shown = path.suffix or "(aucune)"
        raise FileRefused(
            f"Extension « {shown} » non acceptée : seuls les fichiers .csv et .xlsx sont lus. "
            "Enregistrez le fichier au format CSV ou Excel (.xlsx) puis déposez-le à nouveau."
        )
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(
            "Le fichier est vide (0 octet) : déposez un fichier contenant des données."
        )
    if suffix == ".csv":
        return open_csv(path, size)
    return open_xlsx(path, size, max_ratio=max_ratio, max_uncompressed=max_uncompressed)


def read_file(path: Path, *, max_ratio: float = 100, max_uncompressed: int = 1 << 30) -> ReadResult:
    """Read a whole file into text tables (see `open_file`; for tests and small files)."""
    opened = open_file(path, max_ratio=max_ratio, max_uncompressed=max_uncompressed)
    tables = []
    for table in opened.tables:
        batches = list(table.batches())
        tables.append(
            SheetTable(
                kind=table.kind,
                sheet=table.sheet,
                frame=table_frame(table, batches),
                unknown_columns=table.unknown_columns,
                personal_columns=table.personal_columns,
                missing_columns=table.missing_columns,
            )
        )
    return ReadResult(tables, opened.ignored_sheets, opened.encoding, opened.separator)


def table_frame(table: TableReader, batches: Sequence[TextBatch]) -> pd.DataFrame:
    """The batches of one table as one frame of stripped text (see SheetTable.frame)."""
    rows = np.concatenate([b.rows for b in batches]) if batches else np.empty(0, np.int64)
    data: dict[str, Any] = {ROW_COLUMN: pd.Series(rows, dtype="int64")}
    for name in table.columns:
        parts = [b.columns.get(name, pa.nulls(len(b), pa.string())) for b in batches]
        values = pa.concat_arrays(parts) if parts else EMPTY_TEXT
        data[name] = pd.Series(cleaned(values), dtype=object)
    return pd.DataFrame(data)

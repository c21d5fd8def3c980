"""Writing a file's rows into its kind's staging table, with their lineage (file SHA-256,
sheet, row, load id); a value the warehouse refuses becomes a failed blocking check of the
file."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clauses.check.examine import ExaminedFile, ExaminedTable
from clauses.check.expectations import (
    CheckResult,
)
from clauses.check.normalize import NormalizedBatch
from clauses.contract.kinds import KINDS, Kind
from clauses.contract.vocabulary import Level
from clauses.warehouse.engine import insert_encoded

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


LINEAGE_COLUMNS = ("file_sha256", "sheet", "row_number", "load_id")


def insert_group(
    connection: Connection,
    kind: Kind,
    batch: NormalizedBatch,
    tables: list[tuple[ExaminedFile, ExaminedTable]],
) -> list[int]:
    """Insert the rows of ``tables`` (files of a group) from their kind's batch; returns the
    rows inserted per table."""
    keys = np.array([table.key for _, table in tables], dtype=np.int64)
    selected = np.flatnonzero(np.isin(batch.files, keys))  # in file order, as batched
    files = batch.files[selected]
    n_keys = int(batch.files.max()) + 1 if len(batch.files) else 0
    shas = np.empty(n_keys, dtype=object)
    sheets = np.empty(n_keys, dtype=object)
    loads = np.empty(n_keys, dtype=object)
    for item, table in tables:
        shas[table.key], sheets[table.key], loads[table.key] = (
            item.sha256,
            table.reader.sheet,
            item.load_id,
        )
    insert_rows(connection, kind, batch, selected, (shas, sheets, loads), files)
    counts = np.bincount(files, minlength=n_keys)
    return [int(counts[table.key]) for _, table in tables]


def insert_rows(
    connection: Connection,
    kind: Kind,
    batch: NormalizedBatch,
    selected: np.ndarray | None,
    lineage: tuple[np.ndarray, np.ndarray, np.ndarray],
    files: np.ndarray,
) -> int:
    """Insert rows of ``batch`` (all, or ``selected``) into the kind's staging table, with their
    lineage: ``lineage`` holds the SHA-256, sheet and load id per file key, ``files`` each
    inserted row's file key."""
    spec = KINDS[kind]
    names = [c.name for c in spec.columns]
    positions = np.arange(len(batch)) if selected is None else selected
    shas, sheets, loads = lineage
    return insert_encoded(
        connection,
        spec.table,
        [*LINEAGE_COLUMNS, *names],
        [shas, sheets, batch.rows[positions], loads]
        + [batch.columns[name].python_values() for name in names],
        [files, files, None, files] + [batch.columns[name].codes[positions] for name in names],
    )


# How PostgreSQL names the row and the value a COPY refused, in the error's context.
_COPY_CONTEXT = re.compile(r'COPY (\w+), line (\d+), column (\w+): "(.*)"', re.DOTALL)
WAREHOUSE_CHECK = "warehouse_accepts_values"


def warehouse_refusal(
    item: ExaminedFile, error: sa.exc.DBAPIError, batches: Mapping[Kind, NormalizedBatch]
) -> CheckResult:
    """A failed blocking check for a value of ``item`` that the warehouse refused (out of the
    range of its column...), which the expectations did not foresee: the file is quarantined
    with it, the row and value named when the warehouse's message names them. ``batches`` are
    those the failed insert wrote ``item``'s rows from."""
    kind = item.tables[0].reader.kind if item.tables else Kind.HEURES
    column, examples = "", []
    context = getattr(getattr(error.orig, "diag", None), "context", None) or ""
    found = _COPY_CONTEXT.search(context)
    spec = next((k for k in KINDS.values() if found and k.table == found.group(1)), None)
    if found and spec is not None:
        kind, name, value = spec.kind, found.group(3), found.group(4)
        column = next((c.header for c in spec.columns if c.name == name), name)
        batch = batches.get(kind)
        keys = [t.key for t in item.tables if t.reader.kind is kind]
        line: int | None = None
        if batch is not None:
            # The COPY wrote this file's rows of the kind in the order of the batch.
            mine = np.flatnonzero(np.isin(batch.files, keys)) if batch.has_files else None
            rows = batch.rows if mine is None else batch.rows[mine]
            n = int(found.group(2)) - 1
            line = int(rows[n]) if 0 <= n < len(rows) else None
        examples = [{"ligne": line, "colonne": column, "valeur": value}]
    return CheckResult(
        kind=kind,
        sheet=None,
        check=WAREHOUSE_CHECK,
        column=column,
        level=Level.BLOCKING,
        message="valeur que l'entrepôt de données ne peut pas enregistrer (hors des limites de "
        "sa colonne) : corrigez-la, ou signalez ce fichier à votre DREETS s'il vous semble juste",
        success=False,
        element_count=sum(t.rows for t in item.tables if t.reader.kind is kind),
        unexpected_count=1,
        examples=examples,
    )

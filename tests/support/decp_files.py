"""DECP snapshots written for tests (contract §8.1): rows given as dicts of §8.1's columns,
written as Parquet or CSV as the national consolidation publishes them."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from support.contract_files import make_siret

BUYERS = [make_siret(f"{21000000 + 7 * i:08d}", "0010") for i in range(20)]
COLUMNS = (
    "uid",
    "id",
    "acheteur_id",
    "acheteur_nom",
    "dateNotification",
    "montant",
    "considerationsSociales",
    "modification_id",
    "acheteur_region_code",
    "acheteur_departement_code",
    "lieuExecution_code",
    "lieuExecution_typeCode",
    "type",
    "titulaire_id",
)


def contract(uid: str, **values: Any) -> dict[str, Any]:
    """One initial row of a counted contract with a social consideration, of region 11."""
    row: dict[str, Any] = {
        "uid": uid,
        "id": f"2025-AO/{uid}",
        "acheteur_id": BUYERS[0],
        "acheteur_nom": "Ville de Test",
        "dateNotification": "2025-06-02",
        "montant": 100000.0,
        "considerationsSociales": "Clause sociale",
        "modification_id": 0,
        "acheteur_region_code": "11",
        "acheteur_departement_code": None,
        "lieuExecution_code": None,
        "lieuExecution_typeCode": None,
        "type": "Services",
        "titulaire_id": "12345678900011",
    }
    row.update(values)
    return row


def write_parquet(path: Path, rows: Sequence[dict[str, Any]], **types: pa.DataType) -> Path:
    """Rows as Parquet; ``types`` forces a column's type (`acheteur_id=pa.int64()`...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {}
    for name in COLUMNS:
        values = [row.get(name) for row in rows]
        if name in types:
            columns[name] = pa.array(
                [None if v is None else int(v) for v in values]
                if pa.types.is_integer(types[name])
                else values,
                types[name],
            )
        elif name == "montant":
            columns[name] = pa.array(values, pa.float64())
        elif name == "modification_id":
            columns[name] = pa.array(values, pa.int64())
        else:
            columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def write_csv_snapshot(
    path: Path,
    rows: Sequence[dict[str, Any]],
    *,
    delimiter: str = ";",
    bom: bool = False,
    headers: Sequence[str] = COLUMNS,
) -> Path:
    """Rows as CSV in UTF-8; ``headers`` may spell the columns otherwise (same order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if row.get(n) is None else row.get(n) for n in COLUMNS])
    return path

"""DECP snapshots (contract §8.1) as the national consolidation publishes them: one row per
contract, holder and modification, in Parquet or CSV, with the column spellings, types and
encodings the files of several years show.

`published_rows` expands a table of contracts (`clauses.sample.contracts`) into the rows of one
snapshot; `SnapshotWriter` writes them in batches (bounded memory) in one of the `STYLES`;
`write_changed_snapshot` writes a copy of a Parquet snapshot with a share of its contracts
changed, the next day's snapshot of a benchmark.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from clauses.contract import decp
from clauses.contract.kinds import NATURE
from clauses.sample.contracts import (
    CATEGORIES,
    DEFECTS,
    PLACE_MODES,
)

log = logging.getLogger(__name__)

# The published columns, in the consolidation's order; the pipeline reads only decp.COLUMNS.
PUBLISHED = (
    "uid",
    "id",
    "nature",
    "acheteur_id",
    "acheteur_nom",
    "acheteur_region_code",
    "acheteur_departement_code",
    "titulaire_id",
    "titulaire_typeIdentifiant",
    "titulaire_denominationSociale",
    "objet",
    "codeCPV",
    "procedure",
    "dureeMois",
    "dateNotification",
    "montant",
    "formePrix",
    "offresRecues",
    "lieuExecution_code",
    "lieuExecution_typeCode",
    "considerationsSociales",
    "considerationsEnvironnementales",
    "type",
    "modification_id",
    "donneesActuelles",
    "source",
)
assert set(decp.COLUMNS) <= set(PUBLISHED)

# Default figures of the rules file (§8.2, §8.3), for the generator's own counts only.
MIN_AMOUNT = 40_000
EU_WORKS = 5_404_000
EU_SUPPLIES_SERVICES = 216_000

_BAD_DATES = ("2024-02-30", "1899-12-31", "2202-01-15", "")
_BAD_DAYS = pa.array([None, "1899-12-31", "2202-01-15", None], pa.string())


@dataclass(frozen=True)
class Style:
    """How one snapshot is written."""

    fmt: str = "parquet"  # parquet | csv
    separator: str = ","
    bom: bool = False
    decimal_comma: bool = False
    dates: str = "text"  # text (AAAA-MM-JJ) | date (a date column) | datetime (a time part)
    siret_numbers: bool = False  # acheteur_id as an integer column: leading zeros lost
    code_numbers: bool = False  # region and department codes as integers (`1` for `01`)
    names: dict[str, str] = field(default_factory=dict)  # published name -> name written
    drop: tuple[str, ...] = ()  # published columns left out


STYLES = {
    "plain": Style(),
    "numbers": Style(siret_numbers=True, code_numbers=True),
    "dated": Style(dates="date"),
    "spelt": Style(
        names={
            "dateNotification": "date_notification",
            "acheteur_id": "Acheteur_Id",
            "considerationsSociales": "considerations_sociales",
            "modification_id": "Modification_ID",
            "lieuExecution_typeCode": "lieu_execution_type_code",
            "acheteur_region_code": "acheteurRegionCode",
        }
    ),
    "csv_semicolon": Style(fmt="csv", separator=";", bom=True, decimal_comma=True),
    "csv_comma": Style(fmt="csv", dates="datetime", names={"montant": "Montant"}),
    "csv_no_amount": Style(fmt="csv", drop=("montant",)),
}


# ---- rows ----------------------------------------------------------------------------------


def _np(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def expand(contracts: pa.Table, s: int, holders: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """The rows of snapshot `s` (published names, `_defect` kept) and, for each row, the index
    of its contract in `contracts`. Rows of a contract follow each other: its initial rows
    (modification_id 0, one per holder), then each modification's."""
    appear, gone = _np(contracts, "_appear"), _np(contracts, "_gone")
    idx = np.flatnonzero((appear <= s) & (gone > s))
    n_holders = _np(contracts, "_holders")[idx].astype(np.int64)
    versions = 1 + (_np(contracts, "_mod1")[idx] <= s) + (_np(contracts, "_mod2")[idx] <= s)
    per = n_holders * versions
    row_contract = np.repeat(idx, per)
    pos = np.arange(len(row_contract)) - np.repeat(np.cumsum(per) - per, per)
    h_per_row = np.repeat(n_holders, per)
    version, holder = pos // h_per_row, pos % h_per_row
    fixed = _np(contracts, "_fix") <= s  # the values of the contract once corrected
    base = np.where(fixed, _np(contracts, "montant"), _np(contracts, "_montant_before"))
    step = _np(contracts, "_mod_step")[row_contract]
    base = base[row_contract]
    montant = np.where(version == 0, base, (base * (1 + step * version)).round(2))
    social = contracts.column("_social_before")
    if fixed.any():
        social = pc.if_else(pa.array(fixed), contracts.column("considerationsSociales"), social)
    kept = [name for name in PUBLISHED if name in contracts.column_names] + ["_defect"]
    t = contracts.select(kept).set_column(
        kept.index("considerationsSociales"), "considerationsSociales", social
    )
    t = t.take(pa.array(row_contract))
    which = pa.array((_np(contracts, "_holder0")[row_contract] + holder) % max(1, len(holders)))
    n = len(row_contract)
    columns = {name: t.column(name) for name in t.column_names}
    columns.update(
        {
            "titulaire_id": holders.column("siret").take(which),
            "titulaire_typeIdentifiant": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array(["SIRET"])
            ),
            "titulaire_denominationSociale": holders.column("name").take(which),
            "montant": pa.array(montant, from_pandas=True),
            "modification_id": pa.array(version.astype(np.int64)),
            "donneesActuelles": pa.array(version == np.repeat(versions - 1, per)),
        }
    )
    rows = pa.table({name: columns[name] for name in (*PUBLISHED, "_defect")})
    return rows, row_contract


# ---- styles --------------------------------------------------------------------------------


def styled(rows: pa.Table, style: Style) -> pa.Table:
    """The rows as `style` writes them: types, spellings, names; `_defect` dropped."""
    defect = _np(rows, "_defect")
    bad_date = defect == DEFECTS.index("bad_date")
    n = len(rows)
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in PUBLISHED:
        if name in style.drop:
            continue
        value: pa.Array | pa.ChunkedArray = rows.column(name)
        if name == "dateNotification":
            text = pc.cast(value, pa.string())
            if style.dates == "date":
                bad = _BAD_DAYS.take(pa.array(np.arange(n) % len(_BAD_DAYS)))
                value = pc.if_else(pa.array(bad_date), pc.cast(bad, pa.date32()), value)
            else:
                if style.dates == "datetime":
                    text = pc.binary_join_element_wise(text, "T00:00:00", "")
                bad = pa.array(_BAD_DATES).take(pa.array(np.arange(n) % len(_BAD_DATES)))
                value = pc.if_else(pa.array(bad_date), bad, text)
        elif name == "acheteur_id" and style.siret_numbers:
            value = pc.cast(value, pa.int64())
        elif name in ("acheteur_region_code", "acheteur_departement_code") and style.code_numbers:
            value = pc.cast(value, pa.string())
            digits = pc.fill_null(pc.utf8_is_digit(value), False)
            value = pc.cast(pc.if_else(digits, value, pa.nulls(n, pa.string())), pa.int16())
        elif name == "montant" and style.fmt == "csv":
            number = pc.cast(value, pa.string())
            if style.decimal_comma:
                number = pc.replace_substring(number, ".", ",")
            value = pc.fill_null(number, "NC")
        if style.fmt == "csv" and pa.types.is_dictionary(value.type):
            value = pc.cast(value, pa.string())
        out[style.names.get(name, name)] = value
    return pa.table(out)


class SnapshotWriter:
    """One snapshot file, written batch by batch (`write`), in a `Style`."""

    def __init__(self, path: Path, style: Style) -> None:
        self.path, self.style = path, style
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None
        self._handle: IO[bytes] | None = None

    def write(self, rows: pa.Table) -> None:
        table = styled(rows, self.style)
        if self.style.fmt == "parquet":
            if self._parquet is None:
                dictionaries = [  # only where values repeat: trying the others costs time
                    f.name for f in table.schema if pa.types.is_dictionary(f.type)
                ]
                self._parquet = pq.ParquetWriter(
                    self.path, table.schema, compression="zstd", use_dictionary=dictionaries
                )
            self._parquet.write_table(table, row_group_size=256 * 1024)
        else:
            if self._csv is None:
                self._handle = open(self.path, "wb")  # noqa: SIM115 - closed by close()
                if self.style.bom:
                    self._handle.write(b"\xef\xbb\xbf")
                options = pacsv.WriteOptions(delimiter=self.style.separator)
                self._csv = pacsv.CSVWriter(self._handle, table.schema, write_options=options)
            self._csv.write_table(table)
        self.rows += len(table)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


# ---- counts --------------------------------------------------------------------------------


def social_of(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Whether each `considerationsSociales` value names a social consideration (§8.1), by the
    contract's own vocabulary (an unknown item counts as none here)."""
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    flags = np.array(
        [bool(decp.social_consideration(v)) for v in encoded.dictionary.to_pylist()], bool
    )
    return flags[encoded.indices.to_numpy()] if len(flags) else np.zeros(len(values), bool)


def tally(contracts: pa.Table, s: int, rows: pa.Table, row_contract: np.ndarray) -> dict[str, int]:
    """What snapshot `s` holds, per category of the sample (the generator's summary)."""
    counts: dict[str, int] = {"rows": len(rows)}
    defect = _np(rows, "_defect")
    for code, reason in enumerate(DEFECTS[1:], start=1):
        counts[f"excluded_rows_{reason}"] = int((defect == code).sum())
    starts = np.r_[True, np.diff(row_contract) != 0] if len(row_contract) else np.zeros(0, bool)
    first = row_contract[starts]
    c = contracts.take(pa.array(first, pa.int64()))
    category = _np(c, "_category")
    valid = category != CATEGORIES.index("excluded")
    fixed = pa.array(_np(c, "_fix") <= s)
    social = social_of(pc.if_else(fixed, c["considerationsSociales"], c["_social_before"]))
    montant = pc.if_else(fixed, c.column("montant"), c.column("_montant_before")).to_numpy()
    counted = valid & (montant >= MIN_AMOUNT)
    works = _np(c, "_type") == NATURE.index(decp.WORKS)
    after_law = c.column("dateNotification").to_numpy() >= np.datetime64(decp.CLIMATE_LAW_DATE)
    threshold = np.where(works, EU_WORKS, EU_SUPPLIES_SERVICES)
    place = _np(c, "_place")

    def of(category_name: str) -> np.ndarray:
        return category == CATEGORIES.index(category_name)

    counts.update(
        contracts=int(valid.sum()),
        accompanied=int(of("accompanied").sum()),
        accompanied_respelled=int(_np(c, "_respelled").sum()),
        known_buyer_social=int((social & of("known_buyer")).sum()),
        unknown_buyer_social=int((social & of("unknown_buyer")).sum()),
        without_social=int((valid & ~social).sum()),
        below_min_amount=int((valid & (montant < MIN_AMOUNT)).sum()),
        above_eu_thresholds_without_social=int(
            (counted & after_law & ~social & (montant >= threshold)).sum()
        ),
        modification_rows=int((_np(rows, "modification_id") > 0).sum()),
        modified_contracts=int((valid & (_np(c, "_mod1") <= s)).sum()),
        several_holders=int((valid & (_np(c, "_holders") > 1)).sum()),
        corrected_since_earlier=int((valid & (_np(c, "_fix") <= s)).sum()),
    )
    for code, mode in enumerate(PLACE_MODES):
        counts[f"region_from_{mode}"] = int((valid & (place == code)).sum())
    return counts


def add_counts(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {k: total.get(k, 0) + more.get(k, 0) for k in {**total, **more}}


# ---- the next day's snapshot of a benchmark ------------------------------------------------


def write_changed_snapshot(
    source: Path, target: Path, *, share: float = 0.01, seed: int = 0, batch_rows: int = 250_000
) -> int:
    """Write at `target` the Parquet snapshot `source` with about `share` of its contracts
    changed (every row of a chosen `uid`: its amount up by 7%, and, one in three, a social
    consideration added), in batches; the rest is the same rows in the same order. Returns
    the rows written. The choice of contracts depends only on their uid and `seed`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source_file = pq.ParquetFile(source)
    names = {decp.column_key(n): n for n in source_file.schema_arrow.names}
    uid, montant = names[decp.column_key("uid")], names[decp.column_key("montant")]
    social = names[decp.column_key("considerationsSociales")]
    written = 0
    salt = np.uint64((seed * 0x9E3779B97F4A7C15 + 1) % 2**64)
    with pq.ParquetWriter(target, source_file.schema_arrow, compression="zstd") as writer:
        for batch in source_file.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            uids = table.column(uid).to_numpy(zero_copy_only=False).astype(object)
            hashed = pd.util.hash_array(uids) ^ salt
            chosen = (hashed % np.uint64(1_000_000)) < np.uint64(round(share * 1_000_000))
            added = chosen & (hashed % np.uint64(3) == 0)
            amounts = table.column(montant)
            raised = pc.round(pc.multiply(amounts, 1.07), 2)
            table = table.set_column(
                table.column_names.index(montant),
                montant,
                pc.if_else(pa.array(chosen), pc.cast(raised, amounts.type), amounts),
            )
            values = table.column(social)
            table = table.set_column(
                table.column_names.index(social),
                social,
                pc.if_else(pa.array(added), pa.scalar(decp.SOCIAL_ITEMS[0]), values),
            )
            writer.write_table(table, row_group_size=256 * 1024)
            written += len(table)
    return written

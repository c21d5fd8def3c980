"""Reading a DECP snapshot (contract §8.1): Parquet or CSV, only the columns §8 needs, in
batches of bounded size, every value as text (or null) for the checks to type.

The national table is about 1.8 million rows: it is never held whole as read. A Parquet file is
read one record batch at a time (`ParquetFile.iter_batches`), a CSV with pyarrow's streaming
reader; in both, only the columns of `contract.decp.COLUMNS` are decoded, so a holder's name or
any other column of the published schema is never even read.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from clauses.contract import decp

BATCH_ROWS = 524_288
CSV_BLOCK_BYTES = 16 << 20
HEADER_BYTES = 1 << 20  # the header line of a CSV must end within this


class SnapshotUnreadable(Exception):
    """The snapshot cannot be read as a table, or lacks a required column: quarantined whole.
    The message is French, for the report."""


@dataclass
class SnapshotColumns:
    """How a snapshot's columns match those of §8.1: contract name -> the file's header."""

    matched: dict[str, str]
    unknown: list[str] = field(default_factory=list)  # ignored
    repeated: list[str] = field(default_factory=list)  # a second header of a matched column

    @property
    def missing(self) -> list[str]:
        return [name for name in decp.REQUIRED if name not in self.matched]


def match_columns(headers: list[str]) -> SnapshotColumns:
    """Match headers to §8.1's columns by `contract.decp.column_key`; the first of two headers
    with the same key is read, the other reported."""
    wanted = {decp.column_key(name): name for name in decp.COLUMNS}
    columns = SnapshotColumns({})
    for header in headers:
        name = wanted.get(decp.column_key(header))
        if name is None:
            columns.unknown.append(header)
        elif name in columns.matched:
            columns.repeated.append(header)
        else:
            columns.matched[name] = header
    return columns


def snapshot_batches(path: Path) -> tuple[SnapshotColumns, Iterator[pa.Table]]:
    """The snapshot's column matching, and its rows as tables of at most BATCH_ROWS rows whose
    columns are named as in §8.1 (only those present) and hold text or null (a numeric
    `montant`: float64), in file order.
    Raises SnapshotUnreadable before any batch when the file is not a table or a required
    column is missing; an error met later (a corrupt page) raises it from the iterator."""
    if path.name.lower().endswith(".parquet"):
        return _parquet(path)
    return _csv(path)


def _checked(columns: SnapshotColumns) -> SnapshotColumns:
    if columns.missing:
        raise SnapshotUnreadable(
            "colonne(s) obligatoire(s) absente(s) : "
            + ", ".join(columns.missing)
            + " (colonnes attendues du schéma national des DECP, contrat §8.1)"
        )
    return columns


def _parquet(path: Path) -> tuple[SnapshotColumns, Iterator[pa.Table]]:
    try:
        source = pq.ParquetFile(path)
        headers = list(source.schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise SnapshotUnreadable(f"fichier Parquet illisible ({_short(error)})") from error
    columns = _checked(match_columns(headers))

    def batches() -> Iterator[pa.Table]:
        wanted = list(columns.matched.values())
        try:
            for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                yield _as_text(pa.Table.from_batches([batch]), columns)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise SnapshotUnreadable(f"fichier Parquet illisible ({_short(error)})") from error

    return columns, batches()


def _csv(path: Path) -> tuple[SnapshotColumns, Iterator[pa.Table]]:
    with open(path, "rb") as handle:
        head = handle.read(HEADER_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    end = head.find(b"\n")
    line = head if end < 0 else head[:end]
    try:
        header = line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as error:
        raise SnapshotUnreadable("fichier CSV qui n'est pas en UTF-8 (contrat §8.1)") from error
    if not header.strip():
        raise SnapshotUnreadable("fichier CSV vide ou sans ligne d'en-tête")
    delimiter = ";" if header.count(";") > header.count(",") else ","
    names = next(csv.reader([header], delimiter=delimiter), [])
    columns = _checked(match_columns(names))
    # Unique names for pyarrow (a header may repeat); only the matched ones are decoded.
    positional = [f"c{i}" for i in range(len(names))]
    by_header = {header: f"c{names.index(header)}" for header in columns.matched.values()}

    def batches() -> Iterator[pa.Table]:
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(
                    column_names=positional, skip_rows=1, block_size=CSV_BLOCK_BYTES
                ),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    include_columns=list(by_header.values()),
                    column_types={name: pa.large_string() for name in by_header.values()},
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            pending: list[pa.RecordBatch] = []
            rows = 0
            for batch in reader:
                pending.append(batch)
                rows += batch.num_rows
                if rows >= BATCH_ROWS:
                    yield _renamed(pa.Table.from_batches(pending), by_header, columns)
                    pending, rows = [], 0
            if pending:
                yield _renamed(pa.Table.from_batches(pending), by_header, columns)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise SnapshotUnreadable(f"fichier CSV illisible ({_short(error)})") from error

    return columns, batches()


def _renamed(table: pa.Table, by_header: dict[str, str], columns: SnapshotColumns) -> pa.Table:
    arrays = {name: table.column(by_header[header]) for name, header in columns.matched.items()}
    return _as_text(pa.table(arrays), None)


def _as_text(table: pa.Table, columns: SnapshotColumns | None) -> pa.Table:
    """Columns renamed as §8.1 names them (when ``columns`` maps them) and cast to text;
    an integer or float column (a Parquet `acheteur_id` that lost its zeros, a region code
    stored as a number) is written without a decimal part when it has none."""
    arrays = {}
    for name in decp.COLUMNS:
        if columns is not None:
            header = columns.matched.get(name)
            if header is None:
                continue
            values = table.column(header)
        elif name in table.column_names:
            values = table.column(name)
        else:
            continue
        numeric = pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
        # A numeric amount stays a number (float64): no text made to be parsed back.
        arrays[name] = values.cast(pa.float64()) if name == "montant" and numeric else _text(values)
    return pa.table(arrays)


def _text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return values.cast(pa.large_string())
    if pa.types.is_dictionary(kind):
        return _text(values.cast(kind.value_type))
    if pa.types.is_floating(kind):
        values = pc.if_else(pc.is_nan(values), None, values)
        whole = pc.equal(pc.floor(values), values)
        as_int = pc.cast(pc.if_else(whole, values, None), pa.int64(), safe=False)
        return pc.if_else(whole, as_int.cast(pa.large_string()), values.cast(pa.large_string()))
    if pa.types.is_date(kind):
        return _text(values.cast(pa.timestamp("s")))
    if pa.types.is_timestamp(kind):
        return pc.strftime(values, format="%Y-%m-%d").cast(pa.large_string())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        joined = pc.binary_join(values.cast(pa.list_(pa.large_string())), ",")
        return joined.cast(pa.large_string())
    try:
        return values.cast(pa.large_string())
    except pa.ArrowException:
        return pa.chunked_array([pa.array([None] * len(values), pa.large_string())])


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]

"""The floor of a full load: the same files read with pyarrow (CSV) or calamine (XLSX) alone, all
cells as text, and the same rows written with a bare COPY (PostgreSQL) or executemany (SQLite)
into one text table; no kind recognition, no validation, no typing, no computation.

The rows are written twice: into a table indexed like the staging tables (each row labelled
with its file; an index on the file, one on the first two columns, as the staging tables'
on `file_sha256` and on (SIRET porteur, Mois)), the floor of the pipeline's load, which must
keep those indexes; and into the same table without indexes, the bare write.

The floor of a DECP snapshot's night (contract §8.1), `decp_floor_seconds`: the snapshot read
with pyarrow alone (only the columns §8 needs), and its counted contracts, as the run stored
them, written with a bare COPY (executemany) into a table with no index."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from python_calamine import CalamineWorkbook
from sqlalchemy.engine.interfaces import ReflectedColumn

from clauses.contract import decp
from clauses.warehouse.engine import make_engine

WIDTH = 32  # wide enough for every contract kind


def _csv_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    first = text.split("\n", 1)[0]
    separator = max((";", ",", "\t"), key=first.count)
    table = pacsv.read_csv(
        io.BytesIO(text.encode()),
        parse_options=pacsv.ParseOptions(delimiter=separator),
        convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=False),
        read_options=pacsv.ReadOptions(autogenerate_column_names=False),
    )
    table = table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))
    return [list(row.values()) for row in table.to_pylist()]


def _xlsx_rows(path: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    workbook = CalamineWorkbook.from_path(str(path))
    for name in workbook.sheet_names:
        for row in workbook.get_sheet_by_name(name).to_python(skip_empty_area=True):
            rows.append(["" if v is None else str(v) for v in row])
    return rows


def read_all(landing: Path) -> list[list[str]]:
    """Every row of every file, labelled with the file's path and padded to WIDTH cells."""
    rows: list[list[str]] = []
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                found = _csv_rows(path)
            elif suffix == ".xlsx":
                found = _xlsx_rows(path)
            else:
                continue
        except Exception:  # noqa: BLE001 - the defect files of the sample: the floor skips them
            continue
        label = str(path.relative_to(landing))
        rows.extend([label, *(row + [""] * WIDTH)[:WIDTH]] for row in found)
    return rows


def floor_seconds(landing: Path, url: str) -> tuple[float, float, float, int]:
    """Seconds to read every file, seconds to write its rows into the indexed table, then into
    the unindexed one, and the number of rows."""
    engine = make_engine(url)
    started = time.perf_counter()
    rows = read_all(landing)
    read_s = time.perf_counter() - started
    indexed_s = _write_seconds(engine, rows, indexed=True)
    bare_s = _write_seconds(engine, rows, indexed=False)
    return read_s, indexed_s, bare_s, len(rows)


def _write_seconds(engine: sa.Engine, rows: list[list[str]], *, indexed: bool) -> float:
    columns = ["file", *(f"c{i}" for i in range(WIDTH))]
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_floor"))
        connection.execute(
            sa.text(f"CREATE TABLE bench_floor ({', '.join(c + ' TEXT' for c in columns)})")
        )
        if indexed:
            connection.execute(sa.text("CREATE INDEX ix_bench_floor_file ON bench_floor (file)"))
            connection.execute(sa.text("CREATE INDEX ix_bench_floor_key ON bench_floor (c0, c1)"))
    return _bare_write_seconds(engine, "bench_floor", columns, rows)


def heures_copy_seconds(url: str) -> tuple[float, int]:
    """Seconds of a bare COPY (PostgreSQL) or executemany (SQLite) of the Heures rows a run
    loaded, read back from its warehouse, into a copy of `stg_heures` with the same columns
    and indexes; and the number of rows. The floor of the pipeline's Heures writes."""
    engine = make_engine(url)
    with engine.begin() as connection:
        columns, rows = _stored_rows(connection, "stg_heures")
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_heures"))
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("CREATE TABLE bench_heures (LIKE stg_heures INCLUDING INDEXES)")
            )
        else:
            definitions = (
                connection.execute(
                    sa.text(
                        "SELECT sql FROM sqlite_master WHERE tbl_name = 'stg_heures' AND sql != ''"
                    )
                )
                .scalars()
                .all()
            )
            for sql in definitions:
                connection.execute(sa.text(sql.replace("stg_heures", "bench_heures")))
    seconds = _bare_write_seconds(engine, "bench_heures", [c["name"] for c in columns], rows)
    engine.dispose()
    return seconds, len(rows)


def decp_floor_seconds(snapshot: Path, url: str) -> tuple[float, float, float, int]:
    """The floor of loading the Parquet DECP snapshot at ``snapshot``, whose night ran on the
    warehouse at ``url``: seconds to read it with pyarrow alone, only the columns of §8.1
    (`contract.decp.COLUMNS`, matched by name as the pipeline matches them; no typing, no check),
    seconds of a bare COPY (PostgreSQL) or executemany (SQLite) of its counted contracts into a
    table with `decp_contracts`' columns and no index, the CPU seconds of this process for both
    (pyarrow's threads included; not the PostgreSQL server's), and the number of contracts.

    The contracts written are the run's own, read back (untimed) from its warehouse: the open
    versions of `decp_contracts` (one per counted contract of the snapshot loaded last), all
    their columns but the surrogate key and the open interval's end."""
    started, cpu = time.perf_counter(), time.process_time()
    source = pq.ParquetFile(snapshot)
    wanted = {decp.column_key(name) for name in decp.COLUMNS}
    names = [name for name in source.schema_arrow.names if decp.column_key(name) in wanted]
    table = source.read(columns=names)
    read_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    del table
    engine = make_engine(url)
    with engine.begin() as connection:
        columns, rows = _stored_rows(
            connection,
            "decp_contracts",
            leave_out=("version_id", "last_snapshot"),
            where="last_snapshot IS NULL",
        )
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_decp_contracts"))
        bare = sa.Table(
            "bench_decp_contracts",
            sa.MetaData(),
            *(sa.Column(c["name"], c["type"]) for c in columns),
        )
        bare.create(connection)  # no key, no constraint, no index
    cpu = time.process_time()
    write_s = _bare_write_seconds(
        engine, "bench_decp_contracts", [c["name"] for c in columns], rows
    )
    cpu_s += time.process_time() - cpu
    engine.dispose()
    return read_s, write_s, cpu_s, len(rows)


def _stored_rows(
    connection: sa.Connection, table: str, *, leave_out: Sequence[str] = (), where: str = ""
) -> tuple[list[ReflectedColumn], list[tuple[Any, ...]]]:
    """The columns of ``table`` (as reflected, but those of ``leave_out``) and its rows (those
    matching ``where``) as tuples of the driver's values, read back from the warehouse."""
    reflected = sa.inspect(connection).get_columns(table)
    columns = [column for column in reflected if column["name"] not in leave_out]
    query = f"SELECT {', '.join(c['name'] for c in columns)} FROM {table}"
    if where:
        query += f" WHERE {where}"
    return columns, [tuple(row) for row in connection.execute(sa.text(query))]


def _bare_write_seconds(
    engine: sa.Engine, table: str, columns: list[str], rows: Sequence[Sequence[Any]]
) -> float:
    """Seconds of a bare COPY (PostgreSQL) or executemany (SQLite) of ``rows`` into ``table``,
    in one transaction; the table is dropped afterwards."""
    started = time.perf_counter()
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            raw.executemany(  # type: ignore[union-attr]
                f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", rows
            )
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {table}"))
    return seconds

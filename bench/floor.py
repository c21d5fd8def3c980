"""The floor of a full load: the same files read with pyarrow (CSV) or calamine (XLSX) alone, all
cells as text, and the same rows written with a bare COPY (PostgreSQL) or executemany (SQLite)
into one text table; no kind recognition, no validation, no typing, no computation."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from python_calamine import CalamineWorkbook

from clauses.warehouse import make_engine

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
    rows: list[list[str]] = []
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                rows.extend(_csv_rows(path))
            elif suffix == ".xlsx":
                rows.extend(_xlsx_rows(path))
        except Exception:  # noqa: BLE001 - the defect files of the sample: the floor skips them
            continue
    return [(row + [""] * WIDTH)[:WIDTH] for row in rows]


def floor_seconds(landing: Path, url: str) -> tuple[float, float, int]:
    """Seconds to read every file, seconds to write its rows once, and the number of rows."""
    engine = make_engine(url)
    columns = [f"c{i}" for i in range(WIDTH)]
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_floor"))
        connection.execute(
            sa.text(f"CREATE TABLE bench_floor ({', '.join(c + ' TEXT' for c in columns)})")
        )
    started = time.perf_counter()
    rows = read_all(landing)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(  # type: ignore[union-attr]
                    f"COPY bench_floor ({', '.join(columns)}) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            raw = connection.connection.driver_connection
            raw.executemany(  # type: ignore[union-attr]
                f"INSERT INTO bench_floor VALUES ({', '.join('?' * WIDTH)})", rows
            )
    write_s = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE bench_floor"))
    return read_s, write_s, len(rows)

"""The one way to open, migrate and write the warehouse (SQLite embedded, PostgreSQL in prod)."""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from clauses.config import SQL_DIR

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL advisory lock keys (transaction-scoped), one per shared critical section.
MIGRATE_LOCK = 7_140_001
COMPUTE_LOCK = 7_140_002
INGEST_LOCK = 7_140_003


def as_date(value: object) -> date:
    """A date column's value as a date: SQLite returns dates as text (`AAAA-MM-JJ`, or with
    a time), PostgreSQL as dates."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class WarehouseUnavailable(RuntimeError):
    """The warehouse could not be reached, or dropped the connection, during a run."""


@contextlib.contextmanager
def unavailable_as_error(engine: Engine) -> Iterator[None]:
    """Turn a lost or refused warehouse connection into one clear error (the driver's own
    message says neither which database nor what state it is left in)."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        where = engine.url.render_as_string(hide_password=True)
        raise WarehouseUnavailable(
            f"the warehouse {where} failed during the run ({error.orig}); every file load and "
            "every date's figures are written whole or not at all, so nothing is half-written: "
            "run again once the warehouse answers"
        ) from error


@contextlib.contextmanager
def exclusive(engine: Engine, key: int) -> Iterator[None]:
    """Hold the warehouse-wide lock `key` for the block, across transactions: a PostgreSQL
    advisory lock on a connection of its own (every machine of a deployment sees it), or, for
    a SQLite warehouse (one machine), an flock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            # Inline: PostgreSQL-only locking, no query of the warehouse's tables (sql/ holds
            # the statements that run the same on both dialects).
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield
            finally:
                # A lost connection has lost its session locks with it: then there is nothing
                # to release, and the block's own error is the one to report.
                with contextlib.suppress(sa.exc.DBAPIError):
                    # Inline: PostgreSQL-only, the counterpart of the lock above.
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock-{key}", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_for_transaction(connection: Connection, key: int) -> None:
    """On PostgreSQL, hold the warehouse-wide lock `key` until the caller's transaction ends
    (an advisory lock); nothing elsewhere."""
    if connection.dialect.name == "postgresql":
        # Inline: PostgreSQL-only locking, no query of the warehouse's tables.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def make_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB of page cache (2 MiB by default): a night's inserts keep the pages of
            # the tables' indexes in memory instead of reading them back from the file.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.close()
            # PostgreSQL's "C" collation orders by code point; give SQLite the same name, so
            # that the tie-break on file names (contract §4) is one SQL text for both.
            dbapi_connection.create_collation("C", _codepoint_order)

        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return sa.create_engine(url, pool_pre_ping=True)


def _codepoint_order(left: str, right: str) -> int:
    return (left > right) - (left < right)


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per plugin at INFO
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        # Runs starting together on a new PostgreSQL warehouse: one migrates, the others wait
        # for its commit and then find the schema up to date (PostgreSQL's DDL is transactional).
        lock_for_transaction(connection, MIGRATE_LOCK)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def analyze(connection: Connection, tables: Sequence[str]) -> None:
    """Fresh planner statistics on PostgreSQL: right after a bulk load or a work-table fill,
    stale ones make it choose nested loops (a national year's compute went from seconds to
    minutes without this). SQLite's planner needs none here."""
    if connection.dialect.name == "postgresql":
        # Inline: PostgreSQL-only maintenance of tables named by the caller (identifiers).
        connection.execute(sa.text(f"ANALYZE {', '.join(tables)}"))


# Tables `analyze_apart` analyses at a time, each in a connection (a server process) of its own.
ANALYZE_AT_ONCE = 3
# ANALYZE samples 300 rows per unit of statistics target, then sorts each column's sample.
# PostgreSQL's default target, 100, took 0.42 s for a national year's Heures (241,100 rows,
# 30,000 sampled) and 0.22 s for its Marchés; 30 took 0.11 and 0.07 s. The year's computation
# ran in the same time on statistics of target 10 as of 100 (measured on such a warehouse).
STAGING_STATISTICS_TARGET = 30


def analyze_apart(engine: Engine, tables: Sequence[str]) -> None:
    """`analyze` of committed tables, `ANALYZE_AT_ONCE` at a time, each in a connection of its
    own: each table's sample is read and summarised by a server process of its own (a national
    year's staging tables took about a second one after the other), with a sample of
    `STAGING_STATISTICS_TARGET`. Nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return

    def one(table: str) -> None:
        with engine.begin() as connection:
            # Inline: PostgreSQL-only setting, for this transaction alone (see the constant).
            connection.execute(
                sa.text(f"SET LOCAL default_statistics_target = {STAGING_STATISTICS_TARGET}")
            )
            analyze(connection, (table,))

    with ThreadPoolExecutor(ANALYZE_AT_ONCE, thread_name_prefix="analyze") as pool:
        for done in [pool.submit(one, table) for table in tables]:
            done.result()


def sql_query(name: str) -> sa.TextClause:
    """The one statement of `sql/<name>.sql`. A list of values (`IN :names`) is bound by the
    caller: ``sql_query(name).bindparams(sa.bindparam("names", expanding=True))``."""
    [statement] = sql_statements(name)
    return statement


def sql_statements(name: str) -> list[sa.TextClause]:
    """The statements of `sql/<name>.sql`, split on lines ending with ';'.

    Whole-line comments are dropped first: a `:name` inside a comment would otherwise be taken
    for a bind parameter.
    """
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    statements.append("\n".join(current))
    return [sa.text(s) for s in statements if s.strip()]


@contextlib.contextmanager
def driver_errors_wrapped(connection: Connection, statement: str) -> Iterator[None]:
    """Raise the driver's own errors (COPY and executemany go to the driver's cursor, below
    SQLAlchemy) as SQLAlchemy's, as every other statement does: a lost connection is then an
    OperationalError, a value the column refuses a DataError."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        raise sa.exc.DBAPIError.instance(statement, None, error, dbapi.Error) from error


def bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert rows inside the caller's transaction: COPY on PostgreSQL, executemany on SQLite."""
    if connection.dialect.name == "postgresql":
        return _copy_rows(connection, table, columns, rows)
    return _executemany(connection, table, columns, rows)


def _executemany(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """The rows as tuples to the driver's executemany (through SQLAlchemy, each row would be a
    dict whose parameters are compiled one by one: five times slower)."""
    marker = "?" if connection.dialect.name == "sqlite" else "%s"  # sqlite3's, psycopg's
    # Inline: the table and its columns are the caller's (identifiers cannot be bound); the
    # names come from the contract, not from input.
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with contextlib.closing(cursor), driver_errors_wrapped(connection, statement):
        cursor.executemany(statement, rows)
        return max(cursor.rowcount, 0)


def _copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    raw = connection.connection.driver_connection
    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with driver_errors_wrapped(connection, statement), raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


# Rows of an encoded insert converted at once (into Python tuples, or one CSV payload).
ENCODED_ROWS = 50_000


def insert_encoded(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    lookups: Sequence[np.ndarray],
    codes: Sequence[np.ndarray | None],
) -> int:
    """Insert rows given column by column, dictionary-encoded, inside the caller's transaction:
    row i of column j is ``lookups[j][codes[j][i]]``, a plain Python value or None for NULL
    (code -1 takes the last entry), or ``lookups[j][i]`` when ``codes[j]`` is None.

    PostgreSQL: each slice of rows becomes one CSV payload written by pyarrow (its typed
    columns are taken from the distinct values, so no Python object is made per cell) and sent
    by COPY. SQLite: executemany of tuples on the driver's cursor."""
    n_rows = len(codes[0]) if codes[0] is not None else len(lookups[0])
    if connection.dialect.name == "postgresql":
        typed = [pa.array(lookup) for lookup in lookups]
        raw = connection.connection.driver_connection
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        with (
            driver_errors_wrapped(connection, statement),
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(statement) as copy,
        ):
            for start in range(0, n_rows, ENCODED_ROWS):
                part = slice(start, start + ENCODED_ROWS)
                arrays = [
                    values.slice(start, ENCODED_ROWS)
                    if code is None
                    else values.take(np.where(code[part] < 0, len(values) - 1, code[part]))
                    for values, code in zip(typed, codes, strict=True)
                ]
                payload = io.BytesIO()
                pacsv.write_csv(
                    pa.Table.from_arrays(arrays, names=list(columns)),
                    payload,
                    pacsv.WriteOptions(include_header=False),
                )
                copy.write(payload.getbuffer())
        return n_rows
    for start in range(0, n_rows, ENCODED_ROWS):
        part = slice(start, start + ENCODED_ROWS)
        values = [
            (lookup[part] if code is None else lookup[code[part]]).tolist()
            for lookup, code in zip(lookups, codes, strict=True)
        ]
        _executemany(connection, table, columns, zip(*values, strict=True))
    return n_rows


def insert_mappings(connection: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert dict rows (registry entries, results), each with the keys of the first, by the
    driver's executemany: through SQLAlchemy, each row's parameters were compiled one by one
    (0.3 s of a national night's 7,000 registry rows, on PostgreSQL). Not by COPY, which
    PostgreSQL refuses on the tables under row-level security (raw_files, run_summaries)."""
    if not rows:
        return
    columns = list(rows[0])
    _executemany(connection, table, columns, [[row[c] for c in columns] for row in rows])

"""Public procurement figures as of a date (contract §8.3): what the SQL of `sql/` cannot do.

Portable SQL cannot reduce a contract number to its letters and digits (§8.3: `2024-AO/12 b`
is `2024AO12B`; SQLite has no regular expressions, and neither dialect's lower/upper agree on
accented letters): the N° marché of the current Marchés rows are keyed here, with the one
function of the contract's vocabulary (clauses.contract.decp.contract_keys), into
`work_contract_keys`, which the SQL joins to the contracts' stored keys.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
from sqlalchemy.engine import Connection

from clauses.contract.decp import CLIMATE_LAW_DATE, contract_keys
from clauses.warehouse.engine import sql_query

CLIMATE_LAW = date.fromisoformat(CLIMATE_LAW_DATE)
KEY_BATCH = 10_000  # keys inserted per statement


def procurement_params(as_of: date) -> dict[str, date]:
    """The bind parameters of the procurement SQL of a date (the day after it bounds the ranges
    of notification dates: insert_mart_procurement.sql)."""
    return {"as_of": as_of, "day_after": as_of + timedelta(days=1), "climate_law_date": CLIMATE_LAW}


def fill_contract_keys(connection: Connection, as_of: date) -> int:
    """Key every N° marché of the Marchés rows current as of `as_of` (work_partitions must be
    filled) into work_contract_keys; a number with no letter or digit gets no key (it matches
    nothing). Returns the count of keys written."""
    numbers = (
        connection.execute(sql_query("select_current_contract_numbers"), {"as_of": as_of})
        .scalars()
        .all()
    )
    keys = contract_keys(pa.array(numbers, pa.large_string())).to_pylist()
    rows = [
        {"as_of": as_of, "num_marche": number, "contract_key": key}
        for number, key in zip(numbers, keys, strict=True)
        if key is not None
    ]
    statement = sql_query("insert_work_contract_keys")
    for start in range(0, len(rows), KEY_BATCH):
        connection.execute(statement, rows[start : start + KEY_BATCH])
    return len(rows)


__all__ = ["CLIMATE_LAW", "fill_contract_keys", "procurement_params"]

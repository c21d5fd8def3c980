"""The order of receipt, computed once per date: `work_contents` holds every content received
on or before the date (not only the loaded ones) with its first receipt's registry entry
(`file_id`) and status, and `receipt_rank`, its rank in the contract's order of receipt
(receipt date, then file name in code-point order, then region, then SHA-256; contract §4).

The tie-break used to be spelt in five files of sql/; insert_work_contents.sql now computes
it, the others order by `receipt_rank` (which content supersedes which) or compare an entry
with its content's first receipt (which entry is a `doublon`).

Work tables hold rows only inside the transaction of a computation: the table is empty here,
so the new columns can be NOT NULL. SQLite adds a NOT NULL column only by copying the table;
PostgreSQL alters it in place, which keeps its grants and row-level security (0003).

Revision ID: 0005
Revises: 0004
"""

from typing import Literal

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

COLUMNS = ("file_id", "status", "receipt_rank")


def _recreate() -> Literal["always", "never"]:
    return "always" if op.get_bind().dialect.name == "sqlite" else "never"


def upgrade() -> None:
    with op.batch_alter_table("work_contents", recreate=_recreate()) as table:
        table.add_column(sa.Column("file_id", sa.Integer(), nullable=False))
        table.add_column(sa.Column("status", sa.String(16), nullable=False))
        table.add_column(sa.Column("receipt_rank", sa.Integer(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("work_contents", recreate=_recreate()) as table:
        for column in COLUMNS:
            table.drop_column(column)

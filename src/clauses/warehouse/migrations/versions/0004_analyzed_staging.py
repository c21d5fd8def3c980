"""How many rows the staging tables held when a computation last ANALYZEd them (PostgreSQL).

A computation refreshes the planner statistics of the registry and the `stg_` tables only when
they grew by a tenth since (clauses.compute._analyze_staging): rows reach them only with their
file's `raw_files` row (`n_rows`), in the same transaction, and are never updated nor deleted.
A national year's ANALYZE costs over a second, a backfill computes hundreds of dates in a row
over the same rows, and one more file does not change a plan (autovacuum's own ANALYZE follows
small drifts); stale statistics after a bulk load do (nested loops: minutes instead of seconds).

One row at most.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

COMPUTE = "clauses_compute"  # the computation analyzes (0003)


def upgrade() -> None:
    op.create_table("analyzed_staging", sa.Column("loaded_rows", sa.BigInteger(), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, INSERT, DELETE ON TABLE analyzed_staging TO {COMPUTE}")


def downgrade() -> None:
    op.drop_table("analyzed_staging")

"""The state of the file registry when the staging tables were last ANALYZEd (PostgreSQL).

A computation refreshes the planner statistics of the registry and the `stg_` tables only when
files were registered since (clauses.compute._analyze_staging): rows reach them only with a new
`raw_files` row, in the same transaction, and are never updated nor deleted. A national year's
ANALYZE costs over a second, and a backfill computes hundreds of dates in a row over the same
staging rows.

One row at most: `signature` is the count and highest `file_id` of `raw_files` as the last
ANALYZE saw them.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

COMPUTE = "clauses_compute"  # the computation analyzes (0003)


def upgrade() -> None:
    op.create_table("analyzed_staging", sa.Column("signature", sa.Text(), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, INSERT, DELETE ON TABLE analyzed_staging TO {COMPUTE}")


def downgrade() -> None:
    op.drop_table("analyzed_staging")

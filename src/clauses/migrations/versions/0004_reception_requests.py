"""Reception requests: the runs waiting to receive the landing zone.

Runs receive one at a time (the ingest lock). A run writes the date it receives as of before
it waits for the lock, and deletes it once done; the run holding the lock receives, in the
same process, the files of every date a waiting run asked for (never past today), so that the
ten runs a backfill starts at once read and validate their files in one go: one process pays
Great Expectations' seconds of imports instead of ten. What a run computes stays as of its
own date (files received after it are ignored by the figures), so nothing else changes.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

LOADER = "clauses_loader"  # receiving is the loader's step (0003)


def upgrade() -> None:
    op.create_table(
        "reception_requests",
        sa.Column("run_id", sa.Text(), primary_key=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("all_regions", sa.Boolean(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, INSERT, DELETE ON TABLE reception_requests TO {LOADER}")


def downgrade() -> None:
    op.drop_table("reception_requests")

"""The activity partitions of each loaded file, summarised once: `file_partitions` holds, per
loaded content and kind of activity (Heures, Marchés, Contacts, Partenariats), each (SIRET
porteur, Mois) it holds and, for Heures, the sum of its Heures réalisées.

Every computation used to find the partitions (contract §4) with a DISTINCT over every staging
row, and the monthly hours of the charts with a join over every Heures row: a national year
scanned 280,000 rows twice per date, for what changes only when a file is loaded. A content is
summarised by the first computation after its load (sql/insert_file_partitions.sql, inside the
computation's transaction and lock); staging rows are never updated nor deleted (0004), so a
summary never goes stale. An existing warehouse needs no data migration: its next computation
summarises every content.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

COMPUTE = "clauses_compute"  # the computation writes and reads it (0003)


def upgrade() -> None:
    op.create_table(
        "file_partitions",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("siret_porteur", sa.String(14)),
        sa.Column("mois", sa.String(7)),
        sa.Column("heures", sa.Float()),
    )
    op.create_index("ix_file_partitions_file", "file_partitions", ["file_sha256", "kind"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # the computation's role only: no reader sees it
        op.execute(f"GRANT SELECT, INSERT ON TABLE file_partitions TO {COMPUTE}")
        if (bind.dialect.server_version_info or (0,)) >= (17,):  # as 0003
            op.execute(f"GRANT MAINTAIN ON TABLE file_partitions TO {COMPUTE}")


def downgrade() -> None:
    op.drop_table("file_partitions")

"""The loader ANALYZEs the DECP versions after a load that grew them by a tenth or more
(clauses.load.decp): the figures of the same run read them right after, and stale statistics
made PostgreSQL scan the contracts whole in the matching step. On PostgreSQL 17 and later
ANALYZE needs the MAINTAIN privilege; on older servers a non-owner's ANALYZE is skipped with
a warning (as the computation's, 0003)."""

from alembic import op

revision = "0009"
down_revision = "0008"

LOADER = "clauses_loader"
ANALYZED = ("decp_contracts", "decp_buyers")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and (bind.dialect.server_version_info or (0,)) >= (17,):
        op.execute(f"GRANT MAINTAIN ON TABLE {', '.join(ANALYZED)} TO {LOADER}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and (bind.dialect.server_version_info or (0,)) >= (17,):
        op.execute(f"REVOKE MAINTAIN ON TABLE {', '.join(ANALYZED)} FROM {LOADER}")

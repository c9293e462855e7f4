"""indexes of the paged ranking board (issue 14): sort and look up within a run

Revision ID: board_indexes
Revises: people_roles
Create Date: 2026-11-29 14:50:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "board_indexes"
down_revision = "people_roles"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_ranking_result_run_final": ["run_id", "final"],
    "ix_ranking_result_run_rank": ["run_id", "rank"],
    "ix_ranking_result_run_ref": ["run_id", "ref"],
    "ix_ranking_result_run_district": ["run_id", "district_code"],
}


def upgrade():
    """Add the board's indexes on ranking_result."""
    with op.batch_alter_table("ranking_result", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    """Drop them."""
    with op.batch_alter_table("ranking_result", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)

"""ranking_result: drop the index on run_id alone (issue 14 item 3)

Every other index of ranking_result starts with run_id (the two unique constraints and the
board's four indexes), so a look-up or a cascade by run uses one of them; the single-column
index only cost a btree insertion per result row (100,000 per run at national scale).

Revision ID: rankwrite_result_index
Revises: leftovers_extra_requests
Create Date: 2026-11-29 18:20:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "rankwrite_result_index"
down_revision = "leftovers_extra_requests"
branch_labels = None
depends_on = None


def upgrade():
    """Drop ix_ranking_result_run_id."""
    with op.batch_alter_table("ranking_result", schema=None) as batch_op:
        batch_op.drop_index("ix_ranking_result_run_id")


def downgrade():
    """Create it again."""
    with op.batch_alter_table("ranking_result", schema=None) as batch_op:
        batch_op.create_index("ix_ranking_result_run_id", ["run_id"], unique=False)

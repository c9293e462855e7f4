"""ranking_result: drop three of the board's indexes that no query uses any more (issue 14)

The board now reads a done run's narrow columns once per process and sorts, filters and pages
them in memory (``services/ranking/board_index.py``), reading only a page's rows by id. No
query filters or sorts a run's results by rank or by district any more, and the highest final
score of the chart now comes from the chart's own group query, so (run_id, rank),
(run_id, district_code) and (run_id, final) only cost three btree insertions per result row
(100,000 per run at national scale). (run_id, ref) stays: the explanation page looks a result
up by ref. Look-ups by application and in funding order use the two unique constraints.

Revision ID: dropidx_board_indexes
Revises: rankwrite_result_index
Create Date: 2026-11-29 19:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "dropidx_board_indexes"
down_revision = "rankwrite_result_index"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_ranking_result_run_final": ["run_id", "final"],
    "ix_ranking_result_run_rank": ["run_id", "rank"],
    "ix_ranking_result_run_district": ["run_id", "district_code"],
}


def upgrade():
    """Drop the three indexes."""
    with op.batch_alter_table("ranking_result", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)


def downgrade():
    """Create them again."""
    with op.batch_alter_table("ranking_result", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

"""applicant eligibility, draft scores, reconciliation run

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:58:15.188706

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eligible_classifications', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('alliance_only', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('budget_years', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_competition_budget_years_range'), 'budget_years >= 1 AND budget_years <= 5'
        )

    with op.batch_alter_table('criterion_score', schema=None) as batch_op:
        batch_op.alter_column('points',
               existing_type=sa.NUMERIC(precision=10, scale=4),
               nullable=True)

    with op.batch_alter_table('reconciliation_note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reconciliation_note_run_id_ranking_run'), 'ranking_run', ['run_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('reconciliation_note', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reconciliation_note_run_id_ranking_run'), type_='foreignkey')
        batch_op.drop_column('run_id')

    with op.batch_alter_table('criterion_score', schema=None) as batch_op:
        batch_op.alter_column('points',
               existing_type=sa.NUMERIC(precision=10, scale=4),
               nullable=False)

    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_competition_budget_years_range'), type_='check')
        batch_op.drop_column('budget_years')
        batch_op.drop_column('alliance_only')
        batch_op.drop_column('eligible_classifications')


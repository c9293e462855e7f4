"""a round by its calendar: screening, extensions, review deadline, decision date, calendar feed

Revision ID: w10_calendar
Revises: w15_stability
Create Date: 2026-11-29 11:58:48.631615

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'w10_calendar'
down_revision = 'w15_stability'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screened_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('extended_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('extension_reason', sa.String(length=500), nullable=True))

    with op.batch_alter_table('application_priority', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refused_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_calendar_token_hash'), ['calendar_token_hash'])

    # Applications submitted before this migration were screened the only way there was (seed
    # data and bundles carry the tier and the confirmed priorities): count them as screened, so
    # an existing round is not held back waiting for a screening nobody can see.
    op.execute(
        "UPDATE application SET screened_at = CURRENT_TIMESTAMP WHERE status = 'submitted'"
    )
    op.execute(
        "UPDATE application_priority SET decided_at = CURRENT_TIMESTAMP WHERE confirmed"
    )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_token_hash'), type_='unique')
        batch_op.drop_column('calendar_token_hash')

    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.drop_column('decision_at')
        batch_op.drop_column('review_due_at')

    with op.batch_alter_table('application_priority', schema=None) as batch_op:
        batch_op.drop_column('decided_at')
        batch_op.drop_column('refused_reason')

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('extension_reason')
        batch_op.drop_column('extended_until')
        batch_op.drop_column('screened_at')


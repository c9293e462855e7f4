"""drafts never lose text: a draft's invalid entries kept as typed

Revision ID: people_drafts
Revises: rankspeed_review_points
Create Date: 2026-11-29 14:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'people_drafts'
down_revision = 'rankspeed_review_points'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_invalid', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('draft_invalid')

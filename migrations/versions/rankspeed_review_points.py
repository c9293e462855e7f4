"""review point vectors: each review's points in one row, kept in step by triggers (issue 14)

Revision ID: rankspeed_review_points
Revises: board_indexes
Create Date: 2026-11-29 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'rankspeed_review_points'
down_revision = 'board_indexes'
branch_labels = None
depends_on = None


def upgrade():
    from scoring.models.review_points import PG_TRIGGERS, SQLITE_TRIGGERS
    from scoring.services.reviews.vectors import refresh_all

    op.create_table('review_points',
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('packed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_review_points_review_id_review'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('review_id', name=op.f('pk_review_points'))
    )
    bind = op.get_bind()
    for statement in PG_TRIGGERS if bind.dialect.name == 'postgresql' else SQLITE_TRIGGERS:
        op.execute(statement)
    refresh_all(bind)  # backfill: every existing review's vector from its score rows


def downgrade():
    bind = op.get_bind()
    for name in ('criterion_score_points_ins', 'criterion_score_points_upd', 'criterion_score_points_del'):
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (' ON criterion_score' if bind.dialect.name == 'postgresql' else ''))
    if bind.dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS review_points_forget()')
    else:
        op.execute('DROP TRIGGER IF EXISTS review_points_review_del')
    op.drop_table('review_points')

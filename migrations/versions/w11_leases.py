"""Runs with a lease (worker, task, heartbeat), relay bookkeeping, mail retry time, worker beats

Revision ID: w11_leases
Revises: wx_export_jobs
Create Date: 2026-11-29 11:58:00.136379

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'w11_leases'
down_revision = 'wx_export_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_beat',
    sa.Column('worker', sa.String(length=200), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_worker_beat'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('ranking_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('task_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('ranking_run', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('task_id')
        batch_op.drop_column('worker')
        batch_op.drop_column('dispatched_at')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')

    op.drop_table('worker_beat')

"""Extra reviewers asked for as committed dispatch rows (the relay resends them)

Revision ID: leftovers_extra_requests
Revises: people_drafts, s12_sessions
Create Date: 2026-11-29 15:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "leftovers_extra_requests"
#: Also the merge point of main's two heads of the moment (people_drafts and s12_sessions both
#: followed rankspeed_review_points), so the chain has one head again.
down_revision = ("people_drafts", "s12_sessions")
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "extra_reviewer_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_extra_reviewer_request_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_extra_reviewer_request_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extra_reviewer_request")),
    )
    with op.batch_alter_table("extra_reviewer_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_extra_reviewer_request_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_extra_reviewer_request_done_at"), ["done_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("extra_reviewer_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extra_reviewer_request_done_at"))
        batch_op.drop_index(batch_op.f("ix_extra_reviewer_request_application_id"))
    op.drop_table("extra_reviewer_request")

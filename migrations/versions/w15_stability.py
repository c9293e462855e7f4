"""rank stability of a ranking run (issue 15, docs/stability.md)

Revision ID: w15_stability
Revises: w11_leases
Create Date: 2026-11-29 11:59:28.627057

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "w15_stability"
down_revision = "w11_leases"
branch_labels = None
depends_on = None


def upgrade():
    """Add stability_run and stability_result."""
    op.create_table(
        "stability_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="stability_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("resamples", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=24), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["ranking_run.id"],
            name=op.f("fk_stability_run_run_id_ranking_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stability_run")),
        sa.UniqueConstraint("run_id", name=op.f("uq_stability_run_run_id")),
    )
    op.create_table(
        "stability_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stability_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("funded_in", sa.Integer(), nullable=False),
        sa.Column("crosses_line", sa.Integer(), nullable=False),
        sa.Column("rank_lo", sa.Integer(), nullable=True),
        sa.Column("rank_hi", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stability_id"],
            ["stability_run.id"],
            name=op.f("fk_stability_result_stability_id_stability_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stability_result")),
        sa.UniqueConstraint(
            "stability_id", "ref", name=op.f("uq_stability_result_stability_id_ref")
        ),
    )
    with op.batch_alter_table("stability_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stability_result_stability_id"), ["stability_id"], unique=False
        )



def downgrade():
    """Drop them."""
    with op.batch_alter_table("stability_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stability_result_stability_id"))

    op.drop_table("stability_result")
    op.drop_table("stability_run")

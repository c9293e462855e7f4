"""people: each district user has a role in the district (writer or submitter)

Revision ID: people_roles
Revises: w10_calendar
Create Date: 2026-11-29 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'people_roles'
down_revision = 'w10_calendar'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'district_role',
                sa.Enum('writer', 'submitter', name='district_role', native_enum=False,
                        create_constraint=True, length=9),
                nullable=True,
            )
        )
    # Before this, a district had one shared login, which could do everything: the first
    # account of each district becomes its submitter, any later one a writer (a submitter
    # can promote them on the People page).
    op.execute(
        """
        UPDATE "user" SET district_role = CASE
            WHEN id = (SELECT MIN(u2.id) FROM "user" u2
                       WHERE u2.district_id = "user".district_id AND u2.role = 'applicant')
            THEN 'submitter' ELSE 'writer' END
        WHERE role = 'applicant'
        """
    )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('district_role')

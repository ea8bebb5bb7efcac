"""stories.storyline and stories.follows: developing situations and follow-up reports

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.add_column(sa.Column("storyline", sa.String(64), nullable=True))
        batch.add_column(sa.Column("follows", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("follows")
        batch.drop_column("storyline")

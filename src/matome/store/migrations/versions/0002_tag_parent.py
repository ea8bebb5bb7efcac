"""tags.parent: a theme may sit under a broader one (金融政策 under 経済)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tags") as batch:
        batch.add_column(sa.Column("parent", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tags") as batch:
        batch.drop_column("parent")

"""story_redirects: a merged story's id points at the story it became

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_redirects",
        sa.Column("old_id", sa.String(64), primary_key=True),
        sa.Column("new_id", sa.String(64), nullable=False, index=True),
        sa.Column("reason", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("story_redirects")

"""write_order: where the write stage last placed each story in its storyline

The explainer and the まとめ's ■解説 of a story read the stories before it in its
storyline; read whole, a storyline followed for months made each change be written again
from every earlier story, in every later one. They now read the few before it, and a change
is written again in the few after it — where the story was, kept here, and where it is.
The table starts empty: the write stage's queue key changes with it, so the next
``process`` looks at every story once (writing again only those whose inputs changed) and
fills it.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_order",
        sa.Column("story_id", sa.String(64), primary_key=True),
        sa.Column("storyline", sa.String(64), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
    )
    op.create_index("ix_write_order_line", "write_order", ["storyline", "key", "story_id"])


def downgrade() -> None:
    op.drop_index("ix_write_order_line", table_name="write_order")
    op.drop_table("write_order")

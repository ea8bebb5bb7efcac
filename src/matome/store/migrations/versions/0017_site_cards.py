"""site_cards: what listings, feeds and timelines show of each story, kept with the index

A listing page, a feed or a storyline's timeline loaded every story it shows whole
enough to render it (its reports and written formats): at 100k stories that was most
of an incremental site build. The site index now keeps each story's card, made when it
takes the story in; pages read one row per story. The table starts empty: the site
index's version changed with it, so the next ``process`` rebuilds the index and fills it.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_cards",
        sa.Column("story_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("site_cards")

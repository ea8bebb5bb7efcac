"""site_listing.feed: a digest of what a listing's feed shows of the story, apart from its card

A tag's feed shows more of a story than its pages do (its storyline, every tag, the
reports it was written from); with both in one digest, every story of two storylines
found to be one counted as changed on every page of every listing it is in. Now the card
is what the pages show, and a change only the feed shows renders the feed, and only when
the story is among its newest (``matome.store.site_index``). Existing rows have none: the
next change to each story counts as a change of its card, once.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
# 0014 (search buckets) comes from a change made in parallel with this one; merged after it
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("site_listing") as batch:
        batch.add_column(sa.Column("feed", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site_listing") as batch:
        batch.drop_column("feed")

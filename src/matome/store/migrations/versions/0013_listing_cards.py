"""site_listing.card: a digest of what a listing shows of the story

A story indexed again (a tag it carries renamed, a report added elsewhere in its
storyline) mostly looks the same in every listing; with the digest beside its
place, a static build renders a listing's page again only when what the page
shows of a story changed (``matome.store.site_index``). Existing rows have none:
the next change to each story counts as a change of its card, once.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("site_listing") as batch:
        batch.add_column(sa.Column("card", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site_listing") as batch:
        batch.drop_column("card")

"""listing_days: each month's and year's total kept beside the days

A tag's timeline over years draws a bar a month or a year; its page read every day of the
tag to sum them. The totals are now kept as rows of their own (``day`` yyyymm for a month,
yyyy for a year: fewer digits than any yyyymmdd day), kept as the days change
(``site_index.add_days``); here they are summed once from the days already stored.

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for per in (100, 10_000):
        op.execute(f"INSERT INTO listing_days (listing, day, stories) "
                   f"SELECT listing, day / {per}, SUM(stories) FROM listing_days "
                   f"WHERE day >= 10000000 GROUP BY listing, day / {per}")


def downgrade() -> None:
    op.execute("DELETE FROM listing_days WHERE day < 10000000")

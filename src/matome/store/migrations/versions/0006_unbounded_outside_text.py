"""outside text unbounded on PostgreSQL: keys, article ids, source names, outlet, language, board fields

SQLite ignores a VARCHAR's length; PostgreSQL enforces it, so one record
with a 600-character URL (its raw key) or a long "id" (its article id, also
in pending story redirects as "seed:<id>"), a long feed URL as its source
name, a long outlet or declared language, or an odd board date stopped a
whole ``ingest`` or ``process`` there with "value too long" while SQLite
stored it.
These columns hold what sources send, so they become TEXT on PostgreSQL;
SQLite's tables are left as they are (nothing to change: it never checked).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, column, length it had)
_COLUMNS = [
    ("raw_docs", "key", 512),
    ("raw_docs", "source", 200),
    ("source_health", "name", 200),
    ("articles", "source", 200),
    ("articles", "lang", 16),
    ("reactions", "posted", 40),
    ("reactions", "poster_id", 64),
    # an article's id is the record's own "id" when it has one: as long as it is
    ("articles", "id", 200),
    ("analyses", "article_id", 200),
    ("dedupe", "article_id", 200),
    ("dedupe", "duplicate_of", 200),
    ("memberships", "article_id", 200),
    ("reactions", "thread_article", 200),
    ("stories", "seed_article", 200),
    # a pending redirect points at "seed:<article id>"
    ("story_redirects", "new_id", 64),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, length in _COLUMNS:
        op.alter_column(table, column, type_=sa.Text, existing_type=sa.String(length))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, length in _COLUMNS:
        op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text)

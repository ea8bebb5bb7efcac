"""search_docs_order on SQLite: what ranks a short word's matches, in an index of its own

A search of one- or two-character words ranks its newest 1,000 matches by kind and
date (``matome.store.search_index``), read from ``search_docs`` one row per match:
a row holds the document's title and body, a page or two each, so a thousand matches
read a thousand pages. An index of (id, kind, published) holds the same in a few dozen
(2.15 -> 1.28 ms a search of a common word on the 100k store). PostgreSQL: nothing
changes (its short words are ranked inside its grams index's matches).

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# as written here, not imported: what this revision made stays what it made
INDEX = "CREATE INDEX search_docs_order ON search_docs (id, kind, published)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX search_docs_order")

"""changes, site_listing, search_docs: the site and search follow what changed

A change log (every story, redirect and tag whose pages change, with a sequence
number), the site's listings in order with their counts and a log of what moved
in them, and the search documents with their full-text indexes (SQLite: FTS5
trigram plus a table of one- and two-character grams; PostgreSQL: pg_trgm and a
GIN index of the same grams). Nothing is copied here: the first ``process``
after the upgrade indexes every story once (``matome.site.index``).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

# SQLite's search tables as this revision made them (0019 adds the recent table): written
# here, not imported, so that what this revision makes stays what it made
SQLITE_DDL = [
    "CREATE VIRTUAL TABLE search_tri USING fts5(title, body, content='search_docs', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE search_short USING fts5(grams, content='', detail='none', "
    "tokenize=\"unicode61 remove_diacritics 0 categories 'L* M* N* P* S* C*'\")",
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN INSERT INTO search_tri"
    "(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN INSERT INTO search_tri"
    "(search_tri, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
]
# and PostgreSQL's (0014 adds id buckets to the grams index, 0021 makes them one per gram)
POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_search_docs_trgm ON search_docs USING gin (title gin_trgm_ops, body gin_trgm_ops)",
    "CREATE INDEX ix_search_docs_grams ON search_docs USING gin (string_to_array(grams, ' '))",
]

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_changes_seq", "changes", ["seq"])
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO change_counter (id, seq) VALUES (1, 0)")
    op.create_index("ix_stories_storyline", "stories", ["storyline"])
    op.create_table(
        "site_listing",
        sa.Column("story_id", sa.String(64), primary_key=True),
        sa.Column("listing", sa.String(80), primary_key=True),
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("day", sa.Integer),
    )
    op.create_index("ix_site_listing_order", "site_listing", ["listing", "key", "story_id"])
    op.create_table(
        "listing_counts",
        sa.Column("listing", sa.String(80), primary_key=True),
        sa.Column("stories", sa.Integer, nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("name", sa.Text),
    )
    op.create_table(
        "listing_days",
        sa.Column("listing", sa.String(80), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("stories", sa.Integer, nullable=False),
    )
    op.create_table(
        "listing_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("listing", sa.String(80), nullable=False),
        sa.Column("key", sa.BigInteger),
        sa.Column("before", sa.Integer),
    )
    op.create_table(
        "site_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "search_docs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("story", sa.String(64), nullable=False),
        sa.Column("article", sa.String(200).with_variant(sa.Text(), "postgresql")),
        sa.Column("published", sa.String(40), nullable=False),
        sa.Column("hash", sa.String(40), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("grams", sa.Text),
    )
    op.create_index("ix_search_docs_story", "search_docs", ["story"])
    bind = op.get_bind()
    for statement in POSTGRES_DDL if bind.dialect.name == "postgresql" else SQLITE_DDL:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("search_docs_ai", "search_docs_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for name in ("search_tri", "search_short"):
            op.execute(f"DROP TABLE IF EXISTS {name}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_docs_trgm")
        op.execute("DROP INDEX IF EXISTS ix_search_docs_grams")
    op.drop_table("search_docs")
    for name in ("site_state", "listing_log", "listing_days", "listing_counts", "site_listing"):
        op.drop_table(name)
    op.drop_index("ix_stories_storyline", "stories")
    op.drop_table("change_counter")
    op.drop_table("changes")

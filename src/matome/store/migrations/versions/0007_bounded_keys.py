"""long keys, links and fetched URLs stored bounded (schema.bounded)

PostgreSQL refuses an index entry of over ~2,700 bytes, so a raw key, a
canonical link or a fetched URL that long stopped an ``ingest`` there, while
SQLite stored it. Both now store such a value as its head and a SHA-256 of
the whole, and look it up the same way; this rewrites the ones an older
SQLite database already holds, so that they are found again rather than
stored a second time.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

# the stored form must stay what lookups compute: the function itself, not a copy
from matome.store.schema import KEY_BYTES, bounded

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, key column, column to rewrite): rows are found by the key column
_COLUMNS = [("raw_docs", "id", "key"), ("raw_docs", "id", "link"), ("fetch_cache", "url", "url")]


def upgrade() -> None:
    conn = op.get_bind()
    for table, key, column in _COLUMNS:
        # a value over KEY_BYTES bytes has over KEY_BYTES / 4 characters
        rows = conn.execute(sa.text(
            f"SELECT {key}, {column} FROM {table} WHERE length({column}) > :n"),
            {"n": KEY_BYTES // 4}).all()
        for row_key, value in rows:
            if (new := bounded(value)) != value:
                conn.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {key} = :key"),
                             {"new": new, "key": row_key})


def downgrade() -> None:
    pass  # the full values are not kept: a bounded key stays bounded

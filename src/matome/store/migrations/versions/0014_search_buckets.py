"""search_docs on PostgreSQL: the grams index also holds each document's id bucket

A search reads the newest documents first, in ranges of ids. With grams alone in the
GIN index, a range could only be applied to the rows the index found, after fetching
them: a long term's character pairs match thousands of documents in a large archive,
all fetched for a range holding a few hundred. Each entry now also holds the token
``id:<id // 4096>`` (``matome.store.search_index``), so the range is one more condition
inside the index. Only the index changes (the stored grams stay as they are); it is
built again from the table here. SQLite: nothing changes.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# as written here, not imported: what this revision made stays what it made
GRAMS = "string_to_array(grams, ' ')"
WITH_BUCKET = f"({GRAMS} || ('id:' || (id / 4096)::text))"


def _index(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_search_docs_grams")
    # a GIN index is built faster with more memory than the default 64 MB (this transaction's)
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f"CREATE INDEX ix_search_docs_grams ON search_docs USING gin ({expression})")
    # the planner's statistics of an index's expression are made by ANALYZE, not by the build
    op.execute("ANALYZE search_docs")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _index(WITH_BUCKET)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _index(f"({GRAMS})")

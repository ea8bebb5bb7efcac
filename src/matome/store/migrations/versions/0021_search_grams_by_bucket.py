"""search_docs on PostgreSQL: each gram indexed with its document's id bucket; texts in lz4

The grams index held a document's grams and, as a token of its own, its id's bucket
(0014): a range of the newest documents was one more condition inside the index, but
GIN reads each condition's whole posting list, so every search read every match of
its grams in the archive to keep the range's (the largest part of a short word's
search at 100k, and growing with the years). Each token is now a gram and its
bucket, ``<gram>@<id // 4096>`` (``matome.store.search_index.grams_index``): a range
asks for its buckets' tokens of each gram, and reads only the matches in it.

Titles and bodies are compressed with lz4 where the server has it (PostgreSQL 14 and
later, built with lz4): a search reads each candidate's texts to confirm and score
it, and pglz's decompression was a fifth of that (2 of about 10 µs). Values already
stored keep their compression until written again. SQLite: nothing changes.

Revision ID: 0021
Revises: 0020
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# as written here, not imported: what this revision made stays what it made
BY_BUCKET = ("(string_to_array(rtrim(replace(grams || ' ', ' ', '@' || (id / 4096)::text || ' ')), ' '))")
WITH_BUCKET = "(string_to_array(grams, ' ') || ('id:' || (id / 4096)::text))"  # 0014's


def _index(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_search_docs_grams")
    # a GIN index is built faster with more memory than the default 64 MB (this transaction's)
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f"CREATE INDEX ix_search_docs_grams ON search_docs USING gin ({expression})")
    # the planner's statistics of an index's expression are made by ANALYZE, not by the build
    op.execute("ANALYZE search_docs")


def _compression(method: str) -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"ALTER TABLE search_docs ALTER COLUMN title SET COMPRESSION {method}, "
                                 f"ALTER COLUMN body SET COMPRESSION {method}")
    except DBAPIError:  # a server without lz4 (or before 14): pglz, as it was
        pass


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _index(BY_BUCKET)
        _compression("lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _compression("pglz")
        _index(WITH_BUCKET)

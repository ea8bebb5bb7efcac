"""search_docs_published, search_docs_source on SQLite: a filter's documents, by an index

A filtered search (the search page's 期間, 媒体 and テーマ) walked the terms' matches newest
first and read each match's row to test the filter: a common word and a filter holding few
of its matches read every match in the archive (「首相」 in a small tag, or until a date three
years back, ran past the search's 0.5 s limit at a million stored articles). A filter
holding few documents is now read from its side (``matome.store.search_sqlite``): a tag's
by its stories (indexed already), a range of dates' and an outlet's reports by these
indexes (the outlet's: of reports only, whose source is one outlet; a story's is all of its
outlets). PostgreSQL: nothing changes.

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# as written here, not imported: what this revision made stays what it made
INDEXES = ["CREATE INDEX search_docs_published ON search_docs (published)",
           "CREATE INDEX search_docs_source ON search_docs (source) WHERE kind = 'report'"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in INDEXES:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX search_docs_source")
        op.execute("DROP INDEX search_docs_published")

"""search_recent on SQLite: the newest documents in a trigram table of their own

FTS5's BM25 counts a phrase's matches over its whole table, once per query, for the
IDF: over the whole archive that grew with it (2.7-11 ms of a query at a million
reports). The newest ``RECENT`` ids (131,072) are now also indexed in a contentless
trigram table that is asked first (``matome.store.search_index``); its floor, below
which it holds nothing, moves up as documents arrive. Here it is made and filled from
``search_docs`` with the newest ids, and the triggers keep it in step from now on.
PostgreSQL: nothing changes.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# as written here, not imported: what this revision made stays what it made
RECENT, STEP = 131_072, 32_768
OLD_TRIGGERS = [
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN INSERT INTO search_tri"
    "(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN INSERT INTO search_tri"
    "(search_tri, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
]
TABLES = [
    "CREATE VIRTUAL TABLE search_recent USING fts5(title, body, content='', tokenize='trigram')",
    "CREATE TABLE search_recent_floor (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "floor INTEGER NOT NULL)",
]
TRIGGERS = [
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN INSERT INTO search_tri"
    "(rowid, title, body) VALUES (new.id, new.title, new.body); INSERT INTO search_recent"
    "(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN INSERT INTO search_tri"
    "(search_tri, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_recent(search_recent, rowid, title, body) SELECT 'delete', old.id, "
    "old.title, old.body WHERE old.id > (SELECT floor FROM search_recent_floor); END",
]


def _triggers(statements: list[str]) -> None:
    for name in ("search_docs_ai", "search_docs_ad"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for statement in TABLES:
        op.execute(statement)
    top = bind.exec_driver_sql("SELECT max(id) FROM search_docs").scalar() or 0
    floor = max(0, (top - RECENT) // STEP * STEP)
    op.execute(f"INSERT INTO search_recent_floor (id, floor) VALUES (1, {floor})")
    op.execute("INSERT INTO search_recent(rowid, title, body) "
               f"SELECT id, title, body FROM search_docs WHERE id > {floor}")
    _triggers(TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _triggers(OLD_TRIGGERS)
    op.execute("DROP TABLE search_recent")
    op.execute("DROP TABLE search_recent_floor")

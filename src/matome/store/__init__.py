"""Store: every row matome keeps, on SQLite or PostgreSQL; all SQL lives here.

``database`` is the ``Store`` (articles, analyses, written output),
``stories`` its story part (memberships, merges, redirects), ``ingest_state``
what ingestion remembers (fetch validators, source health, reactions),
``schema`` the tables, ``migrations`` how they change.

SQLAlchemy Core and Alembic; SQLite (WAL, busy timeout, one writer) by
default, PostgreSQL (``--db postgresql+psycopg://…``) tested against a real
server.
"""

from matome.store.database import Store, db_url
from matome.store.ingest_state import DbFetchCache
from matome.store.schema import KEY_BYTES, bounded, metadata

__all__ = [
    "KEY_BYTES",
    "DbFetchCache",
    "Store",
    "bounded",
    "db_url",
    "metadata",
]

"""Store: every row matome keeps, on SQLite or PostgreSQL; all SQL lives here.

``database`` is the ``Store`` (articles, analyses, written output),
``stories`` its story part (memberships, merges, redirects), ``ingest_state``
what ingestion remembers (fetch validators, source health, reactions),
``queue`` and ``work`` what each stage still has to do (work queues filled
in the transaction that makes the work, snapshots, learnt names),
``leases`` how several workers share those queues on PostgreSQL (leased
items, one ordered writer),
``tagging`` tags changed one story at a time, ``changes`` the log of which
stories' pages changed (written with each change), ``site_index`` and
``search_index`` the site's listings and the full-text index kept from it
(``search_sqlite``: SQLite's queries of it),
``site_reads`` the per-story reads a page makes, ``schema`` the tables,
``migrations`` how they change.

SQLAlchemy Core and Alembic; SQLite (WAL, busy timeout, one writer) by
default, PostgreSQL (``--db postgresql+psycopg://…``) tested against a real
server.
"""

# their tables are part of the schema whether or not anything here reads them yet
from matome.store import search_index, site_index  # noqa: F401
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

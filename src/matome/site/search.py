"""Japanese full-text search over stories and reports, answered by the store's own index.

The index lives in the database (``matome.store.search_index``: FTS5 trigram plus short
grams on SQLite, ``pg_trgm`` plus short grams on PostgreSQL) and ``process`` keeps it up
to date (``matome.site.index``); a search here is a query on it, nothing is copied into
the server. Trigrams need no word segmentation, so 「政策金利」 finds 政策金利 inside
any compound, in Japanese and Latin text alike; two-character words (日銀, 外相, G7)
are exact tokens of the short-gram index.

Every search runs on a connection of its own from the store's pool, with its own time
limit (SQLite: a progress handler; PostgreSQL: ``statement_timeout``): a query that
would take longer is stopped instead of holding a worker, and says so (``SearchCutOff``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from matome.errors import SearchCutOff
from matome.site.readmodel import outlet_id
from matome.store import search_index

MAX_RESULTS = 50
TIME_LIMIT_S = 0.5
STEPS = 10_000  # SQLite virtual-machine steps between two looks at the clock
MAX_TERMS = 8
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


@dataclass
class Hit:
    kind: str            # story | report
    story: str
    title: str
    snippet: Markup      # escaped text with <mark> around the matches
    published: datetime | None
    source: str
    url: str             # the page on this site


class SearchIndex:
    """Searches of one store (its engine: connections are borrowed per search)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(self, query: str, *, tag: str | None = None, outlet: str | None = None,
               since: str | None = None, until: str | None = None, limit: int = 20,
               offset: int = 0) -> tuple[int, list[Hit]]:
        """(number of matches, one page of hits), best first. Past ``CANDIDATES`` matches
        the number is that many, and hits are the best of the newest that many."""
        terms = [t for t in _clean(query).split() if t][:MAX_TERMS]
        if not terms:
            return 0, []
        limit = max(1, min(limit, MAX_RESULTS))
        q = search_index.Query(terms, f"t:{tag}" if tag else None, outlet,
                               f"o:{outlet_id(outlet)}" if outlet else None, since, until)
        deadline = time.monotonic() + TIME_LIMIT_S
        try:
            with self._limited(deadline) as conn:
                offset = max(0, offset)
                total, found = search_index.best(conn, q, offset + limit)
                page = found[offset : offset + limit]
                rows = search_index.fetch(conn, [r[0] for r in page])
        except SQLAlchemyError as exc:  # the time limit, or a store without the index (nothing processed)
            if time.monotonic() >= deadline:
                raise SearchCutOff(f"the search ran past its {TIME_LIMIT_S} s limit") from exc
            return 0, []
        return total, [self._hit(rows[r[0]], terms) for r in page if r[0] in rows]

    @contextmanager
    def _limited(self, deadline: float) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(TIME_LIMIT_S * 1000)}")
                yield conn
                return
            raw: Any = conn.connection.dbapi_connection
            # this connection is this search's alone until returned: its time limit is its own
            raw.set_progress_handler(lambda: int(time.monotonic() > deadline), STEPS)
            try:
                yield conn
            finally:
                raw.set_progress_handler(None, 0)

    def _hit(self, row: tuple[str, str, str, str, str, str], terms: list[str]) -> Hit:
        kind, story, title, body, source, published = row
        return Hit(kind, story, title, _snippet(body or title, terms),
                   datetime.fromisoformat(published) if published else None, source,
                   f"stories/{story}.html")


def capped(total: int) -> bool:
    """Whether a search's count is the cap (``search_index.CANDIDATES``): more documents
    match, and the hits are the best of the newest that many."""
    return total >= search_index.CANDIDATES


def _clean(value: str) -> str:
    return _CONTROL.sub(" ", value)


def _snippet(text: str, terms: list[str], width: int = 80) -> Markup:
    """About ``width`` characters around the first match, escaped, matches in <mark>."""
    low = text.lower()
    first = min((i for i in (low.find(t.lower()) for t in terms) if i >= 0), default=0)
    start = max(0, first - width // 3)
    piece = text[start:start + width].replace("\n", " ")
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)
    # escaped piece by piece, joined once: adding Markup to Markup escapes and copies at
    # every step (47 objects a snippet; 0.4 of 3.5 ms of a search at 100k stored articles)
    parts = ["…"] if start else []
    last = 0
    for m in pattern.finditer(piece):
        parts += (escape(piece[last:m.start()]), "<mark>", escape(m.group(0)), "</mark>")
        last = m.end()
    parts.append(escape(piece[last:]))
    if start + width < len(text):
        parts.append("…")
    return Markup("".join(parts))

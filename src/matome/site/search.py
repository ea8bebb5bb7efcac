"""Japanese full-text search over stories and reports: SQLite FTS5, trigram tokenizer.

Trigrams need no word segmentation, so 「政策金利」 finds 政策金利 inside
any compound, in Japanese and Latin text alike. Queries shorter than three
characters (日銀, G7) cannot use trigrams; they fall back to a LIKE scan of
the same table, which the result cap and a time limit keep bounded.

The index is built from the catalog the server already loaded (so the
database stays read-only) into a private temporary file, written once and
then only read. Every search borrows a read-only connection of its own from a
small pool and sets its own time limit on it: searches in parallel share
nothing but the file (memory-mapped, so its pages are shared by the OS, not
copied per connection). One connection shared between threads serialised
them, and swapping its progress handler around each query deadlocked the
live server under a few parallel searches. The file goes when the index does
(or at exit); files of processes killed before that are removed by the next
index built on the same host.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import tempfile
import time
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from matome.site.readmodel import Catalog

MAX_RESULTS = 50
TIME_LIMIT_S = 0.5
POOL_IDLE = 16       # connections kept open between searches; more are opened when needed
_PREFIX = "matome-search-"
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40]
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
    def __init__(self, catalog: Catalog) -> None:
        self.cat = catalog
        self.path = _new_file()
        self._idle: deque[sqlite3.Connection] = deque()
        # removes the file (and closes idle connections) once the index is dropped or at exit
        self._cleanup = weakref.finalize(self, _remove, self.path, self._idle)
        try:
            _build(self.path, catalog)
        except BaseException:
            self._cleanup()
            raise

    def close(self) -> None:
        self._cleanup()

    def _borrow(self) -> sqlite3.Connection:
        try:
            return self._idle.pop()  # deque.pop/append are atomic: no lock needed
        except IndexError:
            # immutable: nothing writes the file any more, so SQLite takes no locks at all
            db = sqlite3.connect(Path(self.path).as_uri() + "?mode=ro&immutable=1", uri=True,
                                 check_same_thread=False)  # returned to the pool, used by another
            db.execute("PRAGMA mmap_size = 1073741824")
            return db

    def _give_back(self, db: sqlite3.Connection) -> None:
        db.set_progress_handler(None, 0)
        if len(self._idle) < POOL_IDLE and self._cleanup.alive:
            self._idle.append(db)
        else:
            db.close()

    def search(self, query: str, *, tag: str | None = None, outlet: str | None = None,
               since: str | None = None, until: str | None = None, limit: int = 20,
               offset: int = 0) -> tuple[int, list[Hit]]:
        """(number of matches, one page of hits), best first."""
        terms = [t for t in _clean(query).split() if t][:8]
        if not terms:
            return 0, []
        limit = max(1, min(limit, MAX_RESULTS))
        where, args = [], []
        if all(len(t) >= 3 for t in terms):
            where.append("docs MATCH ?")
            args.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in terms))
            order = "bm25(docs, 5.0, 1.0)"
        else:  # two-character Japanese words (日銀, 円安): no trigram, so a bounded scan
            for t in terms:
                where.append("(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')")
                pattern = "%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                args += [pattern, pattern]
            order = "CASE WHEN kind = 'story' THEN 0 ELSE 1 END, published DESC"
        if tag:
            where.append("(' ' || tags || ' ') LIKE ?")
            args.append(f"% {tag} %")
        if outlet:
            where.append("(' ' || source || ' ') LIKE ?")
            args.append(f"% {outlet} %")
        if since:
            where.append("published >= ?")
            args.append(since)
        if until:
            where.append("published <= ?")
            args.append(until + "\uffff")
        sql_where = " AND ".join(where)  # fixed fragments only: values go in as parameters
        deadline = time.monotonic() + TIME_LIMIT_S
        try:
            db = self._borrow()
        except sqlite3.Error:  # the file removed from outside: no hits rather than an error page
            return 0, []
        # this connection is this search's alone until given back: its time limit is its own
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            total = db.execute(f"SELECT count(*) FROM docs WHERE {sql_where}", args).fetchone()[0]
            rows = db.execute(
                f"SELECT kind, story, title, body, source, published FROM docs "
                f"WHERE {sql_where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, limit, max(0, offset)]).fetchall()
        except sqlite3.OperationalError:  # interrupted by the time limit, or a bad query
            return 0, []
        finally:
            self._give_back(db)
        return total, [self._hit(r, terms) for r in rows]

    def _hit(self, row: Any, terms: list[str]) -> Hit:
        kind, story, title, body, source, published = row
        return Hit(kind, story, title, _snippet(body or title, terms),
                   datetime.fromisoformat(published) if published else None, source,
                   f"stories/{story}.html")


def _build(path: str, catalog: Catalog) -> None:
    db = sqlite3.connect(path)
    try:
        # a scratch file rebuilt from the catalog at will: no journal, no fsync
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, kind UNINDEXED, "
                   "story UNINDEXED, source UNINDEXED, published UNINDEXED, tags UNINDEXED, "
                   "tokenize='trigram')")
        rows = []
        for s in catalog.stories:
            tags = " ".join(t["id"] for t in s.tags)
            brief = s.brief
            body = "\n".join(x.text for sec in (brief.sections if brief else [])
                             for x in sec.sentences)
            rows.append((s.headline, (brief.lead + "\n" if brief else "") + body, "story", s.id,
                         " ".join(sorted({a.source for a in s.articles})),
                         s.first_published.isoformat() if s.first_published else "", tags))
            for a in s.articles:
                rows.append((a.title, a.text, "report", s.id, a.source,
                             a.published.isoformat() if a.published else "", tags))
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [tuple(_clean(v) for v in r) for r in rows])
        db.commit()
    finally:
        db.close()


def _new_file() -> str:
    _remove_stale()
    fd, path = tempfile.mkstemp(prefix=f"{_PREFIX}{_HOST}-{os.getpid()}-", suffix=".db")
    os.close(fd)
    return path


def _remove_stale() -> None:
    """Index files of this host's processes that were killed before they could remove them."""
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}{_HOST}-*-*.db"):
        pid = path.name[len(_PREFIX) + len(_HOST) + 1:].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: str, idle: deque[sqlite3.Connection]) -> None:
    while idle:
        idle.pop().close()
    with contextlib.suppress(OSError):
        os.unlink(path)


def _clean(value: Any) -> Any:
    return _CONTROL.sub(" ", value) if isinstance(value, str) else value


def _snippet(text: str, terms: list[str], width: int = 80) -> Markup:
    """About ``width`` characters around the first match, escaped, matches in <mark>."""
    low = text.lower()
    first = min((i for i in (low.find(t.lower()) for t in terms) if i >= 0), default=0)
    start = max(0, first - width // 3)
    piece = text[start:start + width].replace("\n", " ")
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)
    out = Markup("…") if start else Markup("")
    last = 0
    for m in pattern.finditer(piece):
        out += escape(piece[last:m.start()]) + Markup("<mark>") + escape(m.group(0)) \
            + Markup("</mark>")
        last = m.end()
    out += escape(piece[last:])
    return out + (Markup("…") if start + width < len(text) else Markup(""))

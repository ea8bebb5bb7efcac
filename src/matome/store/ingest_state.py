"""What ingestion remembers between runs: fetch validators, source health, board reactions.

Kept in the database (migration 0005) so that ``matome watch`` survives a
restart without refetching everything or forgetting a source's error
streak, and so ``matome sources`` can print each source's health.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from matome.records import Post
from matome.store import schema as t
from matome.store.database import Store
from matome.store.queue import CHUNK, enqueue


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DbFetchCache:
    """ETag / Last-Modified per URL for conditional GET (fetch.FetchCache).

    Validators are held back until what the response held has been stored
    (``flush`` after the items are written): saved at fetch time, a run killed
    before storing would get a 304 next time and never store that page.
    Pending validators are kept per thread, as each poll runs in its own.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: dict[str, dict[str, tuple[str | None, str | None]]] = defaultdict(dict)
        self._lock = threading.Lock()

    def validators(self, url: str) -> tuple[str | None, str | None] | None:
        with self.store.read() as conn:
            row = conn.execute(select(t.fetch_cache).where(t.fetch_cache.c.url == t.bounded(url))).first()
        return None if row is None else (row.etag, row.last_modified)

    def remember(self, url: str, etag: str | None, last_modified: str | None) -> None:
        if etag or last_modified:
            with self._lock:
                self._pending[threading.current_thread().name][url] = (etag, last_modified)

    def flush(self, thread: str | None = None) -> None:
        """Save the validators of what ``thread`` (default: this one) fetched and has stored."""
        with self._lock:
            pending = self._pending.pop(thread or threading.current_thread().name, {})
        if not pending:
            return
        with self.store.tx() as conn:
            keys = {t.bounded(u): v for u, v in pending.items()}
            conn.execute(delete(t.fetch_cache).where(t.fetch_cache.c.url.in_(list(keys))))
            conn.execute(insert(t.fetch_cache), [
                dict(url=u, etag=e, last_modified=lm, fetched_at=_now())
                for u, (e, lm) in keys.items()])


# --- source health -------------------------------------------------------------


def record_poll(store: Store, name: str, *, error: str | None, new: int,
                next_poll: datetime | None, note: str | None = None) -> None:
    """One poll of one source: success resets the error streak, a failure extends it."""
    now = _now()
    h = t.source_health.c
    with store.tx() as conn:
        row = conn.execute(select(t.source_health).where(h.name == name)).first()
        if row is None:
            conn.execute(insert(t.source_health).values(name=name, error_streak=0, polls=0, last_new=0))
            streak, polls = 0, 0
        else:
            streak, polls = row.error_streak, row.polls
        values: dict[str, Any] = dict(last_poll=now, next_poll=next_poll, polls=polls + 1,
                                      last_new=new)
        if error is None:
            values.update(last_success=now, error_streak=0)
        else:
            values.update(last_error=error, last_error_at=now, error_streak=streak + 1)
        if note is not None:
            values["note"] = note
        conn.execute(update(t.source_health).where(h.name == name).values(**values))


def health(store: Store) -> dict[str, dict[str, Any]]:
    with store.read() as conn:
        return {r["name"]: dict(r) for r in conn.execute(select(t.source_health)).mappings()}


# --- board reactions -----------------------------------------------------------


def put_reactions(store: Store, thread_article: str, posts: list[Post], discussed: list[str]) -> int:
    """Replace a thread's stored posts (a re-fetched thread has more posts, same numbers).

    ``discussed`` are canonical report URLs. The stories they belong to are queued to be
    written again, in the same transaction: their ■反応 changed, even if their reports did not.
    """
    rows = [dict(thread_article=thread_article, number=p.number, name=p.name, posted=p.posted or None,
                 poster_id=p.poster_id, body=p.body, replies=list(p.replies), discussed=discussed)
            for p in {p.number: p for p in posts}.values()]
    keys = sorted({t.bounded(u) for u in discussed}) if rows else []
    links = t.thread_links.c
    with store.tx() as conn:
        # the stories it discussed before too: a thread may stop naming a report
        before = conn.execute(select(links.url).where(links.thread_article == thread_article)).scalars()
        touched = sorted({*before, *keys})
        conn.execute(delete(t.reactions).where(t.reactions.c.thread_article == thread_article))
        conn.execute(delete(t.thread_links).where(links.thread_article == thread_article))
        if rows:
            conn.execute(insert(t.reactions), rows)
        if keys:
            conn.execute(insert(t.thread_links), [{"url": k, "thread_article": thread_article}
                                                  for k in keys])
        for i in range(0, len(touched), CHUNK):
            enqueue(conn, "write", conn.execute(select(t.memberships.c.story_id).distinct().join(
                t.report_urls, t.report_urls.c.article_id == t.memberships.c.article_id)
                .where(t.report_urls.c.url.in_(touched[i : i + CHUNK]))).scalars().all())
    return len(rows)


def stored_link_hints(store: Store, url: str, source: str) -> dict[str, Any] | None:
    """The hints stored with the page at ``url`` (by its key, or this source's canonical
    link); None when it was never stored."""
    c = t.raw_docs.c
    cond = c.key == t.bounded(f"url:{url}")
    if source:
        cond = or_(cond, (c.source == source) & (c.link == t.bounded(url)))
    with store.read() as conn:
        row = conn.execute(select(c.hints).where(cond)).first()
    return None if row is None else dict(row.hints or {})

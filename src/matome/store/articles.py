"""Extracted articles (and their analyses) written into the store, a chunk in one transaction.

``Store.put_articles`` calls ``put``. One transaction and a handful of statements for a
chunk, instead of nine statements and a commit for each article: on the demo corpus ×20,
storing each article alone cost more than extracting it (a cProfile of ``process``: 4.0 s
of ``put_article`` for 920 articles against 2.4 s of extraction). The result is what
storing them one after another, in order, gives; ``tests/test_store_articles.py`` checks
that against one ``put_article`` at a time, clashes and re-extractions included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from matome.records import Analysis, Article, RawDoc
from matome.store import changes
from matome.store import schema as t
from matome.store.queue import clear_rejects, enqueue

__all__ = ["NewAnalysis", "NewArticle", "put"]

MOST = 500  # articles per call: each IN (...) list stays a bounded statement


@dataclass(frozen=True)
class NewArticle:
    """An extracted article to store: its raw document (replacing what that document gave
    before), the extract stage's tag and input hash, and its canonical URL (``url_key``, by
    which board threads find it)."""

    raw_id: int
    article: Article
    stage_tag: str
    input_hash: str
    doc: RawDoc
    url_key: str | None = None


@dataclass(frozen=True)
class NewAnalysis:
    """A report's analysis to store (``Store.put_analyses``): its vector, the analyze stage's
    tag and input hash, the name facts it teaches (``learn_names``) and the digest of the text
    the vector is of (``embedded``)."""

    article_id: str
    analysis: Analysis
    vector: np.ndarray
    stage_tag: str
    input_hash: str
    names: Sequence[tuple[str, str, str]] = ()
    embedded: str | None = None


def put(conn: Connection, items: Sequence[NewArticle], postgres: bool) -> dict[int, int]:
    """Store ``items`` in order, in the caller's transaction, and queue their analysis and
    dedupe. Returns the clashes: raw document id -> the raw document whose article has the
    same id (the first stays; the second is stored nowhere and stays queued)."""
    if len(items) > MOST:
        raise ValueError(f"at most {MOST} articles a call, not {len(items)}")
    a, m = t.articles.c, t.memberships.c
    ids = sorted({i.article.id for i in items})
    raws = sorted({i.raw_id for i in items})
    # who holds each article id now, and what each raw document gave before: as the items are
    # taken in order, a raw document's earlier articles leave before its new one comes
    holder: dict[str, int] = {}
    held: dict[int, set[str]] = {}
    for r in conn.execute(select(a.id, a.raw_id).where(a.id.in_(ids) | a.raw_id.in_(raws))):
        holder[r.id] = r.raw_id
        held.setdefault(r.raw_id, set()).add(r.id)
    kept: list[NewArticle] = []
    clashes: dict[int, int] = {}
    for i in items:
        other = holder.get(i.article.id)
        if other is not None and other != i.raw_id:
            clashes[i.raw_id] = other  # a copy of a page under another path: the first stays
            continue
        for gone in held.pop(i.raw_id, set()):
            holder.pop(gone, None)
        holder[i.article.id] = i.raw_id
        held[i.raw_id] = {i.article.id}
        kept.append(i)
    if not kept:
        return clashes
    mine = [i.raw_id for i in kept]
    # before the writes (what they move is still found), and only for what is written: a clash
    # changes nothing
    changes.touch(conn, articles=[i.article.id for i in kept], raws=mine)
    old = sorted({r.story_id for r in conn.execute(
        select(m.story_id).join(t.articles, a.id == m.article_id).where(a.raw_id.in_(mine)))})
    if old:
        # reports leave their stories (their memberships go with the old rows): the
        # clusterer's saved state no longer matches the store, and a story may be left empty
        conn.execute(delete(t.snapshots))
        enqueue(conn, "stories", ["check-empty"])
        enqueue(conn, "write", old)
    conn.execute(delete(t.articles).where(a.raw_id.in_(mine)))
    conn.execute(insert(t.articles), [_row(i, postgres) for i in kept])
    conn.execute(insert(t.report_urls), [{"url": t.bounded(i.url_key or i.article.url),
                                          "article_id": i.article.id} for i in kept])
    new = [i.article.id for i in kept]
    enqueue(conn, "analyze", new)
    enqueue(conn, "dedupe", new)  # dedupe reads the article alone: it may run beside analysis
    clear_rejects(conn, [(i.doc.origin, i.doc.location) for i in kept], "extract")
    return clashes


def _row(i: NewArticle, postgres: bool) -> dict[str, Any]:
    article = i.article
    meta = {k: v for k, v in article.to_json().items()
            if k not in {"id", "url", "title", "text", "source", "lang", "published"}}
    published = article.published
    values: dict[str, Any] = dict(
        id=article.id, raw_id=i.raw_id, url=article.url, title=article.title, text=article.text,
        source=article.source, lang=article.lang,
        published=published.isoformat() if published else None,
        published_utc=published.astimezone(UTC).replace(tzinfo=None) if published else None,
        meta=meta, stage=i.stage_tag, input_hash=i.input_hash)
    if postgres:
        # PostgreSQL's text cannot hold NUL, SQLite's can: dropped there, or one such page
        # stops the whole batch. (JSON columns escape it; no change.)
        values = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in values.items()}
    return values

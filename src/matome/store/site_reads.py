"""Reads for the site, by story: what a page needs, never the archive.

Each function takes an open connection, so a whole build reads one snapshot of the
store (one read transaction) while ``process`` may be writing. Ids go in chunks: one
statement stays bounded on either backend however many ids a page asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from matome.records import Article, Membership, StoryRow, TagRow, Written
from matome.store import schema as t
from matome.store.database import _article_from_row

_CHUNK = 500


def _parts(ids: Iterable[str]) -> Iterator[list[str]]:
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), _CHUNK):
        yield wanted[i : i + _CHUNK]


def memberships(conn: Connection, story_ids: Iterable[str]) -> list[Membership]:
    """The memberships of ``story_ids``, in the order they were made."""
    c = t.memberships.c
    rows = [Membership(**r) for part in _parts(story_ids)
            for r in conn.execute(select(t.memberships).where(c.story_id.in_(part))).mappings()]
    return sorted(rows, key=lambda m: m.seq)


def articles(conn: Connection, ids: Iterable[str]) -> dict[str, Article]:
    c = t.articles.c
    return {r["id"]: _article_from_row(r) for part in _parts(ids)
            for r in conn.execute(select(t.articles).where(c.id.in_(part))).mappings()}


def written(conn: Connection, story_ids: Iterable[str],
            formats: Iterable[str] | None = None) -> dict[str, dict[str, Written]]:
    """What was written of ``story_ids`` (in ``formats`` only, when given)."""
    c = t.written.c
    out: dict[str, dict[str, Written]] = {}
    only = None if formats is None else c.format.in_(sorted(set(formats)))
    for part in _parts(story_ids):
        where = c.story_id.in_(part) if only is None else c.story_id.in_(part) & only
        for r in conn.execute(select(c.story_id, c.format, c.data).where(where)
                              .order_by(c.story_id, c.format)):
            out.setdefault(r.story_id, {})[r.format] = Written.from_json(r.data)
    return out


def story_rows(conn: Connection, story_ids: Iterable[str]) -> dict[str, StoryRow]:
    c = t.stories.c
    return {r["id"]: StoryRow(r["id"], r["seed_article"], dict(r["flags"] or {}), r["storyline"],
                              r["follows"])
            for part in _parts(story_ids)
            for r in conn.execute(select(t.stories).where(c.id.in_(part))).mappings()}


def story_tags(conn: Connection, story_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """Each story's tags as pages show them (heaviest first), of tags that exist."""
    st, g = t.story_tags.c, t.tags.c
    out: dict[str, list[dict[str, str]]] = {}
    for part in _parts(story_ids):
        for r in conn.execute(select(st.story_id, g.id, g.name).join(t.tags, g.id == st.tag_id)
                              .where(st.story_id.in_(part))
                              .order_by(st.story_id, st.weight.desc(), st.tag_id)):
            out.setdefault(r.story_id, []).append({"id": r.id, "name": r.name})
    return out


def homes(conn: Connection, article_ids: Iterable[str]) -> dict[str, str]:
    """The story each of ``article_ids`` is in."""
    c = t.memberships.c
    return {r.article_id: r.story_id for part in _parts(article_ids)
            for r in conn.execute(select(c.article_id, c.story_id).where(c.article_id.in_(part)))}


def redirect(conn: Connection, old: str) -> str | None:
    c = t.story_redirects.c
    return conn.execute(select(c.new_id).where((c.old_id == old) & (c.reason != "pending"))).scalar()


def redirect_ids(conn: Connection) -> list[str]:
    c = t.story_redirects.c
    return [r[0] for r in conn.execute(select(c.old_id).where(c.reason != "pending").order_by(c.old_id))]


def tag_rows(conn: Connection) -> list[TagRow]:
    return [TagRow(r["id"], r["name"], r["kind"], list(r["aliases"]), r["parent"])
            for r in conn.execute(select(t.tags).order_by(t.tags.c.id)).mappings()]


def story_ids(conn: Connection) -> list[str]:
    """Every story that has a member, in the order each last took one in (``seq``: placements
    are numbered as they are made), the latest last: the order ``process`` changed them in."""
    c = t.memberships.c
    return [r[0] for r in conn.execute(select(c.story_id).group_by(c.story_id)
                                       .order_by(func.max(c.seq), c.story_id))]


def article_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.articles)).scalar() or 0)


def article_page(conn: Connection, offset: int, limit: int) -> list[Article]:
    """Articles in the order ``Store.articles`` gives them, one page."""
    c = t.articles.c
    query = (select(t.articles).order_by(c.published_utc.is_(None), c.published_utc, c.id)
             .offset(offset).limit(limit))
    return [_article_from_row(r) for r in conn.execute(query).mappings()]


def duplicate_of(conn: Connection, article_ids: Sequence[str]) -> dict[str, str | None]:
    c = t.dedupe.c
    return {r.article_id: r.duplicate_of for part in _parts(article_ids)
            for r in conn.execute(select(c.article_id, c.duplicate_of).where(c.article_id.in_(part)))}


def reports_by_story(conn: Connection) -> dict[str, list[str]]:
    """Every story's reports (copies included), as search indexes them (for the tag API)."""
    from matome.store.search_index import search_docs

    d = search_docs.c
    out: dict[str, list[str]] = {}
    rows: Any = conn.execute(select(d.story, d.article).where(d.kind == "report"))
    for r in rows:
        out.setdefault(r.story, []).append(r.article)
    return out

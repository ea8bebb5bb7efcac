"""The catalog as pages read it, straight from the store: a page loads only what it shows.

:class:`DbCatalog` answers what :class:`~matome.site.readmodel.Catalog` answers — the
stories newest first, tags, outlets, a storyline, a story — from the site index
(``matome.store.site_index``: listings, feeds and timelines read the cards it keeps of
each story) and per-story reads for a story's own page, so a page costs what it shows and
never what the archive holds. A static build reads one snapshot (``pinned``: one read
transaction for the whole build); the server opens a connection per call (``live``)
and keeps a bounded cache of the stories it loaded, per snapshot of the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from functools import cached_property
from typing import Any, overload

from sqlalchemy import Connection, Engine

from matome.records import Article
from matome.site import charts, readmodel
from matome.site.readmodel import Card, OutletView, StoryList, StoryView, TagView
from matome.store import Store, site_index, site_reads

CACHE_STORIES = 1024  # stories kept per catalog: a batch of pages, their storylines and listings
CACHE_CARDS = 4096    # cards kept per catalog: small, and read by several pages each
_PAGE = 200
# A storyline's first stories a page reads at once: all of nearly every storyline. A longer
# one is read around the page's story (four reads of the order index, ~0.6 ms, where one
# read of a few ids costs ~0.1).
LINE_PREFIX = 128


class Listing(StoryList):
    """A listing newest first; indexing and slicing load only the stories asked for."""

    def __init__(self, cat: DbCatalog, listing: str, size: int | None = None) -> None:
        self.cat, self.listing, self._size = cat, listing, size

    def __len__(self) -> int:
        if self._size is None:
            with self.cat.connect() as conn:
                self._size = site_index.size(conn, self.listing)[0]
        return self._size

    @overload
    def __getitem__(self, i: int) -> StoryView: ...
    @overload
    def __getitem__(self, i: slice) -> list[StoryView]: ...

    def __getitem__(self, i: int | slice) -> StoryView | list[StoryView]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                raise ValueError("a listing is read in order")
            return self.cat.in_order(self.ids(start, stop))
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        got = self[i % n : i % n + 1]
        if not got:
            raise IndexError(i)
        return got[0]

    def __iter__(self) -> Iterator[StoryView]:
        for start in range(0, len(self), _PAGE):
            yield from self[start : start + _PAGE]

    def keys(self, start: int, stop: int) -> list[tuple[str, int]]:
        """(story id, key) at newest-first positions [start, stop), nothing loaded."""
        with self.cat.connect() as conn:
            return site_index.newest(conn, self.listing, start, max(0, stop - start))

    def ids(self, start: int, stop: int) -> list[str]:
        return [sid for sid, _ in self.keys(start, stop)]

    def cards(self, start: int, stop: int) -> list[Card]:
        return self.cat.cards(self.ids(start, stop))


class DbCatalog:
    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]],
                 primary: str = "brief", cache: int = CACHE_STORIES) -> None:
        self.connect = connect
        self.primary = primary
        self._cache: OrderedDict[str, tuple[StoryView | None, bool]] = OrderedDict()  # (view, whole)
        self._room = cache
        self._cards: dict[str, Card] = {}  # oldest first: the first to go
        self._lock = threading.Lock()  # the server's threads share one catalog per snapshot

    @classmethod
    @contextmanager
    def pinned(cls, store: Store, primary: str = "brief") -> Iterator[DbCatalog]:
        """One read transaction for everything read through it: one snapshot of the store
        (give it a read-only store: on a writable SQLite one the transaction is a write one)."""
        with store.read() as conn:
            if conn.dialect.name == "postgresql":  # SQLite's read transaction is a snapshot already
                conn.execution_options(isolation_level="REPEATABLE READ")
            yield cls(lambda: nullcontext(conn), primary)

    @classmethod
    def live(cls, engine: Engine, primary: str = "brief") -> DbCatalog:
        return cls(engine.connect, primary)

    # --- stories -------------------------------------------------------------------

    def many(self, ids: Iterable[str], *, whole: bool = False) -> dict[str, StoryView]:
        """These stories (absent: no story by that id), from the cache or one read.
        ``whole``: with every written format (a story page, the API); else light
        (``readmodel.load_stories``): what a listing, feed or timeline shows of them."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            got = {i: self._cache[i][0] for i in wanted
                   if i in self._cache and (self._cache[i][1] or not whole)}
            for i in got:
                self._cache.move_to_end(i)
        missing = [i for i in wanted if i not in got]
        if missing:
            with self.connect() as conn:
                loaded = readmodel.load_stories(conn, missing, self.primary, light=not whole)
            with self._lock:
                for i in missing:
                    got[i] = loaded.get(i)
                    self._cache[i] = (got[i], whole)
                while len(self._cache) > self._room:
                    self._cache.popitem(last=False)
        return {i: s for i, s in got.items() if s is not None}

    def in_order(self, ids: Sequence[str], *, whole: bool = False) -> list[StoryView]:
        found = self.many(ids, whole=whole)
        return [found[i] for i in ids if i in found]

    def prefetch(self, ids: Iterable[str]) -> None:
        """Story pages about to be rendered: read whole, a batch at a time."""
        self.many(ids, whole=True)

    def story(self, sid: str) -> StoryView | None:
        return self.many([sid], whole=True).get(sid)

    @cached_property
    def stories(self) -> Listing:
        return Listing(self, "i")

    def story_ids(self) -> Iterator[str]:
        """Every story id, newest first, a page of ids at a time."""
        n = len(self.stories)
        for start in range(0, n, 5000):
            yield from self.stories.ids(start, start + 5000)

    def cards(self, ids: Sequence[str]) -> list[Card]:
        """What pages show of these stories, in this order, from the index's cards: one read,
        no story loaded (one the index has no card for, which it always writes with its
        place, is made from the story itself)."""
        with self._lock:
            got = {i: self._cards[i] for i in ids if i in self._cards}
        wanted = [i for i in dict.fromkeys(ids) if i not in got]
        if wanted:
            with self.connect() as conn:
                stored = site_index.cards(conn, wanted)
            missing = [i for i in wanted if i not in stored]
            made = {sid: s.card for sid, s in self.many(missing).items()} if missing else {}
            fresh = {i: Card.from_json(stored[i]) if i in stored else made[i]
                     for i in wanted if i in stored or i in made}
            got.update(fresh)
            with self._lock:  # a tag's front page, atom and JSON feeds show the same newest stories
                self._cards.update(fresh)
                while len(self._cards) > CACHE_CARDS:
                    self._cards.pop(next(iter(self._cards)))
        return [got[i] for i in ids if i in got]

    def line(self, storyline: str | None, around: str) -> tuple[list[Card], int]:
        """What ``readmodel.timeline`` shows of a storyline on the page of ``around``: from
        its first ``LINE_PREFIX`` stories when the window lies among them (every storyline
        of a few stories: one read, as the whole), else read around the story, so a
        storyline followed for years is not read whole for each page of it."""
        listing, span = f"l:{storyline}", readmodel.TIMELINE_SPAN
        with self.connect() as conn:
            ids = [sid for sid, _ in site_index.oldest_n(conn, listing, LINE_PREFIX)]
            got = None
            if len(ids) == LINE_PREFIX and (around not in ids or ids.index(around) + span >= len(ids)):
                got = site_index.around(conn, listing, around, span)
        # the storyline's first story is the prefix's first: read once
        shown, start = readmodel.timeline(ids, around) if got is None else readmodel.shown(ids[0], *got)
        return self.cards(shown), start

    def redirect(self, old: str) -> str | None:
        with self.connect() as conn:
            new = site_reads.redirect(conn, old)
        return new if new is not None and self.story(new) is not None else None

    def redirect_ids(self) -> list[str]:
        with self.connect() as conn:
            return site_reads.redirect_ids(conn)

    def cited(self, ids: Iterable[str]) -> dict[str, tuple[Article, str | None]]:
        ids = list(ids)
        with self.connect() as conn:
            arts = site_reads.articles(conn, ids)
            homes = site_reads.homes(conn, ids)
        return {i: (a, homes.get(i)) for i, a in arts.items()}

    # --- tags and outlets ----------------------------------------------------------

    @cached_property
    def tags(self) -> list[TagView]:
        """Every tag, most stories first (a tag with none too: it has its page)."""
        with self.connect() as conn:
            rows = site_reads.tag_rows(conn)
            counts = {lid[2:]: n for lid, n, _, _ in site_index.sizes(conn, "t:")}
        children: dict[str, list[str]] = {}
        for g in rows:
            if g.parent:
                children.setdefault(g.parent, []).append(g.id)
        views = [TagView(g.id, g.name, g.kind, list(g.aliases),
                         Listing(self, f"t:{g.id}", counts.get(g.id, 0)), g.parent,
                         sorted(children.get(g.id, []))) for g in rows]
        return sorted(views, key=lambda g: (-len(g.stories), g.name))

    @cached_property
    def _tag_by_id(self) -> dict[str, TagView]:
        return {g.id: g for g in self.tags}

    def tag(self, tid: str) -> TagView | None:
        return self._tag_by_id.get(tid)

    def tag_days(self, tag: TagView) -> dict[date, int]:
        """How many of the tag's stories began each day, as ``timeline_svg`` draws them: when
        its bars are months or years, each one's total under one day of it (its first; the
        timeline's first and last day for the first and last), read as a row a bar."""
        listing = f"t:{tag.id}"
        with self.connect() as conn:
            span = site_index.day_span(conn, listing)
            if span is None:
                return {}
            per = charts.grain(_day(span[0]), _day(span[1]))
            got = site_index.days(conn, listing, per)
        if per == site_index.DAY:
            return {_day(d): n for d, n in got.items()}
        start = 1 if per == site_index.MONTH else 101  # a month's (yyyymm) or year's (yyyy) first day
        ends = {span[0] // per: _day(span[0]), span[1] // per: _day(span[1])}
        return {ends.get(k) or _day(k * per + start): n for k, n in got.items()}

    def _outlets(self) -> list[OutletView]:
        with self.connect() as conn:
            rows = site_index.sizes(conn, "o:")
        views = [OutletView(name or "", lid[2:], Listing(self, lid, n), reports)
                 for lid, n, reports, name in rows]
        return sorted(views, key=lambda o: (-len(o.stories), o.name))

    @cached_property
    def _outlet_list(self) -> list[OutletView]:
        return self._outlets()

    def outlets(self) -> list[OutletView]:
        return self._outlet_list

    def outlet(self, oid: str) -> OutletView | None:
        return next((o for o in self._outlet_list if o.id == oid), None)

    def outlet_names(self) -> list[str]:
        return sorted(o.name for o in self._outlet_list)

    # --- the JSON API's long lists -------------------------------------------------

    def article_count(self) -> int:
        with self.connect() as conn:
            return site_reads.article_count(conn)

    def articles_json(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """One page of ``export articles``, as ``readmodel.article_json`` writes each."""
        with self.connect() as conn:
            page = site_reads.article_page(conn, offset, limit)
            ids = [a.id for a in page]
            homes = site_reads.homes(conn, ids)
            dups = site_reads.duplicate_of(conn, ids)
        return [{**readmodel.article_json(a, None), "story": homes.get(a.id),
                 "duplicate_of": dups.get(a.id)} for a in page]

    def tags_json(self) -> list[dict[str, Any]]:
        """``readmodel.tag_json`` of every tag, from ids alone (two reads for all of them)."""
        with self.connect() as conn:
            stories = site_index.members(conn, "t:")
            reports = site_reads.reports_by_story(conn)
        out = []
        for g in self.tags:
            ids = stories.get(f"t:{g.id}", [])
            out.append({"id": g.id, "name": g.name, "kind": g.kind, "aliases": g.aliases,
                        "parent": g.parent, "children": g.children, "stories": ids,
                        "articles": sorted({a for sid in ids for a in reports.get(sid, [])})})
        return out


def _day(yyyymmdd: int) -> date:
    return date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)

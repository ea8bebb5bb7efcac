"""What the store holds, as the JSON of CONTRACT.md — and the view the site renders.

``load`` reads everything publishable once into a :class:`Catalog`: the ``export``
command reads that, and so can a page (tests do). The site itself reads through
``matome.site.dbview``, which loads per page only the stories the page shows. Both
build each story with :func:`assemble` and order listings by the same keys, so what a
script exports and what a reader sees cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from matome.records import Article, Membership, StoryRow, Written
from matome.store import Store, site_reads
from matome.stories import members

# Pages show Japan time, as the outlets they cite write it.
JST = ZoneInfo("Asia/Tokyo")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A storyline's timeline puts undated stories first (as datetime.min would sort).
UNDATED_FIRST = -(2**62)
# Stories a story page's timeline shows on each side of it. A storyline has no length cap (a
# situation reported every few weeks runs for years); the whole of it on each of its pages,
# every page rendered again when it grows, would cost the square of its length per change.
TIMELINE_SPAN = 5


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def micros(dt: datetime) -> int:
    """A time as whole microseconds since 1970 UTC: an exact, portable sort key."""
    return ((dt if dt.tzinfo else dt.replace(tzinfo=UTC)) - _EPOCH) // timedelta(microseconds=1)


def outlet_id(name: str) -> str:
    """A stable, URL-safe id for an outlet's page."""
    return "o" + hashlib.sha1(name.encode()).hexdigest()[:10]


def jst_day(dt: datetime) -> date:
    return dt.astimezone(JST).date()


@dataclass
class StoryView:
    id: str
    articles: list[Article]          # every report, copies included, oldest first
    sources: list[Article]           # the reports it was written from
    written: dict[str, Written]
    tags: list[dict[str, str]] = field(default_factory=list)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    storyline: str | None = None
    follows: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)

    primary_format: str = "brief"

    @property
    def brief(self) -> Written | None:
        return self.written.get("brief")

    @property
    def primary(self) -> Written | None:
        """The format shown as ``article`` (``writer.primary``), else the brief, else any."""
        return (self.written.get(self.primary_format) or self.brief
                or next(iter(self.written.values()), None))

    @property
    def headline(self) -> str:
        p = self.primary
        return p.headline if p else (self.articles[0].title if self.articles else "")

    @property
    def first_published(self) -> datetime | None:
        dates = [a.published for a in self.articles if a.published]
        return min(dates) if dates else None

    @property
    def last_published(self) -> datetime | None:
        dates = [a.published for a in self.articles if a.published]
        return max(dates) if dates else None

    @property
    def outlets(self) -> list[str]:
        return sorted({a.source for a in self.articles})

    @property
    def last_key(self) -> int:
        """Where listings put it: its newest report's time (undated: 1970)."""
        last = self.last_published
        return micros(last) if last else 0

    @property
    def first_key(self) -> int:
        """Where its storyline's timeline puts it: its first report's time (undated: first)."""
        first = self.first_published
        return micros(first) if first else UNDATED_FIRST

    @property
    def card(self) -> Card:
        brief = self.brief
        summary = brief.lead if brief and brief.lead else (self.articles[0].text[:160] if self.articles
                                                            else "")
        return Card(self.id, self.headline, brief.subheadline if brief else None,
                    brief.lead if brief else None, summary, self.first_published,
                    self.last_published, len(self.outlets), len(self.articles), list(self.tags),
                    self.storyline, self.follows,
                    [(a.source, a.title, a.url) for a in self.sources])


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Card:
    """What a listing's item, a feed's entry or a storyline's timeline shows of a story.

    Made from the story when the site index takes it in (``matome.site.index``) and kept
    there, so a listing page, a feed or a timeline reads one row per story it shows
    instead of loading each story's reports and written formats: at 100k stories that
    load was most of an incremental build. ``StoryView.card`` makes the same from a story
    in memory, so both catalogs render identical pages.
    """

    id: str
    headline: str
    subheadline: str | None          # the brief's
    lead: str | None                 # the brief's
    summary: str                     # a feed's summary: the brief's lead, else the first report's opening
    first_published: datetime | None
    last_published: datetime | None
    outlets: int                     # how many outlets reported it
    reports: int                     # and how many reports, copies included
    tags: list[dict[str, str]]       # id and name, heaviest first
    storyline: str | None
    follows: str | None
    sources: list[tuple[str, str, str]]  # (outlet, title, url) of the reports it was written from

    def to_json(self) -> str:
        # the summary is most often the lead itself: kept once (null: "the lead"), a third of
        # a card's bytes (1,522 a card at 100k stored articles), fewer pages for a build to read
        summary = None if self.summary == self.lead else self.summary
        return json.dumps([self.id, self.headline, self.subheadline, self.lead, summary,
                           iso(self.first_published), iso(self.last_published), self.outlets,
                           self.reports, self.tags, self.storyline, self.follows,
                           [list(x) for x in self.sources]], ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Card:
        (sid, headline, sub, lead, summary, first, last, outlets, reports, tags, line, follows,
         sources) = json.loads(data)
        return cls(sid, headline, sub, lead, lead if summary is None else summary, _when(first),
                   _when(last), outlets, reports, tags, line, follows, [(a, b, c) for a, b, c in sources])


class StoryList(Sequence[StoryView]):
    """Stories newest first, as a listing holds them: by ``last_key``, then id, descending;
    with their ids and keys readable without the stories."""

    @abstractmethod
    def ids(self, start: int, stop: int) -> list[str]: ...

    @abstractmethod
    def keys(self, start: int, stop: int) -> list[tuple[str, int]]: ...

    @abstractmethod
    def cards(self, start: int, stop: int) -> list[Card]:
        """What pages and feeds show of the stories at newest-first positions [start, stop)."""


class Stories(list[StoryView], StoryList):
    """The in-memory listing; ``dbview.Listing`` reads the same from the store a page at a time."""

    def ids(self, start: int, stop: int) -> list[str]:
        return [s.id for s in self[start:stop]]

    def keys(self, start: int, stop: int) -> list[tuple[str, int]]:
        return [(s.id, s.last_key) for s in self[start:stop]]

    def cards(self, start: int, stop: int) -> list[Card]:
        return [s.card for s in self[start:stop]]


def newest_first(stories: Iterable[StoryView]) -> Stories:
    return Stories(sorted(stories, key=lambda s: (s.last_key, s.id), reverse=True))


@dataclass
class TagView:
    id: str
    name: str
    kind: str
    aliases: list[str]
    stories: StoryList               # newest first (Stories, or a dbview.Listing)
    parent: str | None = None
    children: list[str] = field(default_factory=list)


@dataclass
class OutletView:
    name: str
    id: str
    stories: StoryList               # newest first
    reports: int                     # its reports in those stories, copies included


@dataclass
class Catalog:
    """Everything publishable, in memory. Its methods are what pages read; ``dbview``
    answers the same from the store without holding the archive."""

    stories: Stories                 # newest first
    tags: list[TagView]              # most stories first
    articles: list[Article]
    story_of: dict[str, str]
    duplicate_of: dict[str, str | None]
    redirects: dict[str, str] = field(default_factory=dict)  # merged or regrouped story ids

    @cached_property
    def _by_id(self) -> dict[str, StoryView]:
        return {s.id: s for s in self.stories}

    @cached_property
    def _articles(self) -> dict[str, Article]:
        return {a.id: a for a in self.articles}

    @cached_property
    def _lines(self) -> dict[str | None, list[StoryView]]:
        lines: dict[str | None, list[StoryView]] = {}
        for s in sorted(self.stories, key=lambda s: (s.first_key, s.id)):
            lines.setdefault(s.storyline, []).append(s)
        return lines

    @cached_property
    def _outlets(self) -> list[OutletView]:
        by: dict[str, list[StoryView]] = {}
        for s in self.stories:
            for name in s.outlets:
                by.setdefault(name, []).append(s)
        views = [OutletView(name, outlet_id(name), Stories(st),
                            sum(1 for s in st for a in s.articles if a.source == name))
                 for name, st in by.items()]
        return sorted(views, key=lambda o: (-len(o.stories), o.name))

    def story(self, sid: str) -> StoryView | None:
        return self._by_id.get(sid)

    def tag(self, tid: str) -> TagView | None:
        return self._tags.get(tid)

    @cached_property
    def _tags(self) -> dict[str, TagView]:
        return {g.id: g for g in self.tags}

    def story_ids(self) -> Iterator[str]:
        return (s.id for s in self.stories)

    def prefetch(self, ids: Iterable[str]) -> None:
        """Nothing to do: everything is in memory."""

    def redirect(self, old: str) -> str | None:
        """Where an old story id leads, when that story exists."""
        new = self.redirects.get(old)
        return new if new is not None and self.story(new) is not None else None

    def redirect_ids(self) -> list[str]:
        return sorted(self.redirects)

    def line(self, storyline: str | None, around: str) -> tuple[list[Card], int]:
        """The stories of a storyline that the page of ``around`` shows, and where they
        start (``timeline``)."""
        views = {s.id: s for s in self._lines.get(storyline, [])}
        shown, start = timeline(list(views), around)
        return [views[i].card for i in shown], start

    def outlets(self) -> list[OutletView]:
        """Outlets with stories, most first, then by name."""
        return self._outlets

    def outlet(self, oid: str) -> OutletView | None:
        return next((o for o in self._outlets if o.id == oid), None)

    def outlet_names(self) -> list[str]:
        return sorted(o.name for o in self._outlets)

    def cited(self, ids: Iterable[str]) -> dict[str, tuple[Article, str | None]]:
        """Reports by id, with the story each is in (citations of earlier stories' reports)."""
        return {i: (self._articles[i], self.story_of.get(i)) for i in ids if i in self._articles}

    def tag_days(self, tag: TagView) -> dict[date, int]:
        """How many of the tag's stories began each day (Japan time)."""
        days: dict[date, int] = {}
        for s in tag.stories:
            if s.first_published:
                d = jst_day(s.first_published)
                days[d] = days.get(d, 0) + 1
        return days


def assemble(memberships: Iterable[Membership], articles: Iterable[Article],
             written: dict[str, dict[str, Written]], rows: dict[str, StoryRow],
             tags: dict[str, list[dict[str, str]]], primary: str) -> dict[str, StoryView]:
    """Stories (those with a report) from their rows, as every reader sees them."""
    memberships = list(memberships)
    written_from, everything = members.story_articles(memberships, members.reports(articles))
    evidence: dict[str, dict[str, Any]] = {}
    for m in memberships:
        evidence.setdefault(m.story_id, {})[m.article_id] = {"role": m.role, **m.evidence}

    def view(sid: str, arts: list[Article]) -> StoryView:
        row = rows.get(sid)
        return StoryView(sid, arts, written_from.get(sid, []), written.get(sid, {}),
                         tags=list(tags.get(sid, [])), evidence=evidence.get(sid, {}),
                         storyline=(row.storyline if row else None) or members.storyline_id(sid),
                         follows=row.follows if row else None,
                         flags=dict(row.flags) if row else {}, primary_format=primary)

    return {sid: view(sid, arts) for sid, arts in everything.items()}


def load_stories(conn: Connection, ids: Iterable[str], primary: str = "brief", *,
                 light: bool = False) -> dict[str, StoryView]:
    """Just these stories, as :func:`load` would make them (those with no report: absent).

    ``light``: of what was written, only the primary format and the brief — all that a
    listing, a feed, a timeline or search shows of a story (its headline, subheadline and
    lead) — unless it has neither, when its headline comes from another format.
    """
    ids = sorted(set(ids))
    ms = site_reads.memberships(conn, ids)
    arts = site_reads.articles(conn, {m.article_id for m in ms})
    written = site_reads.written(conn, ids, [primary, "brief"] if light else None)
    if light:
        written.update(site_reads.written(conn, [i for i in ids if i not in written]))
    return assemble(ms, (arts[m.article_id] for m in ms if m.article_id in arts), written,
                    site_reads.story_rows(conn, ids), site_reads.story_tags(conn, ids), primary)


def load(store: Store, primary: str = "brief") -> Catalog:
    articles = store.articles()
    memberships = store.memberships()
    tag_rows = {g.id: g for g in store.tags()}
    names: dict[str, list[dict[str, str]]] = {}
    for st in store.story_tags():
        g = tag_rows.get(st.tag_id)
        if g is not None:
            names.setdefault(st.story_id, []).append({"id": g.id, "name": g.name})
    stories = assemble(memberships, articles, store.written(),
                       {r.id: r for r in store.stories()}, names, primary)
    by_tag: dict[str, list[StoryView]] = {}
    for s in stories.values():
        for t in s.tags:
            by_tag.setdefault(t["id"], []).append(s)
    tags = [TagView(g.id, g.name, g.kind, list(g.aliases), newest_first(by_tag.get(g.id, [])),
                    g.parent, sorted(c.id for c in tag_rows.values() if c.parent == g.id))
            for g in tag_rows.values()]
    tags.sort(key=lambda g: (-len(g.stories), g.name))
    story_of = {m.article_id: m.story_id for m in memberships}
    dup = {r.article_id: r.duplicate_of for r in store.dedupe_rows()}
    return Catalog(newest_first(stories.values()), tags, articles, story_of, dup, store.redirects())


def written_json(w: Written) -> dict[str, Any]:
    """One written format as the contract's ``article`` object (plus what it extends it with)."""
    return {
        "format": w.format, "headline": w.headline,
        "subheadline": w.subheadline, "lead": w.lead,
        "lead_citations": [{"article": c.article, "quote": c.quote} for c in w.lead_citations],
        "sections": [
            {"name": sec.name,
             "sentences": [{"text": x.text,
                            "citations": [{"article": c.article, "quote": c.quote}
                                          for c in x.citations],
                            **({"kind": x.kind} if x.kind != "span" else {})}
                           for x in sec.sentences],
             **({"sources": sec.sources} if sec.sources else {})}
            for sec in w.sections
        ],
        "conflicts": [c.to_json() for c in w.conflicts],
        "provenance": w.provenance.to_json(),
        "verification": w.report.to_json(changes=False),
    }


def story_json(s: StoryView, *, evidence: bool = False) -> dict[str, Any]:
    primary = s.primary
    article = written_json(primary) if primary is not None else None
    out: dict[str, Any] = {
        "id": s.id,
        "storyline": s.storyline,
        "follows": s.follows,
        "headline": s.headline,
        "first_published": iso(s.first_published),
        "last_published": iso(s.last_published),
        "tags": s.tags,
        "articles": [{"id": a.id, "url": a.url, "title": a.title, "source": a.source,
                      "published": iso(a.published)} for a in s.articles],
        "article": article,
    }
    others = {f: written_json(w) for f, w in sorted(s.written.items())
              if primary is None or f != primary.format}
    if others:
        out["formats"] = others  # the other formats written, keyed by name
    out["conflicts"] = article["conflicts"] if article is not None else []
    if evidence:
        out["evidence"] = s.evidence
    return out


def tag_json(g: TagView) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "kind": g.kind, "aliases": g.aliases,
            "parent": g.parent, "children": g.children,
            "stories": [s.id for s in g.stories],
            "articles": sorted({a.id for s in g.stories for a in s.articles})}


def article_json(a: Article, cat: Catalog | None) -> dict[str, Any]:
    """One report as ``export articles`` writes it (``cat`` None: its story and original
    left for the caller to fill in)."""
    return {"id": a.id, "url": a.url, "title": a.title, "subtitle": a.subtitle, "text": a.text,
            "published": iso(a.published), "published_raw": a.published_raw,
            "source": a.source, "lang": a.lang, "author": a.author,
            "encoding": a.encoding, "encoding_reason": a.encoding_reason,
            "kind": a.kind, "flags": list(a.flags), "updated": a.updated or None,
            "country": a.country or None,
            "story": cat.story_of.get(a.id) if cat else None,
            "duplicate_of": cat.duplicate_of.get(a.id) if cat else None}


def export(store: Store, what: str, *, evidence: bool = False,
           primary: str = "brief") -> Iterator[dict[str, Any]]:
    """``primary``: the format shown as each story's ``article`` (``writer.primary``)."""
    if store.empty:
        return
    cat = load(store, primary)
    if what == "stories":
        for s in sorted(cat.stories, key=lambda s: (iso(s.first_published) or "", s.id)):
            yield story_json(s, evidence=evidence)
    elif what == "tags":
        for g in sorted(cat.tags, key=lambda g: g.id):
            yield tag_json(g)
    elif what == "articles":
        for a in cat.articles:
            yield article_json(a, cat)


def timeline(ids: Sequence[str], around: str, span: int | None = None) -> tuple[list[str], int]:
    """Of a storyline's stories ``ids`` (oldest first), those the page of ``around`` shows in
    its timeline, oldest first: up to ``span`` on each side of it, and the storyline's first
    story when that is further back; and the place of the first of the former (0: the
    storyline is shown from its start, nothing is left out). What the page shows depends only
    on the stories up to ``span`` after it (and the first): a story added at the end changes
    the pages of the ``span`` before it, not every page of the storyline
    (``matome.site.build.plan``)."""
    span = TIMELINE_SPAN if span is None else span
    try:
        i = ids.index(around)
    except ValueError:
        return list(ids[: span + 1]), 0
    lo = max(0, i - span)
    return shown(ids[0], ids[lo : i + span + 1], lo)


def shown(first: str, part: Sequence[str], lo: int) -> tuple[list[str], int]:
    """A timeline of ``part``, the stories from place ``lo`` of their storyline on, and its
    ``first`` story before them when it is not among them (``timeline``)."""
    return ([first] if lo > 0 else []) + list(part), lo

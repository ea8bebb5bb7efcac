"""What the store holds, as the JSON of CONTRACT.md — and the view the site renders.

``load`` reads everything publishable once into a :class:`Catalog`; the
``export`` command, the static site and the server all read that one view,
so what a script exports and what a reader sees cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from matome.records import Article, Written
from matome.store import Store
from matome.stories import members


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


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


@dataclass
class TagView:
    id: str
    name: str
    kind: str
    aliases: list[str]
    stories: list[StoryView]
    parent: str | None = None
    children: list[str] = field(default_factory=list)


@dataclass
class Catalog:
    stories: list[StoryView]         # newest first
    tags: list[TagView]              # most stories first
    articles: list[Article]
    story_of: dict[str, str]
    duplicate_of: dict[str, str | None]
    redirects: dict[str, str] = field(default_factory=dict)  # merged or regrouped story ids

    def story(self, sid: str) -> StoryView | None:
        return next((s for s in self.stories if s.id == sid), None)

    def tag(self, tid: str) -> TagView | None:
        return next((g for g in self.tags if g.id == tid), None)


def load(store: Store, primary: str = "brief") -> Catalog:
    articles = store.articles()
    memberships = store.memberships()
    written_from, everything = members.story_articles(memberships, members.reports(articles))
    written = store.written()
    tag_rows = {g.id: g for g in store.tags()}
    evidence: dict[str, dict[str, Any]] = {}
    story_of: dict[str, str] = {}
    for m in memberships:
        evidence.setdefault(m.story_id, {})[m.article_id] = {"role": m.role, **m.evidence}
        story_of[m.article_id] = m.story_id
    rows = {r.id: r for r in store.stories()}

    def view(sid: str, arts: list[Article]) -> StoryView:
        row = rows.get(sid)
        return StoryView(sid, arts, written_from.get(sid, []), written.get(sid, {}),
                         evidence=evidence.get(sid, {}),
                         storyline=(row.storyline if row else None) or members.storyline_id(sid),
                         follows=row.follows if row else None,
                         flags=dict(row.flags) if row else {}, primary_format=primary)

    stories = {sid: view(sid, arts) for sid, arts in everything.items()}
    by_tag: dict[str, list[StoryView]] = {}
    for st in store.story_tags():
        s = stories.get(st.story_id)
        g = tag_rows.get(st.tag_id)
        if s is None or g is None:
            continue
        s.tags.append({"id": g.id, "name": g.name})
        by_tag.setdefault(g.id, []).append(s)
    ordered = sorted(stories.values(), key=_newest_first)
    tags = [TagView(g.id, g.name, g.kind, list(g.aliases),
                    sorted(by_tag.get(g.id, []), key=_newest_first), g.parent,
                    sorted(c.id for c in tag_rows.values() if c.parent == g.id))
            for g in tag_rows.values()]
    tags.sort(key=lambda g: (-len(g.stories), g.name))
    dup = {r.article_id: r.duplicate_of for r in store.dedupe_rows()}
    return Catalog(ordered, tags, articles, story_of, dup, store.redirects())


def _newest_first(s: StoryView) -> tuple[float, str]:
    last = s.last_published
    return (-(last.timestamp() if last else 0.0), s.id)


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


def article_json(a: Article, cat: Catalog) -> dict[str, Any]:
    return {"id": a.id, "url": a.url, "title": a.title, "subtitle": a.subtitle, "text": a.text,
            "published": iso(a.published), "published_raw": a.published_raw,
            "source": a.source, "lang": a.lang, "author": a.author,
            "encoding": a.encoding, "encoding_reason": a.encoding_reason,
            "kind": a.kind, "flags": list(a.flags), "updated": a.updated or None,
            "country": a.country or None,
            "story": cat.story_of.get(a.id), "duplicate_of": cat.duplicate_of.get(a.id)}


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

"""Publish stage: the site, rendered from one Jinja2 template set.

``Site.render(path)`` makes any page from a catalog — the whole one in memory
(``readmodel.Catalog``) or one that reads the store per page (``dbview.DbCatalog``);
``site build`` writes them (``matome.site.build``: all, or only what changed) and
``serve`` calls the same ``render`` live — one set of pages, two ways to publish.
Templates autoescape everything; source URLs pass :func:`safe_url` so a hostile feed
cannot plant a ``javascript:`` link.

Listings (the index, a tag's, an outlet's) page from the oldest: archive page 1 holds
the first stories ever listed, and the front page the newest, between one and two
pages' worth. A new story changes the front page, not every page after it, so an
archive page stays as it was until a story on it changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from matome import __version__
from matome.records import Article, Citation
from matome.settings import Settings
from matome.site import feeds
from matome.site.charts import coverage_svg, jdate, timeline_svg
from matome.site.readmodel import JST, Card, OutletView, StoryList, StoryView, TagView, iso, outlet_id

# The page being rendered, for its canonical link. A context variable, not an
# attribute of the shared Site: the server renders pages in several threads.
_PAGE: ContextVar[str] = ContextVar("matome_page", default="index.html")

MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".atom": "application/atom+xml",
               ".json": "application/feed+json", ".xml": "application/xml",
               ".txt": "text/plain; charset=utf-8"}

KINDS = [("theme", "テーマ"), ("organization", "組織・団体"), ("person", "人物"), ("place", "国・地域"),
         ("other", "その他")]
MANIFEST = ".matome-build.json"  # what a static build was made from (matome.site.build)
SITEMAP_CHUNK = 2000   # stories per sitemap file, from the oldest: only the newest files change
SITEMAP_BUCKETS = 16   # tag sitemap files, by a hash of the tag id: a new tag changes one
_PAGED = re.compile(r"(.+)-p(\d+)")
_PREFETCH = 200        # story pages rendered per read of their stories


class CatalogView(Protocol):
    """What pages read: ``readmodel.Catalog`` (in memory) or ``dbview.DbCatalog`` (the store)."""

    @property
    def stories(self) -> StoryList: ...
    @property
    def tags(self) -> list[TagView]: ...
    def story(self, sid: str) -> StoryView | None: ...
    def tag(self, tid: str) -> TagView | None: ...
    def story_ids(self) -> Iterator[str]: ...
    def prefetch(self, ids: Iterable[str]) -> None: ...
    def redirect(self, old: str) -> str | None: ...
    def redirect_ids(self) -> list[str]: ...
    def line(self, storyline: str | None, around: str) -> tuple[list[Card], int]: ...
    def outlets(self) -> list[OutletView]: ...
    def outlet(self, oid: str) -> OutletView | None: ...
    def outlet_names(self) -> list[str]: ...
    def cited(self, ids: Iterable[str]) -> dict[str, tuple[Article, str | None]]: ...
    def tag_days(self, tag: TagView) -> dict[date, int]: ...


def safe_url(url: str) -> str:
    return feeds.web_url(url) or "#"


def jdate_iso(value: str) -> str:
    try:
        d = datetime.fromisoformat(value).astimezone(JST)
    except (TypeError, ValueError):
        return ""
    return f"{d.year}/{d.month:02d}/{d.day:02d}"


def _env() -> Environment:
    env = Environment(loader=PackageLoader("matome.site", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(jdate=jdate, jdate_iso=jdate_iso, safe_url=safe_url, outlet_id=outlet_id,
                       web_url=lambda u: feeds.web_url(u) or "")
    return env


class Site:
    def __init__(self, catalog: CatalogView, settings: Settings) -> None:
        self.cat = catalog
        self.settings = settings
        self.env = _env()
        self.per_page = max(1, settings.site.stories_per_page)
        self.live = False  # served by `matome serve`: pages offer search
        self.sitemap_chunk = SITEMAP_CHUNK
        self._buckets: dict[int, list[str]] | None = None

    def _render(self, template: str, root: str, **ctx: Any) -> str:
        ctx.setdefault("page_path", _PAGE.get())
        ctx.setdefault("live", self.live)
        ctx.setdefault("card", lambda s: story_item(s, root))
        return self.env.get_template(template).render(site=self.settings.site, root=root,
                                                      version=__version__, **ctx)

    # --- which pages exist ---------------------------------------------------------

    def archive(self, n: int) -> int:
        """How many archive pages a listing of ``n`` stories has besides its front page."""
        return max(0, n // self.per_page - 1)

    def sitemap_chunks(self) -> int:
        return -(-len(self.cat.stories) // self.sitemap_chunk)

    def paths(self) -> Iterator[str]:
        """Every page of the site."""
        yield "about.html"
        yield from (f"page-{k}.html" for k in range(1, self.archive(len(self.cat.stories)) + 1))
        yield from (f"stories/{sid}.html" for sid in self.cat.story_ids())
        yield from (f"stories/{old}.html" for old in self.cat.redirect_ids())
        for g in self.cat.tags:
            yield from self.tag_paths(g.id, len(g.stories))
        for o in self.cat.outlets():
            yield from self.outlet_paths(o.id, len(o.stories))
        yield from self.shared_paths()
        yield from self.sitemap_files()

    def tag_paths(self, tid: str, n: int) -> Iterator[str]:
        yield f"tags/{tid}.html"
        yield from (f"tags/{tid}-p{k}.html" for k in range(1, self.archive(n) + 1))
        yield f"tags/{tid}.atom"
        yield f"tags/{tid}.json"

    def outlet_paths(self, oid: str, n: int) -> Iterator[str]:
        yield f"outlets/{oid}.html"
        yield from (f"outlets/{oid}-p{k}.html" for k in range(1, self.archive(n) + 1))

    def shared_paths(self) -> list[str]:
        """Pages any change may touch: front pages, the lists of themes and outlets, feeds."""
        return ["index.html", "tags/index.html", "outlets/index.html", "feed.atom", "feed.json",
                "sitemap.xml", "sitemaps/site.xml", "robots.txt"]

    def sitemap_files(self) -> Iterator[str]:
        """The sitemap files sitemap.xml lists besides sitemaps/site.xml."""
        yield from (f"sitemaps/stories-{c}.xml" for c in range(1, self.sitemap_chunks() + 1))
        yield from (f"sitemaps/tags-{h:x}.xml" for h in sorted(self._tag_buckets()))

    def _tag_buckets(self) -> dict[int, list[str]]:
        if self._buckets is None:
            self._buckets = {}
            for g in self.cat.tags:
                self._buckets.setdefault(tag_bucket(g.id), []).append(g.id)
        return self._buckets

    # --- pages -----------------------------------------------------------------------

    def _pager(self, stories: StoryList, page: int,
               name: Any) -> tuple[Sequence[Card], dict[str, Any]] | None:
        """The stories of page ``page`` (0: the front page) of a listing newest first, and its
        links; None when there is no such page. Archive page k holds the k-th ``per_page``
        stories counted from the oldest, the front page all newer ones."""
        n, pp = len(stories), self.per_page
        archive = self.archive(n)
        if page == 0:
            chunk = stories.cards(0, n - archive * pp)
            return chunk, {"page": archive + 1, "pages": archive + 1, "label": "最新", "prev": None,
                           "next": name(archive) if archive else None}
        if not 1 <= page <= archive:
            return None
        chunk = stories.cards(n - page * pp, n - (page - 1) * pp)
        return chunk, {"page": page, "pages": archive + 1, "label": _span(chunk),
                       "prev": name(page + 1) if page < archive else name(0),
                       "next": name(page - 1) if page > 1 else None}

    def search_page(self, query: str, total: int, hits: list[Any], page: int,
                    filters: dict[str, str], cut_off: bool = False, capped: bool = False) -> str:
        """The search page; ``capped``: ``total`` is the cap, more matched (said so)."""
        from urllib.parse import urlencode

        pages = max(1, -(-total // self.per_page))

        def link(p: int) -> str:
            return "/search?" + urlencode({"q": query, **{k: v for k, v in filters.items() if v},
                                           "page": p})

        pager = {"page": page, "pages": pages, "prev": link(page - 1) if page > 1 else None,
                 "next": link(page + 1) if page < pages else None}
        _PAGE.set("search")
        return self._render("search.html", "/", query=query, total=total, hits=hits,
                            pager=pager, cut_off=cut_off, capped=capped, tags=self.cat.tags,
                            outlets=self.cat.outlet_names(), **filters)

    def redirect(self, path: str) -> str | None:
        """Where a merged or regrouped story's old page now lives (``stories/<id>.html``)."""
        path = path.strip("/")
        if path.startswith("stories/") and path.endswith(".html"):
            new = self.cat.redirect(path[8:-5])
            if new is not None:
                return f"stories/{new}.html"
        return None

    def render(self, path: str) -> str | None:
        """The page at ``path`` (relative to the site root), or None."""
        path = path.strip("/") or "index.html"
        _PAGE.set(path)
        if path == "index.html" or (path.startswith("page-") and path.endswith(".html")):
            page = 0 if path == "index.html" else _int(path[5:-5])
            return self._index(page) if page is not None else None
        if path == "about.html":
            return self._render("about.html", "")
        if path == "tags/index.html":
            return self._render("tags.html", "../", tags=self.cat.tags, kinds=KINDS)
        if path.startswith("stories/") and path.endswith(".html"):
            story = self.cat.story(path[8:-5])
            if story is None and (target := self.redirect(path)) is not None:
                # a static host cannot send 301: a page that says where the story went
                return self._render("moved.html", "../", target=target)
            return self._story(story) if story else None
        if (feed := self._feed(path)) is not None:
            return feed
        if path == "outlets/index.html":
            return self._render("outlets.html", "../", outlets=[
                (o.name, o.id, len(o.stories)) for o in self.cat.outlets()])
        if path.startswith("outlets/") and path.endswith(".html"):
            oid, page = _paged(path[8:-5], lambda x: self.cat.outlet(x) is not None)
            outlet = self.cat.outlet(oid)
            return self._outlet(outlet, page) if outlet and page is not None else None
        if path.startswith("tags/") and path.endswith(".html"):
            tid, page = _paged(path[5:-5], lambda x: self.cat.tag(x) is not None)
            tag = self.cat.tag(tid)
            return self._tag(tag, page) if tag and page is not None else None
        return None

    def _feed(self, path: str) -> str | None:
        site = self.settings.site
        if path in {"feed.atom", "feed.json"}:
            make = feeds.atom if path.endswith(".atom") else feeds.json_feed
            return make(site, self.cat.stories, path)
        if path.startswith("tags/") and path.endswith((".atom", ".json")):
            tag = self.cat.tag(path[5:].rsplit(".", 1)[0])
            if tag is None:
                return None
            make = feeds.atom if path.endswith(".atom") else feeds.json_feed
            return make(site, tag.stories, path, f"「{tag.name}」をテーマとした記事 | {site.title}", tag)
        if path == "sitemap.xml":
            return feeds.sitemap_index(site, ["sitemaps/site.xml", *self.sitemap_files()])
        if path == "sitemaps/site.xml":
            newest = self.cat.stories.keys(0, 1)
            return feeds.sitemap(site, [("index.html", _utc(newest[0][1]) if newest else None),
                                        ("tags/index.html", None), ("about.html", None)])
        if path.startswith("sitemaps/stories-") and path.endswith(".xml"):
            c = _int(path[17:-4])
            n = len(self.cat.stories)
            if c is None or c > self.sitemap_chunks():
                return None
            size = self.sitemap_chunk
            keys = self.cat.stories.keys(max(0, n - c * size), n - (c - 1) * size)
            return feeds.sitemap(site, [(f"stories/{sid}.html", _utc(key)) for sid, key in reversed(keys)])
        if path.startswith("sitemaps/tags-") and path.endswith(".xml"):
            ids = self._tag_buckets().get(int(path[14:-4], 16) if _hex(path[14:-4]) else -1)
            return feeds.sitemap(site, [(f"tags/{tid}.html", None) for tid in sorted(ids)]) if ids else None
        if path == "robots.txt":
            return feeds.robots(site)
        return None

    def _index(self, page: int) -> str | None:
        got = self._pager(self.cat.stories, page, lambda p: "index.html" if p == 0 else f"page-{p}.html")
        if got is None:
            return None
        chunk, pager = got
        return self._render("index.html", "", stories=chunk, pager=pager,
                            top_tags=self.cat.tags[:20] if page == 0 else [])

    def _outlet(self, outlet: OutletView, page: int) -> str | None:
        oid = outlet.id
        got = self._pager(outlet.stories, page, lambda p: f"{oid}.html" if p == 0 else f"{oid}-p{p}.html")
        if got is None:
            return None
        chunk, pager = got
        # the count on the front page only: it changes with every report, archive pages need not
        return self._render("outlet.html", "../", outlet=outlet.name,
                            reports=outlet.reports if page == 0 else None, stories=chunk, pager=pager)

    def _tag(self, tag: TagView, page: int) -> str | None:
        got = self._pager(tag.stories, page,
                          lambda p: f"{tag.id}.html" if p == 0 else f"{tag.id}-p{p}.html")
        if got is None:
            return None
        chunk, pager = got
        parent = self.cat.tag(tag.parent) if tag.parent else None
        children = [c for c in (self.cat.tag(cid) for cid in tag.children) if c is not None]
        return self._render("tag.html", "../", tag=tag, stories=chunk, pager=pager,
                            parent=parent, children=children,
                            timeline=Markup(timeline_svg(self.cat.tag_days(tag))) if page == 0 else "")

    def _story(self, story: StoryView) -> str:
        numbers = {a.id: i for i, a in enumerate(story.articles, start=1)}
        own = {a.id: a for a in story.articles}
        counter = iter(range(1, 1_000_000))
        # reports of earlier stories that the explainer or ■解説 cite, and where each now is
        elsewhere = self.cat.cited({c.article for w in story.written.values() for c in _citations(w)}
                                   - set(own))

        def cite(c: Citation) -> Markup:
            # The quoted span shows on hover, on keyboard focus and on tap (a
            # tapped link takes focus): CSS only, no script under the CSP.
            # A report of an earlier story (the explainer, ■解説) is numbered
            # after this story's own and links to the story it belongs to.
            n = numbers.setdefault(c.article, len(numbers) + 1)
            k = next(counter)
            a, home = ((own[c.article], story.id) if c.article in own
                       else elsewhere.get(c.article, (None, None)))
            href = f"#src-{c.article}" if c.article in own else (
                f"{home}.html" if home else safe_url(a.url if a is not None else ""))
            # escape() and an f-string, not Markup.format: the same bytes, and Markup.format's
            # string.Formatter was a tenth of a story page's rendering (40k citations at 100k)
            by = escape(a.source if a is not None else "")
            return Markup(
                f'<span class="cite"><a href="{escape(href)}" aria-describedby="q{k}">[{n}]</a>'
                f'<span class="quote" role="tooltip" id="q{k}">「{escape(c.quote)}」'
                f'<span class="by">— {by}</span></span></span>')

        b = story.primary
        # the other formats this site publishes (site.formats), in its order
        shown = [story.written[f] for f in self.settings.site.formats
                 if f in story.written and (b is None or f != b.format)]
        jsonld = {
            "@context": "https://schema.org", "@type": "NewsArticle",
            "headline": story.headline, "inLanguage": "ja",
            "datePublished": iso(story.first_published), "dateModified": iso(story.last_published),
            "isBasedOn": [u for a in story.articles if (u := feeds.web_url(a.url))],
            "citation": [{"@type": "NewsArticle", "headline": a.title, "url": feeds.web_url(a.url),
                          "publisher": a.source} for a in story.articles],
            "creativeWorkStatus": "AI-organised from cited reports",
            "provenance": b.provenance.to_json() if b else None,
        }
        # machine-readable provenance of every format on the page, beside the disclaimer
        provenance = {w.format: {**w.provenance.to_json(), "verification": w.report.to_json(changes=False)}
                      for w in [*([b] if b else []), *shown]}
        timeline, start = self.cat.line(story.storyline, story.id)
        return self._render("story.html", "../", story=story, cite=cite, jsonld=jsonld,
                            coverage=Markup(coverage_svg(story)), timeline=timeline, timeline_start=start,
                            b=b, formats=shown, provenance=provenance, writer=self.settings.writer)

    def rendered(self, paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
        """(path, page or None) for each of ``paths``, reading the stories of consecutive
        story pages a batch at a time."""
        batch: list[str] = []

        def flush() -> Iterator[tuple[str, str | None]]:
            self.cat.prefetch(p[8:-5] for p in batch)
            for p in batch:
                yield p, self.render(p)
            batch.clear()

        for path in paths:
            if path.startswith("stories/"):
                batch.append(path)
                if len(batch) >= _PREFETCH:
                    yield from flush()
                continue
            yield from flush()
            yield path, self.render(path)
        yield from flush()

    def build(self, out: Path, manifest: dict[str, Any] | None = None) -> int:
        """Write every page into a fresh directory that then replaces ``out`` whole (with
        ``manifest``, for ``matome.site.build``). Returns the page count."""
        out = out.absolute()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        count = 0
        try:
            for path, page in self.rendered(self.paths()):
                if page is None:
                    continue
                target = tmp / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(page, encoding="utf-8")
                count += 1
            static = tmp / "static"
            static.mkdir(exist_ok=True)
            for item in resources.files("matome.site").joinpath("static").iterdir():
                (static / item.name).write_bytes(item.read_bytes())
            if manifest is not None:
                (tmp / MANIFEST).write_text(json.dumps(manifest, sort_keys=True) + "\n", "utf-8")
            os.chmod(tmp, 0o755)
            _swap(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return count


def _swap(new: Path, out: Path) -> None:
    if not out.exists():
        new.rename(out)
        return
    old = out.with_name(f".{out.name}-old-{os.getpid()}")
    out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _citations(w: Any) -> Iterator[Citation]:
    yield from w.lead_citations
    for sec in w.sections:
        for x in sec.sentences:
            yield from x.citations


def story_item(s: Card, root: str) -> Markup:
    """A story's item in a listing (the index's, a tag's, an outlet's), escaped as the
    templates escape. Written here, not as a template: an include makes a new context
    for each item (39 µs an item, against 21 here, on the 100k store's newest 2,000 cards),
    and a build at 100k stored articles renders over ten thousand items, in fuller
    listings the larger the archive."""
    sub = f'<p class="sub">{escape(s.subheadline)}</p>' if s.subheadline else ""
    lead = f'<p class="lead">{escape(s.lead)}</p>' if s.lead else ""
    when = (f'<time datetime="{escape(s.last_published.isoformat())}">'
            f'{escape(jdate(s.last_published))}</time>' if s.last_published else "")
    r = escape(root)
    tags = "".join(f'<a class="tag" href="{r}tags/{escape(t["id"])}.html">{escape(t["name"])}</a>'
                   for t in s.tags[:4])
    return Markup(f'<li class="story-item">\n  <h3><a href="{r}stories/{escape(s.id)}.html">'
                  f'{escape(s.headline)}</a></h3>\n{sub}{lead}  <p class="meta">\n{when}    · '
                  f'{escape(s.outlets)}媒体・{escape(s.reports)}件の報道\n{tags}  </p>\n</li>')


def _span(stories: Sequence[Card]) -> str:
    """An archive page's label: the days its stories were last reported (Japan time)."""
    days = sorted(s.last_published.astimezone(JST).date() for s in stories if s.last_published)
    if not days:
        return "過去の記事"
    first, last = days[0], days[-1]
    head = f"{first.year}年{first.month}月{first.day}日"
    if last == first:
        return head
    return head + "〜" + (f"{last.month}月{last.day}日" if last.year == first.year
                         else f"{last.year}年{last.month}月{last.day}日")


def tag_bucket(tid: str) -> int:
    """Which tag sitemap file lists a tag."""
    return int(hashlib.sha1(tid.encode()).hexdigest()[0], 16) % SITEMAP_BUCKETS


def _utc(key: int) -> datetime | None:
    """A listing key as a time (0: undated, as listings place undated stories)."""
    return datetime.fromtimestamp(key / 1_000_000, UTC) if key else None


def _paged(stem: str, exists: Any) -> tuple[str, int | None]:
    """(listing id, page: 0 the front) of ``<id>`` or ``<id>-p<k>``."""
    m = _PAGED.fullmatch(stem)
    if m is None or exists(stem):
        return stem, 0
    return m.group(1), _int(m.group(2))


def _hex(s: str) -> bool:
    return len(s) == 1 and s in "0123456789abcdef"


def _int(s: str) -> int | None:
    return int(s) if s.isdigit() and int(s) > 0 else None


__all__ = ["Site", "outlet_id"]

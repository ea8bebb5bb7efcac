"""Publish stage: the site, rendered from one Jinja2 template set.

``Site.render(path)`` makes any page; ``site build`` writes them all into a
fresh directory and swaps it in atomically, and ``serve`` calls the same
``render`` live — one set of pages, two ways to publish. Templates
autoescape everything; source URLs pass :func:`safe_url` so a hostile feed
cannot plant a ``javascript:`` link.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, date, datetime
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from matome import __version__
from matome.records import Article, Citation
from matome.settings import Settings
from matome.site import feeds
from matome.site.readmodel import Catalog, StoryView, TagView, iso

# The page being rendered, for its canonical link. A context variable, not an
# attribute of the shared Site: the server renders pages in several threads.
_PAGE: ContextVar[str] = ContextVar("matome_page", default="index.html")

# Pages show Japan time, as the outlets they cite write it.
JST = ZoneInfo("Asia/Tokyo")
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".atom": "application/atom+xml",
               ".json": "application/feed+json", ".xml": "application/xml",
               ".txt": "text/plain; charset=utf-8"}

KINDS = [("theme", "テーマ"), ("organization", "組織・団体"), ("person", "人物"), ("place", "国・地域"),
         ("other", "その他")]


def safe_url(url: str) -> str:
    return feeds.web_url(url) or "#"


def jdate(dt: datetime | None) -> str:
    if dt is None:
        return ""
    local = dt.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


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


def coverage_svg(story: StoryView) -> str:
    """Which outlet reported when: one row per outlet, one dot per report."""
    dated = [a for a in story.articles if a.published]
    if not dated:
        return ""
    outlets = sorted({a.source for a in dated})
    t0 = min(a.published.timestamp() for a in dated if a.published)
    t1 = max(a.published.timestamp() for a in dated if a.published)
    span = max(t1 - t0, 3600.0)
    width, left, row = 640, 150, 22
    height = row * len(outlets) + 30
    parts = [f'<svg class="coverage" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="媒体別の報道時刻">']
    for i, outlet in enumerate(outlets):
        y = 14 + i * row
        parts.append(f'<text x="0" y="{y + 4}">{escape(outlet[:12])}</text>'
                     f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#d9dce1"/>')
        for a in dated:
            if a.source == outlet and a.published:
                x = left + (a.published.timestamp() - t0) / span * (width - left - 20)
                parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="#0b57a4">'
                             f'<title>{escape(a.title)} {escape(jdate(a.published))}</title></circle>')
    first = min(a.published for a in dated if a.published)
    parts.append(f'<text x="{left}" y="{height - 4}">{escape(jdate(first))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(stories: list[StoryView]) -> str:
    """A theme's timeline: one bar per day, as tall as the stories that began that day."""
    days: dict[date, int] = {}
    for st in stories:
        if st.first_published:
            d = st.first_published.astimezone(JST).date()
            days[d] = days.get(d, 0) + 1
    if not days:
        return ""
    first, last = min(days), max(days)
    n_days = (last - first).days + 1
    width, height, base = 640, 90, 70
    step = (width - 20) / max(n_days, 1)
    top = max(days.values())
    parts = [f'<svg class="timeline-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="日ごとのストーリー数（{first.isoformat()}〜{last.isoformat()}）">',
             f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#d9dce1"/>']
    for d, count in sorted(days.items()):
        x = 10 + (d - first).days * step
        h = 8 + 52 * count / top
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(step - 2, 3):.1f}" '
                     f'height="{h:.1f}" fill="#0b57a4"><title>{d.month}月{d.day}日: '
                     f'{count}件</title></rect>')
    parts.append(f'<text x="10" y="{height - 4}">{first.year}年{first.month}月{first.day}日</text>')
    if last != first:
        parts.append(f'<text x="{width - 10}" y="{height - 4}" text-anchor="end">'
                     f'{last.month}月{last.day}日</text>')
    parts.append("</svg>")
    return "".join(parts)


class Site:
    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.cat = catalog
        self.settings = settings
        self.env = _env()
        self.per_page = max(1, settings.site.stories_per_page)
        self.live = False  # served by `matome serve`: pages offer search
        self._outlet_cache: dict[str, list[StoryView]] | None = None
        self._articles = {a.id: a for a in catalog.articles}

    def _article(self, article_id: str) -> Article | None:
        return self._articles.get(article_id)

    def _render(self, template: str, root: str, **ctx: Any) -> str:
        ctx.setdefault("page_path", _PAGE.get())
        ctx.setdefault("live", self.live)
        return self.env.get_template(template).render(site=self.settings.site, root=root,
                                                      version=__version__, **ctx)

    def paths(self) -> Iterator[str]:
        yield "index.html"
        for p in range(2, self._pages(len(self.cat.stories)) + 1):
            yield f"page-{p}.html"
        yield "about.html"
        yield "tags/index.html"
        for s in self.cat.stories:
            yield f"stories/{s.id}.html"
        for old in sorted(self.cat.redirects):
            yield f"stories/{old}.html"
        for g in self.cat.tags:
            yield f"tags/{g.id}.html"
            for p in range(2, self._pages(len(g.stories)) + 1):
                yield f"tags/{g.id}-p{p}.html"
            yield f"tags/{g.id}.atom"
            yield f"tags/{g.id}.json"
        yield "outlets/index.html"
        for name, stories in self._outlets().items():
            oid = outlet_id(name)
            yield f"outlets/{oid}.html"
            for p in range(2, self._pages(len(stories)) + 1):
                yield f"outlets/{oid}-p{p}.html"
        yield from ("feed.atom", "feed.json", "sitemap.xml", "robots.txt")

    def _pages(self, n: int) -> int:
        return max(1, math.ceil(n / self.per_page))

    def _pager(self, n: int, page: int, name: Any) -> dict[str, Any]:
        pages = self._pages(n)
        return {"page": page, "pages": pages,
                "prev": name(page - 1) if page > 1 else None,
                "next": name(page + 1) if page < pages else None}

    def search_page(self, query: str, total: int, hits: list[Any], page: int,
                    filters: dict[str, str]) -> str:
        from urllib.parse import urlencode

        pages = max(1, math.ceil(total / self.per_page))

        def link(p: int) -> str:
            return "/search?" + urlencode({"q": query, **{k: v for k, v in filters.items() if v},
                                           "page": p})

        pager = {"page": page, "pages": pages, "prev": link(page - 1) if page > 1 else None,
                 "next": link(page + 1) if page < pages else None}
        outlets = sorted({a.source for a in self.cat.articles if a.source})
        _PAGE.set("search")
        return self._render("search.html", "/", query=query, total=total, hits=hits,
                            pager=pager, tags=self.cat.tags, outlets=outlets, **filters)

    def redirect(self, path: str) -> str | None:
        """Where a merged or regrouped story's old page now lives (``stories/<id>.html``)."""
        path = path.strip("/")
        if path.startswith("stories/") and path.endswith(".html"):
            new = self.cat.redirects.get(path[8:-5])
            if new is not None and self.cat.story(new) is not None:
                return f"stories/{new}.html"
        return None

    def render(self, path: str) -> str | None:
        """The page at ``path`` (relative to the site root), or None."""
        path = path.strip("/") or "index.html"
        _PAGE.set(path)
        if path == "index.html" or (path.startswith("page-") and path.endswith(".html")):
            page = 1 if path == "index.html" else _int(path[5:-5])
            return self._index(page) if page else None
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
                (n, outlet_id(n), len(st)) for n, st in self._outlets().items()])
        if path.startswith("outlets/") and path.endswith(".html"):
            oid, _, page_s = path[8:-5].partition("-p")
            name = next((n for n in self._outlets() if outlet_id(n) == oid), None)
            page = _int(page_s) if page_s else 1
            return self._outlet(name, page) if name and page else None
        if path.startswith("tags/") and path.endswith(".html"):
            name, _, page_s = path[5:-5].partition("-p")
            tag = self.cat.tag(name)
            page = _int(page_s) if page_s else 1
            return self._tag(tag, page) if tag and page else None
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
            pages = [("index.html", self.cat.stories[0].last_published if self.cat.stories
                      else None), ("tags/index.html", None), ("about.html", None)]
            pages += [(f"stories/{s.id}.html", s.last_published) for s in self.cat.stories]
            pages += [(f"tags/{g.id}.html", g.stories[0].last_published if g.stories else None)
                      for g in self.cat.tags]
            return feeds.sitemap(site, pages)
        if path == "robots.txt":
            return feeds.robots(site)
        return None

    def _index(self, page: int) -> str | None:
        if page > self._pages(len(self.cat.stories)):
            return None
        chunk = self.cat.stories[(page - 1) * self.per_page : page * self.per_page]
        pager = self._pager(len(self.cat.stories), page,
                            lambda p: "index.html" if p == 1 else f"page-{p}.html")
        return self._render("index.html", "", stories=chunk, pager=pager,
                            top_tags=self.cat.tags[:20])

    def _outlets(self) -> dict[str, list[StoryView]]:
        """Each outlet and the stories it reported, newest first, most prolific outlet first."""
        if self._outlet_cache is None:
            by: dict[str, list[StoryView]] = {}
            for s in self.cat.stories:
                for name in s.outlets:
                    by.setdefault(name, []).append(s)
            self._outlet_cache = dict(sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0])))
        return self._outlet_cache

    def _outlet(self, name: str, page: int) -> str | None:
        stories = self._outlets()[name]
        if page > self._pages(len(stories)):
            return None
        oid = outlet_id(name)
        pager = self._pager(len(stories), page,
                            lambda p: f"{oid}.html" if p == 1 else f"{oid}-p{p}.html")
        reports = sum(1 for a in self.cat.articles if a.source == name)
        return self._render("outlet.html", "../", outlet=name, reports=reports,
                            stories=stories[(page - 1) * self.per_page : page * self.per_page],
                            pager=pager)

    def _tag(self, tag: TagView, page: int) -> str | None:
        if page > self._pages(len(tag.stories)):
            return None
        chunk = tag.stories[(page - 1) * self.per_page : page * self.per_page]
        pager = self._pager(len(tag.stories), page,
                            lambda p: f"{tag.id}.html" if p == 1 else f"{tag.id}-p{p}.html")
        parent = self.cat.tag(tag.parent) if tag.parent else None
        children = [c for c in (self.cat.tag(cid) for cid in tag.children) if c is not None]
        return self._render("tag.html", "../", tag=tag, stories=chunk, pager=pager,
                            parent=parent, children=children,
                            timeline=Markup(timeline_svg(tag.stories)) if page == 1 else "")

    def _story(self, story: StoryView) -> str:
        numbers = {a.id: i for i, a in enumerate(story.articles, start=1)}
        own = set(numbers)
        counter = iter(range(1, 1_000_000))

        def cite(c: Citation) -> Markup:
            # The quoted span shows on hover, on keyboard focus and on tap (a
            # tapped link takes focus): CSS only, no script under the CSP.
            # A report of an earlier story (the explainer, ■解説) is numbered
            # after this story's own and links to the story it belongs to.
            n = numbers.setdefault(c.article, len(numbers) + 1)
            k = next(counter)
            a = self._article(c.article)
            home = self.cat.story_of.get(c.article)
            href = f"#src-{c.article}" if c.article in own else (
                f"{home}.html" if home else safe_url(a.url if a is not None else ""))
            return Markup(
                '<span class="cite"><a href="{}" aria-describedby="q{}">[{}]</a>'
                '<span class="quote" role="tooltip" id="q{}">「{}」<span class="by">— {}</span>'
                '</span></span>').format(href, k, n, k, c.quote, a.source if a is not None else "")

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
        timeline = sorted((s for s in self.cat.stories if s.storyline == story.storyline),
                          key=lambda s: (s.first_published or datetime.min.replace(tzinfo=UTC),
                                         s.id))
        return self._render("story.html", "../", story=story, cite=cite, jsonld=jsonld,
                            coverage=Markup(coverage_svg(story)), timeline=timeline, b=b,
                            formats=shown, provenance=provenance, writer=self.settings.writer)

    def build(self, out: Path) -> int:
        """Write every page into ``out``, replacing it atomically. Returns the page count."""
        out = out.absolute()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        count = 0
        try:
            for path in self.paths():
                html = self.render(path)
                if html is None:
                    continue
                target = tmp / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(html, encoding="utf-8")
                count += 1
            static = tmp / "static"
            static.mkdir(exist_ok=True)
            for item in resources.files("matome.site").joinpath("static").iterdir():
                (static / item.name).write_bytes(item.read_bytes())
            os.chmod(tmp, 0o755)
            _swap(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return count


def outlet_id(name: str) -> str:
    """A stable, URL-safe id for an outlet's page."""
    return "o" + hashlib.sha1(name.encode()).hexdigest()[:10]


def _swap(new: Path, out: Path) -> None:
    if not out.exists():
        new.rename(out)
        return
    old = out.with_name(f".{out.name}-old-{os.getpid()}")
    out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _int(s: str) -> int | None:
    return int(s) if s.isdigit() and int(s) > 0 else None

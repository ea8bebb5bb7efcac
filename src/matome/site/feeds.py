"""What the site gives the ecosystem: Atom and JSON Feed, sitemap.xml, robots.txt.

Feeds carry each story's headline, lead, dates, sources and tags; the
summary is the story's lead (text, not HTML), so a reader never receives
markup that came from a source. XML is built with ElementTree, which
escapes everything it writes; a feed's entries, the bulk of it, are written as the
strings ElementTree would write (``atom_entry``), escaped as it escapes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from matome.settings import SiteSettings
from matome.site.readmodel import Card, StoryList, TagView, iso

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


_WEB = {"http", "https"}


def web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else None: a ``javascript:``, ``data:`` or
    ``file:`` URL is never published as a link, whatever reached the store. Its scheme is
    read before its first colon (stricter than ``urlsplit``, which drops tabs and leading
    control characters first); ``urlsplit`` is asked only where it could refuse the rest
    (brackets, non-ASCII). A build asks this of each source of every feed entry and page:
    38,000 links at 100k stored articles, nearly all different, and ``urlsplit`` cost
    about 8 µs each (a cache of them missed every time)."""
    url = (url or "").strip()
    scheme, colon, _ = url.partition(":")
    if not colon or scheme.lower() not in _WEB:
        return None
    if url.isascii() and "[" not in url and "]" not in url:
        return url
    try:
        return url if urlsplit(url).scheme.lower() in _WEB else None
    except ValueError:
        return None


def _abs(site: SiteSettings, path: str) -> str:
    return site.base_url.rstrip("/") + "/" + path.lstrip("/")


def _updated(entries: Sequence[Card]) -> str:
    # newest first: the feed's own entries hold the newest time
    stamps = [s.last_published for s in entries if s.last_published]
    return (iso(max(stamps)) if stamps else None) or datetime(1970, 1, 1, tzinfo=UTC).isoformat()


def atom(site: SiteSettings, stories: StoryList, self_path: str, title: str | None = None,
         tag: TagView | None = None) -> str:
    """The Atom feed of ``stories``' newest ``FEED_SIZE``."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "ja"})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title or site.title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = _abs(site, self_path)
    entries = stories.cards(0, FEED_SIZE)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _updated(entries)
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": _abs(site, self_path)})
    page = f"tags/{tag.id}.html" if tag else "index.html"
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html",
                                            "href": _abs(site, page)})
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = site.title
    head = ET.tostring(feed, encoding="unicode", xml_declaration=True)
    # the entries go last, inside the feed's end tag (the head has children: it has one)
    return head[: -len(_FEED_END)] + "".join(atom_entry(site, s) for s in entries) + _FEED_END


_FEED_END = "</feed>"


def atom_entry(site: SiteSettings, s: Card) -> str:
    """One ``<entry>`` of an Atom feed, as it stands inside the feed's element: the bytes
    ElementTree writes for it (a test holds the two alike), written as a string: a feed
    cost 41 µs an entry built as elements, 15 µs so (the 100k store's newest 2,000 cards,
    in feeds of 50), and an incremental build at 100k stored articles writes 20,000."""
    url = _abs(site, f"stories/{s.id}.html")
    parts = [f'<entry>{_el("title", s.headline)}<id>{_text(url)}</id>'
             f'<link rel="alternate" href="{_attr(url)}" />',
             _el("published", iso(s.first_published) or _updated([])),
             _el("updated", iso(s.last_published) or _updated([])),
             _el("summary", s.summary, ' type="text"')]
    parts += [f'<category term="{_attr(t["id"])}" label="{_attr(t["name"])}" />' for t in s.tags]
    parts += [f'<link rel="related" href="{_attr(href)}" title="{_attr(f"{outlet}: {title}")}" />'
              for outlet, title, link in s.sources if (href := web_url(link)) is not None]
    return "".join(parts) + "</entry>"


# as ElementTree escapes (its _escape_cdata and _escape_attrib, which are private)
def _text(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    return value.replace(">", "&gt;") if ">" in value else value


def _attr(value: str) -> str:
    value = _text(value)
    for raw, ref in _ATTR:
        if raw in value:
            value = value.replace(raw, ref)
    return value


_ATTR = [('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")]


def _el(tag: str, text: str | None, attrs: str = "") -> str:
    """An element of text, as ElementTree writes it (empty: a short empty element)."""
    return f"<{tag}{attrs}>{_text(text)}</{tag}>" if text else f"<{tag}{attrs} />"


def json_feed(site: SiteSettings, stories: StoryList, self_path: str,
              title: str | None = None, tag: TagView | None = None) -> str:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
    page = f"tags/{tag.id}.html" if tag else "index.html"
    items = [{
        "id": _abs(site, f"stories/{s.id}.html"),
        "url": _abs(site, f"stories/{s.id}.html"),
        "title": s.headline,
        "content_text": s.summary,
        "date_published": iso(s.first_published),
        "date_modified": iso(s.last_published),
        "tags": [t["name"] for t in s.tags],
        "external_url": next((u for _, _, link in s.sources if (u := web_url(link))), None),
        "_matome": {"story": s.id, "storyline": s.storyline,
                    "sources": [{"outlet": outlet, "title": title, "url": web_url(link)}
                                for outlet, title, link in s.sources]},
    } for s in stories.cards(0, FEED_SIZE)]
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title or site.title,
        "home_page_url": _abs(site, page),
        "feed_url": _abs(site, self_path),
        "language": "ja",
        "items": items,
    }, ensure_ascii=False, separators=(",", ":"))


def sitemap(site: SiteSettings, pages: list[tuple[str, datetime | None]]) -> str:
    """One sitemap file; ``pages``: (path, when it last changed)."""
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}urlset")
    for path, modified in pages:
        url = ET.SubElement(root, f"{{{ns}}}url")
        ET.SubElement(url, f"{{{ns}}}loc").text = _abs(site, path)
        if modified is not None:
            ET.SubElement(url, f"{{{ns}}}lastmod").text = modified.date().isoformat()
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def sitemap_index(site: SiteSettings, paths: list[str]) -> str:
    """sitemap.xml: the sitemap files, each under the protocol's 50,000 URLs, so the
    archive can grow without bound and a build rewrites only the files that changed."""
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}sitemapindex")
    for path in paths:
        ET.SubElement(ET.SubElement(root, f"{{{ns}}}sitemap"), f"{{{ns}}}loc").text = _abs(site, path)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def robots(site: SiteSettings) -> str:
    return f"User-agent: *\nAllow: /\nDisallow: /api/\nSitemap: {_abs(site, 'sitemap.xml')}\n"

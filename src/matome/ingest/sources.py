"""Sources: what the user names (files, directories, feeds, sitemaps, URL lists, WARC) as raw documents.

Nothing is parsed for content here; each item is stored as read, with a key
that identifies it across re-ingests, so extraction can be re-run later
without reading the source again. Bad items become ``RecordError``s with a
file and line or entry, never an exception that stops the batch.

What needs fetching is yielded as a :class:`Link` (a feed entry whose page
must be read, a sitemap's URL, a line of a URL list); :mod:`matome.poll`
fetches links politely and feeds what comes back through :func:`sniff`.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from matome.errors import FeedError, InputError, RecordError
from matome.extract import canonical_url
from matome.ingest.fetch import gunzip
from matome.records import RawDoc, digest
from matome.settings import IngestSettings, SourceSettings


@dataclass
class Link:
    """A URL still to be fetched, with what is already known about it.

    ``expect`` is "any" for a URL the user named (a feed, sitemap, list or
    page: sniffed after fetching), "feed" for a file named as a feed,
    "sitemap" for a child of a sitemap index and "page" for an article page
    (never expanded further, so a hostile feed cannot lead the fetcher
    anywhere but to pages).
    """

    url: str
    origin: str
    location: str = ""
    expect: str = "any"
    hints: dict[str, Any] = field(default_factory=dict)
    # an entry to store instead when the page cannot be fetched
    fallback: RawDoc | None = None


Item = RawDoc | RecordError | Link
# a record's own id is kept verbatim as its article's id (CONTRACT.md) and keys
# several tables: ids longer than this are refused, with the reason recorded
MAX_ID_BYTES = 512
_URL_LINE = re.compile(r"^https?://\S+$")
_XML_ENCODING = re.compile(r"""(<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")


def _source_of(target: str, source: SourceSettings | None) -> SourceSettings:
    return source if source is not None else SourceSettings(name=target, path=target)


def discover(target: str, settings: IngestSettings,
             source: SourceSettings | None = None) -> Iterator[Item]:
    """Every raw document in a path, or the Link to fetch for a URL; errors are yielded, not raised."""
    src = _source_of(target, source)
    if target.startswith(("http://", "https://")):
        yield Link(url=target, origin=target, hints=_source_hints(src))
        return
    path = Path(target)
    if not path.exists():
        raise InputError(f"{target}: no such file or directory")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if f.name.startswith("."):
            continue
        yield from read_file(f, settings, src if source is not None else None)


def _source_hints(src: SourceSettings) -> dict[str, Any]:
    """What a configured source says about its pages (used when a page does not say)."""
    return {k: v for k, v in (("outlet", src.outlet), ("lang", src.lang), ("country", src.country))
            if v}


def read_file(path: Path, settings: IngestSettings,
              source: SourceSettings | None = None) -> Iterator[Item]:
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            yield RecordError(f"file is {size} bytes, over the {settings.max_file_bytes} limit",
                              origin=origin)
            return
        data = path.read_bytes()
    except OSError as exc:
        yield RecordError(f"cannot read: {exc.strerror or exc}", origin=origin)
        return
    name = path.name.lower()
    suffix = path.suffix.lower()
    src = _source_of(origin, source)
    if suffix == ".jsonl":
        yield from jsonl_records(data, origin)
    elif name.endswith((".warc", ".warc.gz")):
        yield from warc_docs(data, origin, settings, src)
    elif suffix in settings.html_suffixes:
        yield RawDoc(key=f"file:{path.absolute()}", kind="html", origin=origin, location="",
                     content=data, hints=_source_hints(src) if source else {})
    elif suffix in settings.feed_suffixes:
        yield from sniff(data, origin, "", settings, src, expect="feed")
    elif suffix in {".json", ".txt", ".urls"} and (b"jsonfeed.org" in data[:2048]
                                                   or url_list(data, origin, src)):
        yield from sniff(data, origin, "", settings, src)
    else:
        yield RecordError(f"unsupported file type {suffix or '(none)'!r}", origin=origin)


def sniff(data: bytes, origin: str, content_type: str, settings: IngestSettings,
          source: SourceSettings, *, url: str = "", expect: str = "any") -> Iterator[Item]:
    """What a fetched or read body is (feed, JSON Feed, sitemap, URL list or page) and its items."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    ctype = content_type.lower()
    if expect != "page":
        if head.startswith(b"\x1f\x8b"):  # a gzipped sitemap (sitemap.xml.gz)
            try:
                data = gunzip(data, settings.max_file_bytes)
            except RecordError as exc:
                exc.origin = origin
                yield exc
                return
            head = data[:2048].lstrip().lower()
        if head.startswith(b"{") and b"jsonfeed.org" in head:
            yield from json_feed_entries(data, origin, settings, source)
            return
        if b"<urlset" in head or b"<sitemapindex" in head:
            yield from sitemap_links(data, origin, settings, source)
            return
        if (b"<rss" in head or b"<feed" in head or b"<rdf" in head) and b"<html" not in head:
            yield from feed_entries(data, origin, settings, source)
            return
        if ("text/plain" in ctype or not ctype) and not head.startswith(b"<"):
            links = url_list(data, origin, source)
            if links:
                yield from links
                return
        if expect == "feed":  # named as a feed but reads as none: say so
            yield from feed_entries(data, origin, settings, source)
            return
    hints: dict[str, Any] = {**_source_hints(source), "content_type": content_type}
    if url:
        hints["url"] = url
    key = f"url:{url}" if url else f"file:{Path(origin).absolute()}"
    yield RawDoc(key=key, kind="html", origin=origin, location="", content=data, hints=hints,
                 source=source.name, link=url)


def jsonl_records(data: bytes, origin: str) -> Iterator[Item]:
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield RecordError(f"not JSON ({exc.__class__.__name__}: {exc})", origin=origin,
                              location=where)
            continue
        if not isinstance(record, dict):
            yield RecordError("not a JSON object", origin=origin, location=where)
            continue
        rid, url = record.get("id"), record.get("url")
        if not (isinstance(rid, str) and rid.strip()) and not (isinstance(url, str) and url):
            yield RecordError("record has neither 'id' nor 'url'", origin=origin, location=where)
            continue
        if isinstance(rid, str) and len(rid.strip().encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
            # kept verbatim (the contract), an id this long could not be a key on PostgreSQL
            yield RecordError(f"'id' is over {MAX_ID_BYTES} bytes", origin=origin, location=where)
            continue
        key = f"id:{rid.strip()}" if isinstance(rid, str) and rid.strip() else f"url:{url}"
        yield RawDoc(key=key, kind="record", origin=origin, location=where, content=line.strip(),
                     hints={})


# --- feeds ---------------------------------------------------------------------


def feed_entries(data: bytes, origin: str, settings: IngestSettings | None = None,
                 source: SourceSettings | None = None) -> Iterator[Item]:
    """RSS 0.9x/1.0/2.0 and Atom entries (feedparser), each a raw document or a Link to its page.

    The bytes are decoded by :mod:`matome.charset` first (strict, with the
    declared label only trusted when it decodes): feedparser trusts a wrong
    declaration and falls back to windows-1252, which turns an EUC-JP feed
    labelled Shift_JIS into mojibake.
    """
    from matome.errors import DecodeError
    from matome.extract import charset

    try:
        text, encoding, why = charset.decode(data)
    except DecodeError as exc:
        yield FeedError(f"not a readable feed ({exc.reason})", origin=origin)
        return
    data = _XML_ENCODING.sub(r"\1utf-8\2", text.lstrip("\ufeff"), count=1).encode("utf-8")
    parsed = feedparser.parse(data)
    entries = parsed.get("entries") or []
    bozo = parsed.get("bozo_exception")
    if parsed.get("bozo") and not entries:
        yield FeedError(f"not a readable feed ({bozo.__class__.__name__}: {bozo})", origin=origin)
        return
    if parsed.get("bozo"):
        yield FeedError(f"malformed feed, {len(entries)} entries recovered "
                        f"({bozo.__class__.__name__}: {bozo})", origin=origin, location="feed")
    feed = parsed.get("feed", {})
    base = feed.get("link") or origin
    bodies = []
    for entry in entries:
        content = ""
        for c in entry.get("content") or []:
            if len(c.get("value", "")) > len(content):
                content = c["value"]
        bodies.append({
            "title": entry.get("title", ""), "link": entry.get("link", ""),
            "guid": entry.get("id", ""),
            "published": entry.get("published") or entry.get("updated") or "",
            "updated": entry.get("updated", ""),
            "author": entry.get("author", ""), "summary": entry.get("summary", ""),
            "content": content, "outlet": feed.get("title", ""),
            "lang": entry.get("language") or feed.get("language") or "",
            "encoding": encoding, "encoding_reason": why,
        })
    yield from _entries(bodies, base, origin, settings, source)


def json_feed_entries(data: bytes, origin: str, settings: IngestSettings | None = None,
                      source: SourceSettings | None = None) -> Iterator[Item]:
    """JSON Feed 1.0/1.1 items.

    feedparser (6.0) does not read JSON Feed, and the format is plain JSON with
    a short, fixed vocabulary, so it is mapped here field by field.
    """
    try:
        feed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        yield FeedError(f"not a readable JSON Feed ({exc.__class__.__name__}: {exc})", origin=origin)
        return
    items = feed.get("items") if isinstance(feed, dict) else None
    if not isinstance(items, list):
        yield FeedError("JSON Feed without an 'items' list", origin=origin)
        return
    bodies = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield FeedError("JSON Feed item is not an object", origin=origin, location=f"entry {n}")
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict)
                                          else [])
        bodies.append({
            "title": str(item.get("title") or ""), "link": str(item.get("url") or ""),
            "guid": str(item.get("id") or ""),
            "published": str(item.get("date_published") or item.get("date_modified") or ""),
            "updated": str(item.get("date_modified") or ""),
            "author": ", ".join(str(a.get("name", "")) for a in authors if isinstance(a, dict)),
            "summary": str(item.get("summary") or ""),
            "content": str(item.get("content_html") or item.get("content_text") or ""),
            "outlet": str(feed.get("title") or ""), "lang": str(item.get("language")
                                                                 or feed.get("language") or ""),
        })
    yield from _entries(bodies, str(feed.get("home_page_url") or origin), origin, settings, source)


def _entries(bodies: list[dict[str, Any]], base: str, origin: str, settings: IngestSettings | None,
             source: SourceSettings | None) -> Iterator[Item]:
    from matome.extract import fragment_text

    src = _source_of(origin, source)
    seen: set[str] = set()
    for n, body in enumerate(bodies, start=1):
        if src.outlet and not body["outlet"]:
            body["outlet"] = src.outlet
        if src.lang and not body["lang"]:
            body["lang"] = src.lang
        if src.country:
            body["country"] = src.country
        for f in ("link", "guid"):
            bad = _unsafe_link(body, f, base)
            if bad:
                yield RecordError(bad, origin=origin, location=f"entry {n}")
        doc = _entry_doc(body, origin, n, src.name or origin)
        if isinstance(doc, RawDoc):
            if doc.key in seen:  # one feed, one GUID twice: the first stands
                yield RecordError("the feed repeats this entry's GUID; the first entry with it is kept",
                                  origin=origin, location=f"entry {n}")
                continue
            seen.add(doc.key)
        if isinstance(doc, RecordError) or not body["link"]:
            yield doc
            continue
        text = fragment_text(body["content"]) or fragment_text(body["summary"])
        # A local feed file is read as it is; a fetched feed's teaser entries
        # lead to their pages.
        short = settings is not None and len(text) < settings.min_entry_chars \
            and origin.startswith(("http://", "https://"))
        if src.fetch_pages == "always" or (src.fetch_pages == "auto" and short):
            hints = {**_source_hints(src), "feed_entry": body, "feed_published": body["published"]}
            yield Link(url=canonical_url(body["link"]), origin=origin, location=f"entry {n}",
                       expect="page", hints={k: v for k, v in hints.items() if v}, fallback=doc)
        else:
            yield doc


_UNSAFE_SCHEME = re.compile(r"^\s*(?:javascript|data|vbscript|file|about|blob):", re.IGNORECASE)


def _unsafe_link(body: dict[str, Any], f: str, base: str) -> str | None:
    """Make an entry's link absolute, or blank it when it is not a web address (and say why).

    A feed's ``javascript:`` or ``file://`` link must never be fetched nor
    reach a page as a link; a relative one is resolved against the feed.
    """
    value = str(body.get(f) or "").strip()
    if not value:
        return None
    if _UNSAFE_SCHEME.match(value):
        body[f] = ""
        return f"entry {f} refused: {value.split(':', 1)[0].lower()}: URLs are never followed or linked"
    if f == "link" and not value.startswith(("http://", "https://")):
        absolute = urljoin(base, value) if base.startswith(("http://", "https://")) else ""
        body[f] = absolute if absolute.startswith(("http://", "https://")) else ""
        if not body[f]:
            return f"entry link {value[:80]!r} is not an http(s) URL; ignored"
    return None


def _entry_doc(body: dict[str, Any], origin: str, n: int, source: str) -> RawDoc | RecordError:
    """One entry, identified by (source, GUID), else its link, else a hash of title and content.

    The source is the configured source's name, or the feed's own URL or
    path: two feeds that share GUIDs (an outlet's "top" and "politics"
    feeds) keep their own entries instead of overwriting each other's.
    """

    ident = body["guid"] or body["link"]
    if not ident:
        if not (body["title"] or body["content"] or body["summary"]):
            return RecordError("feed entry with no id, link, title or content", origin=origin,
                               location=f"entry {n}")
        ident = "h" + digest(body["title"], body["content"] or body["summary"])[:16]
    link = canonical_url(body["link"]) if body["link"] else ""
    if link:  # the GUID is in the key; out of the content, a rotated GUID leaves the content equal
        body = {k: v for k, v in body.items() if k != "guid"}
    return RawDoc(key=f"entry:{source}:{ident}", kind="entry", origin=origin, location=f"entry {n}",
                  content=json.dumps(body, ensure_ascii=False, sort_keys=True).encode(), hints={},
                  source=source, link=link)


# --- sitemaps, URL lists, WARC ---------------------------------------------------

# A parser that never resolves entities or reaches the network (no XXE, no
# billion laughs), and recovers what it can from a broken sitemap.
_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child_text(node: Any, name: str) -> str:
    for c in node.iter():
        if _local(c.tag) == name and c.text:
            return str(c.text).strip()
    return ""


def sitemap_links(data: bytes, origin: str, settings: IngestSettings | None,
                  source: SourceSettings) -> Iterator[Item]:
    """URLs of a sitemap (pages) or a sitemap index (child sitemaps), with Google News fields."""
    try:
        root = etree.fromstring(data, _XML)
    except etree.XMLSyntaxError as exc:
        yield FeedError(f"not a readable sitemap ({exc})", origin=origin)
        return
    if root is None:
        yield FeedError("not a readable sitemap (empty document)", origin=origin)
        return
    index = _local(root.tag) == "sitemapindex"
    limit = (settings.max_sitemaps if index else 50_000) if settings else 50_000
    n = 0
    for node in root:
        if _local(node.tag) not in {"sitemap", "url"}:
            continue
        loc = _child_text(node, "loc")
        n += 1
        if not loc.startswith(("http://", "https://")):
            yield RecordError(f"sitemap entry with no http(s) <loc> ({loc[:80]!r})", origin=origin,
                              location=f"url {n}")
            continue
        if index:
            if n > limit:
                yield RecordError(f"sitemap index lists more than {limit} sitemaps; the rest are "
                                  "skipped", origin=origin, location=f"sitemap {n}")
                return
            yield Link(url=loc, origin=origin, location=f"sitemap {n}", expect="sitemap",
                       hints=_source_hints(source))
            continue
        hints = {**_source_hints(source), "lastmod": _child_text(node, "lastmod")}
        news = next((c for c in node if _local(c.tag) == "news"), None)
        if news is not None:  # Google News sitemap: title, date, outlet and language
            hints.update(sitemap_title=_child_text(news, "title"),
                         feed_published=_child_text(news, "publication_date"))
            name, lang = _child_text(news, "name"), _child_text(news, "language")
            if name and "outlet" not in hints:
                hints["outlet"] = name
            if lang and "lang" not in hints:
                hints["lang"] = lang
        yield Link(url=loc, origin=origin, location=f"url {n}", expect="page",
                   hints={k: v for k, v in hints.items() if v})


def url_list(data: bytes, origin: str, source: SourceSettings) -> list[Item]:
    """A plain list of page URLs, one per line (# comments allowed); [] when it is not one."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), start=1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or sum(1 for _, ln in lines if _URL_LINE.match(ln)) < len(lines) / 2:
        return []
    out: list[Item] = []
    for n, ln in lines:
        if _URL_LINE.match(ln):
            out.append(Link(url=ln, origin=origin, location=f"line {n}", expect="page",
                            hints=_source_hints(source)))
        else:
            out.append(RecordError(f"not an http(s) URL: {ln[:80]!r}", origin=origin,
                                   location=f"line {n}"))
    return out


def warc_docs(data: bytes, origin: str, settings: IngestSettings,
              source: SourceSettings) -> Iterator[Item]:
    """HTML responses of a WARC file (warcio), each stored as the page it archived."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    n = 0
    try:
        for record in ArchiveIterator(io.BytesIO(data)):
            if record.rec_type != "response":
                continue
            n += 1
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            ctype = record.http_headers.get_header("Content-Type") if record.http_headers else ""
            status = record.http_headers.get_statuscode() if record.http_headers else "200"
            if not url.startswith(("http://", "https://")) or "html" not in (ctype or "").lower():
                continue
            if status != "200":
                yield RecordError(f"archived response was HTTP {status}", origin=origin,
                                  location=f"record {n}")
                continue
            body = record.content_stream().read(settings.max_file_bytes + 1)
            if len(body) > settings.max_file_bytes:
                yield RecordError(f"archived page over {settings.max_file_bytes} bytes",
                                  origin=origin, location=f"record {n}")
                continue
            hints = {**_source_hints(source), "url": url, "content_type": ctype,
                     "fetched": record.rec_headers.get_header("WARC-Date") or ""}
            yield RawDoc(key=f"url:{url}", kind="html", origin=origin, location=f"record {n}",
                         content=body, hints=hints, source=source.name, link=url)
    except (ArchiveLoadFailed, OSError, ValueError) as exc:
        yield RecordError(f"broken WARC file after {n} records: {exc}", origin=origin)

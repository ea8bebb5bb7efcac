"""Extract stage: raw document → Article (title, text, date, author, outlet, URL, language).

Pages go through trafilatura for the main text; metadata is read from the
page's own markup first (canonical link, og:site_name, JSON-LD, meta tags),
see :mod:`matome.dates` for why dates are not left to trafilatura.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from matome import charset, dates, textja
from matome.errors import ExtractError
from matome.records import Article, RawDoc, Stage
from matome.settings import ExtractSettings

STAGE = Stage("extract", 3)
_HTML_HINT = re.compile(r"<\s*(?:html|head|body|p|div|article|title|h1)\b", re.IGNORECASE)
_TRACKING = re.compile(r"^(?:utm_|fbclid$|gclid$|yclid$|mc_|ref$|ito$)")
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt",
           "figcaption", "td", "th"}


def extract(doc: RawDoc, settings: ExtractSettings) -> Article:
    """One raw document to an Article; raises ExtractError with the reason."""
    tz = dates.tz_of(settings.default_timezone)
    if doc.kind == "html":
        url = doc.hints.get("url") or Path(doc.origin).absolute().as_uri()
        article = extract_page(doc.content, url, doc.hints.get("content_type"), settings)
    elif doc.kind == "record":
        article = _from_record(json.loads(doc.content), tz)
    elif doc.kind == "entry":
        article = _from_entry(json.loads(doc.content), tz)
    else:
        raise ExtractError(f"unknown raw kind {doc.kind!r}")
    article.text = drop_repeated_blocks(article.text)
    if len(article.text.strip()) < settings.min_text_chars:
        raise ExtractError(f"near-empty text ({len(article.text.strip())} characters)")
    return article


def drop_repeated_blocks(text: str) -> str:
    """The text with paragraphs that repeat an earlier one of the same page removed.

    Pages repeat blocks (a lead shown twice, a related-articles box above and
    below, a paragraph pasted twice in a board post); left in, the repeat
    weighs the text twice in every comparison and may be quoted twice.
    Paragraphs under 10 characters (「写真」, 「関連」) are left alone.
    """
    seen: set[str] = set()
    out = []
    for line in text.split("\n"):
        key = re.sub(r"\s+", "", textja.nfkc(line))
        if len(key) >= 10 and key in seen:
            continue
        seen.add(key)
        out.append(line)
    return "\n".join(out)


def canonical_url(url: str) -> str:
    """Drop tracking parameters and fragments so one page has one URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"}:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k.lower())]
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def article_id(url: str) -> str:
    return "a" + hashlib.sha1(url.encode()).hexdigest()[:12]


def _without_heading(body: str, *titles: str) -> str:
    """The body without a first line that repeats the page's title.

    trafilatura keeps the article's <h1> on some layouts; left in, the title
    reads as the report's first sentence and would be quoted as one.
    """
    first, _, rest = body.partition("\n")
    line = re.sub(r"\s+", "", textja.nfkc(first))
    for t in titles:
        t = re.sub(r"\s+", "", textja.nfkc(t))
        if rest.strip() and t and (line == t or (len(line) >= 8 and t.startswith(line))):
            return rest.strip()
    return body


def _lang(declared: str | None, text: str) -> str:
    declared = (declared or "").strip().lower().split("-")[0]
    if declared:
        return declared
    return "ja" if textja.is_japanese(text) else "en"


def extract_page(data: bytes, url: str, content_type: str | None,
                 settings: ExtractSettings) -> Article:
    if b"\x00" in data[:2048]:
        raise ExtractError("not HTML: binary data")
    text, encoding, reason = charset.decode(data, content_type)
    if not _HTML_HINT.search(text[:20000]):
        raise ExtractError("not HTML: no HTML elements found")
    tree = _parse(text)
    tz = dates.tz_of(settings.default_timezone)
    doc = trafilatura.bare_extraction(text, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, deduplicate=False)
    found: dict[str, Any] = _as_dict(doc)
    body = (found.get("text") or "").strip()
    if not body:
        raise ExtractError("no article text found in page")
    canonical = _meta(tree, "link", "canonical") or _og(tree, "og:url") or url
    title = _og(tree, "og:title") or found.get("title") or _title(tree)
    page_text = " ".join(tree.xpath("//body//text()")) if tree is not None else ""
    published, raw, how = dates.page_published(tree, page_text, tz)
    if published is None and (fb := dates.trusted_fallback(found.get("date"), page_text, tz)):
        published, raw, how = fb, str(found.get("date")), "trafilatura"
    outlet = (_og(tree, "og:site_name") or found.get("sitename") or "").strip()
    canonical = canonical_url(canonical)
    body = _without_heading(body, _clean(title or ""), _clean(str(found.get("title") or "")))
    return Article(
        id=article_id(canonical), url=canonical, title=_clean(title or ""), text=body,
        source=outlet or (urlsplit(canonical).hostname or ""),
        lang=_lang(tree.get("lang") if tree is not None else None, body),
        published=published, published_raw=raw, published_how=how,
        author=_clean(found.get("author") or _named_meta(tree, "author") or ""),
        encoding=encoding, encoding_reason=reason,
    )


def _as_dict(doc: Any) -> dict[str, Any]:
    if doc is None:
        return {}
    return dict(doc) if isinstance(doc, dict) else dict(doc.as_dict())


def _parse(text: str) -> lxml_html.HtmlElement:
    try:
        return lxml_html.document_fromstring(text.encode("utf-8"),
                                             parser=lxml_html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"HTML does not parse: {exc}") from exc


def _og(tree: Any, prop: str) -> str | None:
    for node in tree.xpath(f'//meta[@property="{prop}" or @name="{prop}"]'):
        if node.get("content"):
            return str(node.get("content")).strip()
    return None


def _named_meta(tree: Any, name: str) -> str | None:
    for node in tree.xpath(f'//meta[@name="{name}"]'):
        if node.get("content"):
            return str(node.get("content")).strip()
    return None


def _meta(tree: Any, tag: str, rel: str) -> str | None:
    for node in tree.xpath(f'//{tag}[@rel="{rel}"]'):
        if node.get("href"):
            return str(node.get("href")).strip()
    return None


def _title(tree: Any) -> str:
    titles = tree.xpath("//title/text()")
    return str(titles[0]) if titles else ""


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def fragment_text(html: str) -> str:
    """Paragraph text of an HTML fragment (a feed entry's content).

    Feed content is already the article body, with no page chrome to remove;
    trafilatura's main-content heuristics drop short fragments, so matome
    keeps every block-level element's text, one per line.
    """
    if "<" not in html:
        return html.strip()
    try:
        root = lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]+>", " ", html).strip()
    for bad in root.xpath(".//script|.//style|.//noscript"):
        bad.drop_tree()
    lines = []
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag in _BLOCKS:
            if any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in node):
                continue
            line = _clean(node.text_content())
            if line:
                lines.append(line)
    return "\n".join(lines) if lines else _clean(root.text_content())


def _from_record(rec: dict[str, Any], tz: Any) -> Article:
    text = rec.get("text")
    html = rec.get("html")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
        raise ExtractError("record has no 'text' or 'html'")
    if not (isinstance(text, str) and text.strip()):
        doc = trafilatura.bare_extraction(str(html), with_metadata=False)
        text = _as_dict(doc).get("text") or fragment_text(str(html))
    url = canonical_url(str(rec.get("url") or ""))
    raw_date = str(rec.get("published") or "")
    published = dates.parse(raw_date, tz)
    return Article(
        id=str(rec.get("id") or "").strip() or article_id(url), url=url,
        title=_clean(str(rec.get("title") or "")), text=str(text).strip(),
        source=_clean(str(rec.get("source") or "")) or (urlsplit(url).hostname or ""),
        lang=_lang(rec.get("lang"), str(text)), published=published, published_raw=raw_date,
        published_how="record" if published else "", subtitle=_clean(str(rec.get("subtitle") or "")),
        author=_clean(str(rec.get("author") or "")), encoding="utf-8", encoding_reason="jsonl",
    )


def _from_entry(entry: dict[str, Any], tz: Any) -> Article:
    text = fragment_text(entry.get("content") or "") or fragment_text(entry.get("summary") or "")
    if not text:
        raise ExtractError("feed entry has no content")
    url = canonical_url(entry.get("link") or entry.get("guid") or "")
    published = dates.parse(entry.get("published", ""), tz)
    return Article(
        id=article_id(url), url=url, title=_clean(entry.get("title", "")), text=text,
        source=_clean(entry.get("outlet", "")) or (urlsplit(url).hostname or ""),
        lang=_lang(entry.get("lang"), text), published=published,
        published_raw=entry.get("published", ""), published_how="feed" if published else "",
        author=_clean(entry.get("author", "")), encoding="utf-8", encoding_reason="feed",
    )

"""Extract stage: raw document → Article (title, text, dates, author, outlet, URL, language, kind).

Pages go through trafilatura for the main text; metadata is read from the
page's own markup first (canonical link, og:site_name, JSON-LD, meta tags),
see :mod:`matome.dates` for why dates are not left to trafilatura. Each page
is also classified (:mod:`matome.pagekind`, :mod:`matome.boards`): a paywalled
teaser, a personal blog post or a board thread is marked as such, never passed
off as a full news report. Hostile pages are bounded: a cap on the number of
HTML elements and on the extraction time per page.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from matome.errors import ExtractError
from matome.extract import boards, charset, dates, jsonld, pagekind
from matome.extract.urls import canonical_url
from matome.language import textja
from matome.records import Article, RawDoc, Stage, Thread
from matome.settings import ExtractSettings

__all__ = ["STAGE", "article_id", "canonical_url", "drop_repeated_blocks", "extract", "extract_page",
           "extract_with_thread", "fragment_text"]

STAGE = Stage("extract", 8)  # 8: trafilatura in its fast mode (some bodies change)
_HTML_HINT = re.compile(r"<!doctype\s+html|<\s*(?:html|head|body|p|div|article|title|h1)\b", re.IGNORECASE)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt",
           "figcaption", "td", "th"}
_TITLE_SEP = re.compile(r"\s*(?:[|｜]|\s[-－–—:]\s|：)\s*")


def extract(doc: RawDoc, settings: ExtractSettings) -> Article:
    """One raw document to an Article; raises ExtractError with the reason."""
    return extract_with_thread(doc, settings)[0]


def extract_with_thread(doc: RawDoc, settings: ExtractSettings) -> tuple[Article, Thread | None]:
    """One raw document to an Article, and a board page's thread as extraction read it."""
    tz = dates.tz_of(settings.default_timezone)
    now = dates.parse(doc.fetched, UTC) or _fetched(doc.hints)
    thread = None
    if doc.kind == "html":
        url = doc.hints.get("url") or Path(doc.origin).absolute().as_uri()
        with _deadline(settings.max_seconds):
            article, thread = _page(doc.content, url, doc.hints.get("content_type"), settings,
                                    ref=dates.parse(str(doc.hints.get("feed_published") or ""), tz) or now)
        _with_source_hints(article, doc.hints, tz)
    elif doc.kind == "record":
        article = _from_record(json.loads(doc.content), tz)
    elif doc.kind == "entry":
        article = _from_entry(json.loads(doc.content), tz)
    else:
        raise ExtractError(f"unknown raw kind {doc.kind!r}")
    # NUL and other C0 controls (but tab and newline) carry nothing a reader
    # sees, break PostgreSQL text, and would otherwise differ by backend.
    for name in ("title", "text", "subtitle", "author", "source"):
        setattr(article, name, _CONTROLS.sub("", getattr(article, name)))
    article.text = drop_repeated_blocks(article.text)
    if article.published is None:
        article.flags.append("no-date")
    elif not dates.plausible(article.published, now or datetime.now(UTC)):
        # year 1, 1970, 2099: kept as written, never taken as when the report appeared
        article.published_raw = article.published_raw or article.published.isoformat()
        article.published = None
        article.flags.append("implausible-date")
    if len(article.text.strip()) < settings.min_text_chars and article.kind != "teaser":
        raise ExtractError(f"near-empty text ({len(article.text.strip())} characters)")
    return article, thread


def _with_source_hints(article: Article, hints: dict[str, Any], tz: Any) -> None:
    """Fill what the page does not say from what its source or feed entry said.

    A configured source's outlet replaces an outlet guessed from the host
    name; a feed entry's or news sitemap's title and date stand in when the
    page has none.
    """
    host = urlsplit(article.url).hostname or ""
    article.country = str(hints.get("country") or "")
    if hints.get("outlet") and article.source in ("", host):
        article.source = str(hints["outlet"])
    found = hints.get("feed_entry")
    entry: dict[str, Any] = found if isinstance(found, dict) else {}
    if not article.title:
        article.title = _clean(str(entry.get("title") or hints.get("sitemap_title") or ""))
    if article.published is None and hints.get("feed_published"):
        article.published = dates.parse(str(hints["feed_published"]), tz)
        if article.published is not None:
            article.published_raw, article.published_how = str(hints["feed_published"]), "feed"


def _fetched(hints: dict[str, Any]) -> datetime | None:
    """When the document was fetched or ingested, if the source says (the end of the date window)."""
    return dates.parse(str(hints.get("fetched") or ""), UTC)


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise ExtractError when the block uses more than ``seconds`` of CPU.

    A timer signal is the one way to stop trafilatura/lxml work in-process
    without a subprocess per page; signals exist only in the main thread, so
    elsewhere (a server thread) the DOM-size cap is the bound that remains.
    CPU time, not the clock: on a machine busy with other work (a backfill
    beside a CI run, Ray's own processes) a heavy but honest page took over
    20 s of wall time and was set aside for good, a reject that depended on
    the load, not on the page. A page built to be slow burns CPU all the same.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    reason = f"extraction took over {seconds:g} s of CPU (a page built to be slow?)"
    fired: list[bool] = []

    def expired(_signum: int, _frame: Any) -> None:
        fired.append(True)
        raise ExtractError(reason)

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    if fired:  # the library caught the interruption and went on: the page still took too long
        raise ExtractError(reason)


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
    if not textja.is_japanese(text):
        return "en"
    # Han characters alone do not make Japanese: prose in Japanese is a third kana or more, and
    # a Chinese page undeclared (「海外留学生看两会」) has next to none
    kana, han = textja.kana_han(text)
    return "zh" if han >= 100 and kana < 0.05 * (kana + han) else "ja"


def extract_page(data: bytes, url: str, content_type: str | None, settings: ExtractSettings,
                 ref: datetime | None = None) -> Article:
    """One HTML page to an Article. ``ref`` (feed date or fetch time) resolves partial dates."""
    return _page(data, url, content_type, settings, ref)[0]


def _page(data: bytes, url: str, content_type: str | None, settings: ExtractSettings,
          ref: datetime | None = None) -> tuple[Article, Thread | None]:
    """The page's Article, and its thread when it is a board page (parsed here, once)."""
    if b"\x00" in data[:2048]:
        raise ExtractError("not HTML: binary data")
    text, encoding, reason = charset.decode(data, content_type)
    if not _HTML_HINT.search(text[:300_000]):
        raise ExtractError("not HTML: no HTML elements found")
    text = ruby_base(text)
    tree = _parse(text)
    size = sum(1 for _ in tree.iter())
    if size > settings.max_dom_nodes:
        raise ExtractError(f"page too large: {size} HTML elements, over the {settings.max_dom_nodes} cap")
    ld = jsonld.read(tree)  # read once: paywall, page kind and dates all look at it
    tz = dates.tz_of(settings.default_timezone)
    kind, flags = "news", []
    title_b, posts, discussed = boards.parse(text, url) if _maybe_board(text) else ("", [], [])
    # fast: trafilatura's own extractor without its readability/jusText comparisons and retries,
    # a fifth of a page's extraction. On the real pages (bench/extract_eval.py) the benchmark's
    # F1 went .959 -> .960 and the Japanese pages' checks stayed 41/41; over all 611 pages of
    # ../shared/eval/extraction no date, title, author, outlet or page kind changed, 40 bodies did
    doc = trafilatura.bare_extraction(text, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, deduplicate=False, fast=True)
    found: dict[str, Any] = _as_dict(doc)
    body = (found.get("text") or "").strip()
    if posts:
        kind = "board"
        body = body or "\n".join(p.body for p in posts)
    elif pagekind.paywalled(text, tree, ld):
        kind = "teaser"
        body = pagekind.without_notices(body).strip()
        flags = pagekind.teaser_flags(body, settings.teaser_min_chars)
        if "body-withheld" in flags:
            # what the page shows is its furniture: the outlet's own summary, if any, is all there is
            body = _og(tree, "og:description") or _named_meta(tree, "description") or ""
    elif pagekind.is_blog(url, tree, text, ld):
        kind = "blog"
    if not body and kind != "teaser":
        raise ExtractError("no article text found in page")
    # a canonical link that is not a web address (javascript:, data:) is never the report's link
    canonical = canonical_url(next((u for u in (_meta(tree, "link", "canonical"), _og(tree, "og:url"))
                                    if u and _web(u)), url))
    outlet = (_og(tree, "og:site_name") or found.get("sitename") or "").strip()
    title = _clean(title_b if posts else pick_title(tree, found.get("title"), outlet))
    page_text = " ".join(tree.xpath("//body//text()"))
    found_dates = dates.page_dates(tree, page_text, tz, ref, ld)
    published, raw, how = found_dates.published, found_dates.raw, found_dates.how
    if published is None and (fb := dates.trusted_fallback(found.get("date"), page_text + " " + url, tz)):
        published, raw, how = fb, str(found.get("date")), "trafilatura"
    body = _without_heading(body, title, _clean(str(found.get("title") or "")))
    if outlet == title:   # blogs put the entry title in og:site_name
        outlet = ""
    article = Article(
        id=article_id(canonical), url=canonical, title=title, text=body,
        source=outlet or (urlsplit(canonical).hostname or ""),
        lang=_lang(tree.get("lang"), body),
        published=published, published_raw=raw, published_how=how,
        author=_clean(found.get("author") or _named_meta(tree, "author") or ""),
        encoding=encoding, encoding_reason=reason, kind=kind, flags=flags,
        updated=found_dates.updated.isoformat() if found_dates.updated else "",
    )
    return article, Thread(posts, discussed) if posts else None


# A dated post header (2024/05/01(水) 12:34) is looked for from its first slash: a pattern
# that begins with digits is tried at every character of the page (0.64 s over 222 real
# pages), one that begins with "/" only where there is one (0.03 s). "At least two digits
# before the slash" is the same test as the header's \d{2,4} there.
_BOARD_TAIL = re.compile(r"/(?=\d{1,2}/\d{1,2}\s*(?:[(（][^)）]{1,3}[)）])?\s*\d{1,2}:\d{2})")
_TWO_DIGITS = re.compile(r"\d\d")


def _maybe_board(text: str) -> bool:
    """Cheap pre-check before the board parser: a dated post header shape somewhere."""
    return any(_TWO_DIGITS.fullmatch(text, m.start() - 2, m.start())
               for m in _BOARD_TAIL.finditer(text) if m.start() >= 2)


def pick_title(tree: Any, trafilatura_title: str | None, outlet: str) -> str:
    """The report's headline without the site's name or a column label around it.

    og:title / <title> often carry " | 毎日新聞" or " - 管理人のひとりごと"; a
    heading on the page that is a large part of that title is the headline
    itself, so it wins; otherwise a trailing part equal to the outlet is cut.
    """
    full = _clean(_og(tree, "og:title") or _title(tree) or trafilatura_title or "")
    if not full:
        return ""
    nfull = textja.nfkc(full)
    best = ""
    parts = _TITLE_SEP.split(full)
    squeeze = [re.sub(r"\s+", "", textja.nfkc(p)) for p in parts]
    for node in tree.xpath("//h1|//h2|//h3")[:60]:
        h = _clean(node.text_content())
        key = re.sub(r"\s+", "", textja.nfkc(h))
        if len(parts) > 1 and key == squeeze[-1]:
            continue    # the blog's or outlet's name as a page heading
        # a heading that is a large part of the title, or exactly one of its leading parts
        if (((len(h) >= 4 and len(h) >= 0.4 * len(full)) or (key in squeeze[:-1] and len(key) >= 2))
                and textja.nfkc(h) in nfull and len(h) > len(best)):
            best = h
    if best:
        return best
    if len(parts) > 1 and outlet and textja.nfkc(parts[-1]) == textja.nfkc(outlet) and parts[0]:
        return full[: full.rfind(parts[-1])].rstrip(" |｜-－–—：")
    if len(parts) > 1 and outlet and textja.nfkc(parts[0]) == textja.nfkc(outlet) and parts[-1]:
        return full[full.find(parts[1], len(parts[0])):]   # 「NEWS WEB EASY|子どもへの…」: the name first
    return full


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


# --- ruby and inline quotes: a sentence is never broken by them ---------------------------

_RUBY = re.compile(r"(?P<before>[ \t\r\n]*)<ruby\b[^>]*>(?P<inner>.*?)</ruby\s*>(?P<after>[ \t\r\n]*)",
                   re.IGNORECASE | re.DOTALL)
# the reading and its fallback parentheses; </rt> and </rp> may be left out (HTML allows it)
_READING = re.compile(r"<(?:rt|rp)\b[^>]*>.*?(?=</?(?:rt|rp|rb|rtc)\b|$)(?:</(?:rt|rp)\s*>)?",
                      re.IGNORECASE | re.DOTALL)
_RUBY_TAGS = re.compile(r"</?(?:rb|rtc|rt|rp)\b[^>]*>", re.IGNORECASE)
_WIDE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def ruby_base(html: str) -> str:
    """The page with each <ruby> replaced by its base text, the reading (<rt>, <rp>) dropped.

    Left in, trafilatura writes the reading into the sentence or breaks the line there
    (「…ヤマサ\n醤油\nは、ファイザーや…」), and the sentence after the word starts with a
    particle. The line breaks around the word go too when its text is Japanese: between East
    Asian characters a line break is no space (CSS Text 3, segment break transformation).
    """
    if "<ruby" not in html and "<RUBY" not in html:
        return html

    def base(m: re.Match[str]) -> str:
        inner = _RUBY_TAGS.sub("", _READING.sub("", m.group("inner")))
        before, after = m.group("before"), m.group("after")
        if _WIDE.search(inner):
            before = "" if "\n" in before else before
            after = "" if "\n" in after else after
        return before + inner + after

    return _RUBY.sub(base, html)


def fragment_text(html: str) -> str:
    """Paragraph text of an HTML fragment (a feed entry's content).

    Feed content is already the article body, with no page chrome to remove;
    trafilatura's main-content heuristics drop short fragments, so matome
    keeps every block-level element's text, one per line.
    """
    if "<" not in html:
        return html.strip()
    html = ruby_base(html)
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


def _web(url: str) -> bool:
    """Whether ``url`` is an http(s) address: the only kind kept as an article's link."""
    try:
        return urlsplit(url.strip()).scheme.lower() in {"http", "https"}
    except ValueError:
        return False


def _host_kind(url: str) -> str:
    return "blog" if pagekind.blog_url(url) else "news"


def _from_record(rec: dict[str, Any], tz: tzinfo) -> Article:
    text = rec.get("text")
    html = rec.get("html")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
        raise ExtractError("record has no 'text' or 'html'")
    if not (isinstance(text, str) and text.strip()):
        doc = trafilatura.bare_extraction(ruby_base(str(html)), with_metadata=False)
        text = _as_dict(doc).get("text") or fragment_text(str(html))
    url = canonical_url(str(rec.get("url") or ""))
    if url and not _web(url):
        raise ExtractError(f"url {url[:80]!r} is not an http(s) URL: never kept as a link")
    raw_date = str(rec.get("published") or "")
    published = dates.parse(raw_date, tz)
    return Article(
        id=str(rec.get("id") or "").strip() or article_id(url), url=url,
        title=_clean(str(rec.get("title") or "")), text=str(text).strip(),
        source=_clean(str(rec.get("source") or "")) or (urlsplit(url).hostname or ""),
        lang=_lang(rec.get("lang"), str(text)), published=published, published_raw=raw_date,
        published_how="record" if published else "", subtitle=_clean(str(rec.get("subtitle") or "")),
        author=_clean(str(rec.get("author") or "")), encoding="utf-8", encoding_reason="jsonl",
        kind=_host_kind(url),
    )


def _from_entry(entry: dict[str, Any], tz: tzinfo) -> Article:
    text = fragment_text(entry.get("content") or "") or fragment_text(entry.get("summary") or "")
    if not text:
        raise ExtractError("feed entry has no content")
    ident = canonical_url(entry.get("link") or entry.get("guid") or "")
    url = ident if _web(ident) else ""  # a GUID such as urn:uuid:… names the entry, links nowhere
    published = dates.parse(entry.get("published", ""), tz)
    return Article(
        id=article_id(ident), url=url, title=_clean(entry.get("title", "")), text=text,
        source=_clean(entry.get("outlet", "")) or (urlsplit(url).hostname or ""),
        lang=_lang(entry.get("lang"), text), published=published,
        published_raw=entry.get("published", ""), published_how="feed" if published else "",
        author=_clean(entry.get("author", "")),
        # how the feed's bytes were decoded (sources.feed_entries), else a JSON feed's UTF-8
        encoding=entry.get("encoding") or "utf-8", encoding_reason=entry.get("encoding_reason") or "feed",
        kind=_host_kind(url), country=str(entry.get("country") or ""),
    )

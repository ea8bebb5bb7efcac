"""Board threads: 2ch/5ch-style thread pages and まとめ-blog pages as a list of posts.

Every board layout — the dat-style ``<dl><dt>header<dd>body``, 5ch's
``div.post > div.meta + div.message``, and the まとめ blogs that re-typeset a
thread (FC2, livedoor: ``1： 名無し ：2026/02/12(木) 10:30:00.00 ID:abc``) —
writes each post as a header line (number, name, date and time, ID) followed
by the body. So the page is flattened to text in which ``<br>`` is a line
break and every block element's edge is a separator, header lines are found
with one pattern, and each post's body runs from its header to the next block
edge. No board-specific library exists on PyPI for this; the pattern is small.

Posts are reactions to a report, never facts: the pipeline stores them as
reactions linked to the story of the report the thread discusses
(``discussed_urls``) and never cites them as a source.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from matome.extract.dates import JST
from matome.extract.urls import canonical_url
from matome.records import Post

_SEP = "\x07"       # a block element's edge in the flattened text
_BLOCK = {"div", "dd", "dt", "dl", "p", "li", "ul", "ol", "table", "tr", "td", "section", "article",
          "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "aside", "hr"}
_HEADER = re.compile(
    r"^[ \t\u3000]*(?P<num>\d{1,4})(?![\d/])[ \t\u3000]*[：:]?[ \t\u3000]*"
    r"(?P<name>[^\n\x07]{0,80}?)[ \t\u3000]*[：:]?"
    r"[ \t\u3000]*(?P<date>(?:\d{4}|\d{2})/\d{1,2}/\d{1,2})(?:[ \t\u3000]*[(（][^)）]{1,3}[)）])?[ \t\u3000]*"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
    # ID:abc (2ch/5ch) or a bare 4-character ID (おーぷん2ちゃんねる)
    r"(?:[ \t\u3000]*(?:ID[:：][ \t\u3000]*)?(?P<id>[\w+/.\-]{3,16}))?[^\n\x07]{0,40}$",
    re.MULTILINE)
_REPLY = re.compile(r"(?:>>|＞＞|≫)\s*(\d{1,4})(?:\s*[-ー−〜~]\s*(\d{1,4}))?")
_URL_IN_TEXT = re.compile(r"h?ttps?://[\w\-.~:/?#\[\]@!$&'()*+,;=%]+")
_NOT_NEWS = re.compile(
    r"(?:^|\.)(?:2ch\.net|5ch\.net|2ch\.sc|open2ch\.net|bbspink\.com|fc2\.com|livedoor\.(?:jp|com|blog)|"
    r"twitter\.com|x\.com|facebook\.com|hatena\.ne\.jp|amazon\.co\.jp|amazon\.com|rakuten\.co\.jp|"
    r"google\.com|googleapis\.com|imgur\.com|youtube\.com|youtu\.be|instagram\.com|line\.me|"
    r"dmm\.com|dlsite\.com|i2i\.jp|doorblog\.jp|kaereba\.com|t\.co|bit\.ly|antenna\.\w+|"
    r"[\w-]*antenna[\w-]*\.\w+)$", re.I)
_IMAGE = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|mp4|bmp)(?:$|\?)", re.I)
MIN_POSTS = 3


def parse(html_text: str, url: str) -> tuple[str, list[Post], list[str]]:
    """(thread title, posts in page order, URLs of the news reports the thread discusses)."""
    title, posts, hrefs = _thread(html_text)
    if not posts:
        return title, [], []
    return title, list(posts), _discussed(hrefs, posts, url)


@lru_cache(maxsize=4)
def _thread(html_text: str) -> tuple[str, tuple[Post, ...], tuple[str, ...]]:
    """What a page holds whatever its address: title, posts and the links that may name the
    reports it discusses. Kept for the last few pages: extraction parses a board page, then the
    pipeline asks for its posts to store them as reactions."""
    try:
        # bytes, because lxml refuses a str that still carries an encoding declaration
        root = lxml_html.document_fromstring(html_text.encode("utf-8", "replace"),
                                             parser=lxml_html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return "", (), ()
    title = _title(root)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    flat = _flatten(root)
    posts: list[Post] = []
    heads = list(_HEADER.finditer(flat))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(flat)
        body = _body(flat[m.end():end])
        posts.append(Post(number=int(m.group("num")), body=body, name=_clean(m.group("name")),
                          posted=_posted(m.group("date"), m.group("time")),
                          poster_id=m.group("id") or "", replies=_replies(body)))
    if len({p.number for p in posts}) < MIN_POSTS:
        return title, (), ()
    return title, tuple(posts), tuple(a.get("href", "") for a in root.xpath(_SOURCE_LINKS))


def is_board(html_text: str) -> bool:
    """Whether the page holds a thread: at least three distinct numbered, dated posts."""
    if len(_HEADER.findall(html_text[:50_000])) < 1 and "ID:" not in html_text:
        return False
    return bool(parse(html_text, "")[1])


def _flatten(root: lxml_html.HtmlElement) -> str:
    out: list[str] = []

    def walk(node: lxml_html.HtmlElement) -> None:
        if not isinstance(node.tag, str):        # comments and processing instructions
            if node.tail:
                out.append(node.tail)
            return
        tag = node.tag
        if tag in _BLOCK:
            out.append(_SEP)
        if tag == "br":
            out.append("\n")
        if tag == "a" and node.get("href"):
            out.append(f"\x02{node.get('href')}\x03")    # kept for discussed links, dropped from bodies
        if node.text and tag not in {"script", "style"}:
            out.append(node.text)
        for child in node:
            walk(child)
        if tag in _BLOCK:
            out.append(_SEP)
        if node.tail:
            out.append(node.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    # A header starts its own line whatever the markup: a separator is also a line break.
    return re.sub(rf"\s*{_SEP}[\s{_SEP}]*", f"\n{_SEP}\n", "".join(out))


def _body(chunk: str) -> str:
    """The post's text: from its header to the first block edge after some text."""
    lines: list[str] = []
    for line in chunk.split("\n"):
        if line.strip() == _SEP:
            if any(s.strip() for s in lines):
                break
            continue
        lines.append(re.sub(r"\x02[^\x03]*\x03", "", line).strip())
    return "\n".join(lines).strip()


def _replies(body: str) -> list[int]:
    out: list[int] = []
    for m in _REPLY.finditer(body):
        start = int(m.group(1))
        stop = int(m.group(2)) if m.group(2) else start
        for n in range(start, min(stop, start + 9) + 1):
            if n not in out:
                out.append(n)
    return out


def _posted(date: str, time: str) -> str:
    try:
        y, mo, d = (int(x) for x in date.split("/"))
        y += 2000 if y < 100 else 0     # おーぷん2ちゃんねる writes 21/10/19
        parts = [int(x) for x in time.split(":")]
        return datetime(y, mo, d, parts[0], parts[1], parts[2] if len(parts) > 2 else 0,
                        tzinfo=JST).isoformat()
    except ValueError:    # 2月30日 in a hostile page: keep the post, drop the time
        return ""


# まとめ pages quote the report in a blockquote or credit it as ソース / 元記事 / 引用元
_SOURCE_LINKS = ("//blockquote//a[@href]|//a[@href][contains(., 'ソース') or contains(., '元記事') "
                 "or contains(., '出典') or contains(@class, 'source')]"
                 "|//*[contains(., 'ソース') or contains(., '元記事') or contains(., '出典')]"
                 "[string-length(.) < 200]/a[@href]")


def _discussed(hrefs: tuple[str, ...], posts: tuple[Post, ...], url: str) -> list[str]:
    """Links to news reports: URLs written in the posts first, then links in the page body."""
    own = (urlsplit(url).hostname or "").lower()
    found: list[str] = []
    candidates = [u for p in posts[:5] for u in _URL_IN_TEXT.findall(p.body)]
    candidates += [urljoin(url, h) if url else h for h in hrefs]
    for raw in candidates:
        u = canonical_url(("h" + raw) if raw.startswith("ttp") else raw)
        host = (urlsplit(u).hostname or "").lower()
        if (not host or host == own or _NOT_NEWS.search(host) or _IMAGE.search(u)
                or urlsplit(u).path in {"", "/"} or u in found):
            continue
        found.append(u)
    return found[:10]


def _title(root: lxml_html.HtmlElement) -> str:
    for xp in ('//meta[@property="og:title"]/@content', "//title/text()", "//h1//text()"):
        got = root.xpath(xp)
        if got and str(got[0]).strip():
            return _clean(str(got[0]))
    return ""


def _clean(s: str) -> str:
    s = re.sub(r"\x02[^\x03]*\x03", "", s)
    return re.sub(r"\s+", " ", s.replace(_SEP, " ")).strip()

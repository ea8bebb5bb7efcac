"""What a page is: a news report, a paywalled teaser, a personal blog post, or a board thread.

A teaser must never pass for the full report (its text stops where the
paywall starts), a diary post must never pass for news, and a board thread
is reactions, never facts. Each is recognised from what the page itself says:

* teaser — schema.org ``isAccessibleForFree: false``, or a paywall notice in
  the page (この記事は有料記事です, 読者会員限定です, 残り977文字,
  続きをお読みいただけます…). The notice lines are removed from the text.
  Flags: ``paywalled``, plus ``truncated`` when some of the report is shown,
  or ``body-withheld`` when nothing but the notice and page furniture is.
* blog — what the page declares: JSON-LD ``BlogPosting`` / ``Blog`` /
  ``DiscussionForumPosting`` (a forum post is no report either), ``og:type``
  ``blog``, a blog engine's ``generator`` or a はてなブログ on its own domain;
  or, on a page that does not declare itself a ``NewsArticle``, a blog's own
  furniture — at least two of: affiliate links (Amazon associate, 楽天
  アフィリエイト, A8, もしもアフィリエイト, ValueCommerce…), blog-ranking
  banners (ブログ村, 人気ブログランキング), トラックバック, the host's
  ブログを書く / 読者になる, monthly archives, a comment form or
  「コメント(3)」, a profile box, an entry address (/entry-123.html,
  /blog-entry-45.html, /archives/678, /entry/2026/01/02/…). A known blog
  host (Ameba, Excite, はてな, goo, FC2, livedoor, note…) is a hint that
  decides alone only when the page does not declare a ``NewsArticle``.
* board — decided by :mod:`matome.boards` finding numbered, dated posts.

A news outlet's page has a comment section or a category menu too, so
neither counts alone; a page's ``og:type`` ``article`` says nothing either
way (blogs use it as much as newspapers).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from matome.extract import jsonld

BLOG_HOSTS = re.compile(
    r"(?:^|\.)(?:ameblo\.jp|exblog\.jp|hatenablog\.(?:com|jp)|hateblo\.jp|hatenadiary\.(?:jp|com|org)|"
    r"blog\.goo\.ne\.jp|blog\.fc2\.com|fc2\.com|blog\.jp|blog\.livedoor\.jp|livedoor\.blog|"
    r"seesaa\.net|jugem\.jp|cocolog-nifty\.com|note\.com|note\.mu|blogspot\.com|wordpress\.com|"
    r"medium\.com|tumblr\.com|muragon\.com|yaplog\.jp|at\.webry\.info|blog\.so-net\.ne\.jp|"
    r"blogos\.com|rakuten\.co\.jp/[^/]+/diary)$", re.I)
# Lines that are the paywall talking, not the report (kept short so a report
# sentence that mentions 会員 is never taken for one).
_NOTICE = re.compile(
    r"^(?:\[?(?:有料|読者|プレミアム)?会員限定(?:記事)?\]?|この記事は.{0,12}(?:有料|会員|限定).{0,20}|"
    r"残り\s*[\d,，]+\s*文字.{0,20}|.{0,30}(?:続きをお?読み|続きを読む|続きはこちら).{0,30}|"
    r".{0,30}会員登録.{0,40}(?:閲覧|読め|お読み).{0,20}|.{0,20}ログインして(?:閲覧|続きを).{0,20}|"
    r"有料会員になると.{0,30}|.{0,40}(?:コース|プラン).{0,20}(?:無料|円).{0,30}|"
    r"読売新聞の購読者は、?|.{0,20}閲覧できます。?（.{0,20}）|「?QRコード付き.{0,30}|お持ちの方も登録できます。?|"
    r"無断転載・複製を禁じます)$")
_PAYWALL_TEXT = re.compile(
    r"この記事は(?:有料|会員限定|有料会員|読者会員限定|プレミアム)|読者会員限定です|残り\s*<?b?>?\s*[\d,]+\s*<?/?b?>?\s*文字"
    r"|有料会員になると続き|登録すると続きを|続きをお読みいただけます|ログインして(?:閲覧|続きを読む)")


def paywalled(html_text: str, tree: Any, ld: list[jsonld.Block] | None = None) -> bool:
    """Whether the page says its report is behind a paywall (``ld``: its JSON-LD, if read)."""
    for block in jsonld.read(tree) if ld is None else ld:
        if "isAccessibleForFree" in block.raw and _json_says_not_free(block):
            return True
    return bool(_PAYWALL_TEXT.search(html_text))


def _json_says_not_free(block: jsonld.Block) -> bool:
    if not block.valid:
        return bool(re.search(r'"isAccessibleForFree"\s*:\s*"?(?:false|False)', block.raw))
    return any(str(item.get("isAccessibleForFree", "")).lower() == "false"
               for item in jsonld.objects(block.data))


def without_notices(text: str) -> str:
    """The text without the paywall's own lines (この記事は有料記事です, 残り716文字…)."""
    return "\n".join(line for line in text.split("\n") if not _NOTICE.match(line.strip()))


def teaser_flags(body_after: str, min_chars: int) -> list[str]:
    """``paywalled`` and whether some of the report is shown or none of it."""
    substantial = [ln for ln in body_after.split("\n") if len(ln.strip()) >= 20]
    shown = sum(len(ln) for ln in substantial)
    return ["paywalled", "truncated" if shown >= min_chars else "body-withheld"]


def blog_url(url: str) -> bool:
    """A URL on a blog host (or a host+path such as a rakuten diary): what the address alone says."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return bool(BLOG_HOSTS.search(host) or BLOG_HOSTS.search(host + parts.path.rsplit("/", 1)[0]))


def is_blog(url: str, tree: Any, html_text: str, ld: list[jsonld.Block] | None = None) -> bool:
    """A personal blog post (or forum post), from what the page says and, as a hint, its address
    (``ld``: the page's JSON-LD, if read)."""
    declared = _ld_types(jsonld.read(tree) if ld is None else ld)
    news = bool(declared & NEWS_TYPES)
    if declared & BLOG_TYPES and not news:
        return True
    if any(v.strip().lower() == "blog" for v in tree.xpath('//meta[@property="og:type"]/@content')):
        return True
    if 'data-admin-domain="//blog.hatena.ne.jp"' in html_text[:5000]:
        return True
    generator = " ".join(tree.xpath('//meta[@name="generator"]/@content')).lower()
    if any(g in generator for g in ("hatena blog", "ameba", "exblog", "fc2 blog", "seesaa", "jugem")):
        return True
    if news:
        return False
    return blog_url(url) or len(blog_signs(url, html_text)) >= 2


# schema.org types: the news family (a news outlet's live blog is news) and posts that are not reports
NEWS_TYPES = frozenset({"NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
                        "BackgroundNewsArticle", "ReviewNewsArticle", "AskPublicNewsArticle",
                        "LiveBlogPosting"})
BLOG_TYPES = frozenset({"BlogPosting", "Blog", "DiscussionForumPosting", "SocialMediaPosting"})
_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]{0,300}\]|"[^"]{1,60}")')
# A blog's own furniture, by kind; a page with two kinds of it is a blog. Each pattern comes
# with the words one of its matches must contain (case-folded): ``in`` finds those in a
# whole page at C speed, where a case-blind alternation tried at every position cost
# more than a tenth of the extract stage.
_SIGNS: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "affiliate": (("amazon.", "amzn.to/", "rakuten", "a8.net/", "moshimo.com/", "valuecommerce.",
                   "linksynergy.com/", "accesstrade.net/"), re.compile(
        r"""amazon\.(?:co\.jp|com)/[^"'\s>]*(?:[?&;]tag=[\w.-]+-2\d|/exec/obidos/)|amzn\.to/|"""
        r"""hb\.afl\.rakuten\.co\.jp|rakuten_ad_target|a8\.net/|moshimo\.com/|valuecommerce\.(?:com|ne\.jp)/|"""
        r"""linksynergy\.com/|accesstrade\.net/""", re.I)),
    "ranking": (("blogmura.com", "with2.net", "blogranking", "ブログランキング", "ブログ村"),
                re.compile(r"blogmura\.com|with2\.net|blogranking|ブログランキング|ブログ村", re.I)),
    "trackback": (("トラックバック", "trackback"), re.compile(r"トラックバック|trackback", re.I)),
    "platform": (("ブログ", "読者になる"),
                 re.compile(r"ブログを書く|ブログ開設|ブログをはじめる|ブログを始める|読者になる|このブログの|"
                            r"ブログをフォロー|ブログトップ")),
    "archive": (("月別", "アーカイブ"), re.compile(r"月別アーカイブ|月別記事|アーカイブ")),
    "comments": (("コメント",),
                 re.compile(r"コメント\s*[(（]\s*\d+\s*[)）]|コメントを(?:投稿|書く)|コメントする|コメント欄")),
    "profile": (("プロフィール",), re.compile(r"プロフィール")),
}
_ENTRY_PATH = re.compile(r"/(?:blog-)?entry-\d+\.html|/archives/\d+(?:\.html)?$|/entry/\d{4}/\d{2}/\d{2}/|"
                         r"/e/[0-9a-f]{32}$|/blog/")


def blog_signs(url: str, html_text: str) -> list[str]:
    """Which kinds of a blog's own furniture the page (and its address) shows."""
    folded = html_text.casefold()  # what re.I matches case-blind, casefold() makes equal
    found = [name for name, (words, rx) in _SIGNS.items()
             if any(w in folded for w in words) and rx.search(html_text)]
    if _ENTRY_PATH.search(urlsplit(url).path):
        found.append("entry-address")
    return found


def _ld_types(ld: list[jsonld.Block]) -> set[str]:
    """Every schema.org ``@type`` the page's JSON-LD names (read from the text: a block
    that is not valid JSON still says what it is)."""
    out: set[str] = set()
    for block in ld:
        for m in _TYPE.finditer(block.raw):
            out.update(re.findall(r'"([^"]{1,60})"', m.group(1)))
    return out

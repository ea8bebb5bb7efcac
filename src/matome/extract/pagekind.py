"""What a page is: a news report, a paywalled teaser, a personal blog post, or a board thread.

A teaser must never pass for the full report (its text stops where the
paywall starts), a diary post must never pass for news, and a board thread
is reactions, never facts. Each is recognised from what the page itself says:

* teaser — schema.org ``isAccessibleForFree: false``, or a paywall notice in
  the page (この記事は有料記事です, 読者会員限定です, 残り977文字,
  続きをお読みいただけます…). The notice lines are removed from the text.
  Flags: ``paywalled``, plus ``truncated`` when some of the report is shown,
  or ``body-withheld`` when nothing but the notice and page furniture is.
* blog — a personal blog host (Ameba, Excite, はてな, goo, FC2, livedoor,
  note…), a はてなブログ on its own domain, or JSON-LD ``BlogPosting``.
* board — decided by :mod:`matome.boards` finding numbered, dated posts.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

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


def paywalled(html_text: str, tree: Any) -> bool:
    """Whether the page says its report is behind a paywall."""
    for node in tree.xpath('//script[@type="application/ld+json"]'):
        raw = node.text_content() or ""
        if "isAccessibleForFree" in raw and _json_says_not_free(raw):
            return True
    return bool(_PAYWALL_TEXT.search(html_text))


def _json_says_not_free(raw: str) -> bool:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, TypeError, RecursionError):
        return bool(re.search(r'"isAccessibleForFree"\s*:\s*"?(?:false|False)', raw))
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if str(item.get("isAccessibleForFree", "")).lower() == "false":
                return True
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
    return False


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


def is_blog(url: str, tree: Any, html_text: str) -> bool:
    """A personal blog post: a blog address, a はてなブログ on its own domain, or a BlogPosting."""
    if blog_url(url):
        return True
    if 'data-admin-domain="//blog.hatena.ne.jp"' in html_text[:5000]:
        return True
    for node in tree.xpath('//script[@type="application/ld+json"]'):
        if re.search(r'"@type"\s*:\s*\[?\s*"BlogPosting"', node.text_content() or ""):
            return True
    generator = " ".join(tree.xpath('//meta[@name="generator"]/@content')).lower()
    return any(g in generator for g in ("hatena blog", "ameba", "exblog", "fc2 blog", "seesaa", "jugem"))

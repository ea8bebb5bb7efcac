"""Canonical URLs: one page, one URL, however a link reached it.

The same report arrives as ``…?utm_source=twitter``, as its AMP copy
(``/amp/…``, ``….amp.html``, ``?outputType=amp``, the Google AMP cache), as a
mobile host (``m.``, ``sp.``), and wrapped in an aggregator's redirect link
(``google.com/url?q=…``, ``l.facebook.com/l.php?u=…``, はてなブックマーク's
``/entry/s/…``). Dedupe and the source list compare URLs, so all of these
become one. A redirect is resolved only when its target is written in the link
itself: matome never follows a redirect to find out.

courlan (installed with trafilatura) normalises URLs too, but keeps AMP and
mobile variants and does not unwrap redirectors, which is what matters here.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(
    r"^(?:utm_\w*|fbclid|gclid|dclid|yclid|msclkid|mc_\w+|_ga|_gl|ref|ref_src|ito|cmpid|ocid|spm|"
    r"igshid|n_cid|fm|outputtype|amp|s_cid|wt\.\w+|__twitter_impression)$")
# Hosts whose links carry the real target in a query parameter, and which parameters.
_REDIRECTORS: dict[str, tuple[str, ...]] = {
    "www.google.com": ("q", "url"), "google.com": ("q", "url"), "www.google.co.jp": ("q", "url"),
    "news.google.com": ("url",), "l.facebook.com": ("u",), "lm.facebook.com": ("u",),
    "m.facebook.com": ("u",), "l.instagram.com": ("u",), "out.reddit.com": ("url",),
    "www.youtube.com": ("q",), "slack-redir.net": ("url",), "t.umblr.com": ("z",),
    "away.vk.com": ("to",), "getpocket.com": ("url",), "smartnews.com": ("url",),
    "line.me": ("url",), "www.bing.com": ("url",), "rd.yahoo.co.jp": ("url",),
}
_REDIRECT_PATH = re.compile(r"^/(?:url|l\.php|redirect|redir|r|out|jump|click|link|away|goto)/?$", re.I)
_REDIRECT_PARAMS = ("url", "u", "q", "to", "target", "dest", "destination", "redirect", "link")
_EMBEDDED = re.compile(r"/\*-?(https?://.+)$|/entry/(s/)?([a-z0-9.-]+\.[a-z]{2,}/.*)$", re.I)
_AMP_CACHE = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$", re.I)
_MOBILE_LABELS = ("m.", "mobile.", "sp.", "amp.")
_SECOND_LEVEL = (".co.jp", ".or.jp", ".ne.jp", ".ac.jp", ".go.jp", ".co.uk")


def canonical_url(url: str, depth: int = 0) -> str:
    """The URL without tracking parameters, fragment, AMP/mobile variants or redirect wrappers."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in {"http", "https"}:
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    if depth < 3 and (target := _redirect_target(host, parts.path, parts.query)):
        return canonical_url(target, depth + 1)
    path = parts.path or "/"
    if _AMP_CACHE.match(host):
        # /c/s/www.example.jp/path → https://www.example.jp/path (s = https)
        m = re.match(r"^/(?:[a-z]/)*?(s/)?([a-z0-9.-]+\.[a-z]{2,})(/.*)?$", path, re.I)
        if m:
            scheme = "https" if m.group(1) else "http"
            return canonical_url(f"{scheme}://{m.group(2)}{m.group(3) or '/'}"
                                 f"{'?' + parts.query if parts.query else ''}", depth + 1)
    for label in _MOBILE_LABELS:
        # m.news.example.jp → news.example.jp; m.example.jp → www.example.jp (the desktop
        # host of a bare domain is usually www.); never strip down to a public suffix.
        rest = host[len(label):]
        dots = rest.count(".") - rest.endswith(_SECOND_LEVEL)
        if host.startswith(label) and dots >= 1:
            host = rest if dots >= 2 else "www." + rest
            break
    path = _without_amp(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k.lower())]
    netloc = host + (f":{parts.port}" if parts.port and parts.port not in {80, 443} else "")
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def _without_amp(path: str) -> str:
    path = re.sub(r"^/amp(?=/)", "", path)
    path = re.sub(r"/amp/?$", "/", path)
    path = re.sub(r"\.amp(\.html?)$", r"\1", path)
    path = re.sub(r"/amp(\.html?)$", r"\1", path)
    return path or "/"


def _redirect_target(host: str, path: str, query: str) -> str | None:
    params = dict(parse_qsl(query, keep_blank_values=True))
    names = _REDIRECTORS.get(host)
    if names is None and _REDIRECT_PATH.match(path or ""):
        names = _REDIRECT_PARAMS
    for name in names or ():
        value = unquote(params.get(name, "")) if "%3a" in params.get(name, "").lower() else params.get(
            name, "")
        if value.startswith(("http://", "https://")):
            return value
    if host in {"b.hatena.ne.jp", "rd.yahoo.co.jp"}:
        m = _EMBEDDED.search(path)
        if m and m.group(1):
            return unquote(m.group(1))
        if m and m.group(3):
            return ("https://" if m.group(2) else "http://") + m.group(3)
    return None

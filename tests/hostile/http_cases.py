"""The HTTP-level hostile corpus: one row per way a server can misbehave.

Each ``Case`` says what the server at 127.0.0.1 answers (``routes``; header
values may name ``{port}`` — this server — and ``{forbidden}`` — a live
server on another loopback port that is *not* on the allow list), which path
is ingested, and what must come of it: a reject whose reason contains
``reject`` at ``stage``, or, for pages that are awkward but readable, an
article that passes ``check``. Large bodies are generated when first used,
never stored in git.
"""

from __future__ import annotations

import functools
import gzip
import random
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import brotli
import zstandard

from tests.hostile.server import Reply, Request, Route

CAP = 3_000_000  # max_body_bytes in these tests
TEXT = ("北海市は14日、市内を流れる川の堤防を補強する工事を来月から始めると発表した。"
        "工事は3年をかけて行い、総事業費は約48億円を見込む。市の担当者は「大雨に備えたい」と話した。")
NEC_TEXT = "①会場は㈱髙島屋の本店で、№2の会議室を使う。" + TEXT


def page(text: str = TEXT, charset: str = "utf-8", title: str = "堤防の補強工事") -> str:
    return (f"<html lang='ja'><head><meta charset='{charset}'><title>{title}</title></head>"
            f"<body><article><h1>{title}</h1><p>{text}</p><p>{text}</p></article></body></html>")


HTML = page().encode()
SJIS_HEADER = "text/html; charset=Shift_JIS"


@functools.cache
def zeros(n: int = 20_000_000) -> bytes:
    return b"<p>" + b"\0" * n


@functools.cache
def dense(n: int = 4_000_000) -> bytes:
    """Text that compresses only a few times: over the cap once inflated, not a bomb."""
    rnd = random.Random(7)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(2, 9))) for _ in range(5000)]
    out = bytearray(b"<html><body><p>")
    while len(out) < n:
        out += b" ".join(rnd.choices(words, k=200)) + b"</p><p>"
    return bytes(out)


def fifty_mb() -> Iterator[bytes]:
    block = b"<p>" + "おおきなページ。".encode() * 2700 + b"</p>\n"  # ~64 KB
    for _ in range(50 * 2**20 // len(block)):
        yield block


def _gzip_bomb() -> bytes:
    return gzip.compress(zeros(), 9)


def _zlib_bomb() -> bytes:
    return zlib.compress(zeros(), 9)


def _raw_deflate_bomb() -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(zeros()) + c.flush()


@dataclass
class Case:
    id: str
    routes: Mapping[str, Route]
    path: str = "/case"
    reject: str | None = None  # a part of the recorded reason
    stage: str = "ingest"
    check: Callable[[Any], None] | None = None  # for readable pages: given the stored article


def lazy(make: Callable[[], Reply]) -> Callable[[Request], Reply]:
    """A route whose (large) reply is built on first use and kept."""
    return lambda _req: _cached(make)


@functools.cache
def _cached(make: Callable[[], Reply]) -> Reply:
    return make()


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", headers={"Location": location}, content_type="text/plain")


def refused(target: str, why: str) -> Case:
    return Case(f"redirect-to-{target}", {"/case": redirect(f"http://{target}/latest/meta-data")},
                reject=f"refused: redirect to {target} ({why})")


def flaky(status: int) -> Callable[[Request], Reply]:
    """Fails on every odd request, works on every even one (so each run sees a failure first)."""
    return lambda req: Reply(status, b"busy", headers={"Retry-After": "0"}) if req.n % 2 else Reply(body=HTML)


def conditional(req: Request) -> Reply:
    if req.headers.get("if-none-match") == '"v1"':
        return Reply(304, b"", headers={"ETag": '"v1"'})
    return Reply(body=HTML, headers={"ETag": '"v1"', "Last-Modified": "Sat, 14 Feb 2026 00:00:00 GMT"})


def _has(text: str, encoding: str | None = None, reason: str | None = None) -> Callable[[Any], None]:
    def check(article: Any) -> None:
        assert text in article.text, article.text[:200]
        if encoding is not None:
            assert article.encoding == encoding, article.encoding
        if reason is not None:
            assert article.encoding_reason.endswith(reason), article.encoding_reason
    return check


def _cl_short() -> Reply:
    return Reply(body=HTML, length=40)


CASES: list[Case] = [
    # --- compression bombs and oversized bodies
    Case("gzip-bomb", {"/case": lazy(lambda: Reply(body=_gzip_bomb(), headers={"Content-Encoding": "gzip"}))},
         reject="refused: compression bomb (gzip"),
    Case("deflate-bomb", {"/case": lazy(lambda: Reply(body=_zlib_bomb(),
                                                       headers={"Content-Encoding": "deflate"}))},
         reject="refused: compression bomb (deflate"),
    Case("raw-deflate-bomb", {"/case": lazy(lambda: Reply(body=_raw_deflate_bomb(),
                                                           headers={"Content-Encoding": "deflate"}))},
         reject="refused: compression bomb (deflate"),
    Case("brotli-bomb", {"/case": lazy(lambda: Reply(body=brotli.compress(zeros(), quality=5),
                                                      headers={"Content-Encoding": "br"}))},
         reject="refused: compression bomb (br"),
    Case("zstd-bomb", {"/case": lazy(lambda: Reply(body=zstandard.ZstdCompressor(19).compress(zeros()),
                                                    headers={"Content-Encoding": "zstd"}))},
         reject="refused: compression bomb (zstd"),
    Case("gzip-in-gzip-bomb", {"/case": lazy(lambda: Reply(body=gzip.compress(_gzip_bomb()),
                                                            headers={"Content-Encoding": "gzip, gzip"}))},
         reject="refused: compression bomb (gzip+gzip"),
    Case("dense-gzip-over-cap", {"/case": lazy(lambda: Reply(body=gzip.compress(dense(), 1),
                                                              headers={"Content-Encoding": "gzip"}))},
         reject=f"body over {CAP} bytes after decompression"),
    Case("fifty-mb-streamed", {"/case": Reply(body=fifty_mb, length=None)}, reject=f"body over {CAP} bytes"),
    Case("fifty-mb-content-length", {"/case": Reply(body=fifty_mb, length=50 * 2**20)},
         reject=f"body over {CAP} bytes (Content-Length {50 * 2**20})"),
    Case("corrupt-gzip", {"/case": Reply(body=b"\x1f\x8b\x08\x00" + b"garbage!" * 50,
                                         headers={"Content-Encoding": "gzip"})},
         reject="corrupt gzip body"),
    Case("corrupt-brotli", {"/case": Reply(body=b"\xff" * 300, headers={"Content-Encoding": "br"})},
         reject="corrupt br body"),
    Case("unknown-content-encoding", {"/case": Reply(body=HTML, headers={"Content-Encoding": "compress"})},
         reject="unsupported Content-Encoding 'compress'"),
    # --- slow and broken servers
    Case("hang-before-headers", {"/case": Reply(body=HTML, pause=30)}, reject="timed out: no bytes"),
    Case("drip-feed", {"/case": Reply(body=HTML * 40, chunk=1, drip=0.05, length=None)},
         reject="too slow: response not complete within 2 s"),
    Case("truncated-body", {"/case": Reply(body=HTML, length=len(HTML) * 10)}, reject="broken response"),
    Case("content-length-not-a-number", {"/case": Reply(body=HTML, length="lots")}, reject="broken response"),
    Case("content-length-too-short", {"/case": lazy(_cl_short)}, stage="extract", reject="no article text"),
    Case("huge-header", {"/case": Reply(body=HTML, headers={"X-Junk": "j" * 200_000})},
         reject="broken response"),
    Case("not-http-at-all", {"/case": Reply(999, HTML, reason="WHAT")}, reject="HTTP 999"),
    # --- redirects
    Case("redirect-loop", {"/case": redirect("/b"), "/b": redirect("/case")}, reject="redirect loop: "),
    Case("redirect-to-itself", {"/case": redirect("/case", 301)}, reject="redirect loop: "),
    Case("too-many-redirects",
         {"/case": redirect("/r1"), **{f"/r{i}": redirect(f"/r{i + 1}") for i in range(1, 9)}},
         reject="more than 5 redirects"),
    Case("redirect-to-other-loopback-port", {"/case": redirect("http://127.0.0.1:{forbidden}/")},
         reject="refused: redirect to 127.0.0.1:{forbidden} (loopback)"),
    Case("redirect-to-localhost", {"/case": redirect("http://localhost:{port}/good")},
         reject="refused: redirect to localhost:{port}, which resolves to"),
    refused("10.0.0.1", "private"),
    refused("169.254.169.254", "link-local"),
    refused("100.64.0.1", "carrier-grade NAT"),
    refused("0.0.0.0", "unspecified"),
    refused("192.168.1.1", "private"),
    refused("224.0.0.1", "multicast"),
    Case("redirect-to-ipv6-loopback", {"/case": redirect("http://[::1]:{port}/good")},
         reject="refused: redirect to [::1]:{port} (loopback)"),
    Case("redirect-to-ipv4-mapped-ipv6", {"/case": redirect("http://[::ffff:127.0.0.1]:{port}/good")},
         reject="refused: redirect to [::ffff:127.0.0.1]:{port} (loopback)"),
    Case("redirect-to-decimal-ip", {"/case": redirect("http://2130706433:{port}/good")},
         reject="which resolves to 127.0.0.1 (loopback)"),
    Case("redirect-to-file", {"/case": redirect("file:///etc/passwd")},
         reject="refused: redirect to file:///etc/passwd (only http and https URLs are fetched)"),
    Case("redirect-to-javascript", {"/case": redirect("javascript:alert(1)")},
         reject="refused: redirect to javascript:alert(1) (only http and https"),
    Case("redirect-to-ftp", {"/case": redirect("ftp://127.0.0.1:{port}/good")},
         reject="refused: redirect to ftp://"),
    Case("redirect-to-data", {"/case": redirect("data:text/html,<p>x</p>")},
         reject="refused: redirect to data:"),
    Case("redirect-without-location", {"/case": Reply(302, b"")}, reject="HTTP 302 Found without a Location"),
    Case("redirect-to-bad-port", {"/case": redirect("http://127.0.0.1:99999/")}, reject="is not a valid URL"),
    Case("redirect-to-https-on-plain-http", {"/case": redirect("https://127.0.0.1:{port}/good")},
         reject="fetch failed: ConnectError"),
    # --- rate limits and errors
    Case("429-storm", {"/case": Reply(429, b"slow down")}, reject="gave up after 3 tries: HTTP 429"),
    Case("429-storm-retry-after-0", {"/case": Reply(429, b"", headers={"Retry-After": "0"})},
         reject="gave up after 3 tries: HTTP 429, server asked to wait 0 s"),
    Case("429-retry-after-an-hour", {"/case": Reply(429, b"", headers={"Retry-After": "3600"})},
         reject="gave up after 1 try: HTTP 429, server asked to wait 3600 s"),
    Case("429-retry-after-a-date",
         {"/case": Reply(429, b"", headers={"Retry-After": "Fri, 31 Dec 2199 23:59:59 GMT"})},
         reject="gave up after 1 try: HTTP 429, server asked to wait"),
    Case("429-retry-after-nonsense", {"/case": Reply(429, b"", headers={"Retry-After": "soon-ish"})},
         reject="gave up after 3 tries: HTTP 429"),
    Case("503-storm", {"/case": Reply(503, b"", headers={"Retry-After": "0"})},
         reject="gave up after 3 tries: HTTP 503"),
    Case("503-then-success", {"/case": flaky(503)}, check=_has("堤防を補強")),
    Case("429-then-success", {"/case": flaky(429)}, check=_has("堤防を補強")),
    Case("404", {"/case": Reply(404, b"gone")}, reject="HTTP 404 Not Found"),
    Case("410", {"/case": Reply(410, b"gone")}, reject="HTTP 410 Gone"),
    Case("500", {"/case": Reply(500, b"oops")}, reject="HTTP 500 Internal Server Error"),
    Case("unsolicited-304", {"/case": Reply(304, b"")},
         reject="HTTP 304 Not Modified to a request that was not"),
    Case("conditional-get-304", {"/case": conditional}, check=_has("堤防を補強")),
    # --- robots.txt
    Case("robots-disallow", {"/robots.txt": Reply(body=b"User-agent: *\nDisallow: /private/\n",
                                                  content_type="text/plain"),
                             "/private/page": Reply(body=HTML)},
         path="/private/page", reject="robots.txt disallows /private/page for matome"),
    Case("robots-disallow-matome-only", {"/robots.txt": Reply(
        body=b"User-agent: matome\nDisallow: /\n\nUser-agent: *\nAllow: /\n", content_type="text/plain"),
        "/case": Reply(body=HTML)}, reject="robots.txt disallows /case for matome"),
    Case("robots-500", {"/robots.txt": Reply(500, b""), "/case": Reply(body=HTML)},
         reject="robots.txt of 127.0.0.1:{port} answered HTTP 500; fetching nothing from the host for 600 s"),
    Case("robots-hangs", {"/robots.txt": Reply(body=b"", pause=30), "/case": Reply(body=HTML)},
         reject="robots.txt of 127.0.0.1:{port} could not be read (timed out"),
    Case("robots-redirects-to-metadata", {"/robots.txt": redirect("http://169.254.169.254/robots.txt"),
                                          "/case": Reply(body=HTML)},
         reject="could not be read (refused: redirect to 169.254.169.254 (link-local))"),
    Case("robots-bomb", {"/robots.txt": lazy(lambda: Reply(body=_gzip_bomb(),
                                                           headers={"Content-Encoding": "gzip"})),
                         "/case": Reply(body=HTML)},
         check=_has("堤防を補強")),  # only the first 500 KiB of a robots.txt is read: no bomb
    Case("robots-crawl-delay", {"/robots.txt": Reply(body=b"User-agent: *\nCrawl-delay: 1\nDisallow: /x\n",
                                                     content_type="text/plain"), "/case": Reply(body=HTML)},
         check=_has("堤防を補強")),
    Case("robots-is-html-soft-404", {"/robots.txt": Reply(body=b"<html><body>Not found</body></html>"),
                                     "/case": Reply(body=HTML)}, check=_has("堤防を補強")),
    # --- bodies that are odd but readable, or not pages at all
    Case("empty-200", {"/case": Reply(body=b"")}, stage="extract", reject="not HTML"),
    Case("html-as-octet-stream", {"/case": Reply(body=HTML, content_type="application/octet-stream")},
         check=_has("堤防を補強")),
    Case("binary-as-html", {"/case": Reply(body=bytes(random.Random(3).randbytes(5000)))},
         stage="extract", reject="not HTML"),
    Case("no-content-type", {"/case": Reply(body=HTML, content_type=None)}, check=_has("堤防を補強")),
    Case("gzip-page", {"/case": Reply(body=gzip.compress(HTML), headers={"Content-Encoding": "gzip"})},
         check=_has("堤防を補強", "utf-8")),
    Case("brotli-page", {"/case": Reply(body=brotli.compress(HTML), headers={"Content-Encoding": "br"})},
         check=_has("堤防を補強", "utf-8")),
    Case("zstd-page", {"/case": Reply(body=zstandard.ZstdCompressor().compress(HTML),
                                      headers={"Content-Encoding": "zstd"})},
         check=_has("堤防を補強", "utf-8")),
    # --- charsets
    Case("header-sjis-body-eucjp-meta-eucjp",
         {"/case": Reply(body=page(charset="EUC-JP").encode("euc_jp"), content_type=SJIS_HEADER)},
         check=_has("堤防を補強", "euc_jp", "; meta")),
    Case("utf8-declared-shift-jis",
         {"/case": Reply(body=page(charset="Shift_JIS").encode(), content_type=SJIS_HEADER)},
         check=_has("堤防を補強", "utf-8", "valid-utf8")),
    Case("eucjp-declared-shift-jis-everywhere",
         {"/case": Reply(body=page(charset="Shift_JIS").encode("euc_jp"),
                         content_type="text/html; charset=sjis")},
         check=_has("堤防を補強", "euc_jp", "detected euc_jp")),
    Case("nec-ibm-characters-shift-jis",
         {"/case": Reply(body=page(NEC_TEXT, "Shift_JIS").encode("cp932"), content_type="text/html")},
         check=_has("①会場は㈱髙島屋", "cp932", "meta")),
    Case("latin1-server-default-over-shift-jis",
         {"/case": Reply(body=page(charset="x-sjis").encode("cp932"),
                         content_type="text/html; charset=iso-8859-1")},
         check=_has("堤防を補強", "cp932", "meta")),
    Case("iso-2022-jp-unlabelled",
         {"/case": Reply(body=page(charset="").encode("iso2022_jp"), content_type="text/html")},
         check=_has("堤防を補強", "iso2022_jp")),
]

"""Fetching URLs politely and safely, for ``matome ingest URL`` and ``watch``.

One ``Fetcher`` per run, shared by every thread: httpx underneath, with

- only http and https, at most ``max_redirects`` redirects, loops named;
- the SSRF guard of ``netguard`` on every connection (each redirect hop and
  every robots.txt): non-public addresses refused unless ``allow_private``
  names them, checked at connect time; proxies from the environment ignored so
  they cannot bypass it;
- politeness from ``robots.Hosts`` (one connection and a minimum delay per
  host, robots.txt, Crawl-delay, Retry-After);
- retries with backoff on 429/503, giving up with a reason when the server
  asks for a longer wait than ``max_retry_wait``; and on a connection refused,
  reset or closed before any response (a server restarting, a proxy shedding
  load), but not on a timeout (a hanging host would hold its source's thread
  for ``max_tries`` timeouts) or a TLS failure;
- conditional GET through a ``FetchCache`` (ETag / Last-Modified → 304);
- timeouts, and a total deadline per response;
- a body cap counted on decoded bytes while streaming, and a cap on the
  compression ratio. Content-Encoding is decoded here rather than by httpx,
  because httpx inflates each network chunk whole: one 64 KB chunk of a
  brotli or zstd bomb becomes gigabytes before any cap can look at it. Here
  every decoder yields at most 64 KB at a time.

Every failure is a ``FetchError`` whose reason a person can read.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import IO, Any, Protocol, cast
from urllib.parse import SplitResult, urljoin, urlsplit

import brotli  # >= 1.2, for output_buffer_limit
import httpx
import zstandard

from matome.errors import FetchError, Refused, TransientFetchError
from matome.ingest.netguard import AddressPolicy, guarded_transport
from matome.ingest.robots import ROBOTS_MAX_BYTES, Hosts, RobotsAnswer, retry_after
from matome.settings import FetchSettings

CHUNK = 65_536
SLICE = 2_048
RATIO_FLOOR = 1_000_000  # the compression-ratio check starts past this many decoded bytes
REDIRECTS = {301, 302, 303, 307, 308}
RETRY = {429, 503}
LOCATION = "x-matome-location"

# --- Content-Encoding, 64 KB at a time -------------------------------------------


def _inflate(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    d: Any = None
    for chunk in chunks:
        if d is None:
            # "deflate" is zlib-wrapped by the standard and raw by some servers: look at the header
            zlib_header = len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] << 8 | chunk[1]) % 31 == 0
            d = zlib.decompressobj(47 if name == "gzip" else 15 if zlib_header else -15)
        data = chunk
        while data and not d.eof:
            yield d.decompress(data, CHUNK)
            data = d.unconsumed_tail
        if d.eof:
            return
    if d is not None:
        yield d.flush()


def _unbrotli(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    d = brotli.Decompressor()
    for chunk in chunks:
        yield d.process(chunk, output_buffer_limit=CHUNK)
        while not d.can_accept_more_data():
            out = d.process(b"", output_buffer_limit=CHUNK)
            if not out:
                break
            yield out


class _Reader:
    """A file-like view of a chunk iterator, for zstandard's read_to_iter."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while not self._buf:
            nxt = next(self._chunks, None)
            if nxt is None:
                return b""
            self._buf = nxt
        size = len(self._buf) if size < 0 else size
        out, self._buf = self._buf[:size], self._buf[size:]
        return out


def _unzstd(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    # 8 MB is the window RFC 8878 asks HTTP decoders to support; larger ones only cost memory
    dctx = zstandard.ZstdDecompressor(max_window_size=8 << 20)
    yield from dctx.read_to_iter(cast(IO[bytes], _Reader(chunks)), read_size=CHUNK, write_size=CHUNK)


_DECODERS: dict[str, Callable[[Iterator[bytes], str], Iterator[bytes]]] = {
    "gzip": _inflate, "x-gzip": _inflate, "deflate": _inflate, "br": _unbrotli, "zstd": _unzstd}


def _decoded(raw: Iterator[bytes], encodings: list[str]) -> Iterator[bytes]:
    stream = raw
    for name in reversed(encodings):  # the last encoding applied is undone first
        if name not in _DECODERS:
            raise FetchError(f"unsupported Content-Encoding {name!r}")
        stream = _DECODERS[name](stream, "gzip" if name == "x-gzip" else name)
    return stream


def gunzip(data: bytes, limit: int) -> bytes:
    """A body that is itself a gzip file (sitemap.xml.gz), through the same capped decoder."""
    out = bytearray()
    try:
        for piece in _inflate(iter([data]), "gzip"):
            out += piece
            if len(out) > limit:
                raise FetchError(f"gzip body over {limit} bytes once decompressed")
    except zlib.error as exc:
        raise FetchError(f"broken gzip data: {exc}") from exc
    return bytes(out)


def _read_body(resp: httpx.Response, s: FetchSettings, limit: int, truncate: bool = False) -> bytes:
    encodings = [e.strip().lower() for e in resp.headers.get("content-encoding", "").split(",")
                 if e.strip() and e.strip().lower() != "identity"]
    declared = resp.headers.get("content-length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise FetchError(f"body over {limit} bytes (Content-Length {declared})")
    raw_bytes = 0

    def raw() -> Iterator[bytes]:
        # fed to the decoders in small slices, so the ratio compares output with the input
        # that produced it, not with a whole network read
        nonlocal raw_bytes
        for chunk in resp.iter_raw(CHUNK):
            for i in range(0, len(chunk), SLICE):
                raw_bytes += len(chunk[i : i + SLICE])
                yield chunk[i : i + SLICE]

    body = bytearray()
    after = " after decompression" if encodings else ""
    try:
        for piece in _decoded(raw(), encodings):
            body += piece
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise FetchError(f"body over {limit} bytes{after}")
            if encodings and len(body) > RATIO_FLOOR and len(body) > s.max_compression_ratio * raw_bytes:
                raise FetchError(f"refused: compression bomb ({'+'.join(encodings)}: {raw_bytes} bytes "
                                 f"inflate past {len(body)}, over {s.max_compression_ratio:g} times)")
    except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
        raise FetchError(f"corrupt {'+'.join(encodings)} body: {exc}") from exc
    return bytes(body)


# --- the fetcher -------------------------------------------------------------------


@dataclass
class Fetched:
    url: str  # as asked for
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]
    not_modified: bool = False
    redirects: list[str] = field(default_factory=list)


class FetchCache(Protocol):
    """Validators for conditional GET, kept between runs (the store keeps them in fetch_cache)."""

    def validators(self, url: str) -> tuple[str | None, str | None] | None: ...

    def remember(self, url: str, etag: str | None, last_modified: str | None) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._seen: dict[str, tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()

    def validators(self, url: str) -> tuple[str | None, str | None] | None:
        with self._lock:
            return self._seen.get(url)

    def remember(self, url: str, etag: str | None, last_modified: str | None) -> None:
        with self._lock:
            self._seen[url] = (etag, last_modified)


def allow_list(settings: FetchSettings) -> list[str]:
    """``allow_private`` plus the comma-separated ``$MATOME_ALLOW_PRIVATE``."""
    env = [a.strip() for a in os.environ.get("MATOME_ALLOW_PRIVATE", "").split(",") if a.strip()]
    return [*settings.allow_private, *env]


def _checked(url: str, via: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise FetchError(f"refused: {via}{url[:200]} is not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise FetchError(f"refused: {via}{url[:200]} (only http and https URLs are fetched)")
    if not parts.hostname:
        raise FetchError(f"refused: {via}{url[:200]} has no host")
    return parts


def _host_key(parts: SplitResult) -> str:
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme.lower() == 'https' else 80)}"


def _status(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _hide_location(response: httpx.Response) -> None:
    # Even when not following redirects, httpx parses Location to offer ``next_request`` and
    # raises on a hostile one (``javascript:…``) before we see the response. Redirects are
    # followed here, hop by hop, so Location is moved out of its way.
    if "location" in response.headers:
        response.headers[LOCATION] = response.headers.pop("location")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Fetcher:
    """Thread-safe: one per run, used by every thread of it. ``get`` raises ``FetchError``."""

    def __init__(self, settings: FetchSettings | None = None, cache: FetchCache | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = s = settings or FetchSettings()
        self.cache: FetchCache = cache if cache is not None else MemoryCache()
        self.hosts = Hosts(s, clock=clock, sleep=sleep)
        self._sleep = sleep
        self.policy = AddressPolicy(allow_list(s))
        self._client = httpx.Client(
            transport=guarded_transport(self.policy, s.total_timeout), follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate, br, zstd",
                     "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
            event_hooks={"response": [_hide_location]})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str) -> Fetched:
        redirects: list[str] = []
        current = url
        while True:
            via = "redirect to " if redirects else ""
            parts = _checked(current, via)
            key = _host_key(parts)
            try:
                if parts.path != "/robots.txt":
                    self.hosts.check(key, current, functools.partial(self._robots, parts))
                status, headers, body = self._tries(current, key)
            except Refused as refused:
                raise FetchError(refused.describe(via)) from None
            if status in REDIRECTS:
                location = headers.get(LOCATION, "").strip()
                if not location:
                    raise FetchError(f"{_status(status)} without a Location header")
                target = urljoin(current, location)
                if target == url or target in redirects:
                    chain = [url, *redirects, target]
                    raise FetchError("redirect loop: " + " → ".join(u[:120] for u in chain))
                redirects.append(target)
                if len(redirects) > self.settings.max_redirects:
                    raise FetchError(f"more than {self.settings.max_redirects} redirects")
                current = target
                continue
            ctype = headers.get("content-type", "")
            if status == 304:
                if self.cache.validators(current) is None:
                    raise FetchError("HTTP 304 Not Modified to a request that was not conditional")
                return Fetched(url, current, status, b"", ctype, headers, True, redirects)
            if not 200 <= status < 300:
                raise FetchError(_status(status))
            if headers.get("etag") or headers.get("last-modified"):
                self.cache.remember(current, headers.get("etag"), headers.get("last-modified"))
            return Fetched(url, current, status, body, ctype, headers, False, redirects)

    def _tries(self, url: str, key: str) -> tuple[int, dict[str, str], bytes]:
        s = self.settings
        for attempt in range(1, max(1, s.max_tries) + 1):
            tries = f"{attempt} {'try' if attempt == 1 else 'tries'}"
            try:
                with self.hosts.slot(key):
                    status, headers, body = self._once(url, s.max_body_bytes, conditional=True)
            except TransientFetchError as exc:
                if attempt >= s.max_tries:
                    raise FetchError(f"gave up after {tries}: {exc.reason}") from None
                self.hosts.defer(key, s.backoff * 2 ** (attempt - 1))
                continue
            if status not in RETRY:
                return status, headers, body
            asked = retry_after(headers.get("retry-after"))
            said = f", server asked to wait {asked:g} s" if asked is not None else ""
            if asked is not None and asked > s.max_retry_wait:
                raise FetchError(f"gave up after {tries}: HTTP {status}{said} "
                                 f"(more than max_retry_wait, {s.max_retry_wait:g} s)")
            if attempt >= s.max_tries:
                raise FetchError(f"gave up after {tries}: HTTP {status}{said}")
            self.hosts.defer(key, asked if asked is not None else s.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _once(self, url: str, limit: int, *, conditional: bool = False,
              truncate: bool = False) -> tuple[int, dict[str, str], bytes]:
        s = self.settings
        extra: dict[str, str] = {}
        known = self.cache.validators(url) if conditional else None
        if known:
            if known[0]:
                extra["If-None-Match"] = known[0]
            if known[1]:
                extra["If-Modified-Since"] = known[1]
        try:
            with self._client.stream("GET", url, headers=extra) as resp:
                headers = {k.lower(): v for k, v in resp.headers.items()}
                ok = 200 <= resp.status_code < 300
                body = _read_body(resp, s, limit, truncate) if ok else b""
                return resp.status_code, headers, body
        except httpx.ConnectTimeout as exc:
            raise FetchError(f"timed out connecting (after {s.connect_timeout:g} s)") from exc
        except httpx.ReadTimeout as exc:
            raise FetchError(f"timed out: no bytes from the server for {s.read_timeout:g} s") from exc
        except httpx.ConnectError as exc:
            # refused or reset while connecting: a restarting server or a dropped route, worth
            # another try; a TLS failure is not (it fails the same way every time)
            kind = FetchError if _caused_by(exc, ssl.SSLError) else TransientFetchError
            raise kind(f"fetch failed: ConnectError: {exc}") from exc
        except httpx.RemoteProtocolError as exc:
            # a connection closed before any response (an overloaded server or proxy dropping
            # it) is retried; a malformed or truncated response is not. httpcore says which
            # only in its message.
            kind = TransientFetchError if "without sending a response" in str(exc) else FetchError
            raise kind(f"broken response ({exc})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"fetch failed: {type(exc).__name__}: {exc}") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"refused: {url[:200]} is not a valid URL ({exc})") from exc

    def _robots(self, parts: SplitResult) -> RobotsAnswer:
        """The host's robots.txt: redirects followed (RFC 9309: five), the first 500 KiB read."""
        first = current = f"{parts.scheme}://{parts.netloc}/robots.txt"
        try:
            for _ in range(5):
                status, headers, body = self._robots_once(current)
                location = headers.get(LOCATION, "").strip()
                if status not in REDIRECTS or not location:
                    return RobotsAnswer(status=status, body=body)
                current = urljoin(current, location)
                if urlsplit(current).scheme.lower() not in {"http", "https"}:
                    break
        except Refused as refused:
            # refused on the first hop: the host itself is refused, so say that, not "robots"
            # (compared by hop, not by name: the guard sees an IDN host in punycode)
            if current == first:
                raise
            return RobotsAnswer(failure=f"could not be read ({refused.describe('redirect to ')})")
        except FetchError as exc:
            return RobotsAnswer(failure=f"could not be read ({exc.reason})")
        return RobotsAnswer(status=404)  # RFC 9309: a robots.txt that cannot be reached by redirects

    def _robots_once(self, url: str) -> tuple[int, dict[str, str], bytes]:
        """One robots.txt hop, tried again like a page when the connection drops: a host
        whose robots.txt cannot be read is left alone for a long while."""
        s = self.settings
        for attempt in range(1, max(1, s.max_tries) + 1):
            try:
                return self._once(url, ROBOTS_MAX_BYTES, truncate=True)
            except TransientFetchError as exc:
                if attempt >= s.max_tries:
                    raise FetchError(f"{exc.reason}, {attempt} tries") from None
                self._sleep(s.backoff * 2 ** (attempt - 1))  # in the host's slot: nothing else waits
        raise AssertionError("unreachable")

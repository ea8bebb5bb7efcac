"""Fetching one URL for ``matome ingest URL`` (first version).

Only http/https, at most 5 redirects, a timeout, and a size cap counted on
the decoded body (so a compression bomb stops at the cap). Each hop is
refused when its host resolves to a loopback, private, link-local or other
non-public address, unless ``MATOME_ALLOW_PRIVATE`` lists the address
(tests use it for their own 127.0.0.1 servers). Polite crawling (robots.txt,
per-host delays, conditional GET) is the ingestion issue's work.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx

from matome import __version__
from matome.errors import RecordError
from matome.records import RawDoc
from matome.settings import IngestSettings

USER_AGENT = f"matome/{__version__} (+https://github.com/matome)"
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(15.0, connect=10.0)


def _allowed(host: str) -> None:
    allow = {a.strip() for a in os.environ.get("MATOME_ALLOW_PRIVATE", "").split(",") if a.strip()}
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise RecordError(f"cannot resolve host {host!r}: {exc}") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if str(addr) in allow:
            continue
        if not addr.is_global or addr.is_multicast:
            raise RecordError(f"refused: {host} resolves to non-public address {addr}")


def get(url: str, settings: IngestSettings) -> tuple[str, bytes, str]:
    """(final URL, body, content type)."""
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False,
                      headers={"User-Agent": USER_AGENT}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise RecordError(f"refused URL scheme or host: {url}")
            _allowed(parts.hostname)
            with client.stream("GET", url) as resp:
                if resp.is_redirect:
                    url = urljoin(url, resp.headers.get("location", ""))
                    continue
                if resp.status_code >= 400:
                    raise RecordError(f"HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > settings.max_file_bytes:
                        raise RecordError(f"body over {settings.max_file_bytes} bytes")
                return str(resp.url), bytes(body), resp.headers.get("content-type", "")
    raise RecordError(f"more than {MAX_REDIRECTS} redirects")


def ingest_url(url: str, settings: IngestSettings) -> Iterator[RawDoc | RecordError]:
    from matome.sources import feed_entries

    try:
        final, body, ctype = get(url, settings)
    except RecordError as exc:
        exc.origin = url
        yield exc
        return
    except httpx.HTTPError as exc:
        yield RecordError(f"fetch failed: {exc.__class__.__name__}: {exc}", origin=url)
        return
    head = body[:1024].lstrip().lower()
    if ("xml" in ctype and b"<html" not in head) or head.startswith((b"<rss", b"<feed", b"<rdf")) \
            or b"<rss" in head or b"<feed" in head:
        yield from feed_entries(body, url)
        return
    yield RawDoc(key=f"url:{final}", kind="html", origin=url, location="", content=body,
                 hints={"url": final, "content_type": ctype})

"""Poll: fetch what the sources name, politely, and turn it into raw documents.

:mod:`matome.sources` says what an input holds; some of it is a
:class:`~matome.sources.Link` still to be fetched (a feed URL, a teaser
entry's page, a sitemap's URLs). This module fetches those through one
shared :class:`matome.fetch.Fetcher` (robots.txt, per-host delays, SSRF
guard, conditional GET) and sniffs what comes back, breadth first, with a
cap on pages per poll so a huge sitemap is worked through over several
polls instead of blocking one. A page already stored, whose feed entry or
sitemap date has not changed, is not fetched again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from matome.errors import RecordError
from matome.extract import canonical_url
from matome.ingest import sources
from matome.records import RawDoc
from matome.settings import Settings, SourceSettings
from matome.store import Store, ingest_state

Known = Callable[[sources.Link], bool]


@dataclass
class PollStats:
    """What one poll of one source did, for its health line."""

    not_modified: int = 0
    skipped_known: int = 0
    deferred: int = 0
    error: str | None = None      # the source itself could not be read
    notes: list[str] = field(default_factory=list)


def known_in(store: Store, source: str) -> Known:
    """A check that a page Link is already stored from this source, unchanged in what we know."""

    def known(link: sources.Link) -> bool:
        stored = ingest_state.stored_link_hints(store, link.url, source)
        if stored is None:
            return False
        return all(stored.get(k) == link.hints.get(k) for k in ("feed_entry", "lastmod")
                   if link.hints.get(k))

    return known


def expand(items: Iterable[sources.Item], fetcher: Any, settings: Settings, source: SourceSettings,
           known: Known | None = None, stats: PollStats | None = None
           ) -> Iterator[RawDoc | RecordError]:
    """Raw documents and errors, fetching every Link (and what it leads to) on the way."""

    stats = stats if stats is not None else PollStats()
    queue: deque[sources.Item] = deque(items)
    pages = 0
    cap = settings.ingest.max_pages_per_poll
    while queue:
        item = queue.popleft()
        if not isinstance(item, sources.Link):
            yield item
            continue
        if item.expect == "page":
            if known is not None and known(item):
                stats.skipped_known += 1
                continue
            if pages >= cap:
                stats.deferred += 1
                continue
            pages += 1
        try:
            got = fetcher.get(item.url)
        except RecordError as exc:
            if item.expect == "any" and item.origin == item.url:
                stats.error = exc.reason
            exc.origin, exc.location = item.url, item.location or exc.location
            yield exc
            if item.fallback is not None:  # the entry's own text is better than nothing
                yield item.fallback
            continue
        if got.not_modified:
            stats.not_modified += 1
            continue
        origin = item.url if item.expect != "page" else item.origin
        for sub in sources.sniff(got.body, origin, got.content_type or "", settings.ingest, source,
                                 url=got.final_url, expect=item.expect):
            if isinstance(sub, RawDoc) and item.expect == "page":
                sub.hints.update(item.hints)
                sub.link = canonical_url(item.url)
                sub.location = item.location
            queue.append(sub)
    if stats.deferred:
        stats.notes.append(f"{stats.deferred} pages left for the next poll (cap {cap} per poll)")


def read_once(target: str, settings: Settings) -> Iterator[RawDoc | RecordError]:
    """What a file or URL holds, fetched with a fresh fetcher and stored nowhere (`matome extract`)."""
    src = SourceSettings(name=target, path=target)
    yield from expand(sources.discover(target, settings.ingest, src), LazyFetcher(None, settings),
                      settings, src)


class LazyFetcher:
    """A Fetcher made on the first fetch: reading local files never opens a client."""

    def __init__(self, store: Store | None, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._real: Any = None
        self._lock = threading.Lock()
        self.cache: Any = None

    def get(self, url: str) -> Any:
        with self._lock:
            if self._real is None:
                from matome.ingest import fetch

                if self.store is not None and not self.store.readonly:
                    self.cache = ingest_state.DbFetchCache(self.store)
                self._real = fetch.Fetcher(self.settings.fetch, cache=self.cache)
        return self._real.get(url)

    def flush(self, thread: str | None = None) -> None:
        """Keep the validators of what was fetched, now that it is stored."""
        if self.cache is not None:
            self.cache.flush(thread)

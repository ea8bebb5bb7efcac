"""Politeness per host: one request at a time, a minimum delay, robots.txt, Retry-After.

``fetch.Fetcher`` asks ``Hosts`` for a *slot* before every request to a host
(``host:port``). A slot holds that host's lock, so there is one connection per
host, and it starts no earlier than the host's next allowed time: the minimum
delay after the previous request, a robots.txt Crawl-delay, or what a server
said in Retry-After. Each host has its own lock, so a slow host never holds up
another (``watch`` fetches from several threads).

robots.txt is read once per host with Protego (Scrapy's parser: the most
specific rule wins as RFC 9309 and Google do, wildcards, fractional
Crawl-delay — the standard library's parser takes the first matching rule and
whole seconds only) and kept for the fetcher's lifetime. As RFC 9309 says, a 4xx robots.txt means
"no rules"; a 5xx answer or an unreachable host means "fetch nothing" — for
``robots_failure_wait`` seconds, after which it is asked again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from protego import Protego

from matome.errors import FetchError
from matome.settings import FetchSettings

ROBOTS_MAX_BYTES = 512_000  # RFC 9309: parse at least 500 KiB, ignore the rest


@dataclass
class RobotsAnswer:
    """What fetching a host's /robots.txt gave: a status and a body, or a failure."""

    status: int = 0
    body: bytes = b""
    failure: str = ""  # why it could not be read (unreachable, timed out…)


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    delay: float = 0.0
    rules: Protego | None = None
    unavailable: str = ""  # reason robots.txt could not be read
    retry_robots_at: float = 0.0


class Hosts:
    """Per-host locks, delays and robots.txt rules; safe to share between threads."""

    def __init__(self, settings: FetchSettings, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _get(self, key: str) -> _Host:
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(delay=self.settings.min_host_delay)
            return host

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold ``key``'s one connection; start no earlier than its next allowed time."""
        host = self._get(key)
        with host.lock:
            wait = host.next_at - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                yield
            finally:
                host.next_at = max(host.next_at, self._clock() + host.delay)

    def defer(self, key: str, seconds: float) -> None:
        """The server asked for a pause (Retry-After or backoff): no request before it ends."""
        host = self._get(key)
        host.next_at = max(host.next_at, self._clock() + seconds)

    def delay(self, key: str) -> float:
        return self._get(key).delay

    def check(self, key: str, url: str, load: Callable[[], RobotsAnswer]) -> None:
        """Raise ``FetchError`` when the host's robots.txt forbids ``url``.

        ``load`` fetches the host's robots.txt (the fetcher's own guarded
        request); it is called inside the host's slot, once per host, so two
        threads never both fetch it.
        """
        if not self.settings.obey_robots:
            return
        host = self._get(key)
        if host.rules is None and (not host.unavailable or self._clock() >= host.retry_robots_at):
            with self.slot(key):
                if host.rules is None and (not host.unavailable
                                           or self._clock() >= host.retry_robots_at):
                    self._learn(host, load())
        if host.rules is None:
            raise FetchError(f"robots.txt of {key} {host.unavailable}; fetching nothing from "
                             f"the host for {self.settings.robots_failure_wait:g} s")
        agent = self.settings.user_agent
        if not host.rules.can_fetch(url, agent):
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            raise FetchError(f"robots.txt disallows {path} for {agent.split('/')[0]}")

    def _learn(self, host: _Host, got: RobotsAnswer) -> None:
        if got.failure or got.status >= 500 or got.status == 429:
            host.unavailable = got.failure or f"answered HTTP {got.status}"
            host.retry_robots_at = self._clock() + self.settings.robots_failure_wait
            return
        if 200 <= got.status < 300:
            rules = Protego.parse(got.body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace"))
        else:  # 4xx (and anything odd that is not a server failure): no rules apply
            rules = Protego.parse("")
        host.rules, host.unavailable = rules, ""
        agent = self.settings.user_agent
        crawl_delay = rules.crawl_delay(agent)
        rate = rules.request_rate(agent)
        wanted = float(crawl_delay or 0)
        if rate and rate.requests:
            wanted = max(wanted, rate.seconds / rate.requests)
        host.delay = max(self.settings.min_host_delay, min(wanted, self.settings.max_crawl_delay))


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

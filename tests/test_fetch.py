"""The polite, guarded fetcher against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from matome import pipeline
from matome.errors import ConfigError, FetchError, Refused
from matome.ingest import AddressPolicy, Fetcher, MemoryCache, non_public, poll, retry_after
from matome.settings import FetchSettings, Settings
from matome.store import Store, db_url
from tests.hostile.server import Reply, Request, Site, serve

PAGE = ("<html lang='ja'><head><meta charset='Shift_JIS'><title>橋の点検</title>"
        "<meta property='og:site_name' content='ループ新報'>"
        "<meta property='article:published_time' content='2026-02-14T09:00:00+09:00'></head>"
        "<body><article><h1>橋の点検</h1>"
        + "<p>北海市は14日、市内の橋の点検結果を公表した。補修が必要な橋は12本だった。</p>"
        + "<p>市は来年度から順に工事を始め、通行止めは夜間に限る方針だ。</p>"
        + "<p>点検は5年ごとに行っており、今回は市内の全412本が対象だった。</p>"
        + "</article></body></html>").encode("cp932")
FEED = ("""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>ループ通信</title>
<item><title>バス新路線</title><link>http://127.0.0.1/f1</link><guid>f1</guid>
<pubDate>Sat, 14 Feb 2026 09:00:00 +0900</pubDate>
<description><![CDATA[<p>北海市は14日、市営バスの新路線を開設した。運行は1日12便となる。</p><p>運賃は一律200円で、通勤客の利用を見込む。</p>]]></description>
</item></channel></rss>""").encode()


class FakeClock:
    """Time that moves only when the fetcher sleeps: delays are recorded, never waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def fetcher(site: Site, clock: FakeClock | None = None, **kw: object) -> Fetcher:
    opts: dict[str, object] = {"min_host_delay": 0.0, "read_timeout": 1.0, "total_timeout": 3.0,
                               "allow_private": [site.hostport], **kw}
    s = FetchSettings(**opts)  # type: ignore[arg-type]
    if clock is None:
        return Fetcher(s)
    return Fetcher(s, clock=clock.clock, sleep=clock.sleep)


def test_ingest_page_and_feed_urls(tmp_path, monkeypatch):
    routes = {"/page": Reply(body=PAGE, content_type="text/html"),
              "/redirect": Reply(302, headers={"Location": "/page"}),
              "/feed": Reply(body=FEED, content_type="application/rss+xml")}
    with serve(routes) as site:
        store = Store(db_url(str(tmp_path / "f.db")))
        settings = Settings()
        settings.fetch = FetchSettings(min_host_delay=0.0)
        monkeypatch.setenv("MATOME_ALLOW_PRIVATE", site.hostport)  # the environment variable still counts
        report = pipeline.ingest(store, [site.url("/redirect"), site.url("/feed")], settings)
        assert report.counts["new"] == 2, report.errors
        pipeline.process(store, settings)
        arts = {a.source: a for a in store.articles()}
        assert arts["ループ新報"].encoding == "cp932"
        assert arts["ループ新報"].encoding_reason == "meta"
        assert arts["ループ新報"].url == site.url("/page")
        assert "補修が必要な橋は12本" in arts["ループ新報"].text
        assert arts["ループ通信"].title == "バス新路線"


def test_reading_a_url_once_yields_raw_documents():
    with serve({"/page": Reply(body=PAGE, content_type="text/html")}) as site:
        settings = Settings()
        settings.fetch = FetchSettings(min_host_delay=0.0, allow_private=[site.hostport])
        [doc] = list(poll.read_once(site.url("/page"), settings))
        assert doc.content == PAGE and doc.hints["url"] == site.url("/page")
        [err] = list(poll.read_once(site.url("/page"), Settings()))  # default: not allowed
        assert "refused: 127.0.0.1" in str(err) and "(loopback)" in str(err)


def test_private_addresses_are_refused_unless_allowed():
    with serve({"/page": Reply(body=PAGE)}) as site:
        with Fetcher(FetchSettings(min_host_delay=0.0)) as f, pytest.raises(FetchError) as err:
            f.get(site.url("/page"))
        assert err.value.reason == f"refused: 127.0.0.1:{site.port} (loopback)"
        assert site.hits.total() == 0  # not even robots.txt was asked for
        with fetcher(site) as f:
            assert f.get(site.url("/page")).body == PAGE


def test_only_http_and_https():
    with Fetcher(FetchSettings()) as f:
        for url in ("file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "gopher://x/"):
            with pytest.raises(FetchError, match="only http and https URLs are fetched"):
                f.get(url)


@pytest.mark.parametrize(("addr", "why"), [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.0.1", "private"), ("169.254.169.254", "link-local"), ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"), ("0.0.0.0", "unspecified"), ("224.0.0.251", "multicast"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("ff02::1", "multicast"), ("::ffff:10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"),
    ("2002:7f00:1::", "loopback"), ("64:ff9b::a9fe:a9fe", "link-local"), ("240.0.0.1", "private"),
    ("8.8.8.8", None), ("2001:4860:4860::8888", None), ("::ffff:8.8.8.8", None),
])
def test_non_public_addresses(addr, why):
    assert non_public(ipaddress.ip_address(addr)) == why


def test_allow_entries_name_what_the_url_writes(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, port, *a, **kw):  # names that resolve to loopback, as a rebinding attacker's would
        return real("127.0.0.1" if host in {"rebind.test", "intranet.test"} else host, port, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    policy = AddressPolicy(["127.0.0.1:8000", "intranet.test", "10.0.0.0/8"])
    assert policy.resolve("127.0.0.1", 8000) == ["127.0.0.1"]
    assert policy.resolve("10.9.9.9", 80) == ["10.9.9.9"]
    assert policy.resolve("intranet.test", 1234) == ["127.0.0.1"]
    for host, port in (("127.0.0.1", 8001), ("rebind.test", 8000), ("localhost", 8000)):
        with pytest.raises(Refused):
            policy.resolve(host, port)
    with pytest.raises(ConfigError):
        AddressPolicy(["127.0.0.1:http"])


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """A name is resolved once, by the guard; the connection goes to that very address."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])  # a rebinding DNS server's answers
    seen: list[str] = []

    def fake(host, port, *a, **kw):
        if host == "news.test":
            addr = next(answers)
            seen.append(addr)
            return real(addr, port, *a, **kw)
        return real(host, port, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with serve({"/robots.txt": Reply(404), "/a": Reply(body=PAGE)}) as site:
        f = fetcher(site, allow_private=[f"news.test:{site.port}", "127.0.0.1"], obey_robots=False)
        got = f.get(f"http://news.test:{site.port}/a")
        assert got.body == PAGE and site.log[0].headers["host"] == f"news.test:{site.port}"
        with pytest.raises(FetchError, match=r"news.test:\d+, which resolves to 10.0.0.1 \(private\)"):
            fetcher(site, obey_robots=False).get(f"http://news.test:{site.port}/a")
    assert seen == ["127.0.0.1", "10.0.0.1"]


def test_robots_txt_is_read_once_per_host_and_obeyed():
    robots = b"User-agent: *\nDisallow: /private/\n\nUser-agent: other\nDisallow: /\n"
    routes = {"/robots.txt": Reply(body=robots, content_type="text/plain"),
              "/a": Reply(body=PAGE), "/b": Reply(body=PAGE), "/private/x": Reply(body=PAGE)}
    with serve(routes) as site, fetcher(site) as f:
        threads = [threading.Thread(target=f.get, args=(site.url(p),)) for p in ["/a", "/b"] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _reason(f, site.url("/private/x")) == "robots.txt disallows /private/x for matome"
        assert site.hits["/robots.txt"] == 1 and site.hits["/a"] == 4 and "/private/x" not in site.hits
        assert site.log[0].headers["user-agent"].startswith("matome/")


def test_robots_most_specific_rule_wins_and_crawl_delay_may_be_fractional():
    robots = (b"User-agent: *\nDisallow: /news/\nAllow: /news/public/\nDisallow: /*.pdf$\n"
              b"Crawl-delay: 2.5\n")
    routes = {"/robots.txt": Reply(body=robots, content_type="text/plain"),
              "/news/public/a": Reply(body=PAGE)}
    with serve(routes) as site, fetcher(site, FakeClock()) as f:
        assert f.get(site.url("/news/public/a")).body == PAGE  # Allow is longer than Disallow
        assert _reason(f, site.url("/news/b")) == "robots.txt disallows /news/b for matome"
        assert _reason(f, site.url("/report.pdf")) == "robots.txt disallows /report.pdf for matome"
        assert f.hosts.delay(site.hostport) == 2.5


def test_robots_404_allows_and_5xx_refuses_for_a_while():
    routes = {"/robots.txt": lambda req: Reply(503 if req.n == 1 else 404), "/a": Reply(body=PAGE)}
    clock = FakeClock()
    with serve(routes) as site, fetcher(site, clock, robots_failure_wait=600.0) as f:
        for _ in range(2):
            assert _reason(f, site.url("/a")).endswith(
                "answered HTTP 503; fetching nothing from the host for 600 s")
        assert site.hits["/robots.txt"] == 1 and site.hits["/a"] == 0
        clock.now += 601
        assert f.get(site.url("/a")).body == PAGE
        assert site.hits["/robots.txt"] == 2


def test_crawl_delay_and_min_host_delay_space_requests():
    routes = {"/robots.txt": Reply(body=b"User-agent: *\nCrawl-delay: 5\n", content_type="text/plain"),
              "/a": Reply(body=PAGE)}
    clock = FakeClock()
    with serve(routes) as site, fetcher(site, clock, min_host_delay=1.0) as f:
        f.get(site.url("/a"))
        f.get(site.url("/a"))
        assert f.hosts.delay(site.hostport) == 5.0
        assert len(clock.sleeps) == 2 and all(4.9 < s <= 5.0 for s in clock.sleeps)
    clock = FakeClock()
    routes["/robots.txt"] = Reply(body=b"User-agent: *\nCrawl-delay: 86400\n", content_type="text/plain")
    with serve(routes) as site, fetcher(site, clock, max_crawl_delay=30.0) as f:
        f.get(site.url("/a"))
        assert f.hosts.delay(site.hostport) == 30.0


def test_one_connection_per_host_and_slow_hosts_do_not_block_others():
    active, peak, lock = [0], [0], threading.Lock()

    def counted(_req: Request) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return Reply(body=PAGE)

    with serve({"/a": counted}) as fast, serve({"/slow": Reply(body=PAGE, pause=1.5)}) as slow:
        f = Fetcher(FetchSettings(min_host_delay=0.0, read_timeout=3.0, total_timeout=5.0,
                                  allow_private=[fast.hostport, slow.hostport]))
        slow_thread = threading.Thread(target=f.get, args=(slow.url("/slow"),))
        slow_thread.start()
        while not slow.hits["/slow"]:
            time.sleep(0.01)
        threads = [threading.Thread(target=f.get, args=(fast.url("/a"),)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert slow_thread.is_alive()  # the fast host was served while the slow one still hung
        slow_thread.join()
        assert peak[0] == 1 and fast.hits["/a"] == 6


def test_conditional_get():
    def page(req: Request) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(body=PAGE, headers={"ETag": '"v1"', "Last-Modified": "Sat, 14 Feb 2026 00:00:00 GMT"})

    cache = MemoryCache()
    with serve({"/a": page}) as site:
        s = FetchSettings(min_host_delay=0.0, allow_private=[site.hostport])
        with Fetcher(s, cache) as f:
            first = f.get(site.url("/a"))
            assert (first.status, first.not_modified, first.body) == (200, False, PAGE)
        with Fetcher(s, cache) as f:  # a later run, same cache
            again = f.get(site.url("/a"))
            assert again.not_modified and again.body == b""
        sent = site.log[-1].headers
        assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"].startswith("Sat, 14 Feb")


def test_retry_after_is_honoured_and_capped():
    clock = FakeClock()
    routes = {"/busy": lambda req: Reply(503, headers={"Retry-After": "7"}) if req.n < 3
              else Reply(body=PAGE),
              "/storm": Reply(429), "/later": Reply(429, headers={"Retry-After": "3600"})}
    with serve(routes) as site, fetcher(site, clock, backoff=2.0, max_retry_wait=60.0) as f:
        assert f.get(site.url("/busy")).body == PAGE
        assert clock.sleeps == [7.0, 7.0]
        clock.sleeps.clear()
        with pytest.raises(FetchError, match=r"^gave up after 3 tries: HTTP 429$"):
            f.get(site.url("/storm"))
        assert clock.sleeps == [2.0, 4.0]  # backoff doubles
        with pytest.raises(FetchError) as err:
            f.get(site.url("/later"))
        assert err.value.reason == ("gave up after 1 try: HTTP 429, server asked to wait 3600 s "
                                    "(more than max_retry_wait, 60 s)")
        assert site.hits["/later"] == 1


def test_dropped_and_refused_connections_are_tried_again():
    """A connection closed before any answer, or refused, is retried with backoff; a truncated
    answer is not (it is broken, not busy)."""
    clock = FakeClock()
    routes = {"/flaky": lambda req: Reply(hang_up=True) if req.n < 3 else Reply(body=PAGE),
              "/down": Reply(hang_up=True),
              "/short": Reply(body=PAGE, length=len(PAGE) * 2)}
    with serve(routes) as site, fetcher(site, clock, backoff=2.0) as f:
        assert f.get(site.url("/flaky")).body == PAGE
        assert site.hits["/flaky"] == 3 and clock.sleeps == [2.0, 4.0]
        with pytest.raises(FetchError, match=r"^gave up after 3 tries: broken response \(Server "
                                             r"disconnected without sending a response"):
            f.get(site.url("/down"))
        with pytest.raises(FetchError, match=r"^broken response"):
            f.get(site.url("/short"))
        assert site.hits["/short"] == 1
    with socket.socket() as sock:  # a port that was open a moment ago and now refuses
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = FakeClock()
    s = FetchSettings(min_host_delay=0.0, allow_private=[f"127.0.0.1:{port}"], backoff=1.0)
    with Fetcher(s, clock=clock.clock, sleep=clock.sleep) as f, \
            pytest.raises(FetchError, match=r"robots.txt of 127.0.0.1:\d+ could not be read \(fetch "
                                            r"failed: ConnectError: .*refused, 3 tries\)"):
        f.get(f"http://127.0.0.1:{port}/")  # its robots.txt is the first thing asked for
    assert clock.sleeps == [1.0, 2.0]


def test_retry_after_values():
    now = datetime(2026, 2, 14, 0, 0, 0, tzinfo=UTC)
    assert retry_after("120") == 120.0
    assert retry_after("Sat, 14 Feb 2026 00:01:30 GMT", now) == 90.0
    assert retry_after("Fri, 13 Feb 2026 00:00:00 GMT", now) == 0.0
    assert retry_after("soon") is None and retry_after("") is None and retry_after(None) is None


def _reason(f: Fetcher, url: str) -> str:
    with pytest.raises(FetchError) as err:
        f.get(url)
    return err.value.reason


def test_body_caps():
    import gzip

    zipped = gzip.compress(b"<p>" + b"a" * 5_000_000)
    routes = {"/big": Reply(body=b"x" * 2_000_000, length=None),
              "/zip": Reply(body=zipped, headers={"Content-Encoding": "gzip"})}
    with serve(routes) as site:
        with fetcher(site, max_body_bytes=1_000_000) as f:
            assert _reason(f, site.url("/big")) == "body over 1000000 bytes"
        with fetcher(site, max_body_bytes=3_000_000) as f:
            assert _reason(f, site.url("/zip")).startswith("refused: compression bomb (gzip: ")
        with fetcher(site, max_body_bytes=1_000_000, max_compression_ratio=1e9) as f:
            assert _reason(f, site.url("/zip")) == "body over 1000000 bytes after decompression"

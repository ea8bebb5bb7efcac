"""`matome ingest URL` against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from matome import pipeline
from matome.settings import IngestSettings, Settings
from matome.sources import discover
from matome.store import Store, db_url

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


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        routes = {
            "/page": (200, "text/html", PAGE, {}),
            "/feed": (200, "application/rss+xml", FEED, {}),
            "/redirect": (302, "text/plain", b"", {"Location": "/page"}),
            "/loop": (302, "text/plain", b"", {"Location": "/loop"}),
            "/bomb": (200, "text/html", gzip.compress(b"<p>" + b"a" * 5_000_000),
                      {"Content-Encoding": "gzip"}),
        }
        status, ctype, body, headers = routes.get(self.path, (404, "text/plain", b"no", {}))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MATOME_ALLOW_PRIVATE", "127.0.0.1")
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_ingest_page_and_feed_urls(server, tmp_path):
    store = Store(db_url(str(tmp_path / "f.db")))
    settings = Settings()
    report = pipeline.ingest(store, [f"{server}/redirect", f"{server}/feed"], settings)
    assert report.counts["new"] == 2, report.errors
    pipeline.process(store, settings)
    arts = {a.source: a for a in store.articles()}
    assert arts["ループ新報"].encoding == "cp932"
    assert arts["ループ新報"].url == f"{server}/page"
    assert "補修が必要な橋は12本" in arts["ループ新報"].text
    assert arts["ループ通信"].title == "バス新路線"


def _errors(url: str, **kw: int) -> list[str]:
    return [str(i) for i in discover(url, IngestSettings(**kw)) if isinstance(i, Exception)]


def test_private_addresses_are_refused_unless_allowed(server, monkeypatch):
    monkeypatch.delenv("MATOME_ALLOW_PRIVATE")
    [err] = _errors(f"{server}/page")
    assert "non-public address 127.0.0.1" in err


def test_redirect_loops_bombs_and_404s_are_reported(server):
    assert "more than 5 redirects" in _errors(f"{server}/loop")[0]
    assert "body over 1000000 bytes" in _errors(f"{server}/bomb", max_file_bytes=1_000_000)[0]
    assert "HTTP 404" in _errors(f"{server}/missing")[0]
    assert "refused URL scheme" in _errors_scheme()


def _errors_scheme() -> str:
    from matome.errors import RecordError
    from matome.fetch import get

    try:
        get("file:///etc/passwd", IngestSettings())
    except RecordError as exc:
        return str(exc)
    return ""

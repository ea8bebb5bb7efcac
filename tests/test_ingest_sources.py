"""Sources over real loopback servers: RSS/Atom/JSON Feed, sitemaps, URL lists, WARC, identity.

Each test serves its own small site on 127.0.0.1 (tests/hostile/server.py)
and runs the real ingest path (sources → poll → fetcher → store).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from sqlalchemy import select

from matome import pipeline
from matome.settings import FetchSettings, Settings, SourceSettings
from matome.store import Store, db_url
from matome.store import schema as t
from tests.hostile.server import Reply, Request, serve

RSS = "application/rss+xml; charset=utf-8"


def page(title: str, body: str, date: str = "2026-11-20T09:00:00+09:00") -> bytes:
    return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{date}">
<meta property="og:site_name" content="港湾日報"></head>
<body><article><h1>{title}</h1><p>{body}</p><p>関係者によると、詳しい日程は来週にも決まる見通しだ。</p>
</article></body></html>""".encode()


def rss(items: list[tuple[str, str, str, str]]) -> bytes:
    """(guid, link, title, description) per item."""
    body = "".join(f"<item><guid>{g}</guid><link>{link}</link><title>{ti}</title>"
                   f"<description>{d}</description><pubDate>Fri, 20 Nov 2026 09:00:00 +0900</pubDate>"
                   "</item>" for g, link, ti, d in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>港湾日報</title>'
            f"<link>https://kowan.example/</link>{body}</channel></rss>").encode()


def settings(site, **src) -> Settings:
    s = Settings(fetch=FetchSettings(allow_private=[site.hostport], min_host_delay=0.0))
    if src:
        s.sources = [SourceSettings(**src)]
    return s


def _store(tmp_path: Path) -> Store:
    return Store(db_url(str(tmp_path / "m.db")))


PAGES = {f"/news/{i}": page(f"港湾ニュース{i}", f"北港で第{i}埠頭の改修工事が始まった。総事業費は{i}0億円。")
         for i in range(1, 6)}


def _routes(extra: dict) -> dict:
    return {**{p: Reply(body=b) for p, b in PAGES.items()}, **extra}


def test_rss_teaser_entries_lead_to_their_pages_and_are_not_fetched_twice(tmp_path):
    def feed(site):
        items = [(f"g{i}", site.url(f"/news/{i}?utm_source=rss"), f"港湾ニュース{i}", "短い要約。")
                 for i in (1, 2)]
        return _routes({"/rss": Reply(body=rss(items), content_type=RSS)})

    with serve(feed) as site:
        store = _store(tmp_path)
        s = settings(site)
        report = pipeline.ingest(store, [site.url("/rss")], s)
        assert report.counts["new"] == 2, report.errors
        pipeline.process(store, s)
        arts = store.articles()
        assert sorted(a.title for a in arts) == ["港湾ニュース1", "港湾ニュース2"]
        assert all("総事業費" in a.text for a in arts)  # the page's text, not the teaser
        assert all("utm_source" not in a.url for a in arts)
        again = pipeline.ingest(store, [site.url("/rss")], s)
        assert again.counts["new"] == 0 and site.hits["/news/1"] == 1


def test_json_feed_entries_with_full_content_are_stored_as_entries(tmp_path):
    text = ("北港の第三埠頭で、新しい旅客ターミナルの建設が始まった。"
            "完成は2028年春の予定で、総事業費は約120億円。")
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "港湾日報",
            "home_page_url": "https://kowan.example/",
            "items": [{"id": "jf-1", "url": "https://kowan.example/a/1", "title": "旅客ターミナル着工",
                       "content_html": f"<p>{text * 4}</p>",
                       "date_published": "2026-11-20T09:00:00+09:00",
                       "authors": [{"name": "港湾 太郎"}]}, "not an object"]}
    with serve({"/feed.json": Reply(body=json.dumps(feed).encode(),
                                    content_type="application/feed+json")}) as site:
        store = _store(tmp_path)
        s = settings(site, name="kowan", path=site.url("/feed.json"), country="JP")
        report = pipeline.ingest(store, [site.url("/feed.json")], s)
        assert report.counts["new"] == 1
        assert [e.reason for e in report.errors] == ["JSON Feed item is not an object"]
        pipeline.process(store, s)
        [a] = store.articles()
        assert a.title == "旅客ターミナル着工" and a.author == "港湾 太郎" and a.source == "港湾日報"
        assert a.country == "JP"  # from the configured source
        assert a.published is not None and a.published.isoformat() == "2026-11-20T09:00:00+09:00"


def test_sitemap_index_and_google_news_sitemap_with_a_page_cap_per_poll(tmp_path):
    def routes(site):
        news = "".join(
            f"<url><loc>{site.url(f'/news/{i}')}</loc><news:news><news:publication>"
            f"<news:name>港湾日報</news:name><news:language>ja</news:language></news:publication>"
            f"<news:publication_date>2026-11-20T09:00:00+09:00</news:publication_date>"
            f"<news:title>港湾ニュース{i}</news:title></news:news></url>" for i in range(1, 6))
        child = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + news + "</urlset>")
        index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f"<sitemap><loc>{site.url('/news-sitemap.xml')}</loc></sitemap>"
                 "<sitemap><loc>file:///etc/passwd</loc></sitemap></sitemapindex>")
        return _routes({"/sitemap.xml": Reply(body=index.encode(), content_type="application/xml"),
                        "/news-sitemap.xml": Reply(body=child.encode(), content_type="application/xml")})

    with serve(routes) as site:
        store = _store(tmp_path)
        s = settings(site)
        s.ingest.max_pages_per_poll = 3
        first = pipeline.ingest(store, [site.url("/sitemap.xml")], s)
        assert first.counts["new"] == 3
        assert any("no http(s) <loc>" in e.reason for e in first.errors)
        second = pipeline.ingest(store, [site.url("/sitemap.xml")], s)
        assert second.counts["new"] == 2  # the rest, and the first three are not fetched again
        assert all(site.hits[f"/news/{i}"] == 1 for i in range(1, 6))
        pipeline.process(store, s)
        assert len(store.articles()) == 5


def test_url_list_file_and_warc_file(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with serve(_routes({})) as site:
        lst = tmp_path / "pages.txt"
        lst.write_text(f"# today's pages\n{site.url('/news/1')}\n{site.url('/news/2')}\nftp://x/y\n")
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True)
        for i in (3, 4):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                       protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"https://kowan.example/news/{i}", "response", payload=io.BytesIO(PAGES[f"/news/{i}"]),
                http_headers=headers))
        warc = tmp_path / "crawl.warc.gz"
        warc.write_bytes(buf.getvalue())
        store = _store(tmp_path)
        s = settings(site)
        report = pipeline.ingest(store, [str(lst), str(warc)], s)
        assert report.counts["new"] == 4, report.errors
        assert [e.reason for e in report.errors] == ["not an http(s) URL: 'ftp://x/y'"]
        pipeline.process(store, s)
        urls = sorted(a.url for a in store.articles())
        assert "https://kowan.example/news/3" in urls and site.url("/news/1") in urls


def test_rotated_guids_are_recognised_and_a_changed_title_is_a_new_version(tmp_path):
    long = "北港で第一埠頭の改修工事が始まった。" * 15
    state = {"guid": "v1", "title": "第一埠頭の改修始まる"}

    def feed(req: Request) -> Reply:
        items = [(f"{state['guid']}-{i}", f"https://kowan.example/a/{i}", f"{state['title']}{i}", long)
                 for i in range(1, 5)]
        return Reply(body=rss(items), content_type=RSS)

    with serve({"/rss": feed}) as site:
        store = _store(tmp_path)
        s = settings(site, name="kowan", path=site.url("/rss"))
        assert pipeline.ingest(store, [site.url("/rss")], s).counts["new"] == 4
        pipeline.process(store, s)
        state["guid"] = "v2"  # the feed hands out new GUIDs for the same entries
        rotated = pipeline.ingest(store, [site.url("/rss")], s)
        assert rotated.counts["rotated"] == 4 and rotated.counts["new"] == 0
        state["title"] = "第一埠頭の改修工事、始まる"  # and then retitles them
        changed = pipeline.ingest(store, [site.url("/rss")], s)
        assert changed.counts["changed"] == 4 and changed.counts["new"] == 0
        pipeline.process(store, s)
        arts = store.articles()
        assert len(arts) == 4 and all(a.title.startswith("第一埠頭の改修工事、始まる") for a in arts)
        with store.read() as conn:
            versions = conn.execute(select(t.raw_versions.c.version)).all()
            current = conn.execute(select(t.raw_docs.c.version)).scalars().all()
        assert len(versions) == 4 and set(current) == {2}


def test_conditional_get_through_the_database_across_runs(tmp_path):
    def page_with_etag(req: Request) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"")
        return Reply(body=PAGES["/news/1"], headers={"ETag": '"v1"'})

    with serve({"/news/1": page_with_etag}) as site:
        s = settings(site)
        store = _store(tmp_path)
        first = pipeline.ingest(store, [site.url("/news/1")], s)
        store.close()
        store = _store(tmp_path)  # a new run: the validator comes from the database
        second = pipeline.ingest(store, [site.url("/news/1")], s)
        asked = [r for r in site.log if r.path == "/news/1"]
    assert first.counts["new"] == 1 and not second.counts and not second.errors
    assert "if-none-match" not in asked[0].headers and asked[1].headers["if-none-match"] == '"v1"'
    with store.read() as conn:
        assert conn.execute(select(t.fetch_cache.c.etag)).scalars().all() == ['"v1"']

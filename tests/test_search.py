"""Japanese full-text search on the live server: ranked, highlighted, filtered, bounded."""

from __future__ import annotations

from fastapi.testclient import TestClient

from matome.site import SearchIndex, create_app
from matome.store import db_url
from tests.conftest import demo_settings


def test_japanese_queries_find_stories_and_reports(demo_catalog):
    index = SearchIndex(demo_catalog)
    total, hits = index.search("重要鉱物")
    assert total >= 4 and hits
    assert all("<mark>重要鉱物</mark>" in str(h.snippet) for h in hits)
    total2, hits2 = index.search("日銀")  # two characters: no trigram, still found
    assert total2 >= 1 and any("日銀" in h.title or "日銀" in str(h.snippet) for h in hits2)
    assert index.search("存在しない語句の組み合わせ")[0] == 0


def test_filters_by_tag_outlet_and_date(demo_catalog):
    index = SearchIndex(demo_catalog)
    _, hits = index.search("外相", tag="g7")
    g7 = {s.id for s in demo_catalog.tag("g7").stories}
    assert hits and {h.story for h in hits} <= g7
    _, hits = index.search("外相", outlet="北海新報")
    assert hits and all(h.kind == "story" or h.source == "北海新報" for h in hits)
    _, hits = index.search("外相", since="2026-02-09", until="2026-02-12")
    assert hits and all(h.published and "2026-02-09" <= h.published.date().isoformat() <= "2026-02-12"
                        for h in hits)


def test_hostile_queries_are_inert(demo_catalog):
    index = SearchIndex(demo_catalog)
    for q in ['" OR 1=1 --', "NEAR(", "<script>alert(1)</script>", "%_%", "\x00\x07", "a" * 5000]:
        total, hits = index.search(q)
        assert total == 0 and hits == [], q  # no injection, no crash, nothing matched by accident


def test_search_page_and_api(demo_db):
    client = TestClient(create_app(db_url(str(demo_db)), demo_settings()))
    page = client.get("/search", params={"q": "海底ケーブル"})
    assert page.status_code == 200 and "<mark>海底ケーブル</mark>" in page.text
    assert 'href="/stories/' in page.text
    data = client.get("/api/search", params={"q": "海底ケーブル", "limit": 500}).json()
    assert data["total"] >= 2 and len(data["items"]) <= 50
    escaped = client.get("/search", params={"q": "<b>x</b>"}).text
    assert "<b>x</b>" not in escaped and "&lt;b&gt;x&lt;/b&gt;" in escaped


def test_api_lists_articles_without_html_and_publishes_its_openapi(demo_db):
    client = TestClient(create_app(db_url(str(demo_db)), demo_settings()))
    data = client.get("/api/articles", params={"limit": 1000}).json()
    assert data["total"] == 46 and len(data["items"]) == 46  # at most 200 a page
    assert all("html" not in a and "raw" not in a for a in data["items"])
    spec = client.get("/api/openapi.json").json()
    assert {"/api/stories", "/api/tags", "/api/articles", "/api/search"} <= set(spec["paths"])

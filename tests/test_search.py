"""Japanese full-text search on the live server: ranked, highlighted, filtered, bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matome.site import SearchIndex, create_app
from matome.site.search import _snippet
from matome.store import Store, db_url
from tests.conftest import demo_settings


@pytest.fixture(scope="module")
def index(demo_db: Path) -> Iterator[SearchIndex]:
    """The demo's search index, in its store (what `matome serve` queries)."""
    store = Store(db_url(str(demo_db)), readonly=True)
    try:
        yield SearchIndex(store.engine)
    finally:
        store.close()


def test_japanese_queries_find_stories_and_reports(index):
    total, hits = index.search("重要鉱物")
    assert total >= 4 and hits
    assert all("<mark>重要鉱物</mark>" in str(h.snippet) for h in hits)
    total2, hits2 = index.search("日銀")  # two characters: no trigram, still found
    assert total2 >= 1 and any("日銀" in h.title or "日銀" in str(h.snippet) for h in hits2)
    assert index.search("存在しない語句の組み合わせ")[0] == 0


def test_filters_by_tag_outlet_and_date(index, demo_catalog):
    _, hits = index.search("外相", tag="g7")
    g7 = {s.id for s in demo_catalog.tag("g7").stories}
    assert hits and {h.story for h in hits} <= g7
    _, hits = index.search("外相", outlet="北海新報")
    assert hits and all(h.kind == "story" or h.source == "北海新報" for h in hits)
    _, hits = index.search("外相", since="2026-02-09", until="2026-02-12")
    assert hits and all(h.published and "2026-02-09" <= h.published.date().isoformat() <= "2026-02-12"
                        for h in hits)


def test_hostile_queries_are_inert(index):
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


def test_titles_rank_first_and_one_character_words_are_found(index):
    total, hits = index.search("海底ケーブル")
    assert total >= 2 and "海底ケーブル" in hits[0].title  # BM25, titles weighted five times
    total, hits = index.search("円")  # a single character: one exact gram, not a scan
    assert total >= 1 and all("円" in h.title or "円" in str(h.snippet) for h in hits)


def test_a_filter_that_keeps_everything_ranks_as_no_filter(index):
    """Long terms are ranked without reading documents' rows unless a filter needs them:
    both ways give the same hits in the same order."""
    for q in ("重要鉱物", "海底ケーブル", "外相 海底ケーブル"):
        plain = index.search(q, limit=50)
        kept = index.search(q, since="1900-01-01", until="2999-12-31", limit=50)
        assert plain[0] > 0 and plain[0] == kept[0], q
        assert [(h.story, h.kind, h.title) for h in plain[1]] == \
            [(h.story, h.kind, h.title) for h in kept[1]], q


def test_past_the_candidate_cap_the_newest_matches_are_ranked(index, monkeypatch):
    from matome.store import search_index

    everything, _ = index.search("外相", limit=50)
    monkeypatch.setattr(search_index, "CANDIDATES", 3)
    total, hits = index.search("外相", limit=50)
    assert everything > 3 and total == 3 and len(hits) == 3


def test_a_count_at_the_cap_says_more_matched(demo_db, monkeypatch):
    """Past the cap the count is the cap: the page says 「以上」 and the API ``capped``."""
    from matome.store import search_index

    client = TestClient(create_app(db_url(str(demo_db)), demo_settings()))
    for cap, more in ((1000, False), (3, True)):
        monkeypatch.setattr(search_index, "CANDIDATES", cap)
        data = client.get("/api/search", params={"q": "外相"}).json()
        assert data["capped"] is more and (data["total"] == 3) is more
        count = client.get("/search", params={"q": "外相"}).text.split('<p class="count">')[1]
        assert count.startswith(f"{data['total']} 件以上" if more else f"{data['total']} 件</p>"), count[:60]


def test_search_follows_the_store_without_a_copy_of_it(demo_db, tmp_path, monkeypatch):
    """What `process` writes is found at the next refresh; the server loaded nothing to get there."""
    import shutil

    from matome.site import index as site_index
    from matome.site import server as server_mod
    from tests.test_site_build import World

    db = tmp_path / "live.db"
    shutil.copy(demo_db, db)
    monkeypatch.setattr(server_mod, "REFRESH_SECONDS", 0.0)
    app = create_app(db_url(str(db)), demo_settings())
    live = app.state.live
    client = TestClient(app)
    assert client.get("/api/search", params={"q": "鶴見川"}).json()["total"] == 0
    assert not live.snapshot.catalog._cache  # no story read to start, none copied
    w = World(db_url(str(db)))
    w.story("s-new", "new-1", 30, "港北日報", title="鶴見川の堤防工事")  # as `process` would store it
    site_index.refresh(w.store, demo_settings())  # process's last step
    w.store.close()
    for _ in range(100):
        client.get("/")
        live.refreshing.acquire(timeout=30)
        live.refreshing.release()
        found = client.get("/api/search", params={"q": "鶴見川"}).json()
        if found["total"]:
            break
    assert found["total"] >= 1 and found["items"][0]["story"] == "s-new"
    assert client.get("/stories/s-new.html").status_code == 200


def test_a_search_past_its_time_limit_says_it_was_cut_off(demo_db, index, monkeypatch):
    """Stopped by its time limit (a real SQLite interrupt here: the clock already past, looked
    at every step), a search is not reported as finding nothing: the page asks the reader to
    narrow it and the API says ``cut_off``. Nothing matching stays an ordinary empty result."""
    from matome.errors import SearchCutOff
    from matome.site import search

    assert index.search("存在しない語句の組み合わせ") == (0, [])
    monkeypatch.setattr(search, "TIME_LIMIT_S", -1.0)
    monkeypatch.setattr(search, "STEPS", 1)
    with pytest.raises(SearchCutOff):
        index.search("外相")
    client = TestClient(create_app(db_url(str(demo_db)), demo_settings()))
    answer = client.get("/api/search", params={"q": "外相"}).json()
    assert answer == {"total": 0, "items": [], "cut_off": True}
    page = client.get("/search", params={"q": "外相"})
    assert page.status_code == 200 and "途中で打ち切りました" in page.text
    assert "見つかりませんでした" not in page.text


def test_the_newest_documents_are_ranked_in_a_table_of_their_own(tmp_path, monkeypatch):
    """BM25 counts a phrase's matches over the table it ranks in: the newest documents have
    a table of their own, trimmed as ids grow, so that count stops growing with the archive.
    A search still takes the newest matches, older ones from the archive's table, and a
    document below the floor that changes leaves both tables whole."""
    from sqlalchemy import text

    from matome.store import search_index as si

    monkeypatch.setattr(si, "RECENT", 8)
    monkeypatch.setattr(si, "RECENT_STEP", 4)
    store = Store(db_url(str(tmp_path / "s.db")))

    def doc(i: int, word: str) -> si.Doc:
        return si.Doc("story", f"s{i}", None, f"{word}の記事{i}", f"本文{i}は{word}について",
                      "港北日報", "2026-01-01", f"{word}{i}")

    def ids(conn, word: str, cap: int | None = None) -> list[int]:
        return sorted(r[0] for r in si.candidates(conn, si.Query([word]), cap))

    try:
        for i in range(40):
            with store.tx() as conn:
                si.replace(conn, [f"s{i}"], [doc(i, "海底ケーブル" if i % 2 else "重要鉱物")])
        with store.tx() as conn:
            floor = conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one()
            top = conn.execute(text("SELECT max(id) FROM search_docs")).scalar_one()
            held = sorted(r[0] for r in conn.execute(text("SELECT rowid FROM search_recent")))
            assert top == 40 and floor == 32 and held == list(range(33, 41))
            # each trim leaves the table as the same rows indexed afresh: none of the rows
            # it forgot remains in its pages (FTS5 drops them only when merging)
            conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.fresh USING fts5(title, body, "
                                 "content='', tokenize='trigram')")
            conn.execute(text("INSERT INTO temp.fresh(rowid, title, body) SELECT id, title, body "
                              "FROM search_docs WHERE id > 32"))
            conn.exec_driver_sql("INSERT INTO temp.fresh(fresh) VALUES ('optimize')")
            leaves = "SELECT length(block) FROM {} WHERE id > 10 ORDER BY 1"  # 1, 10: totals, layout
            assert ([r[0] for r in conn.execute(text(leaves.format("search_recent_data")))]
                    == [r[0] for r in conn.execute(text(leaves.format("temp.fresh_data")))])
            conn.exec_driver_sql("DROP TABLE temp.fresh")
            si.replace(conn, ["s1"], [doc(1, "半導体")])  # below the floor
            si.replace(conn, ["s39"], [doc(39, "半導体")])  # in the recent table
            for table in ("search_recent", "search_tri"):
                conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        with store.read() as conn:
            everything = [r[0] for r in conn.execute(text(
                "SELECT rowid FROM search_tri WHERE search_tri MATCH '\"海底ケーブル\"' "
                "ORDER BY rowid DESC"))]
            assert len(everything) == 18  # 20 made, two changed
            for cap in (3, 6, 12, 100):  # inside the recent table, and past it
                assert ids(conn, "海底ケーブル", cap) == sorted(everything[:cap]), cap
            assert ids(conn, "半導体") == [41, 42]
            assert ids(conn, "重要鉱物") == list(range(1, 40, 2))  # s0, s2 … s38: ids 1, 3 … 39
    finally:
        store.close()


def test_a_short_word_beside_a_long_one_narrows_the_newest_matches(tmp_path, monkeypatch):
    """「外相 海底ケーブル」: the long word's matches are walked newest first and each kept if the
    short word is in it too, in the recent table and below its floor alike. Asked the other
    way (each match of the short word looked up in the long word's table, then all sorted),
    it read every match of the short word in the archive: past the search's time limit at
    100k stored articles (首相 is in 8% of all documents there)."""
    from sqlalchemy import event, text

    from matome.store import search_index as si

    monkeypatch.setattr(si, "RECENT", 8)
    monkeypatch.setattr(si, "RECENT_STEP", 4)
    store = Store(db_url(str(tmp_path / "s.db")))
    try:
        for i in range(40):
            who, what = ("外相" if i % 3 else "首相"), ("海底ケーブル" if i % 2 else "重要鉱物")
            body = f"{who}は{what}について"
            with store.tx() as conn:
                si.replace(conn, [f"s{i}"], [si.Doc("story", f"s{i}", None, f"記事{i}", body,
                                                    "港北日報", "2026-01-01", str(i))])
        sql: list[tuple[str, object]] = []

        def seen(conn, cursor, statement, parameters, *_):
            if "bm25" in statement:
                sql.append((statement, parameters))

        with store.read() as conn:
            floor = conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one()
            assert floor == 32
            both = [r[0] for r in conn.execute(text(
                "SELECT rowid FROM search_docs WHERE body LIKE '%外相%海底ケーブル%' ORDER BY id DESC"))]
            event.listen(store.engine, "before_cursor_execute", seen)
            for cap in (2, 3, 9, 100):  # inside the recent table, and past it
                got = si.candidates(conn, si.Query(["外相", "海底ケーブル"]), cap)
                assert sorted(r[0] for r in got) == sorted(both[:cap]), cap
            event.remove(store.engine, "before_cursor_execute", seen)
            assert any("search_tri" in q for q, _ in sql) and any("search_recent" in q for q, _ in sql)
            for q, args in sql:  # newest first in the long word's table, no lookups by id, no sort
                plan = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + q, args)]
                scan = [p for p in plan if p.startswith(("SCAN search_recent", "SCAN search_tri"))]
                assert scan and "=" not in scan[0].split(":")[-1], plan
                assert not any("TEMP B-TREE FOR ORDER BY" in p for p in plan[: plan.index(scan[0]) + 3]), plan
    finally:
        store.close()


def test_a_page_of_hits_is_the_best_of_all_the_candidates(tmp_path, monkeypatch):
    """``best`` ranks inside the query and returns only the best few with how many there
    were: the same as taking every candidate of each table, scored where it sits, and
    ranking them all in Python, whatever the cap, the page's reach or the recent floor;
    for a short word, stories before reports, newer before older, then the later id."""
    from sqlalchemy import event, text

    from matome.store import search_index as si

    monkeypatch.setattr(si, "RECENT", 8)
    monkeypatch.setattr(si, "RECENT_STEP", 4)
    store = Store(db_url(str(tmp_path / "s.db")))
    try:
        for i in range(30):
            # lengths and days differ, so scores and dates do; every third a report
            body = "港湾" * (i % 7) + f"本文{i}は海底ケーブルについて" + "。" * (i % 5)
            with store.tx() as conn:
                si.replace(conn, [f"s{i}"], [si.Doc("report" if i % 3 == 0 else "story", f"s{i}",
                                                    None, f"海底ケーブルの記事{i}", body, "港北日報",
                                                    f"2026-01-{i % 9 + 1:02d}", str(i))])

        def oracle(conn, cap):  # as search did before it ranked in SQL
            def newest(table, below, n):
                bound = f" AND rowid <= {below}" if below is not None else ""
                return [tuple(r) for r in conn.execute(text(
                    f"SELECT rowid, bm25({table}, 5.0, 1.0) FROM {table} WHERE {table} MATCH "
                    f"'\"海底ケーブル\"'{bound} ORDER BY rowid DESC LIMIT {n}"))]
            got = newest("search_recent", None, cap)
            floor = conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one()
            if len(got) < cap:
                got += newest("search_tri", floor, cap - len(got))
            return len(got), sorted(got, key=lambda r: (r[1], r[0]))

        def shorts(conn, cap):
            rows = [tuple(r) for r in conn.execute(text(
                "SELECT d.id, d.kind, d.published FROM search_short JOIN search_docs d ON "
                "d.id = search_short.rowid WHERE search_short MATCH '\"港湾\"' "
                f"ORDER BY search_short.rowid DESC LIMIT {cap}"))]
            return len(rows), sorted(rows, key=lambda r: (r[1] != "story", _desc(r[2]), -r[0]))

        with store.read() as conn:
            floor = conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one()
            assert floor > 0
            for cap in (2, 5, 8, 12, 40):  # inside the recent table, and past it
                n, ranked = oracle(conn, cap)
                assert len({r[1] for r in ranked}) > 1  # the scores differ
                k, few = shorts(conn, cap)
                for keep in (1, 3, 7, 50):
                    total, got = si.best(conn, si.Query(["海底ケーブル"]), keep, cap)
                    assert total == n and [(r[0], r[3]) for r in got] == ranked[:keep], (cap, keep)
                    total, got = si.best(conn, si.Query(["港湾"]), keep, cap)
                    assert total == k and [r[:3] for r in got] == few[:keep], (cap, keep)
            assert si.best(conn, si.Query(["見当たらない語"]), 20) == (0, [])
            # a short word's matches are ranked from the ranking index, no document row read
            seen: list[str] = []
            event.listen(conn, "before_cursor_execute", lambda *a: seen.append(a[2]))
            si.best(conn, si.Query(["港湾"]), 20)
            plan = " ".join(str(r[3]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + seen[-1], ('"港湾"', 1000, 20)))
            assert "COVERING INDEX search_docs_order" in plan, plan
    finally:
        store.close()


def _desc(iso: str) -> list[int]:
    return [-ord(c) for c in iso]


def test_snippets_escape_the_source_and_mark_every_match():
    # a source's markup never reaches the reader; each match, in any case, is marked
    text = "前置き" * 20 + '<i id="x">日銀 & NIKKEI: 日銀の決定、nikkei' + "後" * 100
    got = str(_snippet(text, ["日銀", "Nikkei"]))
    assert got.startswith("…") and got.endswith("…")
    assert "<i " not in got and "&lt;i id=&#34;x&#34;&gt;<mark>日銀</mark>" in got
    assert got.count("<mark>日銀</mark>") == 2 and "<mark>NIKKEI</mark>" in got
    assert "<mark>nikkei</mark>" in got and "&amp;" in got
    assert str(_snippet("短い本文", ["無い"])) == "短い本文"  # no match: the opening, whole

"""SQLite search: filtered searches read from the filter's side when it holds few documents."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from matome.store import Store, db_url
from matome.store import search_index as si
from matome.store import search_sqlite as sf

OUTLETS = ["港北日報", "潮見新聞", "若葉通信"]


def _texts(i: int) -> tuple[str, str]:
    """Titles and bodies whose words, cases and lengths differ from one document to the next."""
    words = ["首相", "経済安全保障", "外相", "ＩＭＦ", "G7", "Summit"]
    body = "。".join(words[j] for j in range(len(words)) if (i >> j) & 1 or j == 0)
    title = ("経済安全保障の" if i % 4 == 0 else "") + f"記事{i}" + (" ＩＭＦ" if i % 5 == 0 else "")
    return title, body + "について" * (i % 6) + ("首相" * (i % 3))


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """120 stories of two documents each (a story's and a report's), every fifth story in tag
    t:few, dates a day apart, three outlets; the recent table holds the newest only."""
    monkeypatch.setattr(si, "RECENT", 64)
    monkeypatch.setattr(si, "RECENT_STEP", 16)
    s = Store(db_url(str(tmp_path / "f.db")))
    for i in range(120):
        title, body = _texts(i)
        day = f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}T09:00:00+09:00"
        outlet = OUTLETS[i % 3]
        with s.tx() as conn:
            si.replace(conn, [f"s{i}"], [
                si.Doc("story", f"s{i}", None, title, body, outlet, day, f"{i}a"),
                si.Doc("report", f"s{i}", f"r{i}", title + "（速報）", body + "。続報", outlet, day,
                       f"{i}b")])
            rows = [{"s": f"s{i}", "l": f"o:{OUTLETS.index(outlet)}", "k": i}]
            if i % 5 == 0:
                rows.append({"s": f"s{i}", "l": "t:few", "k": i})
            conn.execute(text("INSERT INTO site_listing (story_id, listing, key, reports) "
                              "VALUES (:s, :l, :k, 0)"), rows)
    try:
        yield s
    finally:
        s.close()


QUERIES = [["首相"], ["経済安全保障"], ["首相", "経済安全保障"], ["外相", "経済安全保障"], ["ｉｍｆ"],
           ["ＩＭＦ"], ["g7"], ["summit"], ["SUMMIT", "首相"], ["見当たらない"]]
FILTERS: list[dict[str, Any]] = [
    {"tag_listing": "t:few"},
    {"since": "2026-04-20"},
    {"until": "2026-01-05"},
    {"since": "2026-02-03", "until": "2026-02-04"},
    {"tag_listing": "t:few", "since": "2026-03-01"},
    {"outlet": OUTLETS[1], "outlet_listing": "o:1", "until": "2026-02-10"},
]


def test_a_small_filter_is_read_from_its_side_and_finds_what_the_walk_finds(store, monkeypatch):
    """Read from the filter's side or found by walking the terms' matches (``PROBE`` -1:
    no filter is small enough), a search finds the same newest matches; a short word's are
    ranked alike (stories first, then newer), a long term's by BM25 over another sample."""
    read: list[int] = []
    real = sf._read
    monkeypatch.setattr(sf, "_read", lambda *a: read.append(1) or real(*a))
    with store.read() as conn:
        assert conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one() > 0
        for filters in FILTERS:
            for terms in QUERIES:
                for cap in (3, 1000):
                    q = si.Query(terms, **filters)
                    monkeypatch.setattr(sf, "PROBE", 8192)
                    before = len(read)
                    n, got = si.best(conn, q, 1000, cap)
                    side = len(read) > before
                    monkeypatch.setattr(sf, "PROBE", -1)
                    m, walked = si.best(conn, q, 1000, cap)
                    assert len(read) == before + side  # the walk read nothing from the filter's side
                    assert n == m and sorted(r[0] for r in got) == sorted(r[0] for r in walked), (q, cap)
                    if all(len(t) < 3 for t in terms):
                        assert got == walked, (q, cap)
    assert len(read) > len(FILTERS) * 4  # most searches here were read from the filter's side


def test_bm25_of_a_filters_documents_is_fts5s_over_the_same_documents(store, monkeypatch):
    """With every document of the recent table in the filter, the BM25 computed from the
    texts is FTS5's own: the same IDF, average length and weights."""
    monkeypatch.setattr(sf, "matches", lambda conn, longs, args, most: most)  # read from its side
    with store.tx() as conn:  # every story in the recent table's range, in one listing
        floor = conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one()
        ids = [r[0] for r in conn.execute(text("SELECT id FROM search_docs WHERE id > :f"), {"f": floor})]
        stories = {r[0] for r in conn.execute(text(
            f"SELECT story FROM search_docs WHERE id IN ({','.join(map(str, ids))})"))}
        conn.execute(text("INSERT INTO site_listing (story_id, listing, key, reports) VALUES "
                          "(:s, 't:all', 0, 0)"), [{"s": s} for s in stories])
        # a story's other document may lie below the floor: only the recent ones are asked
        conn.execute(text(f"DELETE FROM site_listing WHERE listing = 't:all' AND story_id IN "
                          f"(SELECT story FROM search_docs WHERE id <= {floor})"))
    with store.read() as conn:
        kept = [r[0] for r in conn.execute(text(
            "SELECT d.id FROM site_listing l JOIN search_docs d ON d.story = l.story_id "
            "WHERE l.listing = 't:all'"))]
        assert len(kept) > 20
        for terms in (["経済安全保障"], ["経済安全保障", "について"], ["ＩＭＦ"], ["summit"]):
            args: dict[str, object] = {"cap": 1000, "keep": 1000, "tag": "t:all"}
            sf._terms(terms, [], args)
            got = sf.search(conn, [sf.TAG], terms, [], dict(args))
            assert got is not None and got[0] > 2
            fts = dict(conn.execute(text(
                f"SELECT rowid, bm25(search_recent, 5.0, 1.0) FROM search_recent WHERE search_recent "
                f"MATCH :long AND rowid IN ({','.join(map(str, kept))})"), args).all())
            # the recent table holds exactly the filter's documents: its statistics are theirs
            assert len(kept) == conn.execute(text("SELECT count(*) FROM search_docs WHERE id > :f"),
                                             {"f": min(kept) - 1}).scalar_one()
            assert {r[0] for r in got[1]} == set(fts), terms
            for i, _, _, score in got[1]:
                assert math.isclose(score, fts[i], rel_tol=1e-9), (terms, i, score, fts[i])


def test_the_filters_side_is_read_by_its_index_not_the_terms(store, tmp_path):
    """What the filter's side reads: the tag's stories, the dates' and the outlet's index;
    no full-text table, and no scan of the documents."""
    seen: list[str] = []
    for filters in (FILTERS[0], FILTERS[3], {"outlet": OUTLETS[2], "outlet_listing": "o:2"}):
        with store.read() as conn:
            raw: Any = conn.connection.dbapi_connection
            raw.set_trace_callback(seen.append)
            try:
                si.best(conn, si.Query(["首相"], **filters), 20)
                si.best(conn, si.Query(["経済安全保障"], **filters), 20)
            finally:
                raw.set_trace_callback(None)
    reads = [s for s in seen if "FROM search_docs d WHERE d.id IN" in s]
    assert len(reads) == 6, seen
    con = sqlite3.connect(tmp_path / "f.db")
    con.create_function("matome_lower", 1, str.lower)
    for sql in reads:
        plan = " | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql))
        assert "search_recent" not in plan and "search_tri" not in plan and "search_short" not in plan
        assert "SCAN d" not in plan and "SCAN search_docs" not in plan, plan
        assert any(i in plan for i in ("ix_site_listing_order", "search_docs_published",
                                       "search_docs_source")), plan

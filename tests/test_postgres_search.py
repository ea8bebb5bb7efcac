"""PostgreSQL search in ranges of ids: the ranges, taken inside the grams index by each gram's
keys in the ids' buckets (migration 0021), change what a search costs, never what it finds."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, insert, text

from matome.store import Store, search_index
from matome.store.search_index import Query, candidates, grams, search_docs
from tests.test_postgres import pg  # noqa: F401  # the throwaway server, started once here

pytestmark = pytest.mark.slow

WORDS = ["気象庁は", "首相が", "大雨警報を", "Policy RATE", "policy rate", "経済安全保障", "円安",
         "会見で", "発表した。", "100%_達成"]
STEP = 997  # between ids: eighty documents over twenty buckets of the grams index
QUERIES = [["気象庁"], ["首相"], ["円安"], ["policy"], ["RATE", "気象庁"], ["経済安全保障", "円安"],
           ["100%_"], ["存在しない"]]


def _rows(n: int = 80) -> list[dict[str, Any]]:
    rnd = random.Random(14)
    rows = []
    for k in range(n):
        title, body = "".join(rnd.choices(WORDS, k=2)), "".join(rnd.choices(WORDS, k=6))
        rows.append({"id": 1 + k * STEP, "kind": rnd.choice(["story", "report"]), "story": f"s{k}",
                     "article": None, "published": f"2026-03-{1 + k % 28:02d}T09:00:00+09:00",
                     "hash": str(k), "source": "港北日報", "title": title, "body": body,
                     "grams": " ".join(grams(title, body))})
    return rows


def _expected(rows: list[dict[str, Any]], terms: list[str], cap: int, since: str = "") -> set[int]:
    """The newest ``cap`` documents holding every term (case aside)."""
    hits = [r["id"] for r in rows if r["published"] >= since and all(
        t.lower() in r["title"].lower() or t.lower() in r["body"].lower() for t in terms)]
    return set(sorted(hits, reverse=True)[:cap])


def _alembic(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def _index_definition(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT indexdef FROM pg_indexes "
                                     "WHERE indexname = 'ix_search_docs_grams'")).scalar())


@pytest.fixture(scope="module")
def filled(pg: Any) -> Iterator[tuple[Engine, list[dict[str, Any]]]]:  # noqa: F811
    store = Store(pg.createdb("windows"))
    rows = _rows()
    with store.engine.begin() as conn:
        conn.execute(insert(search_docs), rows)
        conn.exec_driver_sql("ANALYZE search_docs")
    try:
        yield store.engine, rows
    finally:
        store.close()


def test_ranges_of_ids_find_the_newest_matches_whatever_their_size(filled, monkeypatch):
    engine, rows = filled
    ran: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM search_docs d WHERE" in statement and "max(id)" not in statement:
            ran.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for terms in QUERIES:
            for cap in (1, 3, 10, 1000):
                for since in ("", "2026-03-15"):
                    q = Query(terms, since=since or None)
                    results = []
                    for window in (10**9, 20_000, 5000, 1500):  # one query; then more, smaller ranges
                        monkeypatch.setattr(search_index, "WINDOW", window)
                        with engine.connect() as conn:
                            results.append(candidates(conn, q, cap))
                    assert {r[0] for r in results[0]} == _expected(rows, terms, cap, since), (terms, cap)
                    assert all(r == results[0] for r in results), (terms, cap, since)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert any(" && " in s for s in ran) and any("d.id + 0 <= " in s for s in ran)  # ranges were read


def test_the_grams_index_answers_a_range_of_ids(filled):
    engine, rows = filled
    d = search_index.grams_index("d.")
    buckets = range(3, 5)
    sql = (f"SELECT d.id FROM search_docs d WHERE {d} && CAST(:a AS text[]) AND {d} && CAST(:b AS text[])")
    args = {"a": search_index.gram_keys("気象", buckets), "b": search_index.gram_keys("象庁", buckets)}
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), args))
        got = {r[0] for r in conn.execute(text(sql), args)}
    cond = [line for line in plan.splitlines() if "Index Cond" in line]
    assert "ix_search_docs_grams" in plan and cond and cond[0].count("&&") == 2, plan
    # the keys of a bucket are its documents' grams, no other's
    assert got == {r["id"] for r in rows if r["id"] // search_index.BUCKET in buckets
                   and "気象庁" in r["title"] + r["body"]}


def _compression(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                                     "'search_docs'::regclass AND attname = 'body'")).scalar())


def test_the_migrations_rebuild_the_grams_index_of_an_existing_database(pg):  # noqa: F811
    """0014 adds the id buckets' tokens, 0021 makes each gram's key its bucket's and has
    titles and bodies compressed with lz4; each goes back as it was."""
    engine = create_engine(pg.createdb("upgrade"))
    try:
        _alembic(engine, command.upgrade, "0013")
        rows = _rows(40)
        with engine.begin() as conn:
            conn.execute(insert(search_docs), rows)
        _alembic(engine, command.upgrade, "head")  # what `matome process` does on start
        assert "'@'" in _index_definition(engine) and _compression(engine) == "l"
        with engine.connect() as conn:
            got = candidates(conn, Query(["気象庁"]), 5)
            short = candidates(conn, Query(["円安"]), 5)
        assert {r[0] for r in got} == _expected(rows, ["気象庁"], 5)
        assert {r[0] for r in short} == _expected(rows, ["円安"], 5)
        _alembic(engine, command.downgrade, "0020")
        assert "'id:'" in _index_definition(engine) and _compression(engine) != "l"
        _alembic(engine, command.downgrade, "0013")
        assert "'id:'" not in _index_definition(engine) and "'@'" not in _index_definition(engine)
        _alembic(engine, command.upgrade, "head")
        assert "'@'" in _index_definition(engine)
    finally:
        engine.dispose()


def test_a_role_that_does_not_own_the_indexes_leaves_their_merge_to_autovacuum(pg):  # noqa: F811
    """``settle`` merges the GIN pending lists, which only the indexes' owner may do: run by
    another role it does nothing, and the transaction it is part of goes on."""
    url = pg.createdb("notowner")
    Store(url).close()  # migrated by the owner
    owner = create_engine(url)
    other = create_engine(url.replace("postgres@", "writer@", 1))
    try:
        with owner.begin() as conn:
            conn.exec_driver_sql("DROP ROLE IF EXISTS writer")
            conn.exec_driver_sql("CREATE ROLE writer LOGIN")
            conn.exec_driver_sql("GRANT ALL ON ALL TABLES IN SCHEMA public TO writer")
            conn.exec_driver_sql("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO writer")
        with other.begin() as conn:
            conn.execute(insert(search_docs), _rows(5))
            search_index.settle(conn)
            assert conn.execute(text("SELECT count(*) FROM search_docs")).scalar() == 5
        with owner.begin() as conn:
            search_index.settle(conn)  # the owner may
            assert conn.execute(text("SELECT count(*) FROM search_docs")).scalar() == 5
    finally:
        other.dispose()
        with owner.begin() as conn:
            conn.exec_driver_sql("DROP OWNED BY writer")
            conn.exec_driver_sql("DROP ROLE writer")
        owner.dispose()


def _score(row: dict[str, Any], terms: list[str]) -> float:
    """PostgreSQL's score of a document, computed here: occurrences, titles five times over,
    bodies damped by their length in bytes (lower is better)."""
    fold = any(t.lower() != t.upper() for t in terms)
    title, body = (row["title"].lower(), row["body"].lower()) if fold else (row["title"], row["body"])
    size = len(body.encode())
    return -sum(5 * title.count(t.lower() if fold else t) + body.count(t.lower() if fold else t)
                * 3000 / (3000 + size) for t in terms)


def test_each_range_ranks_its_matches_and_the_best_of_all_are_kept(filled, monkeypatch):
    """The query ranks each range's matches and returns the best ``keep`` with how many
    there were: whatever the ranges and ``keep``, the count is the newest ``cap`` matches'
    and the page is the best of them, as ranked here from the texts."""
    engine, rows = filled
    by_id = {r["id"]: r for r in rows}
    for terms in QUERIES:
        for window in (10**9, 1500):
            monkeypatch.setattr(search_index, "WINDOW", window)
            with engine.connect() as conn:
                every = candidates(conn, Query(terms), 1000)
                ids = [r[0] for r in every]
                assert set(ids) == _expected(rows, terms, 1000), terms
                if any(len(t) >= 3 for t in terms):
                    scores = [_score(by_id[i], [t for t in terms if len(t) >= 3]) for i in ids]
                    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(scores)), terms
                    assert all(abs(r[3] - s) < 1e-9 for r, s in zip(every, scores, strict=True)), terms
                else:
                    key = [(by_id[i]["kind"] != "story", _neg(by_id[i]["published"]), -i) for i in ids]
                    assert key == sorted(key), terms
                for keep in (1, 3, 7):
                    assert search_index.best(conn, Query(terms), keep, 1000) == (len(every), every[:keep])
                    few = candidates(conn, Query(terms), 5)
                    assert search_index.best(conn, Query(terms), keep, 5) == (len(few), few[:keep])


def _neg(text: str) -> tuple[int, ...]:
    return (*(-ord(c) for c in text), 1)  # descending, and a shorter string after its extensions

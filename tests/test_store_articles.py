"""store.articles: a chunk of extracted articles stored in one transaction gives what storing
them one at a time, in order, gives — clashes and re-extractions included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from matome.errors import IdClash
from matome.records import Article, RawDoc
from matome.store import Store, changes, db_url
from matome.store import schema as t
from matome.store.articles import NewArticle

T0 = datetime(2026, 2, 12, 9, 0, tzinfo=UTC)


def _raws(store: Store, n: int) -> list[tuple[int, RawDoc]]:
    out = []
    for k in range(n):
        doc = RawDoc(key=f"k{k}", kind="record", origin="t.jsonl", location=f"L{k}", content=f"c{k}".encode())
        store.put_raw(doc)
        with store.read() as conn:
            out.append((conn.execute(select(t.raw_docs.c.id).where(t.raw_docs.c.key == doc.key)).scalar_one(),
                        doc))
    return out


def _new(raw: tuple[int, RawDoc], aid: str, day: int = 0) -> NewArticle:
    raw_id, doc = raw
    art = Article(aid, f"https://news.example/{aid}", f"見出し {aid}", "本文の一文目。二文目。", "港北日報",
                  "ja", published=T0.replace(day=12 + day), flags=["x"] if day else [])
    return NewArticle(raw_id, art, "extract/test", doc.content_hash, doc, url_key=art.url)


def _state(store: Store) -> dict[str, Any]:
    with store.read() as conn:
        def rows(table: Any, *cols: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in conn.execute(select(*cols)))
        a, q = t.articles.c, t.work_queue.c
        return {"articles": rows(t.articles, a.id, a.raw_id, a.title, a.published, a.published_utc, a.meta),
                "urls": rows(t.report_urls, t.report_urls.c.url, t.report_urls.c.article_id),
                "queue": rows(t.work_queue, q.stage, q.item),
                "snapshots": rows(t.snapshots, t.snapshots.c.key),
                "changed": rows(changes.changes, changes.changes.c.kind, changes.changes.c.id)}


def _scenario(store: Store, together: bool) -> list[int]:
    raws = _raws(store, 6)
    first = [_new(raws[0], "a"), _new(raws[1], "b"), _new(raws[2], "c")]
    # a story holds b: re-extracting its raw document takes b out of it
    second = [
        _new(raws[1], "b2", 1),   # raw 1 now gives b2: b leaves (and its story is checked)
        _new(raws[3], "b"),       # b's id is free again by then: raw 3 takes it
        _new(raws[4], "a"),       # a is raw 0's: a clash, nothing stored
        _new(raws[5], "e"),
        _new(raws[2], "c", 2),    # c again from its own raw document: replaced
    ]
    clashes: list[int] = []
    for batch in (first, second):
        if together:
            clashes += sorted(store.put_articles(batch))
        else:
            for new in batch:
                try:
                    store.put_article(new.raw_id, new.article, new.stage_tag, new.input_hash, new.doc,
                                      url_key=new.url_key)
                except IdClash:
                    clashes.append(new.raw_id)
        if batch is first:
            store.put_membership("b", "s1", "member", 1, {}, "cluster/test", new_story=True)
    return clashes


def test_a_chunk_gives_what_one_at_a_time_gives(tmp_path: Path) -> None:
    one = Store(db_url(str(tmp_path / "one.db")))
    chunk = Store(db_url(str(tmp_path / "chunk.db")))
    assert _scenario(one, together=False) == _scenario(chunk, together=True) == [5]
    got = _state(chunk)
    assert got == _state(one)
    assert ("b", 4) in [(r[0], r[1]) for r in got["articles"]] and ("stories", "check-empty") in got["queue"]
    assert [r[0] for r in got["articles"]] == ["a", "b", "b2", "c", "e"]


def test_an_in_memory_store_keeps_dedupe_in_its_own_thread() -> None:
    # a thread of this process would get an empty in-memory database of its own: dedupe
    # runs beside analysis only where another thread sees the same store
    from importlib import resources

    from matome import pipeline
    from matome.settings import Settings

    store = Store("sqlite://")
    assert store.one_per_thread()
    pipeline.ingest(store, [str(resources.files("matome").joinpath("demo/corpus"))], Settings())
    report = pipeline.process(store, Settings())
    assert report.counts["analyzed"] == 46 and store.counts()["duplicates"] == 2


def test_a_file_store_is_shared_by_threads(tmp_path: Path) -> None:
    assert not Store(db_url(str(tmp_path / "s.db"))).one_per_thread()


def test_an_article_that_trips_the_store_is_rejected_alone(tmp_path: Path) -> None:
    from matome import per_article
    from matome.batch import Quiet, Report

    store = Store(db_url(str(tmp_path / "s.db")))
    raws = _raws(store, 3)
    chunk = [(_new(raws[0], "a"), None), (_new(raws[1], "bad"), None), (_new(raws[2], "c"), None)]
    real = store.put_articles

    def tripping(items: Any) -> dict[int, int]:
        if any(i.article.id == "bad" for i in items):
            raise ValueError("a bug in storing this one")
        return real(items)

    store.put_articles = tripping  # type: ignore[method-assign]
    report = Report()
    assert per_article._store_extracted(store, report, Quiet(), chunk, 0) == 3
    assert report.counts["extracted"] == 2 and report.counts["rejected"] == 1
    assert [r.id for r in store.articles()] == ["a", "c"]
    assert [(r["origin"], r["location"], r["reason"][:10]) for r in store.rejects()] == [
        ("t.jsonl", "L1", "ValueError")]

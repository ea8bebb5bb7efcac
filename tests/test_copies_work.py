"""Exact copies cost a lookup: analysis is not asked of them again, dedupe stores in batches.

A syndicated story arrives under many URLs with the same title, text and date. Its analysis
is a function of that input, so a copy takes the analysis made for its original in the same
run (the same rows a worker's analysis would give); a copy whose original failed is analysed
itself. Dedupe verdicts are stored a batch to a transaction, and a row that trips the store
is rejected alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from matome import per_article, pipeline, tasks
from matome.batch import Quiet, Report
from matome.language import analyze
from matome.settings import Settings
from matome.store import Store, db_url

TEXT = "東京都は12日、新しい防災計画を発表した。都内の避難所を増やし、備蓄も見直すという。" * 3


def _ingest(tmp_path: Path, copies: int, store: Store) -> None:
    records = [{"id": f"c-{i}", "url": f"https://example{i}.jp/a", "title": "都が防災計画",
                "text": TEXT, "published": "2026-02-12T09:00:00+09:00"} for i in range(copies)]
    records.append({"id": "other", "url": "https://other.jp/b", "title": "市が新予算",
                    "text": "大阪市は12日、新年度の予算案を公表した。子育て支援を増やすという。" * 3,
                    "published": "2026-02-12T10:00:00+09:00"})
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    pipeline.ingest(store, [str(src)], Settings())


def _sent(monkeypatch: Any) -> list[str]:
    sent: list[str] = []
    real = tasks.analyzed

    def counting(group: list[tasks.Queued], settings: Settings) -> list[tasks.Analyzed]:
        sent.extend(q.article.id for q in group)
        return real(group, settings)

    monkeypatch.setattr(per_article, "analyzed", counting)
    return sent


def test_a_copy_takes_its_originals_analysis_without_a_second_one(tmp_path: Path, monkeypatch: Any) -> None:
    store = Store(db_url(str(tmp_path / "s.db")))
    _ingest(tmp_path, 5, store)
    sent = _sent(monkeypatch)
    report = Report()
    pipeline.run_extract(store, Settings(), Quiet(), report)
    analyze.forget_recent()
    pipeline.run_analyze(store, Settings(), Quiet(), report)
    assert sorted(sent) == ["c-0", "other"]  # one of the five copies, and the other report
    assert report.counts["analyzed"] == 6 and not store.rejects()
    got = store.analyses()
    assert sorted(got) == ["c-0", "c-1", "c-2", "c-3", "c-4", "other"]
    for i in range(1, 5):
        assert got[f"c-{i}"][0].to_json() == got["c-0"][0].to_json()
        assert np.array_equal(got[f"c-{i}"][1], got["c-0"][1])
    rows = store.analysis_rows(sorted(got))
    assert len({rows[f"c-{i}"] for i in range(5)}) == 1  # the same stage and input hash
    assert not store.queued("analyze")
    # and it is what analysing each copy gives: a store analysed one report at a time agrees
    alone = Store(db_url(str(tmp_path / "alone.db")))
    _ingest(tmp_path, 1, alone)
    pipeline.run_extract(alone, Settings(), Quiet(), Report())
    analyze.forget_recent()
    pipeline.run_analyze(alone, Settings(), Quiet(), Report())
    assert alone.analyses()["c-0"][0].to_json() == got["c-3"][0].to_json()


def test_a_copy_whose_original_failed_is_analysed_itself(tmp_path: Path, monkeypatch: Any) -> None:
    store = Store(db_url(str(tmp_path / "s.db")))
    _ingest(tmp_path, 3, store)
    real = analyze.analyze

    def failing_first(article: Any, gaz: Any) -> Any:
        if article.id == "c-0":
            raise ZeroDivisionError("boom in c-0")
        return real(article, gaz)

    monkeypatch.setattr(analyze, "analyze", failing_first)
    sent = _sent(monkeypatch)
    report = Report()
    pipeline.run_extract(store, Settings(), Quiet(), report)
    analyze.forget_recent()
    pipeline.run_analyze(store, Settings(), Quiet(), report)
    assert sent.count("c-0") == 1 and "c-1" in sent and "c-2" in sent
    assert sorted(store.analyses()) == ["c-1", "c-2", "other"]
    assert [(r["origin"], r["stage"]) for r in store.rejects()] == [("c-0", "analyze")]


def test_dedupe_rows_are_stored_in_batches_and_one_that_trips_the_store_is_rejected_alone(
        tmp_path: Path, monkeypatch: Any) -> None:
    store = Store(db_url(str(tmp_path / "s.db")))
    _ingest(tmp_path, 4, store)
    report = Report()
    pipeline.run_extract(store, Settings(), Quiet(), report)
    pipeline.run_analyze(store, Settings(), Quiet(), report)
    writes: list[list[str]] = []
    real = store.put_dedupe

    def tripping(rows: Any) -> None:
        writes.append([r.article_id for r in rows])
        if any(r.article_id == "c-2" for r in rows):
            raise ValueError("a bug in storing this one")
        real(rows)

    monkeypatch.setattr(store, "put_dedupe", tripping)
    pipeline.run_dedupe(store, Settings(), Quiet(), report)
    assert len(writes[0]) == 5  # every verdict of the run in one write, then one at a time
    assert sorted(r.article_id for r in store.dedupe_rows()) == ["c-0", "c-1", "c-3", "other"]
    assert [(r["origin"], r["stage"], r["reason"][:10]) for r in store.rejects()] == [
        ("c-2", "dedupe", "ValueError")]
    copies = {r.article_id: r.duplicate_of for r in store.dedupe_rows()}
    assert copies == {"c-0": None, "c-1": "c-0", "c-3": "c-0", "other": None}
    assert not store.queued("dedupe")

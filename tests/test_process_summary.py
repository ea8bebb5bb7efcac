"""What `matome process` says: the run's own work and the stories the site lists, not counts
over the whole archive (which grew with it: issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

from matome import pipeline
from matome.settings import Settings
from matome.store import Store, db_url
from tests.conftest import run_cli

TEXT = "東京都は12日、新しい防災計画を発表した。都内の避難所を増やし、備蓄も見直すという。" * 3
OTHER = "大阪市は12日、新年度の予算案を公表した。子育て支援を増やし、保育所も拡充するという。" * 3


def _write(path: Path) -> Path:
    records = [{"id": "a", "url": "https://a.example.jp/1", "title": "都が防災計画", "text": TEXT,
                "published": "2026-02-12T09:00:00+09:00"},
               {"id": "b", "url": "https://b.example.jp/1", "title": "都が防災計画", "text": TEXT,
                "published": "2026-02-12T09:30:00+09:00"},
               {"id": "c", "url": "https://c.example.jp/1", "title": "市が新予算", "text": OTHER,
                "published": "2026-02-12T10:00:00+09:00"},
               {"id": "d", "url": "javascript:alert(1)", "title": "x", "text": OTHER}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    return path


def test_a_run_says_what_it_did_and_an_idle_run_says_nothing_happened(tmp_path: Path) -> None:
    store, s = Store(db_url(str(tmp_path / "s.db"))), Settings()
    pipeline.ingest(store, [str(_write(tmp_path / "in.jsonl"))], s)
    first = pipeline.run_summary(store, pipeline.process(store, s))
    stories = len(store.stories())
    assert stories == 2
    assert first["articles read"] == 3 and first["duplicates dropped"] == 1
    assert first["stories on the site"] == stories and first["written articles"] > 0
    again = pipeline.run_summary(store, pipeline.process(store, s))
    assert again == {"articles read": 0, "duplicates dropped": 0, "written articles": 0,
                     "stories on the site": stories, "rejected inputs": 0}


def test_the_cli_prints_it(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    run_cli("ingest", str(_write(tmp_path / "in.jsonl")), db=db, check=True)
    out = run_cli("process", db=db, check=True).stderr
    assert "stories on the site" in out and "articles read" in out

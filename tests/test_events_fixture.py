"""Same-event grouping on the events fixture set (tests/fixtures/events, written for matome).

172 Japanese and English reports of 44 events, with 15 pairs of look-alike
events (same actors, close dates) and paraphrase-heavy coverage. The bar:
pairwise precision and recall of the grouping both at least 0.90.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from matome import pipeline
from matome.settings import Settings
from matome.store import Store, db_url

FIXTURE = Path(__file__).parent / "fixtures" / "events"


@pytest.fixture(scope="module")
def grouping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    db = tmp_path_factory.mktemp("events") / "events.db"
    store = Store(db_url(str(db)))
    settings = Settings()
    pipeline.ingest(store, [str(FIXTURE / "articles.jsonl")], settings)
    pipeline.process(store, settings)
    yield {m.article_id: m.story_id for m in store.memberships()}
    store.close()


def _gold() -> dict[str, str]:
    events = json.loads((FIXTURE / "events.json").read_text("utf-8"))
    return {a: e["id"] for e in events["events"] for a in e["articles"]}


def _pairwise(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(gold), 2):
        same_pred, same_gold = pred[a] == pred[b], gold[a] == gold[b]
        tp += same_pred and same_gold
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    return tp / (tp + fp), tp / (tp + fn)


def test_every_report_is_grouped(grouping):
    assert set(grouping) == set(_gold())


def test_pairwise_precision_and_recall(grouping):
    precision, recall = _pairwise(grouping, _gold())
    assert precision >= 0.90 and recall >= 0.90, (precision, recall)


def test_syndicated_copies_share_a_story(grouping):
    events = json.loads((FIXTURE / "events.json").read_text("utf-8"))
    for a, b in events["copies"]:
        assert grouping[a] == grouping[b]


def test_most_look_alike_events_stay_apart(grouping):
    events = json.loads((FIXTURE / "events.json").read_text("utf-8"))
    members = {e["id"]: set(e["articles"]) for e in events["events"]}
    merged = [(a, b) for a, b, _why in events["hard_negatives"]
              if {grouping[x] for x in members[a]} & {grouping[x] for x in members[b]}]
    # two of the fifteen are still joined by one report each (the missile launch
    # and next day's call; the halfpipe qualifying and final); more is a regression
    assert len(merged) <= 2, merged

"""A story told in two languages is compared, for each report, with its reports in that report's
language: a mostly-Japanese story is, to an English report, mostly a translation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from matome.settings import ClusterSettings
from matome.stories.cluster import Clusterer, Features, StoryState, score

T0 = datetime(2025, 12, 7, 9, tzinfo=UTC)
BASE = np.eye(8, dtype=np.float32)[0]


def _at(cos: float) -> np.ndarray:
    """A unit vector at ``cos`` from BASE."""
    v = np.zeros(8, dtype=np.float32)
    v[0], v[1] = cos, float(np.sqrt(1 - cos * cos))
    return v


def _f(i: int, lang: str, vec: np.ndarray, lemmas: set[str], ents: set[str] = frozenset()) -> Features:
    return Features(f"r{i}", lang, T0 + timedelta(hours=i), vec, frozenset(lemmas),
                    frozenset(ents), frozenset())


def _story(langs: list[str]) -> StoryState:
    s = StoryState("s")
    for i, lang in enumerate(langs):
        lemmas = {"radar", "fighter", "jet", "lock"} if lang == "en" else {"レーダー", "照射", "戦闘機"}
        s.add(_f(i, lang, BASE.copy(), lemmas))
    return s


def test_an_english_report_meets_a_mostly_japanese_story_from_near_the_cross_lingual_floor():
    cfg = ClusterSettings()
    report = _f(9, "en", _at(0.85), {"radar", "lock", "ambassador", "summon"})
    ev = score(report, _story(["ja", "ja", "ja", "en"]), cfg)
    floor = 0.25 * cfg.embedding_floor + 0.75 * cfg.cross_lingual_floor
    assert ev["embedding"] == pytest.approx((0.85 - floor) / (1 - floor), abs=1e-3)
    # its words against the one English report (2 of 4 shared), not diluted by three Japanese
    assert ev["lexical"] == pytest.approx(0.5)


def test_a_story_in_one_language_scores_as_it_did():
    cfg = ClusterSettings()
    ja = _f(9, "ja", _at(0.9), {"レーダー", "抗議"})
    ev = score(ja, _story(["ja", "ja"]), cfg)
    assert ev["embedding"] == pytest.approx((0.9 - cfg.embedding_floor) / (1 - cfg.embedding_floor), abs=1e-3)
    en = _f(9, "en", _at(0.9), {"radar"})
    ev = score(en, _story(["ja", "ja"]), cfg)
    assert ev["lexical"] == 0.0
    floor = cfg.cross_lingual_floor
    assert ev["embedding"] == pytest.approx((0.9 - floor) / (1 - floor), abs=1e-3)


def test_an_english_follow_up_joins_the_mixed_story_of_its_event():
    """Six Japanese reports and one English one of a radar lock-on; an English report of the
    ambassador summoned over it shares two names and a few words. Judged as if the whole story
    were English (the same-language floor, its words against seven reports) it stayed out."""
    clusterer = Clusterer(ClusterSettings())
    ents = {"中国", "小泉進次郎"}
    first = clusterer.assign(_f(0, "ja", BASE.copy(), {"レーダー", "照射"}, ents))
    for i in range(1, 6):
        assert clusterer.assign(_f(i, "ja", BASE.copy(), {"レーダー", "照射"}, ents)).story == first.story
    en = clusterer.assign(_f(6, "en", _at(0.95), {"radar", "fighter", "jet"}, ents))
    assert en.story == first.story
    follow = clusterer.assign(_f(7, "en", _at(0.85), {"radar", "ambassador", "summon", "jet"},
                                 {"中国", "駐日大使"}))
    assert follow.story == first.story, follow.score

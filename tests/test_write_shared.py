"""Work done once per article and per story (issue 18), with the same result as doing it again.

The analysis keeps each sentence's lemmas, so the writer does not run Sudachi on
a sentence the analysis already read; a story's formats share one sentence pool
and one conflict search while ``toolkit.one_story`` holds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from matome.language import analyze
from matome.records import Analysis, Article
from matome.write import toolkit

TEXT = ("北海市議会は12日、新しい港湾計画を賛成多数で可決した。計画では総事業費を120億円と見込む。"
        "市長は「港の競争力を高めたい」と述べた。着工は来年4月の予定だ。")


def _article(aid: str, text: str = TEXT, source: str = "北海新報") -> Article:
    return Article(id=aid, url=f"https://news.example/{aid}", title="港湾計画を可決 北海市議会",
                   text=text, source=source, lang="ja",
                   published=datetime(2026, 3, 12, 9, tzinfo=UTC))


def test_sentence_lemmas_are_what_the_writer_would_find_again() -> None:
    an = analyze.analyze(_article("a1"), analyze.gazetteer())
    assert len(an.sentences) == 4 and len(an.lemma_ends) == 4
    per = [an.sentence_lemmas(i) for i in range(len(an.sentences))]
    assert [x for p in per for x in (p or [])] == an.lemmas  # sentence by sentence, all of them
    for i, s in enumerate(an.sentences):
        assert per[i] == list(toolkit._lemmas(s.text))
    assert "可決" in (per[0] or []) and "事業費" in "".join(per[1] or [])


def test_an_analysis_stored_before_lemmas_were_kept_is_tokenised_again() -> None:
    an = analyze.analyze(_article("a2"), analyze.gazetteer())
    old = Analysis.from_json({k: v for k, v in an.to_json().items() if k != "lemma_ends"})
    assert old.lemma_ends == [] and old.sentence_lemmas(0) is None
    fresh = toolkit._candidates([_article("a2")], {"a2": an})
    again = toolkit._candidates([_article("a2")], {"a2": old})
    assert [c.lemmas for c in fresh] == [c.lemmas for c in again] and fresh


def test_a_storys_formats_share_its_pool_and_conflicts() -> None:
    arts = [_article("b1"), _article("b2", TEXT.replace("120億円", "150億円"), "港町タイムス")]
    ans = {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts}
    outside = toolkit.pool(arts, ans), toolkit.pool(arts, ans)
    assert outside[0] is not outside[1]  # no story held: built each time
    with toolkit.one_story():
        first, second = toolkit.pool(arts, ans), toolkit.pool(list(arts), ans)
        assert first is second
        assert toolkit.pool(arts[:1], ans) is not first  # other reports: another pool
        disputes = toolkit.disputes(arts, ans)
        assert disputes and toolkit.disputes(arts, ans) is disputes
    # the shared pool is the pool built alone
    assert [(c.text, round(c.centrality, 9)) for c in first.cands] == \
        [(c.text, round(c.centrality, 9)) for c in outside[0].cands]
    with toolkit.one_story():
        assert toolkit.pool(arts, ans) is not first  # a new story starts empty


def test_an_analysis_is_stored_as_asdict_would_store_it() -> None:
    """``to_json`` is built by hand (asdict's deep copies were a tenth of the stage's cost): the
    same keys, in the same order, with the same values, and it reads back the same."""
    import json
    from dataclasses import asdict

    an = analyze.analyze(_article("a3"), analyze.gazetteer())
    assert an.mentions and an.times and an.quantities  # every kind of field is exercised
    assert json.dumps(an.to_json(), ensure_ascii=False) == json.dumps(asdict(an), ensure_ascii=False)
    assert Analysis.from_json(json.loads(json.dumps(an.to_json()))) == an


def test_candidate_vectors_are_scikit_learns_tfidf() -> None:
    """``toolkit._vectors`` computes what ``TfidfVectorizer`` gives (scikit-learn is not
    imported by the writer: it cost every worker 3 s)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [TEXT, "北海市の港湾計画は来年4月に着工する。総事業費は120億円。",
             "市長は計画の可決を歓迎した。港の競争力を高めたいという。"]
    arts = [_article(f"v{i}", t) for i, t in enumerate(texts)]
    cands = toolkit._candidates(arts, {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts})
    assert len(cands) >= 6
    ours = toolkit._vectors(cands)
    theirs = TfidfVectorizer(analyzer=lambda lemmas: lemmas, norm="l2").fit_transform(
        [c.lemmas for c in cands]).toarray()
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=0, atol=1e-12)
    assert toolkit._vectors([]).shape == (0, 0)

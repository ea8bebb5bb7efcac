"""Board threads end to end: a まとめ page's posts become reactions to the story of the report it links.

The thread is never a story's source and never cited; its posts appear only
under ■反応 of the story's まとめ article, attributed as reactions.
"""

from __future__ import annotations

from pathlib import Path

from matome import pipeline
from matome.settings import Settings
from matome.site import readmodel
from matome.store import Store, db_url
from matome.stories.reactions import reactions_by_story

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = [str(FIXTURES / "reactions"), str(FIXTURES / "pages" / "matome.html")]  # two reports, a まとめ
REPORT = "https://www.hokkai-shimpo.example/news/20260212-tram.html"


def test_thread_posts_are_reactions_of_the_story_never_its_sources(tmp_path):
    store = Store(db_url(str(tmp_path / "r.db")))
    settings = Settings()
    pipeline.ingest(store, CORPUS, settings)
    pipeline.process(store, settings)
    kinds = {a.url: a.kind for a in store.articles()}
    assert kinds[REPORT] == "news" and sorted(kinds.values()) == ["board", "news", "news"]
    stories = list(readmodel.export(store, "stories"))
    [story] = [s for s in stories if any(a["url"] == REPORT for a in s["articles"])]
    assert len(story["articles"]) == 2  # both reports, not the thread
    board_id = next(a.id for a in store.articles() if a.kind == "board")
    assert all(a["id"] != board_id for s in stories for a in s["articles"])

    posts = reactions_by_story(store.story_urls(), store.reaction_rows())[story["id"]]
    assert [p.number for p in posts] == [1, 5, 8] and posts[1].replies == [1]

    matome = story["formats"]["matome"] if story["article"]["format"] != "matome" else story["article"]
    sections = {s["name"]: s for s in matome["sections"]}
    shown = [r["reaction"] for r in sections["反応"]["sources"]]
    assert "これは嬉しい" in shown and all(">>" not in r for r in shown)
    cited = {c["article"] for s in matome["sections"] for x in s["sentences"] for c in x["citations"]}
    assert board_id not in cited and board_id not in {c["article"] for c in matome.get("lead_citations", [])}


def _reacted(store: Store) -> dict[str, list[str]]:
    """Per story: the reactions its まとめ article shows."""
    out = {}
    for s in readmodel.export(store, "stories"):
        matome = s["formats"]["matome"] if s["article"]["format"] != "matome" else s["article"]
        sections = {x["name"]: x for x in matome["sections"]}
        out[s["id"]] = [r["reaction"] for r in sections.get("反応", {"sources": []})["sources"]]
    return out


def test_a_thread_stored_after_its_story_was_written_reaches_it(tmp_path):
    """The story is written before the thread arrives; the thread's arrival alone (no new report)
    makes the next run rewrite it, and the result is a from-scratch run's. Threads are found by
    the URLs they name (an index), not by reading every stored post."""
    settings = Settings()
    late = Store(db_url(str(tmp_path / "late.db")))
    pipeline.ingest(late, CORPUS[:1], settings)
    pipeline.process(late, settings)
    assert not any(_reacted(late).values())  # no thread yet
    pipeline.ingest(late, CORPUS[1:], settings)
    pipeline.process(late, settings)
    once = Store(db_url(str(tmp_path / "once.db")))
    pipeline.ingest(once, CORPUS, settings)
    pipeline.process(once, settings)
    got, want = _reacted(late), _reacted(once)
    assert got == want and any("これは嬉しい" in r for rs in got.values() for r in rs), got
    story = next(sid for sid, rs in got.items() if rs)
    assert {r.post.number for r in late.reaction_rows([REPORT])} == {1, 5, 8}
    assert late.reaction_rows(["https://elsewhere.example/none"]) == []
    assert [x["article"] for x in readmodel.export(late, "stories") if x["id"] == story]

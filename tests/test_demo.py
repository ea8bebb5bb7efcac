"""The bundled demo corpus: golden grouping, the export contract, idempotence."""

from __future__ import annotations

import json
import shutil

from matome import pipeline
from matome.language import fold, nfkc
from matome.settings import Settings
from matome.site import readmodel
from matome.store import Store, db_url
from matome.write.toolkit import SHORT_WRITER, WRITER
from tests.conftest import ROOT, demo_corpus, demo_expected, demo_settings


def _groups(cat: readmodel.Catalog) -> set[frozenset[str]]:
    return {frozenset(a.url for a in s.articles) for s in cat.stories}


def test_golden_grouping_is_reproduced_exactly(demo_catalog):
    expected = {frozenset(e["urls"]) for e in demo_expected()["events"]}
    got = _groups(demo_catalog)
    missing = [sorted(g) for g in expected - got]
    extra = [sorted(g) for g in got - expected]
    assert not missing and not extra, f"expected but not made: {missing}\nmade instead: {extra}"


def test_copies_are_found_and_kept_as_sources(demo_catalog):
    by_url = {a.url: a.id for a in demo_catalog.articles}
    for dup in demo_expected()["duplicates"]:
        assert demo_catalog.duplicate_of[by_url[dup["url"]]] == by_url[dup["of"]], dup
        assert demo_catalog.story_of[by_url[dup["url"]]] == demo_catalog.story_of[by_url[dup["of"]]]


def test_lookalike_events_stay_apart(demo_catalog):
    events = {e["id"]: set(e["urls"]) for e in demo_expected()["events"]}
    for a, b in demo_expected()["lookalikes"]:
        for s in demo_catalog.stories:
            urls = {x.url for x in s.articles}
            assert not (urls & events[a] and urls & events[b]), (a, b)


def test_every_sentence_cites_a_verbatim_span(demo_catalog):
    texts = {a.id: nfkc(a.text) for a in demo_catalog.articles}
    n = 0
    for s in demo_catalog.stories:
        data = readmodel.story_json(s)
        article = data["article"]
        assert article is not None, s.id
        story_ids = {a["id"] for a in data["articles"]}
        for section in article["sections"]:
            for sentence in section["sentences"]:
                assert sentence["citations"], sentence
                for c in sentence["citations"]:
                    assert c["article"] in story_ids
                    assert nfkc(c["quote"]) in texts[c["article"]], c
                    n += 1
        # a story from one report is published as that report: title, link, opening
        one_report = len(data["articles"]) < Settings().publish.min_sources
        assert article["provenance"]["writer"] == (SHORT_WRITER if one_report else WRITER)
        assert article["verification"]["supported_share"] == 1.0
        assert 0 < len(article["headline"]) <= 40
    assert n >= 3 * len(demo_catalog.stories)


def test_export_follows_the_contract(demo_db):
    store = Store(db_url(str(demo_db)), readonly=True)
    stories = list(readmodel.export(store, "stories"))
    required = {"id", "storyline", "headline", "first_published", "last_published", "tags",
                "articles", "article"}
    for s in stories:
        assert required <= set(s)
        assert {"format", "headline", "subheadline", "lead", "sections", "conflicts",
                "provenance"} <= set(s["article"])
        assert {"writer", "model", "prompt", "built"} <= set(s["article"]["provenance"])
    ids = {a["id"] for a in readmodel.export(store, "articles")}
    jsonl_ids = {line.split('"id": "')[1].split('"')[0]
                 for line in (demo_corpus() / "wire.jsonl").read_text("utf-8").splitlines()
                 if line.strip()}
    assert jsonl_ids <= ids, "given ids must be kept"


def test_tags_list_each_entity_once(demo_db):
    store = Store(db_url(str(demo_db)), readonly=True)
    tags = list(readmodel.export(store, "tags"))
    assert tags
    seen: dict[str, str] = {}
    for t in tags:
        for name in [t["name"], *t["aliases"]]:
            key = fold(name)
            assert seen.setdefault(key, t["id"]) == t["id"], f"{name} is in two tags"
        assert t["stories"] and t["articles"]


def test_theme_pages_list_exactly_their_stories(demo_catalog):
    golden = json.loads((ROOT / "tests" / "golden" / "themes.json").read_text("utf-8"))
    event_of = {u: e["id"] for e in demo_expected()["events"] for u in e["urls"]}
    by_name = {g.name: g for g in demo_catalog.tags}
    for name, want in golden.items():
        if name.startswith("_"):
            continue
        tag = by_name[name]
        got = sorted({event_of[a.url] for s in tag.stories for a in s.articles})
        assert got == want["events"], name
        parent = by_name[want["parent"]].id if want["parent"] else None
        assert tag.parent == parent, name
        if parent:
            assert tag.id in by_name[want["parent"]].children


def test_developing_situations_form_storylines(demo_catalog):
    """The week-apart look-alikes are two stories of one storyline, the later following the earlier."""
    event_of = {u: e["id"] for e in demo_expected()["events"] for u in e["urls"]}
    story_event = {s.id: event_of[s.articles[0].url] for s in demo_catalog.stories}
    links = {(story_event[s.follows], story_event[s.id]) for s in demo_catalog.stories if s.follows}
    assert links == {("jpus-call-0115", "jpus-call-0122"), ("g7-fm-0203", "g7-fm-0210")}
    threshold = demo_settings().cluster.storyline_threshold
    for s in demo_catalog.stories:
        if s.follows:
            assert s.storyline == demo_catalog.story(s.follows).storyline
            # the story's first report says why it continues the storyline, for editors
            why = [ev for ev in s.evidence.values() if "storyline_fit" in ev]
            assert len(why) == 1, s.evidence
            # a week's quiet asks for more than the bare threshold
            assert why[0]["storyline_fit"] > why[0]["storyline_needed"] > threshold, s.evidence
            assert {"storyline_embedding", "storyline_entities", "storyline_lexical"} <= set(why[0])
    assert len({s.storyline for s in demo_catalog.stories}) == len(demo_catalog.stories) - 2


def test_running_again_changes_nothing(demo_db, tmp_path):
    copy = tmp_path / "again.db"
    shutil.copy(demo_db, copy)
    before = list(readmodel.export(Store(db_url(str(copy)), readonly=True), "stories"))
    store = Store(db_url(str(copy)))
    settings = demo_settings()
    ing = pipeline.ingest(store, [str(demo_corpus())], settings)
    assert ing.counts["new"] == 0 and ing.counts["changed"] == 0
    rep = pipeline.process(store, settings)
    assert sum(rep.counts.values()) == 0, rep.counts
    after = list(readmodel.export(Store(db_url(str(copy)), readonly=True), "stories"))
    assert after == before

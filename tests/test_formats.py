"""The four formats of FORMATS.md, written by the extractive writer and checked.

The done-when test: every sentence of every format on the demo corpus cites
verbatim spans (NFKC) of the cited reports, and the figures, dates and names
in the sentence are in those quotes; the lead is its cited spans; the 見出し
is a report's own title or a lead sentence of it in headline form, with no
figure, date or name the report does not give. A story from one report is
published as that report (``short/1``): its title, link and opening.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

from matome import pipeline
from matome.language import analyze, entities, find_numbers, find_times, nfkc, textja
from matome.records import Post
from matome.settings import Settings, WriterSettings
from matome.site import readmodel
from matome.store import Store, db_url
from matome.write import REACTIONS_LABEL, abusive, lint, reactions, write_matome
from matome.write import formats as registry
from matome.write.toolkit import SHORT_WRITER, WRITER

FORMATS = {"brief", "news", "explainer", "matome"}
_ATTRIBUTION = re.compile(r"^[^、。「」]{1,24}によると、|（[^（）]{1,24}）$")


def _names(text: str) -> set[str]:
    ms = entities.find_mentions(text, textja.tokenize(text), analyze.gazetteer())
    return {entities.fold(entities.strip_title(m.surface)) for m in ms}


def _facts_in_quotes(text: str, quotes: str) -> list[str]:
    """What the sentence says that its quotes do not: figures, dates, names."""
    wrong = [n for n in find_numbers(text) if n not in find_numbers(quotes)]
    wrong += [e.text for e in find_times(text) if e.value not in {x.value for x in find_times(quotes)}]
    wrong += [n for n in _names(text) if n not in entities.fold(quotes)]
    return wrong


def test_every_sentence_of_every_format_cites_verbatim_spans(demo_db):
    store = Store(db_url(str(demo_db)), readonly=True)
    checked = check_every_sentence(store)
    store.close()
    assert checked["extractive/1"] > 10 * checked["stories"]


def check_every_sentence(store: Store, llm_brief: bool = False) -> Counter[str]:
    """The issue's promise over every format of every story: cited, verbatim, no unsupported fact.

    With ``llm_brief`` the brief comes from the LLM writer: its sentences are its own words, so
    they were verified (repaired or dropped where unsupported) rather than copied; the same
    rules hold for what was published, but its headline need not be a report's title.
    Returns how many sentences each writer published (and how many stories there were).
    """
    stories = list(readmodel.export(store, "stories"))
    articles = list(readmodel.export(store, "articles"))
    texts = {a["id"]: nfkc(a["text"]) for a in articles}
    titles = {a["id"]: nfkc(a["title"]) for a in articles}
    outlets = {a["source"] for a in articles}
    checked: Counter[str] = Counter(stories=len(stories))
    for story in stories:
        written = {story["article"]["format"]: story["article"], **story.get("formats", {})}
        assert set(written) == FORMATS, story["id"]
        for fmt, w in written.items():
            where = f"{story['id']}/{fmt}"
            one_report = len(story["articles"]) < Settings().publish.min_sources
            # a one-report story is published as its report whichever writer is configured
            by_llm = llm_brief and fmt == "brief" and not one_report and not w["provenance"].get("fallback")
            writer = "llm/" if by_llm else SHORT_WRITER if one_report else WRITER
            assert w["provenance"]["writer"].startswith(writer), where
            assert 0 < len(w["headline"]) <= 40, where
            assert lint.headline_problems(w["headline"]) == [], (where, w["headline"])
            if by_llm:
                reports = "\n".join(titles[i] + "\n" + texts[i] for i in texts)  # titles are sources too
                assert _facts_in_quotes(nfkc(w["headline"]), reports) == [], (where, w["headline"])
            else:
                assert w["verification"]["supported_share"] == 1.0, where
                source = w["verification"]["headline_source"]
                assert source in titles, (where, w["headline"])
                head = nfkc(w["headline"])
                # a title (its first phrases), or its report's words with no fact the report lacks
                assert head in titles[source] or _facts_in_quotes(head, texts[source]) == [], where
            if w["lead"]:
                assert nfkc(w["lead"]) == "".join(nfkc(c["quote"]) for c in w["lead_citations"])
                assert all(nfkc(c["quote"]) in texts[c["article"]] for c in w["lead_citations"])
                assert len(w["lead"]) <= 160, where
            if writer == SHORT_WRITER:   # the report's opening, nothing more
                said = [x["text"] for sec in w["sections"] for x in sec["sentences"]]
                assert all(x in w["lead"] for x in said), where
            for sec in w["sections"]:
                for s in sec["sentences"]:
                    assert s["citations"], (where, s)
                    for c in s["citations"]:
                        assert nfkc(c["quote"]) in texts[c["article"]], (where, c)
                    quotes = "".join(nfkc(c["quote"]) for c in s["citations"])
                    body = _ATTRIBUTION.sub("", nfkc(s["text"]))
                    if s.get("kind") == "conflict":
                        for o in outlets:
                            body = body.replace(nfkc(o), "、")
                    assert _facts_in_quotes(body, quotes) == [], (where, s["text"])
                    checked[w["provenance"]["writer"]] += 1
            for src in (x for sec in w["sections"] for x in sec.get("sources", [])):
                assert "reaction" in src or src["article"] in texts
    return checked


def test_one_registry_names_the_formats_and_says_what_each_reads():
    assert set(registry.FORMATS) == FORMATS and registry.DEFAULT in FORMATS
    # the settings may not import the write stage: their defaults are held to the registry here
    assert WriterSettings().formats == list(registry.FORMATS)
    assert WriterSettings().primary == registry.DEFAULT
    assert [f.name for f in registry.wanted(["matome", "nope", "news"])] == ["matome", "news"]
    assert [f.name for f in registry.wanted(["nope"])] == [registry.DEFAULT]
    # a format is given only what it reads: earlier stories, board posts
    arts, earlier, posts = [], [[]], [Post(1, "x")]
    for f in registry.FORMATS.values():
        got = f.inputs(arts, {}, earlier, posts)
        assert (list(got.earlier) == earlier) is f.earlier and (list(got.posts) == posts) is f.reactions
    assert [f.name for f in registry.FORMATS.values() if f.llm] == [registry.DEFAULT]
    rules = registry.limits("news", WriterSettings(headline_max_chars=30, lead_min_chars=90))
    assert rules == registry.Limits(30, (90, WriterSettings().lead_max_chars))


def test_single_source_stories_say_so_and_others_do_not(demo_catalog):
    for s in demo_catalog.stories:
        single = len({a.source for a in s.sources}) == 1
        for w in s.written.values():
            assert bool(w.provenance.note) is single, (s.id, w.format)
    assert any(len({a.source for a in s.sources}) == 1 for s in demo_catalog.stories)


def test_the_explainer_compiles_a_storyline_oldest_first(demo_catalog):
    lines: dict[str, list] = {}
    for s in demo_catalog.stories:
        lines.setdefault(s.storyline, []).append(s)
    longest = max(lines.values(), key=len)
    assert len(longest) >= 2
    latest = max(longest, key=lambda s: s.first_published)
    w = latest.written["explainer"]
    qa = [sec for sec in w.sections if sec.sources]
    assert len(qa) == len(longest)
    days = [min(src["published"] for src in sec.sources) for sec in qa]
    assert days == sorted(days)
    for sec in qa:
        kinds = [x.kind for x in sec.sentences]
        assert kinds[0] == "answer" and "point" in kinds and sec.name.endswith("?")
    [take] = [sec for sec in w.sections if sec.name == "ポイント"]
    assert 1 <= len(take.sentences) <= len(qa)
    # ■解説 of the later story draws on the earlier story's reports, attributed
    m = latest.written["matome"]
    [bg] = [sec for sec in m.sections if sec.name == "解説"]
    earlier = {a.id for s in longest if s is not latest for a in s.sources}
    assert bg.sentences and all(x.citations[0].article in earlier for x in bg.sentences)
    # each outlet named where its sentences start, never opening two sentences in a row
    outlet = {a.id: a.source for s in longest for a in s.sources}
    opens = [x.text.split("によると、")[0] if "によると、" in x.text else "" for x in bg.sentences]
    assert opens[0] == outlet[bg.sentences[0].citations[0].article]
    assert all(not (a and a == b) for a, b in itertools.pairwise(opens))
    assert m.provenance.lead_outlet


def _posts() -> list[Post]:
    return [
        Post(1, "港の整備はありがたい。地元の雇用が増えるといいね"),
        Post(2, ">>1 同意。でも総事業費が気になる https://example.jp/x"),
        Post(3, "知事はバカだろ、死ね", replies=[1]),
        Post(4, "あ" * 300),
        Post(5, ">>1 工事中の渋滞が心配", replies=[1]),
        Post(6, "ﾊﾞｶじゃねーの", replies=[2]),
        Post(7, "バカンスの季節に完成するのかな"),
    ]


def test_reactions_are_filtered_and_never_facts():
    shown = reactions(_posts(), 3, 120)
    texts = [r["reaction"] for r in shown]
    assert len(shown) == 3 and all(r["by"] == REACTIONS_LABEL for r in shown)
    assert all("http" not in t and ">>" not in t for t in texts)
    assert not any("死ね" in t or "ﾊﾞｶ" in t or "バカじゃ" in t for t in texts)
    assert texts[0].startswith("港の整備")  # the most answered post is kept
    assert abusive("ﾊﾞｶじゃねーの") and abusive("お前は バ カ だ") and not abusive("バカンス")


def _fixture(tmp_path, settings: Settings):
    reports = [
        ("r1", "東都通信", "2026-05-01T09:00:00+09:00",
         "北浜市は30日、市営の渡し船を7月から増便すると発表した。平日の運航は1日12往復から"
         "18往復になる。通勤客の混雑を和らげる狙いがある。"),
        ("r2", "朝凪ニュース", "2026-05-01T12:00:00+09:00",
         "北浜市が渡し船の増便を決めた。7月から平日は18往復に増える。市によると、"
         "新しい船の購入費は約3億円を見込む。"),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(
        {"id": i, "url": f"https://{i}.example/n", "title": "北浜市、渡し船を増便へ", "text": t,
         "published": when, "source": o, "lang": "ja"}, ensure_ascii=False)
        for i, o, when, t in reports) + "\n", "utf-8")
    store = Store(db_url(str(tmp_path / "f.db")))
    pipeline.ingest(store, [str(src)], settings)
    pipeline.process(store, settings)
    return store


def test_which_formats_are_written_and_which_is_the_article_is_configurable(tmp_path):
    settings = Settings()
    settings.writer = WriterSettings(formats=["news", "matome"], primary="news")
    store = _fixture(tmp_path, settings)
    [story] = list(readmodel.export(store, "stories", primary="news"))
    assert story["article"]["format"] == "news" and set(story["formats"]) == {"matome"}
    lead = story["article"]["lead"]
    assert lead.startswith(("北浜市は30日", "北浜市が渡し船")) and story["article"]["lead_citations"]
    matome = story["formats"]["matome"]
    assert [s["name"] for s in matome["sections"]] == ["要約"]  # no reactions, no earlier story
    assert matome["provenance"]["lead_outlet"] == "東都通信"
    store.close()


def test_a_matome_shows_reactions_apart_from_its_cited_sentences(tmp_path):
    store = _fixture(tmp_path, Settings())
    cat = readmodel.load(store)
    [story] = cat.stories
    analyses = {k: an for k, (an, _) in store.analyses().items()}
    w = write_matome(story.sources, analyses, WriterSettings(), posts=_posts())
    [react] = [sec for sec in w.sections if sec.name == "反応"]
    assert react.sentences == [] and 1 <= len(react.sources) <= WriterSettings().reactions
    cited = {c.quote for sec in w.sections for s in sec.sentences for c in s.citations}
    assert not any(r["reaction"] in q for r in react.sources for q in cited)
    store.close()


def test_the_story_page_shows_the_formats_the_site_publishes(demo_catalog):
    from matome.site import Site

    settings = Settings()
    settings.site.formats = ["brief", "news", "explainer", "matome"]
    lines: dict[str, list] = {}
    for s in demo_catalog.stories:
        lines.setdefault(s.storyline, []).append(s)
    story = max(max(lines.values(), key=len), key=lambda s: s.first_published)
    page = Site(demo_catalog, settings).render(f"stories/{story.id}.html") or ""
    for mark in ("format-news", "✅", "💡", "公開日:", "■要約", "■解説", 'id="matome-provenance"'):
        assert mark in page, mark
    data = json.loads(page.split('id="matome-provenance">')[1].split("</script>")[0])
    assert set(data) == FORMATS and all(p["writer"] == "extractive/1" for p in data.values())
    assert all(p["verification"]["supported_share"] == 1.0 for p in data.values())
    brief_only = Settings()
    brief_only.site.formats = ["brief"]
    plain = Site(demo_catalog, brief_only).render(f"stories/{story.id}.html") or ""
    assert "format-news" not in plain  # site.formats decides what is published


def test_citations_of_earlier_stories_name_their_outlet_and_link_their_story(demo_catalog):
    from matome.site import Site

    settings = Settings()
    settings.site.formats = ["brief", "news", "explainer", "matome"]
    site = Site(demo_catalog, settings)
    longest = max((s for s in demo_catalog.stories), key=lambda s: sum(
        1 for o in demo_catalog.stories if o.storyline == s.storyline))
    page = site.render(f"stories/{longest.id}.html") or ""
    assert "解説（Q&amp;A）" in page or "解説（Q&A）" in page
    assert ">[0]<" not in page and '<span class="by">— </span>' not in page
    earlier = {demo_catalog.story_of[a.id] for o in demo_catalog.stories
               if o.storyline == longest.storyline and o.id != longest.id for a in o.articles}
    assert any(f'href="{sid}.html"' in page for sid in earlier)

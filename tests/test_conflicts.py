"""Sources that disagree on a figure: the article says so and cites each side."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from matome import pipeline
from matome.language import nfkc
from matome.records import CONFLICT_KINDS, Claim, Conflict, Provenance, VerifyReport, Written
from matome.settings import Settings
from matome.site import Site, readmodel
from matome.store import Store, db_url

REPORTS = [
    ("c1", "東都通信", "2026-03-10T09:00:00+09:00",
     "高知県香南市で9日夜、土砂崩れが起き、住宅3棟が巻き込まれた。県によると、死者は2人で、"
     "けが人は5人に上った。県は災害対策本部を設置した。"),
    ("c2", "朝凪ニュース", "2026-03-10T10:30:00+09:00",
     "香南市の土砂崩れで、県は10日朝、被害状況を発表した。死者は3人となり、"
     "けが人は5人だった。現場では重機を使った捜索が続いている。"),
    ("c3", "瀬戸内タイムズ", "2026-03-10T11:00:00+09:00",
     "9日夜に香南市で発生した土砂崩れについて、県は住宅3棟が被害を受けたと明らかにした。"
     "死者は2人、けが人は5人としている。"),
]


def test_a_disputed_figure_is_stated_with_every_side_cited(tmp_path):
    store, [story] = _run(tmp_path, REPORTS, "香南市で土砂崩れ")
    article = story["article"]
    [conflict] = article["conflicts"]
    assert conflict["about"] == "死者" and conflict["unit"] == "人"
    figures = sorted(side[0]["value"] for side in _sides(conflict))
    assert figures == ["2人", "3人"]
    said = [s for sec in article["sections"] for s in sec["sentences"]
            if s["text"].startswith("出典により異なる")]
    assert len(said) == 1 and "2人" in said[0]["text"] and "3人" in said[0]["text"]
    texts = {r[0]: nfkc(r[3]) for r in REPORTS}
    assert all(nfkc(c["quote"]) in texts[c["article"]] for c in said[0]["citations"])
    assert {c["article"] for c in said[0]["citations"]} >= {"c2"}
    assert article["verification"]["supported_share"] == 1.0  # checked, not waved through
    # agreeing figures (けが人は5人 everywhere, 住宅3棟) are not conflicts
    assert all(c["about"] != "けが人" for c in article["conflicts"])
    page = Site(readmodel.load(store), Settings()).render(f"stories/{story['id']}.html") or ""
    assert "出典により異なる点" in page


# Three invented reports on one harbour plan: two outlets give one cost, the
# third another, and the third gives the same remark to a different speaker.
HARBOUR = [
    ("h1", "東都通信", "2026-04-02T09:00:00+09:00",
     "県は1日、北浜市の港湾整備計画を発表した。総事業費は約500億円。"
     "山本一郎知事は記者会見で「港は地域の将来を担う柱になる」と述べた。完成は2030年度の予定だ。"),
    ("h2", "朝凪ニュース", "2026-04-02T10:00:00+09:00",
     "北浜市の港湾整備計画を県が1日に発表した。総事業費は800億円。"
     "川村浩二市長は「港は地域の将来を担う柱になる」と語った。完成は2030年度を見込む。"),
    ("h3", "瀬戸内タイムズ", "2026-04-02T11:00:00+09:00",
     "県は北浜市で港湾を整備する計画を1日に公表した。総事業費は約500億円。"
     "山本一郎知事は「港は地域の将来を担う柱になる」と強調した。"),
]


def _sides(conflict: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The exported claims grouped by side (claims on one side agree)."""
    sides: dict[int, list[dict[str, Any]]] = {}
    for claim in conflict["claims"]:
        sides.setdefault(claim["side"], []).append(claim)
    return list(sides.values())


def _run(tmp_path, reports, title="北浜市の港湾整備計画"):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(
        {"id": i, "url": f"https://{i}.example/n", "title": title, "text": text,
         "published": when, "source": outlet, "lang": "ja"}, ensure_ascii=False)
        for i, outlet, when, text in reports) + "\n", "utf-8")
    store = Store(db_url(str(tmp_path / "c.db")))
    pipeline.ingest(store, [str(src)], Settings())
    pipeline.process(store, Settings())
    return store, list(readmodel.export(store, "stories"))


@pytest.fixture(scope="module")
def harbour(tmp_path_factory):
    store, stories = _run(tmp_path_factory.mktemp("harbour"), HARBOUR)
    yield store, stories
    store.close()


def test_a_disputed_figure_and_a_disputed_speaker_are_both_listed(harbour):
    _, [story] = harbour
    found = {c["kind"]: c for c in story["conflicts"]}
    assert found.keys() >= {"figure", "attribution"}, story["conflicts"]
    figures = sorted(side[0]["value"] for side in _sides(found["figure"]))
    assert figures == ["800億円", "約500億円"]
    speakers = {side[0]["source"]: side[0]["value"] for side in _sides(found["attribution"])}
    assert speakers["朝凪ニュース"].startswith("川村浩二")
    assert any(v.startswith("山本一郎") for k, v in speakers.items() if k != "朝凪ニュース")
    assert found["attribution"]["about"] in "港は地域の将来を担う柱になる"
    # every format says so, citing each side, and the check passes
    texts = {r[0]: nfkc(r[3]) for r in HARBOUR}
    for w in [story["article"], *story["formats"].values()]:
        said = [s for sec in w["sections"] for s in sec["sentences"]
                if s["text"].startswith("出典により異なる")]
        if w["format"] == "explainer":
            continue  # the explainer states the conflicts of its latest section only
        assert any("川村浩二" in s["text"] and "山本一郎" in s["text"] for s in said), w["format"]
        assert any("800億円" in s["text"] and "500億円" in s["text"] for s in said), w["format"]
        for s in said:
            assert {c["article"] for c in s["citations"]} >= {"h2"}
            assert all(nfkc(c["quote"]) in texts[c["article"]] for c in s["citations"])
        assert w["verification"]["supported_share"] == 1.0, w["format"]
    # agreeing facts (the date, 2030年度) are not conflicts
    assert all(c["kind"] != "date" for c in story["conflicts"])


# CONTRACT.md's conflict and claim, and the keys matome adds (what the site shows with them).
CONFLICT_KEYS = {"about": str, "kind": str, "claims": list}
CONFLICT_EXTRA = {"unit": str, "over_time": bool}   # unit: figures only
CLAIM_KEYS = {"article": str, "source": str, "quote": str, "value": str}
CLAIM_EXTRA = {"side": int}                          # claims on one side agree


def test_exported_conflicts_have_the_contracts_shape(harbour):
    store, [story] = harbour
    articles = {a["id"]: a for a in readmodel.export(store, "articles")}
    formats = [story["article"], *story["formats"].values()]
    assert story["conflicts"] == story["article"]["conflicts"]
    every = [*story["conflicts"], *(c for w in formats for c in w["conflicts"])]
    assert {c["kind"] for c in every} >= {"figure", "attribution"}
    for c in every:
        assert set(c) == {*CONFLICT_KEYS, "over_time", *(["unit"] if c["kind"] == "figure" else [])}
        assert all(type(c[k]) is t for k, t in {**CONFLICT_KEYS, **CONFLICT_EXTRA}.items() if k in c)
        assert c["kind"] in CONFLICT_KINDS and c["about"]
        assert len({x["source"] for x in c["claims"]}) >= 2 and len(_sides(c)) >= 2
        for claim in c["claims"]:
            assert set(claim) == {*CLAIM_KEYS, *CLAIM_EXTRA}, claim
            assert all(type(claim[k]) is t for k, t in {**CLAIM_KEYS, **CLAIM_EXTRA}.items())
            cited = articles[claim["article"]]
            assert claim["source"] == cited["source"]
            assert claim["quote"] and nfkc(claim["quote"]) in nfkc(cited["text"]), claim
            assert claim["value"] and nfkc(claim["value"]) in nfkc(claim["quote"]), claim


def test_an_article_stored_before_the_contracts_shape_still_loads():
    old = {"format": "brief", "headline": "h", "subheadline": "", "lead": "", "sections": [],
           "provenance": {"writer": "extractive/1", "model": None, "prompt": None, "sources": ["a"],
                          "built": "2026-01-01T00:00:00+09:00", "note": "1件"},
           "conflicts": [{"kind": "number", "about": "死者", "unit": "人", "over_time": False,
                          "sides": [[{"article": "a", "source": "A", "figure": "2人", "quote": "死者は2人。",
                                      "published": None},
                                     {"article": "c", "source": "C", "figure": "2人",
                                      "quote": "死者は2人だ。", "published": None}],
                                    [{"article": "b", "source": "B", "figure": "3人", "quote": "死者は3人。",
                                      "published": None}]]}],
           "report": {"sentences": 1, "supported": 1, "repaired": 0, "dropped": 0,
                      "supported_share": 1.0, "changes": [], "lengths": {"headline": 1, "lead": 0},
                      "length_ok": {"headline": True, "lead": False}, "headline_source": None}}
    w = Written.from_json(old)
    [c] = w.conflicts
    assert c == Conflict("死者", "figure", [Claim("a", "A", "死者は2人。", "2人", 0),
                                           Claim("c", "C", "死者は2人だ。", "2人", 0),
                                           Claim("b", "B", "死者は3人。", "3人", 1)], "人", False)
    assert [[x.source for x in side] for side in c.sides] == [["A", "C"], ["B"]]
    assert w.provenance.single_source and w.provenance.to_json() == old["provenance"]
    assert w.report.to_json() == old["report"]
    assert Written.from_json(w.to_json()) == w  # and what it is now round-trips


def test_provenance_and_report_keep_each_writers_json():
    llm = Provenance("llm/1", ["a"], "t", "m", "brief/v1", single_source=True)
    assert llm.to_json() == {"writer": "llm/1", "model": "m", "prompt": "brief/v1", "sources": ["a"],
                             "built": "t", "fallback": None, "single_source": True}
    assert Provenance.from_json(llm.to_json()) == llm
    assert VerifyReport.from_json(VerifyReport().to_json()) == VerifyReport()


def _office_holders(*texts: tuple[str, str]) -> list[Conflict]:
    from matome.language import analyze
    from matome.records import Article
    from matome.write.conflicts import find_conflicts
    arts = [Article(f"h{i}", f"https://o{i}.example/1", "日銀会合", text, outlet, "ja")
            for i, (outlet, text) in enumerate(texts)]
    gaz = analyze.gazetteer()
    return [c for c in find_conflicts(arts, {a.id: analyze.analyze(a, gaz) for a in arts})
            if c.kind == "name"]


def test_a_surname_and_the_full_name_it_starts_are_one_office_holder():
    """Seen on real reports: 「日銀の植田総裁」 against 「日銀の植田和男総裁」 was published as
    outlets disagreeing on who heads the bank."""
    assert _office_holders(("甲通信", "日銀の植田総裁は会見で説明した。"),
                           ("乙新聞", "日銀の植田和男総裁は会見で説明した。")) == []
    named = _office_holders(("甲通信", "日銀の植田和男総裁は会見で説明した。"),
                            ("乙新聞", "日銀の黒田東彦総裁は会見で説明した。"))
    assert len(named) == 1 and len(named[0].claims) == 2  # two people: a real disagreement


def test_the_first_day_of_a_meeting_is_not_its_date():
    """Seen on real reports: 「22日と23日に会合を開き…据え置くことを決定」 against 「1月23日の会合に
    おいて…据え置いた」 was published as outlets disagreeing on the day."""
    from matome.language import analyze
    from matome.records import Article
    from matome.write.conflicts import find_conflicts
    when = datetime(2026, 1, 23, 15, 0, tzinfo=UTC)
    two_days = "北浜銀行は22日と23日に会合を開き、金利を据え置くことを決定しました。"
    one_day = "北浜銀行は1月23日の会合において、金利を据え置きました。"
    arts = [Article("d0", "https://o0.example/1", "会合", two_days, "甲通信", "ja", published=when),
            Article("d1", "https://o1.example/1", "会合", one_day, "乙新聞", "ja", published=when)]
    gaz = analyze.gazetteer()
    got = find_conflicts(arts, {a.id: analyze.analyze(a, gaz) for a in arts})
    assert [c for c in got if c.kind == "date"] == []

"""Tag pages a reader can trust: a story is on an entity's page when the entity is what it is about.

The reports here are written for these tests (invented places, people and
figures); mentions are found by the language stage itself.
"""

from __future__ import annotations

from matome.language import analyze, entities, textja
from matome.records import Article
from matome.settings import TagSettings, ThemeSettings
from matome.stories import tags

GAZ = analyze.gazetteer(())
FILLER = ["港の再整備は来年度に始まる予定だ。", "地元の商店街は観光客の増加に期待を寄せている。",
          "市は説明会を三回開く。", "工事中は一部の道路が通行止めになる。", "費用の半分は県が負担する。",
          "住民からは騒音を心配する声も出ている。", "完成は2029年の見通しだ。",
          "市長は年内に計画をまとめる考えだ。"]
BOJ = "日本銀行は23日、政策金利を据え置くと決めた。"


def _report(aid: str, title: str, text: str) -> Article:
    return Article(id=aid, url=f"https://news.example/{aid}", title=title, text=text, source="潮見タイムス",
                   lang="ja")


def _tags(*arts: Article, themes: list[ThemeSettings] | None = None) -> set[str]:
    """Tag names of one story made of ``arts``."""
    mentions = {a.id: entities.find_mentions(a.text, textja.tokenize(a.text), GAZ) for a in arts}
    all_tags, per_story = tags.build_tags({"s1": list(arts)}, mentions, TagSettings(), themes or [])
    names = {t.id: t.name for t in all_tags}
    return {names[tid] for tid, _ in per_story.get("s1", [])}


def test_single_source_story_is_on_the_page_of_what_its_lead_names():
    a = _report("a1", "来年度予算、海外拠点の警備を強化",
                "外務省は28日、在外公館の警備を強化する方針を発表した。" + "".join(FILLER))
    assert "外務省" in _tags(a)


def test_a_compound_counts_for_its_head_entity():
    a = _report("a2", "来年度の概算要求まとまる",
                "政府は28日、外務省予算案を閣議で了承した。" + "".join(FILLER))
    b = _report("a3", "閣僚会合、海底ケーブルの保護で一致",
                "G7外相会合は3日、海底ケーブルの保護で協力する声明をまとめた。" + "".join(FILLER))
    assert "外務省" in _tags(a)
    assert "G7" in _tags(b)


def test_an_entity_central_in_the_text_tags_without_being_in_the_lead():
    text = ("港の再整備計画がまとまった。" + "".join(FILLER[:3]) + "国土交通省は費用の一部を補助する。"
            + FILLER[3] + "国土交通省の担当者は現地を視察した。" + "国土交通省は来月にも正式に決める。")
    assert "国土交通省" in _tags(_report("a4", "港の再整備計画まとまる", text))


def test_a_passing_mention_late_in_a_long_report_does_not_tag():
    text = ("潮見市は12日、港の再整備計画を発表した。" + "".join(FILLER) + "".join(FILLER)
            + "外務省の関係者も視察に訪れた。" + "外務省は詳細を明らかにしていない。")
    assert "外務省" not in _tags(_report("a5", "潮見港の再整備計画", text))


def test_a_name_each_report_mentions_in_passing_does_not_tag_a_story():
    lead = "潮見市は12日、港の再整備計画を発表した。"
    late = "".join(FILLER) + "外務省によると、外国の視察団も訪れる予定だという。"
    arts = [_report(f"b{i}", "潮見港の再整備計画", lead + late) for i in range(3)]
    assert "外務省" not in _tags(*arts)


def test_what_most_reports_of_a_story_lead_with_tags_it():
    arts = [_report(f"c{i}", "金利据え置き", BOJ + "".join(FILLER)) for i in range(3)]
    assert "日本銀行" in _tags(*arts)


def test_one_report_of_many_leading_with_a_name_the_others_pass_does_not_tag_the_story():
    """Seen on real reports: one of eight reports of a central bank's decision led with the prime
    minister, two more named her in passing, and the decision was on her tag page."""
    welcome = "早瀬首相は23日、日本銀行の決定を歓迎した。"
    lead_with = _report("e0", "金利据え置き", welcome + BOJ + "".join(FILLER))
    passing = [_report(f"e{i}", "金利据え置き", BOJ + "".join(FILLER) + "早瀬首相の発言も注目された。")
               for i in (1, 2)]
    plain = [_report(f"e{i}", "金利据え置き", BOJ + "".join(FILLER)) for i in (3, 4, 5)]
    got = _tags(lead_with, *passing, *plain)
    assert "日本銀行" in got and not any(n.startswith("早瀬") for n in got)
    # two of them about the person, as many naming them: their page lists it
    twice = _report("e6", "首相が歓迎", welcome + "".join(FILLER))
    assert any(n.startswith("早瀬") for n in _tags(lead_with, twice, *passing, *plain))


def test_a_government_named_after_its_leader_is_not_the_leader():
    """「高市政権発足後初の会合」 dates the meeting; the report is not about the prime minister."""
    a = _report("f1", "金利据え置き", "日本銀行は23日、早瀬新政権の発足後初となる会合で政策金利を据え置いた。"
                + "".join(FILLER))
    got = _tags(a)
    assert "日本銀行" in got and not any(n.startswith("早瀬") for n in got)
    b = _report("f2", "首相が会見", "早瀬首相は23日、記者会見を開いた。" + "".join(FILLER))
    assert any(n.startswith("早瀬") for n in _tags(b))


def test_a_wires_credit_is_no_tag():
    said = "(北浜通信):佐伯健司財務相は14日、円安について憂慮していると述べた。"
    a = _report("g1", "円安を憂慮", said + "".join(FILLER))
    got = _tags(a)
    assert "佐伯健司" in got and "北浜通信" not in got


def test_a_reporters_byline_is_no_tag():
    a = _report("d1", "潮見町の新庁舎、5月に開所",
                "ニューヨーク=波多野涼\n潮見町は13日、新庁舎を5月に開所すると発表した。" + "".join(FILLER)
                + "（ニューヨーク=波多野涼）")
    assert not any("波多野" in n for n in _tags(a))


def test_a_broadcasters_credit_line_is_no_tag():
    """Real broadcasters' pages open on a credit line (「All Nippon NewsNetwork(ANN)」,
    「MBSニュース」); its names tagged every such story. A name in a first line that says
    something still counts."""
    for credit in ("All Nippon NewsNetwork(ANN)", "MBSニュース", "潮見テレビ"):
        a = _report("c1", "潮見町の新庁舎、5月に開所",
                    credit + "\n潮見町は13日、新庁舎を5月に開所すると発表した。" + "".join(FILLER))
        got = _tags(a)
        assert not got & {"ANN", "Nippon", "MBS", "潮見"}, (credit, got)
        assert "潮見町" in got
    first = _report("c2", "新庁舎", "潮見テレビが開局\n潮見町は13日、新庁舎を5月に開所すると発表した。")
    assert "潮見" in _tags(first)


def test_a_name_and_the_word_after_it_that_make_an_organisation():
    """Seen on real pages: 松本病院, 森友学園 and 近畿財務局 tagged as a person 松本 and places 森友
    and 近畿; 米子会社 (a US subsidiary) as the city of 米子."""
    got = _tags(_report("o1", "病院に融資",
                        "大阪市の松本病院と森友学園、近畿財務局の問題で、米子会社は13日に説明した。"))
    assert {"松本病院", "森友学園", "近畿財務局"} <= got
    assert not got & {"松本", "森友", "近畿", "米子"}


def test_a_theme_of_an_entity_needs_a_story_about_the_entity():
    theme = [ThemeSettings(name="金融政策", entities=["日本銀行"])]
    about = _report("e1", "金利据え置き", BOJ + "".join(FILLER))
    passing = _report("e2", "潮見港の再整備計画",
                      "潮見市は12日、港の再整備計画を発表した。" + "".join(FILLER) + "".join(FILLER)
                      + "日本銀行の支店長も説明会に出席した。")
    assert "金融政策" in _tags(about, themes=theme)
    assert "金融政策" not in _tags(passing, themes=theme)


def test_lead_is_the_first_sentences_up_to_a_length():
    text = ("東京・永田町に激震が走りました。" + "自民党と公明党の党首会談が10日午後に開かれ、"
            "連立の解消が決まりました。" + "".join(FILLER))
    end = tags.lead_end(text)
    assert "公明党" in text[:end] and text[:end].endswith("。") and end < len(text)

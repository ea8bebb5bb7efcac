"""Verification: a sentence that says more than its cited span is repaired or dropped, with a reason."""

from __future__ import annotations

from matome.records import Article, Change, Citation, Lengths, Provenance, Section, Written, WrittenSentence
from matome.settings import WriterSettings
from matome.write.verify import verify

# One invented report (架空).
TEXT = ("佐伯健司外相は14日、来日したヴァレンティ外相と東京都内で会談した。"
        "両氏は重要鉱物の共同備蓄に向けて約300億ドルの投資を促すことで一致した。"
        "佐伯外相は会談後、「供給網の強靱化は待ったなしだ」と記者団に語った。")
A = Article("n1", "https://n1.example/a", "日伊外相が会談", TEXT, "北海新報", "ja")
SPAN_1, SPAN_2, SPAN_3 = (s + "。" for s in TEXT.split("。")[:3])


def _check(text: str, quote: str = SPAN_1, kind: str = "span") -> Written:
    w = Written("brief", "日伊外相が会談", "", "", [Section("詳細", [
        WrittenSentence(text, [Citation("n1", quote)], kind)])], Provenance("test"))
    return verify(w, [A])


def _outcome(w: Written) -> tuple[str, str]:
    [change] = w.report.changes or [Change("", "kept", "", "")]
    return change.action, change.reason


def test_a_verbatim_span_with_an_attribution_is_supported():
    for text in (SPAN_1, "北海新報によると、" + SPAN_1, SPAN_1 + "（北海新報）"):
        w = _check(text)
        assert w.report.supported_share == 1.0 and not w.report.changes, text
        assert w.sections[0].sentences[0].text == text


def test_another_outlets_attribution_is_not_allowed():
    action, reason = _outcome(_check("朝凪ニュースによると、" + SPAN_1))
    assert action == "repaired" and reason.startswith("attributed to"), reason


def test_a_reworded_sentence_that_keeps_every_fact_is_supported():
    w = _check("佐伯健司外相とヴァレンティ外相が14日、東京都内で会談した。")
    assert not w.report.changes, w.report.changes


def test_a_wrong_figure_is_repaired_with_the_source_sentence():
    w = _check("両氏は重要鉱物の共同備蓄に向けて約500億ドルの投資を促すことで一致した。", SPAN_2)
    action, reason = _outcome(w)
    assert action == "repaired" and reason.startswith("figures not in source")
    assert w.sections[0].sentences[0].text == SPAN_2
    assert w.report.repaired == 1 and w.report.supported_share == 0.0


def test_a_wrong_date_is_repaired():
    action, reason = _outcome(_check("佐伯健司外相は15日、来日したヴァレンティ外相と東京都内で会談した。"))
    assert (action, reason.split(":")[0]) == ("repaired", "dates not in source")


def test_a_name_not_in_the_source_is_repaired():
    action, reason = _outcome(_check("佐伯健司外相は14日、来日したハロウェイ長官と東京都内で会談した。"))
    assert action == "repaired" and reason.startswith("names not in source"), reason


def test_a_changed_title_is_repaired():
    action, reason = _outcome(_check("佐伯健司前外相は14日、来日したヴァレンティ外相と東京都内で会談した。"))
    assert action == "repaired" and reason.startswith("title differs"), reason
    assert "前外相" in reason


def test_a_quotation_must_be_verbatim():
    action, reason = _outcome(_check("佐伯外相は会談後、「供給網の強化は急務だ」と記者団に語った。", SPAN_3))
    assert action == "repaired" and reason.startswith("quotation not verbatim"), reason


def test_a_quote_that_is_not_in_the_article_is_dropped():
    w = _check("佐伯健司外相は14日に会談した。", "佐伯健司外相は14日に会談した。")
    action, reason = _outcome(w)
    assert action == "dropped" and reason == "quote not found in n1"
    assert w.sections[0].sentences == [] and w.report.dropped == 1


def test_a_conflict_sentence_must_cite_each_outlet_and_keep_its_figures():
    b = Article("n2", "https://n2.example/a", "日伊外相が会談",
                "両氏は重要鉱物の共同備蓄に向けて約400億ドルの投資を促すことで一致した。",
                "朝凪ニュース", "ja")
    cites = [Citation("n1", SPAN_2), Citation("n2", b.text)]
    ok = "出典により異なる: 投資について、北海新報は約300億ドル、朝凪ニュースは約400億ドルとしている。"
    bad = ok.replace("約400億ドル", "約450億ドル")
    for text, kept in ((ok, True), (bad, False)):
        w = Written("brief", "h", "", "", [Section("詳細", [WrittenSentence(text, cites, "conflict")])],
                    Provenance("test"))
        verify(w, [A, b])
        assert (not w.report.changes) is kept, (text, w.report.changes)


def test_the_lead_must_be_its_cited_spans_and_lengths_are_checked():
    w = Written("news", "日伊外相が会談", "", SPAN_1 + SPAN_2, [],
                Provenance("test"), [Citation("n1", SPAN_1), Citation("n1", SPAN_2)])
    verify(w, [A])
    assert w.lead == SPAN_1 + SPAN_2 and w.report.headline_source == "n1"
    assert w.report.length_ok == Lengths(headline=True, lead=100 <= len(w.lead) <= 160)
    w = Written("news", "日伊外相が会談", "", SPAN_1 + "。", [], Provenance("test"), [Citation("n1", SPAN_1)])
    verify(w, [A])
    assert w.lead == "" and w.report.changes[0].section == "リード"


def test_names_are_found_with_the_users_aliases_and_limits_come_from_the_writer_settings():
    k = Article("k1", "https://k1.example/a", "北浜電力が発電所",
                "北浜電力は14日、新しい発電所の建設を発表した。", "北海新報", "ja")

    def written() -> Written:
        said = WrittenSentence("北電は14日、新しい発電所の建設を発表した。", [Citation("k1", k.text)])
        return Written("brief", "北浜電力が発電所", "", "", [Section("詳細", [said])], Provenance("test"))

    assert _outcome(verify(written(), [k]))[1].startswith("names not in source")
    assert not verify(written(), [k], aliases={"北浜電力": ["北電"]}).report.changes  # settings.aliases
    assert verify(written(), [k]).report.length_ok == Lengths(headline=True, lead=False)
    short = WriterSettings(headline_max_chars=5, lead_min_chars=0)
    assert verify(written(), [k], short).report.length_ok == Lengths(headline=False, lead=True)


def _headed(headline: str, subheadline: str = "") -> Written:
    return verify(Written("brief", headline, subheadline, "", [], Provenance("test")), [A])


def test_a_headline_is_a_title_or_a_lead_sentence_of_one_report_in_headline_form():
    assert _headed("日伊外相が会談").report.headline_source == "n1"           # the title
    w = _headed("佐伯健司外相、ヴァレンティ外相と東京都内で会談")               # its lead, compressed
    assert w.report.headline_source == "n1" and not w.report.changes
    assert w.headline == "佐伯健司外相、ヴァレンティ外相と東京都内で会談"


def test_a_headline_or_subheadline_with_a_fact_no_report_gives_is_replaced():
    w = _headed("佐伯健司外相、約500億ドルの投資で一致", "両氏、約300億ドルの投資を促すことで一致")
    assert w.headline == "日伊外相が会談" and w.report.headline_source == "n1"
    [change] = w.report.changes
    assert change.section == "見出し" and change.reason.startswith("figures not in source")
    assert w.subheadline == "両氏、約300億ドルの投資を促すことで一致"   # every fact of it is in the report
    w = _headed("日伊外相が会談", "両氏、約500億ドルの投資で一致")
    assert w.subheadline == "" and w.report.changes[0].section == "サブ見出し"
    assert w.report.repaired == w.report.dropped == 0   # titles are not counted as sentences
    assert _headed("日伊外相が会談", "北海新報の報道").subheadline == "北海新報の報道"   # names outlets only

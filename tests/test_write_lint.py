"""What a reader sees: headlines that are headlines, no page furniture, no broken or repeated sentences.

The lint functions (``matome.write.lint``) are the checks ``bench/write_lint.py``
counts on real pages; here each is held to invented examples of what it must
catch and what it must let through, the writer's cleaning (``clean``) and
headlines (``headline``) to the cases the real set showed, the short form of
a one-report story to ``publish.min_sources``, and the demo corpus's written
output to every check.
"""

from __future__ import annotations

import json

import pytest

from matome import pipeline
from matome.extract.page import extract_page, ruby_base
from matome.language import analyze
from matome.records import Article
from matome.settings import ExtractSettings, Settings, WriterSettings
from matome.site import readmodel
from matome.store import Store, db_url
from matome.write import clean, headline, lint, toolkit
from matome.write.toolkit import SHORT_WRITER, WRITER

# --- lint ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "All Nippon NewsNetwork(ANN)",
    "写真：港に入る新造船（北浜市提供）",
    "新しい渡し船の試運転（北浜市提供、写す）",
    "関連記事：北浜市の渡し船、来月から増便",
    "続きを読む",
    "この記事は後で更新します。",
    "楽天市場で見る",
    "【PR】北浜の海産物を送料無料でお届け",
    "詳しくはこちら https://example.jp/x",
    "©東都通信 無断転載を禁じます",
])
def test_boilerplate_is_caught(text):
    assert lint.boilerplate(text), text


@pytest.mark.parametrize("text", [
    "楽天グループは12日、通期の決算を発表した。",
    "北浜市は広告収入で赤字を埋める方針だ。",
    "アマゾンジャパンは物流拠点を新設すると発表した。",
    "市によると、写真展は来月開かれる。",
])
def test_news_sentences_naming_shops_or_ads_are_not_boilerplate(text):
    assert lint.boilerplate(text) is None, text


@pytest.mark.parametrize(("text", "broken"), [
    ("は、新しいワクチンの原料を供給している。", True),
    ("、市は新しい計画を発表した。", True),
    ("が明らかになった。", True),
    ("っていう話だ。", True),
    ("北浜市は新しい計画を発表した。", False),
    ("また、市は予算を増やす。", False),
    ("さらに、県も協力する。", False),
    ("ハマダ醤油は原料を供給している。", False),
])
def test_particle_starts(text, broken):
    assert lint.particle_start(text) is broken


@pytest.mark.parametrize(("text", "bare"), [
    ("「すべて僕の責任だ」", True),
    ("「本当にうれしい」と話した。", True),
    ("「危険な行為だ」と述べた。", True),
    ("佐伯知事は「危険な行為だ」と述べた。", False),
    ("母親は「部屋を走り回っていた」と話している。", False),
    ("北浜市の担当者が「増便は来月から」と説明した。", False),
    ("市は増便を決めた。", False),
])
def test_bare_quotes(text, bare):
    assert lint.bare_quote(text) is bare


@pytest.mark.parametrize(("head", "cut"), [
    ("北浜市、渡し船を増便へ", False),
    ("日銀、政策金利を0.75%に引き上げ", False),
    ("潮見市営バス、10月から運賃50円値上げ", False),
    ("渡し船の増便か", False),
    ("円安の進行を受け", True),
    ("北浜市が増便を発表し", True),
    ("市の計画の", True),
    ("北浜市長は「来月から", True),
    ("Chinese Fighter Jet Directed Radar on", True),
    ("Japan Summons Chinese Ambassador", False),
])
def test_cut_headlines(head, cut):
    assert lint.cut_headline(head) is cut


def test_headline_problems():
    assert lint.headline_problems("") == ["empty"]
    assert "too long" in lint.headline_problems("あ" * 41)
    assert "ends in 。/…" in lint.headline_problems("北浜市が増便を決めた。")
    assert "ends in 。/…" in lint.headline_problems("北浜市が増便す…")
    assert lint.headline_problems("北浜市、渡し船を増便へ") == []


def test_near_duplicates_are_the_same_fact_said_twice():
    a = "北浜市は30日、市営の渡し船を7月から増便すると発表した。"
    b = "北浜市が7月から市営の渡し船を増便すると発表しました。"
    c = "新しい船の購入費は約3億円を見込む。"
    assert lint.near_duplicate(a, b)
    assert not lint.near_duplicate(a, c)
    # an attribution is not what a sentence says
    assert lint.similarity("東都通信によると、" + a, a) == 1.0
    assert lint.near_duplicates([a, c, b]) == [(0, 2)]


# --- what a writer may cite -------------------------------------------------------------


@pytest.mark.parametrize(("sentence", "cited"), [
    ("【ワシントン＝山田太郎】米政府は12日、新たな制裁を発表した。", "米政府は12日、新たな制裁を発表した。"),
    ("（ワシントン共同）米政府は12日、新たな制裁を発表した。", "米政府は12日、新たな制裁を発表した。"),
    ("(ブルームバーグ):北浜市の財政課長は12日、予算案を説明した。",
     "北浜市の財政課長は12日、予算案を説明した。"),
    ("【速報】北浜市で震度4の地震があった。", "北浜市で震度4の地震があった。"),
    ("新しい渡し船が就航した＝30日午前10時5分北浜市の渡し船が7月から増便される。",
     "北浜市の渡し船が7月から増便される。"),
    ("北浜市の渡し船 2026年5月1日(金) 9:30 地域 北浜市は30日、渡し船の増便を発表しました。",
     "北浜市は30日、渡し船の増便を発表しました。"),
    ("渡し船の増便 北浜市は30日、市営の渡し船を増便すると発表した。",
     "北浜市は30日、市営の渡し船を増便すると発表した。"),
    ("港に並ぶ新しい渡し船＝30日午後、北浜市北浜港で北浜市が渡し船を増便する。", None),   # place unknown
    # a caption, then its photo's credit, then the sentence (seen on a real portal's page)
    ("会見場に入る北浜市長＝30日午前（代表撮影）北浜市は30日、渡し船の増便を発表した。",
     "北浜市は30日、渡し船の増便を発表した。"),
    ("（北浜市提供）新しい渡し船が30日、就航した。", "新しい渡し船が30日、就航した。"),
    ("沖に浮かぶ新しい渡し船が見える（北浜市の資料から）北浜市は30日、渡し船を増便した。",
     "北浜市は30日、渡し船を増便した。"),
    ("北浜市が公開した写真（北浜市提供）によると、渡し船は3隻だった。",   # the credit is cited
     "北浜市が公開した写真（北浜市提供）によると、渡し船は3隻だった。"),
    ("北浜港に停泊する新しい渡し船。", None),                        # a caption
    ("All Nippon NewsNetwork(ANN)", None),
    ("は、新しい船を3隻購入する。", None),
    ("「来月から楽になる」", None),
    ("なぜ増便は遅れたのか。", None),
    ("北浜市 渡し船を増便 7月から「通勤が楽に」", None),          # a heading with a quote
    # a marked heading run into the sentence after it, the text's line breaks lost (real reports)
    ("■北浜市長、船会社に“反論”慌ただしく備える報道陣の前に、姿を見せた市長。", None),
    ("■北浜市長「いったん白紙」「関係に区切り」1時間半に及んだ話し合いは決裂しました。", None),
    ("■会談で北浜市長は「誠に不十分」と指摘しました。", "会談で北浜市長は「誠に不十分」と指摘しました。"),
])
def test_cited_span_drops_what_belongs_to_the_page(sentence, cited):
    got = clean.cited_span(sentence)
    assert got == cited
    assert got is None or got in sentence   # always a verbatim span


@pytest.mark.parametrize(("sentence", "tense"), [
    ("北浜市は、2日間の日程で渡し船の会議を開きます。", "future"),
    ("会議は来週開かれる予定だ。", "future"),
    ("北浜市、渡し船を増便へ。", "future"),
    ("北浜市は増便を決めた。", "past"),
    ("北浜市長が新しい議長に選ばれました。", "past"),
    ("混雑が続いている。", "other"),
    ("関係者によると、近く発表するという。", "other"),
])
def test_tense_tells_a_preview_from_an_outcome(sentence, tense):
    assert clean.tense(sentence) == tense


# --- headlines ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sentence", "head"), [
    ("北浜市は30日、市営の渡し船を7月から増便すると発表した。",
     "北浜市、市営の渡し船を7月から増便すると発表"),
    ("北浜市交通局は3月25日、市営バスの運賃を10月1日から引き上げると発表した。",
     "北浜市交通局、市営バスの運賃を10月1日から引き上げると発表"),
    ("北浜市議会は21日午後、本会議で新しい議長に佐伯健司氏を選出した。",
     "北浜市議会、本会議で新しい議長に佐伯健司氏を選出"),
    ("北浜市長選は8日夜、投票が締め切られた。", "北浜市長選、投票が締め切られる"),
    ("北浜市は渡し船の増便に失敗したと明らかにしました。", "北浜市、渡し船の増便に失敗したと明らかに"),
    ("北浜港で起きた大規模な火災について、北浜県警は11日、火元は倉庫だと発表しました。",
     "北浜港で起きた大規模な火災について、北浜県警、火元は倉庫だと発表"),
    ("週明け27日の北浜株式市場で、北浜平均株価（225種）は、取引時間中として初めて5万円を突破した。",
     "北浜平均株価、取引時間中として初めて5万円を突破"),
])
def test_a_lead_sentence_in_headline_form(sentence, head):
    got = headline.compress(sentence)
    assert got == head
    assert not lint.headline_problems(got)


def test_a_sentence_that_does_not_make_a_headline_gives_none():
    assert headline.compress("北浜市は、2027年3月末までに市内の全ての渡し船を電動の新型船に置き換えることを、"
                             "30日に開かれた市議会の特別委員会で正式に示しました。") is None
    # the scene-setting second sentence of a lead, cut from its subject (seen on real reports):
    # not 「30日午後に開かれた北浜市の審議会で報告」
    assert headline.compress("30日午後に開かれた北浜市の審議会で報告した。") is None


def test_a_shortened_headline_keeps_who_did_it():
    """Seen on real reports: 「防衛相は、中国の戦闘機が…過ぎ、別の機にも照射したと明らかにしました」
    became 「防衛相、別の機にも…照射を行ったと明らかに」, the deed given to the one who told of it."""
    deed = "別の哨戒機に対してもレーダー照射を"
    told = f"北浜防衛相は、北方軍の戦闘機が6日午後6時半過ぎ、{deed}行ったと明らかにしました。"
    assert headline.compress(told) == f"北浜防衛相、北方軍の戦闘機が{deed}行ったと明らかに"
    longer = f"北浜防衛相は、北方軍の戦闘機が同日夜、{deed}繰り返し行ったと明らかにしました。"
    got = headline.compress(longer)   # too long with its subject: no headline, not one without it
    assert got is None or "北方軍" in got
    # a 「が」 with its own predicate in the clause (損傷が相次ぐ) is no subject handed on
    g7 = ("北浜など7カ国の外相は3日、オンライン形式で会合を開き、"
          "各地で損傷が相次ぐ海底通信ケーブルの防護に向けて、情報を共有する新たな枠組みを設けることで合意した。")
    assert headline.compress(g7) == "北浜など7カ国の外相、情報を共有する新たな枠組みを設けることで合意"


def test_a_transcripts_line_or_a_clause_with_its_own_topic_makes_no_headline():
    """Seen on real reports: 「小泉防衛相：自衛隊機は…実施していて、自衛隊機の妨害があったとする
    中国側の主張はあたりません。」 became the サブ見出し 「小泉防衛相：自衛隊機、自衛隊機の妨害が…」."""
    remark = ("自衛隊機は安全な距離を保ちながら、終始冷静な対応で、警戒監視を実施していて、"
              "自衛隊機の妨害があったとする北方側の主張はあたりません。")
    assert clean.transcript("北浜防衛相：" + remark) and not clean.transcript(remark)
    assert clean.transcript("北浜党・佐伯代表（10日午後）：関係に区切りをつけたい。")
    assert not clean.transcript("外為サマリー：一時153円台の円高")
    assert headline.compress("北浜防衛相：" + remark) is None
    assert headline.compress(remark) is None   # not 「自衛隊機、自衛隊機の妨害が…」


@pytest.mark.parametrize("sentence", [
    "今回、それがいきなり公になった。",                      # seen on real pages as サブ見出し
    "そんな口コミの力で救われた商品がある。",
    "北浜宇宙機構は、その後の状況を確認しています。",
    "同社は30日、新しい渡し船を発表した。",
])
def test_a_headline_never_points_back_to_a_sentence_before_it(sentence):
    assert headline.compress(sentence) is None


def test_a_story_always_has_a_headline():
    """Seen on real reports: two reports, one without a title, the other titled with a sentence
    that makes no headline, and no lead that compresses: the story was published with none."""
    long = ("北浜宇宙機構は20日、衛星を保護するカバーを分離した際に、衛星と機体をつなぐ部分が"
            "壊れたとの推定を、専門家が集まる委員会で詳しく報告した。")
    titles = ["", "北浜ロケットについてです。"]
    arts = [Article(id=f"h{i}", url=f"https://news.example/h{i}", title=title, text=long + "原因は調査中だ。",
                    source="潮見テレビ", lang="ja") for i, title in enumerate(titles)]
    pool = toolkit.pool(arts, {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts})
    head, _ = toolkit.titles(pool, WriterSettings())
    assert head and not lint.headline_problems(head)
    # 何らかの (an indefinite, not a pointer back) is no reason to refuse a headline
    assert headline.compress("北浜宇宙機構は20日、何らかの要因で部品が壊れた可能性があると明らかにしました。")


def test_a_lead_stops_before_a_transcripts_line():
    text = ("北浜党の佐伯代表は10日、連立を離れる方針を伝えました。"
            "北浜党・佐伯代表：とても首班指名で名前を書くことはできない。関係に区切りをつけたい。")
    a = Article(id="t1", url="https://news.example/t1", title="連立離脱", text=text, source="潮見テレビ",
                lang="ja")
    cands = toolkit._candidates([a], {"t1": analyze.analyze(a, analyze.gazetteer())})
    lead, _ = toolkit.lead_of(cands, [0], WriterSettings())
    assert lead == "北浜党の佐伯代表は10日、連立を離れる方針を伝えました。"


def test_a_subheadline_is_a_second_fact_from_further_in_before_it_is_the_outlets():
    """Real minutes stories: every title and opening sentence said the minutes were out, so the
    サブ見出し was 「livedoor ニュース、時事通信の報道」 though the reports went on with facts."""
    text = ("北浜銀行は24日、10月の会合の議事要旨を公表した。北浜銀行は24日、議事要旨を公表した。"
            "10月の会合では、政策金利を0.5％程度で据え置くことを決めた。")
    arts = [Article(id=f"m{i}", url=f"https://news.example/m{i}", title="北浜銀行、議事要旨を公表",
                    text=text, source=f"局{i}", lang="ja") for i in range(2)]
    pool = toolkit.pool(arts, {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts})
    head, sub = toolkit.titles(pool, WriterSettings())
    assert head == "北浜銀行、議事要旨を公表"
    assert "据え置く" in sub and "報道" not in sub


def test_once_the_outcome_is_told_it_opens_the_lead_as_it_heads_the_story():
    """A real fire story: three reports still told it as under way (「20棟以上が燃える火災が発生
    しています」) and one the next day told it done (「170棟以上焼ける火災が発生しました」). The
    見出し came from the latter, the lead from the former, more central, one."""
    going = "北浜市で住宅など20棟以上が燃える大規模な火災が発生しています。消防が消火にあたっています。"
    done = ("北浜市できのう、住宅など少なくとも170棟以上が焼ける大規模な火災が発生しました。"
            "鎮火には至っていません。")
    arts = [Article(id=f"f{i}", url=f"https://news.example/f{i}", title="", text=text, source=f"局{i}",
                    lang="ja") for i, text in enumerate([going, going.replace("消防", "警察と消防"), done])]
    pool = toolkit.pool(arts, {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts})
    opening = {i for i, c in enumerate(pool.cands) if c.article.id == "f2" and c.rank == 0}
    assert toolkit.leads(pool) == opening
    lead, cites = toolkit.lead_of(pool.cands, sorted(toolkit.leads(pool)), WriterSettings())
    assert "170棟" in lead and cites[0].article == "f2"


@pytest.mark.parametrize(("title", "head"), [
    ("北浜市、渡し船を増便へ", "北浜市、渡し船を増便へ"),
    ("【速報】北浜市、渡し船を増便へ", "北浜市、渡し船を増便へ"),
    # a headline does not exclaim: what follows the mark is the page's come-on (seen on real pages)
    ("北浜平均株価が史上初の5万円超えを達成!歴史的瞬間を振り返る", "北浜平均株価が史上初の5万円超えを達成"),
    ("北浜市 渡し船を7月から増便 通勤客の混雑を和らげる狙い 購入費は約3億円の見込み",
     "北浜市 渡し船を7月から増便 通勤客の混雑を和らげる狙い"),
    ("北浜市は渡し船を増便しました", "北浜市、渡し船を増便"),
    ("北浜市長選は8日夜、投票が締め切られた。", "北浜市長選、投票が締め切られる"),
    ("渡し船の行方＝波多野涼", "渡し船の行方"),   # a column signed by its writer (a real page's title)
    ("北浜港の渡し船、1便＝300円に値上げ", "北浜港の渡し船、1便＝300円に値上げ"),
])
def test_a_title_as_a_headline(title, head):
    assert headline.from_title(title) == head


# --- extraction: ruby keeps its base text -----------------------------------------------------


def test_ruby_keeps_its_base_text_and_the_sentence_stays_whole():
    furigana = "ハマダ\n<ruby><rb>醤油</rb><rp>（</rp><rt>しょうゆ</rt><rp>）</rp></ruby>\nは、"
    assert ruby_base(furigana) == "ハマダ醤油は、"
    assert ruby_base("<ruby>醤<rt>しょう</rt>油<rt>ゆ</rt></ruby>は") == "醤油は"
    assert ruby_base("Chikan (<ruby>痴漢<rt>ちかん</rt></ruby>), or") == "Chikan (痴漢), or"
    body = "".join(f"<p>北浜市の話題その{i}です。港の整備が進んでいます。市民の関心も高まっています。</p>"
                   for i in range(4))
    page = (f"<html lang='ja'><head><title>港の話題</title></head><body><article>{body}"
            "<p>1645年創業で北浜市に本社を置くハマダ\n<ruby><rb>醤油</rb><rp>（</rp><rt>しょうゆ</rt>"
            "<rp>）</rp></ruby>\nは、新しいワクチンの原料を供給している。</p></article></body></html>")
    art = extract_page(page.encode("utf-8"), "https://kita.example/a/1", None, ExtractSettings())
    assert "ハマダ醤油は、新しいワクチンの原料を供給している。" in art.text
    assert "しょうゆ" not in art.text


# --- a story from one report ----------------------------------------------------------------

REPORTS = [
    ("r1", "東都通信", "北浜市、渡し船を7月から増便",
     "北浜市は30日、市営の渡し船を7月から増便すると発表した。平日の運航は1日12往復から18往復になる。"
     "通勤客の混雑を和らげる狙いがある。新しい船の購入費は約3億円を見込む。市は年内に運賃も見直す。"),
    ("r2", "朝凪ニュース", "北浜市が渡し船の増便を決定",
     "北浜市が渡し船の増便を決めた。7月から平日は18往復に増える。市によると、"
     "新しい船の購入費は約3億円を見込む。利用者からは歓迎の声が上がった。"),
    ("r3", "東都通信", "南浜町で花火大会、3万人が来場",
     "南浜町で5月3日、恒例の花火大会が開かれ、約3万人が訪れた。打ち上げ数は過去最多の8000発だった。"
     "町は来年も同じ規模で開く方針だ。会場周辺では交通規制が敷かれた。"),
]


def _process(tmp_path, settings: Settings) -> Store:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(
        {"id": i, "url": f"https://{i}.example/n", "title": title, "text": text,
         "published": "2026-05-01T09:00:00+09:00", "source": outlet, "lang": "ja"}, ensure_ascii=False)
        for i, outlet, title, text in REPORTS) + "\n", "utf-8")
    store = Store(db_url(str(tmp_path / "s.db")))
    pipeline.ingest(store, [str(src)], settings)
    pipeline.process(store, settings)
    return store


def test_a_story_from_one_report_is_published_as_that_report(tmp_path):
    store = _process(tmp_path, Settings())
    stories = {len(s["articles"]): s for s in readmodel.export(store, "stories")}
    assert set(stories) == {1, 2}
    one, two = stories[1], stories[2]
    for w in [one["article"], *one["formats"].values()]:
        assert w["provenance"]["writer"] == SHORT_WRITER, w["format"]
        assert w["headline"] == "南浜町で花火大会、3万人が来場"
        assert len(w["lead"]) <= 160 and w["lead"].startswith("南浜町で5月3日、恒例の花火大会が開かれ")
        assert w["lead"] == "".join(c["quote"] for c in w["lead_citations"])
        said = [s for sec in w["sections"] for s in sec["sentences"]]
        assert all(s["text"] in w["lead"] for s in said)   # nothing beyond the report's opening
        assert w["verification"]["supported_share"] == 1.0
    brief = one["article"]
    assert [s["name"] for s in brief["sections"]] == ["概要", "引用・参照・底本"]
    assert brief["sections"][1]["sources"][0]["url"] == "https://r3.example/n"
    assert brief["provenance"]["note"]
    # two reports: a full article
    assert two["article"]["provenance"]["writer"] == WRITER
    assert [s["name"] for s in two["article"]["sections"]] == ["概要", "詳細", "要点", "引用・参照・底本"]
    store.close()


def test_publish_min_sources_sets_when_a_full_article_is_written(tmp_path):
    settings = Settings()
    settings.publish.min_sources = 3
    store = _process(tmp_path, settings)
    writers = {s["article"]["provenance"]["writer"] for s in readmodel.export(store, "stories")}
    assert writers == {SHORT_WRITER}
    store.close()
    settings.publish.min_sources = 1
    (tmp_path / "again").mkdir()
    store = _process(tmp_path / "again", settings)
    assert {s["article"]["provenance"]["writer"] for s in readmodel.export(store, "stories")} == {WRITER}
    store.close()


# --- the demo corpus, as written ------------------------------------------------------------


def test_the_demo_corpus_is_lint_clean(demo_db):
    store = Store(db_url(str(demo_db)), readonly=True)
    problems = []
    shown = 0
    for fmts in store.written().values():
        for w in fmts.values():
            counts, found = lint.lint_written(w)
            shown += counts["sentences"]
            problems += [(w.format, p, t) for p, t in found]
    store.close()
    assert shown > 100
    assert problems == []


def test_the_page_of_a_story_from_one_report_shows_that_report(demo_catalog):
    from matome.site import Site

    settings = Settings()
    settings.site.formats = ["brief", "news", "explainer", "matome"]
    one = next(s for s in demo_catalog.stories if len(s.sources) == 1)
    many = next(s for s in demo_catalog.stories if len(s.sources) > 1)
    site = Site(demo_catalog, settings)
    page = site.render(f"stories/{one.id}.html") or ""
    assert one.written["brief"].provenance.writer == SHORT_WRITER
    assert 'class="lead"' in page and 'class="source-report"' in page and one.sources[0].url in page
    for full in ("【詳細】", "【要点】", "format-news", "format-explainer", "format-matome"):
        assert full not in page, full
    page = site.render(f"stories/{many.id}.html") or ""
    assert "【詳細】" in page and "format-news" in page and 'class="source-report"' not in page


# --- once the outcome is reported, the article tells it -------------------------------------

PREVIEW = ("p1", "東都通信", "2026-05-27T09:00:00+09:00", "北浜市議会、きょう議長選挙へ",
           "北浜市議会は28日、本会議を開き、新しい議長を選挙で選びます。現職の議長は今月で退任します。"
           "議長選挙には2人が立候補する見通しです。")
OUTCOMES = [
    ("o1", "朝凪ニュース", "2026-05-28T15:00:00+09:00", "北浜市議会、新議長に佐伯健司氏",
     "北浜市議会は28日の本会議で、新しい議長に佐伯健司氏を選出した。佐伯氏は当選5回で、"
     "議長就任は初めて。任期は2年となる。投票では佐伯氏が24票、対立候補が12票を得た。"),
    ("o2", "北海新報", "2026-05-28T16:00:00+09:00", "北浜市議会議長に佐伯氏",
     "北浜市議会は28日、本会議で議長選挙を行い、佐伯健司氏を新しい議長に選んだ。"
     "佐伯氏は就任あいさつで「開かれた議会を目指す」と述べた。副議長には山田太郎氏が選ばれた。"),
]


def test_once_the_outcome_is_reported_the_preview_is_history():
    from datetime import datetime

    from matome.language import analyze
    from matome.records import Article
    from matome.settings import WriterSettings
    from matome.write import brief, news

    arts = [Article(i, f"https://{i}.example/n", title, text, outlet, "ja",
                    published=datetime.fromisoformat(when))
            for i, outlet, when, title, text in [PREVIEW, *OUTCOMES]]
    analyses = {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts}
    for w in (brief.write_brief(arts, analyses, WriterSettings()),
              news.write_news(arts, analyses, WriterSettings())):
        shown = [t for _, t in lint.shown(w)] + [w.lead]
        assert "選びます" not in "".join(shown) and "見通しです" not in "".join(shown), w.format
        assert w.headline in {"北浜市議会、新議長に佐伯健司氏", "北浜市議会議長に佐伯氏"}, w.headline
        assert w.lead.startswith("北浜市議会は28日"), w.lead
        assert not lint.headline_problems(w.subheadline)
    # attribution only where a claim needs its source: none of these does
    assert not any("によると、" in t for _, t in lint.shown(w))


def test_a_report_without_outlet_or_link_still_has_a_subheadline():
    # a file read from disk: no URL and no outlet's name; one report (Japanese, English),
    # published as itself
    from datetime import datetime

    from matome.language import analyze
    from matome.records import Article
    from matome.settings import Settings
    from matome.write import formats

    _, _, when, title, text = OUTCOMES[0]
    english = ("The city council of Kitahama elected Kenji Saeki as its new chair on Thursday. "
               "Saeki won 24 votes against 12. He has served five terms on the council.")
    arts = [Article("f1", "", title, text, "", "ja", published=datetime.fromisoformat(when)),
            Article("f2", "", "Kitahama council elects new chair", english, "", "en",
                    published=datetime.fromisoformat(when))]
    analyses = {a.id: analyze.analyze(a, analyze.gazetteer()) for a in arts}
    settings = Settings()
    for one in arts:
        for fmt in formats.wanted(settings.writer.formats):
            w = formats.write_story(fmt, fmt.inputs([one], analyses, [], []), settings.writer,
                                    settings.publish.min_sources)
            assert w.headline and w.subheadline, (one.lang, fmt.name, w.subheadline)
            assert not lint.headline_problems(w.subheadline), w.subheadline

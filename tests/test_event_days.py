"""Event days of undated reports: the day the text names, kept partial and compared by what both know."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from matome.language import analyze
from matome.records import Article
from matome.stories.days import day_gap


def _days(text: str, published: str | None = None) -> list[str]:
    when = datetime.fromisoformat(published) if published else None
    article = Article(id="a", url="https://example.org/a", title="", text=text, source="",
                      lang="ja", published=when)
    return analyze.analyze(article, analyze.gazetteer()).event_days


def test_an_undated_report_keeps_the_day_its_lead_names():
    lead = "日本銀行は１０日、１０月２９、３０日の金融政策決定会合の主な意見を公表した。"
    assert _days(lead) == ["XXXX-XX-10"]
    # a target day (「２３日に解散」) is a plan, not the day of the announcement
    assert _days("高市首相は１月１９日、２３日に衆議院を解散する意向を表明した。") == ["XXXX-01-19"]
    # a dated report still resolves to a full date
    assert _days("日銀は23日、金融政策決定会合を開いた。", "2026-01-23T12:00:00+09:00") == ["2026-01-23"]


def test_the_lead_comes_after_a_heading_and_a_kickers_question():
    """A real page opened with its title as a heading and a question before the lead that named
    the day; the lead was taken from those two lines and the report had no day."""
    text = ("北浜銀行10月会合、利上げ見送り\n\n新体制への配慮か？\n\n"
            "北浜銀行は、10月30日の金融政策決定会合で利上げを見送り、無担保コール翌日物金利の誘導目標を"
            "据え置くと決めた。\n\n今年の1月に引き上げて以降、利上げ先送りが続いている。")
    assert _days(text, "2025-11-08T09:00:00+09:00") == ["2025-10-30"]   # not 10-31 (翌日物)
    # a lead sentence that repeats the title is still the lead
    assert _days("北浜市長は19日、辞職する意向を表明しました。市民の受け止めは様々です。",
                 "2026-01-20T09:00:00+09:00") == ["2026-01-19"]


def test_a_day_with_a_past_clause_after_its_ni_is_when_it_happened():
    """「11月10日に公表された」 happened; 「12月19日にも利上げ」 and 「27日投開票」-style targets have not."""
    text = ("北浜銀行は、12月19日にも利上げを行う可能性があることを、11月10日に公表された"
            "会合の主な意見で示した。")
    assert _days(text) == ["XXXX-11-10"]
    assert _days("北浜市長は１月１９日、２３日に議会を解散する意向を表明した。") == ["XXXX-01-19"]


def test_the_days_of_an_announced_schedule_are_plans():
    """「27日公示、2月8日投開票の日程で」 lists what is to come: a real undated report of the
    announcement got the 27th as its day, and one with a dated caption the 8th of February, so
    neither joined the reports of the 19th."""
    text = "北浜市長は１月１９日、２７日告示、２月８日投開票の日程で出直し選挙を行うと表明した。"
    assert _days(text) == ["XXXX-01-19"]
    caption = ("北浜市長が辞職を表明した。〈2026年1月19日 20時撮影〉日程は1月27日告示、"
               "2月8日投開票。")
    assert _days(caption) == ["2026-01-19"]
    # a schedule's step told in the past is when it happened
    assert _days("改正条例は４月１日施行された。") == ["XXXX-04-01"]


def test_a_fraction_is_not_a_day():
    """「2/3を超える議席」 was read as February 3rd, the day of an election result's report."""
    assert _days("与党が2/3を超える議席を得た。") == []
    assert _days("与党が約2/3の議席を得た。") == []
    assert _days("2/8投開票の市長選で現職が当選した。") == ["XXXX-02-08"]


def test_partial_days_compare_by_the_parts_both_sides_know():
    assert day_gap((0, 8), (0, 5)) == 3            # 「８日」 and 「５日」: two different days
    assert day_gap((0, 31), (0, 1)) == 1           # across a month's turn
    assert day_gap((0, 6), date(2025, 12, 7)) == 1
    assert day_gap((10, 30), date(2026, 1, 28)) > 1
    assert day_gap((1, 19), (1, 23)) == 4


def test_undated_reports_among_a_few_dated_ones_keep_their_days_partial():
    """「10月30日」 and 「30日」 of one decision, undated, after a dated report of January: read
    against the newest dated report they became 2025-10-30 and 2025-12-30, and split."""
    import numpy as np

    from matome.settings import ClusterSettings
    from matome.stories.cluster import Clusterer, Features

    vec = np.eye(8, dtype=np.float32)[0]
    other = np.eye(8, dtype=np.float32)[1]

    def report(i: str, published: datetime | None, v: np.ndarray, lemmas: set[str],
               days: frozenset[date] = frozenset(), partial: frozenset[tuple[int, int]] = frozenset()
               ) -> Features:
        return Features(i, "ja", published, v, frozenset(lemmas), frozenset({"北浜銀行"}), days, partial)

    c = Clusterer(ClusterSettings())
    c.assign(report("jan", datetime.fromisoformat("2026-01-26T09:00:00+09:00"), other, {"株価"},
                    frozenset({date(2026, 1, 26)})))
    first = c.assign(report("a", None, vec, {"金利", "据え置き"}, partial=frozenset({(10, 30)})))
    near = np.zeros(8, dtype=np.float32)
    near[0], near[2] = 0.9, float(np.sqrt(1 - 0.81))  # another wording: cosine 0.9
    second = c.assign(report("b", None, near, {"金利", "決定"}, partial=frozenset({(0, 30)})))
    assert second.story == first.story


def test_an_undated_full_day_that_sets_a_target_is_not_the_event_day():
    # 「19日にも利上げ」 is what may happen, 「10日に公表」 is read the same way for want of tense;
    # 「30日の会合で決めた」 is the event
    assert _days("日本銀行(BOJ)は、2025年12月19日にも利上げを行う可能性があることを示した。") == []
    assert _days("日銀は2025年10月30日の金融政策決定会合で、政策金利の維持を決めた。") == ["2025-10-30"]


def test_an_undated_report_is_grouped_where_it_belongs_among_the_dated(tmp_path):
    """At the day its lead names, or beside the dated report it is most like; not after every
    dated report, when the events of weeks before have left the window."""
    import json

    from matome import pipeline
    from matome.settings import Settings
    from matome.store import Store, db_url
    from matome.stories.members import in_order, reports
    from matome.stories.runs import grouping_order

    hold = "政策金利を{}に据え置くことを決めた。米国の関税政策が日本経済に与える影響を見極める。"
    records = [
        {"url": "https://news.example.jp/a", "title": "日銀、利上げを見送り",
         "published": "2025-10-30T15:00:00+09:00",
         "text": "日本銀行は30日の金融政策決定会合で、" + hold.format("0.5%")},
        {"url": "https://news.example.jp/b", "title": "日銀、金利を据え置き",
         "published": "2026-01-23T15:00:00+09:00",
         "text": "日本銀行は23日の金融政策決定会合で、" + hold.format("0.75%")},
        {"url": "https://news.example.jp/x", "title": "H3ロケット打ち上げ",
         "published": "2026-01-24T10:00:00+09:00",
         "text": "宇宙航空研究開発機構は24日、H3ロケットを種子島宇宙センターから打ち上げた。"
                 "搭載した衛星は予定の軌道に入った。"},
        # names a full day: at the end of that day
        {"url": "https://feed.example.jp/c", "title": "日銀が現状維持",
         "text": "日銀は2025年10月30日の金融政策決定会合で、政策金利の維持を決めました。"
                 "米国の関税政策が日本経済に与える影響を見極める方針です。"},
        # names 「23日」: beside the report it is most like among those of a 23rd
        {"url": "https://feed.example.jp/e", "title": "日銀の決定",
         "text": "日本銀行は23日、金融政策決定会合で" + hold.format("現行の水準")},
        # names no day: beside the dated report it is most like
        {"url": "https://feed.example.jp/d", "title": "H3、軌道投入に成功",
         "text": "H3ロケットが種子島宇宙センターから打ち上げられ、搭載した衛星が予定の軌道に入りました。"},
        # like nothing dated in the batch: after every dated report
        {"url": "https://feed.example.jp/f", "title": "Cup final",
         "text": "The home side won the cup final after extra time, their first title in a decade."},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    store, settings = Store(db_url(str(tmp_path / "s.db"))), Settings()
    pipeline.ingest(store, [str(src)], settings)
    for stage in (pipeline.run_extract, pipeline.run_analyze):
        stage(store, settings, pipeline.Quiet(), pipeline.Report())
    order = grouping_order(store, in_order(reports(store.articles())), settings)
    assert [a.url[-1] for a in order] == ["a", "c", "b", "e", "x", "d", "f"]
    store.close()


def test_event_days_a_day_apart_weigh_a_little_against_one_event():
    """Same day: a bonus; two days or more apart: a penalty; one day apart (a time zone, or the
    next day's look-alike: a minister's warning on the 23rd, the bank's minutes on the 24th): a
    small penalty, enough to turn only a close call."""
    import numpy as np

    from matome.settings import ClusterSettings
    from matome.stories.cluster import Features, StoryState, score

    cfg = ClusterSettings()
    vec = np.ones(4, dtype=np.float32) / 2.0

    def with_day(d: date) -> float:
        story = StoryState("s")
        story.add(Features("a", "ja", None, vec, frozenset({"会合"}), frozenset({"日本銀行"}),
                           frozenset({date(2025, 12, 23)})))
        mine = Features("b", "ja", None, vec, frozenset({"会合"}), frozenset({"日本銀行"}), frozenset({d}))
        return score(mine, story, cfg)["score"]

    same, next_day, later = with_day(date(2025, 12, 23)), with_day(date(2025, 12, 24)), \
        with_day(date(2025, 12, 26))
    assert same - next_day == pytest.approx(cfg.event_day_bonus + cfg.event_day_near_penalty)
    assert next_day - later == pytest.approx(cfg.event_day_penalty - cfg.event_day_near_penalty)
    assert cfg.event_day_near_penalty > 0


def test_a_report_naming_no_day_weighs_against_a_story_of_days_before_it_was_published():
    """News tells its own day or the day before: a report that names no day, published three
    days after the incident a story names, is most likely the next happening of the same actors
    (the minister's rebuttal of 12-09 beside the radar lock-on of 12-06, seen on the real set).
    Published the same day or the next, or before the day (a preview), it pays nothing."""
    from zoneinfo import ZoneInfo

    import numpy as np

    from matome.settings import ClusterSettings
    from matome.stories.cluster import Features, StoryState, score

    cfg = ClusterSettings()
    vec = np.ones(4, dtype=np.float32) / 2.0
    jst = ZoneInfo("Asia/Tokyo")

    def published_on(day: int, month: int = 12, partial: bool = False) -> dict[str, float]:
        story = StoryState("s")
        days = frozenset() if partial else frozenset({date(2025, 12, 6)})
        story.add(Features("a", "ja", None, vec, frozenset({"照射"}), frozenset({"小泉進次郎"}),
                           days, frozenset({(0, 6)}) if partial else frozenset()))
        when = datetime(2025, month, day, 18, 0, tzinfo=jst)
        mine = Features("b", "ja", when, vec, frozenset({"照射"}), frozenset({"小泉進次郎"}), frozenset())
        return score(mine, story, cfg)

    assert published_on(9)["day_penalty"] == cfg.late_report_penalty > 0
    assert published_on(9, partial=True)["day_penalty"] == cfg.late_report_penalty  # 「６日」
    for same_or_next in (6, 7):
        assert published_on(same_or_next)["day_penalty"] == 0
    assert published_on(28, month=11)["day_penalty"] == 0  # a preview
    assert published_on(9)["score"] == pytest.approx(published_on(7)["score"] - cfg.late_report_penalty)
    # a story of a partial day whose nearest reading is after the publication (「12日」 beside a
    # report of the 9th): the report may preview it, no penalty
    from matome.stories.cluster import _told_later

    assert not _told_later(date(2025, 12, 9), {(0, 12)})
    assert _told_later(date(2025, 12, 9), {(0, 6)})
    assert not _told_later(date(2025, 12, 9), {date(2025, 12, 6), (0, 8)})  # one day it names is near

"""Event days of undated reports: the day the text names, kept partial and compared by what both know."""

from __future__ import annotations

from datetime import date, datetime

from matome.language import analyze
from matome.records import Article
from matome.stories.days import day_gap, latest_fit


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


def test_partial_days_compare_by_the_parts_both_sides_know():
    assert day_gap((0, 8), (0, 5)) == 3            # 「８日」 and 「５日」: two different days
    assert day_gap((0, 31), (0, 1)) == 1           # across a month's turn
    assert day_gap((0, 6), date(2025, 12, 7)) == 1
    assert day_gap((10, 30), date(2026, 1, 28)) > 1
    assert day_gap((1, 19), (1, 23)) == 4


def test_a_partial_day_read_against_the_stream_is_the_latest_that_fits():
    assert latest_fit((0, 5), date(2026, 2, 10)) == date(2026, 2, 5)
    assert latest_fit((0, 25), date(2026, 2, 10)) == date(2026, 1, 25)
    assert latest_fit((12, 24), date(2026, 1, 10)) == date(2025, 12, 24)

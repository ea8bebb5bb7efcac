"""Days named in English reports, as the event day of cross-language grouping reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from matome.language import analyze, temporal_en
from matome.records import Article

FRIDAY_EVENING = datetime(2026, 2, 13, 20, 20, tzinfo=UTC)


@pytest.mark.parametrize(("text", "want"), [
    ("won gold on Friday, landing two 1440s", [("Friday", date(2026, 2, 13))]),  # the same day
    ("agreed on Thursday at the White House", [("Thursday", date(2026, 2, 12))]),
    ("said on Saturday that talks had failed", [("Saturday", date(2026, 2, 7))]),  # past bias
    ("The two leaders will meet on Thursday.", [("Thursday", date(2026, 2, 19))]),  # ahead
    ("On Feb. 9 the finance chiefs met.", [("Feb. 9", date(2026, 2, 9))]),
    ("talks on 2 January", [("2 January", date(2026, 1, 2))]),
    ("a summit on Dec. 28", [("Dec. 28", date(2025, 12, 28))]),  # the nearest year
    ("30 June 2011 – the expert warned", [("30 June 2011", date(2011, 6, 30))]),
    ("It rained yesterday.", [("yesterday", date(2026, 2, 12))]),
    ("February 30 is no day, and may 5 is no month.", []),
])
def test_english_days(text, want):
    assert [(e.text, e.day) for e in temporal_en.find_times(text, FRIDAY_EVENING)] == want


def test_without_a_publication_time_only_full_dates_resolve():
    got = temporal_en.find_times("On Friday, 30 June 2011, and on Feb. 9 it rained yesterday.", None)
    assert [(e.text, e.day) for e in got] == [("30 June 2011", date(2011, 6, 30)), ("Feb. 9", None)]
    # a month and day without a year stay partial, as 「2月9日」 does in an undated Japanese report
    assert got[1].value == "XXXX-02-09"


def test_a_span_of_days_is_dated_by_its_last():
    """A two-day meeting "on Dec. 18-19" decides on the 19th, the day its outcome is news."""
    dated = temporal_en.find_times("At a two-day meeting on Dec. 18\u201319, the bank voted.", FRIDAY_EVENING)
    assert [(e.text, e.day) for e in dated] == [("Dec. 18\u201319", date(2025, 12, 19))]
    undated = temporal_en.find_times("At a two-day meeting on Dec. 18-19, the bank voted.", None)
    assert [(e.value, e.day) for e in undated] == [("XXXX-12-19", None)]


def test_an_undated_english_report_keeps_its_partial_event_day():
    """Before, an English report with no publication date lost "Dec. 19" entirely, so it could
    not be told from a look-alike of another month (a January meeting of the same bank)."""
    text = ("Japan's central bank raised its rate. At a two-day meeting on Dec. 18\u201319, "
            "the bank voted to raise its policy rate.")
    article = Article("x", "https://e.example/1", "Rate raised", text, "E", "en", published=None)
    assert analyze.analyze(article, analyze.gazetteer()).event_days == ["XXXX-12-19"]


def test_an_english_report_names_its_event_day():
    """Before, an English report named no day, and cross-language grouping had no day evidence."""
    text = ("Japan's Aoi Saotome, 19, won gold in the men's snowboard halfpipe on Friday. "
            "He will compete again on Sunday.")
    article = Article("x", "https://e.example/1", "Saotome wins gold", text, "E", "en",
                      published=FRIDAY_EVENING)
    assert analyze.analyze(article, analyze.gazetteer()).event_days == ["2026-02-13"]
    japanese = Article("y", "https://e.example/2", "金メダル", text, "E", "ja", published=FRIDAY_EVENING)
    assert analyze.analyze(japanese, analyze.gazetteer()).event_days == []  # Japanese rules only

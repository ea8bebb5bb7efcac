"""Property tests (Hypothesis) on date parsing."""

from __future__ import annotations

import calendar
import email.utils
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from matome.extract import JST, dates

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
times = st.tuples(st.integers(0, 23), st.integers(0, 59))


@given(days, times)
def test_every_written_form_reads_back_as_the_same_moment(d, hm):
    h, m = hm
    want = datetime(d.year, d.month, d.day, h, m, tzinfo=JST)
    forms = [f"{d.year}年{d.month}月{d.day}日 {h}時{m}分", f"{d.year}/{d.month}/{d.day} {h}:{m:02d}",
             f"{d.year}.{d.month:02d}.{d.day:02d} {h:02d}:{m:02d}", want.isoformat(),
             email.utils.format_datetime(want)]
    if d >= date(2019, 5, 1):
        era = d.year - 2018
        forms.append(f"令和{'元' if era == 1 else era}年{d.month}月{d.day}日 {h}:{m:02d}")
    for form in forms:
        got = dates.parse(form)
        assert got is not None, form
        assert got == want, form


@given(days)
def test_a_date_inside_running_text_is_found(d):
    text = f"架空市は{d.year}年{d.month}月{d.day}日、新しい計画を発表した。"
    assert dates.find_in_text(text) == datetime(d.year, d.month, d.day, tzinfo=JST)


_KANJI = "〇一二三四五六七八九"


def _kanji(n: int, positional: bool = False) -> str:
    """2026 → 二〇二六 (digit by digit); 12 → 十二, 30 → 三十, 5 → 五 (with 十)."""
    if positional or n < 10:
        return "".join(_KANJI[int(c)] for c in str(n))
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _KANJI[tens]) + "十" + (_KANJI[ones] if ones else "")


@given(days, st.text(alphabet="、。本日は記事配信 ", max_size=8))
def test_kanji_numeral_dates_read_as_digits_do(d, around):
    """A byline in kanji numerals gives the same date, and its raw text is the original's."""
    written = f"{_kanji(d.year, positional=True)}年{_kanji(d.month)}月{_kanji(d.day)}日"
    text = f"{around}{written}{around}"
    hits = dates.find_all(text)
    assert hits and hits[0].value == datetime(d.year, d.month, d.day, tzinfo=JST), text
    assert hits[0].raw == written and text[hits[0].start:].startswith(written)


def test_kanji_numerals_alone_are_not_dates():
    ref = datetime(2026, 2, 20, tzinfo=JST)
    assert dates.find_all("一日も早く復旧したい。二十日間の工事。", ref=ref) == []
    got = dates.find_all("令和八年二月十二日の会見で、三月一日(日)以降と述べた。", ref=ref)
    assert [h.raw for h in got] == ["令和八年二月十二日", "三月一日(日)"]
    assert [h.value.date() for h in got] == [date(2026, 2, 12), date(2025, 3, 1)]


@given(st.integers(1990, 2099), st.integers(1, 12), st.integers(29, 35))
def test_impossible_days_are_never_dates(year, month, day):
    if day <= calendar.monthrange(year, month)[1]:
        return
    assert dates.parse(f"{year}年{month}月{day}日") is None
    assert dates.parse(f"{year}/{month}/{day}") is None


@given(st.integers(1990, 2099), st.integers(13, 99), st.integers(1, 28))
def test_month_thirteen_and_up_is_never_a_date(year, month, day):
    assert dates.find_in_text(f"{year}年{month}月{day}日 に") is None


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_any_text_gives_none_or_an_aware_datetime(text):
    for got in (dates.parse(text), dates.find_in_text(text, ref=datetime(2026, 2, 14, tzinfo=JST))):
        assert got is None or got.tzinfo is not None


@given(days, st.integers(1, 31))
def test_a_bare_day_is_placed_on_or_before_the_reference(ref_day, day):
    ref = datetime(ref_day.year, ref_day.month, ref_day.day, 12, tzinfo=JST)
    got = dates.parse(f"{day}日", ref=ref)
    if got is None:       # 31日 in a month without one: not guessed
        return
    assert got.day == day
    assert got.date() <= ref.date()
    assert ref.date() - got.date() < timedelta(days=62)


@given(days, st.integers(1, 12), st.integers(1, 28))
def test_a_month_day_is_placed_within_the_year_before_the_reference(ref_day, month, day):
    ref = datetime(ref_day.year, ref_day.month, ref_day.day, tzinfo=JST)
    got = dates.parse(f"{month}月{day}日", ref=ref)
    assert got is not None and (got.month, got.day) == (month, day)
    assert timedelta(0) <= ref - got < timedelta(days=366)


def test_partial_dates_need_a_reference_never_the_clock():
    assert dates.parse("12日") is None
    assert dates.parse("2月12日") is None


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_clamped_dates_are_never_more_than_a_day_ahead(dt):
    now = datetime(2026, 2, 14, tzinfo=UTC)
    got, clamped = dates.clamp(dt, now)
    assert got is not None and got <= now + timedelta(days=1)
    assert clamped == (dt > now + timedelta(days=1))

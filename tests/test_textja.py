from datetime import date, datetime

from matome.extract import JST
from matome.language import find_dates, find_numbers, normalize_with_offsets, split_sentences


def test_sentences_keep_quotes_and_brackets_whole():
    text = "外相は「協力する。必ずだ」と述べた。会合（約20分。オンライン）は終わった。次へ！"
    got = [s.text for s in split_sentences(text)]
    assert got == ["外相は「協力する。必ずだ」と述べた。", "会合（約20分。オンライン）は終わった。",
                   "次へ！"]


def test_sentence_offsets_point_into_the_original():
    text = "  一文目です。\n二文目は https://example.jp/a.b?c=1。 で終わる。"
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text
    assert [s.text for s in split_sentences(text)][1] == "二文目は https://example.jp/a.b?c=1。"


def test_english_sentences_and_abbreviations():
    text = "Mr. Saeki met Dr. Valenti on Feb. 3. They agreed. The U.S. joined."
    got = [s.text for s in split_sentences(text)]
    assert got[0].startswith("Mr. Saeki met Dr. Valenti")
    assert got[-1] == "The U.S. joined."


def test_normalize_keeps_offsets():
    text = "Ｇ７で５５００億ドル"
    norm, offsets = normalize_with_offsets(text)
    assert norm == "G7で5500億ドル"
    assert len(offsets) == len(norm)
    assert text[offsets[norm.index("億")]] == "億"


def test_dates_carry_month_and_bias_to_past():
    pub = datetime(2026, 1, 14, 9, 0, tzinfo=JST)
    text = "米東部時間1月12日(日本時間13日)に会談した。28日にも協議する。"
    days = [d for _s, _e, d in find_dates(text, pub)]
    assert days[:2] == [date(2026, 1, 12), date(2026, 1, 13)]
    # "28日" with no month after an explicit date carries January forward
    assert days[2] == date(2026, 1, 28)
    # a lone day later than the publication day means last month
    only = [d for _s, _e, d in find_dates("30日に発表した。", pub)]
    assert only == [date(2025, 12, 30)]


def test_dates_era_and_slash():
    pub = datetime(2026, 2, 12, tzinfo=JST)
    days = [d for _s, _e, d in find_dates("令和8年2月12日と2026/2/10の件。", pub)]
    assert days == [date(2026, 2, 12), date(2026, 2, 10)]


def test_numbers_with_units_and_ranges():
    got = find_numbers("約5500億ドルを投じ、181億円を計上。支持は47〜87%、会談は約20分間。")
    assert got == ["5500億ドル", "181億円", "47-87%", "20分間"]

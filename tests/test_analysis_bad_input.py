"""Analysis degrades gracefully on text that is not tidy Japanese news."""

from __future__ import annotations

from datetime import datetime

import pytest

from matome.extract import JST
from matome.language import analyze
from matome.records import Article

ASCII_ART = "\n".join([
    "　　 ∧＿∧",
    "　　（　´∀｀）＜　それは違うだろ",
    "　　（　　　　）",
    "　　｜ ｜　|",
    "　　（_＿）＿）",
])
TEXTS = {
    "no Japanese": "Just an English sentence without any Japanese at all. Another one follows.",
    "mixed scripts and emoji":
        "速報🔥G7外相会合🇯🇵🇺🇸 in Rome!! 2026/2/10 23:50 #G7 ＠user さん、どう思う？😂😂",
    "unmatched brackets": "外相は「協力する（と述べ『たが、【会合は終わらず「「「。次の文。",
    "board-thread ASCII art": ASCII_ART + "\n>>12 ソースは？\n>>13 ｷﾀ━━━━(ﾟ∀ﾟ)━━━━!!",
    "one 10,000-character sentence":
        "政府は" + "、".join(["重要鉱物の供給網を強化する"] * 700) + "と発表した。",
    "digits and kanji numerals run together": "一" * 3000 + "1" * 3000 + "年" * 100,
    "only punctuation": "。。。、、、！？「」『』（）" * 200,
    "control characters": "前\x00文\x07字\u200b\ufeff化け\ufffd\ufffdテキスト",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_analysis_survives(name):
    text = TEXTS[name]
    article = Article(id="x", url="https://example.jp/x", title="題", text=text, source="例",
                      lang="ja", published=datetime(2026, 2, 11, 9, tzinfo=JST))
    result = analyze.analyze(article, analyze.gazetteer())
    for s in result.sentences:  # offsets stay inside the text
        assert 0 <= s.start <= s.end <= len(text) and text[s.start:s.end] == s.text
    for m in result.mentions:
        assert 0 <= m.start < m.end <= len(text)
    for t in result.times:
        assert text[t["start"]:t["end"]] == t["text"]

"""The fast paths of textja give exactly what the plain per-character code gave.

``reference_*`` are the earlier implementations, kept here as the oracle:
normalisation and sentence splitting run on every text of every stage, so
they were rewritten for speed and must not change a single offset.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from matome.language import textja
from matome.records import Sentence


def reference_normalize(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    offsets: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        if j < len(text) and text[j] in "\u3099\u309a\uff9e\uff9f":
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        out.append(piece)
        offsets.extend([i] * len(piece))
        i = j
    return "".join(out), offsets


def reference_split(text: str) -> list[Sentence]:
    protected: set[int] = set()
    for m in textja._URL.finditer(text):
        protected.update(range(m.start(), m.end()))
    spans: list[tuple[int, int]] = []
    depth, start, i, n = 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            spans.append((start, i))
            start = i + 1
        elif c in textja._OPEN:
            depth += 1
        elif c in textja._CLOSE:
            depth = max(0, depth - 1)
        elif i not in protected and depth == 0 and (
                c in textja._END_JA or (c == "." and textja._latin_end(text, i))):
            j = i + 1
            while j < n and (text[j] in textja._END_JA or text[j] in textja._CLOSE or text[j] == "."):
                j += 1
            spans.append((start, j))
            start = i = j
            continue
        i += 1
    spans.append((start, n))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Sentence(s, e, text[s:e]))
    return out


# Characters that matter here: full-width forms, half-width kana and their sound marks,
# combining accents, ligatures that NFKC expands (㍻ → 平成), brackets, sentence ends.
PIECES = [
    *"Ｇ７５０ａ。！？!?.「」『』（）()【】\n 　東京都でかがﾊﾞﾊﾟｶﾞｱ㍻㌔①ﬁé",
    "\u3099", "\u309a", "\uff9e", "\uff9f", "\u0301", "\u0308", "e\u0301", "か\u3099",
    "Mr. ", "U.S. ", "3.5", "https://example.jp/a.b?c=1", "。」", "ab", "日本",
]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_normalize_matches_the_per_character_loop(text: str) -> None:
    assert textja.normalize_with_offsets(text) == reference_normalize(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_normalize_matches_on_any_unicode(text: str) -> None:
    assert textja.normalize_with_offsets(text) == reference_normalize(text)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_split_matches_the_per_character_loop(text: str) -> None:
    assert textja.split_sentences(text) == reference_split(text)


def test_expanding_characters_keep_offsets() -> None:
    # ㍻ is two characters after NFKC: both point back at it
    norm, offsets = textja.normalize_with_offsets("㍻3年ﾊﾞｽ")
    assert norm == "平成3年バス"
    assert offsets == [0, 0, 1, 2, 3, 5]  # ﾊﾞ is one unit (half-width ハ + its mark)


def reference_tokens(text: str, sentences: list[Sentence]) -> list[textja.Token]:
    tok = textja._tokenizer()
    return [textja.Token(m.surface(), m.normalized_form(), tuple(m.part_of_speech()),
                         s.start + m.begin(), s.start + m.end(), m.reading_form())
            for s in sentences for m in tok.tokenize(text[s.start:s.end])]


def test_kept_tokens_are_sudachis_with_offsets_into_each_text() -> None:
    text = "  日銀は19日、政策金利を引き上げた。\n植田総裁は「慎重に判断した」と述べた。"
    sentences = textja.split_sentences(text)
    want = reference_tokens(text, sentences)
    assert textja.tokenize(text, sentences) == want
    # the second sentence on its own: the same tokens, offsets from its own start
    second = sentences[1].text
    alone = textja.tokenize(second)
    assert alone == reference_tokens(second, textja.split_sentences(second))
    assert [(t.start + sentences[1].start, t.end + sentences[1].start) for t in alone] == \
        [(t.start, t.end) for t in want if t.start >= sentences[1].start]
    assert textja.tokenize(text, sentences) == want  # read back from what was kept

"""Japanese text basics: normalisation with offsets, sentences, tokens, lemmas.

Dates live in ``temporal``, figures in ``numerals``.

Everything here keeps offsets into the original text, so a citation can
point at the exact span a fact came from.
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from matome.records import Sentence

# --- normalisation -----------------------------------------------------------


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with ``offsets[i]`` = index in ``text`` of output char i.

    Per-character NFKC equals whole-string NFKC except for combining
    sequences (e.g. か + ゛), which are composed here first so they stay one unit.
    """
    if text.isascii():  # NFKC leaves ASCII as it is
        return text, list(range(len(text)))
    # Every analysis step normalises its text, so the common case is made cheap: with
    # no combining mark in the text each character is its own unit, and a table of the
    # characters that change (str.translate, in C) gives the same result as the loop.
    table: dict[int, str] = {}
    for c in set(text):
        piece = _nfkc_char(c)
        if piece is None:
            return _normalize_by_units(text)
        if piece != c:
            table[ord(c)] = piece
    if all(len(p) == 1 for p in table.values()):
        return text.translate(table), list(range(len(text)))
    offsets: list[int] = []
    for i, c in enumerate(text):
        offsets.extend([i] * len(table.get(ord(c), c)))
    return text.translate(table), offsets


_VOICED_MARKS = "\u3099\u309a\uff9e\uff9f"  # (semi-)voiced sound marks, full and half width


@lru_cache(maxsize=65536)
def _nfkc_char(c: str) -> str | None:
    """NFKC of one character; None for a combining mark (it joins the character before it)."""
    if unicodedata.combining(c) or c in _VOICED_MARKS:
        return None
    return unicodedata.normalize("NFKC", c)


def _normalize_by_units(text: str) -> tuple[str, list[int]]:
    """The general case: NFKC of each character with the combining marks that follow it."""
    out: list[str] = []
    offsets: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        if j < len(text) and text[j] in _VOICED_MARKS:
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        out.append(piece)
        offsets.extend([i] * len(piece))
        i = j
    return "".join(out), offsets


def kana_han(text: str) -> tuple[int, int]:
    """Kana and Han characters in the first 2,000 of ``text``: how its script is told."""
    sample = text[:2000]
    return (sum(1 for c in sample if "\u3040" <= c <= "\u30ff"),
            sum(1 for c in sample if "\u4e00" <= c <= "\u9fff"))


def is_japanese(text: str) -> bool:
    kana, han = kana_han(text)
    letters = sum(1 for c in text[:2000] if c.isalpha())
    return letters > 0 and (kana + han) / letters > 0.3


# --- sentences ---------------------------------------------------------------

_OPEN = "「『（(【〔［[《〈"
_CLOSE = "」』）)】〕］]》〉"
_END_JA = "。！？!?"
_URL = re.compile(r"https?://[^\s「」『』（）()<>、。]+")
_SENTENCE_MARKS = re.compile("[\n" + re.escape(_OPEN + _CLOSE + _END_JA) + ".]")
_EN_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|No|U\.S|U\.K|e\.g|i\.e|vs|etc)\.$")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences as spans of ``text``.

    A sentence ends at 。！？ (or . ! ? followed by a space in Latin text) outside
    brackets and quotes, or at a line break; closing brackets right after the
    end mark stay with the sentence. Nothing inside a URL ends a sentence.
    """
    protected: set[int] = set()
    for m in _URL.finditer(text):
        protected.update(range(m.start(), m.end()))
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        # only these characters change anything: jump from one to the next
        found = _SENTENCE_MARKS.search(text, i)
        if found is None:
            break
        i = found.start()
        c = text[i]
        if c == "\n":
            spans.append((start, i))
            start = i + 1
        elif c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth = max(0, depth - 1)
        elif i not in protected and depth == 0 and (
            c in _END_JA or (c == "." and _latin_end(text, i))
        ):
            j = i + 1
            while j < n and (text[j] in _END_JA or text[j] in _CLOSE or text[j] == "."):
                j += 1
            spans.append((start, j))
            start = j
            i = j
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


def _latin_end(text: str, i: int) -> bool:
    if i + 1 < len(text) and not text[i + 1].isspace():
        return False
    if _EN_ABBREV.search(text[max(0, i - 6) : i + 1]):
        return False
    return not (i > 0 and text[i - 1].isdigit() and i + 1 < len(text) and text[i + 1].isdigit())


# --- tokens ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    surface: str
    lemma: str
    pos: tuple[str, ...]
    start: int
    end: int
    reading: str = ""  # Sudachi's reading in katakana


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core")


_PER_THREAD = threading.local()


def _tokenizer() -> Any:
    """This thread's Sudachi tokenizer: a tokenizer keeps state between calls, and a stage may
    run in a thread beside another (``batch.alongside``); the dictionary is shared."""
    tok = getattr(_PER_THREAD, "tokenizer", None)
    if tok is None:
        from sudachipy import SplitMode

        tok = _PER_THREAD.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tok


@lru_cache(maxsize=8192)
def also_common_noun(word: str) -> bool:
    """Whether Sudachi's dictionary also has ``word`` as a common noun (見方: a view, and a
    surname; 森: a forest), whatever it tagged it as in one sentence."""
    return any(m.part_of_speech()[:2] == ("名詞", "普通名詞") for m in _dictionary().lookup(word))


_SUDACHI_MAX = 12000  # characters per call: Sudachi refuses inputs past ~49 KB


def tokenize(text: str, sentences: list[Sentence] | None = None) -> list[Token]:
    """Sudachi (mode C) tokens with offsets into ``text``, one sentence at a time."""
    out: list[Token] = []
    for s in sentences if sentences is not None else split_sentences(text):
        tokens = _sentence_tokens(text[s.start : s.end][:_SUDACHI_MAX])
        if s.start == 0:
            out.extend(tokens)
        else:
            at = s.start
            out.extend([Token(t.surface, t.lemma, t.pos, at + t.start, at + t.end, t.reading)
                        for t in tokens])
    return out


@lru_cache(maxsize=4096)
def _sentence_tokens(chunk: str) -> tuple[Token, ...]:
    """Sudachi's tokens of one sentence, offsets from its start.

    Kept (a few thousand sentences, ~20 MB) because the steps after analysis
    tokenise the same sentences again: tags read titles and leads, and each
    written format builds its story's sentence pool. The strings are interned:
    lemmas, readings and parts of speech repeat across sentences.
    """
    intern = sys.intern
    return tuple([Token(intern(m.surface()), intern(m.normalized_form()), tuple(m.part_of_speech()),
                        m.begin(), m.end(), intern(m.reading_form()))
                  for m in _tokenizer().tokenize(chunk)])


def forget_tokens() -> None:
    """Drop the kept tokens (see ``_sentence_tokens``)."""
    _sentence_tokens.cache_clear()


_STOP_LEMMAS = {
    "為る", "有る", "居る", "成る", "事", "物", "為", "所", "よう", "其れ", "此れ", "方", "等",
    "言う", "行う", "日", "年", "月", "時", "分", "氏", "さん", "中", "後", "前", "今回",
}


def content_lemmas(tokens: list[Token]) -> list[str]:
    """Lemmas of nouns, verbs and adjectives: the lexical evidence of a text."""
    out = []
    for t in tokens:
        major = t.pos[0]
        if major not in {"名詞", "動詞", "形容詞", "形状詞"}:
            continue
        if t.pos[1] in {"数詞", "非自立可能", "助数詞"} or t.lemma in _STOP_LEMMAS:
            continue
        if len(t.lemma) == 1 and not ("\u4e00" <= t.lemma <= "\u9fff"):
            continue
        out.append(t.lemma.lower())
    return out

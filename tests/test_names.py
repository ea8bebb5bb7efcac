"""Romanising readings: the kana tables alone give what pykakasi's full converter gives."""

from __future__ import annotations

import random

import pykakasi

from matome.language import names


def _full(text: str) -> str:
    return "".join(p["hepburn"] for p in pykakasi.kakasi().convert(text))


def test_katakana_readings_romanise_as_the_full_converter_does() -> None:
    rng = random.Random(7)
    letters = [chr(c) for c in range(0x30A1, 0x30FB)] + ["ー"] * 5
    samples = ["ベッセント", "サエキ", "ケンジ", "ヴァレンティ", "ジョー", "キャッチャー", "ンー"]
    samples += ["".join(rng.choice(letters) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    full = pykakasi.kakasi()
    for s in samples:
        assert names.romanise(s) == "".join(p["hepburn"] for p in full.convert(s)), s
    assert names.romanise("ベッセント") == "bessento"


def test_other_text_goes_through_the_full_converter() -> None:
    # hiragana next to katakana and kanji: not what the kana tables alone handle alike
    for s in ("佐伯", "ドッとず", "ロゞほ"):
        assert names.romanise(s) == _full(s)
    assert names.romanise("佐伯") == "saeki"

"""Names across scripts: link 佐伯健司 to "Kenji Saeki" and バレンティ to "Valenti".

An English report of a Japanese event names the same people in Latin
letters. We compare how names sound: the Japanese side through Sudachi's
katakana reading romanised by pykakasi, the Latin side as written, both
reduced to a consonant skeleton that survives the usual transcription
drift (v/b, l/r, doubled consonants, vowels added after consonants in
katakana: ベッセント "bessento" and "Bessent" are both ``bsnt``).

The skeleton rules are ours because no library maps katakana
transcriptions of foreign names back to their Latin spelling; they are
deliberately coarse, so a link is only made when it is unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_DIGRAPHS = (("sh", "s"), ("ch", "t"), ("ts", "t"), ("ph", "f"), ("th", "s"), ("ck", "k"),
             ("qu", "k"), ("x", "ks"))
_LETTERS = str.maketrans({"v": "b", "l": "r", "c": "k", "q": "k", "j": "z", "w": "", "y": "",
                          "h": ""})
_NON_CONSONANT = re.compile(r"[aeiou]|[^a-z]")
_DOUBLE = re.compile(r"(.)\1+")
MIN_SINGLE = 3  # a one-part name must keep at least this many consonants to be linked


@lru_cache(maxsize=16384)  # every Latin name is compared with every Japanese one
def skeleton(word: str) -> str:
    """The consonants of a romanised word, folded for transcription drift."""
    w = word.lower()
    for a, b in _DIGRAPHS:
        w = w.replace(a, b)
    w = _NON_CONSONANT.sub("", w.translate(_LETTERS))
    return _DOUBLE.sub(r"\1", w)


_KATAKANA = re.compile(r"[\u30a1-\u30faー]+")  # katakana letters and the long mark, as Sudachi reads


@lru_cache(maxsize=1)
def _kakasi() -> Any:
    import pykakasi

    return pykakasi.kakasi()


@lru_cache(maxsize=1)
def _kana_tables() -> Any:
    from pykakasi.scripts import IConv

    return IConv()


@lru_cache(maxsize=4096)
def romanise(kana: str) -> str:
    # A katakana reading needs only pykakasi's kana tables (IConv, what its Kakasi does with a
    # katakana run); Kakasi also loads the kanji dictionary, 0.4 s in every process that
    # analyses. Same romaji on all Sudachi readings of the real reports and on 50,000 random
    # katakana strings (tests/test_names.py); anything else still goes through Kakasi.
    if _KATAKANA.fullmatch(kana):
        return str(_kana_tables().convert(kana, kana)["hepburn"])
    return "".join(part["hepburn"] for part in _kakasi().convert(kana))


def fold_roman(word: str) -> str:
    """A romanised word with its spelling drift folded, vowels kept: 'Rubio' = ルビオ 'rubio'."""
    w = word.lower().translate(str.maketrans("vlc", "brk"))
    for a, b in (("ou", "o"), ("oo", "o"), ("uu", "u"), ("ei", "e"), ("ii", "i"), ("aa", "a")):
        w = w.replace(a, b)
    return _DOUBLE.sub(r"\1", re.sub(r"[^a-z]", "", w))


def sound_of_readings(readings: Iterable[str]) -> str:
    """'saeki kenji': a name given as katakana readings of its parts, romanised and folded."""
    parts = [fold_roman(romanise(r)) for r in readings if r and r != "・"]
    return " ".join(p for p in parts if p)


def sound_of_latin(name: str) -> str:
    parts = [fold_roman(w) for w in re.split(r"[\s\-]+", name) if w]
    return " ".join(p for p in parts if p)


def _part_match(j: str, lat: str) -> bool:
    sj, sl = skeleton(j), skeleton(lat)
    # Short skeletons (rb) are common to many names: ask the vowels to agree too.
    return sj == sl and (len(sj) >= MIN_SINGLE or j == lat)


def same_name(japanese: str, latin: str) -> bool:
    """Whether a Japanese name's parts all sound like parts of a Latin name."""
    j, lat = japanese.split(), latin.split()
    if not j or not lat:
        return False
    if len(j) == 1:  # a surname alone: it must be the Latin name's last part
        return _part_match(j[0], lat[-1])
    return all(any(_part_match(p, q) for q in lat) for p in j)

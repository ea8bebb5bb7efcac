"""Numbers in Japanese text: kanji numerals, and figures with units and ranges.

``normalize_numbers`` gives NFKC text with kanji numerals written as digits
where they count something (二〇二六年 → 2026年, 三千人 → 3000人, 十二日 →
12日), with offsets back to the original. ``find_quantities`` reads figures
as value + unit (+ range): 5500億ドル → 5.5e11 ドル, 47〜87% → 47..87 %,
約20分間 → ~20 分間.

Our own code: no maintained library reads Japanese figures with their
scale words (兆・億・万), ranges and hedges (約, 最大) while keeping offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matome.language.textja import normalize_with_offsets

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                 "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_RUN = re.compile(r"[〇零一二三四五六七八九十百千]+")
# A kanji numeral is a number only when something counted follows it.
_COUNTED = re.compile(
    r"(?:年|月|日|時|分|秒|週|世紀|カ月|ヶ月|か月|箇月|人|件|回|万|億|兆|円|倍|歳|割|ドル|ユーロ|"
    r"キロ|メートル|トン|ポイント|社|隻|機|台|棟|カ国|か国|%)")
_WORD_AFTER = {"一時": "午前午後朝夜昼", "十分": "時"}  # 一時 (for a while), 十分 (enough)
# After another kanji a numeral is part of a name (新千歳, 八王子は別) unless that
# kanji is one that introduces or carries a count.
# Names that begin with a numeral and a counter: 千歳 (a city, not 1000 years old).
_NAME_WORDS = ("千歳", "四日市", "五日市", "八日市", "二日市", "十日町", "六日町", "三日月", "一日市")
_COUNT_PREFIX = set("約計第毎各同全総延年月日時分秒午朝夜翌来昨今最超")


def kanji_value(run: str) -> int:
    """二〇二六 → 2026, 三十一 → 31, 千二百 → 1200."""
    if any(c in _KANJI_UNITS for c in run):
        total, digit = 0, 0
        for c in run:
            if c in _KANJI_DIGITS:
                digit = digit * 10 + _KANJI_DIGITS[c]
            else:
                total += (digit or 1) * _KANJI_UNITS[c]
                digit = 0
        return total + digit
    return int("".join(str(_KANJI_DIGITS[c]) for c in run))


def normalize_numbers(text: str) -> tuple[str, list[int]]:
    """NFKC text with counting kanji numerals as digits; ``offsets[i]`` indexes ``text``."""
    norm, offsets = normalize_with_offsets(text)
    out: list[str] = []
    out_offsets: list[int] = []
    last = 0
    for m in _KANJI_RUN.finditer(norm):
        run, start, end = m.group(0), m.start(), m.end()
        before = norm[max(0, start - 2):start]
        if not _COUNTED.match(norm, end) or before.endswith(("数", "何")) \
                or norm.startswith("数", end) or norm.startswith("昨", end):
            continue
        if any(norm.startswith(w, start) for w in _NAME_WORDS):
            continue
        prev = norm[start - 1] if start else ""
        if prev and "\u4e00" <= prev <= "\u9fff" and prev not in _COUNT_PREFIX:
            continue
        pair = run[-1] + norm[end:end + 1]
        if len(run) == 1 and pair in _WORD_AFTER and not (
                before and before[-1] in _WORD_AFTER[pair]):
            continue
        digits = str(kanji_value(run))
        out.append(norm[last:start])
        out_offsets.extend(offsets[last:start])
        out.append(digits)
        out_offsets.extend(offsets[start + min(i, len(run) - 1)] for i in range(len(digits)))
        last = end
    out.append(norm[last:])
    out_offsets.extend(offsets[last:])
    return "".join(out), out_offsets


_SCALE = {"兆": 10**12, "億": 10**8, "万": 10**4, "千": 10**3}
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_AMOUNT = rf"{_NUM}(?:兆|億|万|千)(?:{_NUM}(?:億|万|千))*(?:{_NUM})?|{_NUM}"
_UNITS = ("円|ドル|ユーロ|元|ウォン|ポンド|人|%|件|km|キロメートル|キロ|メートル|トン|カ国|か国|ヵ国|"
          "分間|時間|日間|年間|カ月|ヶ月|倍|ポイント|回|隻|機|台|基|棟|戸|社|校|歳|度|ミリ|センチ|"
          "個|発|隻|本|枚|票|議席|軒|世帯|店舗|品目|bp|ベーシスポイント|割")
_QUANTITY = re.compile(
    rf"(?P<hedge>約|およそ|最大|最小|最高|最低|少なくとも|計|総額|前年比|推定)?\s*"
    rf"(?P<low>{_AMOUNT})\s*(?P<u1>{_UNITS})?\s*"
    # 〜 marks a range; 「0.75%から1.0%へ」 is a change between two figures, not a range
    rf"(?:(?P<rng>[〜~～\-–])\s*(?P<high>{_AMOUNT})\s*(?P<unit>{_UNITS})?)?"
    rf"(?P<tail>超|以上|以下|未満|余り|強|弱|増|減|程度|前後)?"
)
_HEDGES = {"約": "approx", "およそ": "approx", "程度": "approx", "前後": "approx", "余り": "over",
           "強": "over", "弱": "under", "超": "over", "以上": "at_least", "少なくとも": "at_least",
           "以下": "at_most", "未満": "under", "最大": "at_most", "最高": "at_most",
           "最小": "at_least", "最低": "at_least", "増": "increase", "減": "decrease"}


@dataclass
class Quantity:
    start: int
    end: int
    text: str
    value: float
    unit: str
    high: float | None = None    # the top of a range (47〜87%)
    qualifier: str | None = None  # approx, at_most, over, increase ...

    def key(self) -> str:
        """A short normal form for comparing figures across sources: 「5500億ドル」."""
        def fmt(v: float) -> str:
            for word, scale in (("兆", 10**12), ("億", 10**8), ("万", 10**4)):
                if v >= scale and v % (scale // 10000 or 1) == 0:
                    return f"{v / scale:g}{word}"
            return f"{v:g}"
        rng = f"-{fmt(self.high)}" if self.high is not None else ""
        return f"{fmt(self.value)}{rng}{self.unit}"


def amount(s: str) -> float:
    """「1兆2000億」→ 1.2e12; 「3,000」→ 3000."""
    total = 0.0
    for num, scale in re.findall(rf"({_NUM})\s*(兆|億|万|千)?", s):
        total += float(num.replace(",", "")) * _SCALE.get(scale, 1)
    return total


def find_quantities(text: str, normalized: tuple[str, list[int]] | None = None) -> list[Quantity]:
    """Figures that carry a unit or a scale word, with offsets into ``text``
    (``normalized``: ``normalize_numbers(text)``, when the caller has it already)."""
    norm, offsets = normalized or normalize_numbers(text)
    out = []
    for m in _QUANTITY.finditer(norm):
        unit = m.group("unit") or m.group("u1") or ""
        low = m.group("low")
        if not unit and not re.search("[兆億万千]", low):
            continue
        if m.group("high") and m.group("u1") and m.group("unit") and m.group("u1") != m.group("unit"):
            continue  # 「3時間から5日」: two figures, not a range
        start = m.start("hedge") if m.group("hedge") else m.start("low")
        o_start, o_end = offsets[start], offsets[m.end() - 1] + 1
        hedge = m.group("tail") or m.group("hedge")
        out.append(Quantity(
            o_start, o_end, text[o_start:o_end], amount(low), unit,
            amount(m.group("high")) if m.group("high") else None,
            _HEDGES.get(hedge or ""),
        ))
    return out


def find_numbers(text: str) -> list[str]:
    """Normal forms of the figures in ``text``, for checking one text against another."""
    return [q.key() for q in find_quantities(text)]

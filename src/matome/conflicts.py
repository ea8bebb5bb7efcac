"""Where the sources of one story disagree on a figure, say so — never pick one silently.

A figure is compared with the figures other outlets give for the same
thing: the same unit, introduced by the same noun (「投資額は約1200億円」 and
「総投資額は1000億円」 are both about 投資額). Values that agree within a
hedge (約, 程度: 10%) or that a range covers are one claim. Different values
from different outlets make a conflict, with every side cited; when the
sides were published hours apart the conflict says so, as a later count
may simply be newer.

This first version compares figures only; dates, names, titles and who
said what are compared in a later version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from matome import numerals, textja
from matome.records import Analysis, Article

APPROX = 0.10          # 約1200億円 and 1150億円 are the same claim
HOURS_APART = 6.0      # sides this far apart in time may be an update, not a disagreement
MAX_CONFLICTS = 3


@dataclass
class Claim:
    article: str
    source: str
    value: float
    high: float | None
    surface: str       # the figure as the source wrote it
    quote: str         # the sentence it stands in
    published: datetime | None
    approx: bool
    after: frozenset[str]  # nouns right after the figure: what it is a figure *of*


_HIRAGANA = re.compile(r"[\u3041-\u309f]+")
_BETWEEN = frozenset({"は", "が", "も", "を", "約", "およそ", "最大", "計", "総額", "推定", "合わせて",
                      "少なくとも"})
# Nouns too general to say what a figure counts (「こと」「年間」「同期」).
_VAGUE = frozenset({"一時", "終値", "前日", "こと", "もの", "年間", "同期", "前年", "前期", "時点",
                    "会合", "予選", "規模", "ドル", "円", "全体", "合計", "総額", "金額", "数",
                    "人数", "割合", "比率"})


def _anchor(sentence: str, start: int) -> str | None:
    """The noun a figure is the value of: 「死者は2人」→ 死者, 「投資額は約1200億円」→ 投資額.

    Only the noun right before the figure, with at most a particle and a
    hedge between, counts; anything looser compares figures of different
    things and reports disputes that are not there.
    """
    tokens = textja.tokenize(sentence[:start])
    while tokens and tokens[-1].surface in _BETWEEN:
        tokens.pop()
    if not tokens:
        return None
    t = tokens[-1]
    if t.pos[0] != "名詞" or t.pos[1] in {"数詞", "助数詞", "非自立可能"} or len(t.lemma) < 2 \
            or t.lemma in _VAGUE or t.surface.isdigit():
        return None
    return t.lemma


def _after(sentence: str, end: int) -> frozenset[str]:
    """Nouns between a figure and the end of its clause (「以内を移動制限区域に」)."""
    stop = min((i for i in (sentence.find("、", end), sentence.find("。", end)) if i >= 0),
               default=len(sentence))
    # nouns spelt in hiragana are mostly grammar Sudachi misreads (となり → 隣)
    return frozenset(t.lemma for t in textja.tokenize(sentence[end:min(stop, end + 20)])
                     if t.pos[0] == "名詞" and t.pos[1] not in {"数詞", "助数詞"}
                     and not _HIRAGANA.fullmatch(t.surface))


def _comparable(a: Claim, b: Claim) -> bool:
    """Whether two figures are said of the same thing: the same words follow them."""
    if not a.after and not b.after:
        return True
    return len(a.after & b.after) / len(a.after | b.after) >= 0.5


def _same(a: Claim, b: Claim) -> bool:
    lo_a, hi_a = a.value, a.high if a.high is not None else a.value
    lo_b, hi_b = b.value, b.high if b.high is not None else b.value
    if lo_a <= hi_b and lo_b <= hi_a:  # equal, or one range covers the other
        return True
    tolerance = APPROX if (a.approx or b.approx) else 0.0
    big = max(abs(a.value), abs(b.value)) or 1.0
    return abs(a.value - b.value) / big <= tolerance


def find_conflicts(articles: list[Article], analyses: dict[str, Analysis]) -> list[dict[str, Any]]:
    """Figures the story's outlets give differently, each side with its quote."""
    claims: dict[tuple[str, str], list[Claim]] = {}
    for a in articles:
        if a.lang != "ja" or a.id not in analyses:
            continue
        analysis = analyses[a.id]
        # the figures the analysis stage already read, with offsets into the text
        figures = [numerals.Quantity(**q) for q in analysis.quantities]
        for s in analysis.sentences:
            for q in figures:
                if not s.start <= q.start < s.end:
                    continue
                if not q.unit or q.qualifier in {"increase", "decrease"}:
                    continue  # a change (3%増) is not a level to compare
                start, end = q.start - s.start, q.end - s.start
                about = _anchor(s.text, start)
                if about is None:
                    continue
                claims.setdefault((about, q.unit), []).append(Claim(
                    a.id, a.source, q.value, q.high, q.text, s.text, a.published,
                    q.qualifier == "approx", _after(s.text, end)))
    out = []
    for (about, unit), found in sorted(claims.items()):
        sides: list[list[Claim]] = []
        for c in found:
            for side in sides:
                if _same(side[0], c):
                    side.append(c)
                    break
            else:
                sides.append([c])
        outlets = [{c.source for c in side} for side in sides]
        if len(sides) < 2 or len(set().union(*outlets)) < 2:
            continue
        if any(o1 & o2 for i, o1 in enumerate(outlets) for o2 in outlets[i + 1:]):
            continue  # one outlet on both sides: a figure for another thing, not a dispute
        if not all(any(_comparable(x, y) for x in a for y in b)
                   for i, a in enumerate(sides) for b in sides[i + 1:]):
            continue  # said of different things (another zone, another count)
        times = [c.published for side in sides for c in side if c.published]
        apart = bool(times) and (max(times) - min(times)).total_seconds() / 3600 > HOURS_APART
        out.append({
            "kind": "number", "about": about, "unit": unit, "over_time": apart,
            "sides": [[{"article": c.article, "source": c.source, "figure": c.surface,
                        "quote": c.quote,
                        "published": c.published.isoformat() if c.published else None}
                       for c in side] for side in sides],
        })
    return out[:MAX_CONFLICTS]


def sentence(conflict: dict[str, Any]) -> str:
    """「出典により異なる」 in words, naming each outlet and the figure it gives."""
    parts = [f"{side[0]['source']}は{side[0]['figure']}" for side in conflict["sides"]]
    when = "（報道時点が異なる）" if conflict["over_time"] else ""
    return f"出典により異なる{when}: {conflict['about']}について、{'、'.join(parts)}としている。"

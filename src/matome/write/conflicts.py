"""Where the sources of one story disagree, say so — never pick one silently.

Four kinds of disagreement: a figure, a date, a name (who holds an office)
and an attribution (who said a quoted remark).

A figure is compared with the figures other outlets give for the same
thing: the same unit, introduced by the same noun (「投資額は約1200億円」 and
「総投資額は1000億円」 are both about 投資額). Values that agree within a
hedge (約, 程度: 10%) or that a range covers are one claim. Different values
from different outlets make a conflict, with every side cited; when the
sides were published hours apart the conflict says so, as a later count
may simply be newer.

Dates are compared the same way, more strictly: the same noun before the
date and the same words after it (「発効は3月1日から」), since the dates of a
story mostly name different moments. A name conflict is two outlets naming
different people as holder of one office of one organisation (日銀の黒沢誠
総裁 / 日銀の白川誠総裁); an attribution conflict is one quoted remark given
to different speakers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from matome.language import entities, numerals, textja
from matome.records import Analysis, Article, Claim, Conflict, Mention

APPROX = 0.10          # 約1200億円 and 1150億円 are the same claim
HOURS_APART = 6.0      # sides this far apart in time may be an update, not a disagreement
MAX_CONFLICTS = 3


@dataclass
class Reading:
    """A figure, date, name or speaker one sentence of one report gives, before comparison."""

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


def _comparable(a: Reading, b: Reading) -> bool:
    """Whether two figures are said of the same thing: the same words follow them."""
    if not a.after and not b.after:
        return True
    return len(a.after & b.after) / len(a.after | b.after) >= 0.5


def _same(a: Reading, b: Reading) -> bool:
    lo_a, hi_a = a.value, a.high if a.high is not None else a.value
    lo_b, hi_b = b.value, b.high if b.high is not None else b.value
    if lo_a <= hi_b and lo_b <= hi_a:  # equal, or one range covers the other
        return True
    tolerance = APPROX if (a.approx or b.approx) else 0.0
    big = max(abs(a.value), abs(b.value)) or 1.0
    return abs(a.value - b.value) / big <= tolerance


def find_conflicts(articles: list[Article], analyses: dict[str, Analysis]) -> list[Conflict]:
    """Figures the story's outlets give differently, each side with its quote."""
    claims: dict[tuple[str, str], list[Reading]] = {}
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
                claims.setdefault((about, q.unit), []).append(Reading(
                    a.id, a.source, q.value, q.high, q.text, s.text, a.published,
                    q.qualifier == "approx", _after(s.text, end)))
    out = []
    for (about, unit), found in sorted(claims.items()):
        sides: list[list[Reading]] = []
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
        out.append(conflict("figure", about, sides, unit))
    out += (_date_conflicts(articles, analyses) + _name_conflicts(articles, analyses)
            + _attribution_conflicts(articles, analyses))
    return out[:MAX_CONFLICTS]


# a day followed by another that ends the span it opens: 「22日と23日」「18、19両日」「22～23日」
_SPAN_ON = re.compile(r"(?:と|、|,|～|〜|~|-|から)\s*(?:\d{1,2}|[０-９]{1,2})(?:日|両日)")


def _date_conflicts(articles: list[Article], analyses: dict[str, Analysis]) -> list[Conflict]:
    """Days the outlets give differently for the same thing (the same noun before, words after)."""
    claims: dict[str, list[Reading]] = {}
    for a in articles:
        if a.lang != "ja" or a.id not in analyses:
            continue
        an = analyses[a.id]
        for s in an.sentences:
            for t in an.times:
                if t.get("kind") != "date" or not t.get("day") or not s.start <= t["start"] < s.end:
                    continue
                start, end = t["start"] - s.start, t["end"] - s.start
                if _SPAN_ON.match(s.text, end):
                    continue   # 「22日と23日に会合を開き」: the first day of a span, not the event's day
                about = _anchor(s.text, start)
                after = _after(s.text, end)
                if about is None or not after:
                    continue
                day = datetime.fromisoformat(t["day"]).toordinal()
                claims.setdefault(about, []).append(Reading(
                    a.id, a.source, float(day), None, t["text"], s.text, a.published, False, after))
    out = []
    for about, found in sorted(claims.items()):
        sides: dict[float, list[Reading]] = {}
        for c in found:
            sides.setdefault(c.value, []).append(c)
        if len(sides) < 2:
            continue
        groups = list(sides.values())
        outlets = [{c.source for c in g} for g in groups]
        if any(o1 & o2 for i, o1 in enumerate(outlets) for o2 in outlets[i + 1:]):
            continue
        # dates need the same words after them on every side, not merely none
        if not all(any(x.after and y.after and _comparable(x, y) for x in g1 for y in g2)
                   for i, g1 in enumerate(groups) for g2 in groups[i + 1:]):
            continue
        out.append(conflict("date", about, groups))
    return out


def conflict(kind: str, about: str, groups: list[list[Reading]], unit: str = "") -> Conflict:
    """A conflict: every side's claims, each with its outlet, value and the quote saying so."""
    times = [c.published for g in groups for c in g if c.published]
    apart = bool(times) and (max(times) - min(times)).total_seconds() / 3600 > HOURS_APART
    return Conflict(about, kind, [Claim(c.article, c.source, c.quote, c.surface, n)
                                  for n, g in enumerate(groups) for c in g], unit, apart)


def sentence(c: Conflict) -> str:
    """「出典により異なる」 in words, naming each outlet and what it gives."""
    when = "（報道時点が異なる）" if c.over_time else ""
    if c.kind == "attribution":
        parts = [f"{side[0].source}は{side[0].value}の発言" for side in c.sides]
        return f"出典により異なる{when}: 「{c.about}」について、{'、'.join(parts)}としている。"
    parts = [f"{side[0].source}は{side[0].value}" for side in c.sides]
    return f"出典により異なる{when}: {c.about}について、{'、'.join(parts)}としている。"


# --- names and attributions ---------------------------------------------------

# Old and new forms of kanji common in names (黒澤 = 黒沢): spellings of one
# name, not two people. A short table of our own: no library in the
# dependencies folds itaiji, and names need only these.
_ITAIJI = str.maketrans("澤邊邉髙﨑齋齊濱廣德櫻龍國眞嶋島塚", "沢辺辺高崎斎斉浜広徳桜竜国真島島塚")
_SAID = re.compile(r"^と(?:述べ|語っ|語り|話し|話す|強調|説明|指摘|明らかに|訴え|表明|発言|"
                   r"コメント|記者団に|記者会見)")
_QUOTE = re.compile(r"「([^「」]{8,})」")


def _person_key(name: str) -> str:
    return entities.fold(name).translate(_ITAIJI)


def _name_conflicts(articles: list[Article], analyses: dict[str, Analysis]) -> list[Conflict]:
    """Different people named as holder of one office of one organisation, by different outlets."""
    claims: dict[tuple[str, str], list[Reading]] = {}
    for a in articles:
        if a.lang != "ja" or a.id not in analyses:
            continue
        an = analyses[a.id]
        ms = sorted(an.mentions, key=lambda m: m.start)
        for i, m in enumerate(ms):
            office = entities.OFFICE_AFTER.match(a.text[m.end:m.end + 8]) if m.kind == "person" else None
            org = ms[i - 1] if i else None
            # 「日銀の黒沢誠総裁」: the organisation right before, joined by の
            if office is None or org is None or org.kind != "organization" \
                    or a.text[org.end:m.start] != "の":
                continue
            s = next((x for x in an.sentences if x.start <= m.start < x.end), None)
            if s is None:
                continue
            claims.setdefault((org.key, office.group(0)), []).append(Reading(
                a.id, a.source, 0.0, None, m.surface, s.text, a.published, False,
                frozenset({_person_key(m.name)})))
    out = []
    for (org_key, office_name), found in sorted(claims.items()):
        groups = _by_person(found)
        outlets = [{c.source for c in g} for g in groups]
        if len(groups) < 2 or any(o1 & o2 for i, o1 in enumerate(outlets) for o2 in outlets[i + 1:]):
            continue
        org_name = next((m.surface for a in articles if a.id in analyses
                         for m in analyses[a.id].mentions if m.key == org_key), org_key)
        out.append(conflict("name", f"{org_name}の{office_name}", groups))
    return out


def _by_person(readings: list[Reading]) -> list[list[Reading]]:
    """Readings grouped by the person they name. 植田 and 植田和男 are one person: a surname
    joins the full name it starts (「日銀の植田総裁」 and 「日銀の植田和男総裁」 do not disagree)."""
    by: dict[str, list[Reading]] = {}
    for c in readings:
        key = next(iter(c.after))
        match = next((k for k in by if k.startswith(key) or key.startswith(k)), key)
        by.setdefault(match, []).append(c)
    return list(by.values())


def _speaker(start: int, mentions: list[Mention]) -> Mention | None:
    """Who says the quote opening at ``start``: the last person named before it in the sentence."""
    before = [m for m in mentions if m.kind == "person" and m.end <= start]
    return before[-1] if before else None


def _same_quote(a: str, b: str) -> bool:
    a, b = textja.nfkc(a), textja.nfkc(b)
    if a in b or b in a:
        return True
    grams = lambda x: {x[i:i + 2] for i in range(len(x) - 1)}  # noqa: E731
    ga, gb = grams(a), grams(b)
    return len(ga & gb) / max(1, len(ga | gb)) >= 0.6


def _attribution_conflicts(articles: list[Article],
                           analyses: dict[str, Analysis]) -> list[Conflict]:
    """One quoted remark given to different speakers by different outlets."""
    said: list[tuple[str, Reading]] = []  # (the remark, who said it)
    for a in articles:
        if a.lang != "ja" or a.id not in analyses:
            continue
        an = analyses[a.id]
        for s in an.sentences:
            local = [Mention(m.key, m.name, m.kind, m.surface, m.start - s.start, m.end - s.start)
                     for m in an.mentions if s.start <= m.start < s.end]
            for q in _QUOTE.finditer(s.text):
                if not _SAID.match(s.text[q.end():]):
                    continue
                who = _speaker(q.start(), local)
                if who is None:
                    continue
                office = entities.OFFICE_AFTER.match(s.text[who.end:who.end + 8])
                said.append((q.group(1), Reading(
                    a.id, a.source, 0.0, None, who.surface + (office.group(0) if office else ""),
                    s.text, a.published, False, frozenset({_person_key(who.name)}))))
    out = []
    used: set[int] = set()
    for i, (remark, _first) in enumerate(said):
        if i in used:
            continue
        same = [j for j in range(i, len(said)) if j not in used and _same_quote(remark, said[j][0])]
        used.update(same)
        groups = _by_person([said[j][1] for j in same])
        outlets = [{c.source for c in g} for g in groups]
        if len(groups) < 2 or any(o1 & o2 for k, o1 in enumerate(outlets) for o2 in outlets[k + 1:]):
            continue
        shortest = min((said[j][0] for j in same), key=len)
        out.append(conflict("attribution", shortest, groups))
    return out

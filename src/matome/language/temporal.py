"""Time expressions in Japanese news: found, normalised, resolved.

Each expression gets two values:

- ``value``: what the text itself says, in TIMEX3 style with unknown parts
  as X (「7月18日」→ ``XXXX-07-18``, 「午後8時」→ ``T20-XX-XX``, 「3日前」→
  ``P3D``), comparable with other taggers;
- ``resolved``: the calendar meaning against the article's publication time
  — year and month carried over from the expression before it (「1月12日
  (日本時間13日)」), 昨年/来年 applied, 和暦 and 年度 converted, a past
  bias for news (a date that would lie in the future of a past-tense report
  moves back a year or a month), and an explicit time zone kept as an offset.

Why our own: ja-timex finds the expressions well but resolves several
wrongly for news (month carry-over, 昨年6月, past bias) and knows nothing
of 年度 as a span; the patterns here are small, and every rule has a
golden case in tests/golden/temporal_cases.json.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from matome.language.numerals import normalize_numbers
from matome.language.scan import Scanner
from matome.language.temporal_patterns import (
    _ANCHORED,
    _DATE,
    _ERAS,
    _FISCAL,
    _MODS,
    _NAMED,
    _NAMED_RE,
    _PAST_CLAUSE,
    _QUARTER,
    _QUOTATIVE,
    _SEASON,
    _SEASONS,
    _SET,
    _SET_UNIT,
    _SPAN,
    _TIME,
    _UNIT_CODE,
    _WD,
    _WEEKDAY_ONLY,
    JST,
    ZONES,
)


@dataclass
class TimeExpr:
    """One time expression: its span in the original text and what it means."""

    start: int
    end: int
    text: str
    kind: str            # date | time | duration | relative | fiscal | season | quarter | set
    value: str           # TIMEX3 style, unresolved: 2026-02-12, XXXX-07-18, T20-XX-XX, P3D, FY2026
    mod: str | None = None
    resolved: str | None = None  # against the reference: 2026-02-12, 2026-01-12T20:00-05:00, 2025
    day: date | None = None      # the calendar day meant, when one is
    tz: str | None = None
    freq: str | None = None   # for a set: how often in the period (1X, P3D)
    quant: str | None = None  # for a set: EACH (毎月) or EVERY (3日おき)


def find_times(text: str, ref: datetime | None = None,
               normalized: tuple[str, list[int]] | None = None) -> list[TimeExpr]:
    """Every time expression in ``text``, in order, resolved against ``ref`` when given.

    ``normalized`` is ``normalize_numbers(text)`` when the caller has it already
    (the analysis normalises each article once for dates and figures alike).
    """
    norm, offsets = normalized or normalize_numbers(text)
    raw = _scan(norm)
    out: list[TimeExpr] = []
    ctx = _Context(ref)
    for start, end, kind, m in raw:
        expr = _BUILDERS[kind](m, norm, ctx)
        o_start = offsets[start] if start < len(offsets) else len(text)
        o_end = offsets[end - 1] + 1 if end - 1 < len(offsets) else len(text)
        expr.start, expr.end, expr.text = o_start, o_end, text[o_start:o_end]
        out.append(expr)
    return out


def find_dates(text: str, published: datetime | None) -> list[tuple[int, int, date]]:
    """(start, end, day) of the expressions that name one calendar day."""
    return [(e.start, e.end, e.day) for e in find_times(text, published)
            if e.day is not None and e.kind == "date"]


# --- scanning ----------------------------------------------------------------

_ORDER = [("set", _SET), ("fiscal", _FISCAL), ("season", _SEASON), ("quarter", _QUARTER),
          ("named", _NAMED_RE), ("date", _DATE), ("time", _TIME), ("span", _SPAN), ("weekday", _WEEKDAY_ONLY)]


_SCANNERS = [(kind, Scanner(pattern)) for kind, pattern in _ORDER]


def _scan(norm: str) -> list[tuple[int, int, str, re.Match[str]]]:
    """Matches of every pattern, longest first where they overlap."""
    cands = []
    for kind, scanner in _SCANNERS:
        for m in scanner.finditer(norm):
            if m.end() > m.start() and _meaningful(kind, m):
                cands.append((m.start(), m.end(), kind, m))
    cands.sort(key=lambda c: (c[0], -(c[1] - c[0])))
    out = []
    until = -1
    for c in cands:
        if c[0] >= until:
            out.append(c)
            until = c[1]
    return out


def _meaningful(kind: str, m: re.Match[str]) -> bool:
    if kind == "span":
        if not (m.group("n") or m.group("pre") in {"半", "四半"}):
            return False
        # 「3日」 alone is a date; a span needs 間, 前/後, ぶり, or a unit that is never a date
        return bool(m.group("dir") or m.group("half") or m.group("q") or m.group("n2")
                    or m.group("u") in {"時間", "週間", "カ月", "ヶ月", "か月", "ケ月", "箇月", "世紀"}
                    or (m.group("u") == "年" and len(m.group("n") or "") <= 2))
    if kind == "date":
        if m.group("y") and not (m.group("m") or m.group("ad")) and len(m.group("y")) < 3:
            return False  # 「5年」 is a span, not the year 5
        if m.group("sy") and m.group("sep") == "," and not m.group("sd"):
            return False  # 「2021,7」 is a list of numbers
        month = m.group("em") or m.group("em2") or m.group("m") or m.group("sm") \
            or m.group("m2") or m.group("m3")
        day = m.group("ed") or m.group("ed2") or m.group("d") or m.group("sd") \
            or m.group("d2") or m.group("d3") or m.group("d4")
        return not ((month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31))
    if kind == "set" and m.group("ku") == "月":
        return m.group("ni") is not None  # 年に1月; 年7月 is a date's tail

    if kind == "time":
        h = m.group("h") or m.group("h2")
        return h is not None and int(h) <= 30
    return True


# --- building ----------------------------------------------------------------


class _Context:
    """What resolution carries from one expression to the next."""

    def __init__(self, ref: datetime | None) -> None:
        self.ref = ref
        self.ref_day = ref.date() if ref else None
        self.last: date | None = None        # the last calendar day mentioned
        self.last_year: int | None = None
        self.last_month: int | None = None
        self.last_tz: str | None = None
        self.last_ap: str | None = None


def _x(n: int | None, width: int) -> str:
    return "X" * width if n is None else f"{n:0{width}d}"


def _date(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    g = m.groupdict()
    y: int | None = None
    if g["bc"]:
        return TimeExpr(0, 0, "", "date", f"BC{int(g['bcy']):04d}", _mod(g))
    if g["era"]:
        y = _ERAS[g["era"]] + (1 if g["ey"] == "元" else int(g["ey"]))
        mo, d = _int(g["em"] or g["em2"]), _int(g["ed"] or g["ed2"])
    elif g["y"]:
        y = int(g["y"]) - (660 if g["ad"] == "皇紀" else 0)
        mo, d = _int(g["m"]), _int(g["d"])
    elif g["sy"]:
        y, mo, d = int(g["sy"]), _int(g["sm"]), _int(g["sd"])
    else:
        mo, d = _int(g["m2"] or g["m3"]), _int(g["d2"] or g["d3"] or g["d4"])
    value = f"{_x(y, 4)}-{_x(mo, 2)}-{_x(d, 2)}"
    expr = TimeExpr(0, 0, "", "date", value, _mod(g), tz=g["tz"])
    _resolve_date(expr, y, mo, d, _int_wd(g["wd"]), norm, m.end(), ctx)
    return expr


def _resolve_date(expr: TimeExpr, y: int | None, mo: int | None, d: int | None,
                  wd: int | None, norm: str, end: int, ctx: _Context) -> None:
    ref = ctx.ref_day
    carried = False
    if y is None:
        # A lone day takes the month of the full date before it (1月12日(日本時間
        # 13日)); not of a bare month (「2月上旬に…20日明らかにした」), and not
        # when it is smaller (「1月29日の判決を不服として10日控訴」 is February).
        last = ctx.last
        if mo is None and last is not None and (d is None or d >= last.day or ref is None):
            y, mo, carried = last.year, last.month, True
        elif mo is not None and ctx.last_year is not None:
            y, carried = ctx.last_year, True
        elif ref is not None:
            y = ref.year
            if mo is None:
                mo = ref.month
    if y is None:
        return
    if mo is None:
        expr.resolved = f"{y:04d}"
        ctx.last_year = y
        return
    if d is None:
        expr.resolved = f"{y:04d}-{mo:02d}"
        ctx.last_year, ctx.last_month = y, mo
        return
    day = safe_date(y, mo, d)
    if day is None:
        return
    if not carried and ref is not None and expr.value.startswith("XXXX") and day > ref:
        past = past_clause(norm, end)
        if expr.value.startswith("XXXX-XX") and past:  # 「30日に発表した」 in early March
            prev = (ref.replace(day=1) - timedelta(days=1))
            day = safe_date(prev.year, prev.month, d) or day
        elif past or (day - ref).days > 183:
            day = safe_date(y - 1, mo, d) or day
    if wd is not None and day.weekday() != wd:
        day = _match_weekday(day, wd) or day
    expr.day = day
    expr.resolved = day.isoformat()
    ctx.last, ctx.last_year, ctx.last_month = day, day.year, day.month
    if expr.tz:
        ctx.last_tz = expr.tz


def _match_weekday(day: date, wd: int) -> date | None:
    """The same day-of-month in a neighbouring month that falls on the weekday written."""
    for months in (-1, 1, -12, 12):
        y, mo = divmod(day.year * 12 + day.month - 1 + months, 12)
        cand = safe_date(y, mo + 1, day.day)
        if cand and cand.weekday() == wd:
            return cand
    return None


def _time(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    g = m.groupdict()
    h = int(g["h"] or g["h2"])
    mi = _int(g["mi"] or g["mi2"])
    s = _int(g["s"] or g["s2"])
    if g["half"]:
        mi = 30
    ap = g["ap"] or (g["ap2"] or "").upper() or None
    if ap == "同":  # 午後1時半から同3時半: the same half of the day as before
        ap = ctx.last_ap
    ctx.last_ap = ap
    if ap in {"午後", "PM", "夕方", "夜", "今夜", "今晩"} and h < 12:
        h += 12
    elif (ap in {"深夜", "夜中", "未明"} and h == 12) or (ap in {"午前", "AM"} and h == 12):
        h = 0
    value = f"T{h:02d}-{_x(mi, 2)}-{_x(s, 2)}"
    tz_label = g["tz"] or ctx.last_tz
    expr = TimeExpr(0, 0, "", "time", value, tz=g["tz"])
    adjacent = ctx.last is not None and norm[max(0, m.start() - 6):m.start()].rstrip().endswith(
        ("日", ")", "）", "曜", "曜日"))
    if ctx.last is not None and adjacent and h < 24:
        zone = ZONES.get(tz_label or "", JST if tz_label is None else None)
        stamp = datetime.combine(ctx.last, time(h, mi or 0, s or 0))
        if zone is not None:
            stamp = stamp.replace(tzinfo=zone)
        expr.resolved = stamp.isoformat(timespec="minutes")
        expr.day = ctx.last
    return expr


def _span(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    g = m.groupdict()
    unit, mult = _UNIT_CODE[g["u"]]
    n = float(g["n"]) if g["n"] else 1.0
    if g["pre"] == "半":
        n *= 0.5
    elif g["pre"] == "四半":
        n *= 0.25
    if g["half"]:
        n += 0.5
    n *= mult
    value = _duration(n, unit)
    if g["n2"]:
        unit2 = "MIN" if g["u2"] == "分" else "S"
        value += _duration(float(g["n2"]), unit2).removeprefix("PT")
    direction = g["dir"]
    mod = _MODS.get(g["q"] or "") or (_MODS.get("約") if g["pre"] == "約" else None)
    kind = "relative" if direction in {"前", "まえ", "後"} else "duration"
    if kind == "relative" and mod is None:  # TIMEX3: 3日前 is BEFORE now, 3日後 AFTER
        mod = "AFTER" if direction == "後" else "BEFORE"
    expr = TimeExpr(0, 0, "", kind, value, mod)
    if kind == "relative" and ctx.ref_day and unit in {"D", "W", "M", "Y"} and n == int(n):
        sign = 1 if direction in {"前", "まえ"} else -1
        day = _shift(ctx.ref_day, unit, int(n) * sign)
        expr.resolved = _as_unit(day, unit)
        if unit == "D":
            expr.day = day
    return expr


def _set(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    g = m.groupdict()
    if g["each"]:
        unit, _ = _SET_UNIT[g["each"]]
        return TimeExpr(0, 0, "", "set", _duration(1, unit), quant="EACH")
    if g["n"]:
        unit, mult = _UNIT_CODE[g["u"]]
        return TimeExpr(0, 0, "", "set", _duration(float(g["n"]) * mult, unit), quant="EVERY")
    if g["pn"]:
        period, k, ku = _duration(float(g["pn"]), "D"), float(g["k2"]), g["ku2"]
    else:
        period, k, ku = _duration(1, _SET_UNIT[g["pu"]][0]), float(g["k"]), g["ku"]
    if ku in {"回", "度"}:
        freq = f"{k:g}X"
    else:
        code, mult = _UNIT_CODE.get(ku, _UNIT_CODE["カ月"])  # 年に1月: one month a year
        freq = _duration(k * mult, code)
    return TimeExpr(0, 0, "", "set", period, freq=freq)


def _duration(n: float, unit: str) -> str:
    num = f"{n:g}"
    if unit in {"H", "MIN", "S"}:
        return f"PT{num}{'M' if unit == 'MIN' else unit}"
    return f"P{num}{unit}"


def _named(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    g = m.groupdict()
    word = g["w"]
    anchored = word in _ANCHORED
    unit, back = (_ANCHORED if anchored else _NAMED)[word]
    mo, d = _int(g["m"]), _int(g["d"] or g["d2"])
    base = ctx.last if anchored else ctx.ref_day
    if mo is None and d is None:
        direction = "NOW" if back == 0 else ("BEFORE" if back > 0 else "AFTER")
        expr = TimeExpr(0, 0, "", "relative", f"P{abs(back)}{unit}", _mod(g) or direction)
        if base is not None:
            day = _shift(base, unit, back)
            expr.resolved = _as_unit(day, unit)
            if unit == "D":
                expr.day = day
                ctx.last, ctx.last_year, ctx.last_month = day, day.year, day.month
        return expr
    # 昨年6月, 来年3月10日, 今月15日: the word fixes the year or month, the rest the day
    expr = TimeExpr(0, 0, "", "date", f"XXXX-{_x(mo, 2)}-{_x(d, 2)}", _mod(g))
    if base is None:
        return expr
    shifted = _shift(base, unit, back)
    y = shifted.year
    month = mo if mo is not None else shifted.month
    if d is None:
        expr.resolved = f"{y:04d}-{month:02d}"
        ctx.last_year, ctx.last_month = y, month
        return expr
    found = safe_date(y, month, d)
    if found is not None:
        expr.day, expr.resolved = found, found.isoformat()
        ctx.last, ctx.last_year, ctx.last_month = found, found.year, found.month
    return expr


def _fiscal(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    """年度: Japan's fiscal year, April to March."""
    g = m.groupdict()
    y: int | None = None
    if g["y"]:
        y = int(g["y"])
    elif g["era"]:
        y = _ERAS[g["era"]] + (1 if g["ey"] == "元" else int(g["ey"]))
    elif ctx.ref_day is not None:
        current = ctx.ref_day.year if ctx.ref_day.month >= 4 else ctx.ref_day.year - 1
        y = current + {"今": 0, "本": 0, "新": 0, "来": 1, "再来": 2, "昨": -1, "前": -1}[g["rel"]]
    value = f"FY{_x(y, 4)}"
    expr = TimeExpr(0, 0, "", "fiscal", value)
    if y is not None:
        expr.resolved = f"{y:04d}-04-01/{y + 1:04d}-03-31"
    return expr


def _season(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    return TimeExpr(0, 0, "", "season", f"{m.group('y')}-{_SEASONS[m.group('s')]}")


def _quarter(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    y = m.group("y") or "XXXX"
    part = f"Q{m.group('q')}" if m.group("q") else ("H1" if m.group("h") == "上" else "H2")
    return TimeExpr(0, 0, "", "quarter", f"{y}-{part}")


def _weekday(m: re.Match[str], norm: str, ctx: _Context) -> TimeExpr:
    # the pattern needs 曜 after the day character: a lone 月 or 日 never gets here
    return TimeExpr(0, 0, "", "date", f"XXXX-WXX-{_WD[m.group('wd')] + 1}")


# --- helpers -----------------------------------------------------------------


def _int(s: str | None) -> int | None:
    return int(s) if s else None


def _int_wd(s: str | None) -> int | None:
    return _WD[s] if s else None


def _mod(g: dict[str, str | None]) -> str | None:
    return _MODS.get(g.get("mod") or "")


def safe_date(y: int, mo: int, d: int) -> date | None:
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _shift(day: date, unit: str, back: int) -> date:
    if unit == "D":
        return day - timedelta(days=back)
    if unit == "W":
        return day - timedelta(weeks=back)
    months = day.year * 12 + day.month - 1 - (back * 12 if unit == "Y" else back)
    y, mo = divmod(months, 12)
    return date(y, mo + 1, min(day.day, calendar.monthrange(y, mo + 1)[1]))


def _as_unit(day: date, unit: str) -> str:
    if unit == "Y":
        return f"{day.year:04d}"
    if unit == "M":
        return f"{day.year:04d}-{day.month:02d}"
    if unit == "W":
        iso = day.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    return day.isoformat()


def past_clause(norm: str, end: int) -> bool:
    """Whether the clause after ``end`` is told in the past tense (「…を発表した。」「…に公表された」)."""
    stop = min((i for i in (norm.find("。", end), norm.find("、", end), norm.find("\n", end))
                if i >= 0), default=len(norm))
    clause = norm[end:stop]
    if (q := _QUOTATIVE.search(clause)) is not None:
        clause = clause[:q.start() + 1]
    return bool(_PAST_CLAUSE.search(clause))


_BUILDERS = {"set": _set, "date": _date, "time": _time, "span": _span, "named": _named,
             "fiscal": _fiscal, "season": _season, "quarter": _quarter, "weekday": _weekday}

"""Days named in English reports: "on Friday", "Feb. 13", "13 February 2026", "yesterday".

An English wire report dates its event by weekday ("agreed on Thursday"),
not by the day of the month as Japanese reports do (「5日」), so without
this an English report of an event covered in Japanese names no day, and
grouping loses its strongest evidence across languages: the same day, or
days apart. ``temporal`` reads Japanese; no offline English tagger with
resolution ships here (ja-timex is Japanese only), and the forms news uses
are few, so they are matched here.

A weekday is the latest such day up to publication ("on Friday" in a report
of Friday evening is that Friday), or the next one when the sentence speaks
of what will happen ("will meet on Thursday"). A month and day without a
year take the year that puts them nearest to publication.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from matome.language.temporal import TimeExpr, safe_date

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH = (r"(?P<{g}>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?"
          r"|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY_OF_MONTH = re.compile(
    r"\b(?:" + _MONTH.format(g="m1") + r"\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?"
    r"(?:\s*[-\u2013\u2014]\s*(?P<e1>\d{1,2})(?:st|nd|rd|th)?)?(?:,?\s+(?P<y1>(?:19|20)\d{2}))?"
    r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH.format(g="m2") + r"(?:,?\s+(?P<y2>(?:19|20)\d{2}))?)\b")
_WEEKDAY = re.compile(r"\b(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_RELATIVE = re.compile(r"\b(?P<rel>yesterday|today|tomorrow)\b", re.IGNORECASE)
# what a sentence says will happen: its weekday is ahead, not behind
_FUTURE = re.compile(r"\b(?:will|would|is to|are to|to be held|scheduled|plans? to|set to|next)\b",
                     re.IGNORECASE)
_SENTENCE_START = re.compile(r"[.!?]\s+|\n")


def find_times(text: str, ref: datetime | None) -> list[TimeExpr]:
    """Day expressions in English text, in order; resolved (``day``) against ``ref`` when needed."""
    today = ref.date() if ref is not None else None
    out: list[TimeExpr] = []
    taken: list[tuple[int, int]] = []
    for m in _DAY_OF_MONTH.finditer(text):
        month = _MONTHS[(m.group("m1") or m.group("m2"))[:3].lower()]
        # a span of days ("Dec. 18-19", a two-day meeting) is dated by its last: the decision
        day_of_month = int(m.group("e1") or m.group("d1") or m.group("d2"))
        year = m.group("y1") or m.group("y2")
        day = safe_date(int(year), month, day_of_month) if year else _nearest(month, day_of_month, today)
        value = day.isoformat() if year and day else f"XXXX-{month:02d}-{day_of_month:02d}"
        if day is not None or (today is None and not year and safe_date(2024, month, day_of_month)):
            # undated, "Dec. 19" is still a partial day (XXXX-12-19), as 「19日」 is in Japanese:
            # it tells the report's event apart from a look-alike's
            out.append(_expr(m, day, value))
            taken.append(m.span())
    for m in _WEEKDAY.finditer(text):
        if today is None or any(a <= m.start() < b for a, b in taken):
            continue
        wd = _WEEKDAYS.index(m.group("wd").lower())
        sentence = text[_sentence_start(text, m.start()):m.start()]
        ahead = bool(_FUTURE.search(sentence))
        shift = (wd - today.weekday()) % 7 if ahead else -((today.weekday() - wd) % 7)
        if (day := _plus(today, shift)) is not None:
            out.append(_expr(m, day, f"XXXX-WXX-{wd + 1}"))
    for m in _RELATIVE.finditer(text):
        if today is not None:
            step = {"yesterday": -1, "today": 0, "tomorrow": 1}[m.group("rel").lower()]
            if (day := _plus(today, step)) is not None:
                out.append(_expr(m, day, f"P{abs(step)}D" if step else "PRESENT_REF", kind="relative"))
    return sorted(out, key=lambda e: e.start)


def _expr(m: re.Match[str], day: date | None, value: str, kind: str = "date") -> TimeExpr:
    return TimeExpr(m.start(), m.end(), m.group(0), kind, value,
                    resolved=day.isoformat() if day else None, day=day)


def _plus(day: date, days: int) -> date | None:
    """``day`` moved by ``days``, or None past the calendar's ends (a page dated year 1 or 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _nearest(month: int, day: int, today: date | None) -> date | None:
    """The month and day in the year that puts them nearest to ``today``."""
    if today is None:
        return None
    options = [d for y in (today.year - 1, today.year, today.year + 1) if (d := safe_date(y, month, day))]
    return min(options, key=lambda d: abs((d - today).days), default=None)


def _sentence_start(text: str, at: int) -> int:
    starts = [m.end() for m in _SENTENCE_START.finditer(text, max(0, at - 300), at)]
    return starts[-1] if starts else max(0, at - 300)

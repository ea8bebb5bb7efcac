"""Event days as clustering compares them: full dates, and the partial days of undated reports.

A report with no publication date that names only 「８日」 still tells its
event from a look-alike's 「５日」. Its day is kept partial — (month, or 0
when not named; day of month) — and compared by the parts both sides know.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import TypeVar

_T = TypeVar("_T")

Partial = tuple[int, int]


def read_days(event_days: list[str]) -> tuple[frozenset[date], frozenset[Partial]]:
    """An analysis's event days (``2025-10-30``, ``XXXX-XX-05``, ``XXXX-10-30``): full dates,
    and partial days as (month or 0, day of month)."""
    full = frozenset(date.fromisoformat(d) for d in event_days if not d.startswith("X"))
    partial = frozenset((0 if d[5:7] == "XX" else int(d[5:7]), int(d[8:10]))
                        for d in event_days if d.startswith("X"))
    return full, partial


def day_gap(a: date | Partial, b: date | Partial) -> int:
    """Days between two event days, where either may be partial (month 0: not named).

    A partial day is read as the nearest day that fits it: 「８日」 beside a
    story of 2025-12-09 is 12-08, one day off; beside 「７日」 one day off too.
    """
    if isinstance(a, date) and isinstance(b, date):
        return abs((a - b).days)
    if isinstance(a, date):
        a, b = b, a
    assert not isinstance(a, date)
    month, day = a
    if isinstance(b, date):
        near = [b.replace(day=1) + timedelta(days=31 * k) for k in (-1, 0, 1)]
        tries = [(y, month) for y in (b.year - 1, b.year, b.year + 1)] if month \
            else [(n.year, n.month) for n in near]
        fits = [d for y, m in tries if (d := _safe(y, m, day)) is not None]
        return min((abs((d - b).days) for d in fits), default=0)
    other_month, other_day = b
    if month and other_month:  # both months named: a leap year holds every day
        x, y = _safe(2024, month, day), _safe(2024, other_month, other_day)
        if x is None or y is None:
            return 0
        return min(abs((x - y).days), 366 - abs((x - y).days))
    apart = abs(day - other_day)
    return min(apart, 31 - apart)  # 「31日」 and 「1日」 can be neighbours across a month's turn


def _safe(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def top_days(counts: Counter[_T]) -> set[_T]:
    """The days most reports name: one stray report does not move the event."""
    if not counts:
        return set()
    top = max(counts.values())
    return {d for d, c in counts.items() if c * 2 >= top}

"""Small inline SVG charts: who reported a story when, and when a theme's stories began.

Plain SVG with escaped text (no script), sized by viewBox so they scale on a phone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from html import escape

from matome.site.readmodel import JST, StoryView
from matome.store import site_index


def jdate(dt: datetime | None) -> str:
    if dt is None:
        return ""
    local = dt.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


def coverage_svg(story: StoryView) -> str:
    """Which outlet reported when: one row per outlet, one dot per report."""
    dated = [a for a in story.articles if a.published]
    if not dated:
        return ""
    outlets = sorted({a.source for a in dated})
    t0 = min(a.published.timestamp() for a in dated if a.published)
    t1 = max(a.published.timestamp() for a in dated if a.published)
    span = max(t1 - t0, 3600.0)
    width, left, row = 640, 150, 22
    height = row * len(outlets) + 30
    parts = [f'<svg class="coverage" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="媒体別の報道時刻">']
    for i, outlet in enumerate(outlets):
        y = 14 + i * row
        parts.append(f'<text x="0" y="{y + 4}">{escape(outlet[:12])}</text>'
                     f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#d9dce1"/>')
        for a in dated:
            if a.source == outlet and a.published:
                x = left + (a.published.timestamp() - t0) / span * (width - left - 20)
                parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="#0b57a4">'
                             f'<title>{escape(a.title)} {escape(jdate(a.published))}</title></circle>')
    first = min(a.published for a in dated if a.published)
    parts.append(f'<text x="{left}" y="{height - 4}">{escape(jdate(first))}</text>')
    parts.append("</svg>")
    return "".join(parts)


MAX_BARS = 92  # a theme's timeline: bars of 6 px at the least across its 620


def timeline_svg(days: dict[date, int]) -> str:
    """A theme's timeline: one bar per day, as tall as the stories that began that day; per
    week, month or year once its days would pass ``MAX_BARS`` bars. A bar per day of a
    theme followed for years was a chart of a thousand bars, each under a pixel wide, and a
    tag's front page, rewritten whenever a story joins it, grew by 120 KB a year."""
    if not days:
        return ""
    first, last = min(days), max(days)
    unit, place, label = _scale(first, last)
    bins: Counter[int] = Counter()
    for d, count in days.items():
        bins[place(d)] += count
    width, height, base = 640, 90, 70
    step = (width - 20) / (place(last) + 1)
    top = max(bins.values())
    parts = [f'<svg class="timeline-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{unit}ごとのストーリー数（{first.isoformat()}〜{last.isoformat()}）">',
             f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#d9dce1"/>']
    for at, count in sorted(bins.items()):
        x = 10 + at * step
        h = 8 + 52 * count / top
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(step - 2, 3):.1f}" '
                     f'height="{h:.1f}" fill="#0b57a4"><title>{label(at)}: '
                     f'{count}件</title></rect>')
    parts.append(f'<text x="10" y="{height - 4}">{first.year}年{first.month}月{first.day}日</text>')
    if last != first:
        parts.append(f'<text x="{width - 10}" y="{height - 4}" text-anchor="end">'
                     f'{last.month}月{last.day}日</text>')
    parts.append("</svg>")
    return "".join(parts)


def grain(first: date, last: date) -> int:
    """What a timeline from ``first`` to ``last`` needs of its days: each day's count
    (``site_index.DAY``: bars of a day or a week), or only each month's or year's total
    (``MONTH``, ``YEAR``: the divisor of a yyyymmdd day that gives its month or year)."""
    return {"月": site_index.MONTH, "年": site_index.YEAR}.get(_scale(first, last)[0], site_index.DAY)


def _scale(first: date, last: date) -> tuple[str, Callable[[date], int], Callable[[int], str]]:
    """The finest of day, week (from Monday), month and year that gives at most
    ``MAX_BARS`` bars from ``first`` to ``last``: its name, a day's bar (0: the first),
    and a bar's label."""
    if (last - first).days < MAX_BARS:
        def day(at: int) -> str:
            d = first + timedelta(days=at)
            return f"{d.month}月{d.day}日"
        return "日", lambda d: (d - first).days, day
    monday = first - timedelta(days=first.weekday())
    if (last - monday).days // 7 < MAX_BARS:
        def week(at: int) -> str:
            d = monday + timedelta(days=7 * at)
            return f"{d.year}年{d.month}月{d.day}日からの週"
        return "週", lambda d: (d - monday).days // 7, week
    if (last.year - first.year) * 12 + last.month - first.month < MAX_BARS:
        def month(at: int) -> str:
            y, m = divmod(first.month - 1 + at, 12)
            return f"{first.year + y}年{m + 1}月"
        return "月", lambda d: (d.year - first.year) * 12 + d.month - first.month, month
    return "年", lambda d: d.year - first.year, lambda at: f"{first.year + at}年"

"""Small inline SVG charts: who reported a story when, and when a theme's stories began.

Plain SVG with escaped text (no script), sized by viewBox so they scale on a phone.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from matome.site.readmodel import JST, StoryView


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


def timeline_svg(days: dict[date, int]) -> str:
    """A theme's timeline: one bar per day, as tall as the stories that began that day."""
    if not days:
        return ""
    first, last = min(days), max(days)
    n_days = (last - first).days + 1
    width, height, base = 640, 90, 70
    step = (width - 20) / max(n_days, 1)
    top = max(days.values())
    parts = [f'<svg class="timeline-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="日ごとのストーリー数（{first.isoformat()}〜{last.isoformat()}）">',
             f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#d9dce1"/>']
    for d, count in sorted(days.items()):
        x = 10 + (d - first).days * step
        h = 8 + 52 * count / top
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(step - 2, 3):.1f}" '
                     f'height="{h:.1f}" fill="#0b57a4"><title>{d.month}月{d.day}日: '
                     f'{count}件</title></rect>')
    parts.append(f'<text x="10" y="{height - 4}">{first.year}年{first.month}月{first.day}日</text>')
    if last != first:
        parts.append(f'<text x="{width - 10}" y="{height - 4}" text-anchor="end">'
                     f'{last.month}月{last.day}日</text>')
    parts.append("</svg>")
    return "".join(parts)

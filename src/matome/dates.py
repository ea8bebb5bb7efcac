"""Publication dates: parse the ways pages and feeds write them, JST unless stated.

trafilatura (htmldate) misreads dates written only as 2026年2月12日 in body
text (it answers 2026-01-01), so matome reads structured metadata first and
Japanese date text itself, and uses trafilatura's guess only as a last
resort — never when it is a bare 1 January the page does not write.
"""

from __future__ import annotations

import email.utils
import json
import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from lxml import html as lxml_html

JST = ZoneInfo("Asia/Tokyo")
_ERA = {"令和": 2018, "平成": 1988}
_JA_DATETIME = re.compile(
    r"(?:(\d{4})\s*年|(令和|平成)\s*(\d{1,2}|元)\s*年)\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
    r"(?:\s*[(（][^)）]{1,3}[)）])?(?:\s*(午前|午後)?\s*(\d{1,2})\s*(?:時|:)\s*(\d{1,2})?\s*分?)?")
_SLASH_DATETIME = re.compile(
    r"(?<!\d)(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?(?!\d)")
_META_NAMES = ("article:published_time", "og:published_time", "pubdate", "publishdate",
               "date", "dc.date", "dc.date.issued", "datepublished", "sailthru.date")


def tz_of(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return JST


def parse(value: str, default_tz: tzinfo = JST) -> datetime | None:
    """A date string in ISO 8601, RFC 822 or Japanese notation, as an aware datetime."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=default_tz)
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(value)
        if dt is not None:
            return dt if dt.tzinfo else dt.replace(tzinfo=default_tz)
    except (TypeError, ValueError, IndexError):
        pass
    return find_in_text(value, default_tz)


def find_in_text(text: str, default_tz: tzinfo = JST) -> datetime | None:
    """The first full date written in Japanese text (2026年2月12日 10時30分, 令和8年…)."""
    candidates = []
    m = _JA_DATETIME.search(text)
    if m:
        year_s, era, era_year, month, day, ampm, hour, minute = m.groups()
        year = int(year_s) if year_s else _ERA[era] + (1 if era_year == "元" else int(era_year))
        h = int(hour or 0) + (12 if ampm == "午後" and hour and int(hour) < 12 else 0)
        candidates.append((m.start(), year, int(month), int(day), h, int(minute or 0)))
    s = _SLASH_DATETIME.search(text)
    if s:
        y, mo, d, h2, mi = s.groups()
        candidates.append((s.start(), int(y), int(mo), int(d), int(h2 or 0), int(mi or 0)))
    for _pos, year, month, day, hour, minute in sorted(candidates):
        try:
            return datetime(year, month, day, hour, minute, tzinfo=default_tz)
        except ValueError:
            continue
    return None


def page_published(tree: lxml_html.HtmlElement, page_text: str,
                   default_tz: tzinfo = JST) -> tuple[datetime | None, str, str]:
    """(date, raw string, how it was found) from a parsed page."""
    for node in tree.xpath('//script[@type="application/ld+json"]'):
        raw = _jsonld_date(node.text_content())
        if raw and (dt := parse(raw, default_tz)):
            return dt, raw, "json-ld"
    for meta in tree.xpath("//meta[@content]"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if name in _META_NAMES and (dt := parse(meta.get("content", ""), default_tz)):
            return dt, meta.get("content", ""), f"meta:{name}"
    for node in tree.xpath("//time"):
        raw = node.get("datetime") or node.text_content()
        if raw and (dt := parse(raw, default_tz)):
            return dt, raw.strip(), "time-element"
    dt = find_in_text(page_text, default_tz)
    if dt is not None:
        m = _JA_DATETIME.search(page_text) or _SLASH_DATETIME.search(page_text)
        return dt, m.group(0) if m else "", "text"
    return None, "", ""


def _jsonld_date(raw: str) -> str | None:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if isinstance(item.get("datePublished"), str):
                return str(item["datePublished"])
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
    return None


def trusted_fallback(value: str | None, page_text: str,
                     default_tz: tzinfo = JST) -> datetime | None:
    """trafilatura's date guess, unless it is a 1 January the page never writes."""
    dt = parse(value or "", default_tz)
    if dt is None:
        return None
    if dt.month == 1 and dt.day == 1 and "1月1日" not in page_text and "-01-01" not in page_text:
        return None
    return dt


def is_future(dt: datetime, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return dt > now + timedelta(days=1)

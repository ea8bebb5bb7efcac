"""Publication dates: parse the ways pages and feeds write them, JST unless stated.

trafilatura (htmldate) misreads dates written only as 2026年2月12日 in body
text (it answers 2026-01-01), so matome reads structured metadata first
(JSON-LD, meta tags, ``<time>``), then the byline, then Japanese date text
itself, and uses trafilatura's guess only as a last resort — never when it is
a bare 1 January the page does not write.

Notations read: ISO 8601, RFC 822 (feeds), 2026年2月12日, 令和8年2月12日 (and
平成/昭和, 元年), 2026/2/12 and 2026.2.12, each with an optional time (10:30,
10時30分, 午後3時) and zone (JST, 日本時間, UTC, GMT, +09:00). A month-day
(2月12日) or a bare day (12日) takes its year and month from a reference date
the caller passes — the page's other dates or the feed's — never silently from
the machine clock. Impossible dates (2月30日, 13月) are skipped, not guessed.
"""

from __future__ import annotations

import email.utils
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import htmldate.extractors
from lxml import html as lxml_html

from matome.extract import jsonld

JST = ZoneInfo("Asia/Tokyo")

# htmldate (trafilatura's date finder) sends a date its own patterns cannot read to
# dateparser, built for every one of dateparser's ~200 locales: the first such string costs
# a process about 1.8 s of locale set-up, paid by each worker of each run (the largest share
# of extracting the demo corpus). htmldate has no option for this, so the parser it builds
# lazily is replaced by the same one (htmldate 1.9's settings) limited to the languages news
# reaches matome in; over the 630 real and demo pages the dates found are the same
# (tests/test_dates.py checks the replacement is in place).
EXTERNAL_DATE_LANGUAGES = ("ja", "en", "zh", "ko", "fr", "de", "es", "it", "pt", "ru", "nl")


@functools.cache
def _external_parser() -> Any:
    from dateparser import DateDataParser  # imported when first needed, as htmldate does

    return DateDataParser(languages=list(EXTERNAL_DATE_LANGUAGES), settings={
        "NORMALIZE": True, "PARSERS": ["custom-formats", "absolute-time"],
        "PREFER_DATES_FROM": "past", "PREFER_LOCALE_DATE_ORDER": True,
        "RETURN_AS_TIMEZONE_AWARE": False, "STRICT_PARSING": True})


htmldate.extractors.get_external_parser = _external_parser
# Year before an era's first year: 令和元年 = 2019.
_ERA = {"令和": 2018, "平成": 1988, "昭和": 1925}
_TIME = (r"(?:\s*[(（][^)）\d]{1,3}[)）])?"           # weekday (木) / (Thu)
         r"(?:\s*(?P<ampm>午前|午後)?\s*(?P<hour>\d{1,2})\s*(?:時|:)\s*(?P<minute>\d{1,2})?\s*分?"
         r"(?:\s*:\s*\d{1,2})?)?"                      # seconds are read and dropped
         r"(?:\s*[(（]?\s*(?P<zone>JST|日本時間|UTC|GMT)\s*[)）]?)?")
_FULL_JA = re.compile(
    r"(?:(?P<year>\d{4})\s*年|(?P<era>令和|平成|昭和)\s*(?P<eyear>\d{1,2}|元)\s*年)"
    r"\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日" + _TIME)
_FULL_NUM = re.compile(
    r"(?<![\d/.-])(?P<year>\d{4})(?P<sep>[/.-])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?![\d/.-])" + _TIME)
_MONTH_DAY = re.compile(r"(?<![\d年/])(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日" + _TIME)
_DAY = re.compile(r"(?<![\d月年/])(?P<day>\d{1,2})\s*日" + _TIME)
_ZONES: dict[str, tzinfo] = {"JST": JST, "日本時間": JST, "UTC": UTC, "GMT": UTC}
_PUBLISHED_META = ("article:published_time", "og:published_time", "pubdate", "publishdate",
                   "date", "dc.date", "dc.date.issued", "datepublished", "sailthru.date",
                   "publish-date", "parsely-pub-date")
_UPDATED_META = ("article:modified_time", "og:updated_time", "datemodified", "lastmod",
                 "last-modified", "dc.date.modified")
_BYLINE_XPATH = (
    "//*[self::time or self::span or self::div or self::p or self::dd or self::li or self::small]"
    "[contains(translate(@class,'DATEBYLINPOSU','datebylinposu'),'date') or "
    "contains(translate(@class,'TIME','time'),'time') or contains(@class,'byline') or "
    "contains(@class,'posted') or contains(@class,'publish') or contains(@class,'update') or "
    "contains(@id,'date') or @itemprop='datePublished']")
_UPDATE_WORD = re.compile(r"(?:更新|修正|update)", re.IGNORECASE)


def tz_of(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return JST


@dataclass(frozen=True)
class Hit:
    """One date written in text: its value, the exact text, and where it is."""

    value: datetime
    raw: str
    start: int
    partial: bool = False      # year (and maybe month) came from the reference date


def parse(value: str, default_tz: tzinfo = JST, ref: datetime | None = None) -> datetime | None:
    """A date string in ISO 8601, RFC 822 or Japanese notation, as an aware datetime.

    ``ref`` resolves a month-day or bare day; without it such strings give None.
    """
    value = (value or "").strip()
    if not value or len(value) > 200:
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
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    hits = find_all(value, default_tz, ref)
    return hits[0].value if hits else None


def find_in_text(text: str, default_tz: tzinfo = JST, ref: datetime | None = None) -> datetime | None:
    """The first valid date written in the text (full dates first, then partial ones)."""
    hits = find_all(text, default_tz, ref)
    return hits[0].value if hits else None


# A date written in kanji numerals, as in vertical-style bylines: 二〇二六年二月十二日,
# 令和八年二月十二日, 二月十二日. Only a month *and* a day in kanji count: 一日 alone
# is as often "one day" (一日も早く) as the 1st.
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_KN = "[〇一二三四五六七八九十]"
_KANJI_DATE = re.compile(
    rf"(?:(?P<year>{_KN}{{1,4}})年|(?P<era>令和|平成|昭和)(?P<eyear>{_KN}{{1,3}}|元)年)?"
    rf"(?P<month>{_KN}{{1,2}})月(?P<day>{_KN}{{1,3}})日")


def _kanji_int(s: str) -> int | None:
    """二〇二六 → 2026 (digit by digit), 十二 → 12, 二十三 → 23, 三十 → 30."""
    if "十" not in s:
        return int("".join(str(_KANJI_DIGITS[c]) for c in s))
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones or "〇" in tens + ones:
        return None
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def _arabic_dates(text: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """The text with kanji-numeral dates rewritten in digits, and where it moved.

    Returns the new text and, per rewritten date, (new start, new end, shift
    before, shift after): how many characters later the original text has a
    position before and after that date. Dates are rewritten rather than
    matched by a second set of patterns so that every rule of the digit
    patterns (eras, times, zones, partial dates) holds for both.
    """
    out: list[str] = []
    moved: list[tuple[int, int, int, int]] = []
    last = shift = 0
    for m in _KANJI_DATE.finditer(text):
        parts = {k: v for k, v in m.groupdict().items() if v}
        nums = {k: (v if k == "era" or v == "元" else _kanji_int(v)) for k, v in parts.items()}
        if any(v is None for v in nums.values()):
            continue
        year = f"{nums['year']}年" if "year" in nums else (
            f"{nums['era']}{nums['eyear']}年" if "era" in nums else "")
        written = f"{year}{nums['month']}月{nums['day']}日"
        out.append(text[last:m.start()])
        start, before = m.start() - shift, shift
        out.append(written)
        shift += len(m.group(0)) - len(written)
        moved.append((start, start + len(written), before, shift))
        last = m.end()
    if not moved:
        return text, []
    out.append(text[last:])
    return "".join(out), moved


def find_all(text: str, default_tz: tzinfo = JST, ref: datetime | None = None,
             limit: int = 50) -> list[Hit]:
    """Valid dates in the text: full dates in reading order, then (given ``ref``) partial ones.

    Dates in kanji numerals are found too; a hit's ``raw`` and ``start`` are
    always those of the original text.
    """
    digits, moved = _arabic_dates(text)
    hits = _find_all(digits, default_tz, ref, limit)
    if not moved:
        return hits

    def original(pos: int) -> int:
        shift = 0
        for start, end, before, after in moved:
            if pos >= end:
                shift = after
            elif pos >= start:  # within a rewritten date: where that date starts
                return start + before
            else:
                break
        return pos + shift

    out = []
    for h in hits:
        start, end = original(h.start), original(h.start + len(h.raw))
        out.append(Hit(h.value, text[start:end].strip(), start, h.partial))
    return out


def _find_all(text: str, default_tz: tzinfo, ref: datetime | None, limit: int) -> list[Hit]:
    full: list[Hit] = []
    for rx in (_FULL_JA, _FULL_NUM):
        for m in rx.finditer(text):
            g = m.groupdict()
            if g.get("era"):
                year = _ERA[g["era"]] + (1 if g["eyear"] == "元" else int(g["eyear"]))
            else:
                year = int(g["year"])
            if (dt := _build(year, int(g["month"]), int(g["day"]), g, default_tz)) is not None:
                full.append(Hit(dt, m.group(0).strip(), m.start()))
            if len(full) >= limit:
                break
    full.sort(key=lambda h: h.start)
    if ref is None:
        return full
    taken = [(h.start, h.start + len(h.raw)) for h in full]
    partial: list[Hit] = []
    for rx in (_MONTH_DAY, _DAY):
        for m in rx.finditer(text):
            if any(s <= m.start() < e for s, e in taken) or len(partial) >= limit:
                continue
            g = m.groupdict()
            month = int(g["month"]) if g.get("month") else None
            dt = resolve_partial(month, int(g["day"]), g, ref, default_tz)
            if dt is not None:
                partial.append(Hit(dt, m.group(0).strip(), m.start(), partial=True))
                taken.append((m.start(), m.end()))
    partial.sort(key=lambda h: h.start)
    return full + partial


def resolve_partial(month: int | None, day: int, g: dict[str, str | None], ref: datetime,
                    default_tz: tzinfo = JST) -> datetime | None:
    """A month-day or bare day placed at or before ``ref`` (news reports what has happened).

    2月12日 against a reference in January is read as the previous year's; 25日
    against a reference on the 3rd is the previous month's 25th.
    """
    local = ref.astimezone(default_tz) if ref.tzinfo else ref.replace(tzinfo=default_tz)
    if month is not None:
        dt = _build(local.year, month, day, g, default_tz)
        if dt is not None and dt.date() > local.date():
            dt = _build(local.year - 1, month, day, g, default_tz)
        return dt
    year, mon = local.year, local.month
    if day > local.day:
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return _build(year, mon, day, g, default_tz)


def _build(year: int, month: int, day: int, g: dict[str, str | None],
           default_tz: tzinfo) -> datetime | None:
    hour = int(g.get("hour") or 0)
    minute = int(g.get("minute") or 0)
    if g.get("ampm") == "午後" and hour < 12:
        hour += 12
    tz = _ZONES.get(g.get("zone") or "", default_tz)
    if not 1 <= year <= 9999:
        return None
    try:
        return datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:    # 2月30日, 13月, 25時: impossible, so not a date at all
        return None


@dataclass
class PageDates:
    """What a page says about when it was published and updated, and how that was found."""

    published: datetime | None = None
    raw: str = ""
    how: str = ""
    updated: datetime | None = None
    updated_raw: str = ""


def page_dates(tree: lxml_html.HtmlElement, page_text: str, default_tz: tzinfo = JST,
               ref: datetime | None = None, ld: list[jsonld.Block] | None = None) -> PageDates:
    """Published and updated dates of a parsed page, most trustworthy source first.

    ``ref`` (the feed's date for the entry, or the fetch time) resolves partial
    dates written in the byline when nothing on the page gives a full date.
    ``ld`` is the page's JSON-LD when the caller has read it already.
    """
    out = PageDates()
    for block in jsonld.read(tree) if ld is None else ld:
        pub, upd = _jsonld_dates(block)
        if pub and out.published is None and (dt := parse(pub, default_tz)):
            out.published, out.raw, out.how = dt, pub, "json-ld"
        if upd and out.updated is None and (dt := parse(upd, default_tz)):
            out.updated, out.updated_raw = dt, upd
    for meta in tree.xpath("//meta[@content]"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content", "")
        if out.published is None and name in _PUBLISHED_META and (dt := parse(content, default_tz)):
            out.published, out.raw, out.how = dt, content, f"meta:{name}"
        if out.updated is None and name in _UPDATED_META and (dt := parse(content, default_tz)):
            out.updated, out.updated_raw = dt, content
    for node in tree.xpath("//time"):
        raw = (node.get("datetime") or node.text_content() or "").strip()
        dt = parse(raw, default_tz)
        if dt is None:
            continue
        is_update = "modified" in (node.get("itemprop") or "").lower() or bool(
            _UPDATE_WORD.search(_context(node)))
        if is_update and out.updated is None:
            out.updated, out.updated_raw = dt, raw
        elif not is_update and out.published is None:
            out.published, out.raw, out.how = dt, raw, "time-element"
    if out.published is None:
        _from_byline(tree, out, default_tz, ref)
    if out.published is None:
        hits = find_all(page_text[:200_000], default_tz)
        if hits:
            out.published, out.raw, out.how = hits[0].value, hits[0].raw, "text"
    return out


def _context(node: lxml_html.HtmlElement) -> str:
    parent = node.getparent()
    text = (parent.text_content() if parent is not None else node.text_content()) or ""
    return text[:80]


def _from_byline(tree: lxml_html.HtmlElement, out: PageDates, default_tz: tzinfo,
                 ref: datetime | None) -> None:
    """Dates in byline-like elements; the one after 更新 is the update time."""
    for node in tree.xpath(_BYLINE_XPATH)[:40]:
        text = (node.text_content() or "")[:300]
        hits = find_all(text, default_tz, out.updated or ref)
        for hit in hits:
            before = text[max(0, hit.start - 8):hit.start]
            if _UPDATE_WORD.search(before):
                if out.updated is None:
                    out.updated, out.updated_raw = hit.value, hit.raw
            elif out.published is None:
                out.published, out.raw = hit.value, hit.raw
                out.how = "byline-partial" if hit.partial else "byline"
        if out.published is not None:
            return


def _jsonld_dates(block: jsonld.Block) -> tuple[str | None, str | None]:
    pub = upd = None
    for item in jsonld.objects(block.data, limit=10_000):
        if pub is None and isinstance(item.get("datePublished"), str):
            pub = str(item["datePublished"])
        if upd is None and isinstance(item.get("dateModified"), str):
            upd = str(item["dateModified"])
    return pub, upd


def trusted_fallback(value: str | None, page_text: str,
                     default_tz: tzinfo = JST) -> datetime | None:
    """trafilatura's date guess, only when the page (or its URL) writes that day somewhere.

    htmldate fills gaps: 2026年2月12日 becomes 1 January, 2026年13月5日 becomes
    13 May. A guess whose day the page never writes in any notation is dropped.
    """
    dt = parse(value or "", default_tz)
    if dt is None:
        return None
    written = {h.value.date() for h in find_all(page_text[:200_000], default_tz)}
    y, m, d = dt.year, dt.month, dt.day
    spelled = (f"{y}-{m:02d}-{d:02d}", f"{y}{m:02d}{d:02d}", f"{y}/{m:02d}/{d:02d}")
    if dt.date() in written or any(s in page_text for s in spelled):
        return dt
    return None


def is_future(dt: datetime, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return dt > now + timedelta(days=1)


# Earliest publication date taken as real: older ones are placeholders (0001-01-01,
# 1970-01-01) or misreadings, never when a report in matome appeared.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def plausible(dt: datetime, now: datetime) -> bool:
    """Whether ``dt`` can be when a report fetched at ``now`` was published: from 1990 up to
    ``now`` (with a day of slack for time-zone slips, as ``clamp``)."""
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return aware >= EARLIEST and not is_future(aware, now)


def clamp(dt: datetime | None, now: datetime) -> tuple[datetime | None, bool]:
    """The date, or ``now`` when the date is more than a day ahead of it (and whether it was clamped).

    A day of slack absorbs time-zone slips (a JST date read as UTC); anything
    further ahead is a typo or a placeholder, never when the report appeared.
    """
    if dt is not None and is_future(dt, now):
        return now.astimezone(dt.tzinfo) if dt.tzinfo else now, True
    return dt, False

"""The site's index in the store: which stories each listing holds, in order, and a log of
what moved in it.

A listing is the index (``i``), a tag (``t:<tag>``), an outlet (``o:<outlet id>``) or a
storyline (``l:<line>``); each row places one story in it by an integer ``key`` (its last
report's time; a storyline orders by its first). Oldest first is (key, story id)
ascending, newest first descending, both one range scan of one index. Counts per listing
and stories per day, month and year per tag are kept beside them, so a page never counts
the archive, and each listed story's card (``site_cards``: what a listing, a feed or a
timeline shows of it, as JSON), so a page never loads the stories it lists.

Each change appends to ``listing_log`` the lowest key it moved in each listing (a story
added, removed or moved) and the listing's size before it, and the key of each story that
changed where it stands (told by digests of what the listing's pages and its feed show of
the story, kept in its row: a change neither shows is not logged at all): a static build
that built up to log entry N re-renders, per listing, the pages from the lowest moved key
on, the pages showing the stories changed in place and, when they are among its newest,
its feed (``matome.site.build``). The rows are written by
``matome.site.index``, which decides what goes in them; here is only how they are kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)

from matome.store import schema as t

site_listing = Table(
    "site_listing",
    t.metadata,
    Column("story_id", String(64), primary_key=True),
    Column("listing", String(80), primary_key=True),
    Column("key", BigInteger, nullable=False),
    Column("reports", Integer, nullable=False),  # an outlet's reports in the story (0 elsewhere)
    Column("day", Integer),                      # a tag's: the story's first day (yyyymmdd, JST)
    Column("card", String(16)),                  # a digest of what listings show of the story
    Column("feed", String(16)),                  # and of what the listing's feed shows (tags')
    Index("ix_site_listing_order", "listing", "key", "story_id"),
)

listing_counts = Table(
    "listing_counts",
    t.metadata,
    Column("listing", String(80), primary_key=True),
    Column("stories", Integer, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("name", Text),  # an outlet's name (its listing id is a hash of it)
)

# A tag's timeline: how many of its stories began each day (yyyymmdd), and beside the days
# each month's (yyyymm) and year's (yyyy) total, kept as the days change: a chart of a tag
# followed for years has a bar a month or a year, read as a row a bar. Summed at read time,
# a month's bar read the month's every day, and a build paid it for each tag page it wrote
# (1.1 ms a tag page at a thousand days, against 0.2 at ten, growing with the site's age).
DAY, MONTH, YEAR = 1, 100, 10_000  # what day // per gives: a day, a month or a year key
_BARS = {DAY: (10_000_000, 99_999_999), MONTH: (100_000, 999_999), YEAR: (1_000, 9_999)}

listing_days = Table(
    "listing_days",
    t.metadata,
    Column("listing", String(80), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("stories", Integer, nullable=False),
)

listing_log = Table(
    "listing_log",
    t.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("listing", String(80), nullable=False),  # a listing, or s:<story>, T:<tag> (pages)
    Column("key", BigInteger),
    Column("before", Integer),  # the listing's size before this change; None: a story at
)                               # ``key`` changed in place (only the page showing it differs);
                                # FEED: only what the listing's feed shows of it changed
FEED = -1

site_cards = Table(  # what listings, feeds and timelines show of each listed story
    "site_cards",
    t.metadata,
    Column("story_id", String(64), primary_key=True),
    Column("data", Text, nullable=False),  # matome.site.readmodel.Card, as JSON
)

site_state = Table(
    "site_state",
    t.metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class Row:
    """One story's place in one listing."""

    key: int
    reports: int = 0
    day: int | None = None
    name: str | None = None  # the outlet's name, kept with its count
    card: str | None = None  # a digest of what the listing shows of the story
    feed: str | None = None  # a digest of what the listing's feed shows of it (None: no feed)


@dataclass(frozen=True)
class Logged:
    id: int
    listing: str
    key: int | None
    before: int | None


def get_state(conn: Connection) -> dict[str, str]:
    return {r.name: r.value for r in conn.execute(select(site_state))}


def set_state(conn: Connection, **values: str) -> None:
    c = site_state.c
    for name, value in values.items():
        if conn.execute(update(site_state).where(c.name == name).values(value=value)).rowcount == 0:
            conn.execute(insert(site_state).values(name=name, value=value))


def clear(conn: Connection) -> None:
    """Forget every listing and the log (the index is about to be rebuilt from scratch)."""
    for table in (site_listing, listing_counts, listing_days, listing_log, site_cards):
        conn.execute(delete(table))


def place(conn: Connection, stories: Mapping[str, Mapping[str, Row]], *, log: bool = True) -> None:
    """Put each story in exactly the listings given for it (none: it left them all), keeping
    counts and days, and log (unless ``log`` is false: a rebuild from scratch) each story
    (its page) and each listing touched with the lowest old or new key in it."""
    ids = sorted(stories)
    c = site_listing.c
    old: dict[str, dict[str, Row]] = {}
    for part in _parts(ids):
        for got in conn.execute(select(site_listing).where(c.story_id.in_(part))):
            old.setdefault(got.story_id, {})[got.listing] = Row(got.key, got.reports, got.day,
                                                                card=got.card, feed=got.feed)
        conn.execute(delete(site_listing).where(c.story_id.in_(part)))
    rows = [{"story_id": sid, "listing": lid, "key": r.key, "reports": r.reports, "day": r.day,
             "card": r.card, "feed": r.feed} for sid in ids for lid, r in stories[sid].items()]
    if rows:
        conn.execute(insert(site_listing), rows)
    more: Counter[str] = Counter()
    reports: Counter[str] = Counter()
    days: Counter[tuple[str, int]] = Counter()
    names: dict[str, str] = {}
    low: dict[str, int] = {}
    spots: set[tuple[str, int]] = set()  # (listing, key) of stories that changed in place
    fed: set[tuple[str, int]] = set()  # ... of those whose change only the listing's feed shows
    for sid in ids:
        was_in, now_in = old.get(sid, {}), stories[sid]
        for lid in set(was_in) | set(now_in):
            was, now = was_in.get(lid), now_in.get(lid)
            if was is not None and now is not None and (was.key, was.reports, was.day) == (
                    now.key, now.reports, now.day):
                # Same place, same counts: only the page showing it may differ, and only when
                # what it shows did (its card). Logged as the lowest key touched, a story
                # re-placed because a tag it carries was renamed made every page after it be
                # rendered again: at 100k articles thousands of archive pages a cycle.
                if was.card is None or was.card != now.card:
                    spots.add((lid, now.key))
                elif was.feed != now.feed:
                    # a feed holds a listing's newest few: most such changes (a storyline
                    # found to be one with another) touch no page at all
                    fed.add((lid, now.key))
                continue
            more[lid] += (now is not None) - (was is not None)
            reports[lid] += (now.reports if now else 0) - (was.reports if was else 0)
            if now is not None and now.name is not None:
                names[lid] = now.name
            key = min(r.key for r in (was, now) if r is not None)
            low[lid] = min(low.get(lid, key), key)
            for r, step in ((was, -1), (now, 1)):
                if r is not None and r.day is not None:
                    days[(lid, r.day)] += step
    listings = sorted(low)
    before = _sizes(conn, listings)
    if log:
        conn.execute(insert(listing_log), [
            *({"listing": f"s:{sid}", "key": None, "before": None} for sid in ids),
            *({"listing": lid, "key": low[lid], "before": before.get(lid, 0)} for lid in listings),
            *({"listing": lid, "key": key, "before": None} for lid, key in sorted(spots)),
            *({"listing": lid, "key": key, "before": FEED} for lid, key in sorted(fed))])
    _counts(conn, listings, before, more, reports, names)
    add_days(conn, days)


def _parts(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), 500):
        yield ids[i : i + 500]


def _counts(conn: Connection, listings: list[str], before: dict[str, int], more: Counter[str],
            reports: Counter[str], names: dict[str, str]) -> None:
    c = listing_counts.c
    known = [{"b_listing": lid, "b_more": more[lid], "b_reports": reports[lid], "b_name": names.get(lid)}
             for lid in listings if lid in before]
    if known:
        conn.execute(update(listing_counts).where(c.listing == bindparam("b_listing")).values(
            stories=c.stories + bindparam("b_more"), reports=c.reports + bindparam("b_reports"),
            name=func.coalesce(bindparam("b_name"), c.name)), known)
    new = [{"listing": lid, "stories": more[lid], "reports": reports[lid], "name": names.get(lid)}
           for lid in listings if lid not in before and more[lid] > 0]
    if new:
        conn.execute(insert(listing_counts), new)
    for part in _parts(listings):  # an outlet or tag with no story left goes
        conn.execute(delete(listing_counts).where(c.listing.in_(part) & (c.stories <= 0)))


def add_days(conn: Connection, days: Mapping[tuple[str, int], int]) -> None:
    """Add ``n`` stories (less, if negative) to each (listing, day yyyymmdd) of ``days``, and
    to that day's month and year; a day, month or year left with none goes."""
    steps: Counter[tuple[str, int]] = Counter()
    for (lid, day), n in days.items():
        for per in (DAY, MONTH, YEAR):
            steps[(lid, day // per)] += n
    steps = Counter({k: n for k, n in steps.items() if n})
    if not steps:
        return
    c = listing_days.c
    listings = sorted({lid for lid, _ in steps})
    have = {(r.listing, int(r.day)) for part in _parts(listings) for r in conn.execute(
        select(c.listing, c.day).where(c.listing.in_(part) & c.day.in_(sorted({d for _, d in steps}))))}
    have &= set(steps)
    known = [{"b_listing": lid, "b_day": day, "b_step": n} for (lid, day), n in steps.items()
             if (lid, day) in have]
    if known:
        conn.execute(update(listing_days).where(
            (c.listing == bindparam("b_listing")) & (c.day == bindparam("b_day"))).values(
            stories=c.stories + bindparam("b_step")), known)
    new = [{"listing": lid, "day": day, "stories": n} for (lid, day), n in steps.items()
           if (lid, day) not in have and n > 0]
    if new:
        conn.execute(insert(listing_days), new)
    for part in _parts(listings):
        conn.execute(delete(listing_days).where(c.listing.in_(part) & (c.stories <= 0)))


def note(conn: Connection, entries: Iterable[str]) -> None:
    """Log pages to redo that no listing row says (``T:<tag>``: a tag's definition)."""
    rows = [{"listing": e, "key": None, "before": None} for e in entries]
    if rows:
        conn.execute(insert(listing_log), rows)


def _sizes(conn: Connection, listings: list[str]) -> dict[str, int]:
    c = listing_counts.c
    out: dict[str, int] = {}
    for i in range(0, len(listings), 500):
        out.update((r.listing, r.stories) for r in conn.execute(
            select(c.listing, c.stories).where(c.listing.in_(listings[i : i + 500]))))
    return out


# --- reading -------------------------------------------------------------------------


def log_end(conn: Connection) -> int:
    return int(conn.execute(select(func.max(listing_log.c.id))).scalar() or 0)


def log_since(conn: Connection, after: int, until: int) -> list[Logged]:
    c = listing_log.c
    return [Logged(r.id, r.listing, r.key, r.before) for r in conn.execute(
        select(listing_log).where((c.id > after) & (c.id <= until)).order_by(c.id))]


def prune_log(conn: Connection, keep: int) -> int:
    """Drop log entries older than the newest ``keep``; returns the first id still complete
    (a build that built up to an earlier entry must rebuild everything)."""
    end = log_end(conn)
    floor = max(0, end - keep)
    if floor:
        conn.execute(delete(listing_log).where(listing_log.c.id <= floor))
    return floor


def size(conn: Connection, listing: str) -> tuple[int, int]:
    """(stories, reports) in ``listing``."""
    c = listing_counts.c
    row = conn.execute(select(c.stories, c.reports).where(c.listing == listing)).first()
    return (int(row.stories), int(row.reports)) if row else (0, 0)


def listing_size(conn: Connection, listing: str) -> int:
    """How many stories one listing holds (0: none, or no such listing), from its kept count."""
    c = listing_counts.c
    return int(conn.execute(select(c.stories).where(c.listing == listing)).scalar() or 0)


def sizes(conn: Connection, prefix: str) -> list[tuple[str, int, int, str | None]]:
    """(listing, stories, reports, name) of every listing whose id starts with ``prefix``."""
    c = listing_counts.c
    return [(r.listing, int(r.stories), int(r.reports), r.name) for r in conn.execute(
        select(listing_counts).where(c.listing.like(prefix + "%")).order_by(c.listing))]


def newest(conn: Connection, listing: str, offset: int, limit: int) -> list[tuple[str, int]]:
    """(story id, key) at positions [offset, offset + limit) counted from the newest."""
    c = site_listing.c
    if limit <= 0:
        return []
    return [(r.story_id, int(r.key)) for r in conn.execute(
        select(c.story_id, c.key).where(c.listing == listing)
        .order_by(c.key.desc(), c.story_id.desc()).offset(offset).limit(limit))]


def oldest(conn: Connection, listing: str) -> list[str]:
    """Every story of ``listing``, oldest first (a storyline: the few stories of one situation)."""
    c = site_listing.c
    return [r.story_id for r in conn.execute(
        select(c.story_id).where(c.listing == listing).order_by(c.key, c.story_id))]


def oldest_n(conn: Connection, listing: str, limit: int) -> list[tuple[str, int]]:
    """(story id, key) of the ``limit`` oldest stories of ``listing``, oldest first."""
    c = site_listing.c
    return [(r.story_id, int(r.key)) for r in conn.execute(
        select(c.story_id, c.key).where(c.listing == listing).order_by(c.key, c.story_id).limit(limit))]


def around(conn: Connection, listing: str, story_id: str, span: int) -> tuple[list[str], int] | None:
    """Where ``story_id`` stands in ``listing`` (None: not in it), read around it: the
    stories up to ``span`` places either side of it and itself (oldest first), and the
    place of the first of those (0: the oldest). Each a range of the order index from the
    story's key: a storyline of years is not read whole for one page."""
    c = site_listing.c
    key = conn.execute(select(c.key).where((c.listing == listing) & (c.story_id == story_id))).scalar()
    if key is None:
        return None
    here = tuple_(c.key, c.story_id)
    mine = tuple_(literal(int(key), BigInteger), literal(story_id))
    before = [r[0] for r in conn.execute(select(c.story_id).where((c.listing == listing) & (here < mine))
                                         .order_by(c.key.desc(), c.story_id.desc()).limit(span))]
    after = [r[0] for r in conn.execute(select(c.story_id).where((c.listing == listing) & (here > mine))
                                        .order_by(c.key, c.story_id).limit(span))]
    # its place: a count over the index's range before it, done by the database
    place = int(conn.execute(select(func.count()).select_from(site_listing)
                             .where((c.listing == listing) & (here < mine))).scalar() or 0)
    return [*reversed(before), story_id, *after], place - len(before)


def keys_from(conn: Connection, listing: str, key: int) -> list[int]:
    """The keys of ``listing`` from ``key`` on, oldest first: where stories that changed in
    place stand, read once per listing whatever their number."""
    c = site_listing.c
    return [int(r[0]) for r in conn.execute(select(c.key).where(
        (c.listing == listing) & (c.key >= key)).order_by(c.key, c.story_id))]


def at_or_after(conn: Connection, listing: str, key: int) -> int:
    """How many stories of ``listing`` have a key of at least ``key``: a range count from the
    newest end, as long as the pages a change touches."""
    c = site_listing.c
    return int(conn.execute(select(func.count()).select_from(site_listing)
                            .where((c.listing == listing) & (c.key >= key))).scalar() or 0)


def members(conn: Connection, prefix: str) -> dict[str, list[str]]:
    """The stories of every listing whose id starts with ``prefix``, newest first."""
    c = site_listing.c
    out: dict[str, list[str]] = {}
    for r in conn.execute(select(c.listing, c.story_id).where(c.listing.like(prefix + "%"))
                          .order_by(c.listing, c.key.desc(), c.story_id.desc())):
        out.setdefault(r.listing, []).append(r.story_id)
    return out


def day_span(conn: Connection, listing: str) -> tuple[int, int] | None:
    """The first and last day (yyyymmdd) of a listing's timeline, None when it has none:
    each its own lookup in the key's index (asked for both in one query, SQLite reads
    every day of the listing)."""
    c = listing_days.c
    low, high = _BARS[DAY]
    days = select(c.day).where((c.listing == listing) & c.day.between(low, high))
    first, last = conn.execute(select(days.with_only_columns(func.min(c.day)).scalar_subquery(),
                                      days.with_only_columns(func.max(c.day)).scalar_subquery())).one()
    return None if first is None else (int(first), int(last))


def days(conn: Connection, listing: str, per: int = DAY) -> dict[int, int]:
    """How many of a listing's stories began each day (yyyymmdd); with ``per`` MONTH or
    YEAR, in each month (yyyymm) or year: the totals kept beside the days, a row each."""
    c = listing_days.c
    low, high = _BARS[per]
    query = select(c.day, c.stories).where((c.listing == listing) & c.day.between(low, high))
    return {int(k): int(n) for k, n in conn.execute(query)}


def put_cards(conn: Connection, cards: Mapping[str, str | None]) -> None:
    """Keep each story's card (its JSON; None: the story is gone)."""
    ids = sorted(cards)
    c = site_cards.c
    for part in _parts(ids):
        conn.execute(delete(site_cards).where(c.story_id.in_(part)))
    rows = [{"story_id": i, "data": cards[i]} for i in ids if cards[i] is not None]
    if rows:
        conn.execute(insert(site_cards), rows)


def cards(conn: Connection, story_ids: Iterable[str]) -> dict[str, str]:
    """The cards of these stories (JSON), those that have one. The ids go as one value, an
    array (PostgreSQL) or a JSON list (SQLite), not as a bound value each: a build reads
    tens of thousands of cards, and an ``IN`` of 500 bound values cost 16-19 µs a card on
    PostgreSQL against 8 (7.6-10 against 5.2 on SQLite), the driver alone 5-7."""
    postgres = conn.dialect.name == "postgresql"
    query = text("SELECT story_id, data FROM site_cards WHERE story_id "
                 + ("= ANY(CAST(:ids AS text[]))" if postgres else "IN (SELECT value FROM json_each(:ids))"))
    return {sid: data for part in _parts(sorted(set(story_ids)))
            for sid, data in conn.execute(query, {"ids": part if postgres else json.dumps(part)})}

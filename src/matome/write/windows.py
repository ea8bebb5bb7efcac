"""Which stories a change makes to be written again, and which earlier stories each reads.

The explainer and the まとめ's ■解説 read the stories before a story in its storyline:
the latest ``context`` of them (the explainer's dated sections, less the story's own). A
storyline followed for months grows without bound; read whole, every story changed in one
was written again in every later story, each from every earlier one: on a synthetic
stream whose recurring situation had linked 265 stories into one storyline, a day of 1,000
reports took 40, 53, 72, 109 and 220 s to process on five days running (41 to 61 s since).
So a story is written from its ``context`` predecessors alone, and a change to a story is
written again in it and in the ``context`` stories after it: after where it is now, and
after where it was.

Where each story was is what the write stage last stored (``write_order``: storyline and
key); where it is now is that for every story not queued (its reports are as they were
when it was placed), and for the queued ones what their reports now say. The key is the
first report's time (``key``), undated first, then the story id. A storyline is read from
a little before the earliest place a change touches to its end (``Store.line_tail``): the
tail that a day's news changes, not the years before it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC

from matome.records import Article
from matome.settings import WriterSettings
from matome.store import Store

# Part of the write queue's key: another value has every story looked at once, which also
# fills ``write_order`` for a store made before it.
VERSION = "1"

Place = tuple[str, str]  # (storyline, key)


def context(settings: WriterSettings) -> int:
    """How many earlier stories of its storyline a story is written from."""
    return max(0, settings.explainer_sections - 1)


def key(arts: Iterable[Article]) -> str:
    """Where a story sits in its storyline: its first report's time (UTC, ISO, to the
    microsecond, so it sorts as text), or "" when none is dated (first, as before)."""
    times = [a.published if a.published.tzinfo else a.published.replace(tzinfo=UTC)
             for a in arts if a.published is not None]
    return min(times).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") if times else ""


@dataclass
class Plan:
    """The stories to write (by storyline, in order) and the earlier ones each reads."""

    stories: list[str]
    earlier: dict[str, list[str]]


def plan(store: Store, now: Mapping[str, Place], queued: Sequence[str], k: int) -> Plan:
    """What ``queued`` stories' changes make to be written: each of them that is still a
    story with a report (``now``: its place as its reports now say), and the ``k`` after
    each where it now is and where it was; with the ``k`` stories before each, oldest first."""
    was = store.write_places(queued)
    moved = set(queued)
    new_in: dict[str, list[tuple[str, str]]] = {}  # storyline -> (key, story) of queued stories
    old_in: dict[str, list[tuple[str, str]]] = {}
    for places, into in ((now, new_in), (was, old_in)):
        for sid, (line, key) in places.items():
            into.setdefault(line, []).append((key, sid))
    out = Plan([], {})
    for line in sorted(new_in.keys() | old_in.keys()):
        new, old = sorted(new_in.get(line, [])), sorted(old_in.get(line, []))
        start = min(new + old)
        # the stored order from ``k`` stories before the first place touched (none of them
        # queued: every queued story's stored place is among ``old``), to the end
        stored = store.line_tail(line, start, k)
        order = sorted([r for r in stored if r[1] not in moved] + new)
        at = {sid: i for i, (_, sid) in enumerate(order)}
        wanted: set[str] = set()
        for _, sid in new:
            wanted.update(s for _, s in order[at[sid] : at[sid] + k + 1])
        for place in old:
            after = bisect_right(stored, place)
            wanted.update(s for _, s in stored[after : after + k] if s in at)
        for i, (_, sid) in enumerate(order):
            if sid in wanted:
                out.stories.append(sid)
                out.earlier[sid] = [s for _, s in order[max(0, i - k) : i]]
    return out


def gone(queued: Iterable[str], now: Mapping[str, Place]) -> list[str]:
    """The queued stories that no longer have a place (merged away, or left without a report)."""
    return [sid for sid in queued if sid not in now]

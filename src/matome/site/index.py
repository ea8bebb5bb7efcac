"""The site index and search, kept in step with the store: only stories that changed.

Every store write that changes a story's pages records it in the change log
(``matome.store.changes``). :func:`refresh` — the last step of ``process`` — reads the
log from where it stopped, and for each changed story puts it in its listings (the
index, its tags, its outlets, its storyline; ``matome.store.site_index``) with its card
(``readmodel.Card``: what those listings, their feeds and its storyline's timeline show
of it, so pages read one row per story) and replaces its search documents
(``matome.store.search_index``): the cost follows what changed.
A run killed part-way redoes at most one batch; an index made by other code or another
``writer.primary`` (headlines are indexed) is rebuilt from scratch once.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from matome.settings import Settings
from matome.site.readmodel import Card, StoryView, iso, jst_day, load_stories, outlet_id
from matome.store import Store, changes, search_index, site_index, site_reads

VERSION = "2"            # of what the listings hold: another value rebuilds them (2: cards)
BATCH = 200              # stories per transaction
LOG_KEEP = 2_000_000     # log entries kept for static builds; an older build rebuilds all
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _version(settings: Settings) -> str:
    return f"{VERSION}/{search_index.VERSION}/{settings.writer.primary}"


def _digest(shown: list[Any]) -> str:
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def card(c: Card) -> str:
    """A digest of what a listing's page shows of a story (``pages.story_item``): a page of the
    index, a tag or an outlet changes only if this does or the story moves. Only what the item
    shows: with the storyline in it, every story of two storylines found to be one was logged
    changed in every listing, and at 100k articles that was most archive pages of each cycle."""
    return _digest([c.headline, c.subheadline, c.lead, iso(c.last_published), c.outlets, c.reports,
                    c.tags[:4]])


def feed_card(c: Card) -> str:
    """A digest of what a feed entry shows of a story (``feeds.atom``, ``feeds.json_feed``)."""
    return _digest([c.headline, c.summary, iso(c.first_published), iso(c.last_published), c.tags,
                    c.storyline, c.sources])


def line_card(c: Card) -> str:
    """A digest of what a storyline's timeline (``story.html``) shows of a story."""
    return _digest([c.headline, iso(c.first_published), c.follows])


def rows_of(s: StoryView, shown: Card) -> dict[str, site_index.Row]:
    """The listings a story is in, with its place in each (``shown``: its card, kept beside)."""
    last = s.last_key
    first = s.first_published
    day = int(jst_day(first).strftime("%Y%m%d")) if first else None
    c = card(shown)
    # the index's feeds are rendered every build and outlets have none: only a tag's feed
    # needs telling apart from its pages
    rows = {"i": site_index.Row(last, card=c),
            f"l:{s.storyline}": site_index.Row(s.first_key, card=line_card(shown))}
    f = feed_card(shown) if s.tags else None
    for t in s.tags:
        rows[f"t:{t['id']}"] = site_index.Row(last, day=day, card=c, feed=f)
    for name in s.outlets:
        rows[f"o:{outlet_id(name)}"] = site_index.Row(
            last, reports=sum(1 for a in s.articles if a.source == name), name=name, card=c)
    return rows


def _clean(value: str) -> str:
    return _CONTROL.sub(" ", value)


def _doc(kind: str, story: str, article: str | None, title: str, body: str, source: str,
         published: str) -> search_index.Doc:
    title, body, source = _clean(title), _clean(body), _clean(source)
    digest = hashlib.sha1(json.dumps([kind, story, article, title, body, source, published],
                                     ensure_ascii=False).encode()).hexdigest()
    return search_index.Doc(kind, story, article, title, body, source, published, digest)


def docs_of(s: StoryView) -> list[search_index.Doc]:
    """What search finds a story by: its headline, lead and brief; each report's title and text."""
    brief = s.brief
    body = "\n".join(x.text for sec in (brief.sections if brief else []) for x in sec.sentences)
    out = [_doc("story", s.id, None, s.headline, (brief.lead + "\n" if brief else "") + body,
                " ".join(s.outlets), iso(s.first_published) or "")]
    out += [_doc("report", s.id, a.id, a.title, a.text, a.source, iso(a.published) or "")
            for a in s.articles]
    return out


def _reindex(conn: Connection, ids: list[str], primary: str, *, log: bool = True) -> None:
    views = load_stories(conn, ids, primary, light=True)  # the headline and the brief are indexed
    shown = {sid: v.card for sid, v in views.items()}  # the digests and the stored card: one make
    site_index.place(conn, {sid: rows_of(views[sid], shown[sid]) if sid in views else {} for sid in ids},
                     log=log)
    site_index.put_cards(conn, {sid: shown[sid].to_json() if sid in shown else None for sid in ids})
    search_index.replace(conn, ids, [d for sid in ids if sid in views for d in docs_of(views[sid])])


def reindex(store: Store, story_ids: Iterable[str], settings: Settings, *, log: bool = True) -> None:
    """Index these stories again now, in this order (absent ones leave every listing and
    search)."""
    ids = list(dict.fromkeys(story_ids))
    for i in range(0, len(ids), BATCH):
        with store.tx() as conn:
            _reindex(conn, ids[i : i + BATCH], settings.writer.primary, log=log)


def reindex_all(store: Store, settings: Settings) -> int:
    """Rebuild the index from every story; static builds made before rebuild in full."""
    with store.tx() as conn:
        top = changes.current_seq(conn)
        site_index.clear(conn)
        search_index.clear(conn)
        site_index.set_state(conn, version="", seq=str(top))  # unfinished until the end
        # in the order they last changed: search numbers its documents as they come and
        # takes the highest numbers for the newest (``search_index``: its recent table, the
        # newest matches first). In the order of story ids, a rebuild (a new index version,
        # another primary format) left search's "newest" a random draw of the archive.
        ids = site_reads.story_ids(conn)
    reindex(store, ids, settings, log=False)  # every build made before rebuilds in full
    with store.tx() as conn:
        site_index.set_state(conn, version=_version(settings), seq=str(top), epoch=uuid.uuid4().hex,
                             floor=str(site_index.log_end(conn)))
        if conn.dialect.name == "postgresql":
            # planner statistics for the tables just filled, before the first search: without
            # them PostgreSQL took every id range for a handful of rows (searches of 0.5 s at
            # 100k until autovacuum came by)
            conn.exec_driver_sql("ANALYZE search_docs, site_listing")
        search_index.settle(conn)
    return len(ids)


def refresh(store: Store, settings: Settings) -> int:
    """Bring the index up to the latest change; returns how many changes it took in."""
    with store.read() as conn:
        state = site_index.get_state(conn)
    if state.get("version") != _version(settings):
        return reindex_all(store, settings)
    cursor = (int(state.get("seq", "0")), "~", "")  # "~" sorts after every kind: all of seq done
    n = 0
    while True:
        with store.read() as conn:
            batch = changes.after(conn, cursor, BATCH)
        if not batch:
            break
        with store.tx() as conn:
            _reindex(conn, [i for _, k, i in batch if k == "s"], settings.writer.primary)
            site_index.note(conn, [f"T:{i}" for _, k, i in batch if k == "t"])
            # a sequence number is done once all of its changes are: a killed run redoes the rest
            last = batch[-1][0]
            more = changes.after(conn, batch[-1], 1)
            site_index.set_state(conn, seq=str(last if not more or more[0][0] > last else last - 1))
        cursor = batch[-1]
        n += len(batch)
    if n:
        with store.tx() as conn:
            floor = site_index.prune_log(conn, LOG_KEEP)
            if floor > int(state.get("floor", "0")):
                site_index.set_state(conn, floor=str(floor))
            search_index.settle(conn)
    return n


def run_index(store: Store, settings: Settings, progress: Any, report: Any) -> None:
    """``process``'s last step: the site index and search take in what the run changed."""
    progress.start("index", 1)
    refresh(store, settings)
    progress.advance()


def behind(store: Store, settings: Settings) -> bool:
    """Whether the store changed since the index last took in its changes."""
    with store.read() as conn:
        state = site_index.get_state(conn)
        if state.get("version") != _version(settings):
            return True
        return bool(changes.after(conn, (int(state.get("seq", "0")), "~", ""), 1))

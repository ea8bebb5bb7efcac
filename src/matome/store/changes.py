"""What changed, in order: every store write that changes what a page shows bumps one sequence.

A write that changes a story's membership, its row or redirects, its tags or
its written formats calls :func:`touch` (tags: :func:`retag`) inside its own
transaction, so a change and its record land together and a killed run loses
neither. Each story id (old ids that now redirect included) and each tag whose
definition changed keeps the sequence number of its latest change, so "what
changed since N" is one indexed range read however large the archive is.
``matome.site.index`` reads it to bring the site index and search up to date,
and ``site build`` reads what that index logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from matome.store import schema as t

changes = Table(
    "changes",
    t.metadata,
    Column("kind", String(1), primary_key=True),   # s: a story id (or an old id that redirects), t: a tag
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False, index=True),
)

change_counter = Table(  # one row: the last sequence number handed out
    "change_counter",
    t.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)

# stories of a storyline, found when storylines are found to be one (``touch(lines=...)``)
Index("ix_stories_storyline", t.stories.c.storyline)

_CHUNK = 500  # ids per IN (...) list: a bounded statement on either backend
K = TypeVar("K", str, int)


def _chunks(ids: Sequence[K]) -> Iterable[list[K]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


def next_seq(conn: Connection) -> int:
    """The next sequence number. The counter row is locked until the transaction ends, so
    numbers are handed out in commit order (PostgreSQL) or by the one writer (SQLite)."""
    c = change_counter.c
    got = conn.execute(update(change_counter).where(c.id == 1).values(seq=c.seq + 1)
                       .returning(c.seq)).scalar()
    if got is None:  # a store made before the counter row existed
        conn.execute(insert(change_counter).values(id=1, seq=1))
        return 1
    return int(got)


def record(conn: Connection, kind: str, ids: Iterable[str]) -> int | None:
    """Mark ``ids`` (of ``kind``) changed now; returns the sequence number used."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return None
    seq = next_seq(conn)
    c = changes.c
    for part in _chunks(wanted):
        conn.execute(delete(changes).where((c.kind == kind) & c.id.in_(part)))
        conn.execute(insert(changes), [{"kind": kind, "id": i, "seq": seq} for i in part])
    return seq


def touch(conn: Connection, stories: Iterable[str | None] = (), *, articles: Iterable[str] = (),
          raws: Iterable[int] = (), lines: Iterable[str | None] = (),
          following: Iterable[str | None] = (), redirected_to: Iterable[str | None] = ()) -> None:
    """Mark stories changed: ``stories`` by id, and the stories that now hold ``articles``
    (or the articles of raw documents ``raws``), belong to ``lines``, follow one of
    ``following`` or are old ids redirecting to ``redirected_to``. Call it before the
    write it records, in the same transaction, so what the write moves away is still found."""
    ids = {s for s in stories if s}
    m, s, r = t.memberships.c, t.stories.c, t.story_redirects.c
    for col, sel, values in ((m.article_id, m.story_id, articles), (s.storyline, s.id, lines),
                             (s.follows, s.id, following), (r.new_id, r.old_id, redirected_to)):
        wanted = sorted({v for v in values if v})
        for part in _chunks(wanted):
            ids.update(row[0] for row in conn.execute(select(sel).where(col.in_(part))))
    for raw_part in _chunks(sorted(set(raws))):
        ids.update(row[0] for row in conn.execute(
            select(m.story_id).join(t.articles, t.articles.c.id == m.article_id)
            .where(t.articles.c.raw_id.in_(raw_part))))
    record(conn, "s", ids)


def membership(conn: Connection, article_id: str, story_id: str, merged: str | None,
               split: tuple[str, list[str], str | None, str] | None,
               relinked: Sequence[tuple[str, str]]) -> None:
    """What ``StoryStore.put_membership`` changes, with its own arguments: the story, the
    article's previous story, a merged or split story (and the stories following the merged
    one, and ids redirecting to it), and every story of storylines found to be one."""
    touch(conn, [story_id, merged, *((split[0], split[3]) if split else ())], articles=[article_id],
          lines=[x for pair in relinked for x in pair], following=[merged], redirected_to=[merged])


def touch_all(conn: Connection) -> None:
    """Everything changed (a regrouping from scratch): every story, redirect and tag."""
    record(conn, "s", [*(r[0] for r in conn.execute(select(t.stories.c.id))),
                       *(r[0] for r in conn.execute(select(t.story_redirects.c.old_id)))])
    record(conn, "t", [r[0] for r in conn.execute(select(t.tags.c.id))])


def retag(conn: Connection, per_story: Mapping[str, Iterable[tuple[str, float]]],
          tags: Sequence[Any] | None = None, *, whole: bool = False) -> None:
    """Before a story's tags (``per_story``: story -> (tag, weight)) and, when given, the
    whole tag table (``tags``: rows with id, name, kind, aliases, parent) are replaced:
    mark the stories whose tag list (in its shown order) changes, and the tags whose
    definition changes, with their parent, children and stories (pages show their names).
    ``whole``: ``per_story`` is every story's tags; stories missing from it lose theirs."""
    st = t.story_tags.c
    query = select(st.story_id, st.tag_id, st.weight)
    old: dict[str, list[tuple[str, float]]] = {}
    rows = list(conn.execute(query)) if whole else [
        r for part in _chunks(sorted(per_story)) for r in conn.execute(query.where(st.story_id.in_(part)))]
    for sid, tid, w in rows:
        old.setdefault(sid, []).append((tid, w))

    def shown(pairs: Iterable[tuple[str, float]]) -> list[str]:  # as StoryView.tags lists them
        return [tid for tid, _ in sorted(dict(pairs).items(), key=lambda p: (-p[1], p[0]))]

    stories = {sid for sid in set(old) | set(per_story)
               if (whole or sid in per_story) and shown(old.get(sid, [])) != shown(per_story.get(sid, []))}
    changed_tags: set[str] = set()
    if tags is not None:
        def desc(g: Any) -> tuple[Any, ...]:
            return (g.name, g.kind, list(g.aliases), g.parent)
        before = {r.id: r for r in conn.execute(select(t.tags))}
        after = {g.id: g for g in tags}
        changed_tags = {tid for tid in set(before) | set(after)
                        if tid not in before or tid not in after or desc(before[tid]) != desc(after[tid])}
        for tid in list(changed_tags):  # a tag page names its parent and children
            for g in (before.get(tid), after.get(tid)):
                if g is not None and g.parent:
                    changed_tags.add(g.parent)
            changed_tags.update(c for c, g in [*before.items(), *after.items()] if g.parent == tid)
        renamed = sorted(changed_tags)
        for part in _chunks(renamed):
            stories.update(r[0] for r in conn.execute(select(st.story_id).where(st.tag_id.in_(part))))
        stories.update(sid for sid, pairs in per_story.items()
                       if any(tid in changed_tags for tid, _ in pairs))
    record(conn, "s", stories)
    record(conn, "t", changed_tags)


@dataclass(frozen=True)
class Changed:
    """What changed after a sequence number: story ids (old ids that redirect included) and
    tag ids whose definition changed; ``seq`` is the last change counted."""

    seq: int
    stories: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)


def current_seq(conn: Connection) -> int:
    got = conn.execute(select(change_counter.c.seq).where(change_counter.c.id == 1)).scalar()
    return int(got or 0)


def since(conn: Connection, seq: int, until: int | None = None) -> list[tuple[int, str, str]]:
    """(seq, kind, id) of what changed after ``seq`` (up to ``until``), oldest change first."""
    c = changes.c
    where = c.seq > seq if until is None else (c.seq > seq) & (c.seq <= until)
    return [(int(r.seq), r.kind, r.id) for r in
            conn.execute(select(c.seq, c.kind, c.id).where(where).order_by(c.seq, c.kind, c.id))]


def after(conn: Connection, cursor: tuple[int, str, str], limit: int) -> list[tuple[int, str, str]]:
    """Up to ``limit`` changes after ``cursor`` (seq, kind, id), in that order: a long
    backlog read a page at a time."""
    c = changes.c
    seq, kind, ident = cursor
    # a range of the seq index, then the ties within the first seq
    later = (c.seq >= seq) & ((c.seq > seq) | (c.kind > kind) | ((c.kind == kind) & (c.id > ident)))
    return [(int(r.seq), r.kind, r.id) for r in conn.execute(
        select(c.seq, c.kind, c.id).where(later).order_by(c.seq, c.kind, c.id).limit(limit))]


class ChangeStore:
    """The change log as ``Store`` methods; mixed into ``Store``."""

    def read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def change_seq(self) -> int:
        """The sequence number of the latest change (0: none yet)."""
        with self.read() as conn:
            return current_seq(conn)

    def changed_since(self, seq: int) -> Changed:
        """What changed after ``seq`` (a value ``change_seq`` returned earlier)."""
        with self.read() as conn:
            top = current_seq(conn)
            rows = since(conn, seq, top)
        return Changed(top, {i for _, k, i in rows if k == "s"}, {i for _, k, i in rows if k == "t"})

"""The tag part of the store, changed one story at a time (a mixin of ``Store``).

A story's tags depend on that story alone; a tag's display name and aliases
on every story that names its entity. The second is kept as sums
(``tag_totals``) that a changed story updates by the difference between its
old part (``tag_parts``) and its new one, so tagging what changed never
re-reads the archive. What a tag row should say is decided by the tags
stage (``stories.tags``); the store keeps the parts, sums and rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from matome.records import TagRow
from matome.store import changes
from matome.store import schema as t
from matome.store.queue import CHUNK
from matome.store.stories import _HasTx

# per story: key -> field ("n" name, "k" kind, "s" surface) -> value -> count
Parts = dict[str, dict[str, Counter[str]]]


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i : i + CHUNK])


def _fits(*values: str) -> bool:
    # a name too long to be a key names nothing another story could share
    return all(len(v.encode("utf-8", "surrogatepass")) <= t.KEY_BYTES for v in values)


class TagStore(_HasTx):
    """Per-story tag parts, their sums, and tag rows; mixed into ``Store``."""

    def tag_parts(self, story_ids: Sequence[str]) -> dict[str, Parts]:
        p = t.tag_parts.c
        out: dict[str, Parts] = {}
        with self.read() as conn:
            for chunk in _chunks(story_ids):
                for r in conn.execute(select(t.tag_parts).where(p.story_id.in_(chunk))):
                    out.setdefault(r.story_id, {}).setdefault(r.key, {}).setdefault(
                        r.field, Counter())[r.value] += r.n
        return out

    def tag_totals(self, keys: Sequence[str]) -> dict[str, dict[str, Counter[str]]]:
        s = t.tag_totals.c
        out: dict[str, dict[str, Counter[str]]] = {}
        with self.read() as conn:
            for chunk in _chunks(keys):
                for r in conn.execute(select(t.tag_totals).where(s.key.in_(chunk))):
                    out.setdefault(r.key, {}).setdefault(r.field, Counter())[r.value] += r.n
        return out

    def tag_use(self, tag_ids: Sequence[str]) -> Counter[str]:
        """How many stories carry each of these tags now."""
        st = t.story_tags.c
        out: Counter[str] = Counter()
        with self.read() as conn:
            for chunk in _chunks(tag_ids):
                out.update({r[0]: r[1] for r in conn.execute(
                    select(st.tag_id, func.count()).where(st.tag_id.in_(chunk)).group_by(st.tag_id))})
        return out

    def story_tag_ids(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        st = t.story_tags.c
        out: dict[str, list[str]] = {}
        with self.read() as conn:
            for chunk in _chunks(story_ids):
                for r in conn.execute(select(st.story_id, st.tag_id).where(st.story_id.in_(chunk))):
                    out.setdefault(r.story_id, []).append(r.tag_id)
        return out

    def tag_rows(self, tag_ids: Sequence[str]) -> dict[str, TagRow]:
        out = {}
        with self.read() as conn:
            for chunk in _chunks(tag_ids):
                for r in conn.execute(select(t.tags).where(t.tags.c.id.in_(chunk))).mappings():
                    out[r["id"]] = TagRow(r["id"], r["name"], r["kind"], list(r["aliases"]), r["parent"])
        return out

    def retag_stories(self, per_story: Mapping[str, list[tuple[str, float]]],
                      parts: Mapping[str, Parts], old_parts: Mapping[str, Parts],
                      rows: Sequence[Any], gone: Sequence[str]) -> None:
        """Replace these stories' tags and parts (a story missing from ``parts`` has none: it
        was merged away or dropped), move the sums by the difference, upsert tag ``rows`` and
        delete the tags in ``gone``: all in one transaction."""
        stories = sorted(per_story)
        with self.tx() as conn:
            live = {r[0] for part in _chunks(stories)
                    for r in conn.execute(select(t.stories.c.id).where(t.stories.c.id.in_(part)))}
            tagged = {sid: lst for sid, lst in per_story.items() if sid in live}
            changes.retag(conn, tagged, None)
            _retag_changed(conn, rows, gone)
            for part in _chunks(stories):
                conn.execute(delete(t.story_tags).where(t.story_tags.c.story_id.in_(part)))
                conn.execute(delete(t.tag_parts).where(t.tag_parts.c.story_id.in_(part)))
            _upsert_tags(conn, rows)  # before the stories that carry them (a foreign key)
            story_rows = [{"story_id": sid, "tag_id": tid, "weight": w}
                          for sid, lst in tagged.items() for tid, w in dict(lst).items()]
            if story_rows:
                conn.execute(insert(t.story_tags), story_rows)
            part_rows = [{"story_id": sid, "key": k, "field": f, "value": v, "n": n}
                         for sid, by_key in parts.items() if sid in live
                         for k, fields in by_key.items() for f, c in fields.items()
                         for v, n in c.items() if _fits(k, v)]
            if part_rows:
                conn.execute(insert(t.tag_parts), part_rows)
            delta: Counter[tuple[str, str, str]] = Counter()
            for sign, source in ((1, {s: p for s, p in parts.items() if s in live}), (-1, old_parts)):
                for by_key in source.values():
                    for k, fields in by_key.items():
                        for f, c in fields.items():
                            for v, n in c.items():
                                if _fits(k, v):
                                    delta[(k, f, v)] += sign * n
            _move_totals(conn, delta)
            for part in _chunks(list(gone)):  # no story carries these any more
                conn.execute(delete(t.tags).where(t.tags.c.id.in_(part)))

    def drop_unused_tags(self) -> None:
        """Tags no story carries (after every story was tagged again)."""
        with self.tx() as conn:
            unused = [r[0] for r in conn.execute(select(t.tags.c.id).where(
                t.tags.c.id.not_in(select(t.story_tags.c.tag_id).distinct())))]
            _retag_changed(conn, [], unused)
            for part in _chunks(unused):
                conn.execute(delete(t.tags).where(t.tags.c.id.in_(part)))

    def clear_tag_sums(self) -> None:
        with self.tx() as conn:
            conn.execute(delete(t.tag_parts))
            conn.execute(delete(t.tag_totals))


def _retag_changed(conn: Connection, rows: Sequence[Any], gone: Sequence[str]) -> None:
    """Record the tags whose definition changes (and the stories that show their names)."""
    ids = [g.id for g in rows]
    before = {r.id: r for part in _chunks(ids + list(gone))
              for r in conn.execute(select(t.tags).where(t.tags.c.id.in_(part)))}
    changed = set(gone) & set(before)
    changed |= {g.id for g in rows if g.id not in before or (
        before[g.id].name, before[g.id].kind, list(before[g.id].aliases), before[g.id].parent)
        != (g.name, g.kind, list(g.aliases), g.parent)}
    for tid in list(changed):  # a tag page names its parent and children
        for g in (before.get(tid), next((r for r in rows if r.id == tid), None)):
            if g is not None and g.parent:
                changed.add(g.parent)
    if not changed:
        return
    st, tg = t.story_tags.c, t.tags.c
    parts = _chunks(sorted(changed))
    kids = {r[0] for part in parts for r in conn.execute(select(tg.id).where(tg.parent.in_(part)))}
    changed |= kids | {g.id for g in rows if g.parent in changed}
    shown = {r[0] for part in _chunks(sorted(changed))  # story pages show their tags' names
             for r in conn.execute(select(st.story_id).where(st.tag_id.in_(part)))}
    changes.record(conn, "s", shown)
    changes.record(conn, "t", changed)


def _upsert_tags(conn: Connection, rows: Sequence[Any]) -> None:
    ids = [g.id for g in rows]
    have = {r[0] for part in _chunks(ids)
            for r in conn.execute(select(t.tags.c.id).where(t.tags.c.id.in_(part)))}
    for g in rows:
        values = {"name": g.name, "kind": g.kind, "aliases": list(g.aliases), "parent": g.parent}
        if g.id in have:
            conn.execute(update(t.tags).where(t.tags.c.id == g.id).values(**values))
        else:
            conn.execute(insert(t.tags).values(id=g.id, **values))


def _move_totals(conn: Connection, delta: Mapping[tuple[str, str, str], int]) -> None:
    """Add ``delta`` to the sums: one read per chunk of keys, then batched writes (a row per
    statement compiled once), not a query per name."""
    s = t.tag_totals.c
    moves = {k: n for k, n in delta.items() if n}
    keys = sorted({k for k, _, _ in moves})
    have: dict[tuple[str, str, str], int] = {}
    for part in _chunks(keys):
        have.update({(r.key, r.field, r.value): r.n for r in conn.execute(
            select(t.tag_totals).where(s.key.in_(part)))})
    new, changed, gone = [], [], []
    for (k, f, v), n in sorted(moves.items()):
        row = {"k": k, "f": f, "v": v}
        if (k, f, v) not in have:
            if n > 0:
                new.append({"key": k, "field": f, "value": v, "n": n})
        elif have[(k, f, v)] + n <= 0:
            gone.append(row)
        else:
            changed.append({**row, "n_new": have[(k, f, v)] + n})
    where = (s.key == bindparam("k")) & (s.field == bindparam("f")) & (s.value == bindparam("v"))
    if gone:
        conn.execute(delete(t.tag_totals).where(where), gone)
    if changed:
        conn.execute(update(t.tag_totals).where(where).values(n=bindparam("n_new")), changed)
    if new:
        conn.execute(insert(t.tag_totals), new)

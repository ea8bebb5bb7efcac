"""The story part of the store: memberships, merges, splits, redirects, storylines.

Split from :mod:`matome.store` (a mixin of ``Store``) to keep each module
readable; every method here runs in one transaction, so a story change and
what it implies (redirects, dropped writing, storyline links) land together.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from matome.errors import StoreError
from matome.records import Membership, Post, Reaction, StoryRow
from matome.store import changes
from matome.store import schema as t
from matome.store.queue import enqueue


class _HasTx:
    """What the mixin needs of ``Store``, which defines both."""

    def tx(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError


# A pending redirect points at "seed:<article id>" until the story that now
# holds that article is known (resolve_pending_redirects).
_SEED = "seed:"


def _add_pending(conn: Connection, seeds: dict[str, str]) -> None:
    if seeds:
        conn.execute(insert(t.story_redirects), [
            {"old_id": old, "new_id": _SEED + seed, "reason": "pending"}
            for old, seed in seeds.items()])


def _forget_written(conn: Connection, story_ids: list[str]) -> None:
    """Drop what was written and tagged of stories that no longer stand as they were."""
    conn.execute(delete(t.written).where(t.written.c.story_id.in_(story_ids)))
    conn.execute(delete(t.story_tags).where(t.story_tags.c.story_id.in_(story_ids)))


class StoryStore(_HasTx):
    """Stories and what hangs on them; mixed into ``Store``."""

    def memberships(self) -> list[Membership]:
        """Every membership, in the order it was made."""
        with self.read() as conn:
            rows = conn.execute(select(t.memberships).order_by(t.memberships.c.seq))
            return [Membership(**r) for r in rows.mappings()]

    def stories(self) -> list[StoryRow]:
        with self.read() as conn:
            return [StoryRow(r["id"], r["seed_article"], dict(r["flags"] or {}), r["storyline"],
                             r["follows"]) for r in conn.execute(select(t.stories)).mappings()]

    def story_urls(self, story_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """(URL, story id) of every report in a story (of these stories): what board threads
        link to."""
        query = (select(t.articles.c.url, t.memberships.c.story_id)
                 .join(t.memberships, t.memberships.c.article_id == t.articles.c.id))
        with self.read() as conn:
            if story_ids is None:
                return [(r.url, r.story_id) for r in conn.execute(query)]
            ids = list(story_ids)
            return [(r.url, r.story_id) for i in range(0, len(ids), 500) for r in conn.execute(
                query.where(t.memberships.c.story_id.in_(ids[i : i + 500])))]

    def reaction_rows(self, urls: Sequence[str] | None = None) -> list[Reaction]:
        """Stored board posts with the report URLs their thread discusses, thread by thread:
        every post, or (``urls``: canonical report URLs) the posts of threads naming one of them."""
        query = select(t.reactions).order_by(t.reactions.c.thread_article, t.reactions.c.number)
        with self.read() as conn:
            if urls is None:
                rows = conn.execute(query).mappings().all()
            else:
                keys = sorted({t.bounded(u) for u in urls})
                threads = sorted({r.thread_article for i in range(0, len(keys), 500)
                                  for r in conn.execute(select(t.thread_links.c.thread_article)
                                                        .where(t.thread_links.c.url.in_(keys[i : i + 500])))})
                rows = [r for i in range(0, len(threads), 500) for r in conn.execute(
                    query.where(t.reactions.c.thread_article.in_(threads[i : i + 500]))).mappings()]
        return [Reaction(r["thread_article"],
                         Post(number=r["number"], body=r["body"], name=r["name"],
                              posted=r["posted"] or "", poster_id=r["poster_id"],
                              replies=list(r["replies"])),
                         list(r["discussed"])) for r in rows]

    def put_membership(self, article_id: str, story_id: str, role: str, seq: int,
                       evidence: dict[str, Any], stage_tag: str, *, new_story: bool,
                       storyline: str | None = None, follows: str | None = None,
                       merged: str | None = None,
                       split: tuple[str, list[str], str | None, str] | None = None,
                       relinked: Sequence[tuple[str, str]] = ()) -> None:
        """One article's place, atomically with what it changed.

        ``merged``: a story folded into ``story_id``. ``split``: (new story,
        its articles, storyline, the story it was cut from). ``relinked``:
        storylines found to be one, as (gone, kept).
        """
        if role not in t.ROLES:  # ``max_seq`` reads the last membership of each known role
            raise StoreError(f"membership role {role!r} is not one of {t.ROLES}")
        with self.tx() as conn:
            changes.membership(conn, article_id, story_id, merged, split, relinked)
            for gone, kept in relinked:
                # every story of the storyline that goes takes a place among the kept one's:
                # each is written again where it now is (``matome.write.windows``); the story
                # that started it may have no storyline stored ("s…" for "l…": the inverse of
                # ``stories.members.storyline_id``, which the store may not import)
                moved = [r[0] for r in conn.execute(select(t.stories.c.id).where(
                    (t.stories.c.storyline == gone) | (t.stories.c.id == "s" + gone[1:])))]
                enqueue(conn, "write", moved)
                conn.execute(update(t.stories).where(t.stories.c.storyline == gone)
                             .values(storyline=kept))
            if merged is not None:
                self._merge(conn, merged, story_id)
            if split is not None:
                self._split(conn, *split)
            if new_story:
                # a row left without members (its reports were re-extracted) gives way
                conn.execute(delete(t.stories).where(t.stories.c.id == story_id))
                conn.execute(insert(t.stories).values(id=story_id, seed_article=article_id,
                                                      flags={}, storyline=storyline,
                                                      follows=follows))
            _place(conn, [{"article_id": article_id, "story_id": story_id, "role": role, "seq": seq,
                           "evidence": evidence, "stage": stage_tag}],
                   [story_id, *((split[0], split[3]) if split is not None else ()),
                    *((merged,) if merged is not None else ())])

    def put_copies(self, placed: Sequence[tuple[str, str, int, dict[str, Any]]], stage_tag: str) -> None:
        """Copies joining their originals' stories, as (article, story, seq, evidence), in one
        transaction: what ``put_membership`` of each as a "duplicate" does, in bulk (a site
        that takes in a wire story from dozens of outlets places dozens of copies a run)."""
        for part in range(0, len(placed), 500):  # bounded IN (...) lists
            rows = placed[part : part + 500]
            ids = [aid for aid, _, _, _ in rows]
            stories = sorted({sid for _, sid, _, _ in rows})
            with self.tx() as conn:
                changes.touch(conn, stories, articles=ids)
                _place(conn, [{"article_id": aid, "story_id": sid, "role": "duplicate", "seq": seq,
                               "evidence": evidence, "stage": stage_tag}
                              for aid, sid, seq, evidence in rows], stories)

    @staticmethod
    def _merge(conn: Connection, old: str, new: str) -> None:
        conn.execute(update(t.memberships).where(t.memberships.c.story_id == old)
                     .values(story_id=new))
        _forget_written(conn, [old])
        conn.execute(update(t.stories).where(t.stories.c.follows == old).values(follows=new))
        conn.execute(delete(t.stories).where(t.stories.c.id == old))
        # links to ids that already redirected to ``old`` now go straight to ``new``
        conn.execute(update(t.story_redirects).where(t.story_redirects.c.new_id == old)
                     .values(new_id=new))
        conn.execute(insert(t.story_redirects).values(old_id=old, new_id=new, reason="merged"))

    @staticmethod
    def _split(conn: Connection, new: str, moved: list[str], storyline: str | None,
               old: str) -> None:
        conn.execute(insert(t.stories).values(id=new, seed_article=moved[0], flags={},
                                              storyline=storyline, follows=old))
        conn.execute(update(t.memberships).where(t.memberships.c.article_id.in_(moved))
                     .values(story_id=new))
        moving = set(moved)
        copies = conn.execute(select(t.memberships.c.article_id, t.memberships.c.evidence)
                              .where(t.memberships.c.story_id == old,
                                     t.memberships.c.role == "duplicate")).all()
        for article_id, evidence in copies:  # copies follow their original
            if (evidence or {}).get("duplicate_of") in moving:
                conn.execute(update(t.memberships).where(t.memberships.c.article_id == article_id)
                             .values(story_id=new))
        conn.execute(delete(t.written).where(t.written.c.story_id == old))  # its tags stay

    def redirects(self) -> dict[str, str]:
        with self.read() as conn:
            rows = conn.execute(select(t.story_redirects)
                                .where(t.story_redirects.c.reason != "pending")).mappings()
            return {r["old_id"]: r["new_id"] for r in rows}

    def drop_empty_stories(self) -> list[str]:
        """Stories no report belongs to any more (their reports were re-extracted or removed).

        Removed with what was written of them; each keeps a pending redirect to
        its seed article, so its page still leads to wherever that report went.
        """
        with self.tx() as conn:
            used = select(t.memberships.c.story_id).distinct()
            rows = conn.execute(select(t.stories.c.id, t.stories.c.seed_article)
                                .where(t.stories.c.id.not_in(used))).all()
            ids = [r.id for r in rows]
            if ids:
                changes.touch(conn, ids, following=ids, redirected_to=ids)
                _forget_written(conn, ids)
                conn.execute(delete(t.story_redirects).where(t.story_redirects.c.old_id.in_(ids)))
                conn.execute(delete(t.stories).where(t.stories.c.id.in_(ids)))
                _add_pending(conn, {r.id: r.seed_article for r in rows})
                enqueue(conn, "tags", ids)  # their part of the tag sums goes with them
            return ids

    def flag_story(self, story_id: str, flag: str) -> None:
        with self.tx() as conn:
            row = conn.execute(select(t.stories.c.flags).where(t.stories.c.id == story_id)).first()
            if row is not None and flag not in (row.flags or {}):
                changes.touch(conn, [story_id])
                conn.execute(update(t.stories).where(t.stories.c.id == story_id)
                             .values(flags={**(row.flags or {}), flag: True}))

    def reset_stories(self) -> None:
        """Forget every grouping (a new cluster stage version regroups from scratch).

        Old links must still lead somewhere: every old story id (and every id
        that redirected to one) is kept as a pending redirect to the seed
        article it was named after, resolved once the new grouping exists —
        in the same transaction, so an interrupted regrouping loses nothing.
        """
        with self.tx() as conn:
            changes.touch_all(conn)
            seeds = {r.id: r.seed_article for r in conn.execute(select(t.stories))}
            for r in conn.execute(select(t.story_redirects)):
                target = seeds.get(r.new_id) or (r.new_id.removeprefix(_SEED)
                                                 if r.new_id.startswith(_SEED) else None)
                if target:
                    seeds[r.old_id] = target
            for table in (t.written, t.story_tags, t.memberships, t.story_redirects, t.stories,
                          t.snapshots, t.tag_parts, t.tag_totals, t.write_order):
                conn.execute(delete(table))
            # what the tags stage last built from; the queues' keys ("key:…") stay
            conn.execute(delete(t.stage_state).where(t.stage_state.c.stage.not_like("key:%")))
            _add_pending(conn, seeds)

    def resolve_pending_redirects(self, story_of: dict[str, str]) -> None:
        """Point each pending redirect at the story that now holds its seed article."""
        with self.tx() as conn:
            rows = conn.execute(select(t.story_redirects)
                                .where(t.story_redirects.c.reason == "pending")).all()
            olds = [r.old_id for r in rows]  # which of them stand again (not the whole archive)
            live = {r.id for i in range(0, len(olds), 500) for r in conn.execute(
                select(t.stories.c.id).where(t.stories.c.id.in_(olds[i : i + 500])))}
            changes.touch(conn, [r.old_id for r in rows])  # their pages now say where they went
            for r in rows:
                seed = r.new_id.removeprefix(_SEED)
                where = t.story_redirects.c.old_id == r.old_id
                if r.old_id in live or seed not in story_of:
                    conn.execute(delete(t.story_redirects).where(where))  # same id again
                else:
                    conn.execute(update(t.story_redirects).where(where)
                                 .values(new_id=story_of[seed], reason="regrouped"))


def _place(conn: Connection, rows: list[dict[str, Any]], changed: Sequence[str]) -> None:
    """Memberships (each article's one row) and the stories whose tags and text they change."""
    conn.execute(delete(t.memberships).where(t.memberships.c.article_id.in_([r["article_id"] for r in rows])))
    conn.execute(insert(t.memberships), rows)
    for stage in ("tags", "write"):  # with the change, so a killed run still redoes them
        enqueue(conn, stage, changed)

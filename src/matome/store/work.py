"""The incremental part of the store: work queues, stage snapshots, learnt names.

Split from :mod:`matome.store.database` (a mixin of ``Store``). Every query
here is bounded by what is queued or by the active window, never by the
archive: a ``process`` run with nothing new reads a few empty queues.
"""

from __future__ import annotations

import binascii
import contextlib
import io
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, cast

import numpy as np
from sqlalchemy import Connection, Table, delete, func, insert, or_, select, text, tuple_

from matome.records import Analysis, Article, DedupeRow, Membership, RawDoc
from matome.store import schema as t
from matome.store.queue import CHUNK as _CHUNK
from matome.store.queue import db_now, dequeue, enqueue, insert_ignore, renew, upsert
from matome.store.stories import _HasTx

_SNAPSHOT_PIECE = 1 << 20  # a snapshot is saved and read back this many bytes at a time


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


def learn_names(conn: Connection, facts: Iterable[tuple[str, str, str]]) -> None:
    """Keep (kind, a, b) name facts (see ``language.name_facts``); a name too long to be a key
    is left out (it names nothing another report could share)."""
    rows = [{"kind": k, "a": a, "b": b} for k, a, b in dict.fromkeys(facts)
            if len(a.encode()) <= t.KEY_BYTES and len(b.encode()) <= t.KEY_BYTES]
    for i in range(0, len(rows), _CHUNK):
        insert_ignore(conn, t.name_facts, rows[i : i + _CHUNK])


@dataclass
class StoredVector:
    """An article's stored embedding, the stage version that made it, the digest of the text
    it is of (none when stored before that was kept: then its analysis, if it still reads)."""

    vector: np.ndarray
    stage: str
    embedded: str | None
    analysis: Analysis | None = None


@dataclass
class Held:
    """The items of one stage a worker took (``store.leases``): what its stage run sees of the
    queue while it holds them, and how long each store of a result renews the lease for."""

    stage: str
    worker: str
    items: set[str]
    lease_s: float
    renewed: float = field(default_factory=time.monotonic)


class WorkStore(_HasTx):
    """Queues, snapshots and learnt names; mixed into ``Store``."""

    held: Held | None = None  # set while a worker runs a stage over the items it leased

    # --- queues -------------------------------------------------------------

    def queued(self, stage: str) -> list[str]:
        q = t.work_queue.c
        query = select(q.item).where(q.stage == stage)
        held = self.held if self.held is not None and self.held.stage == stage else None
        if held is not None:
            query = query.where(q.leased_by == held.worker)
        with self.read() as conn:
            items = [r.item for r in conn.execute(query)]
        return [i for i in items if i in held.items] if held is not None else items

    def enqueue(self, stage: str, items: Iterable[str]) -> None:
        with self.tx() as conn:
            enqueue(conn, stage, items)

    def dequeue(self, stage: str, items: Iterable[str]) -> None:
        held = self.held if self.held is not None and self.held.stage == stage else None
        with self.tx() as conn:
            if held is None:
                dequeue(conn, stage, items)
                return
            # only what this worker still holds; the rest is renewed now and then (a third of
            # the lease), not with every result: a batch of B items would cost B²/2 updates
            done = [str(i) for i in items]
            dequeue(conn, stage, done, held.worker)
            held.items.difference_update(done)
            if held.items and time.monotonic() - held.renewed > held.lease_s / 3:
                renew(conn, stage, held.worker, held.items, db_now(conn) + timedelta(seconds=held.lease_s))
                held.renewed = time.monotonic()

    def requeue_all(self, stage: str) -> None:
        """Queue every item of a stage (its code or settings changed): one pass over the archive."""
        column = {"extract": t.raw_docs.c.id, "write": t.stories.c.id,
                  "tags": t.stories.c.id}.get(stage, t.articles.c.id)
        with self.tx() as conn:
            ids = [str(r[0]) for r in conn.execute(select(column))]
            enqueue(conn, stage, ids, release=False)  # what a worker holds, it keeps

    def stage_key(self, stage: str) -> str | None:
        """The key (code version and settings) a stage's queue was last filled under."""
        with self.read() as conn:
            row = conn.execute(select(t.stage_state.c.input_hash)
                               .where(t.stage_state.c.stage == f"key:{stage}")).first()
        return row.input_hash if row else None

    def set_stage_key(self, stage: str, key: str) -> None:
        """Record the key a stage's queue is filled under; workers may do it at once."""
        with self.tx() as conn:
            upsert(conn, t.stage_state, {"stage": f"key:{stage}", "input_hash": key,
                                         "finished_at": datetime.now(UTC).replace(tzinfo=None)},
                   ["stage"])

    # --- reads bounded by what is queued --------------------------------------

    def raw_docs_by_id(self, ids: Sequence[str]) -> list[tuple[int, RawDoc, tuple[str, str] | None]]:
        """These raw documents, each with the (stage, input hash) of its article if it has one."""
        j = t.raw_docs.outerjoin(t.articles, t.articles.c.raw_id == t.raw_docs.c.id)
        out = []
        with self.read() as conn:
            for chunk in _chunks(ids):
                for row in conn.execute(
                        select(t.raw_docs, t.articles.c.stage, t.articles.c.input_hash).select_from(j)
                        .where(t.raw_docs.c.id.in_([int(i) for i in chunk]))):
                    doc = RawDoc(key=row.key, kind=row.kind, origin=row.origin,
                                 location=row.location, content=row.content, hints=row.hints,
                                 source=row.source or "", link=row.link or "",
                                 fetched=row.ingested_at.replace(tzinfo=UTC).isoformat())
                    done = (row.stage, row.input_hash) if row.stage is not None else None
                    out.append((row.id, doc, done))
        return sorted(out, key=lambda r: r[0])

    def analysis_rows(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(stage, input hash) of the stored analysis of each of these articles."""
        return self._stage_rows(t.analyses, ids)

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored embedding of each of these articles, without parsing its analysis."""
        a = t.analyses.c
        out = {}
        with self.read() as conn:
            for chunk in _chunks(ids):
                for r in conn.execute(select(a.article_id, a.embedding).where(a.article_id.in_(chunk))):
                    out[r.article_id] = np.frombuffer(r.embedding, dtype=np.float32)
        return out

    def vectors_from(self, inputs: Mapping[str, str]) -> dict[str, StoredVector]:
        """The stored embedding of each of these articles (id: input hash) made from that input,
        whatever the stage version: what a re-analysis may keep (``language.reuse``). The
        analysis is read only for a row stored without its text's digest, and left out when it
        no longer reads as an ``Analysis`` (a record a later version changed)."""
        a = t.analyses.c
        out, unrecorded = {}, []
        with self.read() as conn:
            for chunk in _chunks(list(inputs)):
                for r in conn.execute(select(a.article_id, a.embedding, a.stage, a.input_hash, a.embedded)
                                      .where(a.article_id.in_(chunk))):
                    if r.input_hash == inputs[r.article_id]:
                        out[r.article_id] = StoredVector(np.frombuffer(r.embedding, dtype=np.float32),
                                                         r.stage, r.embedded)
                        if r.embedded is None:
                            unrecorded.append(r.article_id)
            for chunk in _chunks(unrecorded):
                for aid, data in conn.execute(select(a.article_id, a.data).where(a.article_id.in_(chunk))):
                    with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                        out[aid].analysis = Analysis.from_json(data)
        return out

    def dedupe_stage_rows(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return self._stage_rows(t.dedupe, ids)

    def _stage_rows(self, table: Table, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        out = {}
        with self.read() as conn:
            for chunk in _chunks(ids):
                for r in conn.execute(select(table.c.article_id, table.c.stage, table.c.input_hash)
                                      .where(table.c.article_id.in_(chunk))):
                    out[r.article_id] = (r.stage, r.input_hash)
        return out

    def dedupe_rows_for(self, ids: Sequence[str]) -> dict[str, DedupeRow]:
        out = {}
        with self.read() as conn:
            for chunk in _chunks(ids):
                for r in conn.execute(select(t.dedupe).where(t.dedupe.c.article_id.in_(chunk))).mappings():
                    out[r["article_id"]] = DedupeRow(**r)
        return out

    def original_with_hash(self, text_hash: str, exclude: str) -> str | None:
        """The first kept report of this normalised text (an exact copy's original), if any."""
        d, a = t.dedupe.c, t.articles.c
        with self.read() as conn:
            row = conn.execute(
                select(d.article_id).join(t.articles, a.id == d.article_id)
                .where((d.text_hash == text_hash) & d.duplicate_of.is_(None) & (d.article_id != exclude))
                .order_by(a.published_utc.is_(None), a.published_utc, a.id).limit(1)).first()
        return row.article_id if row else None

    def dedupe_window(self, since: datetime | None) -> list[DedupeRow]:
        """Kept (original) reports published since ``since`` or undated: what near copies are
        looked for among."""
        d, a = t.dedupe.c, t.articles.c
        query = (select(t.dedupe).join(t.articles, a.id == d.article_id)
                 .where(d.duplicate_of.is_(None))
                 .order_by(a.published_utc.is_(None), a.published_utc, a.id))
        if since is not None:
            query = query.where(or_(a.published_utc.is_(None), a.published_utc >= since))
        with self.read() as conn:
            return [DedupeRow(**r) for r in conn.execute(query).mappings()]

    def story_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        m = t.memberships.c
        out = {}
        with self.read() as conn:
            for chunk in _chunks(article_ids):
                out.update({r.article_id: r.story_id for r in conn.execute(
                    select(m.article_id, m.story_id).where(m.article_id.in_(chunk)))})
        return out

    def membership_stages(self) -> set[str]:
        with self.read() as conn:
            return {r[0] for r in conn.execute(select(t.memberships.c.stage).distinct())}

    def pending_seeds(self) -> list[str]:
        """Seed articles of the redirects still waiting for the story that holds them."""
        r = t.story_redirects.c
        with self.read() as conn:
            return [row.new_id.removeprefix("seed:") for row in conn.execute(
                select(r.new_id).where(r.reason == "pending"))]

    def max_seq(self, role: str | None = None) -> int:
        """The last membership made (of this role): one role at a time, each the end of its
        stretch of the (role, seq) index."""
        m = t.memberships.c
        with self.read() as conn:
            return max(int(conn.execute(select(func.max(m.seq)).where(m.role == r)).scalar() or 0)
                       for r in ((role,) if role is not None else t.ROLES))

    def newest_member(self) -> datetime | None:
        """The publication time (naive UTC) of the newest report in any story."""
        a = t.articles.c
        with self.read() as conn:
            return conn.execute(select(func.max(a.published_utc)).join(
                t.memberships, t.memberships.c.article_id == a.id)).scalar()

    def active_memberships(self, since: datetime | None) -> list[Membership]:
        """Every membership of each story with a report published since ``since`` (or
        undated), in the order they were made: the window a clusterer is rebuilt from."""
        m, a = t.memberships.c, t.articles.c
        recent = select(m.story_id).join(t.articles, a.id == m.article_id)
        if since is not None:
            recent = recent.where(or_(a.published_utc.is_(None), a.published_utc >= since))
        with self.read() as conn:
            rows = conn.execute(select(t.memberships).where(m.story_id.in_(recent.distinct()))
                                .order_by(m.seq))
            return [Membership(**r) for r in rows.mappings()]

    def storylines_of(self, story_ids: Sequence[str]) -> dict[str, str | None]:
        s = t.stories.c
        out: dict[str, str | None] = {}
        with self.read() as conn:
            for chunk in _chunks(story_ids):
                out.update({r.id: r.storyline for r in conn.execute(
                    select(s.id, s.storyline).where(s.id.in_(chunk)))})
        return out

    def memberships_of(self, story_ids: Sequence[str]) -> list[Membership]:
        """Every membership of these stories, in the order it was made."""
        m = t.memberships.c
        out: list[Membership] = []
        with self.read() as conn:
            for chunk in _chunks(story_ids):
                out += [Membership(**r) for r in conn.execute(
                    select(t.memberships).where(m.story_id.in_(chunk))).mappings()]
        return sorted(out, key=lambda x: x.seq)

    def reports_of(self, ids: Sequence[str]) -> list[Article]:
        """These articles (any order); ``articles`` over a chunked id list."""
        out: list[Article] = []
        for chunk in _chunks(ids):
            out += self.articles(chunk)  # type: ignore[attr-defined]
        return out

    # --- where the write stage placed stories (``matome.write.windows``) ------

    def write_places(self, story_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(storyline, key) where the write stage last placed each of these stories."""
        w = t.write_order.c
        out: dict[str, tuple[str, str]] = {}
        with self.read() as conn:
            for chunk in _chunks(story_ids):
                out.update({r.story_id: (r.storyline, r.key) for r in conn.execute(
                    select(w.story_id, w.storyline, w.key).where(w.story_id.in_(chunk)))})
        return out

    def line_tail(self, storyline: str, start: tuple[str, str], before: int) -> list[tuple[str, str]]:
        """(key, story id) of the stories placed in ``storyline``, in order: the ``before``
        just before ``start`` (a key and a story id), then every one from it to the end (the
        part of a storyline a day's news changes; not its years before)."""
        w = t.write_order.c
        at, here = tuple_(w.key, w.story_id), tuple_(*start)
        with self.read() as conn:
            head = conn.execute(select(w.key, w.story_id).where((w.storyline == storyline) & (at < here))
                                .order_by(w.key.desc(), w.story_id.desc()).limit(before)).all() \
                if before > 0 else []
            tail = conn.execute(select(w.key, w.story_id).where((w.storyline == storyline) & (at >= here))
                                .order_by(w.key, w.story_id)).all()
        return [(r.key, r.story_id) for r in reversed(head)] + [(r.key, r.story_id) for r in tail]

    def place_written(self, places: Mapping[str, tuple[str, str]], gone: Iterable[str]) -> None:
        """Keep where these stories now are, as (storyline, key); forget ``gone``."""
        w = t.write_order.c
        rows = [{"story_id": s, "storyline": line, "key": key} for s, (line, key) in sorted(places.items())]
        with self.tx() as conn:
            for chunk in _chunks(sorted({*places, *gone})):
                conn.execute(delete(t.write_order).where(w.story_id.in_(chunk)))
            for i in range(0, len(rows), _CHUNK):
                conn.execute(insert(t.write_order), rows[i : i + _CHUNK])

    # --- snapshots ----------------------------------------------------------

    def snapshot(self, name: str) -> tuple[str, int, bytes] | None:
        out = io.BytesIO()
        mark = self.snapshot_to(name, out)
        return (*mark, out.getvalue()) if mark else None

    def snapshot_to(self, name: str, out: IO[bytes]) -> tuple[str, int] | None:
        """A snapshot's key and seq, its data written to ``out`` a megabyte at a time: never
        whole in memory, as ``save_snapshot`` stores it."""
        s = t.snapshots.c
        with self.read() as conn:
            if conn.dialect.name != "sqlite":
                return _pg_snapshot_to(conn, name, out)
            row = conn.execute(select(s.key, s.seq, text("rowid")).where(s.name == name)).first()
            if row is None:
                return None
            raw = cast(sqlite3.Connection, conn.connection.dbapi_connection)
            with raw.blobopen("snapshots", "data", row[2], readonly=True) as blob:
                while chunk := blob.read(_SNAPSHOT_PIECE):
                    out.write(chunk)
            return row[0], row[1]

    def snapshot_mark(self, name: str) -> tuple[str, int] | None:
        """The key and seq a snapshot was saved under, without reading the snapshot."""
        s = t.snapshots.c
        with self.read() as conn:
            row = conn.execute(select(s.key, s.seq).where(s.name == name)).first()
        return (row.key, row.seq) if row else None

    def save_snapshot(self, name: str, key: str, seq: int, data: bytes | IO[bytes]) -> None:
        """``data``, or a file's content from its start (a snapshot is handed over where its
        writer left it, at its end: read from there, PostgreSQL once stored an empty snapshot
        and every run rebuilt the clustering window). A file is copied into the row a
        megabyte at a time: the clusterer's snapshot (45 MB at 100k stored articles) is then
        never whole in memory, where a bytes value was there twice (SQLite copies what it
        is given; psycopg sends it as text, twice its size) at the top of ``process``'s peak."""
        saved_at = datetime.now(UTC).replace(tzinfo=None)
        with self.tx() as conn:
            conn.execute(delete(t.snapshots).where(t.snapshots.c.name == name))
            if isinstance(data, bytes):
                conn.execute(insert(t.snapshots).values(name=name, key=key, seq=seq, data=data,
                                                        saved_at=saved_at))
                return
            if conn.dialect.name != "sqlite":
                _pg_save_snapshot(conn, (name, key, str(seq), saved_at.isoformat(sep=" ")), data)
                return
            size = data.seek(0, io.SEEK_END)
            data.seek(0)
            conn.execute(insert(t.snapshots).values(name=name, key=key, seq=seq,
                                                    data=func.zeroblob(size), saved_at=saved_at))
            rowid = conn.execute(select(text("rowid")).select_from(t.snapshots)
                                 .where(t.snapshots.c.name == name)).scalar_one()
            raw = cast(sqlite3.Connection, conn.connection.dbapi_connection)
            with raw.blobopen("snapshots", "data", rowid) as blob:
                while chunk := data.read(_SNAPSHOT_PIECE):
                    blob.write(chunk)

    def drop_snapshots(self) -> None:
        with self.tx() as conn:
            conn.execute(delete(t.snapshots))

    # --- learnt names ---------------------------------------------------------

    def learn_names(self, facts: Iterable[tuple[str, str, str]]) -> None:
        with self.tx() as conn:
            learn_names(conn, facts)

    def name_facts(self) -> list[tuple[str, str, str]]:
        n = t.name_facts.c
        with self.read() as conn:
            return [(r.kind, r.a, r.b) for r in conn.execute(
                select(n.kind, n.a, n.b).order_by(n.kind, n.a, n.b))]



def _pg_snapshot_to(conn: Connection, name: str, out: IO[bytes]) -> tuple[str, int] | None:
    """PostgreSQL: a snapshot read a piece at a time (``substring`` of the stored value,
    which reads only the TOAST chunks it covers: the column is stored uncompressed,
    migration 0022), all in one snapshot of the database, so a save committed meanwhile
    cannot mix two versions."""
    conn.execution_options(isolation_level="REPEATABLE READ")  # before the first statement
    row = conn.execute(text("SELECT key, seq, octet_length(data) FROM snapshots WHERE name = :n"),
                       {"n": name}).first()
    if row is None:
        return None
    piece = text("SELECT substring(data FROM :at FOR :size) FROM snapshots WHERE name = :n")
    for at in range(0, int(row[2]), _SNAPSHOT_PIECE):
        out.write(conn.execute(piece, {"n": name, "at": at + 1, "size": _SNAPSHOT_PIECE}).scalar_one())
    return str(row[0]), int(row[1])


def _pg_save_snapshot(conn: Connection, fields: tuple[str, str, str, str], data: IO[bytes]) -> None:
    """PostgreSQL: a snapshot's row sent with ``COPY`` a piece at a time, its data in
    ``bytea``'s hex form. (An ``UPDATE`` appending each piece would write the whole value
    again each time; a bound parameter is the whole value, in memory, as text.)"""
    escape = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    head = "\t".join(f.translate(escape) for f in fields) + "\t\\\\x"
    raw: Any = conn.connection.dbapi_connection  # psycopg's: its cursors' ``copy``
    data.seek(0)
    with raw.cursor() as cur, cur.copy("COPY snapshots (name, key, seq, saved_at, data) FROM STDIN") as copy:
        copy.write(head.encode())
        while piece := data.read(_SNAPSHOT_PIECE):
            copy.write(binascii.hexlify(piece))
        copy.write(b"\n")

"""The store: one SQLAlchemy engine over SQLite (default) or PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so a second writer waits instead of failing half-way
(one writer at a time). Readers (``export``, ``serve``) open the file
read-only. The schema is created and upgraded by Alembic migrations.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from matome.errors import IdClash, StoreError
from matome.records import Analysis, Article, DedupeRow, RawDoc, StoryTag, TagRow, Written
from matome.store import changes
from matome.store import schema as t
from matome.store.articles import NewAnalysis, NewArticle
from matome.store.articles import put as put_new
from matome.store.queue import clear_reject, enqueue, forget_rejects
from matome.store.stories import StoryStore
from matome.store.tagging import TagStore
from matome.store.work import WorkStore, learn_names

DEFAULT_DB = "matome.db"


def db_url(value: str | None) -> str:
    """A --db value (a path or an SQLAlchemy URL) as an SQLAlchemy URL."""
    value = value or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _make_engine(url: str, readonly: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True)
    path = _sqlite_file(url)
    if readonly and path is not None:
        uri = f"file:{path}?mode=ro"
        # a pool of file connections any thread may borrow ("sqlite://" alone would get
        # SingletonThreadPool, which closes other threads' connections past five threads)
        engine = create_engine(
            "sqlite://", creator=lambda: _sqlite_connect(uri), future=True, poolclass=QueuePool,
            pool_size=8, max_overflow=56
        )
    else:
        engine = create_engine(url, connect_args={"timeout": 30}, future=True)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _sqlite_connect(uri: str) -> Any:
    import sqlite3

    return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)


# pg_advisory_xact_lock's key for schema upgrades (any fixed 64-bit number of matome's own)
MIGRATE_KEY = zlib.crc32(b"matome:migrate")


def migrate(engine: Engine) -> None:
    # alembic is imported where a store is opened, not with this module: the pipeline's
    # worker processes import it and never open a store
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # workers started at once on a new database would each create the tables: one
            # migrates, the others wait here, then find the schema current (SQLite's
            # BEGIN IMMEDIATE already serialises this)
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATE_KEY)))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _check_current(engine: Engine, url: str) -> None:
    """A reader cannot upgrade: say so plainly instead of failing on a missing column."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is not None and current != head:
        raise StoreError(f"database {url} has schema {current}, this matome needs {head}: "
                         "run `matome process` once to upgrade it")


_RAW = t.raw_docs.c
_RAW_COLS = (_RAW.id, _RAW.content_hash, _RAW.version, _RAW.content, _RAW.hints, _RAW.ingested_at)
# Built once: made anew for each document, the statements cost more than running them.
_RAW_BY_KEY = select(*_RAW_COLS).where(_RAW.key == bindparam("key"))
_RAW_BY_LINK = select(*_RAW_COLS).where((_RAW.source == bindparam("source"))
                                        & (_RAW.link == bindparam("link")))
_RAW_BY_HASH = select(*_RAW_COLS).where((_RAW.source == bindparam("source"))
                                        & (_RAW.content_hash == bindparam("hash")))


def _put_raw(conn: Connection, doc: RawDoc, queued: list[str]) -> str:
    """``Store.put_raws`` of one document, in the caller's transaction; the raw documents to
    extract are added to ``queued``."""
    key, link = t.bounded(doc.key), t.bounded(doc.link) if doc.link else None
    row = conn.execute(_RAW_BY_KEY, {"key": key}).first()
    rotated = False
    if row is None and doc.source:
        for query, args in ((_RAW_BY_LINK, {"link": link}) if link else (None, {}),
                            (_RAW_BY_HASH, {"hash": doc.content_hash})):
            if query is not None:
                row = conn.execute(query, {"source": doc.source, **args}).first()
                if row is not None:
                    rotated = True
                    break
    values = dict(kind=doc.kind, origin=doc.origin, location=doc.location,
                  content=doc.content, hints=doc.hints, content_hash=doc.content_hash,
                  ingested_at=_now(), source=doc.source or None, link=link)
    if row is None:
        got = conn.execute(insert(t.raw_docs), {"key": key, **values})
        queued.append(str(got.inserted_primary_key[0]))  # type: ignore[index]
        return "new"
    if row.content_hash == doc.content_hash:
        return "rotated" if rotated else "same"
    conn.execute(insert(t.raw_versions).values(
        raw_id=row.id, version=row.version, content=row.content, hints=row.hints,
        content_hash=row.content_hash, ingested_at=row.ingested_at))
    values.pop("location")  # a rotated entry keeps its key and place
    conn.execute(update(t.raw_docs).where(_RAW.id == row.id).values(
        version=row.version + 1, **values))
    queued.append(str(row.id))
    return "changed"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store(StoryStore, WorkStore, TagStore, changes.ChangeStore):
    """All reads and writes of matome's state."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        self.readonly = readonly
        self.empty = False
        path = _sqlite_file(url)
        if readonly and path is not None and not path.exists():
            # Reading a database that does not exist yet: nothing to read,
            # and no file should appear as a side effect of reading.
            self.empty = True
            self.engine = create_engine("sqlite://", future=True)
            t.metadata.create_all(self.engine)
            return
        try:
            self.engine = _make_engine(url, readonly)
            if not readonly:
                migrate(self.engine)
            else:
                _check_current(self.engine, url)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {url}: {exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def one_per_thread(self) -> bool:
        """Whether each thread of this process would see a database of its own: an in-memory
        SQLite database lives in one connection, and a thread gets another."""
        url = self.engine.url
        return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # --- raw input -------------------------------------------------------

    def put_raw(self, doc: RawDoc) -> str:
        """Store a raw document; returns 'new', 'changed', 'same' or 'rotated' (``put_raws``)."""
        return self.put_raws([doc])[0]

    def put_raws(self, docs: Sequence[RawDoc], forget: Sequence[str] = ()) -> list[str]:
        """Store raw documents in order, in one transaction, after forgetting the ingest rejects
        of the origins in ``forget``; for each: 'new', 'changed', 'same' or 'rotated'.

        An item is found by its key, else (same source) by its canonical link
        or its content: a feed that hands out new GUIDs for old entries gives
        'rotated', not new articles. A changed content is a new version of the
        same item; the previous content is kept in ``raw_versions``.
        """
        with self.tx() as conn:
            forget_rejects(conn, list(forget), "ingest")
            queued: list[str] = []
            out = [_put_raw(conn, doc, queued) for doc in docs]
            enqueue(conn, "extract", queued)
            return out

    def raw_todo(self, stage_tag: str) -> list[tuple[int, RawDoc]]:
        """Raw documents whose article is missing or was made from other input."""
        j = t.raw_docs.outerjoin(t.articles, t.articles.c.raw_id == t.raw_docs.c.id)
        query = select(t.raw_docs, t.articles.c.stage, t.articles.c.input_hash).select_from(j)
        out = []
        with self.read() as conn:
            for row in conn.execute(query.order_by(t.raw_docs.c.id)):
                if row.stage == stage_tag and row.input_hash == row.content_hash:
                    continue
                doc = RawDoc(key=row.key, kind=row.kind, origin=row.origin, location=row.location,
                             content=row.content, hints=row.hints, source=row.source or "",
                             link=row.link or "",
                             fetched=row.ingested_at.replace(tzinfo=UTC).isoformat())
                out.append((row.id, doc))
        return out

    def raw_counts_by_source(self) -> dict[str, int]:
        from sqlalchemy import func

        c = t.raw_docs.c
        with self.read() as conn:
            return {r[0]: r[1] for r in conn.execute(
                select(c.source, func.count()).where(c.source.is_not(None)).group_by(c.source))}

    def record_reject(self, origin: str, location: str, stage: str, reason: str, *,
                      stage_tag: str | None = None, input_hash: str | None = None) -> None:
        """Store why an item was refused; with ``stage_tag`` and ``input_hash`` it is also set
        aside: that stage skips it until either changes (see ``set_aside``)."""
        with self.tx() as conn:
            clear_reject(conn, origin, location, stage)
            conn.execute(insert(t.rejects).values(origin=origin, location=location, stage=stage,
                                                  reason=reason, created_at=_now(),
                                                  stage_tag=stage_tag, input_hash=input_hash))

    def set_aside(self, stage: str, stage_tag: str) -> dict[str, str | None]:
        """What ``stage`` at version ``stage_tag`` refused: per item (its origin, with
        ":location" when it has one) the input hash it failed on."""
        c = t.rejects.c
        with self.read() as conn:
            rows = conn.execute(select(c.origin, c.location, c.input_hash)
                                .where((c.stage == stage) & (c.stage_tag == stage_tag)))
            return {r.origin + (f":{r.location}" if r.location else ""): r.input_hash for r in rows}

    def forget_rejects(self, origin: str, stage: str) -> None:
        with self.tx() as conn:
            forget_rejects(conn, [origin], stage)

    def rejects(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(t.rejects).order_by(t.rejects.c.id)).mappings().all()
        return [dict(r) for r in rows]

    # --- articles --------------------------------------------------------

    def put_article(self, raw_id: int, article: Article, stage_tag: str, input_hash: str,
                    doc: RawDoc, url_key: str | None = None) -> None:
        """Store an extracted article (replacing its raw document's earlier one) and queue its
        analysis; ``url_key`` is its canonical URL, by which board threads find it."""
        clash = self.put_articles([NewArticle(raw_id, article, stage_tag, input_hash, doc, url_key)])
        if clash:
            # Same id from another raw document (a copy of a page under
            # another path): the first stays; the second is recorded.
            raise IdClash(clash[raw_id])

    def put_articles(self, items: Sequence[NewArticle]) -> dict[int, int]:
        """Store extracted articles in order, in one transaction (``store.articles``); returns
        the raw documents whose article id another raw document holds (nothing of them stored)."""
        with self.tx() as conn:
            return put_new(conn, items, self.engine.dialect.name == "postgresql")

    def articles(self, ids: Sequence[str] | None = None) -> list[Article]:
        c = t.articles.c
        # undated last, spelled out: SQLite sorts NULL first and PostgreSQL last
        query = select(t.articles).order_by(c.published_utc.is_(None), c.published_utc, c.id)
        if ids is not None:
            query = query.where(t.articles.c.id.in_(list(ids)))
        with self.read() as conn:
            return [_article_from_row(r) for r in conn.execute(query).mappings()]

    # --- per-article stage outputs ----------------------------------------

    def todo(self, stage: str, stage_tag: str, hashes: dict[str, str]) -> list[str]:
        """Article ids whose row of ``stage`` ("analyses" or "dedupe") is missing or stale."""
        table = {"analyses": t.analyses, "dedupe": t.dedupe}[stage]
        with self.read() as conn:
            done = {
                r.article_id: (r.stage, r.input_hash)
                for r in conn.execute(select(table.c.article_id, table.c.stage, table.c.input_hash))
            }
        return [aid for aid, h in hashes.items() if done.get(aid) != (stage_tag, h)]

    def put_analysis(self, article_id: str, analysis: Analysis, embedding: np.ndarray,
                     stage_tag: str, input_hash: str,
                     names: Sequence[tuple[str, str, str]] = (), embedded: str | None = None) -> None:
        """Store an analysis with the name facts it teaches (``learn_names``), in one transaction;
        ``embedded``: the digest of the text the embedding is of."""
        self.put_analyses([NewAnalysis(article_id, analysis, embedding, stage_tag, input_hash, names,
                                       embedded)])

    def put_analyses(self, items: Sequence[NewAnalysis]) -> None:
        """Analyses as ``put_analysis`` takes them, a batch in one transaction."""
        if not items:
            return
        a = t.analyses.c
        with self.tx() as conn:
            learn_names(conn, [f for i in items for f in i.names])
            ids = [i.article_id for i in items]
            conn.execute(delete(t.analyses).where(a.article_id.in_(ids)))
            conn.execute(insert(t.analyses), [
                {"article_id": i.article_id, "data": i.analysis.to_json(),
                 "embedding": i.vector.astype(np.float32).tobytes(), "stage": i.stage_tag,
                 "input_hash": i.input_hash, "embedded": i.embedded} for i in items])
            # an article extracted before dedupe was queued with extraction has no dedupe row
            deduped = {r[0] for r in conn.execute(select(t.dedupe.c.article_id)
                                                  .where(t.dedupe.c.article_id.in_(ids)))}
            enqueue(conn, "dedupe", [aid for aid in ids if aid not in deduped])

    def analyses(self, ids: Sequence[str] | None = None) -> dict[str, tuple[Analysis, np.ndarray]]:
        """Every analysis, or those of ``ids`` (read in chunks: a bounded statement each)."""
        with self.read() as conn:
            if ids is None:
                rows = conn.execute(select(t.analyses)).mappings().all()
            else:
                ids = list(ids)
                rows = [r for i in range(0, len(ids), 500) for r in conn.execute(
                    select(t.analyses).where(t.analyses.c.article_id.in_(ids[i : i + 500])))
                    .mappings().all()]
        return {
            r["article_id"]: (Analysis.from_json(r["data"]),
                              np.frombuffer(r["embedding"], dtype=np.float32))
            for r in rows
        }

    def put_dedupe(self, rows: Sequence[DedupeRow]) -> None:
        """Dedupe verdicts, a batch in one transaction; each article is queued for clustering."""
        if not rows:
            return
        ids = [r.article_id for r in rows]
        with self.tx() as conn:
            conn.execute(delete(t.dedupe).where(t.dedupe.c.article_id.in_(ids)))
            conn.execute(insert(t.dedupe), [asdict(r) for r in rows])
            enqueue(conn, "cluster", ids)

    def dedupe_rows(self) -> list[DedupeRow]:
        with self.read() as conn:
            return [DedupeRow(**r) for r in conn.execute(select(t.dedupe)).mappings()]

    def analysis_hashes(self) -> dict[str, str]:
        with self.read() as conn:
            rows = conn.execute(select(t.analyses.c.article_id, t.analyses.c.input_hash))
            return {r.article_id: r.input_hash for r in rows}

    def replace_tags(self, tags: Sequence[Any], per_story: dict[str, list[tuple[str, float]]],
                     stage_tag: str, input_hash: str) -> None:
        with self.tx() as conn:
            changes.retag(conn, per_story, tags, whole=True)
            conn.execute(delete(t.story_tags))
            conn.execute(delete(t.tags))
            if tags:
                conn.execute(insert(t.tags), [
                    {"id": g.id, "name": g.name, "kind": g.kind, "aliases": g.aliases,
                     "parent": g.parent}
                    for g in tags])
            rows = [{"story_id": sid, "tag_id": tid, "weight": w}
                    for sid, lst in per_story.items() for tid, w in dict(lst).items()]
            if rows:
                conn.execute(insert(t.story_tags), rows)
            self.set_stage_hash(conn, stage_tag, input_hash)

    def drop_orphan_written(self, live: set[str]) -> None:
        with self.tx() as conn:
            conn.execute(delete(t.written).where(t.written.c.story_id.not_in(live)))

    def stage_hash(self, stage_tag: str) -> str | None:
        with self.read() as conn:
            row = conn.execute(select(t.stage_state.c.input_hash)
                               .where(t.stage_state.c.stage == stage_tag)).first()
        return row.input_hash if row else None

    def set_stage_hash(self, conn: Connection, stage_tag: str, input_hash: str) -> None:
        name = stage_tag.split("/")[0]
        conn.execute(delete(t.stage_state).where(t.stage_state.c.stage.like(f"{name}/%")))
        conn.execute(insert(t.stage_state).values(stage=stage_tag, input_hash=input_hash,
                                                  finished_at=_now()))

    def tags(self) -> list[TagRow]:
        with self.read() as conn:
            rows = conn.execute(select(t.tags).order_by(t.tags.c.id)).mappings()
            return [TagRow(r["id"], r["name"], r["kind"], list(r["aliases"]), r["parent"]) for r in rows]

    def story_tags(self) -> list[StoryTag]:
        with self.read() as conn:
            rows = conn.execute(select(t.story_tags).order_by(
                t.story_tags.c.story_id, t.story_tags.c.weight.desc(), t.story_tags.c.tag_id))
            return [StoryTag(**r) for r in rows.mappings()]

    # --- written articles -------------------------------------------------

    def written_hashes(self, story_ids: Sequence[str] | None = None
                       ) -> dict[tuple[str, str], tuple[str, str]]:
        w = t.written.c
        query = select(w.story_id, w.format, w.stage, w.input_hash)
        with self.read() as conn:
            if story_ids is None:
                rows = list(conn.execute(query))
            else:
                ids = list(story_ids)
                rows = [r for i in range(0, len(ids), 500)
                        for r in conn.execute(query.where(w.story_id.in_(ids[i : i + 500])))]
            return {(r.story_id, r.format): (r.stage, r.input_hash) for r in rows}

    def put_written(self, story_id: str, written: Written, stage_tag: str, input_hash: str) -> None:
        self.put_written_many(story_id, [(written, stage_tag, input_hash)])

    def put_written_many(self, story_id: str, items: Sequence[tuple[Written, str, str]]) -> None:
        """Formats of one story (each with its stage tag and input hash), in one transaction."""
        rows = [{"story_id": story_id, "format": w.format, "data": w.to_json(), "stage": tag,
                 "input_hash": h, "built": w.provenance.built} for w, tag, h in items]
        with self.tx() as conn:
            changes.touch(conn, [story_id])
            conn.execute(delete(t.written).where(
                (t.written.c.story_id == story_id) & t.written.c.format.in_([r["format"] for r in rows])))
            conn.execute(insert(t.written), rows)

    def written(self) -> dict[str, dict[str, Written]]:
        out: dict[str, dict[str, Written]] = {}
        with self.read() as conn:
            for r in conn.execute(select(t.written)).mappings():
                out.setdefault(r["story_id"], {})[r["format"]] = Written.from_json(r["data"])
        return out

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        out = {}
        with self.read() as conn:
            for name, table in (("raw", t.raw_docs), ("articles", t.articles),
                                ("stories", t.stories), ("tags", t.tags),
                                ("rejects", t.rejects)):
                out[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
            out["duplicates"] = conn.execute(
                select(func.count()).select_from(t.dedupe)
                .where(t.dedupe.c.duplicate_of.is_not(None))).scalar_one()
        return out


def _article_from_row(r: Any) -> Article:
    meta = dict(r["meta"])
    published = datetime.fromisoformat(r["published"]) if r["published"] else None
    extra = {k: meta[k] for k in _ARTICLE_META if k in meta}
    return Article(id=r["id"], url=r["url"], title=r["title"], text=r["text"], source=r["source"],
                   lang=r["lang"], published=published, **extra)


# Article fields kept in the ``meta`` JSON column (everything but the columns).
_ARTICLE_META = [f.name for f in fields(Article)
                 if f.name not in {"id", "url", "title", "text", "source", "lang", "published"}]

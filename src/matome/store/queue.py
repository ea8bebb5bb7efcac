"""Work queues: what each stage still has to look at, written in the transaction that made it.

A new raw document queues its extraction, an article its analysis, and so
on down the stages, each in the same transaction as the write that makes
the work, so a run killed anywhere neither loses nor repeats an item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update

from matome.store import schema as t

# Items are read and deleted in chunks: a queue of a million (after a stage
# version change) never becomes one statement or one list of parameters.
CHUNK = 500


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose primary key is already there (both dialects)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        conn.execute(lite_insert(table).on_conflict_do_nothing(), rows)


def upsert(conn: Connection, table: Table, row: dict[str, Any], keys: list[str]) -> None:
    """Insert a row, or update the one with the same ``keys`` (both dialects), in one
    statement: a DELETE then INSERT lets two workers doing it at once both insert, and one
    fails on the primary key (PostgreSQL, READ COMMITTED)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        ins: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        ins = lite_insert(table)
    conn.execute(ins.values(**row).on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}))


def enqueue(conn: Connection, stage: str, items: Iterable[str], *, release: bool = True) -> None:
    """Queue items for a stage, in the caller's transaction (with the write that made them).

    An item queued again while a worker holds it (its input changed under the worker) loses
    its lease (``release``): that worker's dequeue no longer removes it, so the new input is
    not lost."""
    rows = [{"stage": stage, "item": t.bounded(str(i))} for i in dict.fromkeys(items)]
    q = t.work_queue.c
    for i in range(0, len(rows), CHUNK):
        if not release:
            insert_ignore(conn, t.work_queue, rows[i : i + CHUNK])
            continue
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            ins: Any = pg_insert(t.work_queue)
        else:
            from sqlalchemy.dialects.sqlite import insert as lite_insert

            ins = lite_insert(t.work_queue)
        conn.execute(ins.on_conflict_do_update(
            index_elements=[q.stage, q.item], set_={"leased_by": None, "lease_until": None},
            where=q.leased_by.is_not(None)), rows[i : i + CHUNK])


def dequeue(conn: Connection, stage: str, items: Iterable[str], worker: str | None = None) -> None:
    """Done with these items; a ``worker`` removes only those it still holds."""
    keys = [t.bounded(str(i)) for i in items]
    q = t.work_queue.c
    for i in range(0, len(keys), CHUNK):
        where = (q.stage == stage) & q.item.in_(keys[i : i + CHUNK])
        if worker is not None:
            where &= q.leased_by == worker
        conn.execute(delete(t.work_queue).where(where))


def clear_reject(conn: Connection, origin: str, location: str, stage: str) -> None:
    """Forget ``stage``'s reject of one item (``origin``, ``location``): it is being stored
    anew, or refused again."""
    clear_rejects(conn, [(origin, location)], stage)


def forget_rejects(conn: Connection, origins: Sequence[str], stage: str) -> None:
    """Forget ``stage``'s rejects of everything from these origins (a source read again)."""
    r = t.rejects.c
    for i in range(0, len(origins), CHUNK):
        conn.execute(delete(t.rejects).where(r.origin.in_(origins[i : i + CHUNK]) & (r.stage == stage)))


def clear_rejects(conn: Connection, items: Sequence[tuple[str, str]], stage: str) -> None:
    """``clear_reject`` of several items (origin, location), one statement executed for all."""
    if not items:
        return
    r = t.rejects.c
    conn.execute(delete(t.rejects).where((r.origin == bindparam("o")) & (r.location == bindparam("l"))
                                         & (r.stage == stage)), [{"o": o, "l": loc} for o, loc in items])


def db_now(conn: Connection) -> datetime:
    """The database's clock (naive UTC) on PostgreSQL, so that workers on machines whose clocks
    differ agree on when a lease lapses; SQLite's database is on this machine."""
    if conn.dialect.name == "postgresql":
        return conn.execute(select(func.timezone("UTC", func.now()))).scalar_one()
    return datetime.now(UTC).replace(tzinfo=None)


def lease(conn: Connection, stage: str, worker: str, n: int, now: datetime, until: datetime,
          only: str | None = None) -> list[str]:
    """Take up to ``n`` items of ``stage`` no live lease holds, for ``worker`` until ``until``.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED``: workers taking items at the same moment each get
    other rows, none waits for another. In key order, which the primary key's index gives
    without sorting the queue."""
    q = t.work_queue.c
    query = (select(q.item).where((q.stage == stage) & (q.lease_until.is_(None) | (q.lease_until < now)))
             .order_by(q.item).limit(n))
    if only is not None:
        query = query.where(q.item == t.bounded(only))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    items = [r.item for r in conn.execute(query)]
    for i in range(0, len(items), CHUNK):
        conn.execute(update(t.work_queue).where((q.stage == stage) & q.item.in_(items[i : i + CHUNK]))
                     .values(leased_by=worker, lease_until=until))
    return items


def renew(conn: Connection, stage: str, worker: str, items: Iterable[str], until: datetime) -> None:
    """Push back the expiry of the items of these ``worker`` still holds."""
    keys = list(items)
    q = t.work_queue.c
    for i in range(0, len(keys), CHUNK):
        conn.execute(update(t.work_queue).where(
            (q.stage == stage) & (q.leased_by == worker) & q.item.in_(keys[i : i + CHUNK]))
            .values(lease_until=until))


def waiting_on_others(conn: Connection, stages: Iterable[str], worker: str) -> int:
    """Items of these stages not held by ``worker``: free ones, lapsed ones and those other
    workers hold. The ordered writer starts when this is 0 (it sees every report at once)."""
    q = t.work_queue.c
    return int(conn.execute(select(func.count()).select_from(t.work_queue).where(
        q.stage.in_(list(stages)) & (q.leased_by.is_(None) | (q.leased_by != worker)))).scalar() or 0)

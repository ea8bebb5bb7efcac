"""Work queues: what each stage still has to look at, written in the transaction that made it.

A new raw document queues its extraction, an article its analysis, and so
on down the stages, each in the same transaction as the write that makes
the work, so a run killed anywhere neither loses nor repeats an item.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, delete

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


def enqueue(conn: Connection, stage: str, items: Iterable[str]) -> None:
    """Queue items for a stage, in the caller's transaction (with the write that made them)."""
    rows = [{"stage": stage, "item": t.bounded(str(i))} for i in dict.fromkeys(items)]
    for i in range(0, len(rows), CHUNK):
        insert_ignore(conn, t.work_queue, rows[i : i + CHUNK])


def dequeue(conn: Connection, stage: str, items: Iterable[str]) -> None:
    keys = [t.bounded(str(i)) for i in items]
    q = t.work_queue.c
    for i in range(0, len(keys), CHUNK):
        conn.execute(delete(t.work_queue).where((q.stage == stage) & q.item.in_(keys[i : i + CHUNK])))



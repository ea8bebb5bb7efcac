"""Several workers on one database: leased queue items and the one ordered writer.

A worker takes a batch of a stage's queue (``queue.lease``: ``SELECT … FOR
UPDATE SKIP LOCKED`` on PostgreSQL) and marks it with its name and an expiry;
while it runs the stage over them the store shows it only those items
(``WorkStore.held``), each result it stores removes its item and renews the
rest. A worker killed while holding items stops renewing: once the lease
lapses another worker takes them, and since every stage skips what it
already stored (stage tag and input hash), nothing is done twice or lost.

The stages that must see reports in order (dedupe decisions, story
assignment, tags, writing, the site index) have one writer at a time: the
holder of a PostgreSQL advisory lock, held on a connection of its own so that
a killed writer's lock goes with its connection.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select

from matome.settings import ScaleSettings
from matome.store import queue
from matome.store import schema as t
from matome.store.database import Store
from matome.store.work import Held

# pg_advisory_lock takes a 64-bit key; this one is matome's ordered writer.
WRITER_KEY = zlib.crc32(b"matome:ordered-writer")


def worker_name() -> str:
    """Unique per process and the same for its life (a ``watch`` process keeps the items it
    left queued as its own), readable in the queue table: host, pid, a random tag."""
    return _name(os.getpid())


@lru_cache(maxsize=1)
def _name(pid: int) -> str:
    return f"{socket.gethostname()[:40]}:{pid}:{uuid.uuid4().hex[:8]}"


def shared(store: Store) -> bool:
    """Whether other workers may use this database at once (PostgreSQL); SQLite keeps the
    single-process behaviour (its one writer already orders everything)."""
    return store.engine.dialect.name == "postgresql"


class Worker:
    """One worker's leases on one store."""

    def __init__(self, store: Store, settings: ScaleSettings, *, batch: int = 0,
                 name: str | None = None) -> None:
        self.store, self.settings = store, settings
        self.batch = max(batch, settings.lease_batch)  # an engine's window, when larger
        self.name = name or worker_name()

    @contextmanager
    def holding(self, stage: str) -> Iterator[list[str]]:
        """Take the next batch of ``stage``'s queue; the store shows the stage only these
        while the block runs. Items left queued (an id clash) stay leased until the lease
        lapses, then anyone's: not taken again in a loop by this worker."""
        with self.store.tx() as conn:
            now = queue.db_now(conn)
            items = queue.lease(conn, stage, self.name, self.batch, now,
                                now + timedelta(seconds=self.settings.lease_s))
        self.store.held = Held(stage, self.name, set(items), self.settings.lease_s)
        try:
            yield items
        finally:
            self.store.held = None

    def wait_for_others(self, stages: tuple[str, ...], drain: Callable[[], None]) -> None:
        """Until every item of these stages is done or held by this worker (left queued: an id
        clash); ``drain`` takes up what becomes free meanwhile, a killed worker's lapsed
        items included."""
        while True:
            drain()
            with self.store.tx() as conn:
                if not queue.waiting_on_others(conn, stages, self.name):
                    return
            time.sleep(min(1.0, self.settings.lease_s / 10))

    # --- polls (``matome watch``): one worker polls a source at a time ---------------

    def claim_poll(self, source: str, *, schedule: bool = True,
                   since: datetime | None = None) -> datetime | None:
        """Lease the poll of ``source``: None when this worker may poll it now, else when to
        look again (another worker holds it; with ``schedule``, polled it already and recorded
        its next poll; with ``since`` (a single pass's start, naive UTC), polled it since)."""
        with self.store.tx() as conn:
            now = queue.db_now(conn)
            queue.enqueue(conn, "poll", [source], release=False)
            if not queue.lease(conn, "poll", self.name, 1, now,
                               now + timedelta(seconds=self.settings.lease_s), only=source):
                return now + timedelta(seconds=min(self.settings.lease_s, 30.0))
            h = t.source_health.c
            row = conn.execute(select(h.next_poll, h.last_poll).where(h.name == source)).first()
            due, last = (row.next_poll, row.last_poll) if row is not None else (None, None)
            if schedule and due is not None and due > now:
                queue.dequeue(conn, "poll", [source], self.name)
                return due
            # two single passes (`watch --once`) started together poll a source once, however
            # late the second gets here (under load it found the first's lease already gone)
            if since is not None and last is not None and last >= since:
                queue.dequeue(conn, "poll", [source], self.name)
                return due or now
        return None

    def renew_poll(self, source: str) -> None:
        with self.store.tx() as conn:
            queue.renew(conn, "poll", self.name, [source],
                        queue.db_now(conn) + timedelta(seconds=self.settings.lease_s))

    def release_poll(self, source: str) -> None:
        with self.store.tx() as conn:
            queue.dequeue(conn, "poll", [source], self.name)

    @contextmanager
    def ordered_writer(self, wait: bool = True) -> Iterator[bool]:
        """Be the one ordered writer (the PostgreSQL advisory lock): waited for, or with
        ``wait=False`` tried once; yields whether this worker is the writer."""
        if not shared(self.store):
            yield True
            return
        with self.store.engine.connect() as conn:
            if wait:
                conn.execute(select(func.pg_advisory_lock(WRITER_KEY)))
                got = True
            else:
                got = bool(conn.execute(select(func.pg_try_advisory_lock(WRITER_KEY))).scalar())
            conn.commit()  # a session lock: it outlives this (empty) transaction
            try:
                yield got
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(WRITER_KEY)))
                    conn.commit()

"""How a batch runs: each item isolated, progress reported, work taken from the store's queues.

Every stage of ``process`` handles its items through these: what one item
raises becomes its recorded reject and the batch goes on (``isolated``);
only the store or the configuration failing stops a run (``FATAL``). A
stage's items come from its queue in the store (``queue``), filled as input
arrives, so a run reads what is new, not the archive.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from matome import worker
from matome.errors import RecordError
from matome.settings import Settings
from matome.store import Store
from matome.worker import reason

T = TypeVar("T")
X = TypeVar("X")
Y = TypeVar("Y")


class Progress(Protocol):
    def start(self, stage: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def error(self, err: RecordError) -> None: ...


class Quiet:
    def start(self, stage: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def error(self, err: RecordError) -> None: ...


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[RecordError] = field(default_factory=list)


def checkpoint(stage: str, done: int) -> None:
    """Test hook: ``MATOME_FAULT_AT=stage:N`` SIGKILLs the process after N commits."""
    spec = os.environ.get("MATOME_FAULT_AT", "")
    if spec and spec == f"{stage}:{done}":
        os.kill(os.getpid(), signal.SIGKILL)


def reject(store: Store, report: Report, progress: Progress, err: RecordError,
            stage: str, tag: str | None = None, input_hash: str | None = None) -> None:
    store.record_reject(err.origin, err.location, stage, err.reason, stage_tag=tag,
                        input_hash=input_hash)
    report.errors.append(err)
    report.counts["rejected"] += 1
    progress.error(err)


# What stops a run: the store or the configuration failing. Anything else one item
# raises is that item's reject, and the batch goes on.
FATAL = (*worker.STOPS, SQLAlchemyError)


@contextmanager
def isolated(store: Store, report: Report, progress: Progress, stage: str, origin: str,
             location: str = "", *, tag: str | None = None, input_hash: str | None = None
             ) -> Iterator[None]:
    """One item's work in ``stage``: what it raises becomes its recorded reject (stage, item,
    exception type and message); with ``tag`` and ``input_hash`` the item is set aside until
    either changes (``store.set_aside``), so a re-run neither retries it forever nor loses it."""
    try:
        yield
    except FATAL:
        raise
    except Exception as exc:
        err = exc if isinstance(exc, RecordError) else RecordError(reason(exc))
        err.origin, err.location = origin, location
        reject(store, report, progress, err, stage, tag, input_hash)


def queue(store: Store, stage: str, key: str) -> list[str]:
    """What ``stage`` has to look at: its queue, or everything once when ``key`` (its code
    version and the settings it reads) differs from the key the queue was filled under."""
    rekey(store, stage, key)
    return store.queued(stage)


def rekey(store: Store, stage: str, key: str) -> None:
    """Queue all of ``stage`` once when ``key`` differs from the key its queue was filled
    under. Idempotent, so two workers doing it at once queue each item once."""
    if store.stage_key(stage) != key:
        store.requeue_all(stage)
        store.set_stage_key(stage, key)


@contextmanager
def alongside(stage: Callable[[Store, Settings, Progress, Report], None], store: Store,
              settings: Settings, progress: Progress, report: Report) -> Iterator[None]:
    """Run ``stage`` in a thread of this process while the body runs; both done on leaving.

    For two stages that read nothing the other writes (dedupe reads articles while analysis
    stores analyses): the body keeps the worker processes busy and mostly waits on them, so
    this process's share of the cores goes to ``stage`` instead of idling. (Tags beside
    writing gained nothing: writing's own loop here is busy, and the two share one GIL.)
    Each commits its own items as it goes, so a kill leaves both resumable. The thread has
    its own counts (merged here) and its own line of ``progress`` (a progress made for one
    thread at a time sees the thread's stage start); what it raises is raised here.
    """
    own = Report()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            stage(store, settings, progress, own)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=run, name=f"matome-{stage.__name__}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        report.counts.update(own.counts)
        report.errors.extend(own.errors)
    if failed:
        raise failed[0]


def chunked(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SetAside:
    """What a stage refused at its current version, per item (``Store.set_aside``): skipped
    while its input is the one it failed on, its reject forgotten once it succeeds."""

    def __init__(self, store: Store, stage: str, tag: str) -> None:
        self.store, self.stage = store, stage
        self.failed = store.set_aside(stage, tag)

    def holds(self, item: str, input_hash: str | None) -> bool:
        return item in self.failed and self.failed[item] == input_hash

    def passed(self, item: str, origin: str | None = None) -> None:
        """``item`` succeeded: a reject it had (recorded under ``origin``) no longer stands."""
        if item in self.failed:
            self.store.forget_rejects(origin or item, self.stage)


# --- per-item work computed apart from where it is stored ---------------------


class Engine(Protocol):
    """Where per-item work runs: ``map`` yields each item with ``fn(item, settings)``, in the
    order given, lazily (the caller stores each result before asking for the next window).
    ``model``: ``fn`` loads a model, so it runs where one stays loaded (a Ray actor)."""

    window: int  # items an engine wants at a time (a lease batch at least this large)

    def map(self, fn: Callable[[X, Settings], Y], items: Iterable[X], settings: Settings, *,
            model: bool = False) -> Iterator[tuple[X, Y]]: ...

    def idle(self) -> None:
        """The per-item work of this ``process`` call is done: what the engine holds only for
        it may go now (the ordered writer's last stage needs no workers)."""


class Local:
    """On this machine: in this process, or — with ``workers`` > 1 and at least ``pool_min``
    items to do — in that many worker processes, results still yielded in the order given.

    Why processes: extraction (lxml, trafilatura) and analysis (Sudachi) hold the GIL, and the
    embedder's own threads leave most of a second core idle on short leads; two processes
    use two cores for the whole per-article path. A small batch (a ``watch`` cycle) stays in
    this process: starting a worker (imports, Sudachi's dictionary, the embedder) costs
    seconds. Workers start once per engine (``close`` ends them), by ``spawn`` (this process
    may run fetch threads: ``fork`` would copy their locks). A worker that dies (a crash in a
    C library, the memory killer) breaks the pool: what was in flight then runs here, one
    item at a time, as before pools.
    """

    window = 0

    def __init__(self, workers: int = 1, pool_min: int = 64, *, transient: bool = False) -> None:
        self.workers, self.pool_min = workers, pool_min
        # made for one ``process`` call: its workers may go once the last stage that uses
        # them is done (an engine a caller passes in keeps them for the caller's next call)
        self.transient = transient
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False  # a worker died: the rest of this engine's work runs here
        self._leaving: list[threading.Thread] = []  # pools let go, their workers still exiting

    def map(self, fn: Callable[[X, Settings], Y], items: Iterable[X], settings: Settings, *,
            model: bool = False) -> Iterator[tuple[X, Y]]:
        if self.workers <= 1:
            return ((x, fn(x, settings)) for x in items)
        return self._pooled(fn, iter(items), settings)

    def _pooled(self, fn: Callable[[X, Settings], Y], items: Iterator[X],
                settings: Settings) -> Iterator[tuple[X, Y]]:
        head = list(islice(items, self.pool_min))
        if self._broken or (len(head) < self.pool_min and self._pool is None):
            yield from ((x, fn(x, settings)) for x in chain(head, items))
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=worker.start, initargs=(settings,))
        pending: deque[tuple[X, Future[Y]]] = deque()
        ahead = self.workers * 4  # enough to keep every worker busy, little read ahead
        for x in chain(head, items):
            pending.append((x, self._submit(fn, x, settings)))
            while len(pending) > ahead or (pending and pending[0][1].done()):
                yield self._result(fn, settings, *pending.popleft())
        while pending:
            yield self._result(fn, settings, *pending.popleft())

    def _submit(self, fn: Callable[[X, Settings], Y], x: X, settings: Settings) -> Future[Y]:
        if self._pool is not None:
            try:
                return self._pool.submit(worker.call, fn, x)
            except BrokenProcessPool:
                self._broken = True
                self.close()
        done: Future[Y] = Future()
        done.set_result(fn(x, settings))
        return done

    def _result(self, fn: Callable[[X, Settings], Y], settings: Settings, x: X,
                fut: Future[Y]) -> tuple[X, Y]:
        try:
            return x, fut.result()
        except BrokenProcessPool:  # as in _submit: the pool is gone, the rest runs here
            self._broken = True
            self.close()
            return x, fn(x, settings)

    def idle(self) -> None:
        # only an engine made for one ``process`` call: one a caller passes in keeps its workers
        if self.transient:
            self.release()

    def release(self) -> None:
        """Let the workers go without waiting for them to exit (half a second for two): what
        this process does next overlaps their exit. A later ``map`` starts new ones."""
        if self._pool is not None and not self._broken:
            leaving = threading.Thread(target=self._pool.shutdown, daemon=True)
            leaving.start()
            self._leaving.append(leaving)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not self._broken, cancel_futures=True)
            self._pool = None
        for leaving in self._leaving:
            leaving.join()
        self._leaving.clear()

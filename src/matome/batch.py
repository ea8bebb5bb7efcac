"""How a batch runs: each item isolated, progress reported, work taken from the store's queues.

Every stage of ``process`` handles its items through these: what one item
raises becomes its recorded reject and the batch goes on (``isolated``);
only the store or the configuration failing stops a run (``FATAL``). A
stage's items come from its queue in the store (``queue``), filled as input
arrives, so a run reads what is new, not the archive.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from matome.errors import RecordError, StoreError, UsageError
from matome.settings import Settings
from matome.store import Store

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
FATAL = (StoreError, UsageError, SQLAlchemyError)


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
    if store.stage_key(stage) != key:
        store.requeue_all(stage)
        store.set_stage_key(stage, key)
    return store.queued(stage)


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


def reason(exc: Exception) -> str:
    """What an item's reject says of the exception it raised (``isolated``)."""
    return exc.reason if isinstance(exc, RecordError) else f"{type(exc).__name__}: {exc}"[:1000]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One item's result, or the reason it failed: computed where the work runs (here or on a
    Ray worker), turned into the same recorded reject where it is stored (``get`` inside
    ``isolated`` raises it)."""

    value: T | None = None
    error: str | None = None

    def get(self) -> T:
        if self.error is not None:
            raise RecordError(self.error)
        return self.value  # type: ignore[return-value]


def attempt(fn: Callable[..., T], *args: object) -> Outcome[T]:
    try:
        return Outcome(fn(*args))
    except FATAL:
        raise
    except Exception as exc:
        return Outcome(error=reason(exc))


class Engine(Protocol):
    """Where per-item work runs: ``map`` yields each item with ``fn(item, settings)``, in the
    order given, lazily (the caller stores each result before asking for the next window).
    ``model``: ``fn`` loads a model, so it runs where one stays loaded (a Ray actor)."""

    window: int  # items an engine wants at a time (a lease batch at least this large)

    def map(self, fn: Callable[[X, Settings], Y], items: Iterable[X], settings: Settings, *,
            model: bool = False) -> Iterator[tuple[X, Y]]: ...


class Local:
    """In this process, one item at a time as the caller asks (the default engine)."""

    window = 0

    def map(self, fn: Callable[[X, Settings], Y], items: Iterable[X], settings: Settings, *,
            model: bool = False) -> Iterator[tuple[X, Y]]:
        return ((x, fn(x, settings)) for x in items)

"""What runs in an engine's worker process: each item's ``Outcome``, and the worker's start.

Kept apart from ``matome.batch`` (queues, rejects, the engines) and from the store: a
worker process imports this, the per-item functions (``matome.tasks``) and the fields
they use, never SQLAlchemy, the store or the story stages, which cost each worker half a
second of its start (``import matome.pipeline`` 1.08 s, ``matome.tasks`` 0.6 s).
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from matome.errors import RecordError, StoreError, UsageError
from matome.settings import Settings

__all__ = ["ANALYZE_GROUP", "EXTRACT_GROUP", "STOPS", "Outcome", "attempt", "call", "fatal", "reason",
           "start", "tune_gc"]

T = TypeVar("T")
X = TypeVar("X")
Y = TypeVar("Y")


# What one task of the per-article stages holds: up to this many raw documents to extract (a
# feed entry takes less time to extract than to send to a worker and back), and this many
# reports to analyse (the embedder's batch). An engine sizes its windows by them.
EXTRACT_GROUP = 8
ANALYZE_GROUP = 16

# Python's cycle collector looks at its youngest objects every 700 allocations of objects
# that may hold others (a default from days of small heaps), and every so often at the whole
# heap. In ``process`` with 1,000 new reports (a 10k archive, ``bench/archive_scale.py``,
# counted with ``gc.callbacks``) that was about 9,000 collections, 63 of the whole heap
# (~90 ms each in a worker), 7.8 s of 79 s of CPU; at every 50,000: 0.6 s, peak RSS +3 MiB.
# Cycles are still collected, later (and ``process`` collects fully between stages).
GC_YOUNG = 50_000


def tune_gc() -> None:
    """The collector's first threshold raised to ``GC_YOUNG`` (the others as they are): for
    each matome process, the CLI's and each worker's."""
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


# What stops a run rather than failing one item: the store or the configuration failing.
# ``batch.FATAL`` adds SQLAlchemy's errors, which a worker (no SQLAlchemy imported) never meets.
STOPS = (StoreError, UsageError)


def fatal(exc: BaseException) -> bool:
    """Whether ``exc`` stops the run (``batch.FATAL``), wherever it was raised."""
    if isinstance(exc, STOPS):
        return True
    sa = sys.modules.get("sqlalchemy.exc")
    return sa is not None and isinstance(exc, sa.SQLAlchemyError)


def reason(exc: Exception) -> str:
    """What an item's reject says of the exception it raised (``batch.isolated``)."""
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
    except Exception as exc:
        if fatal(exc):
            raise
        return Outcome(error=reason(exc))


_SETTINGS: Settings | None = None


def start(settings: Settings) -> None:
    """A worker process: settings once (not pickled with every item), the embedder on one
    thread (the other workers have the other cores), SIGINT left to the parent."""
    global _SETTINGS
    _SETTINGS = settings
    tune_gc()
    os.environ["OMP_NUM_THREADS"] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:  # a parent killed outright (SIGKILL) leaves no one to stop us: go too
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def call(fn: Callable[[X, Settings], Y], x: X) -> Y:
    assert _SETTINGS is not None
    return fn(x, _SETTINGS)

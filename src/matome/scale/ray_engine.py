"""``matome process --engine ray``: extract and analyze as Ray Data pipelines.

The driver (the ``process`` command) reads a window of work from the store —
raw documents to extract, batches of reports to analyze — and sends it to the
cluster as a dataset: extraction as ``map_batches`` tasks (stateless, retried
on another worker if one dies), analysis in an actor pool (``concurrency``
actors, each loading the embedder once and able to ask for a GPU). Results
come back in the order sent (``preserve_order``) and the pipeline stores them
with the same stage tags and input hashes as the local engine, one window
after another: a killed driver leaves the rest queued, a killed Ray worker's
task is run again, and nothing is stored twice (every store skips what it
already holds).

What one item raises is caught inside its task and comes back as its
``Outcome`` (the reason), so a poison article becomes the same recorded,
set-aside reject as under the local engine. Dedupe decisions, story
assignment, storylines, tags and writing stay in the driver: each depends on
the order reports arrive in (which copy is the original, which story a
report joins), so one writer runs them over everything stored.

Items travel pickled in a binary column: Ray Data's rows are columns, matome's
records are dataclasses.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

import numpy as np

from matome.errors import MatomeError, UsageError
from matome.settings import ScaleSettings, Settings
from matome.worker import ANALYZE_GROUP, EXTRACT_GROUP

X = TypeVar("X")
Y = TypeVar("Y")



@dataclass
class Timing:
    """Where a run's time went, per stage function: windows sent, items, seconds from sending a
    window to its last result (the caller's storing of each result included) and to its first
    (for ``bench/engines.py``: Ray's overhead per window)."""

    windows: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    first_result: dict[str, float] = field(default_factory=dict)  # summed: start-up per window

    def add(self, name: str, items: int, seconds: float, first: float) -> None:
        self.windows[name] = self.windows.get(name, 0) + 1
        self.items[name] = self.items.get(name, 0) + items
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.first_result[name] = self.first_result.get(name, 0.0) + first


def _apply(batch: dict[str, np.ndarray], fn: Callable[[Any, Settings], Any],
           settings: Settings) -> dict[str, np.ndarray]:
    """A stateless task: each item of the batch through ``fn`` (which catches per item)."""
    out = [pickle.dumps(fn(pickle.loads(x), settings)) for x in batch["x"]]
    return {"i": batch["i"], "y": np.array(out, dtype=object)}


class _Model:
    """An actor of the pool: ``fn``'s model (the embedder, cached per process) is loaded on
    its first batch and kept for every later one this actor is given."""

    def __init__(self, fn: Callable[[Any, Settings], Any], settings: Settings) -> None:
        self.fn, self.settings = fn, settings

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _apply(batch, self.fn, self.settings)


class RayEngine:
    """An ``Engine`` (``matome.batch``) on a Ray cluster: ``address`` as ``ray.init`` takes it
    ('auto', 'ray://host:10001', or none for a cluster of this machine's CPUs). An already
    initialised Ray (a test's, a notebook's) is used as it is."""

    def __init__(self, scale: ScaleSettings, address: str | None = None) -> None:
        try:
            import ray
            from ray.data import DataContext
        except ImportError as exc:
            raise UsageError("--engine ray needs Ray: pip install 'matome[ray]'") from exc
        self.ray = ray
        self.scale = scale
        self.window = scale.ray_window
        self.owned = not ray.is_initialized()
        if self.owned:
            try:
                ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise UsageError(f"--engine ray: cannot reach a Ray cluster at {address!r}: {exc}") from exc
        ctx = DataContext.get_current()
        ctx.execution_options.preserve_order = True  # results are stored in the order sent
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        self.timing = Timing()

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()

    def idle(self) -> None:
        """Nothing to let go between stages: the cluster and its actors outlive a ``process``
        call, and ``close`` ends what this engine started."""

    def actors(self) -> int:
        if self.scale.ray_actors > 0:
            return self.scale.ray_actors
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable[[X, Settings], Y], items: Iterable[X], settings: Settings, *,
            model: bool = False) -> Iterator[tuple[X, Y]]:
        it = iter(items)
        # items are tasks of several raw documents or reports: a window is about ``ray_window`` of them
        size = max(1, self.window // (ANALYZE_GROUP if model else EXTRACT_GROUP))
        while True:
            window = list(islice(it, size))
            if not window:
                return
            yield from zip(window, self._run(fn, window, settings, model), strict=True)

    def _run(self, fn: Callable[[X, Settings], Y], window: list[X], settings: Settings,
             model: bool) -> Iterator[Y]:
        started = time.monotonic()
        first: float | None = None
        rows = [{"i": i, "x": pickle.dumps(x)} for i, x in enumerate(window)]
        per_task = 1 if model else max(1, self.scale.ray_extract_batch // EXTRACT_GROUP)  # of tasks
        ds = self.ray.data.from_items(rows, override_num_blocks=max(1, -(-len(rows) // per_task)))
        if model:
            out = ds.map_batches(_Model, fn_constructor_kwargs={"fn": fn, "settings": settings},
                                 batch_size=1, batch_format="numpy",
                                 compute=self.ray.data.ActorPoolStrategy(min_size=1, max_size=self.actors()),
                                 num_gpus=self.scale.ray_actor_gpus or None)
        else:
            apply: Any = _apply  # Ray's stubs know no fn_kwargs
            out = ds.map_batches(apply, fn_kwargs={"fn": fn, "settings": settings},
                                 batch_size=per_task, batch_format="numpy")
        expect = 0
        for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
            if first is None:
                first = time.monotonic() - started
            for i, y in zip(batch["i"], batch["y"], strict=True):
                if int(i) != expect:  # preserve_order is what makes the stores match the local engine's
                    raise MatomeError(f"Ray returned item {int(i)} where {expect} was expected")
                expect += 1
                yield pickle.loads(y)
        if expect != len(window):
            raise MatomeError(f"Ray returned {expect} of {len(window)} items")
        self.timing.add(getattr(fn, "__name__", "map"), len(window), time.monotonic() - started,
                        first or 0.0)

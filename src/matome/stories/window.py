"""The clusterer's state between runs: a saved snapshot, or the active window replayed.

Story assignment must see reports in order against the stories active in
the join window (and the storylines that outlive them). Replaying every
membership ever made would cost what the archive holds; instead the state
is saved after each run and restored at the start of the next. A snapshot
counts only when it was made by this code and these settings and reflects
the last report assigned in the store (copies placed with their original do
not change it) (a run killed after assigning but before
saving, or a report re-extracted out of its story, leaves it behind); any
other case rebuilds the state from the stories active in the window.

The snapshot is a pickle of the clusterer: it is written and read only by
matome, in matome's own store, which is trusted like the code (whoever can
write the store can already change what is published). It is never made
from or mixed with input.
"""

from __future__ import annotations

import copyreg
import pickle
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import IO, Any

from matome.records import Article, digest
from matome.settings import ClusterSettings
from matome.store import Store
from matome.stories import cluster
from matome.stories.members import reports

# How a batch of reports becomes their features (those with an analysis), by article id.
Features = Callable[[list[Article]], dict[str, cluster.Features]]

NAME = "cluster"
REPLAY_CHUNK = 500  # reports read at a time when the state is rebuilt
FORMAT = 2  # bump when the clusterer's attributes change shape (2: words interned)


def key(cfg: ClusterSettings) -> str:
    return digest(NAME, FORMAT, cluster.STAGE.tag, cfg)


def current(store: Store, cfg: ClusterSettings) -> bool:
    """Whether the saved snapshot would be restored, read without the snapshot itself."""
    return _fits(store, cfg, store.snapshot_mark(NAME))


def _fits(store: Store, cfg: ClusterSettings, mark: tuple[str, int] | None) -> bool:
    """A snapshot saved under ``mark`` (key, seq) is of this code and these settings and
    reflects the last report assigned."""
    return mark == (key(cfg), store.max_seq("member"))


def restore(store: Store, cfg: ClusterSettings,
            feats: Features) -> tuple[cluster.Clusterer, bool]:
    """The clusterer as the last run left it, and whether it came from a snapshot."""
    if _fits(store, cfg, store.snapshot_mark(NAME)):
        # through a file, as it was saved: the pickle is not in memory beside what it makes
        with tempfile.TemporaryFile() as f:
            mark = store.snapshot_to(NAME, f)
            f.seek(0)
            try:
                state = pickle.load(f) if _fits(store, cfg, mark) else None
                if isinstance(state, cluster.Clusterer):
                    state.cfg = cfg
                    return state, True
            except (pickle.UnpicklingError, AttributeError, EOFError, ImportError, TypeError):
                pass  # a snapshot from other code: rebuilt below
    return rebuild(store, cfg, feats), False


def rebuild(store: Store, cfg: ClusterSettings,
            feats: Features) -> cluster.Clusterer:
    """Replay, in the order they were made, the memberships of every story with a report in
    the join and storyline windows before the newest report (undated ones included): what a
    replay of the whole history leaves active, without reading the rest of it."""
    clusterer = cluster.Clusterer(cfg)
    newest = store.newest_member()
    since = newest - timedelta(days=cfg.window_days + cfg.storyline_days + 1) if newest else None
    members = [m for m in store.active_memberships(since) if m.role == "member"]
    lines = store.storylines_of(sorted({m.story_id for m in members}))
    # A chunk of reports and analyses at a time: the window holds tens of thousands of them
    # (35 days at the default settings), and all of them read at once were 1 GB of a run's
    # 2 GB peak at 100k stored articles; the clusterer keeps only each story's aggregates.
    for i in range(0, len(members), REPLAY_CHUNK):
        chunk = members[i : i + REPLAY_CHUNK]
        got = feats(reports(store.reports_of([m.article_id for m in chunk])))
        for m in chunk:
            if m.article_id in got:
                clusterer.restore(m.story_id, got[m.article_id], lines.get(m.story_id))
    return clusterer


def counts(keys: tuple[Any, ...], values: tuple[int, ...]) -> Counter[Any]:
    """A saved Counter, its words interned (``_counter``)."""
    return Counter(dict(zip(map(_intern, keys), values, strict=True)))


def _intern(x: Any) -> Any:
    return sys.intern(x) if type(x) is str else x


def _counter(c: Counter[Any]) -> tuple[Any, ...]:
    """A Counter as its keys and counts, interned again on load. Its own ``__reduce__`` gives
    a dict copy of it, which the pickler's memo keeps to the end of the dump: every Counter
    of the state stood twice in memory while it was saved (the 100k bench store's state:
    86 MiB allocated while it was pickled that way, 77 as keys and counts, tracemalloc).
    And a saved state's strings load as objects of their own, not the interned ones new
    reports' features carry (``cluster.features``): each run's words would stand beside
    the last's, a word counted in every run of the window held once per run."""
    return counts, (tuple(c), tuple(c.values()))


def save(store: Store, cfg: ClusterSettings, clusterer: cluster.Clusterer) -> None:
    # pickled into a file, not into memory: the store copies it in a piece at a time
    with tempfile.TemporaryFile() as f:
        dump(clusterer, f)
        store.save_snapshot(NAME, key(cfg), store.max_seq("member"), f)


def dump(state: object, f: IO[bytes]) -> None:
    """Pickle ``state`` into ``f``, its Counters as ``_counter`` says. (A frozenset is pickled
    by the pickler itself, past any dispatch table: ``cluster.Features`` interns its own.)"""
    pickler = pickle.Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Counter: _counter}
    pickler.dump(state)

"""The local engine on several processes gives what one process gives.

``scale.workers`` > 1 runs extract, analyze and the extractive writing in
spawned worker processes (``batch.Local``); results are stored in the order
given, so the events fixture's stories, storylines, tags, written text and
every vector equal the one-process run's bit for bit. A worker that dies mid-batch breaks the pool:
what was in flight is computed in the main process and nothing is lost or
reordered.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from matome import pipeline
from matome.batch import Local
from matome.settings import Settings
from matome.store import Store, db_url
from tests.conftest import ROOT
from tests.test_incremental import FIXTURE, _result

pytestmark = pytest.mark.slow


def _run(db: Path, workers: int) -> Store:
    settings = Settings()
    settings.scale.workers, settings.scale.pool_min = workers, 8
    store = Store(db_url(str(db)))
    pipeline.ingest(store, [str(FIXTURE)], settings)
    pipeline.process(store, settings)
    return store


def test_two_processes_equal_one_on_the_events_fixture(tmp_path: Path) -> None:
    one, two = _run(tmp_path / "one.db", 1), _run(tmp_path / "two.db", 2)
    assert _result(two) == _result(one)
    va, vb = one.analyses(), two.analyses()
    assert va.keys() == vb.keys() and len(va) == 172
    for k, (an, vec) in va.items():
        assert an == vb[k][0] and np.array_equal(vec, vb[k][1]), k
    one.close()
    two.close()


def _square_or_die(x: int, settings: Settings) -> int:
    if x == 5 and multiprocessing.parent_process() is not None:
        os._exit(1)  # a worker killed mid-batch (a crash in a C library, the memory killer)
    return x * x


def _square(x: int, settings: Settings) -> int:
    return x * x


def test_a_worker_that_dies_loses_nothing() -> None:
    engine = Local(workers=2, pool_min=4)
    try:
        got = list(engine.map(_square_or_die, range(40), Settings()))
    finally:
        engine.close()
    assert got == [(x, x * x) for x in range(40)]


def test_a_small_batch_stays_in_this_process() -> None:
    engine = Local(workers=2, pool_min=64)
    got = list(engine.map(_square_or_die, range(10), Settings()))
    assert got == [(x, x * x) for x in range(10)] and engine._pool is None


_KILLED_PARENT = r'''
import os
from matome.batch import Local
from matome.settings import Settings
from tests.test_local_pool import _square
engine = Local(2, 1)
next(engine.map(_square, range(100), Settings()))  # no worker dies here: both are alive
print(" ".join(str(p) for p in engine._pool._processes), flush=True)
os.kill(os.getpid(), 9)
'''


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_workers_go_when_their_parent_is_killed() -> None:
    proc = subprocess.run([sys.executable, "-c", _KILLED_PARENT], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == -9, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids)  # no orphan holding a model's memory forever


def test_released_workers_exit_while_this_process_goes_on() -> None:
    engine = Local(workers=2, pool_min=4)
    try:
        assert list(engine.map(_square, range(10, 20), Settings())) == \
            [(x, x * x) for x in range(10, 20)]
        assert engine._pool is not None
        first = list(engine._pool._processes)
        engine.release()  # returns at once; the index stage runs while they exit
        assert engine._pool is None and len(first) == 2
        # a later map starts new workers
        assert list(engine.map(_square, range(20, 30), Settings())) == \
            [(x, x * x) for x in range(20, 30)]
        assert engine._pool is not None and not set(engine._pool._processes) & set(first)
    finally:
        engine.close()  # waits for the released ones too
    assert not any(_alive(p) for p in first)


def test_an_engine_made_for_one_call_lets_its_workers_go_when_idle() -> None:
    """``process`` makes its own engine (transient) and lets its workers go before the index
    stage; an engine the caller passes in keeps them for the caller's next call."""
    for transient in (True, False):
        engine = Local(workers=2, pool_min=4, transient=transient)
        try:
            list(engine.map(_square, range(10, 14), Settings()))
            engine.idle()
            assert (engine._pool is None) is transient
        finally:
            engine.close()


def _young_threshold(x: int, settings: Settings) -> int:
    import gc

    return int(gc.get_threshold()[0]) if multiprocessing.parent_process() is not None else -1


def test_workers_and_the_cli_collect_cycles_at_the_raised_threshold(tmp_path: Path) -> None:
    """Each matome process's collector looks at its young objects every ``GC_YOUNG``
    allocations, not Python's 700 (a tenth of ``process``'s CPU went to collecting): the
    CLI's, each worker's, each of ``serve --workers``'s."""
    from matome.worker import GC_YOUNG

    engine = Local(workers=2, pool_min=4)
    try:
        got = [n for _, n in engine.map(_young_threshold, range(8), Settings())]
    finally:
        engine.close()
    assert got == [GC_YOUNG] * 8  # in the spawned workers, none in this process
    code = "import gc, sys; sys.argv = ['matome', '--help']; from matome.cli import main\n" \
           "try:\n    main()\nexcept SystemExit:\n    pass\nprint(gc.get_threshold()[0])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.stdout.split()[-1] == str(GC_YOUNG), out.stderr
    code = "import gc; from matome.site.server import from_env; from_env(); print(gc.get_threshold()[0])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, env={**os.environ, "MATOME_DB": str(tmp_path / "m.db")})
    assert out.stdout.split()[-1] == str(GC_YOUNG), out.stderr

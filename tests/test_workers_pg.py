"""Several workers on one real PostgreSQL: leases, the advisory-lock writer, killed workers.

Two ``process`` workers started at once share the per-article queues through
``SELECT … FOR UPDATE SKIP LOCKED`` leases and one of them, holding the
advisory lock, runs the ordered stages: the store equals one worker's on
SQLite. A ``watch`` worker SIGKILLed while it holds leases leaves them to lapse
(``scale.lease_s``, 3 s here) and another worker completes the work; a worker
killed while it is the ordered writer loses the lock with its connection.
Nothing is lost and nothing duplicated: the exports equal the reference's.
Uses the throwaway server of ``tests/test_postgres.py`` (fails under
``CI=true`` when it cannot run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from matome.store import Store, ingest_state
from matome.store import schema as t
from tests.conftest import ROOT, demo_corpus
from tests.test_postgres import (  # noqa: F401  # pg, sqlite_ref, sqlite_exports: fixtures
    DEMO_CONFIG,
    _diff,
    _exports,
    pg,
    sqlite_exports,
    sqlite_ref,
)

pytestmark = pytest.mark.slow

LEASE_S = 3.0


def _config(tmp: Path, *, sources: bool = False, batch: int = 6) -> Path:
    text = DEMO_CONFIG.read_text("utf-8") + f"\n[scale]\nlease_s = {LEASE_S}\nlease_batch = {batch}\n"
    if sources:
        text += f'\n[[sources]]\nname = "demo"\npath = "{demo_corpus()}"\n'
    path = tmp / "matome.toml"
    path.write_text(text, "utf-8")
    return path


def _matome(url: str, config: Path, *args: str, fault: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "CI": "true", "MATOME_DB": url, "MATOME_CONFIG": str(config)}
    env.pop("MATOME_FAULT_AT", None)
    if fault:
        env["MATOME_FAULT_AT"] = fault
    return subprocess.Popen([sys.executable, "-m", "matome", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ok(proc: subprocess.Popen[str]) -> None:
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr


def _killed(proc: subprocess.Popen[str]) -> None:
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL, stderr


def _same(url: str, reference: dict[str, list[dict[str, Any]]]) -> None:
    got = _exports(url)
    for what in ("stories", "tags", "articles"):
        assert got[what] == reference[what], f"{what}: {_diff(got[what], reference[what])}"
    store = Store(url, readonly=True)
    try:
        with store.read() as conn:
            left = conn.execute(select(t.work_queue.c.stage, t.work_queue.c.item)).all()
        assert not left, left  # every queue drained: nothing left behind by the killed worker
        assert not store.rejects()
    finally:
        store.close()


def _leased(url: str) -> int:
    store = Store(url, readonly=True)
    try:
        with store.read() as conn:
            return len(conn.execute(select(t.work_queue.c.item)
                                    .where(t.work_queue.c.leased_by.is_not(None))).all())
    finally:
        store.close()


def test_two_workers_at_once_equal_one(pg: Any, sqlite_exports: Any, tmp_path: Path) -> None:  # noqa: F811
    url, config = pg.createdb("two_workers"), _config(tmp_path)
    _ok(_matome(url, config, "ingest", str(demo_corpus())))
    workers = [_matome(url, config, "process") for _ in range(2)]
    for w in workers:
        _ok(w)
    _same(url, sqlite_exports)


def test_a_watch_worker_killed_holding_leases_then_another_worker(
        pg: Any, sqlite_exports: Any, tmp_path: Path) -> None:  # noqa: F811
    # a batch of 40 leased, killed after storing the first 16: 24 left held
    url, config = pg.createdb("watch_killed"), _config(tmp_path, sources=True, batch=40)
    _killed(_matome(url, config, "watch", "--once", fault="analyze:1"))
    assert _leased(url) > 0  # the dead worker's: nobody takes them until they lapse
    _ok(_matome(url, config, "process"))
    _same(url, sqlite_exports)


def test_the_ordered_writer_killed_then_another_worker(
        pg: Any, sqlite_exports: Any, tmp_path: Path) -> None:  # noqa: F811
    url, config = pg.createdb("writer_killed"), _config(tmp_path)
    _ok(_matome(url, config, "ingest", str(demo_corpus())))
    _killed(_matome(url, config, "process", fault="cluster:3"))  # holding the advisory lock
    _ok(_matome(url, config, "process"))
    _same(url, sqlite_exports)


def test_two_watchers_at_once_poll_a_source_once(pg: Any, sqlite_exports: Any, tmp_path: Path) -> None:  # noqa: F811
    url, config = pg.createdb("two_watchers"), _config(tmp_path, sources=True)
    watchers = [_matome(url, config, "watch", "--once") for _ in range(2)]
    for w in watchers:
        _ok(w)
    store = Store(url, readonly=True)
    try:
        assert ingest_state.health(store)["demo"]["polls"] == 1  # one of them polled it
    finally:
        store.close()
    _same(url, sqlite_exports)


def test_a_single_pass_skips_a_source_another_polled_since_it_started(pg: Any) -> None:  # noqa: F811
    """Two `watch --once` started together poll a source once, however late the second one
    asks: under load it found the first's poll lease already released (CI saw 2 polls)."""
    from datetime import UTC, datetime, timedelta

    from matome.settings import ScaleSettings
    from matome.store import leases

    store = Store(pg.createdb("single_pass"))
    try:
        started = datetime.now(UTC).replace(tzinfo=None)
        first, second = (leases.Worker(store, ScaleSettings(), name=n) for n in ("w1", "w2"))
        assert first.claim_poll("demo", schedule=False, since=started) is None  # polls it
        ingest_state.record_poll(store, "demo", error=None, new=3, next_poll=None)
        first.release_poll("demo")
        assert second.claim_poll("demo", schedule=False, since=started) is not None  # done since
        # a pass started after that poll polls again (cron running `watch --once` twice)
        later = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
        assert second.claim_poll("demo", schedule=False, since=later) is None
    finally:
        store.close()


def test_an_idle_worker_notices_a_per_article_stage_change(pg: Any, tmp_path: Path) -> None:  # noqa: F811
    """A code or settings change to extract or analyze is taken up by the next `process`, new
    input or not. Else (seen at 100k articles) the stage key stayed stale until new input came,
    and that run re-walked the whole archive with its 1,000 new articles."""
    from matome import pipeline
    from matome.settings import load

    store, settings = Store(pg.createdb("rekey")), load(DEMO_CONFIG)
    try:
        pipeline.ingest(store, [str(demo_corpus() / "html")], settings)
        pipeline.process(store, settings)
        keys = {"extract": pipeline.extract_key(settings), "analyze": pipeline.analyze_key(settings)}
        assert {s: store.stage_key(s) for s in keys} == keys
        for stage in keys:
            store.set_stage_key(stage, "an older version")
        report = pipeline.process(store, settings)  # nothing new: the queues were empty
        assert {s: store.stage_key(s) for s in keys} == keys
        assert all(store.queued(s) == [] for s in keys)  # looked at once, found done
        assert not {"extracted", "analyzed", "rejected"} & set(+report.counts)
    finally:
        store.close()


def test_two_workers_setting_a_stage_key_at_once_both_succeed(pg: Any) -> None:  # noqa: F811
    """Every `process` checks the per-article stages' keys before it leases anything, so two
    workers started at once both find a key missing and both record it. Here one worker's
    transaction has written the key and not yet committed while the other records it: the
    second waits for the first, then overwrites the row, where a DELETE-then-INSERT failed on
    the primary key and stopped that worker (seen in CI)."""
    import threading

    from sqlalchemy import text

    url = pg.createdb("stage_key_race")
    first, second = Store(url), Store(url)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            second.set_stage_key("analyze", "new")
        except BaseException as exc:  # the failure under test, reported in the main thread
            errors.append(exc)

    with first.engine.connect() as conn:
        conn.execute(text("DELETE FROM stage_state WHERE stage = 'key:analyze'"))
        conn.execute(text("INSERT INTO stage_state (stage, input_hash, finished_at) "
                          "VALUES ('key:analyze', 'old', now())"))
        worker = threading.Thread(target=record)
        worker.start()
        worker.join(1.0)  # blocked on the uncommitted row
        assert worker.is_alive()
        conn.commit()
    worker.join(30)
    assert not errors, errors
    assert first.stage_key("analyze") == "new"
    first.close()
    second.close()

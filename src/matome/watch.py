"""``matome watch``: poll every configured source on its interval, process, republish.

One worker thread per source being polled, so a slow or hanging source
never holds up the others; everything fetched goes through a queue to the
main thread, which alone writes the database and stores each item as soon
as it arrives (nothing fetched is lost when the watcher is stopped).
When to poll next is kept in the database (``source_health``), so a
restart picks up where the last run stopped instead of hammering every
source at once. SIGTERM/SIGINT stop it cleanly: no new polls start, the
running ones stop after their current fetch (or are left behind after
``STOP_GRACE`` seconds when a host hangs), what they fetched is stored,
and it exits 0. A source that keeps failing is polled less often (the
interval doubles per failure in a row, up to 16×).
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from matome import pipeline
from matome.errors import MatomeError, RecordError
from matome.ingest import poll, sources
from matome.records import RawDoc
from matome.settings import Settings, SourceSettings
from matome.store import Store, ingest_state, leases

BACKOFF_CAP = 16
STOP_GRACE = 10.0  # seconds a stop waits for polls still fetching


@dataclass
class _Done:
    stats: poll.PollStats
    started: float


@dataclass
class _Poll:
    source: SourceSettings
    counts: Counter[str] = field(default_factory=Counter)
    cleared: set[str] = field(default_factory=set)
    renewed: float = field(default_factory=time.monotonic)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Watcher:
    def __init__(self, db: str, settings: Settings, out_dir: Path | None = None, *,
                 once: bool = False, log: TextIO = sys.stderr) -> None:
        self.db, self.settings, self.out_dir, self.once, self.log = db, settings, out_dir, once, log
        self.stop = threading.Event()
        self.queue: queue.Queue[tuple[str, RawDoc | RecordError | _Done]] = queue.Queue(maxsize=1000)
        self.next_poll: dict[str, datetime | None] = {}
        self.streak: dict[str, int] = {}
        self.worker: leases.Worker | None = None
        self.started = _now()  # a single pass's start: what others polled since counts as done

    def _say(self, line: str) -> None:
        stamp = datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
        print(f"{stamp} {line}", file=self.log, flush=True)

    def _worker(self, src: SourceSettings, fetcher: Any, known: poll.Known) -> None:
        stats = poll.PollStats()
        started = time.monotonic()
        try:
            items = sources.discover(src.path, self.settings.ingest, src)
            for item in poll.expand(items, fetcher, self.settings, src, known, stats):
                self.queue.put((src.name, item))
                if self.stop.is_set():
                    stats.notes.append("stopped before the poll finished")
                    break
        except MatomeError as exc:  # a source path that vanished, say
            stats.error = str(exc)
        except Exception as exc:  # one source's bug must not stop the others
            stats.error = f"internal error: {exc.__class__.__name__}: {exc}"
        self.queue.put((src.name, _Done(stats, started)))

    def _due(self, running: dict[str, _Poll]) -> list[SourceSettings]:
        now = _now()
        due = [s for s in self.settings.sources if s.enabled and s.name not in running
               and (self.next_poll.get(s.name) or now) <= now]
        if self.worker is None:
            return due
        # several watchers on one PostgreSQL: a source is polled by the one holding its lease
        # (and not again before the next poll another watcher recorded)
        mine = []
        for s in due:
            later = self.worker.claim_poll(s.name, schedule=not self.once,
                                           since=self.started if self.once else None)
            if later is None:
                mine.append(s)
            else:
                self.next_poll[s.name] = later
        return mine

    def _finish(self, store: Store, p: _Poll, done: _Done) -> None:
        src, st, c = p.source, done.stats, p.counts
        streak = 0 if st.error is None else self.streak.get(src.name, 0) + 1
        wait = src.interval * min(2 ** streak, BACKOFF_CAP) if streak else src.interval
        self.streak[src.name] = streak
        self.next_poll[src.name] = _now() + timedelta(seconds=wait)
        notes = list(st.notes)
        if c["rotated"] >= 3 and c["rotated"] >= (c["new"] + c["rotated"]) / 2:
            notes.append(f"feed GUIDs changed for {c['rotated']} entries; matched by link, "
                         "nothing duplicated")
        ingest_state.record_poll(store, src.name, error=st.error, new=c["new"] + c["changed"],
                                 next_poll=self.next_poll[src.name],
                                 note="; ".join(notes) if notes else None)
        took = time.monotonic() - done.started
        head = f"{src.name}: " + (f"error: {st.error}; " if st.error else "")
        self._say(f"{head}{c['new']} new, {c['changed']} changed, {c['same'] + st.skipped_known} known, "
                  f"{c['rotated']} rotated, {c['rejected']} rejected, {st.not_modified} not modified"
                  f" ({took:.1f} s){'; ' + '; '.join(notes) if notes else ''}")

    def run(self) -> int:
        if not self.settings.sources:
            raise MatomeError("watch: no [[sources]] in matome.toml")
        names = [s.name for s in self.settings.sources]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise MatomeError("watch: every [[sources]] needs a name of its own")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        self.started = _now()
        store = Store(self.db)
        if leases.shared(store):
            self.worker = leases.Worker(store, self.settings.scale)
        # the schedule and error streaks, as the last run left them (read once, then kept here)
        health = ingest_state.health(store)
        self.streak = {n: h["error_streak"] for n, h in health.items()}
        self.next_poll = {} if self.once else {n: h["next_poll"] for n, h in health.items()}
        fetcher = poll.LazyFetcher(store, self.settings)
        running: dict[str, _Poll] = {}
        dirty = False
        stopping: float | None = None
        self._say(f"watching {len(names)} sources")
        try:
            while True:
                if not self.stop.is_set():
                    for src in self._due(running):
                        running[src.name] = _Poll(src)
                        threading.Thread(target=self._worker, name=f"poll-{src.name}", daemon=True,
                                         args=(src, fetcher, poll.known_in(store, src.name))).start()
                elif stopping is None:
                    stopping = time.monotonic()
                try:
                    name, item = self.queue.get(timeout=0.2)
                except queue.Empty:
                    name, item = "", None
                if isinstance(item, _Done):
                    fetcher.flush(f"poll-{name}")  # all it fetched is stored by now
                    self._finish(store, running.pop(name), item)
                    if self.worker is not None:
                        self.worker.release_poll(name)
                elif item is not None:
                    p = running[name]
                    w = self.worker
                    if w is not None and time.monotonic() - p.renewed > w.settings.lease_s / 3:
                        w.renew_poll(name)  # a long poll keeps its source
                        p.renewed = time.monotonic()
                    report = pipeline.Report()
                    pipeline.keep(store, item, report, pipeline.Quiet(), p.cleared)
                    p.counts.update(report.counts)
                    dirty = dirty or bool(report.counts["new"] or report.counts["changed"])
                if not self.queue.empty():
                    continue
                # Process once a poll has brought something new, without waiting for
                # slower sources: they are processed when their turn comes.
                if dirty and (isinstance(item, _Done) or not running):
                    self._publish(store)
                    dirty = False
                if stopping is not None and running and time.monotonic() - stopping > STOP_GRACE:
                    self._say(f"not waiting for {', '.join(sorted(running))}: still fetching; "
                              "what they fetched so far is stored")
                    break
                if not running and (self.stop.is_set() or self.once):
                    break
        finally:
            store.close()
        self._say("stopped")
        return 0

    def _publish(self, store: Store) -> None:
        from matome.site import build

        started = time.monotonic()
        # with other workers on one PostgreSQL: the ordered stages only when no one else runs
        # them (that worker, or this one's next cycle, takes in what this one stored), so polls
        # are not held up waiting; a single pass (--once) waits, to leave everything done
        report = pipeline.process(store, self.settings, wait=self.once)
        pages = 0
        if self.out_dir is not None:
            # only the pages the cycle changed (the site index's log): a cycle costs what is
            # new, not what the archive holds
            pages = build.publish(store, self.out_dir, self.settings).written
        self._say(f"processed: {report.counts['extracted']} extracted, {report.counts['written']} "
                  f"written, {len(report.errors)} rejected, {pages} pages "
                  f"({time.monotonic() - started:.1f} s)")

"""The local engine against the Ray engine, in one run, on the same real pages.

Every HTML page of ``../shared/eval/extraction/*/html`` (611 real pages of four
extraction test sets, in English, Japanese, German and other languages; the
few with a year-1 date included) is replicated to ``--articles`` documents
(default 1,000: about ten minutes on 2 shared cores; the figures in
docs/scaling.md are of ``--articles 2000``) and processed twice, each time into
a fresh SQLite store: by the local engine (``matome process``) and by the Ray
engine (``matome process --engine ray``) on a Ray cluster of this machine
(``ray.init``, ``--cpus`` 2, 127.0.0.1). ``--pages N`` takes N of the pages,
spread over the sets. Both runs read the same files with the same settings and
call the stage functions ``pipeline.process`` calls on SQLite:
``run_extract`` and ``run_analyze`` with the engine, then the ordered stages
(dedupe, cluster, tags, write, the site index) in the driver, each timed on
its own, and the time the driver spends inside the store's transactions
during extract and analyze (what one driver costs per article, however large
its cluster).

Replicas. Replica ``k`` of a page differs from the others wherever the
pipeline could take it for one already seen:

- every ``http(s)`` URL in the page gets ``replica=k`` in its query (before
  any fragment), so its key, canonical link and article id are its own
  (ingest keeps it as a new document, extract finds no id clash; pages of the
  sets that share a canonical link still clash, as they would anyway);
- ``(k)`` opens ``<title>``, ``og:title`` and every ``<h1>``–``<h3>``: its
  title, hence its analysis and the title-and-lead it embeds, are its own (no
  analysis or vector kept from an earlier report is reused);
- a paragraph of another real page of the same set (page ``j + k + 1`` for
  the ``j``-th, its first paragraph of 80 bytes or more, up to 600
  characters) follows its middle paragraph: its text differs from every other
  replica's by a few percent of shingles.

That still leaves most replicas within MinHash reach of each other, so the
bench sets ``dedupe.near_threshold = 0.98`` (the highest MinHash LSH takes at
128 permutations): the replicas of a page are then reports of one event by
several outlets, stories of about ``articles / pages`` reports that the
ordered stages cluster and write like any others, as in a backfill of
distinct news. Pages without such paragraphs (text in ``<div>`` or ``<br>``)
still become copies of their first replica; the run prints how many.
``--near-copies`` keeps the default threshold (most replicas become near
copies, placed in their original's story unclustered: cheaper ordered
stages). Replicas of one page lie a whole pass over the pages apart (611
documents with all pages), further than the sentence-token cache reaches.

Warm-up. Each engine first processes a few other replicas, untimed, into a
store of their own: models and dictionaries load, Ray starts its workers and
its Data executor. Ray's own start (``ray.init``) is timed apart. The analyze
actors are started again for each window (one Ray Data execution each), and
each loads the embedder then: that is inside the timed run, as it is in real
use, and shown in the overhead table.

Ray's overhead per window: for each stage function, the engine's ``Timing``
from the timed run (windows; items, which for analyze are groups of 16
reports; seconds from a window sent to its last result stored, the driver
storing each result as it comes; seconds to its first result), and a second
pass over the same items with a function that does nothing (the same
pickling, dataset, tasks or actor pool, ordered collection): what a window
costs Ray with no work in it.

The machine is shared: the run prints the load average around each engine's
timed part, and ``--ray-first`` swaps the order, to see how much of a
difference is the load of the moment.

    nice .venv/bin/python bench/engines.py [--articles 1000] [--pages N] [--window 1000] [--cpus 2]
                                           [--ray-first] [--near-copies] [--work DIR]
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench.throughput import EXTRACTION, real_pages
from rich.console import Console
from rich.table import Table

from matome import pipeline
from matome.batch import Engine, Local, Quiet, Report, chunked
from matome.errors import RecordError
from matome.extract import decode
from matome.language import analyze
from matome.settings import Settings
from matome.site.index import run_index
from matome.store import Store, db_url
from matome.worker import Outcome

WARM_PAGES = 8
# the highest near-copy threshold MinHash LSH takes at 128 permutations (two bands)
NEAR = 0.98
MIN_PARAGRAPH = 80  # bytes of text in a paragraph that counts (a donor, a place to insert)
DONOR_CHARS = 600  # at most this much of a donor paragraph
# the ordered stages, as pipeline._ordered runs them
ORDERED: list[tuple[str, Callable[[Store, Settings, Any, Report], None]]] = [
    ("dedupe", pipeline.run_dedupe), ("cluster", pipeline.run_cluster), ("tags", pipeline.run_tags),
    ("write", pipeline.run_write), ("index", run_index)]


# --- the corpus ----------------------------------------------------------------


def all_pages(out: Path, limit: int | None) -> list[Path]:
    """Every HTML page of the extraction sets, decompressed into ``out``; ``limit`` of them
    spread evenly over the sorted list (so each set keeps its share)."""
    srcs = sorted(d for d in EXTRACTION.glob("*/html") if d.is_dir())
    if not srcs:
        raise SystemExit(f"no pages: {EXTRACTION}/*/html not found")
    pages = real_pages(srcs, out)
    if limit is not None and limit < len(pages):
        step = len(pages) / limit
        pages = [pages[int(i * step)] for i in range(limit)]
    return pages


_URL = re.compile(rb"""https?://[^"'<>\s#]+""")
_P = re.compile(rb"<p(?:\s[^>]*)?>", re.I)
_TITLE = re.compile(rb"<title(?:\s[^>]*)?>", re.I)
_HEADING = re.compile(rb"<h[123](?:\s[^>]*)?>", re.I)
_OG_TITLE = re.compile(rb"""(<meta[^>]+property=["']og:title["'][^>]+content=)("|')""", re.I)


@dataclass
class Page:
    """A real page and what its replicas need: its encoding, its paragraphs of
    ``MIN_PARAGRAPH`` bytes or more (where each ends), and the text of its first (a donor)."""

    path: Path
    data: bytes
    enc: str
    ends: list[int]
    donor: str


def read_page(path: Path) -> Page:
    data = path.read_bytes()
    try:
        _text, enc, _why = decode(data)
        "".encode(enc)
    except (RecordError, LookupError):  # not decodable: matome rejects it, whatever it holds
        enc = "utf-8"
    ends, donor = [], ""
    for m in _P.finditer(data):
        close = data.find(b"</p", m.end())
        if close < 0:
            break
        inner = data[m.end():close]
        if len(re.sub(rb"<[^>]*>|\s+", b"", inner)) >= MIN_PARAGRAPH:
            ends.append(data.find(b">", close) + 1 or close)
            if not donor:
                text = html.unescape(re.sub(r"<[^>]*>", " ", inner.decode(enc, "replace")))
                donor = re.sub(r"\s+", " ", text).strip()[:DONOR_CHARS]
    return Page(path, data, enc, ends, donor)


def vary(page: Page, k: int, donor: str) -> bytes:
    """Replica ``k`` of a page: its URLs and title are its own, and ``donor`` (another real
    page's paragraph) follows its middle paragraph (see the module's text)."""
    mark = f"({k}) ".encode(page.enc, errors="xmlcharrefreplace")
    data = page.data
    if donor and page.ends:
        at = page.ends[len(page.ends) // 2]
        para = f"<p>{html.escape(donor)}</p>".encode(page.enc, errors="xmlcharrefreplace")
        data = data[:at] + para + data[at:]
    tag = f"replica={k}".encode()
    data = _URL.sub(lambda m: m.group(0) + (b"&" if b"?" in m.group(0) else b"?") + tag, data)
    data = _TITLE.sub(lambda m: m.group(0) + mark, data, count=1)
    data = _OG_TITLE.sub(lambda m: m.group(0) + mark, data, count=1)
    return _HEADING.sub(lambda m: m.group(0) + mark, data)


def replicate(pages: list[Path], out: Path, count: int, first: int = 0) -> int:
    """``count`` documents: replica ``first`` of every page, then ``first + 1`` …, in that order
    (replicas of one page lie a whole pass apart). Replica ``k`` of the ``j``-th page of a set
    takes its donor paragraph from page ``j + k + 1`` of the same set. Returns the number of
    replicas made."""
    read = [read_page(p) for p in pages]
    sets: dict[str, list[Page]] = {}
    for pg in read:
        sets.setdefault(pg.path.parent.name, []).append(pg)
    n, k = 0, first
    while n < count:
        for pg in read:
            if n == count:
                break
            same = sets[pg.path.parent.name]
            other = same[(same.index(pg) + k + 1) % len(same)]
            dst = out / f"r{k:03d}" / pg.path.parent.name / pg.path.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(vary(pg, k, other.donor if other is not pg else ""))
            n += 1
        k += 1
    return k - first


# --- one engine's run ----------------------------------------------------------


@dataclass
class Run:
    name: str
    ingest_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    load: tuple[float, float] = (0.0, 0.0)
    timing: Any = None  # RayEngine.timing of the timed run
    distinct_embedded: int = 0
    analyses: int = 0
    store_s: dict[str, float] = field(default_factory=dict)  # per stage: inside the store's transactions

    @property
    def ordered_s(self) -> float:
        return sum(self.stages[s] for s, _ in ORDERED)

    @property
    def process_s(self) -> float:
        return self.stages["extract"] + self.stages["analyze"] + self.ordered_s


class StoreClock:
    """Time the driver spends inside the store's transactions (``Store.tx`` and ``Store.read``,
    which every read and write goes through), per stage: a driver's own ceiling, however many
    workers compute for it."""

    def __init__(self, store: Store, into: dict[str, float]) -> None:
        self.into, self.stage, self.depth = into, "", 0
        for name in ("tx", "read"):
            setattr(store, name, self._timed(getattr(store, name)))

    def _timed(self, opened: Callable[[], Any]) -> Callable[[], Any]:
        @contextmanager
        def timed() -> Iterator[Any]:
            self.depth += 1
            t0 = time.perf_counter()
            try:
                with opened() as conn:
                    yield conn
            finally:
                self.depth -= 1
                if self.depth == 0:  # an outer block already counts an inner one
                    self.into[self.stage] = self.into.get(self.stage, 0.0) + time.perf_counter() - t0
        return timed


def process(store: Store, settings: Settings, engine: Engine, run: Run | None = None) -> None:
    """What ``pipeline.process`` does on SQLite (one worker), each stage timed into ``run``."""
    report = run.report if run is not None else Report()
    clock = StoreClock(store, run.store_s) if run is not None else None
    progress = Quiet()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("extract", lambda: pipeline.run_extract(store, settings, progress, report, engine)),
        ("analyze", lambda: pipeline.run_analyze(store, settings, progress, report, engine)),
        *((name, (lambda fn=fn: fn(store, settings, progress, report))) for name, fn in ORDERED)]
    for name, step in steps:
        if clock is not None:
            clock.stage = name
        t0 = time.perf_counter()
        step()
        if run is not None:
            run.stages[name] = time.perf_counter() - t0
    if clock is not None:
        clock.stage = "after"  # the bench's own reads


def measure(name: str, engine: Engine, settings: Settings, warm: Path, corpus: Path, work: Path) -> Run:
    run = Run(name)
    store = Store(db_url(str(work / f"warm-{name}.db")))  # untimed: everything loads and starts
    pipeline.ingest(store, [str(warm)], settings)
    process(store, settings, engine)
    store.close()
    analyze.forget_recent()  # the timed run reuses nothing the warm-up made
    if hasattr(engine, "timing"):
        engine.timing = type(engine.timing)()
    store = Store(db_url(str(work / f"{name}.db")))
    t0 = time.perf_counter()
    pipeline.ingest(store, [str(corpus)], settings)
    run.ingest_s = time.perf_counter() - t0
    before = os.getloadavg()[0]
    process(store, settings, engine, run)
    run.load = (before, os.getloadavg()[0])
    run.counts = store.counts()
    run.timing = getattr(engine, "timing", None)
    analyses = store.analyses()
    arts = {a.id: a for a in pipeline.reports(store)}
    run.analyses = len(analyses)
    run.distinct_embedded = len({analyze.embedding_text(arts[k], an) for k, (an, _) in analyses.items()
                                 if k in arts})
    store.close()
    analyze.forget_recent()
    return run


# --- Ray's overhead with no work -------------------------------------------------


def nothing(group: Any, settings: Settings) -> list[Outcome[None]]:
    """A stage function that does no work: what remains of a window's time is Ray's."""
    return [Outcome(None) for _ in group]


def nothing_model(group: Any, settings: Settings) -> list[Outcome[None]]:
    return [Outcome(None) for _ in group]


IDLE = {"extracted": "nothing", "analyzed": "nothing_model"}  # stage function -> its idle twin


def idle_pass(engine: Any, settings: Settings, store_path: Path) -> dict[str, tuple[int, int, float, float]]:
    """The Ray run's items again (raw documents; groups of 16 reports), through functions that do
    nothing: per stage function, (windows, items, seconds, seconds to the first result)."""
    from matome.per_article import extract_tasks
    from matome.worker import ANALYZE_GROUP as GROUP

    store = Store(db_url(str(store_path)), readonly=True)
    ids = [str(i) for i in range(1, store.counts()["raw"] + 1)]

    def raws() -> Iterator[list[tuple[int, Any]]]:
        for chunk in chunked(ids, 100):
            yield from extract_tasks([(raw_id, doc) for raw_id, doc, _done in store.raw_docs_by_id(chunk)])

    arts = pipeline.reports(store)
    groups = [[(a, "") for a in arts[i : i + GROUP]] for i in range(0, len(arts), GROUP)]
    engine.timing = type(engine.timing)()
    for _ in engine.map(nothing, raws(), settings):
        pass
    for _ in engine.map(nothing_model, iter(groups), settings, model=True):
        pass
    store.close()
    tm = engine.timing
    return {k: (tm.windows[k], tm.items[k], tm.seconds[k], tm.first_result[k]) for k in tm.windows}


# --- the tables ------------------------------------------------------------------


def rate(n: int, s: float) -> str:
    return f"{n / s:.1f}" if s > 0 else "-"


def stage_table(runs: list[Run], n_docs: int, what: str) -> Table:
    table = Table(title=f"process on {what}: articles/s per stage (both warmed up)")
    table.add_column("stage")
    for r in runs:
        table.add_column(f"{r.name} s", justify="right")
        table.add_column(f"{r.name} art/s", justify="right")
    if len(runs) == 2:
        table.add_column("ray speed / local", justify="right")
    n = runs[0].counts.get("articles", 0)
    rows: list[tuple[str, int, list[float]]] = [("ingest (same code; not the engine's)", n_docs,
                                                 [r.ingest_s for r in runs])]
    for st in ("extract", "analyze"):
        rows += [(st, n, [r.stages[st] for r in runs]),
                 ("  of which the driver in the store", n, [r.store_s.get(st, 0.0) for r in runs])]
    rows += [(f"  {s}", n, [r.stages[s] for r in runs]) for s, _ in ORDERED]
    rows += [("ordered stages (dedupe…index, one writer)", n, [r.ordered_s for r in runs]),
             ("process overall", n, [r.process_s for r in runs])]
    for label, items, secs in rows:
        cells = []
        for sec in secs:
            cells += [f"{sec:.1f}", rate(items, sec)]
        if len(secs) == 2:
            cells.append(f"{secs[0] / secs[1]:.2f}x" if secs[1] > 0 else "-")
        table.add_row(label, *cells)
    return table


def overhead_table(run: Run, idle: dict[str, tuple[int, int, float, float]], window: int) -> Table:
    table = Table(title=f"Ray per window (ray_window={window}; analyze windows are of "
                        f"{max(1, window // 16)} groups of 16 reports)")
    for col in ("stage function", "windows", "items/window", "s/window", "first result s/window",
                "idle pass s/window", "idle first result s/window"):
        table.add_column(col, justify="left" if col == "stage function" else "right")
    tm = run.timing
    for name in tm.windows:
        w = tm.windows[name]
        iw, _ii, isec, ifirst = idle.get(IDLE.get(name, ""), (0, 0, 0.0, 0.0))
        table.add_row(name, str(w), f"{tm.items[name] / w:.0f}", f"{tm.seconds[name] / w:.2f}",
                      f"{tm.first_result[name] / w:.2f}", f"{isec / iw:.2f}" if iw else "-",
                      f"{ifirst / iw:.2f}" if iw else "-")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="documents processed by each engine")
    parser.add_argument("--pages", type=int, default=None, help="distinct real pages (default: all)")
    parser.add_argument("--window", type=int, default=None, help="scale.ray_window (default: the setting's)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--near-copies", action="store_true",
                        help="keep dedupe.near_threshold: replicas become near copies")
    parser.add_argument("--ray-first", action="store_true", help="time the Ray engine first")
    parser.add_argument("--local-workers", type=int, default=os.cpu_count() or 1,
                        help="processes of the local engine (default: one per core, as `process` "
                        "runs; 1: all in one process)")
    parser.add_argument("--work", type=Path, default=None, help="keep the stores here (default: a temp dir)")
    args = parser.parse_args()

    settings = Settings()
    if not args.near_copies:
        settings.dedupe.near_threshold = NEAR
    if args.window:
        settings.scale.ray_window = args.window
    work = args.work or Path(tempfile.mkdtemp(prefix="matome-engines-"))
    work.mkdir(parents=True, exist_ok=True)
    console = Console(width=150)
    try:
        pages = all_pages(work / "pages", min(args.pages or args.articles, args.articles))
        replicas = replicate(pages, work / "corpus", args.articles)
        replicate(pages[:WARM_PAGES], work / "warm", WARM_PAGES, first=900)  # other replicas
        what = (f"{args.articles} documents = {len(pages)} real pages x {replicas} replicas "
                f"({os.cpu_count()} CPUs)")
        console.print(f"[bold]{what}[/bold]; stores in {work}")

        def local() -> Run:
            # as `matome process` runs by default: one worker process per core for extract and
            # analyze (their start-up falls inside the timed run, as it does in every process)
            engine = Local(args.local_workers, settings.scale.pool_min)
            try:
                run = measure("local", engine, settings, work / "warm", work / "corpus", work)
            finally:
                engine.close()
            console.print(f"local done: {run.process_s:.1f} s")
            return run

        def on_ray() -> tuple[Run, dict[str, tuple[int, int, float, float]], float]:
            os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")  # no line per dataset executed
            import ray

            from matome.scale.ray_engine import RayEngine

            t0 = time.perf_counter()
            ray.init(num_cpus=args.cpus, address="local", include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING, _node_ip_address="127.0.0.1")
            started = time.perf_counter() - t0
            engine = RayEngine(settings.scale)
            try:
                run = measure("ray", engine, settings, work / "warm", work / "corpus", work)
                console.print(f"ray done: {run.process_s:.1f} s")
                return run, idle_pass(engine, settings, work / "ray.db"), started
            finally:
                engine.close()
                ray.shutdown()  # nothing of Ray's left running while the local engine is timed

        if args.ray_first:
            ray_run, idle, ray_start = on_ray()
            runs = [local(), ray_run]
        else:
            runs = [local()]
            ray_run, idle, ray_start = on_ray()
            runs.append(ray_run)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    console.print(stage_table(runs, args.articles, what))
    console.print(overhead_table(runs[1], idle, settings.scale.ray_window))
    console.print(f"ray.init (a local cluster of {args.cpus} CPUs): {ray_start:.1f} s, not in the table; "
                  f"timed first: {'ray' if args.ray_first else 'local'}")
    for r in runs:
        c = r.counts
        console.print(f"{r.name}: articles {c['articles']}, analysed {r.analyses} "
                      f"({r.distinct_embedded} distinct embedded texts), stories {c['stories']}, "
                      f"copies {c['duplicates']}, tags {c['tags']}, rejects {c['rejects']}; "
                      f"load average {r.load[0]:.1f} before process, {r.load[1]:.1f} after")
    keys = ("raw", "articles", "stories", "tags", "rejects", "duplicates")
    same = all(runs[0].counts[k] == runs[1].counts[k] for k in keys)
    console.print("both engines stored the same counts" if same else
                  "[red]the engines' stores differ in counts[/red] (see above)")


if __name__ == "__main__":
    main()

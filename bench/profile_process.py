"""Where ``process`` spends its time on real pages: per stage, per step, per function.

The pages are the real ones of ``../shared/eval/extraction/`` (scrapinghub_aeb
and ja_koron_extractarticle, every page, the year-1-date ones included).
They are ingested into a temporary store (untimed), then ``process`` runs
under cProfile after a warm-up on a few other pages in another store (Sudachi's
dictionary, the e5 weights and trafilatura's set-up are loaded once per
process; the profile is of the cost per article).

Three tables: wall time per stage (no profiler: the true proportions),
cumulative time of the named steps (under cProfile, which inflates Python-heavy
code more than C-heavy code, so compare steps with each other, not with the
wall clock), and the functions with the most time of their own.

    .venv/bin/python bench/profile_process.py [--pages N] [--top 25] [--dump out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench.throughput import REAL_DIRS, StageTimer, real_pages
from rich.console import Console
from rich.table import Table

from matome import pipeline
from matome.language import analyze
from matome.settings import Settings
from matome.store import Store, db_url

# (label, path fragment, function name): the steps of process, matched in cProfile's keys.
# Builtins (Sudachi's Rust tokenizer, numpy) have "~" as their path.
STEPS: list[tuple[str, str, str]] = [
    ("extract: whole stage", "", "run_extract"),
    ("  extract.extract_with_thread (one page)", "matome/extract/page.py", "extract_with_thread"),
    ("  charset.decode", "matome/extract/charset.py", "decode"),
    ("  trafilatura.bare_extraction", "trafilatura/core.py", "bare_extraction"),
    ("  lxml parse (page._parse)", "matome/extract/page.py", "_parse"),
    ("  page dates (JSON-LD, meta, byline)", "matome/extract/dates.py", "page_dates"),
    ("  pagekind.paywalled", "matome/extract/pagekind.py", "paywalled"),
    ("  pagekind.is_blog", "matome/extract/pagekind.py", "is_blog"),
    ("  boards.parse", "matome/extract/boards.py", "parse"),
    ("  store.put_articles (a chunk each)", "matome/store/database.py", "put_articles"),
    ("analyze: whole stage", "", "run_analyze"),
    ("  analyze.analyze (no embedding)", "matome/language/analyze.py", "_analyzed"),
    ("    textja.split_sentences", "matome/language/textja.py", "split_sentences"),
    ("    textja.tokenize (all stages)", "matome/language/textja.py", "tokenize"),
    ("      Sudachi itself (all stages)", "matome/language/textja.py", "_sentence_tokens"),
    ("    entities.find_mentions", "matome/language/entities.py", "find_mentions"),
    ("    resolve.resolve_surnames", "matome/language/resolve.py", "resolve_surnames"),
    ("    temporal.find_times", "matome/language/temporal.py", "find_times"),
    ("    numerals.find_quantities", "matome/language/numerals.py", "find_quantities"),
    ("    textja.normalize_with_offsets", "matome/language/textja.py", "normalize_with_offsets"),
    ("    textja.content_lemmas", "matome/language/textja.py", "content_lemmas"),
    ("  embed.passages (e5)", "matome/language/embed.py", "passages"),
    ("  store.put_analyses (a batch each)", "matome/store/database.py", "put_analyses"),
    ("dedupe: whole stage (its thread is not profiled)", "", "run_dedupe"),
    ("  dedupe: Deduper.judge", "matome/stories/dedupe.py", "judge"),
    ("cluster: whole stage", "", "run_cluster"),
    ("  cluster.features", "matome/stories/cluster.py", "features"),
    ("  Clusterer.assign", "matome/stories/cluster.py", "assign"),
    ("  resolver: links by sound", "matome/language/resolve.py", "links_by_sound"),
    ("tags: whole stage", "", "run_tags"),
    ("write: whole stage", "", "run_write"),
    ("  textja.tokenize (Sudachi), in write", "matome/write/toolkit.py", "_candidates"),
    ("  verify.verify", "matome/write/verify.py", "verify"),
    ("  store.analyses (reads)", "matome/store/database.py", "analyses"),
    ("  store.articles (reads)", "matome/store/database.py", "articles"),
]


def step_times(stats: pstats.Stats) -> list[tuple[str, int, float]]:
    """(label, calls, cumulative seconds) per step; a step found in several places is summed."""
    raw = stats.stats  # type: ignore[attr-defined]
    out = []
    for label, frag, name in STEPS:
        calls, cum = 0, 0.0
        for (path, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if func == name and path.replace("\\", "/").endswith(frag or path):
                calls += nc
                cum += ct
        out.append((label, calls, cum))
    return out


def own_times(stats: pstats.Stats, top: int) -> list[tuple[str, int, float, float]]:
    """The functions with the most time of their own: (where, calls, own s, cumulative s)."""
    raw = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, nc, tt, ct, _callers) in raw.items():
        where = func if path == "~" else f"{_short(path)}:{line} {func}"
        rows.append((where, nc, tt, ct))
    return sorted(rows, key=lambda r: -r[2])[:top]


def _short(path: str) -> str:
    p = path.replace("\\", "/")
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in p:
            return p.split(marker, 1)[1]
    return p


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages (0: all)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dump", type=Path, help="also write the raw profile here (snakeviz, pstats)")
    parser.add_argument("--workers", type=int, default=1,
                        help="scale.workers of the profiled run (default 1: every step in this "
                             "process, where cProfile sees it; the wall table uses the default)")
    args = parser.parse_args()
    profiled = Settings()
    profiled.scale.workers = args.workers
    work = Path(tempfile.mkdtemp(prefix="matome-profile-"))
    console = Console(width=140)
    try:
        pages = real_pages(REAL_DIRS, work / "corpus")
        if args.pages:
            for p in pages[args.pages:]:
                p.unlink()
            pages = pages[: args.pages]
        warm = work / "warm"
        warm.mkdir()
        for p in pages[-3:]:  # other pages than the first ones profiled when --pages is small
            shutil.copy(p, warm / p.name)
        wstore = Store(db_url(str(work / "warm.db")))
        pipeline.ingest(wstore, [str(warm)], Settings())
        pipeline.process(wstore, Settings())
        wstore.close()

        def fresh(name: str) -> Store:
            store = Store(db_url(str(work / f"{name}.db")))
            pipeline.ingest(store, [str(work / "corpus")], Settings())
            return store

        # 1. wall time per stage, no profiler
        analyze.forget_recent()  # the warm-up's analyses, vectors and tokens are not reused
        store = fresh("wall")
        timer = StageTimer()
        t0 = time.perf_counter()
        pipeline.process(store, Settings(), timer)
        timer.finish()
        wall = time.perf_counter() - t0
        n = store.counts()["articles"]
        store.close()
        # 2. the same under cProfile, on a fresh store, nothing kept from the first run
        analyze.forget_recent()
        store = fresh("prof")
        prof = cProfile.Profile()
        prof.enable()
        pipeline.process(store, profiled)
        prof.disable()
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stats = pstats.Stats(prof)
    if args.dump:
        stats.dump_stats(str(args.dump))
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]

    t = Table(title=f"process, wall clock per stage: {len(pages)} pages, {n} articles "
                    f"({n / wall:.1f} articles/s)")
    for col in ("stage", "seconds", "share", "ms/article"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for stage, secs in timer.times.items():
        t.add_row(stage, f"{secs:.2f}", f"{secs / wall:.0%}", f"{1000 * secs / max(n, 1):.1f}")
    t.add_row("process", f"{wall:.2f}", "100%", f"{1000 * wall / max(n, 1):.1f}")
    console.print(t)

    t = Table(title=f"steps under cProfile (cumulative; profiled total {total:.1f} s)")
    for col in ("step", "calls", "seconds", "share"):
        t.add_column(col, justify="left" if col == "step" else "right")
    for label, calls, cum in step_times(stats):
        t.add_row(label, str(calls), f"{cum:.2f}", f"{cum / total:.0%}")
    console.print(t)

    t = Table(title=f"top {args.top} functions by own time (cProfile)")
    for col in ("function", "calls", "own s", "cumulative s"):
        t.add_column(col, justify="left" if col == "function" else "right")
    for where, calls, own, cum in own_times(stats, args.top):
        t.add_row(where[:90], str(calls), f"{own:.2f}", f"{cum:.2f}")
    console.print(t)


if __name__ == "__main__":
    main()

"""Throughput of the whole pipeline: on real pages, or the demo corpus replicated N times.

Prints one table: trafilatura extraction alone on the same HTML pages (the
baseline, measured in this same run) next to matome's ingest and process,
stage by stage, and the e5 embedder alone on the texts matome embedded (the
floor under analysis: every report's title and lead is embedded). Baseline and
matome alternate ``--rounds`` times (default 3) and the round with the median
ratio is shown: this machine's speed drifts by half within minutes, and a
ratio from one pair of timings moved between 0.30 and 0.38 on the same code.
Both are warmed up first, untimed, on a few of the pages (a cold trafilatura
pays its imports and first-call set-up inside the timing, which overstated
matome's ratio about twofold).

``--real DIR`` (repeatable; default: the ``html/`` folders of
``../shared/eval/extraction/scrapinghub_aeb`` and ``ja_koron_extractarticle``
when present, every page, the year-1-date ones included) times both over
those real pages (``*.html`` or ``*.html.gz``).
``--demo`` uses the demo corpus instead: replicas get distinct URLs and ids
but the same text, so the dedupe stage marks them as copies — extraction and
analysis run on every replica, clustering and writing on the originals only.

    .venv/bin/python bench/throughput.py [--real DIR ... | --demo --copies 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import trafilatura
from rich.console import Console
from rich.table import Table

from matome import pipeline
from matome.extract import decode
from matome.language import analyze, embed
from matome.settings import Settings
from matome.store import Store, db_url


def replicate(corpus: Path, out: Path, copies: int) -> list[Path]:
    """Write ``copies`` versions of the corpus with distinct URLs, ids and GUIDs."""
    pages = []
    for k in range(copies):
        for src in sorted(p for p in corpus.rglob("*") if p.is_file()):
            dst = out / f"r{k:03d}" / src.relative_to(corpus)
            dst.parent.mkdir(parents=True, exist_ok=True)
            data = src.read_bytes()
            if src.suffix == ".jsonl":
                lines = []
                for line in data.decode("utf-8").splitlines():
                    if line.strip():
                        rec = json.loads(line)
                        rec["id"] = f"{rec.get('id', 'x')}-r{k}"
                        rec["url"] = f"{rec.get('url', '')}?replica={k}"
                        lines.append(json.dumps(rec, ensure_ascii=False))
                dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
                continue
            dst.write_bytes(_mark_replica(data, k))
            if src.suffix in {".html", ".htm"}:
                pages.append(dst)
    return pages


def _mark_replica(data: bytes, k: int) -> bytes:
    """Make URLs and GUIDs unique to replica k (they are ASCII in every corpus encoding)."""
    tag = f"?replica={k}".encode()
    suffix = f"-r{k}".encode()
    data = re.sub(rb'(https?://[^"<\s]+?)(["<\s])', lambda m: m.group(1) + tag + m.group(2), data)
    data = re.sub(rb"<guid([^>]*)>([^<]+)</guid>",
                  lambda m: b"<guid" + m.group(1) + b">" + m.group(2) + suffix + b"</guid>", data)
    return re.sub(rb"<id>([^<]+)</id>", lambda m: b"<id>" + m.group(1) + suffix + b"</id>", data)


class StageTimer:
    """Seconds per stage. A stage that runs in a thread beside another (``batch.alongside``:
    dedupe beside analysis) is timed in its thread, from its start to its
    last progress event, so those rows overlap in time and add up to more than the run."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._open: dict[int, list] = {}  # per thread: [stage, began, last event]
        self._lock = threading.Lock()

    def _close(self, ident: int) -> None:
        if ident in self._open:
            stage, began, last = self._open.pop(ident)
            self.times[stage] = self.times.get(stage, 0.0) + last - began

    def start(self, stage: str, total: int) -> None:
        ident, now = threading.get_ident(), time.perf_counter()
        with self._lock:
            if ident in self._open:
                self._open[ident][2] = now
            self._close(ident)
            self._open[ident] = [stage.split()[0], now, now]

    def advance(self, n: int = 1) -> None:
        with self._lock:
            if (mine := self._open.get(threading.get_ident())) is not None:
                mine[2] = time.perf_counter()

    def error(self, err: Exception) -> None:
        pass

    def finish(self) -> None:
        """The calling thread's stage ends now; another thread's ended at its last event."""
        self.advance()
        with self._lock:
            for ident in list(self._open):
                self._close(ident)


# stages that run in a thread while another runs (pipeline.process): their rows overlap
BESIDE = {"dedupe": "analyze"}

EXTRACTION = Path(__file__).resolve().parents[2] / "shared" / "eval" / "extraction"
REAL_DIRS = [d for d in (EXTRACTION / "scrapinghub_aeb" / "html",
                         EXTRACTION / "ja_koron_extractarticle" / "html") if d.is_dir()]
WARM_PAGES = 5


def real_pages(srcs: list[Path], out: Path) -> list[Path]:
    """The real pages, decompressed into ``out`` (matome ingests the same files)."""
    pages = []
    for src in srcs:
        sub = out / src.parent.name  # two sets may share a file name
        sub.mkdir(parents=True, exist_ok=True)
        for p in sorted(src.glob("*.html*")):
            data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            dst = sub / p.name.removesuffix(".gz")
            dst.write_bytes(data)
            pages.append(dst)
    return pages


def warm_up(pages: list[Path], work: Path) -> None:
    """Untimed: both sides load their libraries and models before the clock starts."""
    for p in pages[:WARM_PAGES]:
        text, _enc, _why = decode(p.read_bytes())
        trafilatura.bare_extraction(text, with_metadata=True)
    warm = work / "warm"
    warm.mkdir()
    for p in pages[:WARM_PAGES]:
        shutil.copy(p, warm / p.name)
    store = Store(db_url(str(work / "warm.db")))
    pipeline.ingest(store, [str(warm)], Settings())
    pipeline.process(store, Settings())
    store.close()
    analyze.forget_recent()  # the timed run reuses nothing the warm-up analysed


@dataclass
class Round:
    """One round: trafilatura alone, then matome, then the embedder alone, on the same pages."""

    t_traf: float
    t_ingest: float
    t_process: float
    timer: StageTimer
    counts: dict[str, int]
    t_embed: float
    n_embed: int
    pages: int

    @property
    def ratio(self) -> float:
        """matome's articles per second over trafilatura's pages per second."""
        return (self.counts["articles"] / (self.t_ingest + self.t_process)) / (self.pages / self.t_traf)


def _baseline(pages: list[Path]) -> float:
    """Seconds trafilatura alone takes over the pages (decoded as matome decodes them)."""
    t0 = time.perf_counter()
    for p in pages:
        text, _enc, _why = decode(p.read_bytes())
        trafilatura.bare_extraction(text, with_metadata=True)
    return time.perf_counter() - t0


def _matome(work: Path, k: int) -> tuple[float, float, StageTimer, dict[str, int], list[str]]:
    """One matome run (ingest, then process) on a fresh store: its times, counts and the
    texts it embedded (title and lead of every analysed report)."""
    analyze.forget_recent()  # nothing kept from an earlier round or the warm-up
    store = Store(db_url(str(work / f"bench{k}.db")))
    settings = Settings()
    timer = StageTimer()
    t0 = time.perf_counter()
    pipeline.ingest(store, [str(work / "corpus")], settings, timer)
    timer.finish()
    t_ingest = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipeline.process(store, settings, timer)
    timer.finish()
    t_process = time.perf_counter() - t0
    counts = store.counts()
    analyses = store.analyses()
    # each distinct text once, as matome embeds them (a copy's text reuses its original's vector)
    texts = list(dict.fromkeys(analyze.embedding_text(a, analyses[a.id][0])
                               for a in store.articles() if a.id in analyses))
    store.close()
    return t_ingest, t_process, timer, counts, texts


def _embedder_alone(texts: list[str]) -> float:
    """Seconds the embedder alone takes over ``texts``, in this process (its default threads):
    the floor under matome's analysis, nothing reused."""
    analyze.forget_recent()
    t0 = time.perf_counter()
    embed.passages(texts)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=Path, action="append", help="a folder of pages (repeatable)")
    parser.add_argument("--demo", action="store_true", help="the demo corpus, replicated")
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3,
                        help="baseline and matome alternate this many times; the round with the "
                             "median ratio is shown in full (this machine's speed drifts)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="matome-bench-"))
    load = os.getloadavg()
    rounds: list[Round] = []
    try:
        real = args.real or REAL_DIRS
        if args.demo or not real:
            corpus = Path(str(resources.files("matome").joinpath("demo/corpus")))
            pages = replicate(corpus, work / "corpus", args.copies)
            what = f"demo corpus x{args.copies}"
        else:
            pages = real_pages(real, work / "corpus")
            what = "real pages from " + ", ".join(d.parent.name for d in real)
        warm_up(pages, work)
        for k in range(max(1, args.rounds)):
            t_traf = _baseline(pages)
            t_ingest, t_process, timer, counts, texts = _matome(work, k)
            rounds.append(Round(t_traf, t_ingest, t_process, timer, counts,
                                _embedder_alone(texts), len(texts), len(pages)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    console = Console()
    if len(rounds) > 1:
        t = Table(title="rounds (each: trafilatura alone, then matome, then the embedder alone)")
        for col in ("round", "trafilatura s", "matome ingest + process s", "embedder alone s", "ratio"):
            t.add_column(col, justify="right")
        for k, r in enumerate(rounds, 1):
            t.add_row(str(k), f"{r.t_traf:.2f}", f"{r.t_ingest + r.t_process:.2f}",
                      f"{r.t_embed:.2f}", f"{r.ratio:.2f}")
        console.print(t)
    median = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    t_traf, t_ingest, t_process, timer, counts = (median.t_traf, median.t_ingest, median.t_process,
                                                  median.timer, median.counts)
    t_embed, n_embed, ratio = median.t_embed, median.n_embed, median.ratio
    n = counts["articles"]
    table = Table(title=f"matome throughput: {what} ({n} articles, {len(pages)} HTML pages; "
                        "both sides warmed up; the median round)")
    for col in ("what", "items", "seconds", "items/s"):
        table.add_column(col, justify="right" if col != "what" else "left")
    table.add_row("trafilatura alone (HTML pages)", str(len(pages)), f"{t_traf:.2f}",
                  f"{len(pages) / t_traf:.1f}")
    table.add_row("e5 embedder alone (the distinct titles and leads analysed)", str(n_embed),
                  f"{t_embed:.2f}", f"{n_embed / t_embed:.1f}" if t_embed else "")
    table.add_row("matome ingest (all inputs)", str(counts["raw"]), f"{t_ingest:.2f}",
                  f"{counts['raw'] / t_ingest:.1f}")
    for stage, secs in timer.times.items():
        if stage != "ingest":
            beside = f" (beside {BESIDE[stage]})" if stage in BESIDE else ""
            table.add_row(f"  stage {stage}{beside}", "", f"{secs:.2f}", "")
    table.add_row("matome process (whole pipeline)", str(n), f"{t_process:.2f}",
                  f"{n / t_process:.1f}")
    table.add_row("matome ingest + process", str(n), f"{t_ingest + t_process:.2f}",
                  f"{n / (t_ingest + t_process):.1f}")
    console.print(table)
    ratios = ", ".join(f"{r.ratio:.2f}" for r in rounds)
    console.print(f"ratio, matome ingest + process to trafilatura alone: {ratio:.2f} "
                  f"(median of {len(rounds)}: {ratios}; on {os.cpu_count()} cores; load average "
                  f"{load[0]:.1f} before, {os.getloadavg()[0]:.1f} after: other work on the "
                  "machine slows both sides)")
    console.print(f"stories {counts['stories']}, duplicates {counts['duplicates']}, "
                  f"tags {counts['tags']}")


if __name__ == "__main__":
    main()

"""Throughput of the whole pipeline: on real pages, or the demo corpus replicated N times.

Prints one table: trafilatura extraction alone on the same HTML pages (the
baseline, measured in this same run) next to matome's ingest and process,
stage by stage. Both are warmed up first, untimed, on a few of the pages (a
cold trafilatura pays its imports and first-call set-up inside the timing,
which overstated matome's ratio about twofold).

``--real DIR`` (repeatable; default: the ``html/`` folders of
``../shared/eval/extraction/scrapinghub_aeb`` and ``ja_koron_extractarticle``
when present, every page, the year-1-date ones included) times both over
those real pages (``*.html`` or ``*.html.gz``).
``--demo`` uses the demo corpus instead: replicas get distinct URLs and ids
but the same text, so the dedupe stage marks them as copies — extraction and
analysis run on every replica, clustering and writing on the originals only.

    .venv/bin/python bench/throughput.py [--real DIR ... | --demo --copies 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import tempfile
import time
from importlib import resources
from pathlib import Path

import trafilatura
from rich.console import Console
from rich.table import Table

from matome import pipeline
from matome.extract import decode
from matome.language import analyze
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
    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.current: str | None = None
        self.t0 = 0.0

    def _stop(self) -> None:
        if self.current is not None:
            self.times[self.current] = self.times.get(self.current, 0.0) + time.perf_counter() - self.t0

    def start(self, stage: str, total: int) -> None:
        self._stop()
        self.current = stage.split()[0]
        self.t0 = time.perf_counter()

    def advance(self, n: int = 1) -> None:
        pass

    def error(self, err: Exception) -> None:
        pass

    def finish(self) -> None:
        self._stop()
        self.current = None


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=Path, action="append", help="a folder of pages (repeatable)")
    parser.add_argument("--demo", action="store_true", help="the demo corpus, replicated")
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="matome-bench-"))
    load = os.getloadavg()
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
        # Baseline: trafilatura alone on the same HTML pages.
        t0 = time.perf_counter()
        for p in pages:
            text, _enc, _why = decode(p.read_bytes())
            trafilatura.bare_extraction(text, with_metadata=True)
        t_traf = time.perf_counter() - t0

        store = Store(db_url(str(work / "bench.db")))
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
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = counts["articles"]
    table = Table(title=f"matome throughput: {what} ({n} articles, {len(pages)} HTML pages; "
                        "both sides warmed up)")
    for col in ("what", "items", "seconds", "items/s"):
        table.add_column(col, justify="right" if col != "what" else "left")
    table.add_row("trafilatura alone (HTML pages)", str(len(pages)), f"{t_traf:.2f}",
                  f"{len(pages) / t_traf:.1f}")
    table.add_row("matome ingest (all inputs)", str(counts["raw"]), f"{t_ingest:.2f}",
                  f"{counts['raw'] / t_ingest:.1f}")
    for stage, secs in timer.times.items():
        if stage != "ingest":
            table.add_row(f"  stage {stage}", "", f"{secs:.2f}", "")
    table.add_row("matome process (whole pipeline)", str(n), f"{t_process:.2f}",
                  f"{n / t_process:.1f}")
    table.add_row("matome ingest + process", str(n), f"{t_ingest + t_process:.2f}",
                  f"{n / (t_ingest + t_process):.1f}")
    Console().print(table)
    ratio = (n / (t_ingest + t_process)) / (len(pages) / t_traf)
    Console().print(f"ratio, matome ingest + process to trafilatura alone: {ratio:.2f} "
                    f"(on {os.cpu_count()} cores; load average {load[0]:.1f} before, "
                    f"{os.getloadavg()[0]:.1f} after: other work on the machine slows both sides)")
    Console().print(f"stories {counts['stories']}, duplicates {counts['duplicates']}, "
                    f"tags {counts['tags']}")


if __name__ == "__main__":
    main()

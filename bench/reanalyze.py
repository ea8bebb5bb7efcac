"""What a new analyze version costs: ``process`` after a version bump of the analyze stage.

The demo corpus's reports are written ``--copies`` times as JSONL records, each
copy's title marked with its number (so every copy is its own text to analyse
and embed, as a real archive's reports are: no copy is served from this
process's recent analyses or vectors). They are processed once (untimed); then
the analyze stage gets a new version (``analyze.STAGE`` one higher, as a
change of its behaviour gives), this process forgets what it analysed and
embedded, and ``process`` is timed: every report is analysed again, and the
ordered stages take in what changed.

    .venv/bin/python bench/reanalyze.py [--copies 6] [--workers 0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench.throughput import StageTimer

from matome import pipeline
from matome.language import analyze
from matome.records import Stage
from matome.settings import Settings
from matome.store import Store, db_url


def corpus(work: Path, copies: int) -> Path:
    """The demo corpus's articles, ``copies`` times, each copy's titles its own."""
    demo = Store(db_url(str(work / "demo.db")))
    settings = Settings()
    pipeline.ingest(demo, [str(resources.files("matome").joinpath("demo/corpus"))], settings)
    pipeline.run_extract(demo, settings, pipeline.Quiet(), pipeline.Report())
    articles = demo.articles()
    demo.close()
    out = work / "copies.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for k in range(copies):
            for a in articles:
                f.write(json.dumps({"id": f"{a.id}-r{k}", "url": f"{a.url}?replica={k}",
                                    "title": f"{a.title}（{k}）", "text": a.text, "source": a.source,
                                    "published": a.published.isoformat() if a.published else None},
                                   ensure_ascii=False) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--workers", type=int, default=0, help="scale.workers (0: one per core)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="matome-reanalyze-"))
    try:
        settings = Settings()
        settings.scale.workers = args.workers
        store = Store(db_url(str(work / "bench.db")))
        pipeline.ingest(store, [str(corpus(work, args.copies))], settings)
        t0 = time.perf_counter()
        first = pipeline.process(store, settings)
        t_first = time.perf_counter() - t0
        analyze.STAGE = Stage("analyze", analyze.STAGE.version + 1)
        analyze.forget_recent()
        timer = StageTimer()
        t0 = time.perf_counter()
        again = pipeline.process(store, settings, timer)
        timer.finish()
        t_again = time.perf_counter() - t0
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{first.counts['analyzed']} reports; first process {t_first:.1f} s; after the bump: "
          f"process {t_again:.1f} s, analyze {timer.times.get('analyze', 0.0):.1f} s, "
          f"{again.counts['analyzed']} analysed, {again.counts['embeddings reused']} embeddings reused "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

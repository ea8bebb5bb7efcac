"""Story assignment at scale: per-article time and memory at 10k, 100k and 1M articles.

A synthetic stream stands in for a news archive growing over years: events
arrive at a steady rate, each reported 1-8 times within a day or two, with
e5-like embeddings synthesised directly (an event's topic vector plus
noise, so same-event cosines sit near 0.92, as e5
places Japanese news), Zipf-distributed entities and lemmas, and event days.
The bench measures matome's assignment (cluster.Clusterer), not the
embedder, and stores every membership in SQLite as it goes, in batches, so
the archive really grows on disk.

For each size it prints the mean assignment time of the last articles
before that size was reached, the resident memory, and the pairwise
precision/recall of the grouping on a sample (so speed is not bought with
wrong stories). The baseline in the same run is the first measurement
point: the goal is time at 1M ≤ 1.5 × time at 10k.

    .venv/bin/python bench/cluster_scale.py [--sizes 10000,100000,1000000] [--per-day 1500]
"""

from __future__ import annotations

import os

# One article's vector search is a small product: BLAS threads would only
# spin, and their spinning would count as the process's CPU time.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from matome.settings import ClusterSettings  # noqa: E402
from matome.stories.cluster import Clusterer, Features  # noqa: E402

DIM = 384
START = datetime(2020, 1, 1, tzinfo=UTC)


def _rss_mib() -> float:
    """Resident memory now (not the peak), from /proc."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * 4096 / 2**20


class Stream:
    """A reproducible synthetic news stream, in publication order."""

    def __init__(self, per_day: int, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.py = random.Random(seed)
        self.per_day = per_day
        # a pool of "situations" (a summit, a dispute) events are drawn from:
        # events of one situation share entities and lie near each other
        self.situations = self._unit(self.rng.standard_normal((2000, DIM)))
        self.entity_vocab = [f"e{i}" for i in range(200_000)]
        self.lemma_vocab = [f"w{i}" for i in range(50_000)]

    @staticmethod
    def _unit(m: np.ndarray) -> np.ndarray:
        return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)

    def _zipf(self, vocab: list[str], k: int) -> list[str]:
        idx = np.minimum(self.rng.zipf(1.3, size=k) - 1, len(vocab) - 1)
        return [vocab[int(i)] for i in idx]

    def articles(self, n: int) -> Iterator[tuple[Features, int]]:
        """(features, true event id) for n articles."""
        made = 0
        event = 0
        minute = 0.0
        step = 24 * 60 / self.per_day
        while made < n:
            event += 1
            sit = self.situations[self.py.randrange(len(self.situations))]
            topic = self._unit(sit * 0.55 + self.rng.standard_normal(DIM).astype(np.float32)
                               / np.sqrt(DIM) * 0.85)
            ents = self._zipf(self.entity_vocab, 5)
            lemmas = self._zipf(self.lemma_vocab, 14)
            reports = min(n - made, 1 + int(self.rng.geometric(0.35)) % 8)
            day = (START + timedelta(minutes=minute)).date()
            for r in range(reports):
                minute += step
                published = START + timedelta(minutes=minute + self.py.uniform(0, 600) * (r > 0))
                vec = self._unit(topic + self.rng.standard_normal(DIM).astype(np.float32)
                                 / np.sqrt(DIM) * 0.3)
                f = Features(
                    article_id=f"a{made:08d}", lang="ja", published=published, embedding=vec,
                    lemmas=frozenset(self.py.sample(lemmas, 9)),
                    entities=frozenset(self.py.sample(ents, 3)),
                    event_days=frozenset({day}) if self.py.random() < 0.7 else frozenset[date](),
                )
                yield f, event
                made += 1


def pairwise(pred: dict[str, str], gold: dict[str, int]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping against the true events."""
    by_pred: dict[str, list[str]] = defaultdict(list)
    by_gold: dict[int, list[str]] = defaultdict(list)
    for a, s in pred.items():
        by_pred[s].append(a)
        by_gold[gold[a]].append(a)
    tp = sum(sum(1 for i, x in enumerate(m) for y in m[i + 1:] if gold[x] == gold[y])
             for m in by_pred.values())
    pred_pairs = sum(len(m) * (len(m) - 1) // 2 for m in by_pred.values())
    gold_pairs = sum(len(m) * (len(m) - 1) // 2 for m in by_gold.values())
    return (tp / pred_pairs if pred_pairs else 1.0, tp / gold_pairs if gold_pairs else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--per-day", type=int, default=1500, help="articles per day")
    parser.add_argument("--measure", type=int, default=5000,
                        help="articles timed before each size is reached")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    console = Console()
    cfg = ClusterSettings()
    clusterer = Clusterer(cfg)
    work = Path(tempfile.mkdtemp(prefix="matome-scale-"))
    db = sqlite3.connect(work / "archive.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE memberships (article_id TEXT PRIMARY KEY, story_id TEXT, "
               "published TEXT, evidence REAL)")
    rows: list[tuple[str, str, str, float]] = []
    pred: dict[str, str] = {}
    gold: dict[str, int] = {}
    results = []
    line_of: dict[str, str] = {}  # story -> storyline when made (first 20k articles)
    moved: dict[str, str] = {}  # storyline -> the one that took it in
    timings: list[float] = []
    t_store = 0.0
    for n, (f, event) in enumerate(Stream(args.per_day).articles(sizes[-1]), start=1):
        t0 = time.process_time()  # CPU time: other work on the machine does not inflate it
        got = clusterer.assign(f)
        timings.append(time.process_time() - t0)
        rows.append((f.article_id, got.story, f.published.isoformat() if f.published else "",
                     got.evidence.get("score", 0.0)))
        if n <= 20_000:  # quality on the first 20k: pairs are quadratic to count
            pred[f.article_id], gold[f.article_id] = got.story, event
            if got.new:
                line_of[got.story] = got.storyline or ""
            moved.update(got.relinked)
        if len(rows) >= 10_000:
            t1 = time.perf_counter()
            db.executemany("INSERT INTO memberships VALUES (?, ?, ?, ?)", rows)
            db.commit()
            t_store += time.perf_counter() - t1
            rows.clear()
        if n in sizes:
            recent = timings[-args.measure:]
            results.append((n, 1000 * float(np.mean(recent)), 1000 * float(np.percentile(recent, 99)),
                            len(clusterer.stories), _rss_mib()))
            console.print(f"{n:>9,} articles: {results[-1][1]:.3f} ms/article "
                          f"({len(clusterer.stories)} active stories)")
        if len(timings) > args.measure * 2:
            del timings[: args.measure]
    db.executemany("INSERT INTO memberships VALUES (?, ?, ?, ?)", rows)
    db.commit()
    stored = db.execute("SELECT COUNT(*) FROM memberships").fetchone()[0]
    precision, recall = pairwise(pred, gold)
    table = Table(title=f"Story assignment at scale ({args.per_day} articles/day, "
                        f"window {cfg.window_days:g} days, {cfg.candidates} vector candidates)")
    for col in ("articles", "ms/article (mean)", "ms/article (p99)", "× at first size",
                "active stories", "RSS MiB"):
        table.add_column(col, justify="right")
    base = results[0][1]
    for n, mean, p99, active, rss in results:
        table.add_row(f"{n:,}", f"{mean:.3f}", f"{p99:.3f}", f"{mean / base:.2f}", str(active),
                      f"{rss:.0f}")
    console.print(table)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    console.print(f"stored {stored:,} memberships in {work / 'archive.db'} "
                  f"({(work / 'archive.db').stat().st_size / 2**20:.0f} MiB, {t_store:.1f}s writing)")
    console.print(f"grouping of the first {len(pred):,} articles: pairwise precision "
                  f"{precision:.3f}, recall {recall:.3f}")

    def final(line: str) -> str:
        while line in moved:
            line = moved[line]
        return line
    sizes_of = Counter(final(line) for line in line_of.values())
    largest = max(sizes_of.values(), default=0)
    console.print(f"storylines of those articles: {len(line_of):,} stories in {len(sizes_of):,} "
                  f"storylines; the largest holds {largest} stories "
                  f"({100 * largest / max(1, len(line_of)):.1f}%: a catch-all storyline would show here)")


if __name__ == "__main__":
    main()

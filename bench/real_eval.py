"""Same-event grouping on real Japanese news, by folds over events, beside a baseline.

The set is ``../shared/eval/clustering/real_ja_events`` (real reports, labelled
by event and storyline, with many look-alike events: three Bank of Japan
decisions, two general elections, several rounds of one dispute). It is read
from there and never copied into the repository.

matome runs its real path: the reports are ingested into a temporary store
and go through extract, analyze and dedupe as the pipeline runs them; each
held-out fold is then grouped by the pipeline's Clusterer on the features
``pipeline.cluster_inputs`` gives (copies join their original's story), as
one stream of that fold's reports only. The whole set is also grouped as one
stream — the hardest case, where every look-alike is present — and its
storylines are scored by folds of pairs (``bench/real_lines.py``: a fold's
own stream is too sparse for storylines, which compare a story with the live
ones).

Folds are split by event (group k-fold over ``gold_event``, seeded), never by
report. Anything tuned is chosen on the other folds and scored on the held-out
one: matome's join ``threshold`` (and ``storyline_threshold``) in the "tuned"
rows, and the baseline's distance threshold. The baseline is TF-IDF over
character 2-3-grams of title and text, agglomerative clustering (average
linkage, cosine) cut at that threshold.

``--undated`` drops every ``published`` date first, as feed summaries and
pasted lists come; ``--dated-share 0.1`` keeps the dates of a seeded tenth of
the reports only (a site mixing dated feeds with undated summaries); and
pasted lists come: only the text names the day.

In the same run, ``bench/write_lint.py`` puts every page of
``../shared/eval/extraction`` and every report of the set through the whole
pipeline and prints crashes, rejects by reason, stories built from non-news
pages and the lint of every written sentence, beside a Lead-3 baseline
(``--no-lint`` skips it; ``--lint-sample N`` runs it on N pages while developing).

    .venv/bin/python bench/real_eval.py [--folds 5] [--seed 0] [--undated | --dated-share F] [--errors]
                                        [--no-lint | --lint-sample N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench import real_lines, write_lint
from bench.cluster_eval import matome_grouping

from matome import pipeline
from matome.settings import Settings
from matome.store import Store, db_url
from matome.stories import cluster

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "eval" / "clustering" / "real_ja_events"
THRESHOLDS = [0.30, 0.34, 0.38, 0.42, 0.46, 0.50]
LINE_THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35]
BASE_CUTS = [round(0.5 + 0.025 * i, 3) for i in range(19)]  # cosine distance 0.5 … 0.95


@dataclass
class Report:
    """One report of the set: its features as the pipeline makes them, and its gold labels."""

    id: str
    features: cluster.Features | None  # None: a copy, grouped with its original
    original: str  # the report it copies (itself when an original)
    event: str
    thread: str
    text: str


def load(undated: bool = False, root: Path = REAL, dated_share: float | None = None) -> list[Report]:
    """The set through ingest, extract, analyze and dedupe; reports in the pipeline's order.
    ``dated_share``: the share of reports (seeded) that keep their dates, the rest undated."""
    rows = [json.loads(x) for x in (root / "reports.jsonl").read_text("utf-8").splitlines() if x.strip()]
    if dated_share is not None:
        rng = random.Random(1)
        rows = [r if rng.random() < dated_share else {**r, "published": None} for r in rows]
    labels = {d["id"]: d for d in map(json.loads, (root / "labels.jsonl").read_text("utf-8").splitlines())}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "reports.jsonl"
        src.write_text("".join(json.dumps({**r, "published": None} if undated else r, ensure_ascii=False)
                               + "\n" for r in rows), "utf-8")
        store = Store(db_url(str(Path(tmp) / "real.db")))
        settings = Settings()
        pipeline.ingest(store, [str(src)], settings)
        progress, report = pipeline.Quiet(), pipeline.Report()
        for stage in (pipeline.run_extract, pipeline.run_analyze, pipeline.run_dedupe):
            stage(store, settings, progress, report)
        articles, analyses, dup_of, to_features = pipeline.cluster_inputs(store, settings)
        row_of = {r["url"]: r for r in rows}
        out = []
        ids = {a.id: row_of[a.url]["id"] for a in articles}
        for a in articles:
            if a.id not in analyses or a.id not in dup_of:
                continue
            root_id = a.id
            while dup_of.get(root_id):
                root_id = dup_of[root_id] or root_id
            row = row_of[a.url]
            lab = labels[row["id"]]
            out.append(Report(row["id"], to_features(a) if root_id == a.id else None, ids[root_id],
                              lab["gold_event"], lab["gold_thread"],
                              f"{row.get('title') or ''}\n{row['text']}"))
        store.close()
    return out


def folds(reports: Sequence[Report], k: int, seed: int) -> list[list[Report]]:
    """Group k-fold over events: every report of an event in one fold, sizes balanced."""
    by_event: dict[str, list[Report]] = defaultdict(list)
    for r in reports:
        by_event[r.event].append(r)
    events = sorted(by_event)
    random.Random(seed).shuffle(events)
    events.sort(key=lambda e: -len(by_event[e]))  # stable: shuffled within equal sizes
    parts: list[list[Report]] = [[] for _ in range(k)]
    for e in events:
        min(parts, key=len).extend(by_event[e])
    order = {r.id: i for i, r in enumerate(reports)}
    return [sorted(p, key=lambda r: order[r.id]) for p in parts]


def grouped(reports: Sequence[Report], settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """matome's stories and storylines of ``reports`` as one stream: report id -> story, -> storyline."""
    originals = [r for r in reports if r.features is not None]
    stories, lines = matome_grouping([r.features for r in originals if r.features is not None], settings)
    story_of = {r.id: s for r, s in zip(originals, stories, strict=True)}
    line_of = {r.id: s for r, s in zip(originals, lines, strict=True)}
    # copies join their original's story
    return ({r.id: story_of[r.original] for r in reports}, {r.id: line_of[r.original] for r in reports})


def pair_counts(pred: dict[str, str], gold: dict[str, str]) -> tuple[int, int, int]:
    """Pairwise true positives, false positives and false negatives, from cluster sizes."""
    def pairs(groups: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())
    both = pairs(Counter((pred[i], gold[i]) for i in gold))
    return both, pairs(Counter(pred[i] for i in gold)) - both, pairs(Counter(gold.values())) - both


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def baseline(reports: Sequence[Report], cut: float) -> dict[str, str]:
    """TF-IDF (character 2-3-grams) + agglomerative (average, cosine) cut at distance ``cut``."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(reports) < 2:
        return {r.id: "0" for r in reports}
    x = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(
        [r.text for r in reports]).toarray()
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=cut, metric="cosine",
                                    linkage="average")
    return {r.id: str(v) for r, v in zip(reports, model.fit_predict(x), strict=True)}


Level = Callable[[Report], str]
LEVELS: dict[str, Level] = {"events": lambda r: r.event, "storylines": lambda r: r.thread}


def score(parts: Sequence[Sequence[Report]], predict: Callable[[Sequence[Report]], dict[str, dict[str, str]]]
          ) -> dict[str, tuple[int, int, int]]:
    """Pair counts per level, summed over ``parts`` (each grouped on its own)."""
    total = {lv: (0, 0, 0) for lv in LEVELS}
    for part in parts:
        pred = predict(part)
        for lv, gold_of in LEVELS.items():
            c = pair_counts(pred[lv], {r.id: gold_of(r) for r in part})
            total[lv] = tuple(a + b for a, b in zip(total[lv], c, strict=True))  # type: ignore[assignment]
    return total


def matome(threshold: float | None = None, line_threshold: float | None = None
           ) -> Callable[[Sequence[Report]], dict[str, dict[str, str]]]:
    def run(part: Sequence[Report]) -> dict[str, dict[str, str]]:
        settings = Settings()
        if threshold is not None:
            settings.cluster.threshold = threshold
        if line_threshold is not None:
            settings.cluster.storyline_threshold = line_threshold
        stories, lines = grouped(part, settings)
        return {"events": stories, "storylines": lines}
    return run


def base(cut_events: float, cut_lines: float) -> Callable[[Sequence[Report]], dict[str, dict[str, str]]]:
    def run(part: Sequence[Report]) -> dict[str, dict[str, str]]:
        return {"events": baseline(part, cut_events), "storylines": baseline(part, cut_lines)}
    return run


def pick(train: Sequence[Sequence[Report]], options: Sequence[Any],
         predict: Callable[[Any], Callable[[Sequence[Report]], dict[str, dict[str, str]]]],
         level: str) -> Any:
    """The option with the best pairwise F1 of ``level`` on the training folds (ties: the first)."""
    best, best_f = options[0], -1.0
    for opt in options:
        f = prf(*score(train, predict(opt))[level])[2]
        if f > best_f + 1e-9:
            best, best_f = opt, f
    return best


def evaluate(reports: list[Report], k: int, seed: int, tune: bool = True) -> dict[str, Any]:
    """Held-out pair counts per fold and system; the options picked on the other folds."""
    parts = folds(reports, k, seed)
    rows: dict[str, list[dict[str, tuple[int, int, int]]]] = defaultdict(list)
    picked: dict[str, list[Any]] = defaultdict(list)
    for i, held in enumerate(parts):
        train = [p for j, p in enumerate(parts) if j != i]
        rows["matome (defaults)"].append(score([held], matome()))
        if tune:
            th = pick(train, THRESHOLDS, lambda t: matome(threshold=t), "events")
            lt = pick(train, LINE_THRESHOLDS, lambda t, th=th: matome(threshold=th, line_threshold=t),
                      "storylines")
            picked["matome tuned (threshold, storyline_threshold)"].append((th, lt))
            rows["matome (tuned on other folds)"].append(score([held], matome(th, lt)))
        ce = pick(train, BASE_CUTS, lambda c: base(c, c), "events")
        cl = pick(train, BASE_CUTS, lambda c: base(c, c), "storylines")
        picked["baseline cuts (events, storylines)"].append((ce, cl))
        rows["TF-IDF + agglomerative (cut on other folds)"].append(score([held], base(ce, cl)))
    return {"parts": parts, "rows": rows, "picked": picked}


def errors(reports: Sequence[Report], settings: Settings, out: Any = sys.stdout) -> None:
    """The wrong pairs of one stream: events merged into one story, and events split."""
    stories, _ = grouped(reports, settings)
    by_story: dict[str, list[Report]] = defaultdict(list)
    for r in reports:
        by_story[stories[r.id]].append(r)
    print("\n-- stories holding more than one event --", file=out)
    for members in by_story.values():
        if len({r.event for r in members}) > 1:
            print("story:", file=out)
            for r in members:
                print(f"   {r.event:45s} {r.id} {r.text[:60]!r}", file=out)
    print("\n-- events split over stories --", file=out)
    by_event: dict[str, list[Report]] = defaultdict(list)
    for r in reports:
        by_event[r.event].append(r)
    for ev, members in by_event.items():
        if len({stories[r.id] for r in members}) > 1:
            print(f"{ev}:", file=out)
            for r in members:
                print(f"   {stories[r.id]} {r.id} {r.text[:60]!r}", file=out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--undated", action="store_true", help="drop every published date first")
    parser.add_argument("--dated-share", type=float, default=None,
                        help="keep the dates of this share of the reports (seeded), drop the rest")
    parser.add_argument("--no-tune", action="store_true", help="skip matome's tuned rows (faster)")
    parser.add_argument("--errors", action="store_true", help="print the wrong pairs of the whole stream")
    parser.add_argument("--no-lint", action="store_true", help="skip the whole-pipeline run and the lint")
    parser.add_argument("--lint-sample", type=int, default=None, help="lint on a seeded sample of N pages")
    args = parser.parse_args()
    if not REAL.exists():
        print(f"skipped: {REAL} is absent (the evaluation data lives in ../shared/eval)")
        return
    reports = load(args.undated, dated_share=args.dated_share)
    result = evaluate(reports, args.folds, args.seed, tune=not args.no_tune)
    parts = result["parts"]
    print(f"real_ja_events: {len(reports)} reports, {len({r.event for r in reports})} events, "
          f"{len({r.thread for r in reports})} storylines; {args.folds} folds by event (seed "
          f"{args.seed}){'; dates removed' if args.undated else ''}"
          f"{f'; dates kept on a share of {args.dated_share}' if args.dated_share is not None else ''}")
    print("fold sizes (reports/events): " + ", ".join(
        f"{len(p)}/{len({r.event for r in p})}" for p in parts))
    for lv in LEVELS:
        print(f"\n{lv}: pairwise P / R / F1, held-out")
        print(f"{'system':45s} " + " ".join(f"{'fold ' + str(i + 1):>17s}" for i in range(len(parts)))
              + f" {'overall':>17s}")
        for system, per_fold in result["rows"].items():
            cells = [prf(*c[lv]) for c in per_fold]
            pooled = tuple(sum(c[lv][j] for c in per_fold) for j in range(3))
            cells.append(prf(*pooled))
            print(f"{system:45s} " + " ".join(f"{p:.2f}/{r:.2f}/{f:.2f}".rjust(17) for p, r, f in cells))
    for what, vals in result["picked"].items():
        print(f"picked on the other folds, {what}: {vals}")
    whole = matome()(reports)
    print("\nwhole set as one stream (matome defaults): " + "; ".join(
        f"{lv} P/R/F1 " + "/".join(f"{v:.2f}" for v in prf(*pair_counts(
            whole[lv], {r.id: LEVELS[lv](r) for r in reports}))) for lv in LEVELS))
    real_lines.print_table(real_lines.evaluate(reports, parts, grouped, baseline, BASE_CUTS), prf)
    if args.errors:
        errors(reports, Settings())
    if not args.no_lint:
        write_lint.run(REAL.parents[1], args.lint_sample)


if __name__ == "__main__":
    main()

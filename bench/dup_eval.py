"""When do two sentences say the same thing? The near-duplicate threshold, cross-validated by event.

Labels: ``bench/dup_labels.json`` (how they were made is written there) —
pairs of sentences from different reports of one event of
``../shared/eval/clustering/real_ja_events``, each marked same / not the
same fact. The sentences are read from the set (never copied here).

Three measures, each with its threshold chosen on the other folds (group
k-fold over events, so no event is both tuned and scored on) and scored on
the held-out fold:

- character-bigram containment (``matome.write.lint.similarity``: the share
  of the shorter sentence's bigrams found in the other) — what matome uses;
- character-bigram Jaccard;
- TF-IDF cosine over Sudachi content lemmas, fitted on the set's sentences
  (the measure MMR already uses to avoid redundancy, at 0.6).

The sample was drawn richer in similar pairs than the set is, so precision
and recall here describe the hard cases, not a random pair.

    .venv/bin/python bench/dup_eval.py [--folds 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from matome.language import nfkc, split_sentences, textja
from matome.write import clean, lint

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "eval" / "clustering" / "real_ja_events"
LABELS = Path(__file__).with_name("dup_labels.json")
GRID = [round(0.2 + 0.05 * i, 2) for i in range(16)]   # 0.20 … 0.95


def sentences(root: Path = REAL) -> dict[str, str]:
    """'<report id>#<n>' -> the report's n-th sentence (``split_sentences`` of its text), as a
    writer would cite it (``clean.cited_span``)."""
    out = {}
    for line in (root / "reports.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            for i, s in enumerate(split_sentences(r["text"])):
                out[f"{r['id']}#{i}"] = clean.cited_span(s.text, "ja") or s.text
    return out


def jaccard(a: str, b: str) -> float:
    x, y = lint._bigrams(a), lint._bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def tfidf(texts: dict[str, str]) -> Callable[[str, str], float]:
    keys = sorted(texts)
    vec = TfidfVectorizer(analyzer=lambda lemmas: lemmas, norm="l2")
    m = vec.fit_transform([textja.content_lemmas(textja.tokenize(nfkc(texts[k]))) for k in keys])
    row = {k: i for i, k in enumerate(keys)}
    by_text = {texts[k]: k for k in keys}

    def cosine(a: str, b: str) -> float:
        return float((m[row[by_text[a]]] @ m[row[by_text[b]]].T).toarray()[0, 0])
    return cosine


Scored = tuple[float, bool, float]   # (similarity, same, weight)


def prf(pairs: list[Scored], threshold: float) -> tuple[float, float, float, float, float, float]:
    """Weighted precision, recall, F1 and true/false positives, false negatives."""
    tp = sum(w for s, y, w in pairs if s >= threshold and y)
    fp = sum(w for s, y, w in pairs if s >= threshold and not y)
    fn = sum(w for s, y, w in pairs if s < threshold and y)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), tp, fp, fn


def best(pairs: list[Scored]) -> float:
    """The threshold of the grid with the best F1 (ties: the higher, the more careful)."""
    return max(GRID, key=lambda t: (round(prf(pairs, t)[2], 9), t))


def weights(texts: dict[str, str], labelled: list[dict[str, object]], root: Path = REAL) -> list[float]:
    """Each labelled pair's weight: how many same-event pairs of the set fall in its tenth of
    containment, over how many of those were labelled — so that the scores describe the set's
    pairs as they come, not the sample's (which favours similar pairs)."""
    event = {}
    for line in (root / "labels.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            event[d["id"]] = d["gold_event"]
    by_event: dict[str, list[str]] = defaultdict(list)
    for key in texts:
        by_event[event[key.split("#")[0]]].append(key)
    population: dict[int, int] = defaultdict(int)
    for keys in by_event.values():
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if a.split("#")[0] != b.split("#")[0]:
                    population[min(9, int(10 * lint.similarity(texts[a], texts[b])))] += 1
    tenth = [min(9, int(10 * lint.similarity(texts[str(p["a"])], texts[str(p["b"])]))) for p in labelled]
    sampled: dict[int, int] = defaultdict(int)
    for t in tenth:
        sampled[t] += 1
    return [population[t] / sampled[t] for t in tenth]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not REAL.exists():
        print(f"skipped: {REAL} is absent (the evaluation data lives in ../shared/eval)")
        return 0
    texts = sentences()
    labelled = json.loads(LABELS.read_text("utf-8"))["pairs"]
    events = sorted({p["event"] for p in labelled})
    random.Random(args.seed).shuffle(events)
    fold_of = {e: i % args.folds for i, e in enumerate(events)}
    measures: dict[str, Callable[[str, str], float]] = {
        "bigram containment (matome)": lint.similarity, "bigram Jaccard": jaccard,
        "TF-IDF lemma cosine": tfidf(texts)}
    weight = weights(texts, labelled)
    print(f"{len(labelled)} labelled pairs ({sum(p['same'] for p in labelled)} same) over "
          f"{len(events)} events, {args.folds} folds by event; scores weighted to the set's pairs\n")
    print(f"{'measure':30s} {'thresholds picked':30s} {'held-out P':>10s} {'R':>6s} {'F1':>6s}")
    for name, sim in measures.items():
        scored: dict[int, list[Scored]] = defaultdict(list)
        for p, w in zip(labelled, weight, strict=True):
            scored[fold_of[p["event"]]].append((sim(texts[p["a"]], texts[p["b"]]), p["same"], w))
        picked, total = [], np.zeros(3)
        for k in range(args.folds):
            t = best([x for j, xs in scored.items() if j != k for x in xs])
            picked.append(t)
            total += np.array(prf(scored[k], t)[3:])
        p = total[0] / max(1e-9, total[0] + total[1])
        r = total[0] / max(1e-9, total[0] + total[2])
        f = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{name:30s} {picked!s:30s} {p:10.2f} {r:6.2f} {f:6.2f}")
    whole = [(lint.similarity(texts[p["a"]], texts[p["b"]]), p["same"], w)
             for p, w in zip(labelled, weight, strict=True)]
    cos = measures["TF-IDF lemma cosine"]
    mmr = [(cos(texts[p["a"]], texts[p["b"]]), p["same"], w) for p, w in zip(labelled, weight, strict=True)]
    print(f"\nmatome's NEAR_DUPLICATE = {lint.NEAR_DUPLICATE}, all pairs: P/R/F1 "
          + "/".join(f"{v:.2f}" for v in prf(whole, lint.NEAR_DUPLICATE)[:3])
          + "; MMR's TF-IDF cosine cut 0.6 alone: P/R/F1 " + "/".join(f"{v:.2f}" for v in prf(mmr, 0.6)[:3]))
    print("(pairs under 0.25 containment were not sampled: a duplicate among them is missed by every row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Storylines of the real set grouped as one stream, scored by folds over events (issue 15).

``real_eval`` scores each held-out fold as a stream of its own reports only:
six or so events, most storylines one event long. Storylines are decided by
how a story compares with the *live* storylines (e5 vectors centred on the
mean of live reports, IDF over live reports), and a stream that sparse is not
what a site sees: the mean is then made of the very storylines compared, and
a week-apart sequel can look unlike its own storyline. Here the whole set is
grouped as one stream (every storyline present, as on a site) and the pairs
are split by fold: pairs with a report in fold i are its test pairs, pairs
with neither report in it are its training pairs. A setting is chosen on a
fold's training pairs only and scored on its test pairs, so fold i's labels
never choose what it is scored with. A pair across two folds is a test pair
of both (the pooled row counts it twice).

Compared, in the same run: the defaults; the defaults before issue 15's
calibration (0.55/0.35/0.1, threshold 0.2, 30 days); the grid point picked on
each fold's training pairs; and the TF-IDF + agglomerative baseline of
``real_eval`` on the same stream, its cut picked the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from matome.settings import ClusterSettings, Settings

Counts = tuple[int, int, int]  # true positive, false positive, false negative pairs
WEIGHTS = ("storyline_weight_embedding", "storyline_weight_entities", "storyline_weight_lexical",
           "storyline_threshold", "storyline_days")
BEFORE = (0.55, 0.35, 0.1, 0.2, 30.0)  # the defaults before issue 15's calibration
GRID = [(e, n, w, th, d) for e in (0.35, 0.45, 0.55) for n in (0.25, 0.35, 0.45, 0.55)
        for w in (0.0, 0.1, 0.2) for th in (0.2, 0.25, 0.3, 0.35) for d in (30.0, 45.0, 60.0)]


def split_counts(pred: dict[str, str], gold: dict[str, str], fold_of: dict[str, int], k: int
                 ) -> tuple[list[Counts], list[Counts]]:
    """Per fold: pair counts of its training pairs (no report in it) and test pairs (one or two)."""
    train = [[0, 0, 0] for _ in range(k)]
    test = [[0, 0, 0] for _ in range(k)]
    for a, b in itertools.combinations(sorted(pred), 2):
        same_p, same_g = pred[a] == pred[b], gold[a] == gold[b]
        if not (same_p or same_g):
            continue
        kind = 0 if same_p and same_g else 1 if same_p else 2
        for i in range(k):
            (test if i in (fold_of[a], fold_of[b]) else train)[i][kind] += 1
    return [tuple(c) for c in train], [tuple(c) for c in test]  # type: ignore[misc]


def _f1(c: Counts) -> float:
    tp, fp, fn = c
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def settings_of(point: Sequence[float]) -> Settings:
    s = Settings()
    s.cluster = replace(ClusterSettings(), **dict(zip(WEIGHTS, point, strict=True)))
    return s


def evaluate(reports: Sequence[Any], parts: Sequence[Sequence[Any]],
             grouped: Callable[[Sequence[Any], Settings], tuple[dict[str, str], dict[str, str]]],
             baseline: Callable[[Sequence[Any], float], dict[str, str]], cuts: Sequence[float]
             ) -> dict[str, Any]:
    """Test pair counts per fold for each system, and what was picked per fold."""
    k = len(parts)
    fold_of = {r.id: i for i, p in enumerate(parts) for r in p}
    gold = {r.id: r.thread for r in reports}

    def run(pred: dict[str, str]) -> tuple[list[Counts], list[Counts]]:
        return split_counts(pred, gold, fold_of, k)

    defaults = Settings().cluster
    now = tuple(getattr(defaults, w) for w in WEIGHTS)
    points = list(dict.fromkeys([now, BEFORE, *GRID]))
    matome = {p: run(grouped(reports, settings_of(p))[1]) for p in points}
    base = {c: run(baseline(reports, c)) for c in cuts}
    rows: dict[str, list[Counts]] = {"matome (defaults)": matome[now][1],
                                     "matome (defaults before issue 15)": matome[BEFORE][1]}
    picked: dict[str, list[Any]] = {}
    rows["matome (picked on the fold's training pairs)"], picked["matome"] = _pick(matome, k)
    rows["TF-IDF + agglomerative (cut picked likewise)"], picked["baseline cut"] = _pick(base, k)
    return {"rows": rows, "picked": picked, "k": k}


def _pick(table: dict[Any, tuple[list[Counts], list[Counts]]], k: int) -> tuple[list[Counts], list[Any]]:
    """Per fold, the option best on its training pairs (ties: the first, so the defaults, which
    lead ``points``, win a tie) and that option's test counts."""
    tests, chosen = [], []
    for i in range(k):
        best = max(table, key=lambda opt: _f1(table[opt][0][i]))
        chosen.append(best)
        tests.append(table[best][1][i])
    return tests, chosen


def print_table(result: dict[str, Any], prf: Callable[..., tuple[float, float, float]]) -> None:
    k = result["k"]
    print("\nstorylines, the whole set as one stream, test pairs by fold (P / R / F1; a setting is "
          "picked on pairs with no report in the fold)")
    print(f"{'system':45s} " + " ".join(f"{'fold ' + str(i + 1):>17s}" for i in range(k))
          + f" {'pooled':>17s}")
    for name, cells in result["rows"].items():
        pooled = tuple(sum(c[j] for c in cells) for j in range(3))
        shown = [prf(*c) for c in cells] + [prf(*pooled)]
        print(f"{name:45s} " + " ".join(f"{p:.2f}/{r:.2f}/{f:.2f}".rjust(17) for p, r, f in shown))
    for what, vals in result["picked"].items():
        print(f"picked per fold, {what} ({', '.join(WEIGHTS) if what == 'matome' else 'distance'}): "
              f"{vals}")

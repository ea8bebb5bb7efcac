"""Summarisation: the extractive writer's sentence choice next to a lead baseline, in one run.

Data: ``../shared/eval/summarization/poliinfo_tokyo_assembly_2020`` — Tokyo
assembly question speeches and official replies with the assembly
newsletter's human summaries (read from there, never copied). Metric: the
task's own, ROUGE-1 F over content words, here Sudachi lemmas of nouns,
verbs and adjectives (``matome.textja.content_lemmas``) instead of
MeCab/UniDic, counted as multisets.

Both systems get the same budget per item: whole source sentences, in source
order, until the summary is as long (in characters) as the reference.

- lead: the first sentences.
- extractive: the sentences matome's writer picks (TF-IDF centrality + MMR
  with its position prior, ``matome.write``), in the order it picks them,
  then put back in source order.

    .venv/bin/python bench/summ_eval.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from matome.language import analyze, textja
from matome.records import Article
from matome.write import toolkit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "eval" / "summarization" / "poliinfo_tokyo_assembly_2020"
SETS = {"question": "question_summaries.jsonl", "answer": "answer_summaries.jsonl"}


def lemmas(text: str) -> Counter[str]:
    return Counter(textja.content_lemmas(textja.tokenize(text)))


def rouge1_f(candidate: str, reference: str) -> float:
    c, r = lemmas(candidate), lemmas(reference)
    overlap = sum((c & r).values())
    if not overlap:
        return 0.0
    p, rec = overlap / sum(c.values()), overlap / sum(r.values())
    return 2 * p * rec / (p + rec)


def _fill(sentences: list[tuple[int, str]], budget: int) -> str:
    """Sentences (position, text) in the given order until ``budget`` characters, in source order."""
    picked: list[tuple[int, str]] = []
    for pos, text in sentences:
        if sum(len(t) for _, t in picked) >= budget:
            break
        picked.append((pos, text))
    return "".join(t for _, t in sorted(picked))


def lead(source: str, budget: int) -> str:
    return _fill([(i, s.text) for i, s in enumerate(textja.split_sentences(source))], budget)


def extractive(source: str, budget: int) -> str:
    a = Article("x", "", "", source, "", "ja")
    p = toolkit.pool([a], {"x": analyze.analyze(a, analyze.gazetteer())})
    if not p.cands:
        return lead(source, budget)
    order = toolkit.mmr(p.cands, p.vecs, [], len(p.cands), set(range(len(p.cands))))
    return _fill([(p.cands[i].position, p.cands[i].text) for i in order], budget)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="items per set (0: all)")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (the evaluation data is not part of the repository)")
        return 0
    console = Console()
    table = Table(title="ROUGE-1 F over content-word lemmas (Sudachi), poliinfo Tokyo assembly 2020")
    for col in ("set", "items", "lead baseline", "extractive writer", "ref chars (median)", "seconds"):
        table.add_column(col, justify="right" if col != "set" else "left")
    for name, file in SETS.items():
        items: list[dict[str, Any]] = [json.loads(line) for line in
                                       (DATA / file).read_text("utf-8").splitlines() if line.strip()]
        if args.limit:
            items = items[: args.limit]
        t0 = time.perf_counter()
        scores: dict[str, list[float]] = {"lead": [], "extractive": []}
        for item in items:
            ref, budget = item["reference"], len(item["reference"].replace("\n", ""))
            scores["lead"].append(rouge1_f(lead(item["source"], budget), ref))
            scores["extractive"].append(rouge1_f(extractive(item["source"], budget), ref))
        lengths = sorted(len(i["reference"]) for i in items)
        table.add_row(name, str(len(items)),
                      f"{sum(scores['lead']) / len(items):.4f}",
                      f"{sum(scores['extractive']) / len(items):.4f}",
                      str(lengths[len(lengths) // 2]), f"{time.perf_counter() - t0:.1f}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

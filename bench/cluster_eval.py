"""Clustering quality on public sets, each beside a TF-IDF + agglomerative baseline.

1. WikiRef220 (English news, 5 real topics of 35-39 articles plus 11 small
   noise topics; ``../shared/eval/clustering/wikiref``): its labels are
   topics, not single events, so matome is scored at the storyline level
   (every story of one storyline counts as one cluster). B-cubed P/R/F1 on
   WikiRef220 and its subsets WikiRef186 (without MH370) and WikiRef150
   (also without the Paris attacks). Storylines are read as a store keeps
   them: each story's storyline when it was made, then every later
   regrouping (story merges and splits, storylines merged) applied.
   ``storyline_threshold`` is calibrated on a held-out split by topic: fold
   A holds Paris, Galaxy S5 and half the noise topics, fold B MH370, Michelle
   Obama, the Premier League and the other half; the threshold best on one
   fold (each fold run as its own stream) is scored on the other.
2. The events fixture's storyline labels (``tests/fixtures/events``, written
   for matome: 172 Japanese and English reports, 44 events, 7 storylines of
   one developing situation each — a tariff, the summit arranged over it and
   the summit; a ruling and its appeal). Dated Japanese news at the
   granularity matome's storylines aim at, where WikiRef's labels are whole
   topics. The fixture is run through the whole pipeline (ingest, process)
   and scored like WikiRef. A sweep of ``storyline_threshold`` on both sets
   shows the trade-off between the two granularities.
3. MewsC-16 ja (Japanese Wikinews lead sentences, 12 categories;
   ``../shared/eval/clustering/mewsc16_ja``): a sanity check of the e5
   embeddings at topic level — k-means with k = 12 on matome's embeddings.

The baseline, in the same run: TF-IDF vectors and agglomerative clustering
(average linkage, cosine) cut at the true number of clusters — information
matome does not get, so the baseline is flattered, not handicapped.

    .venv/bin/python bench/cluster_eval.py [--mewsc-limit 600] [--features-cache PATH]

The fixture set is ours and needs no ``../shared/eval``; the other two do.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from matome import pipeline
from matome.language import analyze, embed, textja
from matome.pipeline import resolver_for
from matome.records import Article
from matome.settings import Settings
from matome.store import Store, db_url
from matome.stories import cluster

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "clustering"
EVENTS = ROOT / "tests" / "fixtures" / "events"
SWEEP = [round(0.15 + 0.025 * i, 3) for i in range(9)]  # 0.15 … 0.35
FOLD_A = {"paris.attacks.2015", "samsung.galaxy.s5", "barack.obama", "cypriot.financial.crisis",
          "debt.crisis.greece", "nba.draft", "rolling.stones", "stephen.hawking"}


def bcubed(pred: list[Any], gold: list[Any]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin), averaged over items."""
    by_pred: dict[Any, list[int]] = defaultdict(list)
    by_gold: dict[Any, list[int]] = defaultdict(list)
    for i, (p, g) in enumerate(zip(pred, gold, strict=True)):
        by_pred[p].append(i)
        by_gold[g].append(i)
    precision = recall = 0.0
    for p, g in zip(pred, gold, strict=True):
        same = sum(1 for j in by_pred[p] if gold[j] == g)
        precision += same / len(by_pred[p])
        recall += same / len(by_gold[g])
    n = len(pred)
    precision, recall = precision / n, recall / n
    return precision, recall, 2 * precision * recall / (precision + recall)


def baseline(texts: list[str], k: int, analyzer: Any = "word") -> list[int]:
    vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=1)
    x = vec.fit_transform(texts).toarray()
    x[~x.any(axis=1)] = 1e-6  # a text with no kept term: equally far from all, not an error
    model = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average")
    return [int(v) for v in model.fit_predict(x)]


def analysed(rows: list[dict[str, Any]]) -> tuple[list[Article], list[Any], Any]:
    """matome's analysis and e5 vectors of the rows, done once for every setting compared."""
    arts = [Article(id=str(r["id"]), url=f"https://example.org/{i}", title="", text=r["text"],
                    source="", lang="ja" if textja.is_japanese(r["text"]) else "en",
                    published=None) for i, r in enumerate(rows)]
    gaz = analyze.gazetteer()
    analyses = [analyze.analyze(a, gaz) for a in arts]
    return arts, analyses, analyze.embed_batch(list(zip(arts, analyses, strict=True)))


def features(rows: list[dict[str, Any]], cache: Path | None) -> list[cluster.Features]:
    """matome's features of the rows (analysis, e5, resolved entities), from ``cache`` when given."""
    if cache is not None and cache.exists():
        cached: list[cluster.Features] = pickle.loads(cache.read_bytes())
        if [f.article_id for f in cached] == [str(r["id"]) for r in rows]:
            return cached
    arts, analyses, vectors = analysed(rows)
    res = resolver_for(Settings(), analyses)
    feats = [cluster.features(a, an, v, res.resolve(an.mentions))
             for a, an, v in zip(arts, analyses, vectors, strict=True)]
    if cache is not None:
        cache.write_bytes(pickle.dumps(feats))
    return feats


def matome_storylines(feats: list[cluster.Features], settings: Settings) -> list[str]:
    """matome's online clustering; each article's storyline as the store would hold it at the end."""
    return matome_grouping(feats, settings)[1]


def matome_grouping(feats: list[cluster.Features], settings: Settings) -> tuple[list[str], list[str]]:
    """matome's online clustering; each article's story and storyline as the store holds them at the end."""
    clusterer = cluster.Clusterer(settings.cluster)
    story_of: dict[str, str] = {}
    line_of: dict[str, str] = {}  # story -> storyline when the story was made
    moved: dict[str, str] = {}  # storyline -> the one that took it in
    for f in feats:
        got = clusterer.assign(f)
        if got.new:
            line_of[got.story] = got.storyline or cluster.storyline_id(got.story)
        if got.merged:
            story_of = {a: got.story if s == got.merged else s for a, s in story_of.items()}
        if got.split:
            new, articles, _origin = got.split
            line_of[new] = clusterer.storyline_of.get(new) or cluster.storyline_id(new)
            story_of.update({a: new for a in articles})
        story_of[f.article_id] = got.story
        for gone, kept in got.relinked:
            moved[gone] = kept

    def final(line: str) -> str:
        while line in moved:
            line = moved[line]
        return line
    return ([story_of[f.article_id] for f in feats],
            [final(line_of[story_of[f.article_id]]) for f in feats])


def calibrate(feats: list[cluster.Features], gold: list[str]) -> tuple[float, dict[float, float]]:
    """The storyline_threshold with the best B-cubed F1 on this stream (ties: the stricter)."""
    scores = {}
    for th in SWEEP:
        settings = Settings()
        settings.cluster.storyline_threshold = th
        scores[th] = bcubed(matome_storylines(feats, settings), gold)[2]
    best = max(SWEEP, key=lambda t: (round(scores[t], 3), t))
    return best, scores


def wikiref(console: Console, settings: Settings,
            cache: Path | None) -> tuple[list[cluster.Features], list[str]]:
    path = EVAL / "wikiref" / "wikiref220.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    gold_all = [r["topic"] for r in rows]
    t0 = time.perf_counter()
    feats = features(rows, cache)
    ours = matome_storylines(feats, settings)
    t_ours = time.perf_counter() - t0
    # held-out calibration: pick on one fold, score on the other
    folds = {name: [i for i, g in enumerate(gold_all) if (g in FOLD_A) == (name == "A")]
             for name in ("A", "B")}
    cal = Table(title="storyline_threshold calibrated on one fold (by topic), scored on the other")
    for col in ("picked on", "threshold", "F1 there", "scored on", "P", "R", "F1"):
        cal.add_column(col, justify="right")
    picked: dict[str, float] = {}
    for name, other in (("A", "B"), ("B", "A")):
        best, scores = calibrate([feats[i] for i in folds[name]], [gold_all[i] for i in folds[name]])
        picked[name] = best
        held = Settings()
        held.cluster.storyline_threshold = best
        p, r, f = bcubed(matome_storylines([feats[i] for i in folds[other]], held),
                         [gold_all[i] for i in folds[other]])
        cal.add_row(name, f"{best:g}", f"{scores[best]:.3f}", other, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
    console.print(cal)
    topic = Settings()
    topic.cluster.storyline_threshold = picked["A"]
    ours_topic = matome_storylines(feats, topic)
    table = Table(title="WikiRef (English, topic labels): B-cubed at storyline level")
    for col in ("subset", "articles", "topics", "system", "P", "R", "F1"):
        table.add_column(col, justify="left" if col in {"subset", "system"} else "right")
    # WikiRef186 leaves out MH370 (malaysia.airlines.flight), WikiRef150 also the Paris attacks
    subsets = {"WikiRef220": set(), "WikiRef186": {"malaysia.airlines"},
               "WikiRef150": {"malaysia.airlines", "paris.attacks"}}
    for name, drop in subsets.items():
        keep = [i for i, r in enumerate(rows)
                if not any(d in r["topic"].lower() for d in drop)]
        gold = [rows[i]["topic"] for i in keep]
        k = len(set(gold))
        t1 = time.perf_counter()
        base = baseline([rows[i]["text"] for i in keep], k)
        t_base = time.perf_counter() - t1
        systems = ((f"matome (default, storyline_threshold {settings.cluster.storyline_threshold:g})",
                    [ours[i] for i in keep]),
                   (f"matome (fold A's pick, {picked['A']:g})", [ours_topic[i] for i in keep]),
                   ("TF-IDF + agglomerative (k given)", base))
        for system, pred in systems:
            p, r, f = bcubed(pred, gold)
            table.add_row(name, str(len(keep)), str(k), system, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
        if name == "WikiRef220":
            console.print(f"time: matome {t_ours:.1f}s (analysis + e5 + clustering), "
                          f"baseline {t_base:.1f}s")
    console.print(table)
    return feats, gold_all


def events_stream() -> tuple[list[cluster.Features], list[str]]:
    """The events fixture through ingest and process; its reports' features and gold storylines."""
    doc = json.loads((EVENTS / "events.json").read_text("utf-8"))
    event_of = {a: e["id"] for e in doc["events"] for a in e["articles"]}
    line_of = {e: sl["id"] for sl in doc["storylines"] for e in sl["events"]}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(db_url(str(Path(tmp) / "events.db")))
        settings = Settings()
        pipeline.ingest(store, [str(EVENTS / "articles.jsonl")], settings)
        pipeline.process(store, settings)
        articles, analyses, dup_of, to_features = pipeline.cluster_inputs(store, settings)
        by_url = {r["url"]: r["id"] for r in map(json.loads, (EVENTS / "articles.jsonl")
                                                   .read_text("utf-8").splitlines())}
        feats, gold = [], []
        # the reports the pipeline assigns, in its order (copies join their original's story)
        for a in articles:
            if a.id in analyses and dup_of.get(a.id, "") is None:
                feats.append(to_features(a))
                event = event_of[by_url[a.url]]
                gold.append(line_of.get(event, event))
        store.close()
    return feats, gold


def storylines_table(console: Console, wiki: tuple[list[cluster.Features], list[str]] | None) -> None:
    feats, gold = events_stream()
    default = Settings().cluster.storyline_threshold
    table = Table(title=f"Events fixture (Japanese, dated; {len(feats)} reports, "
                        f"{len(set(gold))} storylines): B-cubed at storyline level")
    for col in ("system", "P", "R", "F1"):
        table.add_column(col, justify="left" if col == "system" else "right")
    p, r, f = bcubed(matome_storylines(feats, Settings()), gold)
    table.add_row(f"matome (default, storyline_threshold {default:g})", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
    texts = [" ".join(sorted(f.lemmas)) for f in feats]  # head lemmas: Sudachi, like matome's
    p, r, f = bcubed(baseline(texts, len(set(gold))), gold)
    table.add_row("TF-IDF (head lemmas) + agglomerative (k given)", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
    console.print(table)
    sweep = Table(title="storyline_threshold: B-cubed F1 on both granularities")
    sweep.add_column("threshold", justify="right")
    sweep.add_column("events fixture (situations)", justify="right")
    if wiki is not None:
        sweep.add_column("WikiRef220 (topics)", justify="right")
    for th in [*SWEEP, 0.375, 0.4]:
        settings = Settings()
        settings.cluster.storyline_threshold = th
        row = [f"{th:g}" + (" (default)" if th == default else ""),
               f"{bcubed(matome_storylines(feats, settings), gold)[2]:.3f}"]
        if wiki is not None:
            row.append(f"{bcubed(matome_storylines(wiki[0], settings), wiki[1])[2]:.3f}")
        sweep.add_row(*row)
    console.print(sweep)


def mewsc(console: Console, limit: int) -> None:
    path = EVAL / "mewsc16_ja" / "mewsc16_ja.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    step = max(1, len(rows) // limit) if limit else 1
    rows = rows[::step][: limit or None]
    gold = [r["label"] for r in rows]
    k = len(set(gold))
    t0 = time.perf_counter()
    vectors = embed.passages([r["text"] for r in rows])
    ours = [int(v) for v in KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)]
    t_ours = time.perf_counter() - t0
    tokenize = _lemma_analyzer()
    base = baseline([r["text"] for r in rows], k, analyzer=tokenize)
    table = Table(title=f"MewsC-16 ja ({len(rows)} lead sentences, {k} categories): B-cubed")
    for col in ("system", "P", "R", "F1"):
        table.add_column(col, justify="left" if col == "system" else "right")
    for system, pred in (("matome e5 + k-means", ours), ("TF-IDF (Sudachi) + agglomerative", base)):
        p, r, f = bcubed(pred, gold)
        table.add_row(system, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
    console.print(table)
    console.print(f"time: e5 + k-means {t_ours:.1f}s")


def _lemma_analyzer() -> Any:
    def lemmas(text: str) -> list[str]:
        return textja.content_lemmas(textja.tokenize(text))
    return lemmas


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mewsc-limit", type=int, default=600,
                        help="lead sentences of MewsC-16 to embed (0: all 1,984)")
    parser.add_argument("--features-cache", type=Path, default=None,
                        help="keep WikiRef's analysed features in this file between runs "
                             "(pickle; only a file you wrote yourself)")
    args = parser.parse_args()
    console = Console()
    if not EVAL.exists():
        console.print(f"WikiRef and MewsC-16 skipped: {EVAL} is absent "
                      "(the evaluation data lives in ../shared/eval)")
        storylines_table(console, None)
        sys.exit(0)
    wiki = wikiref(console, Settings(), args.features_cache)
    storylines_table(console, wiki)
    mewsc(console, args.mewsc_limit)


if __name__ == "__main__":
    main()

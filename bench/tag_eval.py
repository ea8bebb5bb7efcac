"""Tag pages a reader can trust: entity and theme tags against labels, per tag kind.

Two real sets from ``../shared/eval`` (read there, never copied): the 131
reports of ``clustering/real_ja_events`` and the news pages of
``extraction/ja_koron_extractarticle`` (see ``bench/pagekind_eval.py``).
Each goes through matome's own path — extract, analyze, dedupe, cluster,
tags — into a temporary store.

The labels are ours, in ``bench/tag_labels.json`` (how they were made is
written there): for a closed list of entities per set, every report or page
that is *about* the entity — named in its title or lead, or central in its
text — and so should be listed on that entity's tag page. A report that
names the entity only in passing is not.

Scoring is over (entity, report) pairs, as a tag page lists them: a report
is on the page when its story carries the tag. Tags of entities outside the
labelled list are not scored. Precision and recall are given per tag kind
(organization, person, place, theme) and in all.

``--alone`` scores every report as a single-source story of its own: what a
tag page shows of a story only one outlet reported.

    .venv/bin/python bench/tag_eval.py [--eval DIR] [--set real|koron] [--alone] [--errors] [--dump]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matome import extract, pipeline
from matome.language import fold, textja
from matome.records import RawDoc
from matome.settings import Settings
from matome.store import Store, db_url
from matome.stories import tags

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
LABELS = Path(__file__).with_name("tag_labels.json")
SETS = {"real": "clustering/real_ja_events", "koron": "extraction/ja_koron_extractarticle"}
STAGES = (pipeline.run_extract, pipeline.run_analyze, pipeline.run_dedupe, pipeline.run_cluster)


def _real(root: Path, store: Store, settings: Settings, tmp: Path) -> dict[str, str]:
    """Ingest the real reports; article id → report id."""
    src = root / "clustering" / "real_ja_events" / "reports.jsonl"
    rows = [json.loads(x) for x in src.read_text("utf-8").splitlines() if x.strip()]
    copy = tmp / "reports.jsonl"
    copy.write_text(src.read_text("utf-8"), "utf-8")
    pipeline.ingest(store, [str(copy)], settings)
    return {r["id"]: r["id"] for r in rows}


def _koron(root: Path, store: Store, settings: Settings, tmp: Path) -> dict[str, str]:
    """Store the ja_koron news pages as fetched pages; article id → page id."""
    sys.path.insert(0, str(Path(__file__).parent))
    from pagekind_eval import is_news

    base = root / "extraction" / "ja_koron_extractarticle"
    ids = {}
    for line in (base / "pages.jsonl").open(encoding="utf-8"):
        pg = json.loads(line)
        if not is_news(pg):
            continue
        html = gzip.decompress((base / pg["html_path"]).read_bytes())
        doc = RawDoc(key=pg["url"], kind="html", origin=pg["url"], location="", content=html,
                     hints={"url": pg["url"], "fetched": "2021-10-20T00:00:00+00:00"})
        store.put_raw(doc)
        ids[extract.extract(doc, settings.extract).id] = pg["id"]
    return ids


def built(root: Path, which: str, tmp: Path) -> tuple[Store, Settings, dict[str, str]]:
    """A store holding one set, extracted, analysed and clustered; article id → report id."""
    settings = Settings()
    store = Store(db_url(str(tmp / "tags.db")))
    ids = (_real if which == "real" else _koron)(root, store, settings, tmp)
    progress, report = pipeline.Quiet(), pipeline.Report()
    for stage in STAGES:
        stage(store, settings, progress, report)
    return store, settings, ids


def listed(store: Store, settings: Settings, ids: dict[str, str], alone: bool = False) -> tuple[
        dict[str, set[str]], dict[str, dict[str, str]]]:
    """The tags stage as the pipeline runs it: per report id the tags whose page lists it, and
    per tag name its kind and aliases. ``alone``: every report a story of its own, as a
    single-source story is."""
    written_from, everything = pipeline.story_articles(store)
    if alone:
        written_from = everything = {a.id: [a] for lst in everything.values() for a in lst}
    analyses = store.analyses()
    res = pipeline.resolver(store, settings, analyses)
    mentions = {aid: res.resolve(an.mentions) for aid, (an, _) in analyses.items()}
    all_tags, per_story = tags.build_tags(written_from, mentions, settings.tags, settings.themes,
                                          lambda n: res.key(fold(n)))
    by_id = {t.id: t for t in all_tags}
    on: dict[str, set[str]] = defaultdict(set)
    names: dict[str, dict[str, str]] = {}
    for sid, lst in per_story.items():
        for tid, _w in lst:
            tag = by_id[tid]
            names[tag.name] = {"kind": tag.kind, "aliases": "\t".join(tag.aliases)}
            for a in everything.get(sid, []):
                on[ids.get(a.id, a.id)].add(tag.name)
    return on, names


def run(root: Path, which: str, dump: bool = False, alone: bool = False) -> tuple[
        dict[str, set[str]], dict[str, dict[str, str]]]:
    """Per report id: the tag names it is listed under, and per tag name its kind and aliases."""
    with tempfile.TemporaryDirectory() as tmp:
        store, settings, ids = built(root, which, Path(tmp))
        on, names = listed(store, settings, ids, alone)
        if dump:
            _dump(store, settings, ids, on)
        store.close()
    return on, names


def _dump(store: Store, settings: Settings, ids: dict[str, str], on: dict[str, set[str]]) -> None:
    """Per report: its head and the entities it names (count, in the head or not): to label from."""
    analyses = store.analyses()
    res = pipeline.resolver(store, settings, analyses)
    for a in sorted(store.articles(), key=lambda a: ids.get(a.id, a.id)):
        if a.id not in analyses:
            continue
        an, _ = analyses[a.id]
        head = tags.lead_end(a.text)
        c: Counter[str] = Counter()
        lead: set[str] = set()
        for m in res.resolve(an.mentions):
            c[m.name] += 1
            if m.start < head:
                lead.add(m.name)
        n = len(textja.split_sentences(a.text))
        ents = " ".join(f"{k}{'*' if k in lead else ''}{v}" for k, v in c.most_common(12))
        rid = ids.get(a.id, a.id)
        print(f"{rid} [{n}s] {a.title[:50]}\n    {ents}\n    tags: {sorted(on[rid])}")


def _match(tag: str, aliases: str, gold: list[str]) -> bool:
    """Whether a tag is the labelled entity: its name or an alias is the label or one of its alternates."""
    said = {fold(tag), *(fold(x) for x in aliases.split("\t") if x)}
    return any(fold(g) in said for g in gold)


def score(on: dict[str, set[str]], names: dict[str, dict[str, str]], labels: dict[str, Any],
          errors: bool = False) -> dict[str, tuple[int, int, int]]:
    """Per kind (and 'all'): (true positives, false positives, false negatives)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    entities: dict[str, str] = labels["entities"]  # gold name -> kind
    about: dict[str, list[str]] = labels["about"]  # gold name -> report ids
    reports: Iterable[str] = labels["reports"]
    for gold, kind in entities.items():
        want = set(about.get(gold, []))
        for rid in reports:
            spelt = [gold, *labels.get("alternates", {}).get(gold, [])]
            got = any(_match(t, names[t]["aliases"], spelt) for t in on.get(rid, set()))
            cell = 0 if got and rid in want else 1 if got else 2 if rid in want else -1
            if cell < 0:
                continue
            for k in (kind, "all"):
                out[k][cell] += 1
            if errors and cell:
                print(f"  {'FP' if cell == 1 else 'FN'} {gold:<10} {rid}")
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def table(counts: dict[str, tuple[int, int, int]]) -> None:
    print(f"{'kind':<14}{'tp':>5}{'fp':>5}{'fn':>5}{'P':>8}{'R':>8}")
    for kind in sorted(counts, key=lambda k: (k == "all", k)):
        tp, fp, fn = counts[kind]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        print(f"{kind:<14}{tp:>5}{fp:>5}{fn:>5}{p:>8.3f}{r:>8.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), action="append", help="one set only")
    ap.add_argument("--alone", action="store_true",
                    help="every report a single-source story of its own (the stories matome made otherwise)")
    ap.add_argument("--errors", action="store_true", help="list every wrong (entity, report) pair")
    ap.add_argument("--dump", action="store_true", help="print each report's entities, to label from")
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the shared eval directory")
    args = ap.parse_args(argv)
    labels = json.loads(LABELS.read_text("utf-8"))
    for which in args.set or ["real", "koron"]:
        if not (args.eval / SETS[which]).is_dir():
            print(f"{which}: no {SETS[which]} under {args.eval}: skipped", file=sys.stderr)
            continue
        on, names = run(args.eval, which, args.dump, args.alone)
        alone = " (each report alone)" if args.alone else ""
        print(f"\n{which}{alone}: {len(labels[which]['reports'])} reports, "
              f"{len(labels[which]['entities'])} labelled entities")
        table(score(on, names, labels[which], args.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())

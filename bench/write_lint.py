"""What a reader would see: every real page and report through every stage, and the writing linted.

All pages of ``../shared/eval/extraction`` (four sets, about 600 real pages,
mostly news, some blogs, boards, test pages) and the reports of
``../shared/eval/clustering/real_ja_events`` go through ``ingest`` and
``process`` into one temporary store, as a new user's would. Then:

- crashes: rejects that are an unexpected exception (``ValueError: …``), not
  a reason a stage gives (goal 0), and whether the batch finished at all;
- rejects by stage and reason;
- stories built from non-news pages: stories with a ja_koron page the set's
  own labels call not news (blogs, boards, teasers that show no report; see
  ``bench/pagekind_eval.py``) among their sources (goal 0);
- a lint of every sentence a page shows of every written article
  (``matome.write.lint``): boilerplate, particle starts, speakerless quotes
  as 要点, near-duplicate sentences, and empty, over-long (> 40), 「。」/「…」-
  ending and cut 見出し, per 1,000 sentences (goal 0 each) — beside a
  baseline in the same run, Lead-3: each story's earliest report's title as
  見出し and its first three sentences as the article.

``--sample N`` runs a seeded sample of N pages (and every report) while
developing; the reported table is the whole set.

    .venv/bin/python bench/write_lint.py [--sample N] [--show 20] [--dump out.json] [--eval ../shared/eval]
"""

from __future__ import annotations

import argparse
import builtins
import gzip
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench.pagekind_eval import is_news
from sqlalchemy import select

from matome import pipeline
from matome.language import split_sentences
from matome.records import Provenance, Section, Written, WrittenSentence
from matome.settings import Settings
from matome.site import readmodel
from matome.store import Store, db_url
from matome.store import schema as t
from matome.write import lint

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
KORON = "ja_koron_extractarticle"
COLUMNS = [*lint.LINTS, *lint.HEADLINE_LINTS]


def pages(root: Path, out: Path, sample: int | None, seed: int = 15) -> list[Path]:
    """Every page of the extraction sets, decompressed under ``out`` (a seeded sample of them)."""
    found = sorted(root.glob("extraction/*/html/*.gz"))
    if sample is not None and sample < len(found):
        found = sorted(random.Random(seed).sample(found, sample))
    paths = []
    for gz in found:
        dest = out / gz.parent.parent.name / gz.name.removesuffix(".gz")
        dest = dest if dest.suffix in {".html", ".htm"} else dest.with_name(dest.name + ".html")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(gzip.decompress(gz.read_bytes()))
        paths.append(dest)
    return paths


def crash(reason: str) -> bool:
    """Whether a reject is an exception nobody meant (「KeyError: 'x'」) rather than a reason."""
    m = re.match(r"([A-Za-z_][\w.]*): ", reason)
    if not m:
        return False
    name = m.group(1).rsplit(".", 1)[-1]
    known = getattr(builtins, name, None)
    return (isinstance(known, type) and issubclass(known, BaseException)) or \
        name.endswith(("Error", "Exception"))


def _reason_kind(reason: str) -> str:
    """A reject's reason without what varies per item (figures, quoted values, paths)."""
    kind = re.sub(r"\d+", "N", reason.split("\n", 1)[0])
    kind = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", kind)
    return kind[:90]


def non_news_pages(root: Path) -> set[str]:
    """File names (``<set>/<id>.html``) of the ja_koron pages the set's labels call not news."""
    base = root / "extraction" / KORON
    if not (base / "pages.jsonl").is_file():
        return set()
    rows = [json.loads(x) for x in (base / "pages.jsonl").read_text("utf-8").splitlines() if x.strip()]
    return {f"{KORON}/{Path(r['html_path']).name.removesuffix('.gz')}" for r in rows if not is_news(r)}


def _origins(store: Store) -> dict[str, str]:
    """Article id -> ``<set>/<file>`` of the page it was extracted from."""
    with store.read() as conn:
        rows = conn.execute(select(t.articles.c.id, t.raw_docs.c.origin, t.raw_docs.c.location)
                            .join(t.raw_docs, t.articles.c.raw_id == t.raw_docs.c.id)).all()
    return {aid: "/".join(Path(f"{origin}{'/' + loc if loc else ''}").parts[-2:])
            for aid, origin, loc in rows}


def lead3(story: dict[str, Any], texts: dict[str, tuple[str, str]]) -> Written:
    """The baseline: the earliest report's title and first three sentences, as they are."""
    first = story["articles"][0]["id"]
    title, text = texts.get(first, ("", ""))
    said = [WrittenSentence(s.text, []) for s in split_sentences(text)[:3]]
    return Written("lead-3", title, "", "", [Section("本文", said)], Provenance("lead-3"))


def set_of(origin: str) -> str:
    """The evaluation set a page or report came from, by its stored origin."""
    first = origin.split("/", 1)[0]
    return first if first in {"ja_koron_extractarticle", "readability_testpages", "scrapinghub_aeb",
                              "trafilatura_eval"} else "real_ja_events"


def lint_all(written: list[Written]) -> tuple[Counter[str], list[tuple[str, str]]]:
    total: Counter[str] = Counter()
    examples: list[tuple[str, str]] = []
    for w in written:
        counts, found = lint.lint_written(w)
        total.update(counts)
        examples += found
    return total, examples


def run(root: Path, sample: int | None = None, show: int = 0, out: Any = sys.stdout) -> dict[str, Any]:
    """Process everything, print the tables; return the figures (for tests and the caller)."""
    real = root / "clustering" / "real_ja_events" / "reports.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        page_dir = Path(tmp) / "pages"
        paths = pages(root, page_dir, sample)
        targets = [str(page_dir)] + ([str(real)] if real.is_file() else [])
        store = Store(db_url(str(Path(tmp) / "lint.db")))
        settings = Settings()
        started = time.perf_counter()
        finished = True
        try:
            pipeline.ingest(store, targets, settings)
            pipeline.process(store, settings)
        except Exception as exc:   # the batch itself died: that is the crash the issue is about
            finished = False
            print(f"process stopped: {type(exc).__name__}: {exc}", file=out)
        took = time.perf_counter() - started
        rejects = store.rejects()
        stories = list(readmodel.export(store, "stories"))
        texts = {a["id"]: (a["title"], a["text"]) for a in readmodel.export(store, "articles")}
        origin = _origins(store)
        written = {sid: fmts for sid, fmts in store.written().items()}
        store.close()
    crashes = [r for r in rejects if crash(r["reason"])]
    by_reason = Counter((r["stage"], _reason_kind(r["reason"])) for r in rejects)
    bad_pages = non_news_pages(root)
    from_non_news = [s["id"] for s in stories
                     if any(origin.get(a["id"], "") in bad_pages for a in s["articles"])]
    ours = [w for fmts in written.values() for w in fmts.values()]
    mine, examples = lint_all(ours)
    first = {s["id"]: set_of(origin.get(s["articles"][0]["id"], "")) for s in stories if s["articles"]}
    per_set: dict[str, Counter[str]] = {}
    for sid, fmts in written.items():
        per_set.setdefault(first.get(sid, "?"), Counter()).update(lint_all(list(fmts.values()))[0])
    base, _ = lint_all([lead3(s, texts) for s in stories])
    reports = sum(1 for x in real.read_text("utf-8").splitlines() if x.strip()) if real.is_file() else 0
    print(f"\nwhole-pipeline run: {len(paths)} pages of {root / 'extraction'} + {reports} reports of "
          f"real_ja_events, {took:.0f} s; batch {'finished' if finished else 'DIED'}", file=out)
    print(f"stories {len(stories)}, written articles {len(ours)} (every format), "
          f"crashes {len(crashes)}, stories built from non-news pages {len(from_non_news)}", file=out)
    print("\nrejects by stage and reason:", file=out)
    for (stage, reason), n in by_reason.most_common():
        print(f"  {n:5d}  {stage:8s} {reason}", file=out)
    print("\nlint of every sentence a page shows, per 1,000 sentences (goal 0 each):", file=out)
    print(f"{'problem':28s} {'matome':>10s} {'(count)':>8s} {'lead-3 baseline':>16s} {'(count)':>8s}",
          file=out)
    for col in COLUMNS:
        def rate(c: Counter[str], col: str = col) -> float:
            return 1000 * c[col] / max(1, c["sentences"])
        print(f"{col:28s} {rate(mine):10.1f} {mine[col]:8d} {rate(base):16.1f} {base[col]:8d}", file=out)
    print(f"{'sentences shown':28s} {mine['sentences']:10d} {'':8s} {base['sentences']:16d}", file=out)
    print("\nmatome by set: sentences shown, problems of any kind (headlines included)", file=out)
    for name, c in sorted(per_set.items()):
        print(f"  {name:26s} {c['sentences']:6d} {sum(c[k] for k in COLUMNS):6d}", file=out)
    if show:
        print("\nexamples:", file=out)
        for problem, text in examples[:show]:
            print(f"  [{problem}] {text[:160]}", file=out)
    return {"finished": finished, "crashes": crashes, "rejects": by_reason, "non_news": from_non_news,
            "lint": mine, "baseline": base, "examples": examples, "stories": len(stories)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the shared eval directory")
    ap.add_argument("--sample", type=int, default=None, help="a seeded sample of this many pages")
    ap.add_argument("--show", type=int, default=0, help="print this many offending sentences")
    ap.add_argument("--dump", type=Path, default=None, help="write every offending sentence here (JSON)")
    args = ap.parse_args(argv)
    if not (args.eval / "extraction").is_dir():
        print(f"skipped: {args.eval / 'extraction'} is absent (the evaluation data lives in ../shared/eval)")
        return 0
    result = run(args.eval, args.sample, args.show)
    if args.dump:
        args.dump.write_text(json.dumps(result["examples"], ensure_ascii=False, indent=0), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

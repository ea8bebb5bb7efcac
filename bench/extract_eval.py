"""Extraction quality: matome beside bare trafilatura, from the same run.

Two sets from ``../shared/eval/extraction`` (read there, never copied):

* ``scrapinghub_aeb`` — the Article Extraction Benchmark with its own metric:
  ``\\w+`` tokens, multiset 4-gram shingles, per-page P and R from the shingle
  TP/FP/FN (normalised per page), P and R averaged over pages, F1 from the
  averages. ``--check-shipped`` re-scores the benchmark's published
  trafilatura output to show the metric reproduces its 0.958.
* ``ja_koron_extractarticle`` — real Japanese pages with labels and title
  prefixes: every ``article`` page must give the right title (after NFKC) and
  ≥ 200 characters of body; the two 読者会員限定 pages must come out as
  paywalled teasers, the three FC2 まとめ pages as boards with posts, the
  Ameba and Excite diary posts as blogs; no page may decode to mojibake.

    .venv/bin/python bench/extract_eval.py [--eval ../shared/eval] [--only aeb|ja] [--check-shipped]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

import trafilatura

from matome import extract
from matome.errors import ExtractError
from matome.extract import boards
from matome.records import RawDoc
from matome.settings import ExtractSettings

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[str]:
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))
                   if tokens[i:i + n])


def page_scores(gold: str, pred: str) -> tuple[float, float]:
    """(precision, recall) of one page, as the benchmark's evaluate.py computes them."""
    t, p = shingles(gold), shingles(pred)
    tp = fp = fn = 0
    for key in t.keys() | p.keys():
        tp += min(t[key], p[key])
        fp += max(0, p[key] - t[key])
        fn += max(0, t[key] - p[key])
    prec = 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)
    rec = 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)
    return prec, rec


def prf(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    scores = [page_scores(g, p) for g, p in pairs]
    prec = sum(s[0] for s in scores) / len(scores)
    rec = sum(s[1] for s in scores) / len(scores)
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def matome_text(html: bytes, url: str, settings: ExtractSettings) -> str:
    doc = RawDoc(key=url, kind="html", origin=url, location="", content=html, hints={"url": url})
    try:
        return extract.extract(doc, settings).text
    except ExtractError:
        return ""


def aeb(root: Path, check_shipped: bool) -> None:
    base = root / "extraction" / "scrapinghub_aeb"
    gold = [json.loads(line) for line in (base / "gold.jsonl").open(encoding="utf-8")]
    settings = ExtractSettings()
    ours: list[tuple[str, str]] = []
    bare: list[tuple[str, str]] = []
    t_ours = t_bare = 0.0
    for g in gold:
        html = gzip.decompress((base / g["html_path"]).read_bytes())
        t0 = time.perf_counter()
        ours.append((g["gold_text"], matome_text(html, g["url"], settings)))
        t1 = time.perf_counter()
        bare.append((g["gold_text"], trafilatura.extract(html, url=g["url"]) or ""))
        t_bare += time.perf_counter() - t1
        t_ours += t1 - t0
    print(f"scrapinghub_aeb, {len(gold)} pages (benchmark metric; trafilatura {trafilatura.__version__})")
    print(f"{'extractor':<28}{'P':>7}{'R':>7}{'F1':>7}{'seconds':>9}")
    for name, pairs, secs in (("matome", ours, t_ours), ("trafilatura (defaults)", bare, t_bare)):
        p, r, f = prf(pairs)
        print(f"{name:<28}{p:7.3f}{r:7.3f}{f:7.3f}{secs:9.1f}")
    if check_shipped:
        shipped = json.loads(gzip.decompress((base / "output" / "trafilatura.json.gz").read_bytes()))
        out = shipped.get("output", shipped)
        p, r, f = prf([(g["gold_text"], (out.get(g["id"]) or {}).get("articleBody", "")) for g in gold])
        print(f"{'shipped trafilatura output':<28}{p:7.3f}{r:7.3f}{f:7.3f}   (published 0.958)")


def _nfkc(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def mojibake(text: str) -> bool:
    """Signs of a wrong decoding: replacement characters, or Latin-1/cp1252 runs in Japanese text."""
    return "\ufffd" in text or bool(re.search(r"[ÃÂâãå][\x80-\xbf€-™]", text)) or bool(
        re.search(r"[縺繧蜑譁][\u3000-\u30ff]?[縺繧蜑譁]", text))


def ja_koron(root: Path) -> int:
    base = root / "extraction" / "ja_koron_extractarticle"
    pages = [json.loads(line) for line in (base / "pages.jsonl").open(encoding="utf-8")]
    settings = ExtractSettings()
    failures = 0
    print(f"\nja_koron_extractarticle, {len(pages)} pages")
    print(f"{'id':<7}{'label':<15}{'category':<14}{'kind':<8}{'chars':>6}{'posts':>6} {'ok':<4}"
          f"{'flags / why'}")
    for pg in pages:
        html = gzip.decompress((base / pg["html_path"]).read_bytes())
        doc = RawDoc(key=pg["url"], kind="html", origin=pg["url"], location="", content=html,
                     hints={"url": pg["url"]})
        why: list[str] = []
        try:
            art = extract.extract(doc, settings)
            kind, text, title, flags = art.kind, art.text, art.title, art.flags
        except ExtractError as exc:
            kind, text, title, flags = "error", "", "", [str(exc)]
        posts = 0
        cat = pg["site_category"]
        if kind == "board":
            _t, plist, _urls = boards.parse(html.decode(art.encoding or "utf-8", "replace"), pg["url"])
            posts = len(plist)
        # The labels escape markdown ("(@\\_@。") and drop a leading 【column】 label the page's
        # own og:title, <title>, JSON-LD headline and <h1> all carry: both are accepted.
        prefix = pg["title_prefix"].removesuffix("..").replace("\\", "")
        if mojibake(title + text):
            why.append("mojibake")
        if pg["label"] == "article":
            if not re.sub(r"^【[^】]{1,30}】", "", _nfkc(title)).startswith(_nfkc(prefix)) and not _nfkc(
                    title).startswith(_nfkc(prefix)):
                why.append(f"title {title[:20]!r}")
            if len(text) < 200:
                why.append("body < 200")
            # a paywalled page that shows part of the report is a truncated teaser, honestly marked
            if kind in {"board", "error"} or "body-withheld" in flags:
                why.append(f"kind {kind} {','.join(flags)}")
        if cat == "読者会員限定" and not (kind == "teaser" and "paywalled" in flags):
            why.append("not marked as a paywalled teaser")
        if cat == "FC2ブログ" and not (kind == "board" and posts >= 2):
            why.append("not parsed as a board まとめ page")
        if cat in {"Amebaブログ", "エキサイトブログ"} and kind == "news":
            why.append("blog passed off as news")
        failures += bool(why)
        print(f"{pg['id']:<7}{pg['label']:<15}{cat:<14}{kind:<8}{len(text):>6}{posts:>6} "
              f"{'FAIL' if why else 'ok':<4}{'; '.join(why) or ','.join(flags)}")
    print(f"{len(pages) - failures}/{len(pages)} pages meet every condition")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the shared eval directory")
    ap.add_argument("--only", choices=["aeb", "ja"], help="run one set only")
    ap.add_argument("--check-shipped", action="store_true",
                    help="also re-score the benchmark's shipped trafilatura output")
    args = ap.parse_args(argv)
    if not (args.eval / "extraction").is_dir():
        print(f"no evaluation data at {args.eval}/extraction: skipped", file=sys.stderr)
        return 0
    if args.only in (None, "aeb"):
        aeb(args.eval, args.check_shipped)
    failures = 0
    if args.only in (None, "ja"):
        failures = ja_koron(args.eval)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Which real pages become a story's source: page kinds on ja_koron, with and without the host.

The set is ``../shared/eval/extraction/ja_koron_extractarticle`` (read there,
never copied). Its labels say whether the original extractor found an
article; what matters here is news or not, so each page is scored against:

* news — a page of a news outlet (Yahoo!ニュース, 朝日, 読売, 産経, 毎日,
  日経; a paywalled page that shows part of its report is a truncated
  teaser and still a source). One of them, 000003, is labelled
  ``not_article``: it is a magazine's report (JSON-LD ``NewsArticle``, by
  AERA dot.) shown as the first of two pages, and counts as news here;
* not news — the rest: the two 読者会員限定 teasers that show no report, the
  FC2 board まとめ blogs, and every personal blog post (はてな, goo, Ameba,
  Excite), whether the original extractor found an article in it or not.

Each page is extracted twice: at its own address, and at a neutral address
(``https://pages.example/<id>``) where no host list can help — the kind then
comes from the page alone. A page "stays in" when ``stories.reports`` would
take it as a source.

    .venv/bin/python bench/pagekind_eval.py [--eval ../shared/eval]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

from matome import extract, stories
from matome.errors import ExtractError
from matome.records import Article, RawDoc
from matome.settings import ExtractSettings

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
BLOG_CATEGORIES = ("ブログ",)  # FC2ブログ, Amebaブログ, はてなブログ, gooブログ, エキサイトブログ


def is_news(page: dict[str, Any]) -> bool:
    """The truth this bench scores against (see the module's docstring)."""
    blog = any(c in page["site_category"] for c in BLOG_CATEGORIES)
    return not blog and page["site_category"] != "読者会員限定"


def _kind(html: bytes, url: str, settings: ExtractSettings) -> tuple[str, bool]:
    """(kind with flags, whether the page stays a story's source)."""
    doc = RawDoc(key=url, kind="html", origin=url, location="", content=html, hints={"url": url})
    try:
        art: Article = extract.extract(doc, settings)
    except ExtractError:
        return "error", False
    shown = art.kind + ("/" + ",".join(f for f in art.flags if f != "paywalled") if art.flags else "")
    return shown, bool(stories.reports([art]))


def run(root: Path) -> tuple[int, list[dict[str, Any]]]:
    """Print the table; return the number of pages on the wrong side, and the rows."""
    base = root / "extraction" / "ja_koron_extractarticle"
    pages = [json.loads(line) for line in (base / "pages.jsonl").open(encoding="utf-8")]
    settings = ExtractSettings()
    rows = []
    print(f"{'id':<7}{'label':<15}{'category':<11}{'truth':<9}{'kind (own url)':<26}"
          f"{'kind (no host)':<26}ok")
    wrong = 0
    for pg in pages:
        html = gzip.decompress((base / pg["html_path"]).read_bytes())
        own, own_in = _kind(html, pg["url"], settings)
        bare, bare_in = _kind(html, f"https://pages.example/{pg['id']}", settings)
        news = is_news(pg)
        ok = own_in == news and bare_in == news
        wrong += not ok
        rows.append({"id": pg["id"], "news": news, "own": own, "bare": bare, "own_in": own_in,
                     "bare_in": bare_in})
        print(f"{pg['id']:<7}{pg['label']:<15}{pg['site_category'][:9]:<11}"
              f"{'news' if news else 'not':<9}{own + (' in' if own_in else ' out'):<26}"
              f"{bare + (' in' if bare_in else ' out'):<26}{'ok' if ok else 'WRONG'}")
    for which in ("own", "bare"):
        tp = sum(r["news"] and r[f"{which}_in"] for r in rows)
        fp = sum(not r["news"] and r[f"{which}_in"] for r in rows)
        fn = sum(r["news"] and not r[f"{which}_in"] for r in rows)
        label = "own url" if which == "own" else "no host"
        print(f"{label}: news kept {tp}/{tp + fn}, not-news let in {fp}/{len(rows) - tp - fn}")
    return wrong, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the shared eval directory")
    args = ap.parse_args(argv)
    if not (args.eval / "extraction" / "ja_koron_extractarticle").is_dir():
        print(f"no ja_koron pages under {args.eval}/extraction: skipped", file=sys.stderr)
        return 0
    wrong, _ = run(args.eval)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

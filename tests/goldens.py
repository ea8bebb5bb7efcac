"""Golden data for every stage, computed from the demo corpus.

``scripts/regen_golden.py`` writes these to ``tests/golden/<stage>.json``;
``tests/test_golden.py`` recomputes and compares. When a stage changes on
purpose, regenerate and review the diff like any other code change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matome.language import split_sentences
from matome.site import readmodel
from matome.store import Store, db_url

STAGES = ("extract", "analyze", "dedupe", "cluster", "tags", "write")


def compute(db: Path) -> dict[str, Any]:
    store = Store(db_url(str(db)), readonly=True)
    cat = readmodel.load(store)
    analyses = store.analyses()
    url = {a.id: a.url for a in cat.articles}
    out: dict[str, Any] = {}
    out["extract"] = {
        a.url: {"title": a.title, "source": a.source, "lang": a.lang,
                "published": readmodel.iso(a.published), "published_how": a.published_how,
                "encoding": a.encoding, "encoding_reason": a.encoding_reason,
                "sentences": len(split_sentences(a.text)), "text_start": a.text[:60]}
        for a in sorted(cat.articles, key=lambda a: a.url)
    }
    out["analyze"] = {
        url[aid]: {"mentions": sorted({f"{m.kind}:{m.name}" for m in an.mentions}),
                   "event_days": an.event_days, "numbers": an.numbers}
        for aid, (an, _v) in sorted(analyses.items(), key=lambda kv: url[kv[0]])
    }
    out["dedupe"] = {url[k]: url[v] for k, v in sorted(cat.duplicate_of.items()) if v}
    out["cluster"] = sorted(sorted(a.url for a in s.articles) for s in cat.stories)
    out["tags"] = sorted(
        [{"name": g.name, "kind": g.kind, "aliases": g.aliases,
          "stories": sorted(min(a.url for a in s.articles) for s in g.stories)} for g in cat.tags],
        key=lambda g: (g["kind"], g["name"]))
    out["write"] = {}
    for s in cat.stories:
        b = s.brief
        if b is None:
            continue
        out["write"][min(a.url for a in s.articles)] = {
            "headline": b.headline, "subheadline": b.subheadline, "lead": b.lead,
            "sections": {sec.name: [w.text for w in sec.sentences] or
                         [src["url"] for src in sec.sources] for sec in b.sections},
        }
    store.close()
    return out

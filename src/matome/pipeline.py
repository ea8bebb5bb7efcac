"""The whole flow of matome, stage by stage.

    ingest:  sources ──▶ raw_docs                       (stored before parsing)
    process: raw_docs ──extract──▶ articles ──analyze──▶ analyses
             ──dedupe──▶ copies marked ──cluster──▶ stories ──tags──▶ tags
             ──write + verify──▶ written articles       (then publish / serve)

Each stage stores its output with its name/version and a hash of its input
and skips work already done, one committed step at a time, so ``process``
can be killed anywhere and re-run to the same result.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from matome import analyze, cluster, dedupe, extract, sources, tags, verify, write
from matome import schema as t
from matome.entities import Resolver, alias_pairs, cross_script_links, fold
from matome.errors import RecordError
from matome.records import Analysis, Article, RawDoc, digest
from matome.settings import Settings
from matome.store import IdClash, Store


class Progress(Protocol):
    def start(self, stage: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def error(self, err: RecordError) -> None: ...


class Quiet:
    def start(self, stage: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def error(self, err: RecordError) -> None: ...


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[RecordError] = field(default_factory=list)


def _checkpoint(stage: str, done: int) -> None:
    """Test hook: ``MATOME_FAULT_AT=stage:N`` SIGKILLs the process after N commits."""
    spec = os.environ.get("MATOME_FAULT_AT", "")
    if spec and spec == f"{stage}:{done}":
        os.kill(os.getpid(), signal.SIGKILL)


# --- ingest ------------------------------------------------------------------


def ingest(store: Store, targets: Iterable[str], settings: Settings,
           progress: Progress | None = None) -> Report:
    progress = progress or Quiet()
    report = Report()
    for target in targets:
        items = list(sources.discover(target, settings.ingest))
        progress.start(f"ingest {target}", len(items))
        for origin in {i.origin for i in items}:
            store.forget_rejects(origin, "ingest")
        for item in items:
            if isinstance(item, RawDoc):
                report.counts[store.put_raw(item)] += 1
            else:
                _reject(store, report, progress, item, "ingest")
            progress.advance()
    return report


def _reject(store: Store, report: Report, progress: Progress, err: RecordError,
            stage: str) -> None:
    store.record_reject(err.origin, err.location, stage, err.reason)
    report.errors.append(err)
    report.counts["rejected"] += 1
    progress.error(err)


# --- process -----------------------------------------------------------------


def process(store: Store, settings: Settings, progress: Progress | None = None) -> Report:
    progress = progress or Quiet()
    report = Report()
    for stage in (run_extract, run_analyze, run_dedupe, run_cluster, run_tags, run_write):
        stage(store, settings, progress, report)
    return report


def run_extract(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    todo = store.raw_todo(extract.STAGE.tag)
    progress.start("extract", len(todo))
    for n, (raw_id, doc) in enumerate(todo, start=1):
        try:
            article = extract.extract(doc, settings.extract)
            store.put_article(raw_id, article, extract.STAGE.tag, doc.content_hash, doc)
            report.counts["extracted"] += 1
        except RecordError as bad:
            bad.origin, bad.location = doc.origin, doc.location
            _reject(store, report, progress, bad, "extract")
        except IdClash as clash:
            _reject(store, report, progress, RecordError(
                f"same article id as raw document #{clash.raw_id}; kept that one",
                origin=doc.origin, location=doc.location), "extract")
        progress.advance()
        _checkpoint("extract", n)


def _gazetteer(settings: Settings) -> Any:
    return analyze.gazetteer(tuple((k, tuple(v)) for k, v in sorted(settings.aliases.items())))


def run_analyze(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    articles = {a.id: a for a in store.articles()}
    aliases = sorted(settings.aliases.items())
    # the embedder is part of the input: another model means other vectors
    embedder = (settings.embed.backend, settings.embed.model, settings.embed.passage_prefix)
    hashes = {aid: digest(a.title, a.text, a.published, aliases, embedder)
              for aid, a in articles.items()}
    todo = store.todo(t.analyses, analyze.STAGE.tag, hashes)
    progress.start("analyze", len(todo))
    gaz = _gazetteer(settings)
    batch = 16
    for i in range(0, len(todo), batch):
        items = [(articles[aid], analyze.analyze(articles[aid], gaz)) for aid in todo[i : i + batch]]
        vectors = analyze.embed_batch(items, settings.embed)
        for (a, an), vec in zip(items, vectors, strict=True):
            store.put_analysis(a.id, an, vec, analyze.STAGE.tag, hashes[a.id])
            progress.advance()
            report.counts["analyzed"] += 1
        _checkpoint("analyze", i // batch + 1)


def _in_order(articles: Iterable[Article]) -> list[Article]:
    return sorted(articles, key=lambda a: (a.published is None,
                                           a.published.timestamp() if a.published else 0, a.id))


def run_dedupe(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    articles = _in_order(store.articles())
    hashes = {a.id: dedupe.text_hash(a.text) for a in articles}
    todo = set(store.todo(t.dedupe, dedupe.STAGE.tag, hashes))
    deduper = dedupe.Deduper(settings.dedupe)
    done = {r["article_id"]: r for r in store.dedupe_rows()}
    for a in articles:
        if a.id in done and a.id not in todo:
            r = done[a.id]
            deduper.remember(a.id, r["text_hash"],
                             dedupe.minhash_from_bytes(r["minhash"], settings.dedupe),
                             r["duplicate_of"])
    progress.start("dedupe", len(todo))
    n = 0
    for a in articles:
        if a.id not in todo:
            continue
        v = deduper.judge(a)
        deduper.remember(a.id, v.text_hash, v.minhash, v.duplicate_of)
        with store.tx() as conn:
            store.put_dedupe(conn, {
                "article_id": a.id, "text_hash": v.text_hash,
                "minhash": dedupe.minhash_bytes(v.minhash), "duplicate_of": v.duplicate_of,
                "kind": v.kind, "similarity": v.similarity, "stage": dedupe.STAGE.tag,
                "input_hash": hashes[a.id]})
        n += 1
        progress.advance()
        _checkpoint("dedupe", n)


def resolver(store: Store, settings: Settings, analyses: dict[str, Any]) -> Resolver:
    return resolver_for(settings, [an for an, _ in analyses.values()])


def resolver_for(settings: Settings, analyses: list[Analysis]) -> Resolver:
    """Canonical names from everything the analyses define (aliases, Latin forms)."""
    defined = sorted({p for an in analyses for p in alias_pairs(an.mentions)})
    links = cross_script_links(m for an in analyses for m in an.mentions)
    return Resolver(_gazetteer(settings), settings.aliases, defined, links)


def run_cluster(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    articles = _in_order(store.articles())
    analyses = store.analyses()
    dup_of = {r["article_id"]: r["duplicate_of"] for r in store.dedupe_rows()}
    members = store.memberships()
    if any(m["stage"] != cluster.STAGE.tag for m in members):
        store.reset_stories()
        members = []
    store.drop_empty_stories()
    res = resolver(store, settings, analyses)
    clusterer = cluster.Clusterer(settings.cluster)
    by_id = {a.id: a for a in articles}

    def feats(a: Article) -> cluster.Features:
        an, vec = analyses[a.id]
        return cluster.features(a, an, vec, res.resolve(an.mentions))

    assigned = {m["article_id"]: m["story_id"] for m in members}
    storylines = {r["id"]: r["storyline"] for r in store.stories()}
    for m in members:  # replayed in the order they were made: the same state as then
        if m["role"] == "member" and m["article_id"] in by_id and m["article_id"] in analyses:
            clusterer.restore(m["story_id"], feats(by_id[m["article_id"]]),
                              storylines.get(m["story_id"]))
    seq = max((m["seq"] for m in members), default=0)
    pending = [a for a in articles if a.id not in assigned and a.id in analyses
               and a.id in dup_of and dup_of[a.id] is None]
    progress.start("cluster", len(pending))
    for n, a in enumerate(pending, start=1):
        got = clusterer.assign(feats(a))
        seq += 1
        store.put_membership(a.id, got.story, "member", seq, got.evidence, cluster.STAGE.tag,
                             new_story=got.new, storyline=got.storyline, follows=got.follows,
                             merged=got.merged, split=_split_row(clusterer, got))
        if got.merged:
            assigned = {k: got.story if v == got.merged else v for k, v in assigned.items()}
        if got.split:
            assigned.update({aid: got.split[0] for aid in got.split[1]})
        if len(clusterer.stories[got.story].members) >= settings.cluster.max_story_articles:
            store.flag_story(got.story, "capped")  # later reports of it start a new story
        assigned[a.id] = got.story
        progress.advance()
        _checkpoint("cluster", n)
    store.resolve_pending_redirects(assigned)  # after a regrouping, old ids still lead somewhere
    for a in articles:  # copies join their original's story
        root = a.id
        while dup_of.get(root):
            root = dup_of[root] or root
        if a.id not in assigned and root != a.id and root in assigned:
            seq += 1
            store.put_membership(a.id, assigned[root], "duplicate", seq,
                                 {"duplicate_of": dup_of[a.id]}, cluster.STAGE.tag, new_story=False)
            assigned[a.id] = assigned[root]


def _split_row(clusterer: cluster.Clusterer,
               got: cluster.Assignment) -> tuple[str, list[str], str | None, str] | None:
    """What the store records of a split: the cut-out story, its articles, storyline, origin."""
    if got.split is None:
        return None
    new, moved, origin = got.split
    return new, moved, clusterer.storyline_of.get(new), origin


def story_articles(store: Store) -> tuple[dict[str, list[Article]], dict[str, list[Article]]]:
    """Per story: (reports written from, every report including copies), oldest first.

    A near copy from the same outlet, published later, is that outlet's
    revision of its report (a correction, an update): it is written from in
    place of the version it supersedes, so a corrected figure is the one told.
    """
    by_id = {a.id: a for a in store.articles()}
    sources_: dict[str, list[Article]] = {}
    everything: dict[str, list[Article]] = {}
    current: dict[str, str] = {}  # original article id -> its latest revision
    for m in store.memberships():
        a = by_id.get(m["article_id"])
        if a is None:
            continue
        everything.setdefault(m["story_id"], []).append(a)
        if m["role"] == "member":
            sources_.setdefault(m["story_id"], []).append(a)
            continue
        root = (m["evidence"] or {}).get("duplicate_of")
        while root in current and current[root] != root:
            root = current[root]
        old = by_id.get(root or "")
        if old is not None and old.source == a.source and _is_newer(a, old):
            current[root or ""] = a.id
            current[a.id] = a.id
            lst = sources_.get(m["story_id"], [])
            if old in lst:
                lst[lst.index(old)] = a
    return ({k: _in_order(v) for k, v in sources_.items()},
            {k: _in_order(v) for k, v in everything.items()})


def _is_newer(a: Article, b: Article) -> bool:
    if a.published and b.published:
        return a.published >= b.published
    return a.published is not None or (b.published is None and a.id > b.id)


def run_tags(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    written_from, _ = story_articles(store)
    analyses = store.analyses()
    key = digest(tags.STAGE.tag, {k: [a.id for a in v] for k, v in written_from.items()},
                 sorted(store.analysis_hashes().items()), settings.tags, settings.themes,
                 settings.aliases)
    progress.start("tags", 1)
    if store.stage_hash(tags.STAGE.tag) != key:
        res = resolver(store, settings, analyses)
        mentions = {aid: res.resolve(an.mentions) for aid, (an, _) in analyses.items()}
        all_tags, per_story = tags.build_tags(written_from, mentions, settings.tags,
                                              settings.themes, lambda n: res.key(fold(n)))
        store.replace_tags(all_tags, per_story, tags.STAGE.tag, key)
    progress.advance()


WRITTEN_STAGE = f"{write.STAGE.tag}+{verify.STAGE.tag}"


def run_write(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    written_from, _ = story_articles(store)
    store.drop_orphan_written(set(written_from))
    analyses = {k: an for k, (an, _) in store.analyses().items()}
    done = store.written_hashes()
    todo = []
    for sid, arts in sorted(written_from.items()):
        h = digest(write.WRITER, [(a.id, a.title, a.text, a.published, a.source) for a in arts],
                   settings.writer)
        if done.get((sid, "brief")) != (WRITTEN_STAGE, h):
            todo.append((sid, arts, h))
    progress.start("write", len(todo))
    for n, (sid, arts, h) in enumerate(todo, start=1):
        brief = verify.verify(write.write_brief(arts, analyses, settings.writer), arts)
        store.put_written(sid, brief, WRITTEN_STAGE, h)
        report.counts["written"] += 1
        progress.advance()
        _checkpoint("write", n)


def summary(store: Store, page_count: Callable[[], int]) -> dict[str, int]:
    c = store.counts()
    return {"articles read": c["articles"], "duplicates dropped": c["duplicates"],
            "stories": c["stories"], "tags": c["tags"], "pages": page_count(),
            "rejected inputs": c["rejects"]}

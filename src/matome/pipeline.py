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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from matome import extract, stories
from matome.errors import IdClash, RecordError, StoreError, UsageError
from matome.ingest import sources
from matome.language import Resolver, alias_pairs, analyze, cross_script_links, fold
from matome.records import Analysis, Article, DedupeRow, RawDoc, digest
from matome.settings import Settings, SourceSettings
from matome.store import Store
from matome.stories import cluster, dedupe, reactions, tags
from matome.write import toolkit, verify


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
           progress: Progress | None = None, *, source: SourceSettings | None = None,
           fetcher: Any = None) -> Report:
    """Store every raw document the targets hold, fetching URLs (and pages they lead to).

    Each document is stored as soon as it is read, so an interrupted ingest
    keeps what it fetched. ``source`` is the configured source being polled
    (a target equal to a configured source's path gets that source too).
    """
    from matome.ingest import poll

    progress = progress or Quiet()
    report = Report()
    configured = {s.path: s for s in settings.sources}
    for target in targets:
        src = source or configured.get(target)
        name = src.name if src is not None and src.name else target
        progress.start(f"ingest {target}", 0)
        items = sources.discover(target, settings.ingest, src)
        if fetcher is None:
            fetcher = poll.LazyFetcher(store, settings)
        known = poll.known_in(store, name)
        cleared: set[str] = set()
        for item in poll.expand(items, fetcher, settings, src or SourceSettings(name=name, path=target),
                                known):
            keep(store, item, report, progress, cleared)
        if hasattr(fetcher, "flush"):
            fetcher.flush()
    return report


def keep(store: Store, item: RawDoc | RecordError, report: Report, progress: Progress,
         cleared: set[str]) -> None:
    """Store one ingested item (or its reason for rejection), clearing its origin's old rejects once."""
    if item.origin not in cleared:
        store.forget_rejects(item.origin, "ingest")
        cleared.add(item.origin)
    if isinstance(item, RawDoc):
        report.counts[store.put_raw(item)] += 1
    else:
        _reject(store, report, progress, item, "ingest")
    progress.advance()


def _reject(store: Store, report: Report, progress: Progress, err: RecordError,
            stage: str, tag: str | None = None, input_hash: str | None = None) -> None:
    store.record_reject(err.origin, err.location, stage, err.reason, stage_tag=tag,
                        input_hash=input_hash)
    report.errors.append(err)
    report.counts["rejected"] += 1
    progress.error(err)


# What stops a run: the store or the configuration failing. Anything else one item
# raises is that item's reject, and the batch goes on.
FATAL = (StoreError, UsageError, SQLAlchemyError)


@contextmanager
def isolated(store: Store, report: Report, progress: Progress, stage: str, origin: str,
             location: str = "", *, tag: str | None = None, input_hash: str | None = None
             ) -> Iterator[None]:
    """One item's work in ``stage``: what it raises becomes its recorded reject (stage, item,
    exception type and message); with ``tag`` and ``input_hash`` the item is set aside until
    either changes (``store.set_aside``), so a re-run neither retries it forever nor loses it."""
    try:
        yield
    except FATAL:
        raise
    except Exception as exc:
        err = exc if isinstance(exc, RecordError) else RecordError(f"{type(exc).__name__}: {exc}"[:1000])
        err.origin, err.location = origin, location
        _reject(store, report, progress, err, stage, tag, input_hash)


# --- process -----------------------------------------------------------------


def process(store: Store, settings: Settings, progress: Progress | None = None) -> Report:
    progress = progress or Quiet()
    report = Report()
    for stage in (run_extract, run_analyze, run_dedupe, run_cluster, run_tags, run_write):
        stage(store, settings, progress, report)
    return report


def run_extract(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    tag = extract.STAGE.tag
    aside = store.set_aside("extract", tag)
    todo = [(raw_id, doc) for raw_id, doc in store.raw_todo(tag)
            if aside.get(doc.origin + (f":{doc.location}" if doc.location else "")) != doc.content_hash]
    progress.start("extract", len(todo))
    for n, (raw_id, doc) in enumerate(todo, start=1):
        with isolated(store, report, progress, "extract", doc.origin, doc.location, tag=tag,
                      input_hash=doc.content_hash):
            try:
                article = extract.extract(doc, settings.extract)
                store.put_article(raw_id, article, tag, doc.content_hash, doc)
                if article.kind == "board" and doc.kind == "html":
                    _keep_thread(store, article, doc)
                report.counts["extracted"] += 1
            except IdClash as clash:  # not set aside: tried again while the other holds the id
                _reject(store, report, progress, RecordError(
                    f"same article id as raw document #{clash.raw_id}; kept that one",
                    origin=doc.origin, location=doc.location), "extract")
        progress.advance()
        _checkpoint("extract", n)


def reports(store: Store) -> list[Article]:
    """Articles that may be a story's sources (``stories.reports``)."""
    return stories.reports(store.articles())


def _keep_thread(store: Store, article: Article, doc: RawDoc) -> None:
    """A board page's posts, stored as reactions to the reports it discusses."""
    from matome.extract import boards, charset
    from matome.store import ingest_state

    try:
        html, _, _ = charset.decode(doc.content, doc.hints.get("content_type"))
    except RecordError:
        return
    _, posts, discussed = boards.parse(html, article.url)
    ingest_state.put_reactions(store, article.id, posts, discussed)


def _gazetteer(settings: Settings) -> Any:
    return analyze.gazetteer(tuple((k, tuple(v)) for k, v in sorted(settings.aliases.items())))


def run_analyze(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    articles = {a.id: a for a in reports(store)}
    aliases = sorted(settings.aliases.items())
    # the embedder is part of the input: another model means other vectors
    embedder = (settings.embed.backend, settings.embed.model, settings.embed.passage_prefix)
    hashes = {aid: digest(a.title, a.text, a.published, aliases, embedder)
              for aid, a in articles.items()}
    tag = analyze.STAGE.tag
    aside = store.set_aside("analyze", tag)
    todo = [aid for aid in store.todo("analyses", tag, hashes) if aside.get(aid) != hashes[aid]]
    progress.start("analyze", len(todo))
    gaz = _gazetteer(settings)
    batch = 16

    def guard(aid: str) -> Any:
        return isolated(store, report, progress, "analyze", aid, tag=tag, input_hash=hashes[aid])

    for i in range(0, len(todo), batch):
        items = []
        for aid in todo[i : i + batch]:
            with guard(aid):
                items.append((articles[aid], analyze.analyze(articles[aid], gaz)))
        for a, an, vec in _embedded(items, settings, guard):
            store.put_analysis(a.id, an, vec, tag, hashes[a.id])
            if a.id in aside:  # failed before on other input: no longer set aside
                store.forget_rejects(a.id, "analyze")
            report.counts["analyzed"] += 1
        progress.advance(min(batch, len(todo) - i))
        _checkpoint("analyze", i // batch + 1)


def _embedded(items: list[tuple[Article, Analysis]], settings: Settings,
              guard: Callable[[str], Any]) -> list[tuple[Article, Analysis, Any]]:
    """The batch's vectors; when the batch fails, one report at a time, each failure its own."""
    try:
        return [(a, an, v) for (a, an), v in zip(items, analyze.embed_batch(items, settings.embed),
                                                 strict=True)]
    except FATAL:
        raise
    except Exception:
        out = []
        for a, an in items:
            with guard(a.id):
                out.append((a, an, analyze.embed_batch([(a, an)], settings.embed)[0]))
        return out


def run_dedupe(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    articles = stories.in_order(reports(store))
    hashes = {a.id: dedupe.text_hash(a.text) for a in articles}
    aside = store.set_aside("dedupe", dedupe.STAGE.tag)
    todo = {aid for aid in store.todo("dedupe", dedupe.STAGE.tag, hashes)
            if aside.get(aid) != hashes[aid]}
    deduper = dedupe.Deduper(settings.dedupe)
    done = {r.article_id: r for r in store.dedupe_rows()}
    for a in articles:
        if a.id in done and a.id not in todo:
            r = done[a.id]
            deduper.remember(a.id, r.text_hash, dedupe.minhash_from_bytes(r.minhash, settings.dedupe),
                             r.duplicate_of)
    progress.start("dedupe", len(todo))
    n = 0
    for a in articles:
        if a.id not in todo:
            continue
        with isolated(store, report, progress, "dedupe", a.id, tag=dedupe.STAGE.tag,
                      input_hash=hashes[a.id]):
            v = deduper.judge(a)
            deduper.remember(a.id, v.text_hash, v.minhash, v.duplicate_of)
            store.put_dedupe(DedupeRow(a.id, v.text_hash, dedupe.minhash_bytes(v.minhash),
                                       v.duplicate_of, v.kind, v.similarity, dedupe.STAGE.tag,
                                       hashes[a.id]))
            if a.id in aside:
                store.forget_rejects(a.id, "dedupe")
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


def cluster_inputs(store: Store, settings: Settings) -> tuple[
        list[Article], dict[str, Any], dict[str, str | None], Callable[[Article], cluster.Features]]:
    """What clustering reads: the reports in the order they are assigned, their analyses,
    each one's original when it is a copy (None: an original), and how a report becomes
    features (names resolved across the whole store)."""
    articles = stories.in_order(reports(store))
    analyses = store.analyses()
    dup_of = {r.article_id: r.duplicate_of for r in store.dedupe_rows()}
    res = resolver(store, settings, analyses)

    def feats(a: Article) -> cluster.Features:
        an, vec = analyses[a.id]
        return cluster.features(a, an, vec, res.resolve(an.mentions))
    return articles, analyses, dup_of, feats


def run_cluster(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    articles, analyses, dup_of, feats = cluster_inputs(store, settings)
    members = store.memberships()
    if any(m.stage != cluster.STAGE.tag for m in members):
        store.reset_stories()
        members = []
    store.drop_empty_stories()
    by_id = {a.id: a for a in articles}

    def restored() -> cluster.Clusterer:
        clusterer = cluster.Clusterer(settings.cluster)
        storylines = {r.id: r.storyline for r in store.stories()}
        for m in store.memberships():  # replayed in the order they were made: the state as then
            if m.role == "member" and m.article_id in by_id and m.article_id in analyses:
                clusterer.restore(m.story_id, feats(by_id[m.article_id]), storylines.get(m.story_id))
        return clusterer

    clusterer = restored()
    assigned = {m.article_id: m.story_id for m in members}
    seq = max((m.seq for m in members), default=0)
    tag, hashes = cluster.STAGE.tag, store.analysis_hashes()
    aside = store.set_aside("cluster", tag)
    pending = [a for a in articles if a.id not in assigned and a.id in analyses
               and a.id in dup_of and dup_of[a.id] is None and aside.get(a.id) != hashes.get(a.id)]
    progress.start("cluster", len(pending))
    for n, a in enumerate(pending, start=1):
        got = None
        with isolated(store, report, progress, "cluster", a.id, tag=tag, input_hash=hashes.get(a.id)):
            got = clusterer.assign(feats(a))
        if got is None:
            clusterer = restored()  # the failed assignment may have left the state half-changed
            progress.advance()
            continue
        if a.id in aside:
            store.forget_rejects(a.id, "cluster")
        seq += 1
        store.put_membership(a.id, got.story, "member", seq, got.evidence, cluster.STAGE.tag,
                             new_story=got.new, storyline=got.storyline, follows=got.follows,
                             merged=got.merged, split=_split_row(clusterer, got),
                             relinked=got.relinked)
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
    """Per story: (reports written from, every report including copies), oldest first."""
    return stories.story_articles(store.memberships(), reports(store))


def run_tags(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    written_from, _ = story_articles(store)
    analyses = store.analyses()
    key = digest(tags.STAGE.tag, {k: [a.id for a in v] for k, v in written_from.items()},
                 sorted(store.analysis_hashes().items()), settings.tags, settings.themes,
                 settings.aliases)
    progress.start("tags", 1)
    if store.stage_hash(tags.STAGE.tag) != key:
        # a failure here keeps the old tags and is tried again next run
        with isolated(store, report, progress, "tags", TAG_INDEX):
            res = resolver(store, settings, analyses)
            mentions = {}
            for aid, (an, _) in analyses.items():
                with isolated(store, report, progress, "tags", aid):
                    mentions[aid] = res.resolve(an.mentions)
            all_tags, per_story = tags.build_tags(written_from, mentions, settings.tags,
                                                  settings.themes, lambda n: res.key(fold(n)))
            store.replace_tags(all_tags, per_story, tags.STAGE.tag, key)
            store.forget_rejects(TAG_INDEX, "tags")
    progress.advance()


TAG_INDEX = "(tag index)"  # the origin of a reject of the tags stage as a whole


WRITTEN_STAGE = f"{toolkit.STAGE.tag}+{verify.STAGE.tag}"


def run_write(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    """Every configured format per story; the explainer and ■解説 read the storyline's earlier stories."""
    from dataclasses import asdict, replace

    from matome.write import formats, llm_writer

    written_from, _ = story_articles(store)
    store.drop_orphan_written(set(written_from))
    analyses = {k: an for k, (an, _) in store.analyses().items()}
    done = store.written_hashes()
    line_of = {r.id: r.storyline for r in store.stories()}
    lines: dict[str, list[str]] = {}  # storyline -> its stories, oldest first
    for sid in sorted(written_from, key=lambda s: (_first_seen(written_from[s]), s)):
        lines.setdefault(line_of.get(sid) or stories.storyline_id(sid), []).append(sid)
    # board posts linked to stories (■反応), never sources
    posts = reactions.reactions_by_story(store.story_urls(), store.reaction_rows())
    use_llm = settings.writer.kind == "llm"
    aside = store.set_aside("write", WRITTEN_STAGE)
    todo = []
    for sid, arts in sorted(written_from.items()):
        line = lines[line_of.get(sid) or stories.storyline_id(sid)]
        earlier = [written_from[x] for x in line[: line.index(sid)]]
        for fmt in formats.wanted(settings.writer.formats):
            inp = fmt.inputs(arts, analyses, earlier, posts.get(sid, []))  # what it reads
            by_llm = use_llm and fmt.llm
            h = digest(llm_writer.WRITER if by_llm else toolkit.WRITER, fmt.name,
                       [[(a.id, a.title, a.text, a.published, a.source) for a in group]
                        for group in [inp.articles, *inp.earlier]],
                       [asdict(p) for p in inp.posts], settings.writer,
                       replace(settings.llm, api_key="") if by_llm else None,  # never the key
                       sorted(settings.aliases.items()))  # verify finds names with them
            if done.get((sid, fmt.name)) != (WRITTEN_STAGE, h) and aside.get(f"{sid}:{fmt.name}") != h:
                todo.append((sid, fmt, inp, by_llm, h))
    # The LLM writes the formats it may write (requests in parallel, answers checked here, in
    # order); every other format is extractive.
    llm_out = llm_writer.write_all([(sid, inp.articles) for sid, _, inp, by_llm, _ in todo if by_llm],
                                   analyses, settings) if use_llm else iter(())
    progress.start("write", len(todo))
    for n, (sid, fmt, inp, by_llm, h) in enumerate(todo, start=1):
        if by_llm:
            got, checked = next(llm_out)  # already verified
            assert got == sid
            if checked.provenance.fallback:
                h += ":fallback"  # written extractively this time: the LLM is tried again next run
            store.put_written(sid, checked, WRITTEN_STAGE, h)
            report.counts["written"] += 1
        else:  # one story that trips a writer is its recorded reject; the others are written
            with isolated(store, report, progress, "write", sid, fmt.name, tag=WRITTEN_STAGE, input_hash=h):
                checked = verify.verify(fmt.write(inp, settings.writer, None),
                                        [*inp.articles, *(a for group in inp.earlier for a in group)],
                                        settings.writer, settings.aliases)
                store.put_written(sid, checked, WRITTEN_STAGE, h)
                if f"{sid}:{fmt.name}" in aside:  # failed before on other input
                    store.forget_rejects(sid, "write")
                report.counts["written"] += 1
        progress.advance()
        _checkpoint("write", n)


def _first_seen(arts: list[Article]) -> str:
    dates = [a.published.isoformat() for a in arts if a.published]
    return min(dates) if dates else ""


def summary(store: Store, page_count: Callable[[], int]) -> dict[str, int]:
    c = store.counts()
    return {"articles read": c["articles"], "duplicates dropped": c["duplicates"],
            "stories": c["stories"], "tags": c["tags"], "pages": page_count(),
            "rejected inputs": c["rejects"]}

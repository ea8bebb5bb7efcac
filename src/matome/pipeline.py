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
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from itertools import groupby
from typing import Any

from matome import extract, stories
from matome.batch import (
    FATAL,
    Engine,
    Local,
    Progress,
    Quiet,
    Report,
    SetAside,
    alongside,
    checkpoint,
    chunked,
    isolated,
    queue,
    reject,
    rekey,
)
from matome.errors import RecordError
from matome.ingest import sources
from matome.language import analyze, name_facts, reuse
from matome.records import Article, RawDoc, Thread, digest
from matome.settings import Settings, SourceSettings
from matome.site.index import run_index
from matome.store import Store, ingest_state, leases
from matome.store.articles import NewAnalysis, NewArticle
from matome.stories import reactions
from matome.stories.runs import (
    NAMES_KEY,
    cluster_inputs,
    dedupe_key,
    learn_names_once,
    resolver,
    resolver_for,
    run_cluster,
    run_dedupe,
    run_tags,
    tags_key,
)
from matome.tasks import Queued, analyzed, extracted, written
from matome.write import toolkit, verify

__all__ = ["FATAL", "Progress", "Quiet", "Report", "cluster_inputs", "ingest",
           "isolated", "process", "queue_keys", "resolver", "resolver_for", "run_analyze", "run_cluster",
           "run_dedupe", "run_extract", "run_tags", "run_write", "story_articles", "summary"]


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
        reject(store, report, progress, item, "ingest")
    progress.advance()


# --- process -----------------------------------------------------------------


def process(store: Store, settings: Settings, progress: Progress | None = None, *,
            engine: Engine | None = None, wait: bool = True) -> Report:
    """Every stage over what is new. ``engine`` runs the per-article work (extract, analyze):
    on this machine's cores by default (``scale.workers``), or on Ray (``matome.scale``).

    On PostgreSQL several workers may run this at once: each takes batches of the per-article
    queues under a lease (``store.leases``), then one at a time, holding the advisory lock,
    runs the ordered stages once nothing is left for the others (``wait=False``: only when
    the lock is free, as ``watch`` does). Story assignment and storylines depend on the order
    reports arrive in, so they stay one writer, fed from everyone's stored results."""
    progress = progress or Quiet()
    report = Report()
    if engine is None:
        local = Local(settings.scale.workers or (os.cpu_count() or 1), settings.scale.pool_min,
                      transient=True)
        try:
            return process(store, settings, progress, engine=local, wait=wait)
        finally:
            local.close()

    def per_article(stage: Callable[..., None]) -> None:
        stage(store, settings, progress, report, engine)

    if not leases.shared(store):
        per_article(run_extract)
        # dedupe reads articles alone: beside analysis, in a thread (else in ``_ordered``)
        with nullcontext() if store.one_per_thread() else alongside(run_dedupe, store, settings,
                                                                      progress, report):
            per_article(run_analyze)
        _ordered(store, settings, progress, report, engine)
        return report
    worker = leases.Worker(store, settings.scale, batch=engine.window)
    # the key check the stages make when they run, made even when no batch is left for this
    # worker: else a code or settings change waits for new input, then re-walks the archive
    rekey(store, "extract", extract_key(settings))
    rekey(store, "analyze", analyze_key(settings))

    def drain() -> None:
        for name, stage in (("extract", run_extract), ("analyze", run_analyze)):
            while True:
                with worker.holding(name) as items:
                    if not items:
                        break
                    per_article(stage)

    drain()
    with worker.ordered_writer(wait) as writer:
        if writer:
            # the writer sees every report at once: what the others still hold is waited for
            worker.wait_for_others(PER_ARTICLE, drain)
            _ordered(store, settings, progress, report, engine)
    return report


PER_ARTICLE = ("extract", "analyze")


def _ordered(store: Store, settings: Settings, progress: Progress, report: Report,
             engine: Engine | None = None) -> None:
    # last: the site's listings and search take in what the stages changed (matome.site.index)
    for stage in (run_dedupe, run_cluster, run_tags):  # dedupe: what ran beside analysis left
        stage(store, settings, progress, report)
    run_write(store, settings, progress, report, engine)  # each story apart: on the engine
    if engine is not None:
        engine.idle()  # the index is this process's alone: the workers exit meanwhile
    run_index(store, settings, progress, report)


def extract_key(settings: Settings) -> str:
    """What extraction's queue is filled under: its code version."""
    return extract.STAGE.tag


def _embedder(settings: Settings) -> tuple[str, ...]:
    """The embedder, part of analysis's input: another model means other vectors."""
    cfg = settings.embed
    if cfg.backend == "e5":  # its precision and calibration give other vectors of the same weights
        from matome.language import e5onnx

        return cfg.backend, cfg.model, cfg.passage_prefix, e5onnx.identity(cfg.precision)
    return cfg.backend, cfg.model, cfg.passage_prefix


def analyze_key(settings: Settings) -> str:
    """What analysis's queue is filled under: its code version, the aliases it resolves with
    and the embedder."""
    return digest(analyze.STAGE.tag, sorted(settings.aliases.items()), _embedder(settings))


def write_key(settings: Settings) -> str:
    """What the write queue is filled under: the writers' versions and what they read."""
    from dataclasses import replace

    from matome.write import llm_writer

    return digest(WRITTEN_STAGE, toolkit.WRITER, llm_writer.WRITER, settings.writer, settings.publish,
                  replace(settings.llm, api_key=""), sorted(settings.aliases.items()))


def queue_keys(settings: Settings) -> dict[str, str]:
    """Each stage's queue key (``batch.rekey``) as this code and ``settings`` make it: a store
    holding these keys is re-walked by no stage. For tools that write a store straight into its
    tables (``bench/archive_fill.py``)."""
    return {"extract": extract_key(settings), "analyze": analyze_key(settings),
            "dedupe": dedupe_key(settings), "cluster": stories.cluster.STAGE.tag,
            "tags": tags_key(settings), "write": write_key(settings), "names": NAMES_KEY}


def run_extract(store: Store, settings: Settings, progress: Progress, report: Report,
                engine: Engine | None = None) -> None:
    tag = extract.STAGE.tag
    queued = sorted(queue(store, "extract", extract_key(settings)), key=int)
    aside = SetAside(store, "extract", tag)
    progress.start("extract", len(queued))

    def todo() -> Iterator[tuple[int, RawDoc]]:
        for chunk in chunked(queued, 100):  # raw content is read a chunk at a time, never all at once
            rows = {str(raw_id): (raw_id, doc, done) for raw_id, doc, done in store.raw_docs_by_id(chunk)}
            # what needs nothing leaves the queue in one statement per chunk, not one each: a
            # re-queued archive (a new stage key) is mostly that (101k DELETEs at 100k articles)
            gone, left = [], []
            for item in chunk:
                if item not in rows:  # removed since it was queued
                    gone.append(item)
                    continue
                raw_id, doc, done = rows[item]
                where = doc.origin + (f":{doc.location}" if doc.location else "")
                if done == (tag, doc.content_hash) or aside.holds(where, doc.content_hash):
                    gone.append(item)
                    progress.advance()
                    continue
                left.append((raw_id, doc))
            if gone:
                store.dequeue("extract", gone)
            yield from left

    work = (engine or Local()).map(extracted, todo(), settings)
    done = 0
    chunk: list[tuple[NewArticle, Thread | None]] = []  # extracted, stored together
    for (raw_id, doc), outcome in work:
        if outcome.error is not None:  # its recorded reject, set aside until its input changes
            with isolated(store, report, progress, "extract", doc.origin, doc.location, tag=tag,
                          input_hash=doc.content_hash):
                outcome.get()
            store.dequeue("extract", [str(raw_id)])
            progress.advance()
            done += 1
            checkpoint("extract", done)
            continue
        article, thread = outcome.get()
        chunk.append((NewArticle(raw_id, article, tag, doc.content_hash, doc,
                                 url_key=extract.canonical_url(article.url)), thread))
        if len(chunk) >= EXTRACT_CHUNK:
            done = _store_extracted(store, report, progress, chunk, done)
            chunk = []
    if chunk:
        _store_extracted(store, report, progress, chunk, done)


EXTRACT_CHUNK = 32  # articles stored in one transaction: a kill redoes at most these


def _store_extracted(store: Store, report: Report, progress: Progress,
                     chunk: list[tuple[NewArticle, Thread | None]], done: int) -> int:
    """Store a chunk of extracted articles in one transaction (one at a time, each its own
    reject, when the chunk fails); returns ``done`` plus the chunk (the kill test's count)."""
    tag = extract.STAGE.tag
    failed: set[int] = set()  # rejected and set aside (still dequeued, as any reject)
    try:
        clashes = store.put_articles([new for new, _ in chunk])
    except FATAL:
        raise
    except Exception:  # one article trips the store: each alone, so only it is rejected
        clashes = {}
        for new, _ in chunk:
            failed.add(new.raw_id)
            with isolated(store, report, progress, "extract", new.doc.origin, new.doc.location,
                          tag=tag, input_hash=new.input_hash):
                clashes.update(store.put_articles([new]))
                failed.discard(new.raw_id)
    for new, thread in chunk:
        if new.raw_id in failed:
            continue
        if new.raw_id in clashes:  # not set aside: tried again while the other holds the id
            reject(store, report, progress, RecordError(
                f"same article id as raw document #{clashes[new.raw_id]}; kept that one",
                origin=new.doc.origin, location=new.doc.location), "extract")
            continue
        if thread is not None:  # a board page's posts, stored as reactions
            ingest_state.put_reactions(store, new.article.id, thread.posts, thread.discussed)
        report.counts["extracted"] += 1
    store.dequeue("extract", [str(new.raw_id) for new, _ in chunk if new.raw_id not in clashes])
    for _ in chunk:
        progress.advance()
        done += 1
        checkpoint("extract", done)
    return done


def reports(store: Store) -> list[Article]:
    """Articles that may be a story's sources (``stories.reports``)."""
    return stories.reports(store.articles())


def run_analyze(store: Store, settings: Settings, progress: Progress, report: Report,
                engine: Engine | None = None) -> None:
    aliases, embedder = sorted(settings.aliases.items()), _embedder(settings)
    tag = analyze.STAGE.tag
    who = reuse.embedder(settings.embed)  # recorded with each vector: which build made it
    queued = queue(store, "analyze", analyze_key(settings))
    learn_names_once(store)
    aside = SetAside(store, "analyze", tag)
    progress.start("analyze", len(queued))
    batch = 16

    def groups() -> Iterator[list[Queued]]:
        for chunk in chunked(queued, 256):
            articles = {a.id: a for a in stories.reports(store.reports_of(chunk))}
            hashes = {aid: digest(a.title, a.text, a.published, aliases, embedder)
                      for aid, a in articles.items()}
            stored = store.analysis_rows(list(articles))
            todo = [aid for aid in articles
                    if stored.get(aid) != (tag, hashes[aid]) and not aside.holds(aid, hashes[aid])]
            store.dequeue("analyze", [i for i in chunk if i not in todo])  # not reports, or done
            progress.advance(len(chunk) - len(todo))
            # made from this input by an earlier version: its vector may be kept (``reuse``)
            priors = reuse.priors(store, articles, {aid: hashes[aid] for aid in todo
                                                    if aid in stored and stored[aid][1] == hashes[aid]}, who)
            for i in range(0, len(todo), batch):
                yield [Queued(articles[aid], hashes[aid], priors.get(aid)) for aid in todo[i : i + batch]]

    def guard(aid: str, h: str) -> Any:
        return isolated(store, report, progress, "analyze", aid, tag=tag, input_hash=h)

    work = (engine or Local()).map(analyzed, groups(), settings, model=True)
    for n, (group, results) in enumerate(work, start=1):
        pairs = list(zip(group, results, strict=True))
        for q, r in pairs:  # rejects in the order the local loop always met them
            if r.analysis.error is not None:
                with guard(q.article.id, q.input_hash):
                    r.analysis.get()
        for q, r in pairs:
            if r.vector is not None and r.vector.error is not None:
                with guard(q.article.id, q.input_hash):
                    r.vector.get()
        made = [(q, r, r.analysis.get(), r.vector.get()) for q, r in pairs
                if r.vector is not None and r.vector.error is None]
        # the batch's analyses in one transaction (one each cost as much as a copy's analysis)
        store.put_analyses([NewAnalysis(q.article.id, an, vec, tag, q.input_hash, name_facts(an.mentions),
                                        reuse.embedded(q.article, an, who)) for q, _, an, vec in made])
        for q, r, _, _ in made:
            aside.passed(q.article.id)
            report.counts["analyzed"] += 1
            report.counts["embeddings reused"] += r.reused
        store.dequeue("analyze", [q.article.id for q in group])  # stored, or rejected and set aside
        progress.advance(len(group))
        checkpoint("analyze", n)


def story_articles(store: Store) -> tuple[dict[str, list[Article]], dict[str, list[Article]]]:
    """Per story: (reports written from, every report including copies), oldest first."""
    return stories.story_articles(store.memberships(), reports(store))


WRITTEN_STAGE = f"{toolkit.STAGE.tag}+{verify.STAGE.tag}"


WRITE_CHUNK = 500  # stories (whole storylines) written per read of their reports and analyses


def run_write(store: Store, settings: Settings, progress: Progress, report: Report,
              engine: Engine | None = None) -> None:
    """Every configured format per story; the explainer and ■解説 read the storyline's earlier
    stories. Each story's extractive writing and verification depend on its inputs alone, so
    they run on the engine's workers (as extract and analyze do), stored here in order.

    Storylines are taken a few hundred stories at a time: when every story is queued (the
    writer's settings changed) one read of all their reports and analyses held the archive
    in memory (4.4 GB for a first run over 100k articles)."""
    from matome.write import formats

    queued = queue(store, "write", write_key(settings))
    # The queued stories with their whole storylines: a later story's explainer reads the earlier.
    line_of = store.storylines_with(queued)
    by_line: dict[str, list[str]] = {}
    for sid, line in sorted(line_of.items()):
        by_line.setdefault(line or stories.storyline_id(sid), []).append(sid)
    progress.start("write", len(line_of) * len(formats.wanted(settings.writer.formats)))
    aside = SetAside(store, "write", WRITTEN_STAGE)
    done, chunk = 0, []
    for line in sorted(by_line):
        chunk += by_line[line]
        if len(chunk) >= WRITE_CHUNK:
            done = _write_stories(store, settings, progress, report, engine, chunk, line_of, aside, done)
            chunk = []
    if chunk:
        _write_stories(store, settings, progress, report, engine, chunk, line_of, aside, done)
    store.dequeue("write", queued)


def _write_stories(store: Store, settings: Settings, progress: Progress, report: Report,
                   engine: Engine | None, ids: list[str], line_of: dict[str, str | None],
                   aside: SetAside, done: int) -> int:
    """Write what changed of these stories (whole storylines); returns ``done`` plus how many
    formats it wrote (the fault-injection count)."""
    from dataclasses import asdict, replace

    from matome.write import formats, llm_writer

    use_llm = settings.writer.kind == "llm"
    members = store.memberships_of(sorted(ids))
    written_from, _ = stories.story_articles(
        members, stories.reports(store.reports_of([m.article_id for m in members])))
    analyses = {k: an for k, (an, _) in store.analyses(
        sorted({a.id for arts in written_from.values() for a in arts})).items()}
    have = store.written_hashes(sorted(written_from))
    lines: dict[str, list[str]] = {}  # storyline -> its stories, oldest first
    for sid in sorted(written_from, key=lambda s: (_first_seen(written_from[s]), s)):
        lines.setdefault(line_of.get(sid) or stories.storyline_id(sid), []).append(sid)
    # board posts linked to stories (■反応), never sources
    urls = store.story_urls(sorted(written_from))
    posts = reactions.reactions_by_story(urls, store.reaction_rows(
        [extract.canonical_url(u) for u, _ in urls]))  # only threads naming these reports
    todo = []
    for sid, arts in sorted(written_from.items()):
        line = lines[line_of.get(sid) or stories.storyline_id(sid)]
        earlier = [written_from[x] for x in line[: line.index(sid)]]
        # only its own reports' analyses (and its storyline's): each task goes to a worker by
        # pickle, and the chunk's whole map sent with each made writing twelve times slower
        own = {a.id: analyses[a.id] for group in [arts, *earlier] for a in group if a.id in analyses}
        for fmt in formats.wanted(settings.writer.formats):
            inp = fmt.inputs(arts, own, earlier, posts.get(sid, []))  # what it reads
            short = formats.short(inp, settings.publish.min_sources)  # published as its report
            by_llm = use_llm and fmt.llm and not short
            h = digest(llm_writer.WRITER if by_llm else toolkit.SHORT_WRITER if short else toolkit.WRITER,
                       fmt.name,
                       [[(a.id, a.title, a.text, a.published, a.source) for a in group]
                        for group in [inp.articles, *inp.earlier]],
                       [asdict(p) for p in inp.posts], settings.writer,
                       replace(settings.llm, api_key="") if by_llm else None,  # never the key
                       sorted(settings.aliases.items()))  # verify finds names with them
            if have.get((sid, fmt.name)) != (WRITTEN_STAGE, h) and not aside.holds(f"{sid}:{fmt.name}", h):
                todo.append((sid, fmt, inp, by_llm, h))
            else:
                progress.advance()
    # The LLM writes the formats it may write (requests in parallel, answers checked here, in
    # order); every other format is extractive.
    llm_out = llm_writer.write_all([(sid, inp.articles) for sid, _, inp, by_llm, _ in todo if by_llm],
                                   analyses, settings) if use_llm else iter(())
    per_story: dict[str, list[tuple[str, Any]]] = {}  # a story's formats travel as one task
    for sid, fmt, inp, by_llm, _ in todo:
        if not by_llm:
            per_story.setdefault(sid, []).append((fmt.name, inp))
    extractive = (outcome for _, outcomes in (engine or Local()).map(
        written, per_story.values(), settings) for outcome in outcomes)
    stored = done  # formats stored so far: the kill test's count (``checkpoint``)
    for sid, group in groupby(todo, key=lambda item: item[0]):  # todo holds a story's formats together
        made: list[tuple[str, Any, str]] = []  # its extractive formats: name, written, input hash
        for _, fmt, _, by_llm, h in group:
            if by_llm:
                got, checked = next(llm_out)  # already verified
                assert got == sid
                if checked.provenance.fallback:
                    h += ":fallback"  # written extractively this time: the LLM is tried again next run
                store.put_written(sid, checked, WRITTEN_STAGE, h)
                report.counts["written"] += 1
                stored += 1
                checkpoint("write", stored)
            else:  # one story that trips a writer is its recorded reject; the others are written
                with isolated(store, report, progress, "write", sid, fmt.name, tag=WRITTEN_STAGE,
                              input_hash=h):
                    made.append((fmt.name, next(extractive).get(), h))
            progress.advance()
        if not made:
            continue
        # a story's formats in one transaction: a commit each cost more than writing them
        with isolated(store, report, progress, "write", sid):
            store.put_written_many(sid, [(w, WRITTEN_STAGE, h) for _, w, h in made])
            for name, _, _ in made:
                aside.passed(f"{sid}:{name}", sid)
            report.counts["written"] += len(made)
        for _ in made:
            stored += 1
            checkpoint("write", stored)
    return done + len(todo)


def _first_seen(arts: list[Article]) -> str:
    dates = [a.published.isoformat() for a in arts if a.published]
    return min(dates) if dates else ""


def summary(store: Store, page_count: Callable[[], int]) -> dict[str, int]:
    c = store.counts()
    return {"articles read": c["articles"], "duplicates dropped": c["duplicates"],
            "stories": c["stories"], "tags": c["tags"], "pages": page_count(),
            "rejected inputs": c["rejects"]}

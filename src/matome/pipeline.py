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
import time
from collections.abc import Callable, Iterable
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
    isolated,
    queue,
    reject,
    rekey,
)
from matome.errors import RecordError
from matome.ingest import sources
from matome.per_article import analyze_key, extract_key, run_analyze, run_extract
from matome.records import Article, RawDoc, digest
from matome.settings import Settings, SourceSettings
from matome.site.index import run_index
from matome.store import Store, leases
from matome.stories import reactions
from matome.stories.runs import (
    NAMES_KEY,
    cluster_inputs,
    dedupe_key,
    resolver,
    resolver_for,
    run_cluster,
    run_dedupe,
    run_tags,
    tags_key,
)
from matome.tasks import written
from matome.write import toolkit, verify, windows

__all__ = ["FATAL", "Progress", "Quiet", "Report", "cluster_inputs", "ingest",
           "isolated", "process", "queue_keys", "resolver", "resolver_for", "run_analyze", "run_cluster",
           "run_dedupe", "run_extract", "run_summary", "run_tags", "run_write", "story_articles", "summary"]


# --- ingest ------------------------------------------------------------------


def ingest(store: Store, targets: Iterable[str], settings: Settings,
           progress: Progress | None = None, *, source: SourceSettings | None = None,
           fetcher: Any = None) -> Report:
    """Store every raw document the targets hold, fetching URLs (and pages they lead to).

    Documents are stored as they are read, a few at a time (``Keeper``), so an interrupted
    ingest loses only what came since its last write. ``source`` is the configured source
    being polled (a target equal to a configured source's path gets that source too).
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
        keeper = Keeper(store, report, progress, set())
        for item in poll.expand(items, fetcher, settings, src or SourceSettings(name=name, path=target),
                                known):
            keeper.add(item)
        keeper.flush()
        if hasattr(fetcher, "flush"):
            fetcher.flush()
    return report


class Keeper:
    """Ingested items stored in order, up to ``chunk`` documents or a second's worth in one
    transaction (a transaction each cost more than reading a feed's entry), each origin's old
    rejects cleared once; an item's reject is recorded as it comes."""

    def __init__(self, store: Store, report: Report, progress: Progress, cleared: set[str],
                 chunk: int = 32) -> None:
        self.store, self.report, self.progress, self.cleared = store, report, progress, cleared
        self.chunk, self.since = chunk, 0.0
        self.docs: list[RawDoc] = []
        self.forget: list[str] = []  # origins whose ingest rejects go with the next write

    def add(self, item: RawDoc | RecordError) -> None:
        if item.origin not in self.cleared:
            self.forget.append(item.origin)
            self.cleared.add(item.origin)
        if not isinstance(item, RawDoc):
            self.flush()
            reject(self.store, self.report, self.progress, item, "ingest")
            self.progress.advance()
            return
        if not self.docs:
            self.since = time.monotonic()
        self.docs.append(item)
        if len(self.docs) >= self.chunk or time.monotonic() - self.since > 1.0:
            self.flush()

    def flush(self) -> None:
        if not self.docs and not self.forget:
            return
        for what in self.store.put_raws(self.docs, self.forget):
            self.report.counts[what] += 1
            self.progress.advance()
        self.docs, self.forget = [], []


def keep(store: Store, item: RawDoc | RecordError, report: Report, progress: Progress,
         cleared: set[str]) -> None:
    """Store one ingested item (or its reason for rejection) at once, clearing its origin's
    old rejects once."""
    keeper = Keeper(store, report, progress, cleared, chunk=1)
    keeper.add(item)
    keeper.flush()


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
    _fixed_mmap_threshold()
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
        _release_memory()
    run_write(store, settings, progress, report, engine)  # each story apart: on the engine
    _release_memory()
    if engine is not None:
        engine.idle()  # the index is this process's alone: the workers exit meanwhile
    run_index(store, settings, progress, report)


def _fixed_mmap_threshold() -> None:
    """Every allocation of 128 KiB or more mapped on its own, and unmapped when freed.
    glibc raises that threshold each time such a block is freed, up to 32 MiB, and from
    then on serves blocks below it from the heap, which a gap left by one live object keeps
    from shrinking: the window's arrays (dedupe's signatures, the clusterer's matrix) and
    the numpy temporaries of each stage stayed in the process once freed (peak RSS at 100k
    stored articles 461 MiB, 399 with the threshold fixed; the same CPU). Setting it turns
    the raising off (``mallopt(3)``). No-op without glibc."""
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD, at glibc's own starting value


def _release_memory() -> None:
    """Hand what a stage freed back to the system before the next stage allocates its own.
    Dedupe's window (60 days of signatures) and the clusterer's are freed when their stage
    ends, but glibc keeps freed heap in the process: the next stage's peak was the sum of
    both (at 100k stored articles, 720 MiB against 607 with this). No-op without glibc."""
    import ctypes
    import gc

    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def write_key(settings: Settings) -> str:
    """What the write queue is filled under: the writers' versions and what they read."""
    from dataclasses import replace

    from matome.write import llm_writer

    return digest(WRITTEN_STAGE, toolkit.WRITER, llm_writer.WRITER, windows.VERSION, settings.writer,
                  settings.publish,
                  replace(settings.llm, api_key=""), sorted(settings.aliases.items()))


def queue_keys(settings: Settings) -> dict[str, str]:
    """Each stage's queue key (``batch.rekey``) as this code and ``settings`` make it: a store
    holding these keys is re-walked by no stage. For tools that write a store straight into its
    tables (``bench/archive_fill.py``)."""
    return {"extract": extract_key(settings), "analyze": analyze_key(settings),
            "dedupe": dedupe_key(settings), "cluster": stories.cluster.STAGE.tag,
            "tags": tags_key(settings), "write": write_key(settings), "names": NAMES_KEY}


def reports(store: Store) -> list[Article]:
    """Articles that may be a story's sources (``stories.reports``)."""
    return stories.reports(store.articles())


def story_articles(store: Store) -> tuple[dict[str, list[Article]], dict[str, list[Article]]]:
    """Per story: (reports written from, every report including copies), oldest first."""
    return stories.story_articles(store.memberships(), reports(store))


WRITTEN_STAGE = f"{toolkit.STAGE.tag}+{verify.STAGE.tag}"


WRITE_CHUNK = 500  # stories written per read of their reports and analyses (and their earlier ones')


def run_write(store: Store, settings: Settings, progress: Progress, report: Report,
              engine: Engine | None = None) -> None:
    """Every configured format per story; the explainer and ■解説 read the few stories before
    it in its storyline (``write.windows``: a change is written again in the few after it).
    Each story's extractive writing and verification depend on its inputs alone, so they run
    on the engine's workers (as extract and analyze do), stored here in order.

    Stories are taken a few hundred at a time: when every story is queued (the writer's
    settings changed) one read of all their reports and analyses held the archive in memory
    (4.4 GB for a first run over 100k articles)."""
    from matome.write import formats

    queued = queue(store, "write", write_key(settings))
    now = _places(store, queued)
    k = windows.context(settings.writer)
    todo = windows.plan(store, now, queued, k)
    progress.start("write", len(todo.stories) * len(formats.wanted(settings.writer.formats)))
    aside = SetAside(store, "write", WRITTEN_STAGE)
    done = 0
    for i in range(0, len(todo.stories), WRITE_CHUNK):
        done = _write_stories(store, settings, progress, report, engine,
                              todo.stories[i : i + WRITE_CHUNK], todo.earlier, aside, done)
    # where each queued story now is, once every story its move touched is written: a run
    # killed before this finds the same stories to write again from where they were
    store.place_written(now, windows.gone(queued, now))
    store.dequeue("write", queued)


def _places(store: Store, ids: list[str]) -> dict[str, windows.Place]:
    """Where each of these stories now is in its storyline, from its reports (a story with
    none to write from has no place), a chunk of stories at a time."""
    out: dict[str, windows.Place] = {}
    for i in range(0, len(ids), WRITE_CHUNK):
        part = ids[i : i + WRITE_CHUNK]
        lines = store.storylines_of(part)
        members = store.memberships_of(part)
        written_from, _ = stories.story_articles(
            members, stories.reports(store.reports_of([m.article_id for m in members])))
        out.update({sid: (lines.get(sid) or stories.storyline_id(sid), windows.key(arts))
                    for sid, arts in written_from.items() if sid in lines})
    return out


def _write_stories(store: Store, settings: Settings, progress: Progress, report: Report,
                   engine: Engine | None, ids: list[str], earlier_of: dict[str, list[str]],
                   aside: SetAside, done: int) -> int:
    """Write what changed of these stories (``earlier_of``: the stories before each that it
    reads); returns ``done`` plus how many formats it wrote (the fault-injection count)."""
    from dataclasses import asdict, replace

    from matome.write import formats, llm_writer

    use_llm = settings.writer.kind == "llm"
    needed = sorted({*ids, *(e for sid in ids for e in earlier_of.get(sid, []))})
    members = store.memberships_of(needed)
    written_from, _ = stories.story_articles(
        members, stories.reports(store.reports_of([m.article_id for m in members])))
    analyses = {k: an for k, (an, _) in store.analyses(
        sorted({a.id for arts in written_from.values() for a in arts})).items()}
    mine = [sid for sid in ids if sid in written_from]
    have = store.written_hashes(mine)
    # board posts linked to stories (■反応), never sources
    urls = store.story_urls(mine)
    posts = reactions.reactions_by_story(urls, store.reaction_rows(
        [extract.canonical_url(u) for u, _ in urls]))  # only threads naming these reports
    todo = []
    for sid in mine:
        arts = written_from[sid]
        earlier = [written_from[x] for x in earlier_of.get(sid, []) if x in written_from]
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


def summary(store: Store, page_count: Callable[[], int]) -> dict[str, int]:
    """The whole archive's counts (``matome demo``: a small store; each count reads a table)."""
    c = store.counts()
    return {"articles read": c["articles"], "duplicates dropped": c["duplicates"],
            "stories": c["stories"], "tags": c["tags"], "pages": page_count(),
            "rejected inputs": c["rejects"]}


def run_summary(store: Store, report: Report) -> dict[str, int]:
    """What one ``process`` run did, and the stories the site lists: read from the run's
    report and the site index's kept count, never counted over the archive (``summary``
    counted six tables and read every redirect: a second at a million articles, for a run
    with nothing new)."""
    from matome.store import site_index

    with store.read() as conn:
        listed = site_index.listing_size(conn, "i")
    return {"articles read": report.counts["extracted"],
            "duplicates dropped": report.counts["duplicates"],
            "written articles": report.counts["written"], "stories on the site": listed,
            "rejected inputs": report.counts["rejected"]}

"""The per-article stages of ``process``: extract and analyze, each item's work computed by an
engine's workers (``matome.tasks``) and stored here, in order, a batch to a transaction.

Each isolates its items (what one raises is its recorded reject, set aside until its input
changes) and walks only its queue; ``pipeline`` runs them, then the ordered stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from matome import extract, stories
from matome.batch import (
    FATAL,
    Engine,
    Local,
    Progress,
    Report,
    SetAside,
    checkpoint,
    chunked,
    isolated,
    queue,
    reject,
)
from matome.errors import RecordError
from matome.language import analyze, name_facts, reuse
from matome.records import Analysis, RawDoc, Thread, digest
from matome.settings import Settings
from matome.store import Store, ingest_state
from matome.store.articles import NewAnalysis, NewArticle
from matome.stories.runs import learn_names_once
from matome.tasks import Analyzed, Queued, analyzed, extracted
from matome.worker import ANALYZE_GROUP, EXTRACT_GROUP

__all__ = ["EXTRACT_CHUNK", "analyze_key", "extract_key", "extract_tasks", "run_analyze", "run_extract"]


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


def run_extract(store: Store, settings: Settings, progress: Progress, report: Report,
                engine: Engine | None = None) -> None:
    tag = extract.STAGE.tag
    queued = sorted(queue(store, "extract", extract_key(settings)), key=int)
    aside = SetAside(store, "extract", tag)
    progress.start("extract", len(queued))

    def todo() -> Iterator[list[tuple[int, RawDoc]]]:
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
            yield from extract_tasks(left)

    work = (engine or Local()).map(extracted, todo(), settings)
    done = 0
    chunk: list[tuple[NewArticle, Thread | None]] = []  # extracted, stored together
    for (raw_id, doc), outcome in ((x, o) for group, outs in work for x, o in zip(group, outs, strict=True)):
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


def extract_tasks(docs: list[tuple[int, RawDoc]], most: int = EXTRACT_GROUP, size: int = 200_000
                  ) -> Iterator[list[tuple[int, RawDoc]]]:
    """Raw documents in order, a few to a worker's task: up to ``most``, or fewer when they
    hold ``size`` bytes (a large page is a task's worth alone)."""
    group: list[tuple[int, RawDoc]] = []
    held = 0
    for item in docs:
        group.append(item)
        held += len(item[1].content)
        if len(group) >= most or held >= size:
            yield group
            group, held = [], 0
    if group:
        yield group


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


def run_analyze(store: Store, settings: Settings, progress: Progress, report: Report,
                engine: Engine | None = None) -> None:
    aliases, embedder = sorted(settings.aliases.items()), _embedder(settings)
    tag = analyze.STAGE.tag
    who = reuse.embedder(settings.embed)  # recorded with each vector: which build made it
    queued = queue(store, "analyze", analyze_key(settings))
    learn_names_once(store)
    aside = SetAside(store, "analyze", tag)
    progress.start("analyze", len(queued))
    batch = ANALYZE_GROUP

    sent: dict[tuple[str, str], str] = {}  # (input hash, language) -> the report analysed for it
    copies: list[Queued] = []  # exact copies of a report sent in this run

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
            mine = []
            for aid in todo:
                q = Queued(articles[aid], hashes[aid], priors.get(aid))
                if sent.setdefault((q.input_hash, q.article.lang), aid) == aid:
                    mine.append(q)
                else:
                    copies.append(q)
            yield from chunked(mine, batch)

    def guard(aid: str, h: str) -> Any:
        return isolated(store, report, progress, "analyze", aid, tag=tag, input_hash=h)

    def keep(work: Iterable[tuple[list[Queued], list[Analyzed]]]) -> None:
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
            store_made(group, [(q, r.analysis.get(), r.vector.get(), r.reused) for q, r in pairs
                               if r.vector is not None and r.vector.error is None])
            checkpoint("analyze", n)

    def store_made(group: list[Queued], made: list[tuple[Queued, Analysis, Any, bool]]) -> None:
        # the batch's analyses in one transaction (one each cost as much as a copy's analysis)
        store.put_analyses([NewAnalysis(q.article.id, an, vec, tag, q.input_hash, name_facts(an.mentions),
                                        reuse.embedded(q.article, an, who)) for q, an, vec, _ in made])
        for q, _, _, reused in made:
            aside.passed(q.article.id)
            report.counts["analyzed"] += 1
            report.counts["embeddings reused"] += reused
        store.dequeue("analyze", [q.article.id for q in group])  # stored, or rejected and set aside
        progress.advance(len(group))

    keep((engine or Local()).map(analyzed, groups(), settings, model=True))
    # An exact copy (same title, text, date and language: a syndicated story, a replicated
    # feed) takes the stored analysis of the report analysed for it in this run: an analysis
    # is a function of that input, so it is the one a worker would make again, without a
    # worker's time or a copy shipped back. A copy whose original failed is analysed itself.
    again: list[Queued] = []
    for chunk in chunked(copies, 256):
        first = {q.article.id: sent[(q.input_hash, q.article.lang)] for q in chunk}
        rows = store.analysis_rows(sorted(set(first.values())))
        ok: list[Queued] = []
        for q in chunk:
            (ok if rows.get(first[q.article.id]) == (tag, q.input_hash) else again).append(q)
        got = store.analyses(sorted({first[q.article.id] for q in ok}))
        for group in chunked(ok, 64):  # no worker's task here: stored 64 to a transaction
            store_made(group, [(q, *got[first[q.article.id]], False) for q in group])
    if again:
        keep((engine or Local()).map(analyzed, chunked(again, batch), settings, model=True))

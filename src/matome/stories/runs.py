"""The story stages as they run over the store: dedupe, story assignment, tags.

Each takes its items from its queue (``batch.queue``) and handles each one
isolated (``batch.isolated``). Story assignment must see reports in order,
against the stories active in the window: one writer, its state restored
from the last run (``window``). Names are resolved with what every analysed
article taught the store (``name_facts``), kept as each analysis is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from matome.batch import FATAL, Progress, Report, SetAside, checkpoint, chunked, isolated, queue
from matome.language import Resolver, analyze, fold, name_facts, resolver_from_facts
from matome.records import Analysis, Article, DedupeRow, digest
from matome.settings import Settings
from matome.store import Store
from matome.stories import cluster, dedupe, tags, window
from matome.stories.days import Partial, day_gap, read_days
from matome.stories.members import in_order, reports, story_articles


def gazetteer(settings: Settings) -> Any:
    return analyze.gazetteer_for(settings.aliases)


NAMES_KEY = "names/1"


def learn_names_once(store: Store) -> None:
    """A store made before names were kept learns them from its analyses, once."""
    if store.stage_key("names") == NAMES_KEY:
        return
    for chunk in chunked(sorted(store.analysis_hashes()), 500):
        store.learn_names(f for an, _ in store.analyses(chunk).values() for f in name_facts(an.mentions))
    store.set_stage_key("names", NAMES_KEY)


def dedupe_key(settings: Settings) -> str:
    """What the dedupe queue is filled under: its code version and settings."""
    return digest(dedupe.STAGE.tag, settings.dedupe)


def tags_key(settings: Settings) -> str:
    """What the tags queue is filled under: its code version, the tag settings, themes and
    aliases."""
    return digest(tags.STAGE.tag, settings.tags, settings.themes, settings.aliases)


def run_dedupe(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    cfg, tag = settings.dedupe, dedupe.STAGE.tag
    queued = queue(store, "dedupe", dedupe_key(settings))
    aside = SetAside(store, "dedupe", tag)
    # What is done already is found a chunk at a time, and only what is left is read whole:
    # a new analysis queues every report again, and reading every text at once was GBs.
    hashes: dict[str, str] = {}
    articles: list[Article] = []
    for chunk in chunked(queued, 2000):
        arts = reports(store.reports_of(chunk))
        mine = {a.id: dedupe.text_hash(a.text) for a in arts}
        stored = store.dedupe_stage_rows(list(mine))
        left = {aid: h for aid, h in mine.items() if stored.get(aid) != (tag, h) and not aside.holds(aid, h)}
        store.dequeue("dedupe", [i for i in chunk if i not in left])  # not reports, or done
        hashes.update(left)
        articles += [a for a in arts if a.id in left]
    todo = set(hashes)
    articles = in_order(articles)
    progress.start("dedupe", len(todo))
    if not todo:
        return
    # Near copies are looked for among the kept reports of the window around what is new;
    # exact copies among all, by the indexed hash of their text.
    deduper = dedupe.Deduper(cfg)
    dated = [a.published for a in articles if a.id in todo and a.published]
    start = min(dated) if dated else store.newest_member()
    since = _naive_utc(start) - timedelta(days=cfg.window_days) if start else None
    for r in store.dedupe_window(since):
        if r.article_id not in todo:
            deduper.remember(r.article_id, r.text_hash, dedupe.signature(r.minhash), None)
    judged: list[tuple[str, DedupeRow | None]] = []  # (article, its row; None: rejected)
    n = 0
    for a in articles:
        if a.id not in todo:
            continue
        row = None
        with isolated(store, report, progress, "dedupe", a.id, tag=tag, input_hash=hashes[a.id]):
            if hashes[a.id] not in deduper.by_hash:
                original = store.original_with_hash(hashes[a.id], a.id)
                if original is not None and original not in todo:
                    deduper.by_hash[hashes[a.id]] = original
            v = deduper.judge(a)
            deduper.remember(a.id, v.text_hash, v.minhash.hashvalues, v.duplicate_of)
            row = DedupeRow(a.id, v.text_hash, dedupe.minhash_bytes(v.minhash), v.duplicate_of,
                            v.kind, v.similarity, tag, hashes[a.id])
        judged.append((a.id, row))
        if len(judged) == 64:
            n = _store_judged(store, report, progress, aside, judged, n)
            judged = []
    _store_judged(store, report, progress, aside, judged, n)


def _store_judged(store: Store, report: Report, progress: Progress, aside: SetAside,
                  judged: list[tuple[str, DedupeRow | None]], n: int) -> int:
    """Dedupe rows stored in one transaction (one at a time, each failure its own reject,
    when the batch fails: a transaction an article costs more than judging it); returns ``n``
    plus the batch (the kill test's count)."""
    rows = [r for _, r in judged if r is not None]
    try:
        store.put_dedupe(rows)
        kept = rows
    except FATAL:
        raise
    except Exception:  # one row trips the store: each alone, so only it is rejected
        kept = []
        for r in rows:
            with isolated(store, report, progress, "dedupe", r.article_id, tag=r.stage,
                          input_hash=r.input_hash):
                store.put_dedupe([r])
                kept.append(r)
    for r in kept:
        aside.passed(r.article_id)
        report.counts["duplicates"] += r.duplicate_of is not None
    store.dequeue("dedupe", [aid for aid, _ in judged])
    for _ in judged:
        n += 1
        progress.advance()
        checkpoint("dedupe", n)
    return n


def _naive_utc(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def resolver(store: Store, settings: Settings, analyses: dict[str, Any] | None = None) -> Resolver:
    """Canonical names from what the stored articles define (aliases, Latin forms), as the
    analyze stage keeps them (``name_facts``). ``analyses`` is not read: the store has them."""
    learn_names_once(store)
    return resolver_from_facts(gazetteer(settings), settings.aliases, store.name_facts())


def resolver_for(settings: Settings, analyses: list[Analysis]) -> Resolver:
    """The same resolver from analyses in hand (benches and tests without a store)."""
    facts = [f for an in analyses for f in name_facts(an.mentions)]
    return resolver_from_facts(gazetteer(settings), settings.aliases, facts)


def featurer(store: Store, res: Resolver) -> window.Features:
    """Features of a batch of reports; one whose features fail is left out (the assignment
    loop asks for it alone, isolated, so its failure is its own recorded reject)."""
    def feats(arts: list[Article]) -> dict[str, cluster.Features]:
        got = store.analyses([a.id for a in arts])
        out = {}
        for a in arts:
            if a.id in got:
                try:
                    out[a.id] = cluster.features(a, *got[a.id], res.resolve(got[a.id][0].mentions))
                except Exception:
                    continue
        return out
    return feats


def _features(store: Store, res: Resolver, a: Article) -> cluster.Features:
    an, vec = store.analyses([a.id])[a.id]
    return cluster.features(a, an, vec, res.resolve(an.mentions))


def cluster_inputs(store: Store, settings: Settings) -> tuple[
        list[Article], dict[str, Any], dict[str, str | None], Callable[[Article], cluster.Features]]:
    """What clustering reads, over the whole store (for benches): the reports in the order they
    are assigned, their analyses, each one's original when it is a copy (None: an original),
    and how a report becomes features."""
    articles = grouping_order(store, in_order(reports(store.articles())), settings)
    analyses = store.analyses()
    dup_of = {r.article_id: r.duplicate_of for r in store.dedupe_rows()}
    res = resolver(store, settings)

    def feats(a: Article) -> cluster.Features:
        an, vec = analyses[a.id]
        return cluster.features(a, an, vec, res.resolve(an.mentions))
    return articles, analyses, dup_of, feats


def grouping_order(store: Store, articles: list[Article], settings: Settings) -> list[Article]:
    """The order reports are grouped in: oldest first, each undated report placed where it
    belongs among the dated ones.

    Undated reports (feed summaries, pasted lists, a backfill of pages without dates) all came
    last: by then the events of weeks before had left the join window, so each such report
    started a story of its own beside its event's (bench/real_eval.py, fold 1). Now one whose
    lead names a full day (「2025年10月30日の決定会合で…」) comes at the end of that day; one
    that names none comes right after the dated report of this batch it is most like, among
    those published on a day its partial days fit (「23日」: a 23rd, a day either side for time
    zones). One like no dated report still comes last.
    """
    undated = [a.id for a in articles if a.published is None]
    if not undated:
        return articles
    tz = ZoneInfo(settings.extract.default_timezone)
    when: dict[str, datetime] = {}
    unplaced: dict[str, tuple[np.ndarray, list[Partial]]] = {}
    for chunk in chunked(undated, 500):
        for aid, (an, vec) in store.analyses(chunk).items():
            full, partial = read_days(an.event_days)
            if full:
                when[aid] = datetime.combine(max(full), time(23, 59, 59), tz)
            else:
                unplaced[aid] = (vec, sorted(partial))
    if unplaced:
        when.update(_beside_nearest(store, [a for a in articles if a.published], unplaced, tz,
                                    settings.cluster.embedding_floor))

    def key(a: Article) -> tuple[bool, float, str]:
        at = a.published or when.get(a.id)
        return at is None, at.timestamp() if at else 0.0, a.id
    return sorted(articles, key=key)


def _beside_nearest(store: Store, dated: list[Article], unplaced: dict[str, tuple[np.ndarray, list[Partial]]],
                    tz: ZoneInfo, floor: float) -> dict[str, datetime]:
    """Each undated report's place: just after the dated report it is most like (cosine at least
    ``floor``) whose day fits its partial days.

    Dated embeddings are read a chunk at a time and compared with the undated reports a block
    at a time, so memory stays a few MB whatever the batch; the cost is one product per pair,
    small beside grouping itself unless a batch holds tens of thousands of undated reports.
    """
    ids = sorted(unplaced)
    query = np.stack([unplaced[i][0] for i in ids])
    partial = [unplaced[i][1] for i in ids]
    best = np.full(len(ids), floor)
    at: list[datetime | None] = [None] * len(ids)
    for chunk in chunked(dated, 2000):
        vecs = store.embeddings([a.id for a in chunk])
        near = [a for a in chunk if a.id in vecs and a.published]
        if not near:
            continue
        matrix = np.stack([vecs[a.id] for a in near]).T
        days = [a.published.astimezone(tz).date() for a in near if a.published]
        for lo in range(0, len(ids), 1000):
            sims = query[lo:lo + 1000] @ matrix
            for row in range(sims.shape[0]):
                if partial[lo + row]:
                    fits = [min(day_gap(p, d) for p in partial[lo + row]) <= 1 for d in days]
                    sims[row, ~np.array(fits)] = -np.inf
            cols = np.argmax(sims, axis=1)
            top = sims[np.arange(len(cols)), cols]
            for better in np.flatnonzero(top > best[lo:lo + len(cols)]):
                best[lo + better], at[lo + better] = top[better], near[int(cols[better])].published
    return {aid: t + timedelta(milliseconds=1) for aid, t in zip(ids, at, strict=True) if t is not None}


def run_cluster(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    tag = cluster.STAGE.tag
    if store.stage_key("cluster") != tag:
        if any(s != tag for s in store.membership_stages()):
            store.reset_stories()  # another version grouped these: regroup from scratch
        store.requeue_all("cluster")
        store.set_stage_key("cluster", tag)
    if store.queued("stories"):  # a report was re-extracted out of its story
        store.drop_empty_stories()
        store.dequeue("stories", ["check-empty"])
    queued = store.queued("cluster")
    # Placed reports, and those not deduplicated yet, are told by their ids alone: a new
    # analysis queues every report again, and reading every text to dequeue it was GBs.
    placed = store.story_of(queued)
    deduped = store.dedupe_rows_for([i for i in queued if i not in placed])
    left = [i for i in queued if i not in placed and i in deduped]
    articles = grouping_order(store, in_order(reports(store.reports_of(left))), settings)
    dup_of = {a.id: deduped[a.id].duplicate_of for a in articles}
    store.dequeue("cluster", [i for i in queued if i not in dup_of])  # placed, not ready, not reports
    aside = SetAside(store, "cluster", tag)
    rows = store.analysis_rows([a.id for a in articles])
    hashes = {a.id: rows[a.id][1] if a.id in rows else None for a in articles}
    # (placed reports are not among ``articles``: they were dequeued above)
    pending = [a for a in articles if dup_of[a.id] is None and a.id in rows
               and not aside.holds(a.id, hashes[a.id])]
    progress.start("cluster", len(pending))
    if not pending and not any(dup_of.values()):  # nothing to place, no copy to join
        _prepare_window(store, settings)
        return
    res = resolver(store, settings)
    feats_of = featurer(store, res)
    clusterer, restored = window.restore(store, settings.cluster, feats_of)
    seq, n = store.max_seq(), 0
    for chunk in chunked(pending, 200):
        feats = feats_of(chunk)
        for a in chunk:
            got = None
            with isolated(store, report, progress, "cluster", a.id, tag=tag, input_hash=hashes[a.id]):
                got = clusterer.assign(feats[a.id] if a.id in feats else _features(store, res, a))
            if got is None:  # the failed assignment may have left the state half-changed
                store.dequeue("cluster", [a.id])  # rejected and set aside
                clusterer = window.rebuild(store, settings.cluster, feats_of)
                progress.advance()
                continue
            aside.passed(a.id)
            seq += 1
            store.put_membership(a.id, got.story, "member", seq, got.evidence, tag,
                                 new_story=got.new, storyline=got.storyline, follows=got.follows,
                                 merged=got.merged, split=_split_row(clusterer, got),
                                 relinked=got.relinked)
            checkpoint("placed", n + 1)
            # after it is placed: a run killed between the two finds it placed and dequeues it
            # then; dequeued first, a kill there lost the report (it was in no story, ever)
            store.dequeue("cluster", [a.id])
            if len(clusterer.stories[got.story].members) >= settings.cluster.max_story_articles:
                store.flag_story(got.story, "capped")  # later reports of it start a new story
            n += 1
            progress.advance()
            checkpoint("cluster", n)
    # Saved once, at the end: a snapshot counts only if it holds the last report placed
    # (``window._fits``), so one saved part-way is of no use to a run killed later (that
    # rebuilds the window), and at 100k stored articles each save was a 44 MB pickle
    if n or not restored:  # copies only: the rebuilt state is kept all the same
        window.save(store, settings.cluster, clusterer)
        checkpoint("snapshot", 1)
    _place_copies(store, [a for a in articles if dup_of.get(a.id)], dup_of, seq)
    store.resolve_pending_redirects(store.story_of(store.pending_seeds()))


def _prepare_window(store: Store, settings: Settings) -> None:
    """A run with nothing to place saves the window's state when no current snapshot holds it
    (a run killed before saving, new settings, an archive loaded from elsewhere): the next
    run with news then restores it instead of replaying the window. It is what that run's
    rebuild would make, so nothing placed changes."""
    if window.current(store, settings.cluster) or store.max_seq("member") == 0:
        return  # the common case first: one read of the last membership
    res = resolver(store, settings)
    window.save(store, settings.cluster, window.rebuild(store, settings.cluster, featurer(store, res)))


def _place_copies(store: Store, copies: list[Article], dup_of: dict[str, str | None], seq: int) -> None:
    """Copies join their original's story, stored together; one whose original has no story
    yet stays queued."""
    placed: list[tuple[str, str, int, dict[str, Any]]] = []
    roots: dict[str, str] = {}  # copy -> the original at the end of its chain
    for a in copies:
        root, seen = a.id, {a.id}
        while (up := dup_of.get(root)) and up not in seen:
            seen.add(up)
            if up not in dup_of:
                dup_of.update({k: r.duplicate_of for k, r in store.dedupe_rows_for([up]).items()})
            root = up
        if root != a.id:
            roots[a.id] = root
    story_of = store.story_of(sorted(set(roots.values())))  # one read for all, not one a copy
    for a in copies:
        story = story_of.get(roots[a.id]) if a.id in roots else None
        if story is not None:
            seq += 1
            placed.append((a.id, story, seq, {"duplicate_of": dup_of[a.id]}))
    if placed:
        store.put_copies(placed, cluster.STAGE.tag)
        store.dequeue("cluster", [aid for aid, _, _, _ in placed])



def _split_row(clusterer: cluster.Clusterer,
               got: cluster.Assignment) -> tuple[str, list[str], str | None, str] | None:
    """What the store records of a split: the cut-out story, its articles, storyline, origin."""
    if got.split is None:
        return None
    new, moved, origin = got.split
    return new, moved, clusterer.storyline_of.get(new), origin



def run_tags(store: Store, settings: Settings, progress: Progress, report: Report) -> None:
    """Tags of the stories that changed; each tag's name from sums the store keeps (``TagStore``)."""
    key = tags_key(settings)
    full = store.stage_key("tags") != key
    if full:  # every story is tagged again below: the sums start from nothing
        store.clear_tag_sums()
    queued = sorted(queue(store, "tags", key))
    progress.start("tags", len(queued))
    if not queued:
        return
    res = resolver(store, settings)
    themed = tags.theme_keys(settings.themes, lambda n: res.key(fold(n)))
    theme_names = {n for t in settings.themes for n in (t.name, t.parent) if n}
    for chunk in chunked(queued, 200):
        members = store.memberships_of(chunk)
        written_from, _ = story_articles(
            members, reports(store.reports_of([m.article_id for m in members])))
        mentions = {aid: res.resolve(an.mentions) for aid, (an, _) in store.analyses(
            sorted({a.id for arts in written_from.values() for a in arts})).items()}
        per_story: dict[str, list[tuple[str, float]]] = {}
        parts: dict[str, Any] = {}
        for sid in chunk:
            per_story[sid] = []
            with isolated(store, report, progress, "tags", sid):
                if sid in written_from:
                    got = tags.tag_story(written_from[sid], mentions, settings.tags, settings.themes,
                                         themed)
                    per_story[sid] = got.tags
                    parts[sid] = {k: {"n": got.names[k], "k": got.kinds[k], "s": got.surfaces[k]}
                                  for k in got.names}
        old = store.tag_parts(chunk)
        keys = sorted({k for p in [*parts.values(), *old.values()] for k in p}
                      | {fold(n) for n in theme_names})
        totals = store.tag_totals(keys)
        for sign, source in ((1, parts), (-1, old)):
            for by_key in source.values():
                for k, fields in by_key.items():
                    for f, c in fields.items():
                        for v, n in c.items():
                            totals.setdefault(k, {}).setdefault(f, Counter())[v] += sign * n
        ids = sorted({tags.tag_id(k) for k in keys} | {tags.theme_id(n) for n in theme_names})
        use = store.tag_use(ids)
        for old_ids in store.story_tag_ids(chunk).values():
            use.subtract(old_ids)
        use.update(tid for lst in per_story.values() for tid, _ in lst)
        entities = {tags.tag_id(k): tags.entity_tag(k, +totals[k]["n"], +totals[k]["k"],
                                                    +totals[k].get("s", Counter()))
                    for k in keys if use[tags.tag_id(k)] > 0 and +totals.get(k, {}).get("k", Counter())}
        rows = list(entities.values()) + [
            g for g in tags.theme_tags(settings.themes, partial(_used, use), entities.get)
            if g.id not in entities]
        kept = {g.id for g in rows}
        store.retag_stories(per_story, parts, old, rows, [i for i in ids if i not in kept])
        store.dequeue("tags", chunk)
        progress.advance(len(chunk))
    if full:
        store.drop_unused_tags()


def _used(use: Counter[str], tid: str) -> bool:
    return use[tid] > 0

"""Cluster stage: group reports about the same event into stories, online.

Each new article, taken in publication order, joins the best-scoring story
active within the time window, or starts a new one. The score combines
evidence that works for Japanese news (weights and threshold in settings):

- e5 embedding similarity of the article's title and lead to the story's
  centroid (cross-lingual: an English report lands near Japanese ones);
- overlap of Sudachi content lemmas (title and lead);
- overlap of canonical entities (spelling variants already folded);
- a penalty when both name different event days — two G7 meetings a week
  apart share every actor but not the day. An undated report's day is the
  part its text names (「８日」: day 8 of an unknown month), compared with
  what the other side knows: a story's full dates, or another partial day.
  It stays partial among dated reports too: read as the last such day
  before the newest dated report, 「30日」 and 「10月30日」 of one decision
  became two days months apart in a stream of mostly undated reports.
  A report naming no day is news of its publication day or the day before:
  published two days or more after every day a story names, it weighs
  against that story (a rebuttal three days after the incident it answers).

Order and scoring are deterministic, so an interrupted run that resumes
makes the same stories as one that never stopped. Story ids come from the
seed article, so they stay stable as late reports join. Storylines — the
stories of one developing situation — are kept in ``matome.storylines``.
"""

from __future__ import annotations

import hashlib
import heapq
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from matome.records import Analysis, Article, Mention, Stage
from matome.settings import ClusterSettings
from matome.stories.days import Partial, day_gap, read_days, top_days
from matome.stories.members import storyline_id
from matome.stories.storylines import Profile, Relink, Storylines
from matome.stories.storylines import unit as _unit

STAGE = Stage("cluster", 11)
# Entities so common in Japanese news that sharing them says nothing.
COMMON_ENTITIES = frozenset({"日本", "政府"})


def story_id(seed_article_id: str) -> str:
    return "s" + hashlib.sha1(seed_article_id.encode()).hexdigest()[:10]


@dataclass
class Features:
    """What clustering compares, for one article."""

    article_id: str
    lang: str
    published: datetime | None
    embedding: np.ndarray
    lemmas: frozenset[str]
    entities: frozenset[str]
    event_days: frozenset[date]
    # days named without a month or year by an undated report: (month or 0, day of month)
    partial_days: frozenset[Partial] = frozenset()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # loaded from a snapshot: its words interned again, as ``features`` made them
        # (``window._counter`` says why)
        state["lemmas"] = frozenset(map(sys.intern, state["lemmas"]))
        state["entities"] = frozenset(map(sys.intern, state["entities"]))
        self.__dict__.update(state)


def features(article: Article, analysis: Analysis, embedding: np.ndarray,
             mentions: list[Mention]) -> Features:
    # Interned: each report's analysis is parsed into strings of its own, and the window's
    # stories and storylines count the same lemmas and entity keys in Counters by the
    # hundred thousand; one object per word, not one per report naming it (the strings
    # were most of the objects of the saved state: 182k of 278k at 10k stored articles).
    lemmas = frozenset(map(sys.intern, analysis.head_lemmas))
    ents = frozenset(sys.intern(m.key) for m in mentions if m.name not in COMMON_ENTITIES)
    days, partial = read_days(analysis.event_days)
    return Features(article.id, article.lang, article.published, embedding, lemmas, ents, days,
                    partial)


@dataclass
class StoryState:
    id: str
    members: list[str] = field(default_factory=list)
    lang_counts: Counter[str] = field(default_factory=Counter)  # members in each language
    embedding_sum: np.ndarray | None = None
    lemmas: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)
    day_counts: Counter[date] = field(default_factory=Counter)
    partial_counts: Counter[Partial] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    feats: list[Features] = field(default_factory=list)  # kept while active, to split

    def add(self, f: Features) -> None:
        self.feats.append(f)
        self.members.append(f.article_id)
        self.lang_counts[f.lang] += 1
        self.embedding_sum = f.embedding.copy() if self.embedding_sum is None \
            else self.embedding_sum + f.embedding
        self.lemmas.update(f.lemmas)
        self.entities.update(f.entities)
        self.day_counts.update(f.event_days)
        self.partial_counts.update(f.partial_days)
        if f.published:
            self.first = min(self.first or f.published, f.published)
            self.last = max(self.last or f.published, f.published)

    @property
    def langs(self) -> set[str]:
        return set(self.lang_counts)

    @property
    def event_days(self) -> set[date]:
        """The days most of its reports name: one stray report does not move the event."""
        return top_days(self.day_counts)

    @property
    def days(self) -> set[date | Partial]:
        """Its event days, full and partial, for comparing with a report's.

        A partial day that fits one of the story's full dates counts for that
        date, so 「28日」 in one report and 2025-10-30 in three others do not
        both stand as the story's day: the majority does.
        """
        counts: Counter[date | Partial] = Counter(self.day_counts)
        for p, c in self.partial_counts.items():
            fit = next((d for d in self.day_counts if day_gap(p, d) == 0), None)
            counts[fit if fit is not None else p] += c
        return top_days(counts)

    def centroid(self) -> np.ndarray:
        assert self.embedding_sum is not None
        return _unit(self.embedding_sum)

    def absorb(self, other: StoryState) -> None:
        """Take in every report of ``other`` (a merge), as if each had been added here."""
        self.feats.extend(other.feats)
        self.members.extend(other.members)
        self.lang_counts.update(other.lang_counts)
        if other.embedding_sum is not None:
            self.embedding_sum = other.embedding_sum if self.embedding_sum is None \
                else self.embedding_sum + other.embedding_sum
        self.lemmas.update(other.lemmas)
        self.entities.update(other.entities)
        self.day_counts.update(other.day_counts)
        self.partial_counts.update(other.partial_counts)
        for t in (other.first, other.last):
            if t is not None:
                self.first = min(self.first or t, t)
                self.last = max(self.last or t, t)


def _overlap(a: frozenset[str], b: Counter[str], reports: int = 0, least: int = 1) -> float:
    """Share of the smaller side's entities that the other side also names.

    A Japanese key that begins another (早瀬 / 早瀬透, 凪野セミコン /
    凪野セミコンダクター) counts as shared: short forms name the same thing
    within one event, and story-level resolution is not there yet.

    Given the story's ``reports``, a key counts in full only when at least
    half of them name it, and in proportion below that: the union of a big
    story's names and words covers most of any report on a nearby topic, so
    plain containment made big stories pull in their neighbours.

    ``least`` is the fewest names the smaller side is taken to have: one name
    shared proves little when it is all a side names (東京都 in a flu warning,
    東京 in a minister's talks).
    """
    if not a or not b:
        return 0.0
    if reports > 1:
        shared: float = sum(min(1.0, 2 * b[k] / reports) for k in a if k in b)
    else:
        shared = len(a & b.keys())
    missing = [k for k in a - b.keys() if len(k) >= 2 and not k.isascii()]
    if missing:
        # k begins a key of b when it is one of their prefixes; a key of b begins k when one
        # of k's prefixes is a key. Set lookups, not every key of b against every k: the
        # pairwise scan was most of story assignment (a big story names hundreds of lemmas).
        begun = {o[:i] for o in b if len(o) >= 2 and not o.isascii() for i in range(2, len(o) + 1)}
        for k in missing:
            if k in begun or any(k[:i] in b and not k[:i].isascii() for i in range(2, len(k))):
                shared += 1
    return min(1.0, shared / max(min(len(a), len(b)), least))


def rescaled(cos: float, same_language: float, cfg: ClusterSettings) -> float:
    """An e5 cosine mapped onto 0..1 from the floor up (e5 cosines bunch near 1).

    e5 places a translation lower than a Japanese paraphrase (same event:
    ~0.83-0.85 across languages against ~0.88-0.97 within Japanese), so a
    comparison across languages is measured from its own floor.
    ``same_language``: the share of the other side in this side's language (a
    mixed story's centroid is partly a translation); the floor is between.
    """
    floor = same_language * cfg.embedding_floor + (1.0 - same_language) * cfg.cross_lingual_floor
    return max(0.0, (cos - floor) / (1.0 - floor))


def kinship(cos: float, same_language: bool, ents: float, cfg: ClusterSettings) -> float:
    """Half embedding, half entities: how merges judge two stories' relatedness."""
    return 0.5 * rescaled(cos, same_language, cfg) + 0.5 * ents


def score(f: Features, s: StoryState, cfg: ClusterSettings) -> dict[str, float]:
    cos = float(f.embedding @ s.centroid())
    # The story's reports in the report's own language: only they can share its words, and
    # only their part of the centroid is a same-language comparison. A story of six Japanese
    # reports and one English one is, to the next English report, mostly a translation: its
    # cosine was judged from the same-language floor and its words against all seven reports,
    # and a real follow-up (an English report of the ambassador summoned over a radar
    # lock-on) stayed out of its event. A story in one language scores as before.
    alike = s.lang_counts[f.lang]
    share = alike / len(s.members) if s.members else 1.0
    emb = rescaled(cos, share, cfg)
    ent = _overlap(f.entities, s.entities, len(s.members))
    weights = cfg.weight_embedding + cfg.weight_lexical + cfg.weight_entities
    # Lemmas of two languages cannot overlap: what the other-language reports would say of the
    # words is missing, not negative, so the other two carry that part of the score.
    lex = _overlap(f.lemmas, s.lemmas, alike) if alike else 0.0
    lexical_weight = cfg.weight_lexical * share
    scale = weights / (weights - cfg.weight_lexical + lexical_weight)
    penalty = bonus = 0.0
    mine, theirs = f.event_days | f.partial_days, s.days
    if mine and theirs:
        gaps = [day_gap(a, b) for a in mine for b in theirs]
        if min(gaps) == 0:
            bonus = cfg.event_day_bonus  # both name the same day: strong evidence of one event
        elif min(gaps) > 1:
            penalty = cfg.event_day_penalty
        else:   # a day apart: a time zone (米東部時間5日 is 日本時間6日), or the next day's look-alike
            penalty = cfg.event_day_near_penalty
    elif theirs and f.published is not None and _told_later(f.published.date(), theirs):
        penalty = cfg.late_report_penalty
    total = scale * (cfg.weight_embedding * emb + lexical_weight * lex
                     + cfg.weight_entities * ent) + bonus - penalty
    return {"cosine": round(cos, 4), "embedding": round(emb, 4), "lexical": round(lex, 4),
            "entities": round(ent, 4), "day_bonus": bonus, "day_penalty": penalty,
            "score": round(total, 4)}


def _told_later(published: date, days: set[date | Partial]) -> bool:
    """A report naming no day tells what happened on its day or the day before: published two
    days or more after every day the story names, it is most likely another happening of the
    same actors (a rebuttal three days after the incident it answers). A preview, published
    before the day, is not."""
    def before(d: date | Partial) -> bool:
        gap = day_gap(published, d)  # to the nearest day it can be, either side
        if gap <= 1:
            return False
        if isinstance(d, date):
            return d < published
        return day_gap(published - timedelta(days=gap), d) == 0  # that nearest day is before

    return all(before(d) for d in days)


@dataclass
class Assignment:
    """Where one article went, and why."""

    story: str
    evidence: dict[str, float]
    new: bool
    storyline: str | None = None   # set for a new story: the storyline it continues or starts
    follows: str | None = None     # the earlier story it develops (続報), if any
    merged: str | None = None      # a story that proved to be this one and was folded into it
    split: tuple[str, list[str], str] | None = None  # (new story, its articles, cut from)
    # storylines that proved one situation: (gone, kept), every story of gone now in kept
    relinked: list[Relink] = field(default_factory=list)


class Clusterer:
    """Online assignment, with cost bounded by the news rate, not the archive.

    Only stories active within ``window_days`` of the newest article seen
    are kept; older ones leave memory (they stay in the store). Candidates
    for an article are the ``candidates`` nearest active stories by e5
    cosine plus those sharing a canonical entity (an inverted index), so an
    archive of years costs what one week costs. Storylines outlive their
    stories' join window by ``storyline_days``, in ``self.lines``.
    """

    def __init__(self, cfg: ClusterSettings) -> None:
        self.cfg = cfg
        self.stories: dict[str, StoryState] = {}
        self.lines = Storylines(cfg)
        self._by_entity: dict[str, set[str]] = {}
        self._expiry: list[tuple[datetime, str]] = []
        self.watermark: datetime | None = None
        # Active centroids, one row per story, updated in place as stories
        # grow: the vector search over the window is one matrix product.
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._live = np.zeros(0, dtype=bool)
        self._slot: dict[str, int] = {}
        self._slot_story: list[str] = []
        self._free: list[int] = []

    @property
    def storyline_of(self) -> dict[str, str]:
        """The storyline of each story in the join window."""
        return self.lines.line_of

    # --- state ------------------------------------------------------------

    def restore(self, story: str, f: Features, storyline: str | None = None) -> None:
        self._advance(f.published)
        state = self.stories.get(story)
        if state is None:
            state = self.stories[story] = StoryState(story)
        self._add(state, f)
        self.lines.restore(story, _report(f), f.published, storyline or storyline_id(story))

    def _add(self, state: StoryState, f: Features) -> None:
        state.add(f)
        for k in f.entities:
            self._by_entity.setdefault(k, set()).add(state.id)
        if state.last is not None:
            heapq.heappush(self._expiry, (state.last, state.id))
        self._place(state)

    def _place(self, state: StoryState) -> None:
        """Write the story's centroid into its row of the active matrix."""
        centroid = state.centroid().astype(np.float32)
        slot = self._slot.get(state.id)
        if slot is None:
            if not self._free:
                self._grow(centroid.shape[0])
            slot = self._free.pop()
            self._slot[state.id] = slot
            self._slot_story[slot] = state.id
        self._matrix[slot] = centroid
        self._live[slot] = len(state.members) < self.cfg.max_story_articles

    def _grow(self, dim: int) -> None:
        old = self._matrix.shape[0]
        new = max(64, old * 2)
        matrix = np.zeros((new, dim), dtype=np.float32)
        matrix[:old] = self._matrix if old else matrix[:0]
        live = np.zeros(new, dtype=bool)
        live[:old] = self._live
        self._matrix, self._live = matrix, live
        self._slot_story += [""] * (new - old)
        self._free += list(range(new - 1, old - 1, -1))

    def _advance(self, published: datetime | None) -> None:
        """Move the watermark forward and let stories past the window go."""
        if published is None or (self.watermark is not None and published <= self.watermark):
            return
        self.watermark = published
        horizon = published - timedelta(days=self.cfg.window_days)
        while self._expiry and self._expiry[0][0] < horizon:
            last, sid = heapq.heappop(self._expiry)
            state = self.stories.get(sid)
            if state is None or (state.last is not None and state.last > last):
                continue  # a stale heap entry: the story grew since
            self._retire(state)
        self.lines.advance(published)

    def _retire(self, state: StoryState) -> None:
        del self.stories[state.id]
        # its storyline lives on in self.lines; the story's own entry would
        # only make memory grow with the archive
        self.lines.retire(state.id)
        slot = self._slot.pop(state.id, None)
        if slot is not None:
            self._live[slot] = False
            self._slot_story[slot] = ""
            self._free.append(slot)
        for k in state.entities:
            ids = self._by_entity.get(k)
            if ids is not None:
                ids.discard(state.id)
                if not ids:
                    del self._by_entity[k]

    # --- assignment -------------------------------------------------------

    def _candidates(self, f: Features) -> list[StoryState]:
        n_live = int(self._live.sum())
        if n_live == 0:
            return []
        if n_live <= self.cfg.candidates:
            chosen = {self._slot_story[int(i)] for i in np.flatnonzero(self._live)}
        else:
            sims = self._matrix @ f.embedding.astype(np.float32)
            sims[~self._live] = -np.inf
            top = np.argpartition(-sims, self.cfg.candidates - 1)[: self.cfg.candidates]
            chosen = {self._slot_story[int(i)] for i in top}
        # The inverted index adds stories that share a rare entity; a common
        # one (on hundreds of live stories) says too little to be worth it.
        for k in f.entities:
            ids = self._by_entity.get(k, ())
            if len(ids) <= self.cfg.candidates:
                chosen.update(ids)
        return [self.stories[i] for i in sorted(chosen)
                if i in self.stories and len(self.stories[i].members) < self.cfg.max_story_articles]

    def _in_window(self, f: Features, s: StoryState) -> bool:
        if not (f.published and s.first and s.last):
            return True
        window = timedelta(days=self.cfg.window_days)
        return s.first - window <= f.published <= s.last + window

    def assign(self, f: Features) -> Assignment:
        """Join the best story within the window, or start one; updates the state."""
        self._advance(f.published)
        joined: list[tuple[float, str, StoryState, dict[str, float]]] = []
        for s in self._candidates(f):
            if not self._in_window(f, s):
                continue
            ev = score(f, s, self.cfg)
            if ev["score"] >= self.cfg.threshold:
                joined.append((-ev["score"], s.id, s, ev))
        joined.sort(key=lambda j: (j[0], j[1]))
        if joined:
            best, best_ev = joined[0][2], joined[0][3]
            merged, relinked = None, list[Relink]()
            if len(joined) > 1 and self._same_event(best, joined[1][2]):
                merged, relinked = self._merge(joined[1][2], into=best)
            self._add(best, f)
            self.lines.grow(best.id, _report(f), f.published, storyline_id(best.id))
            cut = self._maybe_split(best)
            story = cut[0] if cut is not None and f.article_id in cut[1] else best.id
            split = (cut[0], cut[1], best.id) if cut is not None else None
            # the grown story is better evidence of its storyline than its first report was
            grown = self.stories[story]
            relinked += self.lines.recheck(story, _profile(grown), grown.last)
            return Assignment(story, best_ev, False, merged=merged, split=split, relinked=relinked)
        sid = story_id(f.article_id)
        state = self.stories[sid] = StoryState(sid)
        self._add(state, f)
        storyline, follows, why = self.lines.start(sid, _profile(state), f.published,
                                                   storyline_id(sid))
        return Assignment(sid, {"score": 1.0, "seed": 1.0, **why}, True, storyline, follows)

    def _same_event(self, a: StoryState, b: StoryState) -> bool:
        """Whether two stories an article fits both are one event told twice.

        Happens when the first reports of an event were worded too
        differently to meet, and a later report bridges them. Judged on the
        stories themselves, as one story's centroid against the other's.
        """
        if not (a.embedding_sum is not None and b.embedding_sum is not None):
            return False
        days_a, days_b = a.days, b.days
        if days_a and days_b and min(day_gap(x, y) for x in days_a for y in days_b) > 0:
            return False
        cos = float(a.centroid() @ b.centroid())
        # two whole stories that name one thing between them are not shown one event by it
        ent = _overlap(frozenset(a.entities), b.entities, least=2)
        return kinship(cos, bool(a.langs & b.langs), ent, self.cfg) >= self.cfg.merge_threshold

    def _merge(self, gone: StoryState, into: StoryState) -> tuple[str, list[Relink]]:
        """Fold ``gone`` into ``into``; returns the id that redirects and storylines that merged."""
        into.absorb(gone)
        relinked = self.lines.stories_merged(gone.id, into.id)
        self._retire(gone)
        for k in gone.entities:
            self._by_entity.setdefault(k, set()).add(into.id)
        self._place(into)
        if into.last is not None:
            heapq.heappush(self._expiry, (into.last, into.id))
        return gone.id, relinked

    def _maybe_split(self, state: StoryState) -> tuple[str, list[str]] | None:
        """Cut a story in two when its reports name two groups of days far apart.

        Two events can share a story when the first reports of the second one
        named no day; once enough of them do, the days show it. The part
        holding the seed keeps the id; the other part becomes a story of its
        own in the same storyline.
        """
        dated = sorted((min(f.event_days), f.article_id) for f in state.feats if f.event_days)
        if len(dated) < 4:
            return None
        days = sorted({d for d, _ in dated})
        gaps = [((days[i + 1] - days[i]).days, days[i]) for i in range(len(days) - 1)]
        if not gaps:
            return None
        gap, cut = max(gaps)
        early = {a for d, a in dated if d <= cut}
        late = {a for d, a in dated if d > cut}
        if gap < self.cfg.split_gap_days or len(early) < 2 or len(late) < 2:
            return None
        keep_ids = early if state.feats[0].article_id not in late else late
        keep_feats = [f for f in state.feats if f.article_id in keep_ids]
        move_feats = [f for f in state.feats if f.article_id not in keep_ids and f.event_days]
        # reports with no day go with the part whose centroid they are nearer
        keep_c = _unit(np.sum([f.embedding for f in keep_feats], axis=0))
        move_c = _unit(np.sum([f.embedding for f in move_feats], axis=0))
        for f in state.feats:
            if not f.event_days and f.article_id not in keep_ids:
                (move_feats if f.embedding @ move_c > f.embedding @ keep_c else keep_feats).append(f)
        order = {aid: i for i, aid in enumerate(state.members)}
        move_feats.sort(key=lambda f: order[f.article_id])
        keep_feats.sort(key=lambda f: order[f.article_id])
        new_id = story_id(move_feats[0].article_id)
        if new_id in self.stories or not keep_feats:
            return None
        storyline = self.storyline_of[state.id]
        self._retire(state)
        kept, moved = StoryState(state.id), StoryState(new_id)
        self.stories[kept.id], self.stories[moved.id] = kept, moved
        self.lines.attach(kept.id, storyline)
        self.lines.attach(moved.id, storyline)
        for f in keep_feats:
            self._add(kept, f)
        for f in move_feats:
            self._add(moved, f)
        return new_id, [f.article_id for f in move_feats]


def _report(f: Features) -> Profile:
    """One report, as storylines count it."""
    return Profile(f.embedding, Counter(f.entities), 1, {f.lang}, Counter(f.lemmas))


def _profile(s: StoryState) -> Profile:
    """A whole story, as storylines compare it."""
    assert s.embedding_sum is not None
    return Profile(s.embedding_sum, s.entities, len(s.members), s.langs, s.lemmas)

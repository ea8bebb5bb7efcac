"""Storylines: which stories tell one developing situation, kept online.

A story is one event; a storyline links the stories of one situation — a
missing airliner's search over weeks, a trade dispute from tariff to summit.
The clusterer tells this module of every story as it is born, grows, merges,
splits and leaves the join window; this module keeps each live storyline's
profile (the sum of its reports' e5 vectors, and how many of its reports
name each entity) and decides:

- a new story continues the storyline it fits best, or starts one;
- a story is judged again each time it doubles (2, 4, 8 … reports): its
  first report may have said too little, and the grown story — centroid and
  entities of all its reports — is better evidence. If it then fits another
  storyline too, the two are one situation and merge, the younger into the
  older (as stories merge when a report bridges them) — provided, when its
  own storyline holds other stories, that the two storylines fit each other
  as wholes: one story fitting both would otherwise chain storyline to
  storyline (a synthetic stream grew one holding a quarter of its stories).
  The same when two stories of different storylines prove to be one event.

The fit of a story to a storyline weighs three cosines (weights in
``ClusterSettings``):

- the cosine of the two mean vectors *after taking away the mean of every
  live report*. e5 vectors share a large common direction (two unrelated
  English reports sit near 0.77, two of one topic near 0.85), so a raw
  cosine says more about the language and genre than the situation; centred,
  unrelated reports fall near 0 and reports of one situation well above, in
  any language, without a floor tuned per language or model;
- the cosine of the two entity profiles, each entity weighted by the share
  of that side's reports naming it — a storyline about an airliner names it
  in every report and a bystander once, and a story is not made unlike a
  storyline by the many names it mentions in passing — and by its IDF over
  live reports: 東京 or 政府, named by a fifth of all news, would otherwise
  make every storyline look like every story and grow one catch-all
  storyline (a synthetic stream did: one storyline took 86% of its stories);
- the cosine of the two lemma profiles (Sudachi content lemmas of titles
  and leads, counted like entities), IDF-weighted the same way: 日銀 or 会談
  tells less than ワーキングホリデー. Entities say who; the words say what
  about, and separate a minister's two situations that share every name.

IDF is counted over live *reports*, not storylines: counted over
storylines, a common name looks rarer each time two storylines merge, which
makes more merge.

The weights, the threshold and ``storyline_days`` are calibrated on real
Japanese reports (``../shared/eval/clustering/real_ja_events``): the set is
grouped as one stream, a setting is picked on the pairs outside each fold
and scored on that fold's pairs (``bench/real_lines.py``). Every fold picks
one plateau; among its points, the one that keeps the demo's week-apart
sequels in their storylines. Entities weigh most: e5 likeness alone chained
the Nikkei record, the Bank of Japan and the yen into one storyline. Sixty
days, because the Bank's meetings are six weeks apart. WikiRef220's labels
are whole topics, coarser than a situation, and score lower than under the
earlier e5-led weights (``bench/cluster_eval.py``).

A storyline that has gone quiet asks for more: the fit a story needs rises
from ``storyline_threshold`` when the storyline's last report is from the
story's own day to twice that when it is ``storyline_days`` old (when the
storyline leaves memory). A ministry's phone call and, a fortnight later, a
summit of the same ministers share names and words; a development the next
day needs less proof than one after weeks of silence. Undated reports pay
nothing.

Only storylines sharing an entity with the story are scored (an inverted
index), and a storyline leaves memory ``storyline_days`` after its last
report, so the cost follows the news rate, not the archive.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from matome.settings import ClusterSettings


def unit(v: np.ndarray) -> np.ndarray:
    return v / (float(np.linalg.norm(v)) or 1.0)


@dataclass
class Profile:
    """What a storyline compares of a story: its reports' vector sum, entity and lemma counts."""

    embedding_sum: np.ndarray
    entities: Counter[str]  # reports naming each entity
    reports: int
    langs: set[str]
    lemmas: Counter[str] = field(default_factory=Counter)  # reports using each head lemma


def _one(_key: str) -> float:
    return 1.0


def profile_cosine(a: Counter[str], b: Counter[str], weight: Callable[[str], float] = _one,
                   b_norm: float | None = None) -> float:
    """Cosine of two count profiles (reports naming each entity or lemma), each key weighted.

    Counts are shares of reports up to a scale, which a cosine ignores: a
    storyline about an airliner names it in every report and a bystander
    once. ``weight`` is an IDF; ``b``'s weighted norm may be given when kept.
    The loop runs over ``a``: pass the story, not the storyline.
    """
    if not a or not b:
        return 0.0
    dot = a_norm2 = 0.0
    for k, c in a.items():
        w = weight(k)
        a_norm2 += (c * w) ** 2
        if k in b:
            dot += c * b[k] * w * w
    if not dot:
        return 0.0
    if b_norm is None:
        b_norm = math.sqrt(sum((c * weight(k)) ** 2 for k, c in b.items()))
    return min(1.0, dot / (math.sqrt(a_norm2) * b_norm)) if b_norm else 0.0


@dataclass
class Line:
    """A storyline: the developing situation a run of stories belongs to."""

    id: str
    born: int  # order of creation: when two merge, the older keeps its id
    embedding_sum: np.ndarray
    entities: Counter[str] = field(default_factory=Counter)
    reports: int = 0
    langs: set[str] = field(default_factory=set)
    last: datetime | None = None
    latest_story: str = ""
    stories: set[str] = field(default_factory=set)  # its stories still in the join window
    lemmas: Counter[str] = field(default_factory=Counter)
    # IDF-weighted norms of ``entities`` and ``lemmas``, and when they were computed
    # (its reports, live reports then)
    norms: tuple[int, int, float, float] = (0, 0, 0.0, 0.0)

    def profile(self) -> Profile:
        return Profile(self.embedding_sum, self.entities, self.reports, self.langs, self.lemmas)


Relink = tuple[str, str]  # (storyline that ends, storyline that takes in all its stories)


class Storylines:
    """Live storylines and the storyline of each live story."""

    def __init__(self, cfg: ClusterSettings) -> None:
        self.cfg = cfg
        self.line_of: dict[str, str] = {}  # live story -> its storyline
        self.lines: dict[str, Line] = {}
        self._by_entity: dict[str, set[str]] = {}
        self._expiry: list[tuple[datetime, str]] = []
        self._born = 0
        # every live storyline's reports, summed: the common direction taken away
        self._sum: np.ndarray | None = None
        self._n = 0
        # live reports naming each entity and using each lemma, for IDF: counted over
        # reports, not storylines, so that storylines merging does not make a name that
        # every report carries look rare and merge more
        self._entity_df: Counter[str] = Counter()
        self._lemma_df: Counter[str] = Counter()

    # --- scoring ----------------------------------------------------------

    def fit(self, p: Profile, line: Line, centred: tuple[np.ndarray, np.ndarray] | None = None) -> float:
        """How well a story continues a storyline: centred e5, entity and lemma profiles."""
        return self._weigh(*self.affinities(p, line, centred))

    def _weigh(self, cos: float, ents: float, words: float) -> float:
        cfg = self.cfg
        return (cfg.storyline_weight_embedding * max(0.0, cos) + cfg.storyline_weight_entities * ents
                + cfg.storyline_weight_lexical * words)

    def _centred(self, p: Profile) -> tuple[np.ndarray, np.ndarray]:
        """The mean of live reports and the story's mean vector less it, made unit length."""
        assert self._sum is not None
        mean = self._sum / self._n
        return mean, unit(p.embedding_sum / p.reports - mean)

    def affinities(self, p: Profile, line: Line,
                   centred: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, float, float]:
        """The three cosines: centred e5, IDF-weighted entity and lemma profiles.

        ``centred`` is ``_centred(p)``, when already computed for other candidates.
        """
        if not p.reports or not line.reports or self._sum is None:
            return 0.0, 0.0, 0.0
        mean, p_vec = centred or self._centred(p)
        cos = float(p_vec @ unit(line.embedding_sum / line.reports - mean))
        ent_norm, lemma_norm = self._norms(line)
        return (cos, profile_cosine(p.entities, line.entities, self._idf(self._entity_df), ent_norm),
                profile_cosine(p.lemmas, line.lemmas, self._idf(self._lemma_df), lemma_norm))

    def _idf(self, df: Counter[str]) -> Callable[[str], float]:
        """IDF over live reports, given how many of them name each entity or use each lemma."""
        n = self._n
        return lambda key: math.log(1.0 + n / (1.0 + df[key]))

    def _norms(self, line: Line) -> tuple[float, float]:
        """A storyline's IDF-weighted profile norms, recomputed only when it grew or the number
        of live reports moved by a tenth (IDF drifts slowly): a fit then costs the story's
        entities and lemmas, not the storyline's thousands."""
        live = self._n
        reports, at, ents, lemmas = line.norms
        if reports != line.reports or abs(live - at) * 10 > max(at, 1):
            entity_idf, lemma_idf = self._idf(self._entity_df), self._idf(self._lemma_df)
            ents = math.sqrt(sum((c * entity_idf(k)) ** 2 for k, c in line.entities.items()))
            lemmas = math.sqrt(sum((c * lemma_idf(k)) ** 2 for k, c in line.lemmas.items()))
            line.norms = (line.reports, live, ents, lemmas)
        return ents, lemmas

    def need(self, line: Line, when: datetime | None) -> float:
        """The fit a story of ``when`` needs to continue ``line``: more the longer it was quiet."""
        cfg = self.cfg
        if when is None or line.last is None or cfg.storyline_days <= 0:
            return cfg.storyline_threshold
        quiet = min(max(0.0, (when - line.last).total_seconds() / 86400.0), cfg.storyline_days)
        return cfg.storyline_threshold * (1.0 + quiet / cfg.storyline_days)

    def _best(self, p: Profile, exclude: str | None,
              when: datetime | None) -> tuple[Line, tuple[float, float, float]] | None:
        """The storyline the story fits with most to spare over what each needs, if any, and
        the three cosines of that fit."""
        cap = 4 * self.cfg.candidates  # an entity on more storylines than this tells little
        pool: set[str] = set()
        for k in p.entities:
            if len(ids := self._by_entity.get(k, set())) <= cap:
                pool |= ids
        pool.discard(exclude or "")
        if not pool or not p.reports or self._sum is None:
            return None
        best, best_margin = None, 0.0
        centred = self._centred(p)
        for lid in sorted(pool):
            line = self.lines.get(lid)
            if line is None:
                continue
            cosines = self.affinities(p, line, centred)
            if (margin := self._weigh(*cosines) - self.need(line, when)) > best_margin:
                best, best_margin = (line, cosines), margin
        return best

    # --- events from the clusterer ----------------------------------------

    def start(self, story: str, p: Profile, published: datetime | None,
              new_id: str) -> tuple[str, str | None, dict[str, float]]:
        """A new story: the storyline it continues and the story it follows, or a new storyline;
        and, when it continues one, why (the fit and its three cosines, for editors)."""
        found = self._best(p, None, published)
        why: dict[str, float] = {}
        lid, follows = new_id, None
        if found is not None:
            line, (cos, ents, words) = found
            why = {"storyline_fit": round(self._weigh(cos, ents, words), 3),
                   "storyline_needed": round(self.need(line, published), 3),
                   "storyline_embedding": round(cos, 3), "storyline_entities": round(ents, 3),
                   "storyline_lexical": round(words, 3)}
            lid, follows = line.id, line.latest_story
        self.attach(story, lid)
        self._grow(lid, p, published, story)
        return lid, follows, why

    def restore(self, story: str, p: Profile, published: datetime | None, storyline: str) -> None:
        """A stored report replayed: its story's storyline is already known."""
        lid = self.line_of.get(story, storyline)
        self.attach(story, lid)
        self._grow(lid, p, published, story)

    def grow(self, story: str, p: Profile, published: datetime | None, fallback: str) -> None:
        """One more report (as a one-report profile) of a live story.

        ``fallback`` names a storyline for a story whose own already left
        memory (only when ``storyline_days`` is set below the join window).
        """
        lid = self.line_of.get(story) or fallback
        self.attach(story, lid)
        self._grow(lid, p, published, story)

    def recheck(self, story: str, p: Profile, when: datetime | None) -> list[Relink]:
        """Judge a story again when it has doubled; if it fits another storyline, the two merge.

        ``when`` is the story's newest report: how long the other storyline was quiet
        is counted to it."""
        own = self.line_of.get(story)
        if own is None or p.reports < 2 or p.reports & (p.reports - 1):
            return []  # judged at 2, 4, 8 … reports: O(log n) times in a story's life
        found = self._best(p, own, when)
        if found is None:
            return []
        other = found[0]
        # when its storyline holds more than this story, the two storylines themselves must
        # fit, or one story that fits both would chain unrelated ones into a catch-all
        line = self.lines.get(own)
        if line is not None and line.reports > p.reports \
                and self.fit(line.profile(), other) <= self.need(other, when):
            return []
        return [self.merge(own, other.id)]

    def stories_merged(self, gone: str, into: str) -> list[Relink]:
        """Two stories proved one event: their storylines are one situation."""
        a, b = self.line_of.get(gone), self.line_of.get(into)
        self.retire(gone)
        if a is None or b is None or a == b or a not in self.lines or b not in self.lines:
            return []
        return [self.merge(a, b)]

    def attach(self, story: str, lid: str) -> None:
        """Record that a live story belongs to a storyline (e.g. both parts of a split story)."""
        self.line_of[story] = lid
        if (line := self.lines.get(lid)) is not None:
            line.stories.add(story)

    def retire(self, story: str) -> None:
        """The story left the join window; its storyline lives on in ``lines``."""
        lid = self.line_of.pop(story, None)
        if lid is not None and (line := self.lines.get(lid)) is not None:
            line.stories.discard(story)

    def merge(self, a: str, b: str) -> Relink:
        """Fold the younger of two storylines into the older; returns (gone, kept)."""
        la, lb = self.lines[a], self.lines[b]
        keep, gone = (la, lb) if la.born <= lb.born else (lb, la)
        keep.embedding_sum = keep.embedding_sum + gone.embedding_sum
        keep.entities.update(gone.entities)
        keep.lemmas.update(gone.lemmas)
        keep.reports += gone.reports
        keep.langs |= gone.langs
        if gone.last is not None and (keep.last is None or gone.last >= keep.last):
            keep.last, keep.latest_story = gone.last, gone.latest_story
        for s in gone.stories:
            self.line_of[s] = keep.id
        keep.stories |= gone.stories
        for k in gone.entities:
            ids = self._by_entity.setdefault(k, set())
            ids.discard(gone.id)
            ids.add(keep.id)
        del self.lines[gone.id]
        if keep.last is not None:
            heapq.heappush(self._expiry, (keep.last, keep.id))
        return gone.id, keep.id

    def advance(self, now: datetime) -> None:
        """Storylines with no report within ``storyline_days`` of ``now`` leave memory."""
        far = now - timedelta(days=self.cfg.storyline_days)
        while self._expiry and self._expiry[0][0] < far:
            last, lid = heapq.heappop(self._expiry)
            line = self.lines.get(lid)
            if line is None or (line.last is not None and line.last > last):
                continue  # a stale heap entry: the storyline grew since, or merged away
            del self.lines[lid]
            if self._sum is not None:
                self._sum = self._sum - line.embedding_sum
                self._n -= line.reports
                if self._n <= 0:
                    self._sum, self._n = None, 0
            for s in line.stories:
                self.line_of.pop(s, None)
            for df, counts in ((self._entity_df, line.entities), (self._lemma_df, line.lemmas)):
                df.subtract(counts)
                for k in counts:
                    if df[k] <= 0:
                        del df[k]
            for k in line.entities:
                ids = self._by_entity.get(k)
                if ids is not None:
                    ids.discard(lid)
                    if not ids:
                        del self._by_entity[k]

    # --- state ------------------------------------------------------------

    def _grow(self, lid: str, p: Profile, published: datetime | None, story: str) -> None:
        line = self.lines.get(lid)
        if line is None:
            self._born += 1
            line = self.lines[lid] = Line(lid, self._born, np.zeros_like(p.embedding_sum))
        line.stories.add(story)
        line.embedding_sum = line.embedding_sum + p.embedding_sum
        self._sum = p.embedding_sum.copy() if self._sum is None else self._sum + p.embedding_sum
        self._n += p.reports
        for k, c in p.entities.items():
            line.entities[k] += c
            self._by_entity.setdefault(k, set()).add(lid)
        self._entity_df.update(p.entities)
        self._lemma_df.update(p.lemmas)
        line.lemmas.update(p.lemmas)
        line.reports += p.reports
        line.langs |= p.langs
        if published is None or line.last is None or published >= line.last:
            line.latest_story = story
        if published is not None and (line.last is None or published >= line.last):
            line.last = published
        if line.last is not None:
            heapq.heappush(self._expiry, (line.last, lid))

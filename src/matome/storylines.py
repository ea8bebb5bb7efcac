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
  older (as stories merge when a report bridges them); the same when two
  stories of different storylines prove to be one event.

The fit of a story to a storyline weighs three cosines (weights in
``ClusterSettings``):

- the cosine of the two mean vectors *after taking away the mean of every
  live report*. e5 vectors share a large common direction (two unrelated
  English reports sit near 0.77, two of one topic near 0.85), so a raw
  cosine says more about the language and genre than the situation; centred,
  unrelated reports fall near 0 and reports of one situation well above, in
  any language, without a floor tuned per language or model;
- the cosine of the two entity profiles, each entity weighted by the share
  of that side's reports naming it: a storyline about an airliner names it
  in every report and a bystander once, and a story is not made unlike a
  storyline by the many names it mentions in passing;
- the cosine of the two lemma profiles (Sudachi content lemmas of titles
  and leads, counted like entities), each lemma weighted by its IDF over
  live storylines: 日銀 or 会談 on a dozen storylines tells less than
  ワーキングホリデー on one. Entities say who; the words say what about, and
  separate a minister's two situations that share every name.

The weights and threshold were chosen on three labelled sets together —
WikiRef220 (English, topic labels), the demo and the events fixture's
storyline labels (Japanese, one developing situation each) — for the best
lowest F1 of the three; ``bench/cluster_eval.py`` prints all three and a
held-out split.

Only storylines sharing an entity with the story are scored (an inverted
index), and a storyline leaves memory ``storyline_days`` after its last
report, so the cost follows the news rate, not the archive.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
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


def _norm2(entities: Counter[str]) -> int:
    return sum(c * c for c in entities.values())


def entity_affinity(a: Profile, b: Profile, a_norm2: int | None = None,
                    b_norm2: int | None = None) -> float:
    """Cosine of the two entity profiles, each entity weighted by the share of reports naming it.

    Scaling a profile does not change a cosine, so the counts serve as
    weights; their squared norms may be given when already known.
    """
    if not a.entities or not b.entities:
        return 0.0
    small, big = (a.entities, b.entities) if len(a.entities) <= len(b.entities) \
        else (b.entities, a.entities)
    dot = sum(c * big[k] for k, c in small.items() if k in big)
    if not dot:
        return 0.0
    na = a_norm2 if a_norm2 is not None else _norm2(a.entities)
    nb = b_norm2 if b_norm2 is not None else _norm2(b.entities)
    return min(1.0, dot / math.sqrt(na * nb))


@dataclass
class Line:
    """A storyline: the developing situation a run of stories belongs to."""

    id: str
    born: int  # order of creation: when two merge, the older keeps its id
    embedding_sum: np.ndarray
    entities: Counter[str] = field(default_factory=Counter)
    norm2: int = 0  # squared norm of ``entities``, kept as it grows (a line may name thousands)
    reports: int = 0
    langs: set[str] = field(default_factory=set)
    last: datetime | None = None
    latest_story: str = ""
    stories: set[str] = field(default_factory=set)  # its stories still in the join window
    lemmas: Counter[str] = field(default_factory=Counter)
    # the IDF-weighted norm of ``lemmas`` and what it was computed at (reports, live lines)
    lex_norm: tuple[int, int, float] = (0, 0, 0.0)

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
        self._lemma_df: Counter[str] = Counter()  # live storylines using each lemma

    # --- scoring ----------------------------------------------------------

    def fit(self, p: Profile, line: Line, p_norm2: int | None = None) -> float:
        """How well a story continues a storyline: centred e5, entity and lemma profiles."""
        if not p.reports or not line.reports or self._sum is None:
            return 0.0
        cfg = self.cfg
        mean = self._sum / self._n
        cos = float(unit(p.embedding_sum / p.reports - mean) @ unit(line.embedding_sum / line.reports - mean))
        ents = entity_affinity(p, line.profile(), p_norm2, line.norm2)
        return (cfg.storyline_weight_embedding * max(0.0, cos) + cfg.storyline_weight_entities * ents
                + cfg.storyline_weight_lexical * self.lexical_affinity(p, line))

    def _idf(self, lemma: str) -> float:
        return math.log(1.0 + len(self.lines) / (1.0 + self._lemma_df[lemma]))

    def lexical_affinity(self, p: Profile, line: Line) -> float:
        """Cosine of the two lemma profiles, each lemma weighted by its IDF over live storylines.

        A long storyline uses thousands of lemmas; its weighted norm is kept
        and recomputed only when it grew or the number of live storylines
        moved by a tenth (IDF drifts slowly), so a fit costs the story's
        lemmas, not the storyline's.
        """
        if not p.lemmas or not line.lemmas:
            return 0.0
        dot = p_norm = 0.0
        for k, c in p.lemmas.items():
            w = self._idf(k)
            p_norm += (c * w) ** 2
            if k in line.lemmas:
                dot += c * line.lemmas[k] * w * w
        if not dot:
            return 0.0
        live = len(self.lines)
        reports, at, norm = line.lex_norm
        if reports != line.reports or abs(live - at) * 10 > max(at, 1):
            norm = math.sqrt(sum((c * self._idf(k)) ** 2 for k, c in line.lemmas.items()))
            line.lex_norm = (line.reports, live, norm)
        return min(1.0, dot / (math.sqrt(p_norm) * norm)) if norm else 0.0

    def _best(self, p: Profile, exclude: str | None) -> Line | None:
        cap = 4 * self.cfg.candidates  # an entity on more storylines than this tells little
        pool: set[str] = set()
        for k in p.entities:
            if len(ids := self._by_entity.get(k, set())) <= cap:
                pool |= ids
        pool.discard(exclude or "")
        p_norm2 = _norm2(p.entities)
        best, best_score = None, self.cfg.storyline_threshold
        for lid in sorted(pool):
            line = self.lines.get(lid)
            if line is not None and (value := self.fit(p, line, p_norm2)) > best_score:
                best, best_score = line, value
        return best

    # --- events from the clusterer ----------------------------------------

    def start(self, story: str, p: Profile, published: datetime | None,
              new_id: str) -> tuple[str, str | None]:
        """A new story: the storyline it continues and the story it follows, or a new storyline."""
        line = self._best(p, None)
        follows = line.latest_story if line is not None else None
        lid = line.id if line is not None else new_id
        self.attach(story, lid)
        self._grow(lid, p, published, story)
        return lid, follows

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

    def recheck(self, story: str, p: Profile) -> list[Relink]:
        """Judge a story again when it has doubled; if it fits another storyline, the two merge."""
        own = self.line_of.get(story)
        if own is None or p.reports < 2 or p.reports & (p.reports - 1):
            return []  # judged at 2, 4, 8 … reports: O(log n) times in a story's life
        other = self._best(p, own)
        return [self.merge(own, other.id)] if other is not None else []

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
        for k in gone.lemmas:
            if k in keep.lemmas:  # one storyline fewer uses it
                self._lemma_df[k] -= 1
        keep.lemmas.update(gone.lemmas)
        keep.norm2 = _norm2(keep.entities)
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
            for k in line.lemmas:
                self._lemma_df[k] -= 1
                if self._lemma_df[k] <= 0:
                    del self._lemma_df[k]
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
            old = line.entities[k]
            line.norm2 += (old + c) ** 2 - old * old
            line.entities[k] = old + c
            self._by_entity.setdefault(k, set()).add(lid)
        for k in p.lemmas:
            if k not in line.lemmas:
                self._lemma_df[k] += 1
        line.lemmas.update(p.lemmas)
        line.reports += p.reports
        line.langs |= p.langs
        if published is None or line.last is None or published >= line.last:
            line.latest_story = story
        if published is not None and (line.last is None or published >= line.last):
            line.last = published
        if line.last is not None:
            heapq.heappush(self._expiry, (line.last, lid))

"""What every extractive format shares: the sentence pool, titles, lead, attribution, provenance.

Every sentence an extractive format writes is a sentence of a source, chosen
across all the story's reports, and carries a citation to that exact span
(``clean`` decides which sentences qualify and where the span starts: past a
dateline, a caption, a label); the only words it adds are an attribution
(「北海新報によると、」) where the claim needs its source. 見出し and サブ見出し
are a report's title or a lead sentence in headline form (``headline``).

Sentence choice: TF-IDF over Sudachi lemmas gives each sentence a centrality
(similarity to the whole story); maximal marginal relevance then trades
centrality against redundancy, so a fact reported by five outlets is said
once and a detail only one outlet has can still be picked; no sentence is
picked that says what one already picked says (``lint.near_duplicate``).
Each format (``brief``, ``news``, ``explainer``, ``matome``) draws on the
same pool.

Once a report tells an event's outcome (its lead is in the past tense), the
reports that previewed it are history: their forward-looking sentences
(「…を開きます」) are left out, the lead, 見出し and 概要 come from the outcome.

A story from fewer reports than ``publish.min_sources`` is not re-cut into
an article: ``short`` publishes its report's title, outlet, link and opening
sentences (at most ``writer.lead_max_chars``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from matome.language import nfkc, textja
from matome.records import (
    Analysis,
    Article,
    Citation,
    Conflict,
    Post,
    Provenance,
    Stage,
    WrittenSentence,
)
from matome.settings import WriterSettings
from matome.write import clean, conflicts, headline, lint

STAGE = Stage("write", 11)
WRITER = "extractive/1"
SHORT_WRITER = "short/1"     # one report published as itself: title, outlet, link, opening
SINGLE_SOURCE = "この記事は1件の報道に基づいています。"
ONE_OUTLET = "この記事の情報源は1社（{}）の報道だけです。"
# A claim that says it is not yet confirmed needs its source named: 「…とみられる」「…という」
_HEDGED = re.compile(
    r"(?:とみられ(?:る|ている)|と見られ(?:る|ている)|とされ(?:る|ている)|という|ということ(?:だ|です)|"
    r"模様(?:だ|です)?|可能性が(?:ある|高い)|見通し(?:だ|です)?|見込み(?:だ|です)?|としている|としています)"
    r"[。」）)]*$"
    r"|ことが(?:分かった|わかった|明らかになった)|関係者(?:への取材|によると)")
# A title that expects rather than tells (「…大勝へ」「…獲得か」「…の見通し」)
_SPECULATIVE = re.compile(r"(?:へ|か|見通し|見込み|予定|方針|公算)[」』）)]?$")
# A sentence that names its own source needs no other: 「…によると」, 「県警は…と発表した」, a speaker
_SOURCED = re.compile(r"によると|によれば|によりますと|と(?:発表|公表|述べ|語|話|強調|説明|明らかに)|"
                      r"を(?:発表|公表)")


@dataclass(frozen=True)
class Inputs:
    """What a format writes one story from (``Format.inputs``: only what that format reads)."""

    articles: list[Article]                 # the story's reports, oldest first
    analyses: dict[str, Analysis]
    earlier: Sequence[list[Article]] = ()   # the storyline's earlier stories, oldest first
    posts: Sequence[Post] = ()              # board posts about the story: reactions, never sources


@dataclass
class Candidate:
    article: Article
    position: int        # the sentence's place in its report's analysis
    text: str            # the span cited (``clean.cited_span``)
    lemmas: list[str]
    centrality: float = 0.0
    rank: int = 0        # its place among its report's usable sentences: 0 opens the report
    tense: str = "other"  # ``clean.tense``: "past", "future" or "other"


def attribution(outlet: str) -> str:
    return f"{outlet}によると、"


def _candidates(articles: list[Article], analyses: dict[str, Analysis]) -> list[Candidate]:
    out = []
    for a in articles:
        rank = 0
        heading = "" if a.title.endswith("。") else nfkc(a.title)
        analysis = analyses[a.id]
        for pos, s in enumerate(analysis.sentences):
            text = clean.cited_span(s.text, a.lang)
            if text is None or (heading and len(text) < len(heading) and nfkc(text) in heading):
                continue   # unusable, or the report's own headline repeated in its text
            # the whole sentence cited: its lemmas as the analysis found them (Sudachi ran once)
            kept = analysis.sentence_lemmas(pos) if text == s.text else None
            lemmas = kept if kept is not None else list(_lemmas(text))
            out.append(Candidate(a, pos, text, lemmas, rank=rank,
                                 tense=clean.tense(text) if a.lang == "ja" else "other"))
            rank += 1
    return out


@lru_cache(maxsize=65536)   # every format of a story reads the same sentences
def _lemmas(text: str) -> tuple[str, ...]:
    return tuple(textja.content_lemmas(textja.tokenize(text)))


def _vectors(cands: list[Candidate]) -> np.ndarray:
    """TF-IDF rows of the candidates' lemmas, as scikit-learn's ``TfidfVectorizer`` makes them
    (its defaults: raw counts, smoothed idf ln((1 + n) / (1 + df)) + 1, rows to unit length;
    terms in sorted order). Computed here because importing scikit-learn brings SciPy's stats
    and pandas, about 3 s in every worker process that writes a story: more than writing all
    of a run's stories took. ``tests/test_write_shared.py`` compares it with scikit-learn."""
    if not cands:
        return np.zeros((0, 0))
    terms = sorted({t for c in cands for t in c.lemmas})
    if not terms:  # no lemma at all
        return np.zeros((len(cands), 1))
    col = {t: j for j, t in enumerate(terms)}
    counts = np.zeros((len(cands), len(terms)))
    for i, c in enumerate(cands):
        for t in c.lemmas:
            counts[i, col[t]] += 1.0
    df = np.count_nonzero(counts, axis=0)
    weighted = counts * (np.log((1.0 + len(cands)) / (1.0 + df)) + 1.0)
    norms = np.sqrt((weighted * weighted).sum(axis=1, keepdims=True))
    norms[norms == 0] = 1.0
    return np.asarray(weighted / norms)


def mmr(cands: list[Candidate], vecs: np.ndarray, chosen: list[int], k: int,
         allowed: set[int], lam: float = 0.7) -> list[int]:
    """Up to ``k`` of ``allowed`` by maximal marginal relevance, none saying what ``chosen`` or an
    earlier pick says."""
    picked: list[int] = []
    for _ in range(k):
        best, best_val = None, -1e9
        for i in sorted(allowed - set(chosen) - set(picked)):
            sims = [float(vecs[i] @ vecs[j]) for j in [*chosen, *picked]]
            redundancy = max(sims) if sims else 0.0
            if redundancy > 0.6 or any(lint.near_duplicate(cands[i].text, cands[j].text)
                                       for j in [*chosen, *picked]):
                continue
            val = lam * cands[i].centrality - (1 - lam) * redundancy \
                - 0.02 * cands[i].rank
            if val > best_val:
                best, best_val = i, val
        if best is None:
            break
        picked.append(best)
    return picked


def sentence_of(c: Candidate, attribute: bool) -> WrittenSentence:
    text = c.text
    if attribute and "によると" not in text and not text.startswith("「"):
        text = attribution(c.article.source) + text
    return WrittenSentence(text, [Citation(c.article.id, c.text)])


def needs_source(c: Candidate, disputed: set[str]) -> bool:
    """Whether a reader must be told which outlet says this: the outlets differ on it, or it says
    itself that it is not confirmed (「…とみられる」). A sentence naming its own source does not."""
    if c.text in disputed:
        return True
    if c.text.startswith(("「", "『")) or _SOURCED.search(c.text):
        return False
    return bool(_HEDGED.search(c.text))


def attributed(cands: Sequence[Candidate], p: Pool, disputes: Sequence[Conflict] = (),
               always: bool = False) -> list[WrittenSentence]:
    """The sentences of ``cands`` in order, each attributed to its outlet where the claim needs its
    source (``always``: every one, as background from earlier stories is) and the story has more
    than one outlet — but never the same outlet opening two sentences in a row."""
    disputed = {x.quote for d in disputes for side in d.sides for x in side}
    out: list[WrittenSentence] = []
    run = ""   # the outlet last named, while its sentences follow one another
    for c in cands:
        attribute = (always or (p.attribute and needs_source(c, disputed))) and c.article.source != run
        out.append(sentence_of(c, attribute))
        if attribute:
            run = c.article.source
        elif c.article.source != run:
            run = ""
    return out


def order(c: Candidate) -> tuple[str, str, int]:
    return (c.article.published.isoformat() if c.article.published else "", c.article.id,
            c.position)


@dataclass
class Pool:
    """A story's candidate sentences, their vectors and centrality."""

    articles: list[Article]       # the reports written from (Japanese ones when there are)
    cands: list[Candidate]
    vecs: np.ndarray
    previews: set[str] = field(default_factory=set)   # reports that previewed an outcome told

    @property
    def attribute(self) -> bool:
        """Facts may be attributed to their outlet when more than one outlet reported."""
        return len({a.source for a in self.articles}) > 1


def _opening_tense(cands: list[Candidate]) -> dict[str, str]:
    """Each report's tense as its opening sentence gives it."""
    out: dict[str, str] = {}
    for c in cands:
        if c.rank == 0:
            out[c.article.id] = c.tense
    return out


T = TypeVar("T")
# What a story's formats would each build alike (its sentence pool, its storyline's pools, its
# conflicts), built once per story while ``one_story`` holds: the four formats of a story
# re-cut the same candidates, and the pool (Sudachi lemmas, TF-IDF) was most of writing.
_SHARED: ContextVar[dict[tuple[str, tuple[str, ...]], Any] | None] = ContextVar(
    "matome_write_shared", default=None)


@contextmanager
def one_story() -> Iterator[None]:
    """Within: every format written is of one story (same reports, same analyses), so pools
    and conflicts over the same reports are built once and shared (nothing mutates them)."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _once(kind: str, articles: Sequence[Article], build: Callable[[], T]) -> T:
    memo = _SHARED.get()
    if memo is None:
        return build()
    key = (kind, tuple(a.id for a in articles))
    if key not in memo:
        memo[key] = build()
    got: T = memo[key]
    return got


def disputes(articles: list[Article], analyses: dict[str, Analysis]) -> list[Conflict]:
    """``conflicts.find_conflicts``, once per story while ``one_story`` holds."""
    return _once("conflicts", articles, lambda: conflicts.find_conflicts(articles, analyses))


def pool(articles: list[Article], analyses: dict[str, Analysis]) -> Pool:
    """The candidates of ``articles`` with their centrality (once per story, see ``one_story``)."""
    return _once("pool", articles, lambda: _pool(articles, analyses))


def _pool(articles: list[Article], analyses: dict[str, Analysis]) -> Pool:
    japanese = [a for a in articles if a.lang == "ja"] or articles
    cands = _candidates(japanese, analyses)
    opening = _opening_tense(cands)
    previews: set[str] = set()
    if "past" in opening.values():
        # the outcome is reported: what previews said would happen, and how things stood
        # before, is history, not news; only what they report as done stays
        previews = {aid for aid, t in opening.items() if t == "future"}
        cands = [c for c in cands if c.article.id not in previews or c.tense == "past"]
    vecs = _vectors(cands)
    if len(cands):
        centroid = vecs.mean(axis=0)
        norm = float(np.linalg.norm(centroid)) or 1.0
        for c, v in zip(cands, vecs, strict=True):
            c.centrality = float(v @ centroid) / norm
    return Pool(japanese, cands, vecs, previews)


def provenance(used: list[Article], built: datetime | None, story: list[Article],
               writer: str = WRITER) -> Provenance:
    """Who wrote it from what (``used`` of the ``story``'s reports), and when; a story from one
    outlet says so (outside the cited text): one report, or several of that one outlet."""
    outlets = {a.source for a in story}
    single = len(outlets) == 1
    note = "" if not single else SINGLE_SOURCE if len(story) == 1 else ONE_OUTLET.format(*outlets)
    return Provenance(writer, [a.id for a in used],
                      (built or datetime.now(UTC)).isoformat(timespec="seconds"),
                      single_source=single, note=note)


def conflict_sentences(disputes: list[Conflict]) -> list[WrittenSentence]:
    """出典により異なる: one sentence per dispute, citing every side."""
    return [WrittenSentence(conflicts.sentence(d),
                            [Citation(side[0].article, side[0].quote) for side in d.sides],
                            "conflict")
            for d in disputes]


def conflict_ids(disputes: list[Conflict]) -> list[str]:
    """The reports the conflict sentences cite (each side's first)."""
    return [side[0].article for d in disputes for side in d.sides]


def leads(p: Pool) -> set[int]:
    """The pool's candidates that open their report (its first usable sentence: datelines,
    captions and labels are not); once the outcome is reported, only the outcome's reports open
    the story."""
    # As the 見出し does (``titles``): a report that tells the outcome in the past tense opens the
    # story before one still telling it as under way. A fire story's lead said 「20棟以上が燃え
    # る火災が発生しています」 under the 見出し 「170棟以上焼ける大規模な火災が発生」.
    opening = _opening_tense(p.cands)
    told = "past" in opening.values()
    return {i for i, c in enumerate(p.cands) if c.rank == 0 and c.article.id not in p.previews
            and (not told or opening.get(c.article.id) == "past")}


def used_articles(p: Pool, idx: Iterable[int], extra: Iterable[str] = ()) -> list[Article]:
    """The pool's reports that the chosen candidates (and ``extra`` ids) come from."""
    ids = {p.cands[i].article.id for i in idx} | set(extra)
    return [a for a in p.articles if a.id in ids]


def source_line(a: Article) -> dict[str, str]:
    return {"article": a.id, "title": a.title, "source": a.source, "url": a.url,
            "published": a.published.isoformat() if a.published else ""}


def titles(p: Pool, settings: WriterSettings) -> tuple[str, str]:
    """見出し and サブ見出し (``headline``): the most central outcome report's title when it is a
    headline, else its lead in headline form; the サブ見出し a second fact, from another title, a
    subtitle or another lead sentence, else the outlets the story rests on."""
    limit = settings.headline_max_chars
    if not p.articles:
        return "", ""
    score: dict[str, float] = {}
    for c in p.cands:
        score[c.article.id] = max(score.get(c.article.id, 0.0), c.centrality)
    opening = _opening_tense(p.cands)
    told = "past" in opening.values()   # the story has an outcome: its reports speak first
    ranked = sorted(p.articles, key=lambda a: (
        a.id in p.previews, told and opening.get(a.id) != "past",
        told and bool(_SPECULATIVE.search(a.title)), -score.get(a.id, 0.0), a.id))
    current = [a for a in ranked if a.id not in p.previews]
    openings = sorted((c for c in p.cands if c.rank <= 1 and c.article.id not in p.previews),
                      key=lambda c: (c.rank, -c.centrality, c.article.id))
    if not any(a.lang == "ja" for a in p.articles):
        head = headline.english(ranked[0].title or (openings[0].text if openings else ""), limit)
        return head, _outlets_line(current or ranked)
    head, head_id = headline.pick(current, [c.text for c in openings], limit)
    if not head:   # no title is a headline and no lead compresses to one: any central sentence
        central = sorted(p.cands, key=lambda c: (c.article.id in p.previews, -c.centrality))
        head, _ = headline.pick([], [c.text for c in central[:12]], limit)
    if not head:   # a report's title however it reads, and a story never goes without a 見出し
        titled = [a.title for a in ranked if a.title.strip()]
        head = headline.fitted(titled[0] if titled else p.cands[0].text if p.cands else "", limit)
    sub_from = [replace(a, title=a.subtitle) for a in current if a.subtitle] + \
        [a for a in current if a.id != head_id]
    rest = [c.text for c in openings if headline.compress(c.text, limit) != head]
    sub, _ = headline.pick(sub_from, rest, limit, avoid=[head])
    if not sub:  # no title or lead sentence gives one: the next sentences of the reports, central first
        later = sorted((c for c in p.cands if 1 < c.rank <= 3 and c.article.id not in p.previews),
                       key=lambda c: (-c.centrality, c.article.id, c.position))
        sub, _ = headline.pick([], [c.text for c in later], limit, avoid=[head])
    # no second fact: the outlets it rests on (previews' too, when nothing else tells it)
    return head, sub or _outlets_line(current or p.articles)


def _outlets_line(articles: list[Article]) -> str:
    """「北海新報、東都通信の報道」: the outlets by name, or by their site's address when the name
    the page gave is a sentence or a page title rather than a name."""
    def name(a: Article) -> str:
        if a.source and len(a.source) <= 20 and not re.search(r"://|[|｜•\-–—]\s", a.source):
            return a.source
        return (urlsplit(a.url).hostname or "").removeprefix("www.")
    outlets = sorted({n for a in articles if (n := name(a))})
    if not outlets:  # files without a link or an outlet's name: still a サブ見出し, and a true one
        return f"{len(articles)}件の報道" if articles else ""
    return "、".join(outlets[:2]) + ("など" if len(outlets) > 2 else "") + "の報道"


def lead_of(cands: list[Candidate], overview: list[int],
            settings: WriterSettings) -> tuple[str, list[Citation]]:
    """リード: the opening report's first sentences, 100–160 characters where they allow."""
    if not overview:
        return "", []
    first = cands[overview[0]]
    same = sorted((c for c in cands if c.article.id == first.article.id
                   and c.position >= first.position), key=lambda c: c.position)
    parts: list[Candidate] = []
    for c in same:
        length = sum(len(p.text) for p in parts)
        if parts and (length >= settings.lead_min_chars
                      or length + len(c.text) > settings.lead_max_chars
                      or any(lint.near_duplicate(c.text, p.text) for p in parts)
                      or clean.transcript(c.text)):
            # long enough, or the next sentence would say again what the lead says, or it is a
            # speaker's words from a broadcast's transcript (「斉藤代表：…」), not the report's
            break
        parts.append(c)
    return "".join(p.text for p in parts), [Citation(p.article.id, p.text) for p in parts]

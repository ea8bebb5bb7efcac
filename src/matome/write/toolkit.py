"""What every extractive format shares: the sentence pool, titles, lead, provenance.

Every sentence an extractive format writes is a sentence of a source, chosen
across all the story's reports, and carries a citation to that exact span;
the only words it adds are an attribution (「北海新報によると、」) when
outlets differ. Headline and sub-headline are the sources' own titles.

Sentence choice: TF-IDF over Sudachi lemmas gives each sentence a centrality
(similarity to the whole story); maximal marginal relevance then trades
centrality against redundancy, so a fact reported by five outlets is said
once and a detail only one outlet has can still be picked. Each format
(``brief``, ``news``, ``explainer``, ``matome``) draws on the same pool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from matome.language import textja
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
from matome.write import conflicts

STAGE = Stage("write", 3)
WRITER = "extractive/1"
SINGLE_SOURCE = "この記事は1件の報道に基づいています。"
_BOILERPLATE = ("関連記事", "Copyright", "copyright", "©", "無断転載", "この記事を", "写真=", "（写真")
MIN_CHARS, MAX_CHARS = 12, 220
# A dateline or label opening a sentence (【ローマ東都】, 【速報】) belongs to the
# page, not the fact; the sentence is cited from after it (still verbatim).
_LABEL = re.compile(r"^(?:【[^】]{1,12}】|\[[^\]]{1,12}\]|＜[^＞]{1,12}＞)\s*")


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
    position: int
    text: str
    lemmas: list[str]
    centrality: float = 0.0


def attribution(outlet: str) -> str:
    return f"{outlet}によると、"


def _candidates(articles: list[Article], analyses: dict[str, Analysis]) -> list[Candidate]:
    out = []
    for a in articles:
        for pos, s in enumerate(analyses[a.id].sentences):
            text = _LABEL.sub("", s.text)
            if not (MIN_CHARS <= len(text) <= MAX_CHARS) or any(b in text for b in _BOILERPLATE):
                continue
            if a.lang == "ja" and not text.endswith(("。", "」", "）", ")")):
                continue  # headings, captions and bylines are not sentences
            out.append(Candidate(a, pos, text, textja.content_lemmas(textja.tokenize(text))))
    return out


def _vectors(cands: list[Candidate]) -> np.ndarray:
    if not cands:
        return np.zeros((0, 0))
    vec = TfidfVectorizer(analyzer=lambda lemmas: lemmas, norm="l2")
    try:
        m = vec.fit_transform([c.lemmas for c in cands]).toarray()
    except ValueError:  # no lemma at all
        return np.zeros((len(cands), 1))
    return np.asarray(m)


def mmr(cands: list[Candidate], vecs: np.ndarray, chosen: list[int], k: int,
         allowed: set[int], lam: float = 0.7) -> list[int]:
    picked: list[int] = []
    for _ in range(k):
        best, best_val = None, -1e9
        for i in sorted(allowed - set(chosen) - set(picked)):
            sims = [float(vecs[i] @ vecs[j]) for j in [*chosen, *picked]]
            redundancy = max(sims) if sims else 0.0
            if redundancy > 0.6:
                continue
            val = lam * cands[i].centrality - (1 - lam) * redundancy \
                - 0.02 * cands[i].position
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


def order(c: Candidate) -> tuple[str, str, int]:
    return (c.article.published.isoformat() if c.article.published else "", c.article.id,
            c.position)


@dataclass
class Pool:
    """A story's candidate sentences, their vectors and centrality."""

    articles: list[Article]       # the reports written from (Japanese ones when there are)
    cands: list[Candidate]
    vecs: np.ndarray

    @property
    def attribute(self) -> bool:
        """Facts are attributed to their outlet when more than one outlet reported."""
        return len({a.source for a in self.articles}) > 1


def pool(articles: list[Article], analyses: dict[str, Analysis]) -> Pool:
    japanese = [a for a in articles if a.lang == "ja"] or articles
    cands = _candidates(japanese, analyses)
    vecs = _vectors(cands)
    if len(cands):
        centroid = vecs.mean(axis=0)
        norm = float(np.linalg.norm(centroid)) or 1.0
        for c, v in zip(cands, vecs, strict=True):
            c.centrality = float(v @ centroid) / norm
    return Pool(japanese, cands, vecs)


def provenance(used: list[Article], built: datetime | None, story: list[Article]) -> Provenance:
    """Who wrote it from what (``used`` of the ``story``'s reports), and when; a story from one
    outlet says so (outside the cited text)."""
    single = len({a.source for a in story}) == 1
    return Provenance(WRITER, [a.id for a in used],
                      (built or datetime.now(UTC)).isoformat(timespec="seconds"),
                      single_source=single, note=SINGLE_SOURCE if single else "")


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
    """The pool's candidates that open their report (its first two sentences)."""
    return {i for i, c in enumerate(p.cands) if c.position <= 1}


def used_articles(p: Pool, idx: Iterable[int], extra: Iterable[str] = ()) -> list[Article]:
    """The pool's reports that the chosen candidates (and ``extra`` ids) come from."""
    ids = {p.cands[i].article.id for i in idx} | set(extra)
    return [a for a in p.articles if a.id in ids]


def source_line(a: Article) -> dict[str, str]:
    return {"article": a.id, "title": a.title, "source": a.source, "url": a.url,
            "published": a.published.isoformat() if a.published else ""}


def titles(articles: list[Article], cands: list[Candidate],
           settings: WriterSettings) -> tuple[str, str]:
    """見出し: the most central source title that fits; サブ見出し: another outlet's view."""
    score: dict[str, float] = {}
    for c in cands:
        score[c.article.id] = max(score.get(c.article.id, 0.0), c.centrality)
    ranked = sorted(articles, key=lambda a: (-score.get(a.id, 0.0), a.id))
    fitting = [a for a in ranked if a.title and len(a.title) <= settings.headline_max_chars]
    head_article = fitting[0] if fitting else ranked[0]
    headline = head_article.title
    if len(headline) > settings.headline_max_chars:
        cut = max(headline.rfind(sep, 0, settings.headline_max_chars) for sep in ("　", " ", "、"))
        headline = headline[:cut] if cut > 10 else headline[: settings.headline_max_chars - 1] + "…"
    others = [_LABEL.sub("", a.title) for a in fitting if a.source != head_article.source]
    sub = head_article.subtitle or next(
        (a.subtitle for a in ranked if a.subtitle), "") or next(
        (t for t in others if t != headline and not t.endswith(("？", "?"))), "")
    return headline, sub


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
                      or length + len(c.text) > settings.lead_max_chars):
            break
        parts.append(c)
    return "".join(p.text for p in parts), [Citation(p.article.id, p.text) for p in parts]

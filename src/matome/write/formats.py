"""The other extractive formats of FORMATS.md: news, explainer and まとめ.

Like the brief (``write.py``), every sentence here is a span of a source
with a citation to it; the only words added are ones verification checks:
an attribution (「北海新報によると、」), section labels, the 出典により異なる
form, and Q&A headings that state no fact.

- news: 見出し / サブ見出し from the sources' titles, a リード of 100–160
  characters from the opening report, a few more facts attributed.
- explainer: the stories of one storyline, oldest first, one Q&A section each
  (answer, ✅ points, narrative; its own sources and 公開日), then one 💡
  takeaway per section.
- まとめ: the wire report's lead with its outlet, ■要約 bullets, ■解説 from
  earlier stories of the storyline (cited, opinion left out), ■反応 from
  board posts — shown as reactions, never as facts, abusive ones left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from matome.language import fold, nfkc, numerals
from matome.records import Analysis, Article, Citation, Post, Section, Written, WrittenSentence
from matome.settings import WriterSettings
from matome.write import conflicts
from matome.write.toolkit import (
    Candidate,
    Pool,
    conflict_sentences,
    lead_of,
    mmr,
    order,
    pool,
    provenance,
    sentence_of,
    source_line,
    titles,
    write_brief,
)

# Questions that assert nothing: the answer under them is the cited fact.
QUESTIONS = ("何が起きたのか?", "その後、何があったのか?")
REACTIONS_LABEL = "ネット上の反応"
# Background is neutral: a sentence that judges, guesses or urges is opinion, not context.
_OPINION = ("べきだ", "べきで", "だろう", "と思う", "と思わ", "と考えられ", "と見られ", "とみられ",
            "に違いない", "望まれ", "したい。", "ではないか", "社説", "論説", "批判が", "懸念が")
_URL = re.compile(r"h?ttps?://\S+|www\.\S+")
_ANCHOR = re.compile(r"[>＞]{1,2}\s*\d+(?:[-,]\d+)*")


def _leads(p: Pool) -> set[int]:
    return {i for i, c in enumerate(p.cands) if c.position <= 1}


def _used(p: Pool, idx: list[int], extra: Iterable[str] = ()) -> list[Article]:
    ids = {p.cands[i].article.id for i in idx} | set(extra)
    return [a for a in p.articles if a.id in ids]


def _conflict_ids(disputes: list[dict[str, Any]]) -> list[str]:
    return [side[0]["article"] for d in disputes for side in d["sides"]]


def _single(articles: list[Article]) -> bool:
    return len({a.source for a in articles}) == 1


def write_news(articles: list[Article], analyses: dict[str, Analysis],
               settings: WriterSettings, built: datetime | None = None) -> Written:
    """見出し・サブ見出し・リード, then a few more facts, attributed where outlets differ."""
    p = pool(articles, analyses)
    all_idx = set(range(len(p.cands)))
    opening = mmr(p.cands, p.vecs, [], 1, _leads(p) or all_idx)
    lead, lead_cites = lead_of(p.cands, opening, settings)
    in_lead = {c.quote for c in lead_cites}
    rest = {i for i in all_idx if p.cands[i].text not in in_lead}
    body = mmr(p.cands, p.vecs, opening, 3, rest, lam=0.6)
    body.sort(key=lambda i: order(p.cands[i]))
    disputes = conflicts.find_conflicts(p.articles, analyses)
    sentences = [sentence_of(p.cands[i], p.attribute) for i in body] + conflict_sentences(disputes)
    headline, sub = titles(p.articles, p.cands, settings)
    used = _used(p, [*opening, *body], [c.article for c in lead_cites] + _conflict_ids(disputes))
    return Written("news", headline, sub, lead, [Section("本文", sentences)],
                   provenance(used, built, single=_single(articles)), lead_cites, disputes)


def _section(p: Pool, question: str,
             analyses: dict[str, Analysis]) -> tuple[Section, Candidate | None, list[Article]]:
    """One dated Q&A section of an explainer, and its takeaway candidate."""
    all_idx = set(range(len(p.cands)))
    answer = mmr(p.cands, p.vecs, [], 1, _leads(p) or all_idx)
    facts = {i for i in all_idx - set(answer)
             if len(p.cands[i].text) <= 100 and numerals.find_numbers(p.cands[i].text)}
    points = mmr(p.cands, p.vecs, answer, 3, facts or all_idx - set(answer))
    narrative = mmr(p.cands, p.vecs, [*answer, *points], 3, all_idx, lam=0.6)
    narrative.sort(key=lambda i: order(p.cands[i]))
    sentences = [WrittenSentence(s.text, s.citations, "answer")
                 for s in (sentence_of(p.cands[i], False) for i in answer)]
    sentences += [WrittenSentence(s.text, s.citations, "point")
                  for s in (sentence_of(p.cands[i], False) for i in points)]
    sentences += [WrittenSentence(s.text, s.citations, "narrative")
                  for s in (sentence_of(p.cands[i], p.attribute) for i in narrative)]
    sentences += conflict_sentences(conflicts.find_conflicts(p.articles, analyses))
    said = set(answer) | set(points) | set(narrative)
    # the takeaway: the section's most central short sentence not already said in it
    rest = sorted((i for i in all_idx - said if len(p.cands[i].text) <= 80),
                  key=lambda i: (-p.cands[i].centrality, i))
    used = _used(p, sorted(said), [c.article for s in sentences for c in s.citations])
    sec = Section(question, sentences, [source_line(a) for a in used])
    return sec, (p.cands[rest[0]] if rest else None), used


def write_explainer(storyline: list[list[Article]], analyses: dict[str, Analysis],
                    settings: WriterSettings, built: datetime | None = None) -> Written:
    """The storyline's stories (each a list of reports), oldest first, as Q&A sections."""
    stories = [s for s in storyline if s][-max(1, settings.explainer_sections):]
    sections: list[Section] = []
    takeaways: list[WrittenSentence] = []
    used: list[Article] = []
    pools = [pool(arts, analyses) for arts in stories]  # each story's candidates, built once
    for n, p in enumerate(pools):
        sec, take, sec_used = _section(p, QUESTIONS[min(n, 1)], analyses)
        if not sec.sentences:
            continue
        sections.append(sec)
        used += [a for a in sec_used if a not in used]
        if take is not None:
            takeaways.append(WrittenSentence(take.text, sentence_of(take, False).citations,
                                             "takeaway"))
            used += [take.article] if take.article not in used else []
    if takeaways:
        sections.append(Section("ポイント", takeaways))
    latest = pools[-1] if pools else pool([], analyses)
    opening = mmr(latest.cands, latest.vecs, [], 1, _leads(latest) or set(range(len(latest.cands))))
    lead, lead_cites = lead_of(latest.cands, opening, settings)
    headline, sub = titles(latest.articles, latest.cands, settings)
    if len(pools) > 1:
        sub = titles(pools[0].articles, pools[0].cands, settings)[0]  # where the storyline began
    everything = [a for arts in stories for a in arts]
    disputes = conflicts.find_conflicts(latest.articles, analyses)
    return Written("explainer", headline, sub, lead, sections,
                   provenance(used, built, single=_single(everything)), lead_cites, disputes)


def _wire(articles: list[Article]) -> Article:
    """The wire report: a news agency's (通信) when there is one, else the earliest report."""
    wire = [a for a in articles if a.source.endswith(("通信", "通信社"))]
    return (wire or articles)[0]


def write_matome(articles: list[Article], analyses: dict[str, Analysis],
                 settings: WriterSettings, *, background: Sequence[Article] = (),
                 posts: Sequence[Post] = (),
                 built: datetime | None = None) -> Written:
    """The wire lead with its outlet, ■要約, ■解説 (earlier stories), ■反応 (board posts)."""
    p = pool(articles, analyses)
    sections: list[Section] = []
    lead, lead_cites = "", list[Citation]()
    if p.cands:
        wire = _wire(p.articles)
        own = [i for i, c in enumerate(p.cands) if c.article.id == wire.id]
        lead, lead_cites = lead_of(p.cands, own[:1], settings)
    in_lead = {c.quote for c in lead_cites}
    rest = {i for i, c in enumerate(p.cands) if c.text not in in_lead and len(c.text) <= 120}
    summary = mmr(p.cands, p.vecs, [], settings.points, rest)
    summary.sort(key=lambda i: order(p.cands[i]))
    disputes = conflicts.find_conflicts(p.articles, analyses)
    sections.append(Section("要約", [sentence_of(p.cands[i], p.attribute) for i in summary]
                            + conflict_sentences(disputes)))
    used = _used(p, summary, [c.article for c in lead_cites] + _conflict_ids(disputes))
    if background:
        bg = pool(list(background), analyses)
        neutral = {i for i, c in enumerate(bg.cands)
                   if not any(w in c.text for w in _OPINION) and "「" not in c.text}
        chosen = mmr(bg.cands, bg.vecs, [], 3, neutral)
        chosen.sort(key=lambda i: order(bg.cands[i]))
        if chosen:
            # earlier reports are always attributed: they are context, not this story's facts
            sections.append(Section("解説", [sentence_of(bg.cands[i], True) for i in chosen]))
            used += [a for a in bg.articles if a.id in {bg.cands[i].article.id for i in chosen}]
    shown = reactions(list(posts), settings.reactions, settings.reaction_max_chars)
    if shown:
        sections.append(Section("反応", [], shown))
    headline, sub = titles(p.articles, p.cands, settings)
    prov = provenance(used, built, single=_single(articles))
    if lead_cites:
        prov["lead_outlet"] = next((a.source for a in p.articles
                                    if a.id == lead_cites[0].article), "")
    return Written("matome", headline, sub, lead, sections, prov, lead_cites, disputes)


# --- reactions -----------------------------------------------------------------


@lru_cache(maxsize=1)
def abuse_words() -> frozenset[str]:
    """The words that keep a post out of ■反応 (``data/abuse_ja.txt``), folded."""
    text = resources.files("matome.write").joinpath("data/abuse_ja.txt").read_text("utf-8")
    return frozenset(_fold_kana(w) for line in text.splitlines()
                     if (w := line.split("#", 1)[0].strip()))


def _fold_kana(text: str) -> str:
    """NFKC, lower case, hiragana as katakana, no spaces: ばか = バカ = ﾊﾞｶ = バ カ."""
    folded = "".join(chr(ord(ch) + 0x60) if "\u3041" <= ch <= "\u3096" else ch
                     for ch in nfkc(text).lower())
    return re.sub(r"\s+", "", folded)


def abusive(text: str) -> bool:
    folded = _fold_kana(text)
    return any(w in folded for w in abuse_words())


def clean_post(body: str) -> str:
    """A post's words without links, >>anchors and extra whitespace."""
    text = _ANCHOR.sub(" ", _URL.sub(" ", nfkc(body)))
    return re.sub(r"\s+", " ", text).strip(" 　。")


def reactions(posts: list[Post], limit: int, max_chars: int) -> list[dict[str, Any]]:
    """A handful of representative posts: the most answered, clean, short, not abusive.

    Returned as source-like entries (never sentences): the page shows them
    in 「」 attributed to ネット上の反応, and nothing cites them as fact.
    """
    answered: dict[int, int] = {}
    for post in posts:
        for n in set(post.replies):
            answered[n] = answered.get(n, 0) + 1
    seen: set[str] = set()
    picked: list[tuple[int, int, str]] = []
    for post in posts:
        text = clean_post(post.body)
        if not 4 <= len(text) <= max_chars or abusive(post.body) or fold(text) in seen:
            continue
        seen.add(fold(text))
        picked.append((-answered.get(post.number, 0), post.number, text))
    picked.sort()
    return [{"reaction": text, "number": number, "by": REACTIONS_LABEL}
            for _, number, text in sorted(picked[:max(0, limit)], key=lambda x: x[1])]


FORMATS = ("brief", "news", "explainer", "matome")


def write_story(fmt: str, articles: list[Article], analyses: dict[str, Analysis],
                settings: WriterSettings, *, earlier: Sequence[list[Article]] = (),
                posts: Sequence[Post] = (), built: datetime | None = None) -> Written:
    """One story in one format. ``earlier``: the storyline's previous stories, oldest first."""
    if fmt == "brief":
        return write_brief(articles, analyses, settings, built)
    if fmt == "news":
        return write_news(articles, analyses, settings, built)
    if fmt == "explainer":
        return write_explainer([*earlier, articles], analyses, settings, built)
    if fmt == "matome":
        return write_matome(articles, analyses, settings, posts=posts, built=built,
                            background=[a for arts in earlier for a in arts])
    raise ValueError(f"unknown article format {fmt!r} (known: {', '.join(FORMATS)})")

"""The まとめ (wire lead, ■要約, ■解説, ■反応), written extractively.

The wire report's lead quoted with its outlet, ■要約 bullets, ■解説 from
the latest earlier stories of the storyline (as many as the explainer's
sections before the story's own; cited, attributed, opinion left out) and
■反応 from board posts: shown as reactions, never as facts, abusive ones
left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from matome.language import fold, nfkc
from matome.records import Analysis, Article, Citation, Post, Section, Written
from matome.settings import WriterSettings
from matome.write import lint, toolkit

NAME = "matome"
REACTIONS_LABEL = "ネット上の反応"
# Background is neutral: a sentence that judges, guesses or urges is opinion, not context.
_OPINION = ("べきだ", "べきで", "だろう", "と思う", "と思わ", "と考えられ", "と見られ", "とみられ",
            "に違いない", "望まれ", "したい。", "ではないか", "社説", "論説", "批判が", "懸念が")
_URL = re.compile(r"h?ttps?://\S+|www\.\S+")
_ANCHOR = re.compile(r"[>＞]{1,2}\s*\d+(?:[-,]\d+)*")


def _wire(articles: list[Article]) -> Article:
    """The wire report: a news agency's (通信) when there is one, else the earliest report."""
    wire = [a for a in articles if a.source.endswith(("通信", "通信社"))]
    return (wire or articles)[0]


def write_matome(articles: list[Article], analyses: dict[str, Analysis],
                 settings: WriterSettings, *, background: Sequence[Article] = (),
                 posts: Sequence[Post] = (),
                 built: datetime | None = None) -> Written:
    """The wire lead with its outlet, ■要約, ■解説 (earlier stories), ■反応 (board posts)."""
    p = toolkit.pool(articles, analyses)
    sections: list[Section] = []
    lead, lead_cites = "", list[Citation]()
    if p.cands:
        wire = _wire([a for a in p.articles if a.id not in p.previews] or p.articles)
        own = [i for i, c in enumerate(p.cands) if c.article.id == wire.id]
        lead, lead_cites = toolkit.lead_of(p.cands, own[:1], settings)
    in_lead = {c.quote for c in lead_cites}
    lead_idx = [i for i, c in enumerate(p.cands) if c.text in in_lead]
    rest = {i for i, c in enumerate(p.cands) if c.text not in in_lead and len(c.text) <= 120}
    summary = toolkit.mmr(p.cands, p.vecs, lead_idx, settings.points, rest)   # nothing the lead says
    summary.sort(key=lambda i: toolkit.order(p.cands[i]))
    disputes = toolkit.disputes(p.articles, analyses)
    sections.append(Section("要約", toolkit.attributed([p.cands[i] for i in summary], p, disputes)
                            + toolkit.conflict_sentences(disputes)))
    used = toolkit.used_articles(p, summary, [c.article for c in lead_cites] + toolkit.conflict_ids(disputes))
    if background:
        bg = toolkit.pool(list(background), analyses)
        neutral = {i for i, c in enumerate(bg.cands)
                   if not any(w in c.text for w in _OPINION) and "「" not in c.text}
        said = [p.cands[i].text for i in [*lead_idx, *summary]]
        neutral = {i for i in neutral if not any(lint.near_duplicate(bg.cands[i].text, t) for t in said)}
        chosen = toolkit.mmr(bg.cands, bg.vecs, [], 3, neutral)
        chosen.sort(key=lambda i: toolkit.order(bg.cands[i]))
        if chosen:
            # earlier reports are attributed: they are context, not this story's facts (an
            # outlet is named once for the sentences of its that follow one another)
            sections.append(Section("解説", toolkit.attributed([bg.cands[i] for i in chosen], bg,
                                                              always=True)))
            used += [a for a in bg.articles if a.id in {bg.cands[i].article.id for i in chosen}]
    shown = reactions(list(posts), settings.reactions, settings.reaction_max_chars)
    if shown:
        sections.append(Section("反応", [], shown))
    headline, sub = toolkit.titles(p, settings)
    prov = toolkit.provenance(used, built, articles)
    if lead_cites:
        prov.lead_outlet = next((a.source for a in p.articles if a.id == lead_cites[0].article), "")
    return Written(NAME, headline, sub, lead, sections, prov, lead_cites, disputes)


def write(inputs: toolkit.Inputs, settings: WriterSettings, built: datetime | None = None) -> Written:
    return write_matome(inputs.articles, inputs.analyses, settings, posts=inputs.posts, built=built,
                        background=[a for arts in inputs.earlier for a in arts])


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

"""News (見出し・サブ見出し・リード), written extractively.

見出し and サブ見出し are the sources' titles, the リード 100–160 characters
from the opening report, then a few more facts, attributed where outlets
differ, and the 出典により異なる sentences.
"""

from __future__ import annotations

from datetime import datetime

from matome.records import Analysis, Article, Section, Written
from matome.settings import WriterSettings
from matome.write import toolkit

NAME = "news"


def write_news(articles: list[Article], analyses: dict[str, Analysis],
               settings: WriterSettings, built: datetime | None = None) -> Written:
    """見出し・サブ見出し・リード, then a few more facts, attributed where outlets differ."""
    p = toolkit.pool(articles, analyses)
    all_idx = set(range(len(p.cands)))
    opening = toolkit.mmr(p.cands, p.vecs, [], 1, toolkit.leads(p) or all_idx)
    lead, lead_cites = toolkit.lead_of(p.cands, opening, settings)
    in_lead = {c.quote for c in lead_cites}
    lead_idx = [i for i in all_idx if p.cands[i].text in in_lead]
    rest = {i for i in all_idx if p.cands[i].text not in in_lead}
    body = toolkit.mmr(p.cands, p.vecs, lead_idx, 3, rest, lam=0.6)   # nothing the lead says
    body.sort(key=lambda i: toolkit.order(p.cands[i]))
    disputes = toolkit.disputes(p.articles, analyses)
    sentences = toolkit.attributed([p.cands[i] for i in body], p, disputes)
    sentences += toolkit.conflict_sentences(disputes)
    headline, sub = toolkit.titles(p, settings)
    used = toolkit.used_articles(p, [*opening, *body],
                                 [c.article for c in lead_cites] + toolkit.conflict_ids(disputes))
    return Written(NAME, headline, sub, lead, [Section("本文", sentences)],
                   toolkit.provenance(used, built, articles), lead_cites, disputes)


def write(inputs: toolkit.Inputs, settings: WriterSettings, built: datetime | None = None) -> Written:
    return write_news(inputs.articles, inputs.analyses, settings, built)

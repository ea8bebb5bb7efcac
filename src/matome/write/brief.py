"""The brief (【概要】【詳細】【要点】【引用・参照・底本】), written extractively.

Offline and deterministic: 概要 opens with a report's lead sentence, 詳細
follows the facts in order (attributed where outlets differ), 要点 restates
figures as bullets without repeating a sentence above, and the sources used
close it. ``llm_writer`` writes the same format with a model.
"""

from __future__ import annotations

from datetime import datetime

from matome.language import numerals
from matome.records import Analysis, Article, Section, Written
from matome.settings import WriterSettings
from matome.write import toolkit

NAME = "brief"
OVERVIEW, DETAILS, POINTS, SOURCES = "概要", "詳細", "要点", "引用・参照・底本"


def write_brief(articles: list[Article], analyses: dict[str, Analysis],
                settings: WriterSettings, built: datetime | None = None) -> Written:
    """The brief of one story from its (de-duplicated) reports, oldest first."""
    p = toolkit.pool(articles, analyses)
    cands, vecs = p.cands, p.vecs
    all_idx = set(range(len(cands)))
    overview = toolkit.mmr(cands, vecs, [], 1, toolkit.leads(p) or all_idx)
    overview += toolkit.mmr(cands, vecs, overview, settings.overview_sentences - 1, all_idx)
    details = toolkit.mmr(cands, vecs, overview, settings.detail_sentences, all_idx, lam=0.6)
    details.sort(key=lambda i: toolkit.order(cands[i]))
    with_facts = {i for i, c in enumerate(cands)
                  if len(c.text) <= 100 and numerals.find_numbers(c.text)} - set(overview)
    # 要点 restate facts as bullets, but never a sentence already written above.
    said = {cands[i].text for i in [*overview, *details]}
    fresh = {i for i in (with_facts or all_idx - set(overview)) if cands[i].text not in said}
    points = toolkit.mmr(cands, vecs, [*overview, *details], settings.points, fresh)
    if len(points) < min(3, settings.points):   # too few figures: any fact not yet said
        rest = {i for i in all_idx - set(overview) - set(details) if cands[i].text not in said}
        points += toolkit.mmr(cands, vecs, [*overview, *details, *points],
                              settings.points - len(points), rest - set(points))
    disputes = toolkit.disputes(p.articles, analyses)
    used = toolkit.used_articles(p, [*overview, *details, *points], toolkit.conflict_ids(disputes))
    sections = [
        Section(OVERVIEW, [toolkit.sentence_of(cands[i], False) for i in overview]),
        Section(DETAILS, toolkit.attributed([cands[i] for i in details], p, disputes)
                + toolkit.conflict_sentences(disputes)),
        Section(POINTS, [toolkit.sentence_of(cands[i], False) for i in points]),
        Section(SOURCES, [], [toolkit.source_line(a) for a in used]),
    ]
    headline, subheadline = toolkit.titles(p, settings)
    lead, lead_cites = toolkit.lead_of(cands, overview, settings)
    return Written(
        format=NAME, headline=headline, subheadline=subheadline, lead=lead,
        sections=sections, lead_citations=lead_cites, conflicts=disputes,
        provenance=toolkit.provenance(used, built, articles),
    )


def write(inputs: toolkit.Inputs, settings: WriterSettings, built: datetime | None = None) -> Written:
    return write_brief(inputs.articles, inputs.analyses, settings, built)

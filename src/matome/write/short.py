"""A story from too few reports, published as its report: title, outlet, link, opening.

A story with fewer reports than ``publish.min_sources`` (after copies are
dropped) is not re-cut into an article from one outlet's sentences: every
format shows the report's 見出し (its title, in headline form), a サブ見出し,
and as リード its opening sentences, verbatim and cited, at most
``writer.lead_max_chars`` long; the brief lists the report under
【引用・参照・底本】, the explainer as its one dated section, the まとめ quotes it
with its outlet (and shows the board's reactions, never as facts). The
provenance says who wrote it (``toolkit.SHORT_WRITER``) and that it rests on
one outlet.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from matome.records import Citation, Section, Written, WrittenSentence
from matome.settings import WriterSettings
from matome.write import brief, explainer, lint, matome, news, toolkit


def opening(p: toolkit.Pool, max_chars: int) -> list[toolkit.Candidate]:
    """The report's first usable sentences, in order, as many as fit in ``max_chars``."""
    parts: list[toolkit.Candidate] = []
    for c in sorted(p.cands, key=lambda c: c.position):
        if sum(len(x.text) for x in parts) + len(c.text) > max_chars or \
                any(lint.near_duplicate(c.text, x.text) for x in parts):
            break
        parts.append(c)
    return parts


def write(name: str, inputs: toolkit.Inputs, settings: WriterSettings,
          built: datetime | None = None) -> Written:
    """The format ``name`` of a story too few reports tell, as its report."""
    whole = toolkit.pool(inputs.articles, inputs.analyses)
    starts = sorted(toolkit.leads(whole) or range(len(whole.cands)),
                    key=lambda i: (whole.cands[i].rank, -whole.cands[i].centrality))
    report = whole.cands[starts[0]].article if starts else (whole.articles or inputs.articles)[0]
    mine = [c for c in whole.cands if c.article.id == report.id]
    p = toolkit.Pool([report], mine, np.zeros((len(mine), 1)))
    parts = opening(p, settings.lead_max_chars)
    lead = "".join(c.text for c in parts)
    cites = [Citation(c.article.id, c.text) for c in parts]
    head, sub = toolkit.titles(p, settings)
    line = [toolkit.source_line(report)]
    said = [WrittenSentence(c.text, [Citation(c.article.id, c.text)]) for c in parts]
    sections: list[Section]
    if name == news.NAME:
        sections = [Section("本文", [])]
    elif name == explainer.NAME:
        sections = [Section(explainer.QUESTIONS[0],
                            [WrittenSentence(s.text, s.citations, "answer") for s in said], line)]
    elif name == matome.NAME:
        shown = matome.reactions(list(inputs.posts), settings.reactions, settings.reaction_max_chars)
        sections = [Section("要約", [])] + ([Section("反応", [], shown)] if shown else [])
    else:
        sections = [Section(brief.OVERVIEW, said), Section(brief.SOURCES, [], line)]
    prov = toolkit.provenance([report], built, inputs.articles, toolkit.SHORT_WRITER)
    if name == matome.NAME and lead:
        prov.lead_outlet = report.source
    return Written(name, head, sub, lead, sections, prov, cites if lead else [])

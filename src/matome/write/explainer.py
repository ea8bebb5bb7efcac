"""The explainer (Q&A sections with ✅ and 💡), written extractively.

The stories of one storyline, oldest first, one Q&A section each: a question
that asserts nothing, the answer (a cited fact), ✅ points, its own sources
with 公開日 and a few sentences of narrative; then one 💡 takeaway per section.
"""

from __future__ import annotations

from datetime import datetime

from matome.language import numerals
from matome.records import Analysis, Article, Section, Written, WrittenSentence
from matome.settings import WriterSettings
from matome.write import lint, toolkit

NAME = "explainer"
# Questions that assert nothing: the answer under them is the cited fact.
QUESTIONS = ("何が起きたのか?", "その後、何があったのか?")


def _section(p: toolkit.Pool, question: str, analyses: dict[str, Analysis],
             earlier: list[str]) -> tuple[Section, toolkit.Candidate | None, list[Article]]:
    """One dated Q&A section of an explainer, and its takeaway candidate; nothing in it says what
    an ``earlier`` section said (a later report often retells the earlier story)."""
    all_idx = {i for i, c in enumerate(p.cands)
               if not any(lint.near_duplicate(c.text, t) for t in earlier)}
    answer = toolkit.mmr(p.cands, p.vecs, [], 1, (toolkit.leads(p) & all_idx) or all_idx)
    facts = {i for i in all_idx - set(answer)
             if len(p.cands[i].text) <= 100 and numerals.find_numbers(p.cands[i].text)}
    points = toolkit.mmr(p.cands, p.vecs, answer, 3, facts or all_idx - set(answer))
    narrative = toolkit.mmr(p.cands, p.vecs, [*answer, *points], 3, all_idx, lam=0.6)
    narrative.sort(key=lambda i: toolkit.order(p.cands[i]))
    sentences = [WrittenSentence(s.text, s.citations, "answer")
                 for s in (toolkit.sentence_of(p.cands[i], False) for i in answer)]
    sentences += [WrittenSentence(s.text, s.citations, "point")
                  for s in (toolkit.sentence_of(p.cands[i], False) for i in points)]
    disputes = toolkit.disputes(p.articles, analyses)
    sentences += [WrittenSentence(s.text, s.citations, "narrative")
                  for s in toolkit.attributed([p.cands[i] for i in narrative], p, disputes)]
    sentences += toolkit.conflict_sentences(disputes)
    said = set(answer) | set(points) | set(narrative)
    # the takeaway: the section's most central short sentence not already said in it
    rest = sorted((i for i in all_idx - said if len(p.cands[i].text) <= 80
                   and not any(lint.near_duplicate(p.cands[i].text, p.cands[j].text) for j in said)),
                  key=lambda i: (-p.cands[i].centrality, i))
    used = toolkit.used_articles(p, sorted(said), [c.article for s in sentences for c in s.citations])
    sec = Section(question, sentences, [toolkit.source_line(a) for a in used])
    return sec, (p.cands[rest[0]] if rest else None), used


def write_explainer(storyline: list[list[Article]], analyses: dict[str, Analysis],
                    settings: WriterSettings, built: datetime | None = None) -> Written:
    """The storyline's stories (each a list of reports), oldest first, as Q&A sections."""
    stories = [s for s in storyline if s][-max(1, settings.explainer_sections):]
    sections: list[Section] = []
    takeaways: list[WrittenSentence] = []
    used: list[Article] = []
    pools = [toolkit.pool(arts, analyses) for arts in stories]  # each story's candidates, built once
    said: list[str] = []
    for n, p in enumerate(pools):
        sec, take, sec_used = _section(p, QUESTIONS[min(n, 1)], analyses, said)
        said += [x.text for x in sec.sentences] + ([take.text] if take is not None else [])
        if not sec.sentences:
            continue
        sections.append(sec)
        used += [a for a in sec_used if a not in used]
        if take is not None:
            takeaways.append(WrittenSentence(take.text, toolkit.sentence_of(take, False).citations,
                                             "takeaway"))
            used += [take.article] if take.article not in used else []
    if takeaways:
        sections.append(Section("ポイント", takeaways))
    latest = pools[-1] if pools else toolkit.pool([], analyses)
    opening = toolkit.mmr(latest.cands, latest.vecs, [], 1,
                          toolkit.leads(latest) or set(range(len(latest.cands))))
    lead, lead_cites = toolkit.lead_of(latest.cands, opening, settings)
    headline, sub = toolkit.titles(latest, settings)
    if len(pools) > 1:
        began = toolkit.titles(pools[0], settings)[0]  # where the storyline began
        sub = began if began and not lint.near_duplicate(began, headline) else sub
    everything = [a for arts in stories for a in arts]
    disputes = toolkit.disputes(latest.articles, analyses)
    return Written(NAME, headline, sub, lead, sections,
                   toolkit.provenance(used, built, everything), lead_cites, disputes)


def write(inputs: toolkit.Inputs, settings: WriterSettings, built: datetime | None = None) -> Written:
    return write_explainer([*inputs.earlier, inputs.articles], inputs.analyses, settings, built)

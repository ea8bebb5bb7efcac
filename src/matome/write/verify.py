"""Verify stage: every published sentence is checked against the spans it cites.

For each sentence: its citations must name reports given to the check and
quote them verbatim (after NFKC). A sentence that is its quote (after an
attribution to the cited outlet — 「北海新報によると、」 before it or
「（北海新報）」 after it) is supported. Any other wording (an LLM writer's)
is supported only when it agrees with its quotes on every checkable fact —
figures with their units, dates and times, names of people, organisations and
places, the title each person is given (前外相 is not 外相), and text in 「」,
which must be verbatim — and when most of its content words are the quotes'.

What fails is repaired (replaced by its first real quote: the supporting
source sentence) or, when no quote is real, dropped; each change is recorded
with its reason. The report (sentences, supported share, repaired, dropped,
length checks against the format's limits from the writer settings, which
report the headline comes from) is stored with the article and shown to
editors. A 見出し is a report's title (or its first phrases), or a lead
sentence in headline form whose every content word and fact is in its
report; one that gives a fact no report gives is replaced by a title, and
such a サブ見出し is dropped.
Names are found with the user's aliases, as the analysis stage finds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from matome.language import analyze, entities, find_numbers, find_times, nfkc, textja
from matome.records import (
    Article,
    Change,
    Citation,
    Lengths,
    Mention,
    Stage,
    VerifyReport,
    Written,
    WrittenSentence,
)
from matome.settings import WriterSettings
from matome.write import formats, headline
from matome.write.toolkit import SHORT_WRITER, attribution

STAGE = Stage("verify", 2)
MIN_SUPPORT = 0.6      # share of a reworded sentence's content words its quotes must hold
_QUOTED = re.compile(r"「([^「」]+)」")
_ACCORDING = re.compile(r"^([^、。「」]{1,24})によると、")
# A サブ見出し that only says which outlets reported (「北海新報、東都通信の報道」) states no fact.
_ABOUT_SOURCES = re.compile(r"の(?:単独)?報道(?:から|（情報源は1社）)?$")
_TITLES = {"見出し", "サブ見出し"}   # changes to them are listed, not counted as sentences
_TIME_KINDS = {"date", "time", "relative", "fiscal", "quarter"}


def _quote_found(c: Citation, texts: dict[str, str]) -> bool:
    text = texts.get(c.article)
    return text is not None and bool(c.quote) and nfkc(c.quote) in text


def gazetteer(aliases: Mapping[str, Sequence[str]] | None = None) -> entities.Gazetteer:
    """The names verification knows: the built-in ones and the user's aliases (``settings.aliases``)."""
    return analyze.gazetteer(tuple((k, tuple(v)) for k, v in sorted((aliases or {}).items())))


def _mentions(text: str, gaz: entities.Gazetteer) -> list[Mention]:
    return entities.find_mentions(text, textja.tokenize(text), gaz)


def _same_person(a: str, b: str) -> bool:
    """佐伯 and 佐伯健司 are one person here (a surname stands for the full name)."""
    a, b = entities.fold(a), entities.fold(b)
    return a == b or (min(len(a), len(b)) >= 2 and (a.startswith(b) or b.startswith(a)))


def _titles(text: str, mentions: list[Mention]) -> list[tuple[str, str]]:
    """(person, office with its 前/元) for each person named with an office right after."""
    out = []
    for m in mentions:
        if m.kind == "person" and (t := entities.OFFICE_AFTER.match(text[m.end:])):
            out.append((m.name, t.group(0)))
    return out


def fact_problem(body: str, quotes: str, gaz: entities.Gazetteer | None = None) -> str | None:
    """Why ``body`` says something its ``quotes`` do not (figures, dates, names, titles, 「」)."""
    missing = [n for n in find_numbers(body) if n not in find_numbers(quotes)]
    if missing:
        return f"figures not in source: {', '.join(missing)}"
    quote_times = {e.value for e in find_times(quotes)}
    bad_times = [e.text for e in find_times(body) if e.kind in _TIME_KINDS
                 and e.value not in quote_times]
    if bad_times:
        return f"dates not in source: {', '.join(bad_times)}"
    bad_quotes = [q for q in _QUOTED.findall(body) if q not in quotes]
    if bad_quotes:
        return f"quotation not verbatim: 「{bad_quotes[0]}」"
    gaz = gaz if gaz is not None else gazetteer()
    said, source = _mentions(body, gaz), _mentions(quotes, gaz)
    folded = entities.fold(quotes)
    keys = {m.key for m in source}
    missing = [m.surface for m in said if m.key not in keys
               and entities.fold(entities.strip_title(m.surface)) not in folded]
    if missing:
        return f"names not in source: {', '.join(missing)}"
    source_titles = _titles(quotes, source)
    for person, office in _titles(body, said):
        theirs = {o for p, o in source_titles if _same_person(p, person)}
        if office not in theirs:
            given = "、".join(sorted(theirs)) or "no office"
            return f"title differs from source: {person}{office} (source: {given})"
    return None


def _unattributed(s: WrittenSentence, body: str, outlets: dict[str, str]) -> str:
    """The sentence without the attribution to a cited outlet that the writer may add."""
    for c in s.citations:
        outlet = nfkc(outlets.get(c.article, ""))
        if not outlet:
            continue
        prefix = nfkc(attribution(outlet))
        if body.startswith(prefix):
            return body[len(prefix):]
        for suffix in (f"({outlet})", f"（{outlet}）"):
            if body.endswith(nfkc(suffix)):
                return body[: -len(nfkc(suffix))]
    return body


def _support(body: str, quotes: str) -> float:
    mine = set(textja.content_lemmas(textja.tokenize(body)))
    if not mine:
        return 1.0
    return len(mine & set(textja.content_lemmas(textja.tokenize(quotes)))) / len(mine)


def _check(s: WrittenSentence, texts: dict[str, str], outlets: dict[str, str],
           min_support: float, gaz: entities.Gazetteer) -> str | None:
    """None when the sentence is supported; else the reason it is not."""
    if not s.citations:
        return "no citation"
    for c in s.citations:
        if not _quote_found(c, texts):
            return f"quote not found in {c.article}"
    quotes = "".join(nfkc(c.quote) for c in s.citations)
    body = nfkc(s.text)
    if s.kind == "conflict":
        return _check_conflict(s, body, quotes, outlets, gaz)
    body = _unattributed(s, body, outlets)
    if body in quotes:
        return None
    said_by = _ACCORDING.match(body)
    if said_by and said_by.group(0) not in quotes:
        return f"attributed to what the citations are not: {said_by.group(1)}"
    problem = fact_problem(body, quotes, gaz)
    if problem:
        return problem
    share = _support(body, quotes)
    if share < min_support:
        return f"sentence text is not the cited span (content words supported: {share:.0%})"
    return None


def _check_conflict(s: WrittenSentence, body: str, quotes: str, outlets: dict[str, str],
                    gaz: entities.Gazetteer) -> str | None:
    """A 出典により異なる sentence: each outlet named is cited, each fact in it is in a quote."""
    if not body.startswith("出典により異なる") or len(s.citations) < 2:
        return "not a conflict sentence"
    for c in s.citations:
        if nfkc(outlets.get(c.article, "\0")) not in body:
            return f"cited outlet not named: {c.article}"
    for c in s.citations:  # the outlet names are the sentence's own words, not claims
        body = body.replace(nfkc(outlets.get(c.article, "")), "、")
    return fact_problem(body, quotes, gaz)


def _headline_source(headline: str, articles: list[Article], gaz: entities.Gazetteer) -> str | None:
    """The report the 見出し comes from: one whose title holds it (whole, or its first phrases,
    a label dropped), else one whose text holds every content word and fact of it (a lead
    sentence in headline form)."""
    head = nfkc(headline).rstrip("…")
    if not head:
        return None
    for a in articles:
        if head in nfkc(a.title):
            return a.id
    for a in articles:
        text = nfkc(a.text)
        if _support(head, text) == 1.0 and fact_problem(head, text, gaz) is None:
            return a.id
    return None


def _check_titles(written: Written, articles: list[Article], gaz: entities.Gazetteer,
                  changes: list[Change], rules: formats.Limits) -> str | None:
    """The 見出し's source report; a 見出し or サブ見出し giving a fact no report gives (a figure, a
    date, a name, a quote) is replaced: the 見出し by the first report's title (fitted to the
    format's limit), the サブ見出し by nothing."""
    everything = "\n".join(nfkc(a.title) + "\n" + nfkc(a.text) for a in articles)
    source = _headline_source(written.headline, articles, gaz)
    if source is None and written.headline and articles and \
            (problem := fact_problem(nfkc(written.headline), everything, gaz)):
        title = headline.fitted(next((a.title for a in articles if a.title), ""), rules.headline)
        changes.append(Change("見出し", "repaired", problem, written.headline, title))
        written.headline = title
        source = _headline_source(title, articles, gaz)
    if written.subheadline and articles and not _ABOUT_SOURCES.search(written.subheadline) and not any(
            nfkc(written.subheadline) in nfkc(a.title) or nfkc(a.subtitle or "").startswith(
                nfkc(written.subheadline)) for a in articles):
        outlets = {nfkc(a.source) for a in articles}
        body = nfkc(written.subheadline)
        for o in outlets:   # the outlets a サブ見出し names as the story's sources are not claims
            body = body.replace(o, "、")
        if problem := fact_problem(body, everything, gaz):
            changes.append(Change("サブ見出し", "dropped", problem, written.subheadline))
            written.subheadline = ""
    return source


def verify(written: Written, articles: list[Article], settings: WriterSettings | None = None,
           aliases: Mapping[str, Sequence[str]] | None = None, *,
           min_support: float = MIN_SUPPORT) -> Written:
    """The article with failing sentences repaired or dropped, and its report.

    ``settings``: the writer settings the format's length limits come from;
    ``aliases``: the user's (``settings.aliases``), for the names check.
    """
    texts = {a.id: nfkc(a.text) for a in articles}
    outlets = {a.id: a.source for a in articles}
    gaz = gazetteer(aliases)
    changes: list[Change] = []
    total = supported = 0
    for section in written.sections:
        kept = []
        for s in section.sentences:
            total += 1
            reason = _check(s, texts, outlets, min_support, gaz)
            if reason is None:
                supported += 1
                kept.append(s)
                continue
            real = [c for c in s.citations if _quote_found(c, texts)]
            if real:
                kept.append(WrittenSentence(real[0].quote, [real[0]], s.kind if s.kind != "conflict"
                                            else "span"))
                changes.append(Change(section.name, "repaired", reason, s.text, real[0].quote))
            else:
                changes.append(Change(section.name, "dropped", reason, s.text))
        section.sentences = kept
    lead_ok = all(_quote_found(c, texts) for c in written.lead_citations) and \
        nfkc(written.lead) == "".join(nfkc(c.quote) for c in written.lead_citations)
    if written.lead and not lead_ok:
        changes.append(Change("リード", "dropped", "lead is not its cited spans", written.lead))
        written.lead, written.lead_citations = "", []
    rules = formats.limits(written.format, settings or WriterSettings())
    headline_source = _check_titles(written, articles, gaz, changes, rules)
    head, lead = len(written.headline), len(written.lead)
    if written.provenance.writer == SHORT_WRITER:   # a report's opening: short is its point
        rules = formats.Limits(rules.headline, (0, rules.lead[1]))
    written.report = VerifyReport(
        sentences=total,
        supported=supported,
        repaired=sum(1 for c in changes if c.action == "repaired" and c.section not in _TITLES),
        dropped=sum(1 for c in changes if c.action == "dropped" and c.section not in _TITLES),
        supported_share=round(supported / total, 4) if total else 1.0,
        changes=changes,
        lengths=Lengths(head, lead),
        length_ok=Lengths(0 < head <= rules.headline, rules.lead[0] <= lead <= rules.lead[1]),
        headline_source=headline_source,
    )
    return written

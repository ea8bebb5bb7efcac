"""Verify stage: every published sentence is checked against the span it cites.

For each sentence: its citations must name reports of the story and quote
them verbatim (after NFKC); what the sentence adds to the quote may only be
an attribution to the cited outlet; figures and 「」 quotes in the sentence
must appear in the quote. A sentence that fails is repaired (replaced by its
quote) when the quote is real, or dropped when it is not. The report of
what was checked and changed is stored with the article and shown to
editors.
"""

from __future__ import annotations

import re
from typing import Any

from matome.numerals import find_numbers
from matome.records import Article, Citation, Stage, Written, WrittenSentence
from matome.textja import nfkc
from matome.write import attribution

STAGE = Stage("verify", 1)
_QUOTED = re.compile(r"「([^「」]+)」")


def _quote_found(c: Citation, texts: dict[str, str]) -> bool:
    text = texts.get(c.article)
    return text is not None and bool(c.quote) and nfkc(c.quote) in text


def _check(s: WrittenSentence, texts: dict[str, str], outlets: dict[str, str]) -> str | None:
    """None when the sentence is supported; else the reason it is not."""
    if not s.citations:
        return "no citation"
    for c in s.citations:
        if not _quote_found(c, texts):
            return f"quote not found in {c.article}"
    quotes = "".join(nfkc(c.quote) for c in s.citations)
    body = nfkc(s.text)
    if s.kind == "conflict":
        return _check_conflict(s, body, quotes, outlets)
    for c in s.citations:
        prefix = nfkc(attribution(outlets.get(c.article, "")))
        if body.startswith(prefix):
            body = body[len(prefix):]
            break
    if body in quotes:
        return None
    missing = [n for n in find_numbers(body) if n not in find_numbers(quotes)]
    if missing:
        return f"figures not in source: {', '.join(missing)}"
    bad_quotes = [q for q in _QUOTED.findall(body) if q not in quotes]
    if bad_quotes:
        return f"quotation not verbatim: 「{bad_quotes[0]}」"
    return "sentence text is not the cited span"


def _check_conflict(s: WrittenSentence, body: str, quotes: str,
                    outlets: dict[str, str]) -> str | None:
    """A 出典により異なる sentence: each outlet named is cited, each figure is in its quote."""
    if not body.startswith("出典により異なる") or len(s.citations) < 2:
        return "not a conflict sentence"
    for c in s.citations:
        if nfkc(outlets.get(c.article, "\0")) not in body:
            return f"cited outlet not named: {c.article}"
    missing = [n for n in find_numbers(body) if n not in find_numbers(quotes)]
    if missing:
        return f"figures not in source: {', '.join(missing)}"
    return None


def verify(written: Written, articles: list[Article]) -> Written:
    """The article with failing sentences repaired or dropped, and its report."""
    texts = {a.id: nfkc(a.text) for a in articles}
    outlets = {a.id: a.source for a in articles}
    changes: list[dict[str, Any]] = []
    total = supported = 0
    for section in written.sections:
        kept = []
        for s in section.sentences:
            total += 1
            reason = _check(s, texts, outlets)
            if reason is None:
                supported += 1
                kept.append(s)
                continue
            real = [c for c in s.citations if _quote_found(c, texts)]
            if real:
                kept.append(WrittenSentence(real[0].quote, [real[0]]))
                changes.append({"section": section.name, "action": "repaired", "reason": reason,
                                "text": s.text, "now": real[0].quote})
            else:
                changes.append({"section": section.name, "action": "dropped", "reason": reason,
                                "text": s.text})
        section.sentences = kept
    lead_ok = all(_quote_found(c, texts) for c in written.lead_citations) and \
        nfkc(written.lead) == "".join(nfkc(c.quote) for c in written.lead_citations)
    if not lead_ok:
        changes.append({"section": "リード", "action": "dropped",
                        "reason": "lead is not its cited spans", "text": written.lead})
        written.lead, written.lead_citations = "", []
    written.report = {
        "sentences": total,
        "supported": supported,
        "repaired": sum(1 for c in changes if c["action"] == "repaired"),
        "dropped": sum(1 for c in changes if c["action"] == "dropped"),
        "supported_share": round(supported / total, 4) if total else 1.0,
        "changes": changes,
        "lengths": {"headline": len(written.headline), "lead": len(written.lead)},
    }
    return written

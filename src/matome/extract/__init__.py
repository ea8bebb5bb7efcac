"""Extract: a raw document becomes an ``Article`` — text, title, dates, outlet, kind.

``page`` is the stage itself; ``charset`` decodes bytes, ``dates`` reads
publication dates, ``pagekind`` tells news from teasers, blogs and boards,
``boards`` parses board threads, ``urls`` canonicalises links.

trafilatura for the text, with DOM-size and time caps; charsets through WHATWG
aliases, strict and mojibake-checked; dates from JSON-LD, meta, feed, byline
and body (2026年2月12日, 令和8年2月12日, 12日 from context; dates outside 1990
to the time of ingest kept raw, taken as unknown and flagged).
"""

from matome.extract.charset import LABELS, MOJIBAKE, REASONS, declarations, decode, mojibake, normalize_label
from matome.extract.dates import JST
from matome.extract.page import STAGE, drop_repeated_blocks, extract, extract_with_thread, fragment_text
from matome.extract.urls import canonical_url

__all__ = [
    "JST",
    "LABELS",
    "MOJIBAKE",
    "REASONS",
    "STAGE",
    "canonical_url",
    "declarations",
    "decode",
    "drop_repeated_blocks",
    "extract",
    "extract_with_thread",
    "fragment_text",
    "mojibake",
    "normalize_label",
]

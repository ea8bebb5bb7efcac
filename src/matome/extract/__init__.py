"""Extract: a raw document becomes an ``Article`` — text, title, dates, outlet, kind.

``page`` is the stage itself; ``charset`` decodes bytes, ``dates`` reads
publication dates, ``pagekind`` tells news from teasers, blogs and boards,
``boards`` parses board threads, ``urls`` canonicalises links.
"""

from matome.extract.charset import LABELS, MOJIBAKE, REASONS, declarations, decode, mojibake, normalize_label
from matome.extract.dates import JST
from matome.extract.page import STAGE, drop_repeated_blocks, extract, fragment_text
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
    "fragment_text",
    "mojibake",
    "normalize_label",
]

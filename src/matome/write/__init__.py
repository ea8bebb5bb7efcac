"""Write: a story told in each configured format, every sentence cited, then verified.

``formats`` is the registry of formats; ``toolkit`` holds what every
extractive format shares; ``brief``, ``news``, ``explainer`` and ``matome``
write one format each; ``llm`` and ``llm_writer`` write the brief with a
model; ``conflicts`` finds where sources disagree; ``verify`` checks every
sentence against the spans it cites.
"""

from matome.write.formats import DEFAULT, FORMATS, Format
from matome.write.llm import LLMClient, TokenBudget, api_key, parse_json
from matome.write.matome import REACTIONS_LABEL, abusive, reactions, write_matome

__all__ = [
    "DEFAULT",
    "FORMATS",
    "REACTIONS_LABEL",
    "Format",
    "LLMClient",
    "TokenBudget",
    "abusive",
    "api_key",
    "parse_json",
    "reactions",
    "write_matome",
]

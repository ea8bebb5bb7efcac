"""Write: a story told in each configured format, every sentence cited, then verified.

``formats`` is the registry of formats; ``toolkit`` holds what every
extractive writer shares (and the brief); ``news``, ``explainer`` and
``matome`` write the other formats; ``llm`` and ``llm_writer`` write with a
model; ``conflicts`` finds where sources disagree; ``verify`` checks every
sentence against the spans it cites.
"""

from matome.write.formats import REACTIONS_LABEL, abusive, reactions, write_matome
from matome.write.llm import LLMClient, TokenBudget, api_key, parse_json

__all__ = [
    "REACTIONS_LABEL",
    "LLMClient",
    "TokenBudget",
    "abusive",
    "api_key",
    "parse_json",
    "reactions",
    "write_matome",
]

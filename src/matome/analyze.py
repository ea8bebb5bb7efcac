"""Language stage: sentences, tokens, lemmas, entities, dates, numbers, embedding."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from matome import embed, entities, textja
from matome.records import Analysis, Article, Stage

STAGE = Stage("analyze", 2)
EMBED_CHARS = 400  # title + lead: what identifies the event, not the background
HEAD_SENTENCES = 3  # the lead: where a report says what happened


@lru_cache(maxsize=4)
def gazetteer(user_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> entities.Gazetteer:
    extra = [entities.Entry(name, "other", list(aliases)) for name, aliases in user_aliases]
    return entities.Gazetteer([*entities.builtin_entries(), *extra])


def analyze(article: Article, gaz: entities.Gazetteer) -> Analysis:
    text = article.text
    sentences = textja.split_sentences(text)
    tokens = textja.tokenize(text, sentences)
    mentions = entities.resolve_surnames(entities.find_mentions(text, tokens, gaz))
    lead_end = sentences[min(1, len(sentences) - 1)].end if sentences else 0
    days = [d.isoformat() for s, _e, d in textja.find_dates(text, article.published) if s < lead_end]
    head_end = sentences[min(HEAD_SENTENCES, len(sentences)) - 1].end if sentences else 0
    head_tokens = textja.tokenize(article.title) + [t for t in tokens if t.end <= head_end]
    return Analysis(
        sentences=sentences,
        lemmas=textja.content_lemmas(tokens),
        head_lemmas=sorted(set(textja.content_lemmas(head_tokens))),
        mentions=mentions,
        event_days=sorted(set(days)),
        numbers=textja.find_numbers(text),
    )


def embedding_text(article: Article, analysis: Analysis) -> str:
    lead = "".join(s.text for s in analysis.sentences[:3])
    return f"{article.title}。{lead}"[:EMBED_CHARS]


def embed_batch(items: list[tuple[Article, Analysis]]) -> np.ndarray:
    return embed.passages([embedding_text(a, an) for a, an in items])

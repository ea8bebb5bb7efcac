"""Language stage: sentences, tokens, lemmas, entities, dates, numbers, embedding."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from matome.language import embed, entities, numerals, resolve, temporal, temporal_en, textja
from matome.records import Analysis, Article, Stage
from matome.settings import EmbedSettings

STAGE = Stage("analyze", 11)
EMBED_CHARS = 400  # title + lead: what identifies the event, not the background
HEAD_SENTENCES = 3  # the lead: where a report says what happened


@lru_cache(maxsize=4)
def gazetteer(user_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> entities.Gazetteer:
    builtin = {e.name: e for e in entities.builtin_entries()}
    extra = [entities.Entry(name, builtin[name].kind if name in builtin else "other",
                            [*(builtin[name].aliases if name in builtin else []), *aliases])
             for name, aliases in user_aliases]
    return entities.Gazetteer([*entities.builtin_entries(), *extra])


def analyze(article: Article, gaz: entities.Gazetteer) -> Analysis:
    text = article.text
    sentences = textja.split_sentences(text)
    tokens = textja.tokenize(text, sentences)
    mentions = resolve.resolve_surnames(entities.find_mentions(text, tokens, gaz))
    lead_end = sentences[min(1, len(sentences) - 1)].end if sentences else 0
    times = temporal.find_times(text, article.published)
    if article.lang == "en":  # English reports date events by weekday: "agreed on Thursday"
        times = sorted(times + temporal_en.find_times(text, article.published), key=lambda e: e.start)
    days = event_day(times, lead_end, article.published, text)
    quantities = numerals.find_quantities(text)
    head_end = sentences[min(HEAD_SENTENCES, len(sentences)) - 1].end if sentences else 0
    head_tokens = textja.tokenize(article.title) + [t for t in tokens if t.end <= head_end]
    return Analysis(
        sentences=sentences,
        lemmas=textja.content_lemmas(tokens),
        head_lemmas=sorted(set(textja.content_lemmas(head_tokens))),
        mentions=mentions,
        event_days=sorted(set(days)),
        numbers=[q.key() for q in quantities],
        times=[_time_json(e) for e in times],
        quantities=[asdict(q) for q in quantities],
    )


def _time_json(e: temporal.TimeExpr) -> dict[str, object]:
    data = asdict(e)
    data["day"] = e.day.isoformat() if e.day else None
    return data


def event_day(times: list[temporal.TimeExpr], lead_end: int,
              published: datetime | None, text: str = "") -> list[str]:
    """The day the report's event happened: the latest day its lead names, not after publication.

    Earlier days in a lead are usually background (「12日の地震に続き14日夜…」,
    「1月29日の判決を不服として10日控訴」); later ones are plans (「3月1日から
    発動」), which would tie a preview to the meeting it announces. A day
    after publication is allowed for time zones (米東部時間5日 = 日本時間6日).
    """
    limit = (published + timedelta(days=1)).date() if published else None
    days = [e.day for e in times if e.kind in {"date", "relative"} and e.day is not None
            and e.start < lead_end and (limit is None or e.day <= limit)]
    if days:
        return [max(days).isoformat()]
    if published is None:
        # An undated report (a feed summary, a pasted list) that names only 「５日」 or
        # 「10月30日」 still tells its event's day apart from a look-alike's 「８日」:
        # kept partial (XXXX-XX-05), compared by the parts both sides know.
        # With no publication day to order them by, the event's day is the
        # first the lead names as when something happened: not one that
        # qualifies a noun (「12日の地震」, background) or sets a target
        # (「23日に解散」, a plan).
        partial = [e for e in times if e.kind == "date" and e.start < lead_end
                   and PARTIAL_DAY.fullmatch(e.value)]
        told = [e for e in partial if text[e.end:e.end + 1] not in {"の", "に", "ま", "か"}]
        if told or partial:
            return [(told or partial)[0].value]
    return []


PARTIAL_DAY = re.compile(r"XXXX-(?:XX|\d\d)-\d\d")


def embedding_text(article: Article, analysis: Analysis) -> str:
    lead = "".join(s.text for s in analysis.sentences[:3])
    return f"{article.title}。{lead}"[:EMBED_CHARS]


def embed_batch(items: list[tuple[Article, Analysis]],
                settings: EmbedSettings | None = None) -> np.ndarray:
    return embed.passages([embedding_text(a, an) for a, an in items], settings)

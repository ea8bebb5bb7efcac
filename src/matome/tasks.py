"""The per-item work of ``process``, as an engine's worker runs it: extraction, analysis, writing.

Each function takes one item (a raw document, a batch of reports, a story's formats) and
the settings, and returns its ``Outcome`` (``matome.worker``): computed in a worker process,
on a Ray worker or in this one, stored by ``pipeline``. This module imports only the fields
that do the work, never the store or the story stages: what a worker process imports is
part of every ``process`` run's start (``matome.worker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matome import extract
from matome.language import analyze, reuse
from matome.records import Analysis, Article, RawDoc, Thread
from matome.settings import Settings
from matome.worker import Outcome, attempt, fatal
from matome.write import toolkit, verify

__all__ = ["Analyzed", "Queued", "analyzed", "extracted", "written"]


def extracted(group: list[tuple[int, RawDoc]], settings: Settings
              ) -> list[Outcome[tuple[Article, Thread | None]]]:
    """A few raw documents' articles (and a board page's thread), wherever the engine runs
    them; each document's failure is its own outcome. A few to a task: a feed entry takes
    less time to extract than to send to a worker and back."""
    return [attempt(extract.extract_with_thread, doc, settings.extract) for _, doc in group]


@dataclass(frozen=True)
class Queued:
    """A report to analyse, its input hash, and its stored vector that may be kept (``reuse``)."""

    article: Article
    input_hash: str
    prior: reuse.Prior | None = None


@dataclass(frozen=True)
class Analyzed:
    """One report's analysis and its vector, each its own outcome (no vector is asked of an
    analysis that failed); ``reused``: the stored vector, not embedded again."""

    analysis: Outcome[Analysis]
    vector: Outcome[Any] | None
    reused: bool = False


def analyzed(group: list[Queued], settings: Settings) -> list[Analyzed]:
    """A batch of reports analysed and embedded, wherever the engine runs it: only the texts
    no stored vector was made from; when the batch's embedding fails, one report at a time,
    each failure its own."""
    gaz = analyze.gazetteer_for(settings.aliases)
    outs = [attempt(analyze.analyze, q.article, gaz) for q in group]
    # per analysed report: its stored vector when the new analysis embeds the same text
    who = reuse.embedder(settings.embed)
    kept = {i: reuse.kept(q.prior, q.article, o.get(), who)
            for i, (q, o) in enumerate(zip(group, outs, strict=True)) if o.error is None}
    new = [(group[i].article, outs[i].get()) for i, v in kept.items() if v is None]
    try:
        fresh = [Outcome(v) for v in analyze.embed_batch(new, settings.embed)] if new else []
    except Exception as exc:
        if fatal(exc):
            raise
        fresh = [attempt(_embed_one, a, an, settings) for a, an in new]
    embedded = iter(fresh)
    return [Analyzed(o, None) if i not in kept
            else Analyzed(o, Outcome(v), reused=True) if (v := kept[i]) is not None
            else Analyzed(o, next(embedded)) for i, o in enumerate(outs)]


def _embed_one(a: Article, an: Analysis, settings: Settings) -> Any:
    return analyze.embed_batch([(a, an)], settings.embed)[0]


def written(task: list[tuple[str, Any]], settings: Settings) -> list[Outcome[Any]]:
    """One story's formats (name, inputs) written extractively and verified, wherever the
    engine runs it: one task per story, so its formats share one sentence pool and one
    conflict search (``toolkit.one_story``); each format's failure is its own outcome."""
    from matome.write import formats

    def one(fmt_name: str, inp: Any) -> Any:
        return verify.verify(
            formats.write_story(formats.FORMATS[fmt_name], inp, settings.writer,
                                settings.publish.min_sources),
            [*inp.articles, *(a for group in inp.earlier for a in group)], settings.writer,
            settings.aliases)

    with toolkit.one_story():
        return [attempt(one, fmt_name, inp) for fmt_name, inp in task]

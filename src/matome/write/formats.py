"""The registry of article formats (FORMATS.md): one place names them all.

Each format declares its name (its module's ``NAME``), what it is written
from besides the story's own reports (the latest earlier stories of its
storyline, ``windows.context`` of them; the story's board posts), whether an LLM may write it (``writer.kind =
"llm"``) and its length rules. The pipeline and the verifier ask the
registry rather than test names. (``settings`` and the site may not import
the write stage: the writer settings' defaults name the same formats, and a
test holds them to the registry.)

A story told by fewer reports than ``publish.min_sources`` is published in
every format as its report (``short``), never re-cut into an article.

Every format's sentences are spans of its sources with a citation to them;
the only words added are ones verification checks: an attribution
(「北海新報によると、」), section labels, the 出典により異なる form, and Q&A
headings that state no fact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from matome.records import Analysis, Article, Post, Written
from matome.settings import WriterSettings
from matome.write import brief, explainer, matome, news
from matome.write import short as short_form
from matome.write.toolkit import Inputs


@dataclass(frozen=True)
class Limits:
    """A format's length rules in characters: 見出し at most ``headline``, リード within ``lead``."""

    headline: int
    lead: tuple[int, int]


def standard_limits(settings: WriterSettings) -> Limits:
    """見出し and リード as FORMATS.md sets them for news, from the writer settings."""
    return Limits(settings.headline_max_chars, (settings.lead_min_chars, settings.lead_max_chars))


@dataclass(frozen=True)
class Format:
    """One article format: how it is written, from what, by which writer, within which lengths."""

    name: str
    write: Callable[[Inputs, WriterSettings, datetime | None], Written]
    earlier: bool = False       # reads the earlier stories of the story's storyline
    reactions: bool = False     # reads the story's board posts (never as a source)
    llm: bool = False           # written by the LLM writer when writer.kind = "llm"
    limits: Callable[[WriterSettings], Limits] = standard_limits

    def inputs(self, articles: list[Article], analyses: dict[str, Analysis],
               earlier: Sequence[list[Article]] = (), posts: Sequence[Post] = ()) -> Inputs:
        """What this format writes a story from: its reports, and only what else it reads."""
        return Inputs(articles, analyses, list(earlier) if self.earlier else [],
                      list(posts) if self.reactions else [])


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format(brief.NAME, brief.write, llm=True),
    Format(news.NAME, news.write),
    Format(explainer.NAME, explainer.write, earlier=True),
    Format(matome.NAME, matome.write, earlier=True, reactions=True),
)}
# Written when no configured format is known; the story's ``article`` unless writer.primary says.
DEFAULT = brief.NAME


def wanted(names: Iterable[str]) -> list[Format]:
    """The formats of ``names`` the registry knows, in order; the default when none is."""
    return [FORMATS[n] for n in names if n in FORMATS] or [FORMATS[DEFAULT]]


def short(inputs: Inputs, min_sources: int) -> bool:
    """Whether a story is published as its report rather than written: fewer reports than
    ``min_sources`` (``publish.min_sources``; copies are not among the inputs)."""
    return len(inputs.articles) < min_sources


def write_story(fmt: Format, inputs: Inputs, settings: WriterSettings, min_sources: int,
                built: datetime | None = None) -> Written:
    """The story in format ``fmt``: written, or its report as itself when too few tell it."""
    if short(inputs, min_sources):
        return short_form.write(fmt.name, inputs, settings, built)
    return fmt.write(inputs, settings, built)


def limits(name: str, settings: WriterSettings) -> Limits:
    """The length rules of the format ``name`` (the standard ones for a name not registered)."""
    f = FORMATS.get(name)
    return f.limits(settings) if f is not None else standard_limits(settings)

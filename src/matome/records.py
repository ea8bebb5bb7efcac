"""Typed records that flow between stages.

Stages are functions from these records to these records; the store turns
them into rows and back. Each record a stage produces is stored with the
stage's name/version (``Stage``) and a hash of its input, so that a re-run
skips work whose input has not changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Stage:
    """A stage's identity: a changed behaviour gets a new version."""

    name: str
    version: int

    @property
    def tag(self) -> str:
        return f"{self.name}/{self.version}"


def digest(*parts: Any) -> str:
    """Stable hash of JSON-able parts: the input hash a stage records."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        else:
            h.update(json.dumps(part, ensure_ascii=False, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class RawDoc:
    """Input exactly as read, stored before any parsing.

    ``kind`` says how to parse ``content``: ``html`` (a page), ``record`` (one
    JSONL object, UTF-8 JSON) or ``entry`` (one feed entry, as JSON with the
    entry's HTML content). ``key`` identifies the item across re-ingests.
    """

    key: str
    kind: str
    origin: str
    location: str
    content: bytes
    hints: dict[str, Any] = field(default_factory=dict)
    # Identity beyond the key, not part of the content hash: the source it
    # came from and its canonical link, so an entry seen again under a new
    # GUID (a feed that rotates them) is recognised as the same entry.
    source: str = ""
    link: str = ""
    # When it was fetched or read (ISO 8601, UTC): the reference for dates
    # written without a year and the clamp for dates in the future.
    fetched: str = ""

    @property
    def content_hash(self) -> str:
        return digest(self.kind, self.content, self.hints)


@dataclass
class Article:
    """One extracted report."""

    id: str
    url: str
    title: str
    text: str
    source: str
    lang: str
    published: datetime | None = None
    published_raw: str = ""
    published_how: str = ""
    subtitle: str = ""
    author: str = ""
    encoding: str = ""
    encoding_reason: str = ""
    # What the page is: "news" (a report), "teaser" (paywalled or cut short:
    # never passed off as the full article), "blog" (a personal post, never a
    # news source), "board" (a board thread or まとめ page: reactions only).
    kind: str = "news"
    # Machine-readable notes a person can read: "future-date-clamped",
    # "no-date", "paywalled", ...
    flags: list[str] = field(default_factory=list)
    updated: str = ""
    country: str = ""  # the outlet's country, from its configured source

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass
class Post:
    """One post of a board thread (2ch/5ch style, or quoted on a まとめ page).

    Stored as a reaction to the story of the report the thread discusses,
    never as a fact and never as a source for a story's sentences.
    """

    number: int
    body: str
    name: str = ""
    posted: str = ""          # ISO 8601 with offset when the page gives a time
    poster_id: str = ""       # the board's ID: field (per-day poster hash)
    replies: list[int] = field(default_factory=list)   # >>N anchors in the body


@dataclass(frozen=True)
class Sentence:
    """A sentence as a span [start, end) of its article's text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Mention:
    """An entity mention: its canonical key, display form and kind."""

    key: str
    name: str
    kind: str
    surface: str
    start: int
    end: int
    # The name's sound in Latin letters, one word per name part ("saeki kenji"),
    # used to link a Japanese name to the same name written in an English report.
    sound: str = ""


@dataclass
class Analysis:
    """What the language stage finds in one article."""

    sentences: list[Sentence]
    lemmas: list[str]
    head_lemmas: list[str]
    mentions: list[Mention]
    event_days: list[str]
    numbers: list[str]
    # Every time expression (temporal.TimeExpr) and figure (numerals.Quantity)
    # as stored JSON, with offsets into the article text.
    times: list[dict[str, Any]] = field(default_factory=list)
    quantities: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        return cls(
            sentences=[Sentence(**s) for s in data["sentences"]],
            lemmas=list(data["lemmas"]),
            head_lemmas=list(data["head_lemmas"]),
            mentions=[Mention(**m) for m in data["mentions"]],
            event_days=list(data["event_days"]),
            numbers=list(data["numbers"]),
            times=list(data.get("times", [])),
            quantities=list(data.get("quantities", [])),
        )


@dataclass
class Citation:
    article: str
    quote: str


@dataclass
class WrittenSentence:
    text: str
    citations: list[Citation]
    # "span": the text is a cited span (after an attribution); "conflict": a
    # 出典により異なる sentence naming each cited outlet and the figure it gives
    kind: str = "span"


@dataclass
class Section:
    name: str
    sentences: list[WrittenSentence]
    sources: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Written:
    """A story written in one format, with provenance and its check report."""

    format: str
    headline: str
    subheadline: str
    lead: str
    sections: list[Section]
    provenance: dict[str, Any]
    lead_citations: list[Citation] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Written:
        sections = [
            Section(
                name=s["name"],
                sentences=[
                    WrittenSentence(s2["text"], [Citation(**c) for c in s2["citations"]],
                                    s2.get("kind", "span"))
                    for s2 in s["sentences"]
                ],
                sources=s.get("sources", []),
            )
            for s in data["sections"]
        ]
        return cls(
            format=data["format"],
            headline=data["headline"],
            subheadline=data["subheadline"],
            lead=data["lead"],
            sections=sections,
            provenance=data["provenance"],
            lead_citations=[Citation(**c) for c in data.get("lead_citations", [])],
            conflicts=data.get("conflicts", []),
            report=data.get("report", {}),
        )

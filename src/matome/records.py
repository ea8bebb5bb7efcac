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
from typing import Any, Generic, TypeVar


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
    # written without a year and the end of the window of plausible publication dates.
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
    # Machine-readable notes a person can read: "implausible-date" (kept in
    # published_raw only), "no-date", "paywalled", ...
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


@dataclass
class Thread:
    """A board page's posts and the canonical URLs of the reports it discusses, as extraction
    read them (the page is parsed once: the pipeline stores these as reactions)."""

    posts: list[Post]
    discussed: list[str]


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
    # Where each sentence's lemmas end in ``lemmas`` (which lists them sentence by sentence):
    # the writer reads a sentence's lemmas here instead of running Sudachi on it again.
    # Empty in analyses stored before it was kept.
    lemma_ends: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """What ``asdict`` gives (the same keys in the same order), built by hand: ``asdict``
        deep-copies every mention and time, a tenth of the analysis stage's own cost. The lists
        are new; what they hold is shared (the caller serialises it at once)."""
        return {
            "sentences": [{"start": s.start, "end": s.end, "text": s.text} for s in self.sentences],
            "lemmas": list(self.lemmas), "head_lemmas": list(self.head_lemmas),
            "mentions": [{"key": m.key, "name": m.name, "kind": m.kind, "surface": m.surface,
                          "start": m.start, "end": m.end, "sound": m.sound} for m in self.mentions],
            "event_days": list(self.event_days), "numbers": list(self.numbers),
            "times": list(self.times), "quantities": list(self.quantities),
            "lemma_ends": list(self.lemma_ends),
        }

    def sentence_lemmas(self, i: int) -> list[str] | None:
        """The content lemmas of sentence ``i``, or None when this analysis does not keep them."""
        if len(self.lemma_ends) != len(self.sentences):
            return None
        return self.lemmas[self.lemma_ends[i - 1] if i else 0 : self.lemma_ends[i]]

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
            lemma_ends=list(data.get("lemma_ends", [])),
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


T = TypeVar("T")
CONFLICT_KINDS = ("figure", "date", "name", "attribution")


@dataclass(frozen=True)
class Claim:
    """One outlet's claim in a conflict: the value it gives, in the sentence (``quote``) giving it."""

    article: str
    source: str
    quote: str
    value: str       # the figure, date, name or speaker as the article writes it
    side: int = 0    # claims on one side agree (約500億円 and 500億円)


@dataclass
class Conflict:
    """Where a story's sources disagree (CONTRACT.md ``conflicts``), every claim cited."""

    about: str
    kind: str                 # one of CONFLICT_KINDS
    claims: list[Claim]
    unit: str = ""            # a figure's (人, 億円)
    over_time: bool = False   # claims published hours apart: a later one may be an update

    @property
    def sides(self) -> list[list[Claim]]:
        out: dict[int, list[Claim]] = {}
        for c in self.claims:
            out.setdefault(c.side, []).append(c)
        return list(out.values())

    def to_json(self) -> dict[str, Any]:
        return {"about": self.about, "kind": self.kind, "claims": [asdict(c) for c in self.claims],
                **({"unit": self.unit} if self.unit else {}), "over_time": self.over_time}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conflict:
        if "claims" in data:
            claims = [Claim(**c) for c in data["claims"]]
        else:  # stored before conflicts took the contract's shape: sides of {figure, quote, …}
            claims = [Claim(c["article"], c["source"], c["quote"], c["figure"], n)
                      for n, side in enumerate(data["sides"]) for c in side]
        kind = "figure" if data["kind"] == "number" else data["kind"]
        return cls(data["about"], kind, claims, data.get("unit", ""), bool(data.get("over_time")))


@dataclass(frozen=True)
class Tried:
    """The writer an article was meant to come from, when a fallback wrote it instead."""

    writer: str
    model: str | None
    prompt: str | None


@dataclass
class Provenance:
    """Who wrote an article from which reports, and when (CONTRACT.md ``provenance``).

    Every writer fills every field; JSON leaves out ``note`` (told to readers: one source only),
    ``lead_outlet`` (a まとめ's wire lead), ``fallback`` and ``tried`` when unset, except that
    an article a model wrote (it has a ``prompt``) always gives ``fallback`` and ``single_source``.
    """

    writer: str
    sources: list[str] = field(default_factory=list)
    built: str = ""
    model: str | None = None
    prompt: str | None = None
    single_source: bool = False
    note: str = ""
    lead_outlet: str = ""
    fallback: str | None = None   # why the model's article was not used
    tried: Tried | None = None

    def to_json(self) -> dict[str, Any]:
        by_model = self.prompt is not None
        optional = {"note": self.note or None, "lead_outlet": self.lead_outlet or None,
                    "fallback": self.fallback, "tried": asdict(self.tried) if self.tried else None}
        return {"writer": self.writer, "model": self.model, "prompt": self.prompt,
                "sources": self.sources, "built": self.built,
                **{k: v for k, v in optional.items() if v is not None or (k == "fallback" and by_model)},
                **({"single_source": self.single_source} if by_model else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        tried = data.get("tried")
        return cls(data["writer"], list(data.get("sources", [])), data.get("built", ""),
                   data.get("model"), data.get("prompt"),
                   bool(data.get("single_source", bool(data.get("note")))),  # the note says so
                   data.get("note", ""), data.get("lead_outlet", ""), data.get("fallback"),
                   Tried(**tried) if tried else None)


@dataclass(frozen=True)
class Change:
    """A sentence verification (or the writer) changed: ``repaired`` (to ``now``) or ``dropped``."""

    section: str
    action: str
    reason: str
    text: str
    now: str = ""


@dataclass(frozen=True)
class Lengths(Generic[T]):
    """見出し and リード: their lengths in characters, or whether those fit the format's limits."""

    headline: T
    lead: T


@dataclass(frozen=True)
class Issue:
    """What a model's answer got wrong and its writer caught (``unknown ids``, ``wrong language``)."""

    kind: str
    section: str | None = None
    ids: list[str] | None = None
    text: str | None = None


@dataclass(frozen=True)
class Tokens:
    prompt: int
    completion: int
    reported: bool  # by the server (else estimated)


@dataclass
class LLMReport:
    """How a model's answer went (mode, cost, issues caught), or why it was not used (``fallback``)."""

    issues: list[Issue] = field(default_factory=list)
    fallback: str | None = None
    mode: str = ""
    finish_reason: str = ""
    served_by: str = ""
    tokens: Tokens | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        issues = [_set(asdict(i)) for i in self.issues]
        if self.fallback is not None:
            return {"fallback": self.fallback, "issues": issues}
        return {"mode": self.mode, "finish_reason": self.finish_reason, "served_by": self.served_by,
                "tokens": asdict(self.tokens) if self.tokens else None, "issues": issues,
                "notes": self.notes}


@dataclass
class VerifyReport:
    """What verification checked and changed; the export's ``verification`` is this less ``changes``."""

    sentences: int = 0
    supported: int = 0
    repaired: int = 0
    dropped: int = 0
    supported_share: float = 1.0
    changes: list[Change] = field(default_factory=list)
    lengths: Lengths[int] | None = None    # unset in a report stored before lengths were checked
    length_ok: Lengths[bool] | None = None
    headline_source: str | None = None    # the report whose own title the 見出し is
    llm: LLMReport | None = None          # the LLM writer's part

    def to_json(self, *, changes: bool = True) -> dict[str, Any]:
        data = asdict(self) | {"changes": [_set(asdict(c) | {"now": c.now or None})
                                           for c in self.changes] if changes else None,
                               "llm": self.llm.to_json() if self.llm else None}
        return {k: v for k, v in data.items() if v is not None or k == "headline_source"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifyReport:
        llm, lengths, ok = data.get("llm"), data.get("lengths"), data.get("length_ok")
        model = LLMReport(**llm | {"issues": [Issue(**i) for i in llm.get("issues", [])],
                                   "tokens": Tokens(**llm["tokens"]) if llm.get("tokens") else None}
                          ) if llm else None
        return cls(**data | {"changes": [Change(**c) for c in data.get("changes", [])], "llm": model,
                             "lengths": Lengths(**lengths) if lengths else None,
                             "length_ok": Lengths(**ok) if ok else None})


def _set(data: dict[str, Any]) -> dict[str, Any]:  # unset (None) keys left out of JSON
    return {k: v for k, v in data.items() if v is not None}


@dataclass
class Written:
    """A story written in one format, with provenance and its check report."""

    format: str
    headline: str
    subheadline: str
    lead: str
    sections: list[Section]
    provenance: Provenance
    lead_citations: list[Citation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    report: VerifyReport = field(default_factory=VerifyReport)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"provenance": self.provenance.to_json(),
                               "conflicts": [c.to_json() for c in self.conflicts],
                               "report": self.report.to_json()}

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
            provenance=Provenance.from_json(data["provenance"]),
            lead_citations=[Citation(**c) for c in data.get("lead_citations", [])],
            conflicts=[Conflict.from_json(c) for c in data.get("conflicts", [])],
            report=VerifyReport.from_json(data.get("report", {})),
        )


# --- rows the store gives back: what the pipeline and the site read of stories ---------


@dataclass(frozen=True)
class Membership:
    """One report's place in a story, in the order assignments were made (``seq``).

    ``role``: "member" (a report the story is grouped from) or "duplicate" (a
    copy, joined to its original's story). ``evidence`` is why, as stored.
    """

    article_id: str
    story_id: str
    role: str
    seq: int
    evidence: dict[str, Any]
    stage: str


@dataclass(frozen=True)
class StoryRow:
    """A story as stored: its seed report, flags ("capped"), storyline and the story it follows."""

    id: str
    seed_article: str
    flags: dict[str, Any]
    storyline: str | None = None
    follows: str | None = None


@dataclass(frozen=True)
class DedupeRow:
    """What dedupe decided of one report: its hashes, and the original it copies (None: original)."""

    article_id: str
    text_hash: str
    minhash: bytes
    duplicate_of: str | None
    kind: str | None
    similarity: float | None
    stage: str
    input_hash: str


@dataclass(frozen=True)
class TagRow:
    """A tag: one theme or real-world thing, with every spelling it goes by."""

    id: str
    name: str
    kind: str
    aliases: list[str]
    parent: str | None = None


@dataclass(frozen=True)
class StoryTag:
    story_id: str
    tag_id: str
    weight: float


@dataclass(frozen=True)
class Reaction:
    """A stored board post and the report URLs its thread discusses (how it finds its story)."""

    thread_article: str
    post: Post
    discussed: list[str]

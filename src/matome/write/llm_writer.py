"""Write stage, LLM writer: a story's brief written by a model, then verified.

The model sees the story's source sentences, each with a short id (``a2s7``:
the 2nd report's 7th sentence), and answers in JSON: a headline, a lead and
the 概要/詳細/要点 sections, each sentence naming the ids it rests on. The
answer is never trusted:

- ids that do not exist are reported and ignored; a sentence left with no
  real source is dropped;
- a sentence in the wrong language (English for a Japanese story) is
  replaced by the source sentence it cites;
- a headline that is too long, in the wrong language, or has a figure or a
  「」 quote no report has is replaced by a report's own title;
- the lead is made the verbatim sentences it cites;
- then ``verify.verify`` checks every sentence against the spans it cites
  (figures, quotes, wording) and repairs or drops it.

Everything caught is listed in the article's report (``changes`` and
``llm.issues``). When the server fails (timeout, HTTP error, malformed JSON,
budget spent) or nothing of the answer survives, the story is written by the
extractive writer instead and its provenance says why (``fallback``). A story
from a single outlet says so in its サブ見出し and provenance.
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from matome.errors import LLMError
from matome.language import numerals, textja
from matome.records import (
    Analysis,
    Article,
    Change,
    Citation,
    Issue,
    LLMReport,
    Provenance,
    Section,
    Tokens,
    Tried,
    Written,
    WrittenSentence,
)
from matome.settings import Settings
from matome.write import brief, clean, conflicts, headline, toolkit, verify
from matome.write.llm import LLMClient, Reply

WRITER = "llm/1"
log = logging.getLogger(__name__)
SECTIONS = (brief.OVERVIEW, brief.DETAILS, brief.POINTS)
MIN_CHARS = 8
REPEAT_OVERLAP = 0.7      # character-bigram Jaccard at which a sentence repeats another
HEADLINE_GROUNDING = 0.6  # share of a headline's character bigrams the reports must have
_QUOTED = re.compile(r"「([^「」]+)」")
_PROMPT_NAME = re.compile(r"^([a-z_]+)/v(\d+)$")


@dataclass(frozen=True)
class Source:
    """A source sentence as the model sees it: an id and a verbatim span."""

    id: str
    article: Article
    text: str


@dataclass
class Prepared:
    """What one story's request is made of (built before any thread starts)."""

    articles: list[Article]
    quoted: list[Article]       # the reports whose sentences the model may cite
    sources: dict[str, Source]
    lang: str
    messages: list[dict[str, str]]
    schema: dict[str, Any]


def load_prompt(version: str) -> tuple[str, str]:
    """The (system, user) templates of ``brief/v1`` → ``prompts/brief.v1.md``."""
    m = _PROMPT_NAME.match(version)
    if not m:
        raise LLMError(f"llm.prompt must look like brief/v1, got {version!r}")
    res = resources.files("matome.write").joinpath("prompts", f"{m[1]}.v{m[2]}.md")
    try:
        text = res.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LLMError(f"no prompt template {m[1]}.v{m[2]}.md") from None
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    _, _, rest = text.partition("=== system ===")
    system, _, user = rest.partition("=== user ===")
    if not system.strip() or not user.strip():
        raise LLMError(f"prompt {version}: needs '=== system ===' and '=== user ===' parts")
    return system.strip(), user.strip()


def story_language(articles: list[Article]) -> str:
    ja = sum(1 for a in articles if a.lang == "ja")
    return "ja" if ja * 2 >= len(articles) else (articles[0].lang or "ja")


def source_sentences(articles: list[Article], analyses: dict[str, Analysis],
                     limit: int) -> dict[str, Source]:
    """Each report's sentences (in order, a fair share of ``limit`` each) with their ids."""
    quota = max(3, limit // max(1, len(articles)))
    out: dict[str, Source] = {}
    for i, a in enumerate(articles, start=1):
        taken = 0
        for j, s in enumerate(analyses[a.id].sentences, start=1):
            # What the extractive writers may cite, the model may too: a dateline, caption or
            # label opening a sentence is the page's (the rest is still a verbatim span), and
            # boilerplate, broken sentences and bare quotes are left out.
            text = clean.cited_span(s.text, a.lang) or ""
            if len(text) < MIN_CHARS:
                continue
            out[f"a{i}s{j}"] = Source(f"a{i}s{j}", a, text)
            taken += 1
            if taken >= quota or len(out) >= limit:
                break
    return out


def answer_schema(ids: Iterable[str], settings: Settings) -> dict[str, Any]:
    """JSON Schema of the answer; ids are an enum so grammar-constrained servers can't invent one."""
    w = settings.writer
    id_list = {"type": "array", "items": {"type": "string", "enum": sorted(ids)},
               "minItems": 1, "maxItems": 3}
    sentence = {"type": "object", "additionalProperties": False, "required": ["text", "sources"],
                "properties": {"text": {"type": "string", "maxLength": 160}, "sources": id_list}}
    section = {"type": "object", "additionalProperties": False, "required": ["name", "sentences"],
               "properties": {"name": {"type": "string", "enum": list(SECTIONS)},
                              "sentences": {"type": "array", "items": sentence, "minItems": 1,
                                            "maxItems": max(w.overview_sentences, w.detail_sentences,
                                                            w.points)}}}
    return {"type": "object", "additionalProperties": False,
            "required": ["headline", "lead", "sections"],
            "properties": {"headline": {"type": "string", "maxLength": w.headline_max_chars + 20},
                           "lead": sentence,
                           "sections": {"type": "array", "items": section, "minItems": 1,
                                        "maxItems": len(SECTIONS)}}}


def prepare(articles: list[Article], analyses: dict[str, Analysis], settings: Settings) -> Prepared:
    lang = story_language(articles)
    quoted = [a for a in articles if a.lang == lang] or articles
    sources = source_sentences(quoted, analyses, settings.llm.max_source_sentences)
    system, user = load_prompt(settings.llm.prompt)
    outlets = sorted({a.source for a in quoted})
    first = next(iter(sources.values()), None)
    fill = {
        "story_lang": "日本語" if lang == "ja" else lang,
        "outlets": "、".join(outlets),
        "single_source": ("この記事の情報源は1社（" + outlets[0] + "）だけです。"
                          if len(outlets) == 1 else ""),
        "sources": "\n".join(f"[{s.id}] {s.text}" for s in sources.values()),
        "example": json.dumps({"text": first.text, "sources": [first.id]} if first else
                              {"text": "…", "sources": ["a1s1"]}, ensure_ascii=False),
        "overview": str(settings.writer.overview_sentences),
        "details": str(settings.writer.detail_sentences),
        "points": str(settings.writer.points),
    }
    messages = [{"role": "system", "content": string.Template(system).safe_substitute(fill)},
                {"role": "user", "content": string.Template(user).safe_substitute(fill)}]
    return Prepared(articles, quoted, sources, lang, messages, answer_schema(sources, settings))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1) if not text[i:i + 2].isspace()} or {text}


def _grounding(text: str, sources: str) -> float:
    """Share of the text's character bigrams found in the sources.

    A headline is not a quote, so verify cannot check it span by span; this
    catches one made of the prompt's words or the model's inventions
    (「ニュース編集者」) while letting a rearranged headline of the
    reports' own words through. Character bigrams suit Japanese, which has
    no spaces, and need no tokenizer here.
    """
    grams = [text[i:i + 2] for i in range(len(text) - 1) if not text[i:i + 2].isspace()]
    if not grams:
        return 0.0
    return sum(1 for g in grams if g in sources) / len(grams)


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [str(v).strip() for v in value] if isinstance(value, list) else []


class _Assembler:
    """Turns one answer into a ``Written``, recording what it had to change."""

    def __init__(self, prep: Prepared, settings: Settings) -> None:
        self.prep, self.settings = prep, settings
        self.changes: list[Change] = []
        self.issues: list[Issue] = []
        self.seen: list[set[str]] = []

    def _change(self, section: str, action: str, reason: str, text: str, now: str = "") -> None:
        self.changes.append(Change(section, action, reason, text, now))

    def citations(self, where: str, text: str, raw_ids: Any) -> list[Citation]:
        ids = _ids(raw_ids)
        unknown = [i for i in ids if i not in self.prep.sources]
        if unknown:
            self.issues.append(Issue("unknown ids", where, unknown, text))
        known = list(dict.fromkeys(i for i in ids if i in self.prep.sources))
        return [Citation(self.prep.sources[i].article.id, self.prep.sources[i].text) for i in known]

    def sentence(self, where: str, item: Any) -> WrittenSentence | None:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            self.issues.append(Issue("malformed sentence", where, text=str(item)[:200]))
            return None
        text = item["text"].strip()
        cites = self.citations(where, text, item.get("sources"))
        if not text:
            return None
        if not cites:
            self._change(where, "dropped", "cites no source sentence that exists", text)
            return None
        if not any(c.isalpha() for c in text):
            self.issues.append(Issue("not a sentence", where, text=text))
            self._change(where, "repaired", "not a sentence (no words)", text, cites[0].quote)
            text, cites = cites[0].quote, cites[:1]
        elif self.prep.lang == "ja" and not textja.is_japanese(text):
            self.issues.append(Issue("wrong language", where, text=text))
            self._change(where, "repaired", "not in the story's language (ja)", text, cites[0].quote)
            text, cites = cites[0].quote, cites[:1]
        grams = _bigrams(textja.nfkc(text))
        # Small models repeat themselves, often with a particle changed.
        if any(len(grams & g) >= REPEAT_OVERLAP * len(grams | g) for g in self.seen):
            self._change(where, "dropped", "repeats an earlier sentence", text)
            return None
        self.seen.append(grams)
        return WrittenSentence(text, cites)

    def sections(self, data: dict[str, Any]) -> dict[str, list[WrittenSentence]]:
        raw = data.get("sections")
        if not isinstance(raw, list) or not raw:
            raise LLMError("the answer has no list of sections")
        out: dict[str, list[WrittenSentence]] = {name: [] for name in SECTIONS}
        for sec in raw:
            if not isinstance(sec, dict):
                self.issues.append(Issue("malformed section", text=str(sec)[:200]))
                continue
            name = str(sec.get("name", "")).strip()
            if name not in out:
                self.issues.append(Issue("unknown section", name))
                name = brief.DETAILS
            items = sec.get("sentences")
            for item in items if isinstance(items, list) else []:
                s = self.sentence(name, item)
                if s is not None:
                    out[name].append(s)
        limits = dict(zip(SECTIONS, (self.settings.writer.overview_sentences,
                                     self.settings.writer.detail_sentences,
                                     self.settings.writer.points), strict=True))
        for name, kept in out.items():
            for extra in kept[limits[name]:]:
                self._change(name, "dropped", "more sentences than the section allows", extra.text)
            out[name] = kept[: limits[name]]
        return out

    def headline(self, data: dict[str, Any], cited: list[str]) -> str:
        head = data.get("headline")
        head = head.strip() if isinstance(head, str) else ""
        texts = textja.nfkc("".join(a.title + "\n" + a.text for a in self.prep.quoted))
        reason = ""
        known = set(numerals.find_numbers(texts))  # the reports' figures, read once
        if not head:
            reason = "no headline"
        elif len(head) > self.settings.writer.headline_max_chars:
            reason = f"longer than {self.settings.writer.headline_max_chars} characters"
        elif self.prep.lang == "ja" and not textja.is_japanese(head):
            reason = "not in the story's language (ja)"
        elif _grounding(textja.nfkc(head), texts) < HEADLINE_GROUNDING:
            reason = "not in the reports' words"
        elif missing := [n for n in numerals.find_numbers(textja.nfkc(head))
                         if n not in known]:
            reason = f"figures not in any report: {', '.join(missing)}"
        elif bad := [q for q in _QUOTED.findall(textja.nfkc(head)) if q not in texts]:
            reason = f"quotation not in any report: 「{bad[0]}」"
        if not reason:
            return head
        # The most cited report's own title stands in for a headline that fails.
        by_cites = sorted(self.prep.quoted, key=lambda a: -cited.count(a.id))
        limit = self.settings.writer.headline_max_chars
        title = next((h for a in by_cites if (h := headline.from_title(a.title, limit))),
                     headline.fitted(by_cites[0].title, limit))
        self._change("見出し", "repaired", reason, head, title)
        return title

    def lead(self, data: dict[str, Any], overview: list[WrittenSentence]) -> tuple[str, list[Citation]]:
        raw = data.get("lead")
        text = raw.get("text", "") if isinstance(raw, dict) else ""
        text = text if isinstance(text, str) else ""
        cites = self.citations("リード", text, raw.get("sources") if isinstance(raw, dict) else [])
        if not cites and overview:
            cites = [c for c in overview[0].citations[:1]]
        w = self.settings.writer
        if len("".join(c.quote for c in cites)) > w.lead_max_chars and len(cites) > 1:
            cites = cites[:1]
        cites = self._extend(cites, w.lead_min_chars, w.lead_max_chars)
        lead = "".join(c.quote for c in cites)
        if text and textja.nfkc(text) != textja.nfkc(lead):
            self._change("リード", "repaired", "the lead must be the sentences it cites, verbatim",
                         text, lead)
        return lead, cites


    def _extend(self, cites: list[Citation], min_chars: int, max_chars: int) -> list[Citation]:
        """A lead shorter than ``min_chars`` continues with its report's next sentences, verbatim."""
        if not cites:
            return cites
        order = list(self.prep.sources.values())
        last = next((i for i, src in enumerate(order) if src.article.id == cites[-1].article
                     and src.text == cites[-1].quote), None)
        out = list(cites)
        for src in order[last + 1:] if last is not None else []:
            length = sum(len(c.quote) for c in out)
            if length >= min_chars or src.article.id != cites[-1].article \
                    or length + len(src.text) > max_chars:
                break
            out.append(Citation(src.article.id, src.text))
        return out


def _model_name(settings: Settings, reply: Reply) -> str | None:
    """The configured model name, else the server's (llama.cpp reports a file path: its name only)."""
    name = settings.llm.model or reply.model
    return name.replace("\\", "/").rsplit("/", 1)[-1] or None


def assemble(prep: Prepared, reply: Reply, analyses: dict[str, Analysis], settings: Settings,
             built: datetime) -> Written:
    """The verified article from one answer; LLMError when nothing usable is left."""
    asm = _Assembler(prep, settings)
    body = asm.sections(reply.data)
    if not any(body.values()):
        raise LLMError("no sentence of the answer cites a source sentence that exists")
    cited = [c.article for ss in body.values() for s in ss for c in s.citations]
    headline = asm.headline(reply.data, cited)
    lead, lead_cites = asm.lead(reply.data, body[brief.OVERVIEW])
    disputes = conflicts.find_conflicts(prep.quoted, analyses)
    body[brief.DETAILS] += toolkit.conflict_sentences(disputes)
    used_ids = {*cited, *(c.article for c in lead_cites), *toolkit.conflict_ids(disputes)}
    used = [a for a in prep.articles if a.id in used_ids]
    outlets = sorted({a.source for a in prep.quoted})
    single = len(outlets) == 1
    # Names the outlets the article actually rests on, not every outlet of the story.
    sub = (f"{outlets[0]}の単独報道（情報源は1社）" if single
           else "、".join(sorted({a.source for a in used} or set(outlets))) + "の報道から")
    written = Written(
        format=brief.NAME, headline=headline, subheadline=sub, lead=lead,
        sections=[*(Section(name, body[name]) for name in SECTIONS),
                  Section(brief.SOURCES, [], [toolkit.source_line(a) for a in used])],
        lead_citations=lead_cites, conflicts=disputes,
        provenance=Provenance(WRITER, [a.id for a in used], built.isoformat(timespec="seconds"),
                              _model_name(settings, reply), settings.llm.prompt, single))
    written = verify.verify(written, prep.articles, settings.writer, settings.aliases)
    if not any(s.sentences for s in written.sections[:3]):
        raise LLMError("no sentence of the answer survived verification")
    _merge_report(written, asm, reply)
    return written


def _merge_report(written: Written, asm: _Assembler, reply: Reply) -> None:
    """The writer's own repairs join verify's, so the report lists everything changed."""
    r = written.report
    mine_dropped = sum(1 for c in asm.changes if c.action == "dropped" and c.section in SECTIONS)
    mine_repaired = sum(1 for c in asm.changes if c.action == "repaired" and c.section in SECTIONS)
    r.changes = asm.changes + r.changes
    r.sentences += mine_dropped
    r.supported = max(0, r.supported - mine_repaired)
    r.repaired = sum(1 for c in r.changes if c.action == "repaired")
    r.dropped = sum(1 for c in r.changes if c.action == "dropped")
    r.supported_share = round(r.supported / r.sentences, 4) if r.sentences else 1.0
    r.llm = LLMReport(asm.issues, mode=reply.mode, finish_reason=reply.finish_reason,
                      served_by=reply.model.rsplit("/", 1)[-1],
                      tokens=Tokens(reply.prompt_tokens, reply.completion_tokens, reply.usage_reported),
                      notes=reply.notes)


def fallback(articles: list[Article], analyses: dict[str, Analysis], settings: Settings,
             built: datetime, reason: str, issues: list[Issue] | None = None) -> Written:
    """The extractive brief, saying why the LLM's was not used."""
    written = verify.verify(brief.write_brief(articles, analyses, settings.writer, built=built),
                            articles, settings.writer, settings.aliases)
    written.provenance.fallback = reason
    written.provenance.tried = Tried(WRITER, settings.llm.model or None, settings.llm.prompt)
    written.report.llm = LLMReport(issues or [], fallback=reason)
    return written


def _finish(prep: Prepared | None, outcome: Reply | Exception, articles: list[Article],
            analyses: dict[str, Analysis], settings: Settings, built: datetime) -> Written:
    if prep is not None and isinstance(outcome, Reply):
        try:
            return assemble(prep, outcome, analyses, settings, built)
        except LLMError as exc:
            return fallback(articles, analyses, settings, built, exc.reason)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # An answer shaped in a way no check foresaw: this story only.
            return fallback(articles, analyses, settings, built, f"unusable answer: {exc}")
    reason = outcome.reason if isinstance(outcome, LLMError) else f"{type(outcome).__name__}: {outcome}"
    return fallback(articles, analyses, settings, built, reason)


def _ask(client: LLMClient, prep: Prepared) -> Reply:
    return client.chat_json(prep.messages, prep.schema, name=brief.NAME)


def write(articles: list[Article], analyses: dict[str, Analysis], settings: Settings,
          client: LLMClient | None = None, built: datetime | None = None) -> Written:
    """One story's brief by the LLM, verified; the extractive brief if that fails."""
    return next(write_all([("", articles)], analyses, settings, client, built))[1]


def write_all(stories: list[tuple[str, list[Article]]], analyses: dict[str, Analysis],
              settings: Settings, client: LLMClient | None = None,
              built: datetime | None = None) -> Iterator[tuple[str, Written]]:
    """Each story's brief, in the order given; requests run ``llm.concurrency`` at a time.

    Only the requests run in threads: prompts are built and answers verified
    here, in the caller's thread (Sudachi's tokenizer is not shared across
    threads). One client (one token budget) serves the whole run.
    """
    when = built or datetime.now(UTC)
    try:
        client = client or LLMClient(settings.llm)
    except LLMError as exc:
        for sid, arts in stories:
            yield sid, fallback(arts, analyses, settings, when, exc.reason)
        return
    preps: list[Prepared | LLMError] = []
    for _, arts in stories:
        try:
            preps.append(prepare(arts, analyses, settings))
        except LLMError as exc:
            preps.append(exc)
    with ThreadPoolExecutor(max_workers=max(1, settings.llm.concurrency)) as pool:
        futures: list[Future[Reply] | None] = [
            pool.submit(_ask, client, p) if isinstance(p, Prepared) and p.sources else None
            for p in preps]
        for (sid, arts), prep, fut in zip(stories, preps, futures, strict=True):
            outcome: Reply | Exception
            if isinstance(prep, LLMError):
                outcome = prep
            elif fut is None:
                outcome = LLMError("the story has no source sentence to cite")
            else:
                try:
                    outcome = fut.result()
                except LLMError as exc:
                    outcome = exc
            written = _finish(prep if isinstance(prep, Prepared) else None, outcome, arts,
                              analyses, settings, when)
            if written.provenance.fallback:
                log.warning("story %s: written by the extractive writer: %s", sid or "-",
                            written.provenance.fallback)
            yield sid, written

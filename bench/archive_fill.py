"""Fill a store with a synthetic archive for ``bench/archive_scale.py``, fast and consistent.

Every row ``process`` would have made is written directly, in bulk (one
``executemany`` per table and chunk, one transaction per chunk), with the
stage tags and input hashes the pipeline computes, so that ``process`` right
after a fill finds nothing to do:

- raw documents: the reports as JSONL records (what ``matome ingest x.jsonl`` stores);
- articles: made by the real extract stage from those records;
- analyses: the synthetic analyses and vectors of ``archive_synth`` (no Sudachi, no
  embedder: that is what makes a million articles a matter of minutes);
- dedupe rows: the text hash the stage computes and a random MinHash signature
  (a copy carries its original's), copies pointing at their original;
- stories (one per event) and memberships in publication order, copies with
  their original's story, storylines and what each story follows;
- tags: each story's entity tags by the tags stage's rule (``story_tags``) once
  the story has all its reports, and the whole-archive input hash the tags stage
  of matome up to issue 16 keeps (a version that tags by queue retags while settling);
- written articles, every configured format: the real writers' output for a
  few stories of the stream, re-cited onto each story's own sentences (same
  sections and sentence counts), with the write stage's input hash.

What mirrors the pipeline (the hashes, the rows) is in the functions named
``*_hash`` and ``*_rows`` here, written to work with matome before and after
the incremental ``process`` of issue 16 (``_short``, ``_write``: a story too
short to write is published as its report where matome does that). State the
pipeline derives beyond these rows and the stages' queue keys (queues, tag sums,
snapshots, indexes) is left to matome: ``archive_scale`` runs ``process`` once over every fill
("settling") and reports what it redid. When a stage changes what it hashes,
change the mirror here; the fill cache is keyed by matome's source anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from bench.archive_synth import Report, Stream
from sqlalchemy import insert

from matome import extract
from matome.pipeline import WRITTEN_STAGE, queue_keys
from matome.records import Article, RawDoc, digest
from matome.settings import Settings
from matome.store import Store
from matome.store import schema as t
from matome.stories import cluster, dedupe, in_order, storyline_id, tags
from matome.write import formats, toolkit, verify

try:
    from matome.write import windows
except ImportError:  # a matome from before it (an A/B run): a story read its whole storyline
    windows = None

FILL_VERSION = 2  # 2: the stages' queue keys
ORIGIN = "synthetic/archive.jsonl"
CHUNK = 2000        # reports per transaction
STORY_DONE = timedelta(hours=42)   # every report of an event is out by then
LINE_DONE = timedelta(days=32)     # and no further event joins its storyline


def fill_key(size: int, per_day: int, seed: int, settings: Settings, new: int = 1000) -> str:
    """What a filled store depends on: a cached one with another key is filled again. The
    code is part of it (every source file of matome): a fill is settled by the real ``process``
    (``archive_scale.prepare``), so a store settled by other code would measure a migration.
    ``new``: the reports kept after it for the run to ingest (every day's)."""
    from dataclasses import replace

    # not where the embeddings stub listens: a port drawn anew each run, which made no
    # filled store reusable by the next run
    kept = replace(settings, embed=replace(settings.embed, base_url=""))
    return digest(FILL_VERSION, size, per_day, seed, code_digest(), embedder(settings),
                  kept, new)[:16]


def code_digest() -> str:
    """A digest of matome's source (modules, templates, data): which code a figure is of."""
    import matome

    root = Path(matome.__file__).parent
    code = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.suffix in {".py", ".html", ".toml", ".css"} and "__pycache__" not in f.parts:
            code.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return code.hexdigest()


def embedder(settings: Settings) -> tuple[str, str, str]:
    return (settings.embed.backend, settings.embed.model, settings.embed.passage_prefix)


# --- what the pipeline would compute (mirrors pipeline.run_*) -----------------------


def analysis_hash(a: Article, settings: Settings) -> str:
    """run_analyze's input hash of an article (the embedder is part of the input)."""
    return digest(a.title, a.text, a.published, sorted(settings.aliases.items()), embedder(settings))


def _short(inp: toolkit.Inputs, settings: Settings) -> bool:
    """Whether the story is published as its report (too few sources), where matome does that."""
    short = getattr(formats, "short", None)
    return bool(short is not None and short(inp, settings.publish.min_sources))


def _write(fmt: formats.Format, inp: toolkit.Inputs, settings: Settings) -> Any:
    """What run_write has the extractive writer make of a story (before verification)."""
    write_story = getattr(formats, "write_story", None)
    if write_story is not None:
        return write_story(fmt, inp, settings.writer, settings.publish.min_sources)
    return fmt.write(inp, settings.writer, None)


def written_hash(fmt: formats.Format, arts: list[Article], earlier: list[list[Article]],
                 settings: Settings) -> str:
    """run_write's input hash of one story in one format (extractive writer, no board posts)."""
    inp = fmt.inputs(arts, {}, earlier, [])
    writer = getattr(toolkit, "SHORT_WRITER", "") if _short(inp, settings) else toolkit.WRITER
    return digest(writer, fmt.name,
                  [[(a.id, a.title, a.text, a.published, a.source) for a in group]
                   for group in [inp.articles, *inp.earlier]],
                  [], settings.writer, None, sorted(settings.aliases.items()))


def tags_hash(written_from: dict[str, list[str]], analysis_hashes: list[tuple[str, str]],
              settings: Settings) -> str:
    """run_tags' input hash: every story's reports and every analysis hash."""
    return digest(tags.STAGE.tag, written_from, sorted(analysis_hashes), settings.tags,
                  settings.themes, settings.aliases)


# --- written articles: real output re-cited ------------------------------------------


def templates(stream: Stream, settings: Settings) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (format, reports 1/2/3+): what the real writer and verifier make of a story of
    the stream's first days; every story of the fill is written in its shape."""
    by_event: dict[int, list[Report]] = {}
    for r in stream.reports(1500):
        if r.copy_of is None:
            by_event.setdefault(r.event.index, []).append(r)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for reports in by_event.values():
        size = min(3, len(reports))
        if any((f, size) in out for f in settings.writer.formats):
            continue
        arts = [article_of(r)[1] for r in reports]
        analyses = {r.id: r.analysis for r in reports}
        for fmt in formats.wanted(settings.writer.formats):
            w = verify.verify(_write(fmt, fmt.inputs(arts, analyses, [], []), settings),
                              arts, settings.writer, settings.aliases)
            data = w.to_json()
            out[(fmt.name, size)] = data | {"json": json.dumps(data, ensure_ascii=False)}
    return out


def recite(tpl: dict[str, Any], arts: list[Article], sentences: dict[str, list[str]],
           built: str) -> dict[str, Any]:
    """A template's sections and sentence counts, each cited sentence one of the story's own."""
    out = json.loads(tpl["json"])
    pool = [(a.id, sentences[a.id][i]) for i in range(max(len(sentences[a.id]) for a in arts))
            for a in arts if i < len(sentences[a.id])]
    first = arts[0]
    lead = sentences[first.id][: max(1, len(tpl["lead_citations"]))]
    out["headline"] = first.title[:40]
    out["subheadline"] = arts[-1].title if tpl["subheadline"] else ""
    out["lead"] = "".join(lead)
    out["lead_citations"] = [{"article": first.id, "quote": s} for s in lead]
    n = 0
    for section in out["sections"]:
        for sentence in section["sentences"]:
            if sentence["citations"]:
                aid, text = pool[n % len(pool)]
                n += 1
                sentence["text"] = text
                sentence["citations"] = [{"article": aid, "quote": text}]
        if section["sources"]:
            section["sources"] = [toolkit.source_line(a) for a in arts]
    prov = out["provenance"]
    prov["sources"], prov["built"] = [a.id for a in arts], built
    if "lead_outlet" in prov:
        prov["lead_outlet"] = first.source
    if "headline_source" in out["report"]:
        out["report"]["headline_source"] = first.id
    return out


# --- rows --------------------------------------------------------------------------


def article_of(r: Report) -> tuple[RawDoc, Article]:
    """The raw document ``ingest`` stores for a report's JSONL line, and what extract makes of it."""
    line = json.dumps(r.record(), ensure_ascii=False).encode()
    doc = RawDoc(key=f"id:{r.id}", kind="record", origin=ORIGIN, location=f"line {r.n + 1}",
                 content=line, hints={})
    a = extract.extract(doc, Settings().extract)
    # as the store gives it back (ISO text), which is what the stages hash
    a.published = datetime.fromisoformat(a.published.isoformat()) if a.published else None
    return doc, a


def _utc(d: datetime | None) -> datetime | None:
    return d.astimezone(UTC).replace(tzinfo=None) if d else None


# Article fields put_article keeps in the ``meta`` JSON column: all but the columns'.
_META = [f.name for f in fields(Article)
         if f.name not in {"id", "url", "title", "text", "source", "lang", "published"}]


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, list) else v


def report_rows(n: int, doc: RawDoc, a: Article, r: Report, settings: Settings,
                ingested: datetime) -> dict[str, dict[str, Any]]:
    """raw_docs, articles, analyses and dedupe rows of one report (as put_raw, put_article,
    put_analysis and put_dedupe write them)."""
    thash = dedupe.text_hash(a.text)
    # a random signature (a copy has its original's: the same text), so LSH holds as many
    # entries as a real archive and no two synthetic texts look alike by accident
    sig = np.frombuffer(hashlib.shake_128(thash.encode()).digest(4 * settings.dedupe.num_perm),
                        dtype=np.uint32).astype(np.uint64)
    return {
        "raw_docs": dict(id=n + 1, key=doc.key, kind=doc.kind, origin=doc.origin,
                         location=doc.location, content=doc.content, hints=doc.hints,
                         content_hash=doc.content_hash, ingested_at=ingested, source=None,
                         link=None, version=1),
        "articles": dict(id=a.id, raw_id=n + 1, url=a.url, title=a.title, text=a.text,
                         source=a.source, lang=a.lang,
                         published=a.published.isoformat() if a.published else None,
                         published_utc=_utc(a.published),
                         meta={k: _plain(getattr(a, k)) for k in _META},
                         stage=extract.STAGE.tag, input_hash=doc.content_hash),
        "analyses": dict(article_id=a.id, data=r.analysis_json,
                         embedding=r.vector.astype(np.float32).tobytes(),
                         stage=_analyze_tag(), input_hash=analysis_hash(a, settings)),
        "dedupe": dict(article_id=a.id, text_hash=thash, minhash=sig.tobytes(),
                       duplicate_of=r.copy_of, kind="exact" if r.copy_of else None,
                       similarity=1.0 if r.copy_of else None, stage=dedupe.STAGE.tag,
                       input_hash=thash),
    }


def _analyze_tag() -> str:
    from matome.language import analyze

    return analyze.STAGE.tag


def _evidence(r: Report) -> dict[str, float]:
    """What an assignment records: plausible scores of a report joining its event's story."""
    jitter = (r.n % 97) / 970
    return {"cosine": round(0.9 + jitter / 2, 4), "embedding": round(0.5 + jitter, 4),
            "lexical": round(0.3 + jitter, 4), "entities": round(0.4 + jitter, 4),
            "day_bonus": 0.1, "day_penalty": 0.0, "score": round(0.6 + jitter, 4)}


def story_tags(story: _Story, settings: Settings) -> list[tuple[str, tuple[str, str], float]]:
    """A story's entity tags by the tags stage's rule (``tags.about``, ``tags.enough``): what
    its reports are about, named in title or lead or in a fifth of the sentences — read from
    the synthetic analyses, without the stage's re-tokenising (which would cost the fill more
    than everything else)."""
    about_in: dict[str, int] = {}
    named_in: dict[str, int] = {}
    count: dict[str, int] = {}
    names: dict[str, tuple[str, str]] = {}
    for a in story.arts:
        mentions, ends = story.mentions[a.id]
        lead = next((e for e in ends if e >= tags.LEAD_CHARS), len(a.text))
        where: dict[str, set[int]] = {}
        about: set[str] = set()
        for m in mentions:
            key = m["key"]
            count[key] = count.get(key, 0) + 1
            if m["name"] in tags.IGNORED:
                continue
            if key not in names or len(m["name"]) > len(names[key][0]):
                names[key] = (m["name"], m["kind"])
            where.setdefault(key, set()).add(sum(1 for e in ends if e <= m["start"]))
            if m["start"] < lead or m["surface"] in a.title:
                about.add(key)
        need = max(2, tags.CENTRAL_SHARE * len(ends))
        about |= {k for k, sentences in where.items() if len(sentences) >= need}
        for k in where:
            named_in[k] = named_in.get(k, 0) + 1
        for k in about:
            about_in[k] = about_in.get(k, 0) + 1
    chosen = sorted(((k, about_in.get(k, 0) + named_in[k] / 10 + count[k] / 1000) for k in named_in
                     if tags.enough(about_in.get(k, 0), named_in[k], len(story.arts),
                                    settings.tags.min_articles)), key=lambda kv: (-kv[1], kv[0]))
    return [(k, names[k], round(w, 3)) for k, w in chosen[: settings.tags.max_per_story]]


# --- the filler ----------------------------------------------------------------------


@dataclass
class _Story:
    id: str
    start: datetime
    line: int
    arts: list[Article] = field(default_factory=list)            # written from (originals)
    # per report: its mentions (as stored) and where its sentences end
    mentions: dict[str, tuple[list[dict[str, Any]], list[int]]] = field(default_factory=dict)
    tagged: bool = False


@dataclass
class _Line:
    id: str
    last_start: datetime
    stories: list[_Story] = field(default_factory=list)


class Filler:
    """Rows of a growing synthetic archive, written a chunk at a time."""

    def __init__(self, store: Store, settings: Settings,
                 tpl: dict[tuple[str, int], dict[str, Any]]) -> None:
        self.store, self.settings, self.tpl = store, settings, tpl
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.story_of_event: dict[int, _Story] = {}
        self.story_of_article: dict[str, str] = {}
        self.lines: dict[int, _Line] = {}
        self.sentences: dict[str, list[str]] = {}
        self.open: list[_Story] = []           # stories not yet tagged, oldest first
        self.tag_ids: set[str] = set()
        self.written_from: dict[str, list[str]] = {}
        self.analysis_hashes: list[tuple[str, str]] = []
        self.ingested = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.counts = {"articles": 0, "copies": 0, "stories": 0, "storylines": 0, "tags": 0,
                       "written": 0}

    def add(self, r: Report) -> None:
        doc, a = article_of(r)
        for table, row in report_rows(r.n, doc, a, r, self.settings, self.ingested).items():
            self._row(table, row)
        self.analysis_hashes.append((a.id, self.rows["analyses"][-1]["input_hash"]))
        self.counts["articles"] += 1
        if r.copy_of is not None:  # joins its original's story (pipeline: role "duplicate")
            self.counts["copies"] += 1
            self._row("memberships", dict(article_id=a.id, story_id=self.story_of_article[r.copy_of],
                                          role="duplicate", seq=r.n + 1,
                                          evidence={"duplicate_of": r.copy_of},
                                          stage=cluster.STAGE.tag))
        else:
            self._member(r, a)
        if r.n % 500 == 0:
            self._sweep(r.published)
        if len(self.rows["raw_docs"]) >= CHUNK:
            self.flush()

    def _member(self, r: Report, a: Article) -> None:
        story = self.story_of_event.get(r.event.index)
        new = story is None
        if story is None:
            story = self.story_of_event[r.event.index] = _Story(cluster.story_id(a.id), r.published,
                                                                r.event.line)
            line = self.lines.get(r.event.line)
            if line is None:
                line = self.lines[r.event.line] = _Line(storyline_id(story.id), r.published)
                self.counts["storylines"] += 1
            follows = line.stories[-1].id if line.stories else None
            line.stories.append(story)
            line.last_start = r.published
            self.open.append(story)
            self.counts["stories"] += 1
            self._row("stories", dict(id=story.id, seed_article=a.id, flags={}, storyline=line.id,
                                      follows=follows))
        story.arts.append(a)
        story.mentions[a.id] = (r.analysis_json["mentions"],
                                [x["end"] for x in r.analysis_json["sentences"]])
        self.sentences[a.id] = [s["text"] for s in r.analysis_json["sentences"]]
        self.story_of_article[a.id] = story.id
        self.written_from.setdefault(story.id, []).append(a.id)
        self._row("memberships", dict(
            article_id=a.id, story_id=story.id, role="member", seq=r.n + 1,
            evidence={"score": 1.0, "seed": 1.0} if new else _evidence(r), stage=cluster.STAGE.tag))

    def _row(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def _sweep(self, now: datetime | None) -> None:
        """Tag stories whose reports are all in; write the stories of storylines that are over.
        ``now`` None: the end of the archive, everything still open is done as it stands."""
        while self.open and (now is None or now - self.open[0].start > STORY_DONE):
            story = self.open.pop(0)
            self._tag(story)
            for a in story.arts:  # its copies are all in too (minutes after their original)
                self.story_of_article.pop(a.id, None)
        for key, line in list(self.lines.items()):
            if now is None or now - line.last_start > LINE_DONE:
                self._write(line)
                del self.lines[key]

    def _tag(self, story: _Story) -> None:
        for key, (name, kind), weight in story_tags(story, self.settings):
            tid = tags.tag_id(key)
            if tid not in self.tag_ids:
                self.tag_ids.add(tid)
                self._row("tags", {"id": tid, "name": name, "kind": kind, "aliases": [],
                                   "parent": None})
            self._row("story_tags", {"story_id": story.id, "tag_id": tid, "weight": weight})
        story.mentions = {}

    def _write(self, line: _Line) -> None:
        """Every format of every story of a storyline (the explainer and まとめ read the earlier
        stories of the line, so a story is written once the line can no longer change)."""
        def place(s: _Story) -> str:
            return windows.key(s.arts) if windows is not None else \
                min(a.published.isoformat() for a in s.arts if a.published)

        ordered = sorted(line.stories, key=lambda s: (place(s), s.id))
        k = windows.context(self.settings.writer) if windows is not None else None
        done: list[list[Article]] = []
        for story in ordered:
            arts = in_order(story.arts)
            # what the write stage reads of the storyline before it, and where it placed it
            earlier = done if k is None else done[max(0, len(done) - k):] if k else []
            if windows is not None:
                self._row("write_order", {"story_id": story.id, "storyline": line.id,
                                          "key": place(story)})
            built = (max(a.published for a in arts if a.published) + timedelta(hours=1)) \
                .astimezone(UTC).isoformat(timespec="seconds")
            for fmt in formats.wanted(self.settings.writer.formats):
                tpl = self.tpl[(fmt.name, min(3, len(arts)))]
                self._row("written", dict(
                    story_id=story.id, format=fmt.name, stage=WRITTEN_STAGE, built=built,
                    data=recite(tpl, arts, self.sentences, built),
                    input_hash=written_hash(fmt, arts, earlier, self.settings)))
                self.counts["written"] += 1
            done.append(arts)
            for a in arts:
                del self.sentences[a.id]

    def flush(self) -> None:
        # parents before children: foreign keys are on
        order = ["raw_docs", "articles", "analyses", "dedupe", "stories", "memberships", "tags",
                 "story_tags", "written", "write_order", "stage_state"]
        with self.store.tx() as conn:
            for name in order:
                rows = self.rows.get(name)
                if rows:
                    conn.execute(insert(t.metadata.tables[name]), rows)
        self.counts["tags"] = len(self.tag_ids)
        self.rows = {}

    def finish(self) -> dict[str, int]:
        """The open stories and storylines as they stand, and the tags stage's done-mark."""
        self._sweep(None)
        key = tags_hash(self.written_from, self.analysis_hashes, self.settings)
        self._row("stage_state", {"stage": tags.STAGE.tag, "input_hash": key,
                                  "finished_at": self.ingested})
        # each stage's queue key, as `process` leaves it: without them the settle re-queued
        # and re-walked the whole archive (an hour at 1M). Not the tags stage's: the fill
        # writes no tag sums (``TagStore``), which its one full pass while settling makes.
        for stage, qkey in queue_keys(self.settings).items():
            if stage != "tags":
                self._row("stage_state", {"stage": f"key:{stage}", "input_hash": qkey,
                                          "finished_at": self.ingested})
        self.flush()
        if self.store.engine.dialect.name == "postgresql":
            # raw_docs.id was given, not drawn from its sequence: move the sequence past it, or
            # the next `ingest` draws an id the fill took
            from sqlalchemy import text

            with self.store.tx() as conn:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('raw_docs', 'id'), "
                                  "(SELECT max(id) FROM raw_docs))"))
        return self.counts


def fill(store: Store, reports: Iterable[Report], settings: Settings,
         tpl: dict[tuple[str, int], dict[str, Any]]) -> dict[str, int]:
    filler = Filler(store, settings, tpl)
    for r in reports:
        filler.add(r)
    return filler.finish()


"""Database tables (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Portable types only (no SQLite- or PostgreSQL-specific columns), so one
schema runs on both. Times are stored as text ISO 8601 with their offset
(what the source said) next to a naive-UTC column used for ordering.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# PostgreSQL's btree indexes refuse an entry of over ~2,700 bytes (a third of
# a page) after compression; a key or link from a source that long would stop
# the batch there while SQLite took it. Indexed keys and links are stored
# bounded well below that, on both backends alike.
KEY_BYTES = 1000


def bounded(value: str) -> str:
    """A source's key, link or URL as stored and looked up: itself when at most
    ``KEY_BYTES`` long in UTF-8, else its head and the SHA-256 of the whole (one
    long value always maps to the same key, two differing ones never meet)."""
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) <= KEY_BYTES:
        return value
    head = raw[:KEY_BYTES - 72].decode("utf-8", "ignore")
    return f"{head}#sha256:{hashlib.sha256(raw).hexdigest()}"


def _outside(length: int) -> String:
    """A column holding what sources send (keys, article ids, names, outlet, language, board fields).

    VARCHAR(n) on SQLite, as it always was there (SQLite never checks the
    length); TEXT on PostgreSQL (migration 0006), which does check it, and
    would otherwise stop a whole batch on one long URL or outlet name.
    """
    return String(length).with_variant(Text(), "postgresql")


raw_docs = Table(
    "raw_docs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", _outside(512), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("origin", Text, nullable=False),
    Column("location", String(64), nullable=False, default=""),
    Column("content", LargeBinary, nullable=False),
    Column("hints", JSON, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("ingested_at", DateTime, nullable=False),
    # migration 0005: which configured source it came from and its canonical
    # link, so a feed that rotates its GUIDs is recognised; the version counts
    # re-publications of the same entry (older contents in raw_versions)
    Column("source", _outside(200)),
    Column("link", Text),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    Index("ix_raw_docs_source_link", "source", "link"),
)

raw_versions = Table(  # migration 0005: earlier contents of a re-published entry
    "raw_versions",
    metadata,
    Column("raw_id", Integer, ForeignKey("raw_docs.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("hints", JSON, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("ingested_at", DateTime, nullable=False),
)

fetch_cache = Table(  # migration 0005: validators for conditional GET
    "fetch_cache",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("fetched_at", DateTime, nullable=False),
)

source_health = Table(  # migration 0005: what `matome sources` prints; survives restarts
    "source_health",
    metadata,
    Column("name", _outside(200), primary_key=True),
    Column("last_poll", DateTime),
    Column("next_poll", DateTime),
    Column("last_success", DateTime),
    Column("last_error", Text),
    Column("last_error_at", DateTime),
    Column("error_streak", Integer, nullable=False, default=0, server_default="0"),
    Column("polls", Integer, nullable=False, default=0, server_default="0"),
    Column("last_new", Integer, nullable=False, default=0, server_default="0"),
    Column("note", Text),
)

reactions = Table(  # migration 0005: board posts, linked to stories through what they discuss
    "reactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thread_article", _outside(200), ForeignKey("articles.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("posted", _outside(40)),
    Column("poster_id", _outside(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("replies", JSON, nullable=False),
    Column("discussed", JSON, nullable=False),
    UniqueConstraint("thread_article", "number", name="uq_reactions_post"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", _outside(200), primary_key=True),
    Column("raw_id", Integer, ForeignKey("raw_docs.id", ondelete="CASCADE"), unique=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("source", _outside(200), nullable=False),
    Column("lang", _outside(16), nullable=False),
    Column("published", String(40)),
    Column("published_utc", DateTime, index=True),
    Column("meta", JSON, nullable=False),
    Column("stage", String(40), nullable=False),
    Column("input_hash", String(64), nullable=False),
)

rejects = Table(
    "rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", Text, nullable=False),
    Column("location", String(64), nullable=False),
    Column("stage", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # migration 0008: the stage version and input an item failed on; while both are
    # the same the stage sets it aside instead of retrying it on every run
    Column("stage_tag", String(40)),
    Column("input_hash", String(64)),
    UniqueConstraint("origin", "location", "stage", name="uq_rejects_where"),
)

analyses = Table(
    "analyses",
    metadata,
    Column("article_id", _outside(200), ForeignKey("articles.id", ondelete="CASCADE"),
           primary_key=True),
    Column("data", JSON, nullable=False),
    Column("embedding", LargeBinary, nullable=False),
    Column("stage", String(40), nullable=False),
    Column("input_hash", String(64), nullable=False),
    # migration 0016: the digest of the text the embedding is of, so a re-analysis that would
    # embed the same text keeps it (``language.reuse``); none in rows stored before
    Column("embedded", String(64)),
)

dedupe = Table(
    "dedupe",
    metadata,
    Column("article_id", _outside(200), ForeignKey("articles.id", ondelete="CASCADE"),
           primary_key=True),
    Column("text_hash", String(64), nullable=False, index=True),
    Column("minhash", LargeBinary, nullable=False),
    Column("duplicate_of", _outside(200)),
    Column("kind", String(16)),
    Column("similarity", Float),
    Column("stage", String(40), nullable=False),
    Column("input_hash", String(64), nullable=False),
)

stories = Table(
    "stories",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seed_article", _outside(200), nullable=False),
    Column("flags", JSON, nullable=False),
    Column("storyline", String(64)),  # migration 0003: the developing situation it belongs to
    Column("follows", String(64)),    # migration 0003: the earlier story it develops (続報)
)

# memberships.role: placed by the clusterer, or a copy placed with its original
ROLES = ("member", "duplicate")

memberships = Table(
    "memberships",
    metadata,
    Column("article_id", _outside(200), ForeignKey("articles.id", ondelete="CASCADE"),
           primary_key=True),
    Column("story_id", String(64), ForeignKey("stories.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("stage", String(40), nullable=False),
)

story_redirects = Table(  # migration 0004
    "story_redirects",
    metadata,
    Column("old_id", String(64), primary_key=True),
    Column("new_id", _outside(64), nullable=False, index=True),  # "seed:<article id>" too
    Column("reason", String(32), nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("parent", String(64)),  # migration 0002
)

story_tags = Table(
    "story_tags",
    metadata,
    Column("story_id", String(64), ForeignKey("stories.id"), primary_key=True),
    Column("tag_id", String(64), ForeignKey("tags.id"), primary_key=True),
    Column("weight", Float, nullable=False),
)

written = Table(
    "written",
    metadata,
    Column("story_id", String(64), ForeignKey("stories.id"), primary_key=True),
    Column("format", String(16), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("stage", String(40), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("built", String(40), nullable=False),
)

stage_state = Table(
    "stage_state",
    metadata,
    Column("stage", String(40), primary_key=True),
    Column("input_hash", String(64), nullable=False),
    Column("finished_at", DateTime, nullable=False),
)

# --- migration 0009: incremental processing -----------------------------------
# What each stage still has to look at, filled as input arrives (a new or changed
# raw document queues its extraction; each stage's output queues the next), so a
# run reads what is new, not the archive. An item stays queued until its stage
# has stored a result or a reject for it: a killed run leaves it queued.
work_queue = Table(
    "work_queue",
    metadata,
    Column("stage", String(16), primary_key=True),
    Column("item", _outside(200), primary_key=True),
    # migration 0012: the worker holding the item and until when (several workers on one
    # PostgreSQL, ``store.leases``); a lapsed lease is anyone's again
    Column("leased_by", String(64)),
    Column("lease_until", DateTime),
)

# State a stage keeps between runs (the clusterer's active window), saved after
# each run with the key of the code and settings it was made by and the last
# membership it reflects; anything else is rebuilt from the active window.
snapshots = Table(
    "snapshots",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("key", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("saved_at", DateTime, nullable=False),
)

# What the name resolver learns from articles, kept as each analysis is stored
# (alias definitions, and the sound of each Latin and Japanese person name), so
# resolution is built from names seen, not by re-reading every analysis.
name_facts = Table(
    "name_facts",
    metadata,
    Column("kind", String(16), primary_key=True),  # alias | latin | japanese
    Column("a", _outside(200), primary_key=True),
    Column("b", _outside(200), primary_key=True),
)

# What each story says of each entity's names (field n: a name, k: a kind, s: a surface, with
# how often), and the sums over all stories: a tag's display name and aliases come from the
# sums, which a changed story updates by its own part instead of every story being re-read.
tag_parts = Table(
    "tag_parts",
    metadata,
    Column("story_id", String(64), primary_key=True),
    Column("key", _outside(200), primary_key=True),
    Column("field", String(1), primary_key=True),
    Column("value", _outside(200), primary_key=True),
    Column("n", Integer, nullable=False),
)

tag_totals = Table(
    "tag_totals",
    metadata,
    Column("key", _outside(200), primary_key=True),
    Column("field", String(1), primary_key=True),
    Column("value", _outside(200), primary_key=True),
    Column("n", Integer, nullable=False),
)

# which stories carry a tag: counted when a changed story may have been its last
Index("ix_story_tags_tag", story_tags.c.tag_id)
# migration 0018: the last membership made (of a role) read from the index's end, not from
# every membership (each run reads it: 25 ms at 100k on PostgreSQL, and growing)
Index("ix_memberships_role_seq", memberships.c.role, memberships.c.seq)

# URLs, canonical and bounded, indexed both ways, so a board thread finds the
# stories it discusses and a story its threads without reading every post
# (migration 0011): each report's own URL, and each URL a thread names.
report_urls = Table(
    "report_urls",
    metadata,
    Column("url", _outside(200), primary_key=True),
    Column("article_id", _outside(200), ForeignKey("articles.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)

thread_links = Table(
    "thread_links",
    metadata,
    Column("url", _outside(200), primary_key=True),
    Column("thread_article", _outside(200), ForeignKey("articles.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)

# migration 0024: where the write stage last placed each story in its storyline (its key:
# the first report's time, UTC ISO, "" undated). A story is written from the few stories
# before it; a change to one is written again in the few after it, found here where it
# was (``matome.write.windows``). A row stays until the write stage has seen the story
# again, even a story merged away: what came after it must still be found.
write_order = Table(
    "write_order",
    metadata,
    Column("story_id", String(64), primary_key=True),
    Column("storyline", String(64), nullable=False),
    Column("key", String(40), nullable=False),
)
Index("ix_write_order_line", write_order.c.storyline, write_order.c.key, write_order.c.story_id)

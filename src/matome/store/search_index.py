"""Full-text search in the store: one document per story and per report, indexed as written.

SQLite: an FTS5 table with the trigram tokenizer over ``search_docs`` (kept in step by
triggers) answers terms of three characters or more and ranks by BM25, titles weighted five
times. A second trigram table holds only the newest documents (``RECENT`` ids, trimmed as
the archive grows and rebuilt at each trim) and is asked first: BM25 counts each phrase's
matches over its whole table for the IDF, once per query, and over the whole archive that
count grew with the years (2.7-11 ms of a query at a million reports, and 0.3 µs more for
every further match of a common phrase). A term with fewer than ``CANDIDATES`` matches there
is taken from the archive's table for the rest, below the recent table's floor. Trigrams
cannot find a two-character word (外相, 日銀, G7), which Japanese readers type all the time, so
a second, contentless FTS5 table holds each document's distinct one- and two-character grams
(``detail=none``: only which documents, the smallest index FTS5 makes); a short term is one
exact token there. Its tokenizer splits only at spaces (every Unicode category but
separators is a token character), so a gram stays whole, punctuation and all. A short word's
matches are ranked by kind and date, read from an index of (id, kind, published), not from
each match's row.

PostgreSQL: a GIN index on the same grams, stored as text, serves short terms and narrows
long ones (their character pairs), which are then found in the texts themselves. A
``pg_trgm`` GIN index on titles and bodies is kept too (where the database's ``LC_CTYPE``
is UTF-8: under ``C`` it makes no trigram of a CJK character), though no search here asks
it: the grams index answers both kinds of term, whatever the locale. Each token of the
grams index is a gram and its document's id bucket (``<gram>@<id // BUCKET>``), so a range
of the newest documents is taken inside the index and reads only that range's matches
(``_newest``).

SQLite's queries are in ``search_sqlite``: there a filter holding fewer documents than the
terms have matches (a small tag, a few days) is read from its side instead.

Matches are taken newest document first and at most ``CANDIDATES`` of them are ranked:
a search costs what those candidates cost, not the archive. Below that many matches
(every query on a small site) the ranking is over all of them. The query ranks them and
returns only the page asked for (``best``; on PostgreSQL, each range of ids its own best).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, Text, delete, insert, select, text
from sqlalchemy.exc import ProgrammingError

from matome.store import schema as t
from matome.store import search_sqlite

CANDIDATES = 1000
# ids the recent table holds, the newest (about a hundred days at a thousand reports a
# day): its BM25 counts cost what a term's matches among them cost, whatever the archive
RECENT = 131_072
RECENT_STEP = RECENT // 4  # its floor moves up this many ids at a time (a trim per step)
WINDOW = 20_000  # documents searched first, the newest; then eight times as many, and so on
BUCKET = 4096    # ids a bucket token of the grams index stands for (``grams_index``)
VERSION = "1"  # of what is indexed and how: another value rebuilds the index

search_docs = Table(
    "search_docs",
    t.metadata,
    # the small columns first: ranking reads them for every candidate, and SQLite reads a
    # row from its start (a long body after them would be read through to reach them)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),     # story | report
    Column("story", String(64), nullable=False, index=True),
    Column("article", String(200).with_variant(Text(), "postgresql")),  # a report's id
    Column("published", String(40), nullable=False),  # ISO 8601 as the report gives it; "" unknown
    Column("hash", String(40), nullable=False),    # of the indexed content: unchanged docs stay
    Column("source", Text, nullable=False),        # the outlet; a story's: its outlets, space-separated
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("grams", Text),                          # PostgreSQL only: the short-term grams
)

# Made by the migrations (SQLite: 0010, 0019, 0020, 0025; PostgreSQL: 0010, 0014, 0021), not
# declared above (SQLAlchemy has no FTS5 or GIN opclass types): schema comparisons skip them
# (``managed``). A test holds SQLite's migrations to these statements; on PostgreSQL the
# tests hold the grams index to ``grams_index`` (its plans use it).
# The recent table is contentless: it forgets a row only given the values it was made of,
# and only a row it holds (a 'delete' of any other would corrupt it), hence the floor.
SQLITE_DDL = [
    "CREATE VIRTUAL TABLE search_tri USING fts5(title, body, content='search_docs', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE search_short USING fts5(grams, content='', detail='none', "
    "tokenize=\"unicode61 remove_diacritics 0 categories 'L* M* N* P* S* C*'\")",
    "CREATE VIRTUAL TABLE search_recent USING fts5(title, body, content='', tokenize='trigram')",
    "CREATE TABLE search_recent_floor (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "floor INTEGER NOT NULL)",
    # what ranks a short word's matches, without reading each match's row (0020)
    "CREATE INDEX search_docs_order ON search_docs (id, kind, published)",
    # a range of dates' and an outlet's reports, for a search filtered by them (0025,
    # ``search_sqlite``)
    "CREATE INDEX search_docs_published ON search_docs (published)",
    "CREATE INDEX search_docs_source ON search_docs (source) WHERE kind = 'report'",
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN INSERT INTO search_tri"
    "(rowid, title, body) VALUES (new.id, new.title, new.body); INSERT INTO search_recent"
    "(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN INSERT INTO search_tri"
    "(search_tri, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_recent(search_recent, rowid, title, body) SELECT 'delete', old.id, "
    "old.title, old.body WHERE old.id > (SELECT floor FROM search_recent_floor); END",
]
DELETE_TRIGGER = SQLITE_DDL[-1]


def grams_index(row: str = "") -> str:
    """What PostgreSQL's grams index holds of a document (of ``row``, a table's alias and a
    dot): each of its grams with its id's bucket, ``<gram>@<id // BUCKET>`` (migration
    0021; ``gram_keys`` makes them). GIN reads a key's whole posting list, so a gram's
    matches in a range of ids are one bucket's keys, not the gram's every match in the
    archive. (A gram has no whitespace, a bucket only digits: a token's last ``@`` splits
    it.) Queries name this expression as written, for PostgreSQL to use the index."""
    return (f"(string_to_array(rtrim(replace({row}grams || ' ', ' ', "
            f"'@' || ({row}id / {BUCKET})::text || ' ')), ' '))")


def gram_keys(gram: str, buckets: range) -> list[str]:
    """The grams index's keys of ``gram`` in ``buckets`` (``grams_index``)."""
    return [f"{gram}@{b}" for b in buckets]


_UNMANAGED = {"search_tri", "search_short", "search_recent", "search_recent_floor",
              "search_docs_order", "search_docs_published", "search_docs_source", "ix_search_docs_trgm",
              "ix_search_docs_grams"}


def managed(name: str | None, type_: str, parent_names: object) -> bool:
    """For schema comparisons (Alembic ``include_name``): False for the search tables and
    indexes SQLAlchemy cannot declare, and FTS5's own shadow tables."""
    return not (name in _UNMANAGED
                or (name or "").startswith(("search_tri_", "search_short_", "search_recent_")))


def grams(*texts: str) -> list[str]:
    """The distinct characters and character pairs of ``texts``, lower-cased, none holding
    whitespace: what a one- or two-character term must be one of. (Pairs are made by
    ``map`` over each run between spaces, not a Python loop per character: this is most
    of what indexing costs.)"""
    out: set[str] = set()
    for value in texts:
        for run in value.lower().split():
            out.update(run)
            out.update(map(operator.add, run, run[1:]))
    return sorted(out)


@dataclass(frozen=True)
class Doc:
    kind: str
    story: str
    article: str | None
    title: str
    body: str
    source: str
    published: str
    hash: str


def replace(conn: Connection, story_ids: Iterable[str], docs: Sequence[Doc]) -> None:
    """Make ``docs`` the documents of ``story_ids``: unchanged ones (same hash) stay, the
    rest are deleted and inserted."""
    ids = sorted(set(story_ids))
    c = search_docs.c
    want = {(d.kind, d.story, d.article, d.hash): d for d in docs}
    gone: list[tuple[int, str, str]] = []
    for i in range(0, len(ids), 500):
        for r in conn.execute(select(c.id, c.kind, c.story, c.article, c.hash, c.title, c.body)
                              .where(c.story.in_(ids[i : i + 500]))):
            if want.pop((r.kind, r.story, r.article, r.hash), None) is None:
                gone.append((r.id, r.title, r.body))
    postgres = conn.dialect.name == "postgresql"
    if gone:
        if not postgres:  # a contentless table forgets a row only given what it was made of
            conn.execute(text("INSERT INTO search_short(search_short, rowid, grams) "
                              "VALUES ('delete', :id, :grams)"),
                         [{"id": i, "grams": _short(title, body)} for i, title, body in gone])
        doomed = [i for i, _, _ in gone]
        for i in range(0, len(doomed), 500):
            conn.execute(delete(search_docs).where(c.id.in_(doomed[i : i + 500])))
    new = list(want.values())
    if not new:
        return
    made = conn.execute(insert(search_docs).returning(c.id, sort_by_parameter_order=True), [
        {"kind": d.kind, "story": d.story, "article": d.article, "title": d.title, "body": d.body,
         "source": d.source, "published": d.published, "hash": d.hash,
         "grams": " ".join(grams(d.title, d.body)) if postgres else None} for d in new]).scalars().all()
    if not postgres:
        conn.execute(text("INSERT INTO search_short(rowid, grams) VALUES (:id, :grams)"),
                     [{"id": i, "grams": _short(d.title, d.body)} for i, d in zip(made, new, strict=True)])
        trim(conn)


def settle(conn: Connection) -> None:
    """PostgreSQL: move the GIN indexes' pending entries into the indexes proper, after a
    batch of writes. A GIN index takes new entries into a pending list that every search
    reads through, entry by entry, until autovacuum merges it: after a ``process`` of 1,000
    new reports on the 10k store, searches ran into their 0.5 s limit for twenty seconds.
    The merge costs what the new entries cost (SQLite: nothing to do). Only the indexes'
    owner may merge: a store written by another role leaves it to autovacuum."""
    if conn.dialect.name != "postgresql":
        return
    try:
        with conn.begin_nested():
            conn.execute(text("SELECT gin_clean_pending_list(CAST(:a AS regclass)), "
                              "gin_clean_pending_list(CAST(:b AS regclass))"),
                         {"a": "ix_search_docs_grams", "b": "ix_search_docs_trgm"})
    except ProgrammingError:  # insufficient privilege: not the indexes' owner
        pass


def trim(conn: Connection) -> None:
    """SQLite: keep the recent table to the newest ``RECENT`` ids: once the newest id is a
    step past them, the oldest step leaves it (each document leaves once, in a step's
    batch: a cost per new document, not per archive)."""
    top = conn.execute(text("SELECT max(id) FROM search_docs")).scalar() or 0
    floor = int(conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one())
    target = max(0, (top - RECENT) // RECENT_STEP * RECENT_STEP)
    if target <= floor:
        return
    conn.execute(text("INSERT INTO search_recent(search_recent, rowid, title, body) "
                      "SELECT 'delete', id, title, body FROM search_docs WHERE id > :floor AND id <= :to"),
                 {"floor": floor, "to": target})
    conn.execute(text("UPDATE search_recent_floor SET floor = :to"), {"to": target})
    # FTS5 forgets a row by writing a delete marker into a new segment; the marker and the
    # row's entries leave the index only when a merge takes both. A trimmed row is old, its
    # entries in the largest segments, which automerge seldom takes: the table kept every
    # row it ever held. Trimmed for 2.7 years at a thousand reports a day, it was 6 times
    # the size of the same 137,584 documents indexed afresh, its BM25 counts 2-3 times the
    # cost (they read the markers too). Rebuilt whole once a step, as if indexed afresh: the
    # recent table's size, 5.8 s each 32,768 ids (against 7.0 s to index them and 4.7 s to
    # trim as many), measured on 137,584 synthetic reports beside another job.
    conn.execute(text("INSERT INTO search_recent(search_recent) VALUES ('optimize')"))


def _short(title: str, body: str) -> str:
    return " ".join(grams(title, body))


def clear(conn: Connection) -> None:
    """Empty the index (it is about to be rebuilt)."""
    if conn.dialect.name == "postgresql":
        conn.execute(delete(search_docs))
        return
    for table in ("search_tri", "search_short", "search_recent"):
        conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('delete-all')")
    # the delete trigger would remove each row from an index already emptied
    conn.exec_driver_sql("DROP TRIGGER search_docs_ad")
    conn.execute(delete(search_docs))
    conn.exec_driver_sql("UPDATE search_recent_floor SET floor = 0")  # ids may start over
    conn.exec_driver_sql(DELETE_TRIGGER)


Found = tuple[int, list[tuple[int, str, str, float]]]  # how many matched; the best of them


@dataclass(frozen=True)
class Query:
    """A search: whitespace-separated ``terms`` (each matched as written, case aside), and
    filters: the listing of a tag, an outlet (its name and its listing), ISO dates."""

    terms: list[str]
    tag_listing: str | None = None
    outlet: str | None = None
    outlet_listing: str | None = None
    since: str | None = None
    until: str | None = None


def candidates(conn: Connection, q: Query, cap: int | None = None) -> list[tuple[int, str, str, float]]:
    """(doc id, kind, published, score) of the newest ``cap`` matching documents, best
    first: BM25 (lower is better on SQLite) when a term has three characters or more, else
    stories before reports and newer before older, as a short word says little of relevance.
    Ranking by BM25 reads no kind or published date: SQLite gives "" for both there."""
    cap = cap or CANDIDATES
    return best(conn, q, cap, cap)[1]


def best(conn: Connection, q: Query, keep: int,
         cap: int | None = None) -> tuple[int, list[tuple[int, str, str, float]]]:
    """(how many of the newest ``cap`` matching documents there are, the best ``keep`` of
    them, ranked as ``candidates`` ranks them). On SQLite the ranking is done by the query,
    which returns only those ``keep``: reading every candidate into Python, to sort them
    there and show twenty, was a third of a query's time at the cap (1.2 µs a candidate)."""
    longs = [x for x in q.terms if len(x) >= 3]
    shorts = [x.lower() for x in q.terms if len(x) < 3]
    # at least one row back: the count comes with the rows (``count(*) OVER ()``)
    args: dict[str, object] = {"cap": cap or CANDIDATES, "keep": max(1, keep)}
    where = []
    if q.tag_listing:
        where.append(search_sqlite.TAG)
        args["tag"] = q.tag_listing
    if q.outlet:
        where.append(search_sqlite.OUTLET)
        args.update(outlet=q.outlet, outlet_listing=q.outlet_listing or "")
    if q.since:
        where.append(search_sqlite.SINCE)
        args["since"] = q.since
    if q.until:
        where.append(search_sqlite.UNTIL)
        args["until"] = q.until + "\uffff"
    if conn.dialect.name != "postgresql":
        n, rows = search_sqlite.best(conn, longs, shorts, where, args)
    else:
        # each range's best ``keep``, ranked by the query: the best of all are among them
        n, rows = _postgres(conn, longs, shorts, where, args)
        rows = search_sqlite.merged(rows, scored=bool(longs))
    return n, rows[: max(0, keep)]


def _newest(conn: Connection, sql: Callable[[bool], str], args: dict[str, object], top: int,
            needed: list[str]) -> Found:
    """How many of ``sql(bounded)``'s rows there are among the newest ``cap`` documents, and
    the best ``keep`` of each range's (as ``sql`` ranks them), read in ranges of ids below
    ``top``, the newest id: the newest ``WINDOW`` first, then as many more as the matches
    found so far say the rest needs (a quarter over; at least as many again, at most seven
    times), and so on (the last is all the older ones). A range is read whole and sorted
    before its newest are taken, so one much wider than needed was the larger part of a
    search of a word a little short of the cap in the first range (4,576 rows read for 270
    at 100k). A common word finds its ``cap`` matches among the newest few thousand
    documents and reads no further, so its cost does not grow with the archive. A range is
    taken inside the grams index: each of the ``needed`` grams is asked for by its keys in
    the range's buckets (``:g0``, ``:g1``, ...), so the index reads only the range's
    matches; it asks only for what the newer ranges left to find (``:want``), above
    ``:low`` and up to ``:high``, so none is read twice."""
    cap = int(str(args["cap"]))
    n, rows = 0, []
    span, high = WINDOW, None
    while True:
        low = top - span if span < top else -1
        # the newest range has no upper end (nor its buckets, one more), so what was added
        # since ``top`` was read counts, as it did in one query
        last = top // BUCKET + 2 if high is None else high // BUCKET + 1
        buckets = range(max(low + 1, 0) // BUCKET, last)
        args.update(low=low, high=high, want=cap - n)
        args.update({f"g{i}": gram_keys(g, buckets) for i, g in enumerate(needed)})
        got = conn.execute(text(sql(high is not None)), args).all()
        n += int(got[0][4]) if got else 0
        rows += [(int(r[0]), r[1], r[2], float(r[3])) for r in got]
        if n >= cap or low == -1:
            return n, rows
        grow = 1 + 1.25 * (cap - n) / n if n else 8
        span, high = int(span * min(8.0, max(2.0, grow))), low


def _postgres(conn: Connection, longs: list[str], shorts: list[str], where: list[str],
              args: dict[str, object]) -> Found:
    # Every term is first narrowed by the grams index: a long term's character pairs must
    # all be among a document's. pg_trgm alone cannot be relied on for Japanese: under a
    # ``C`` LC_CTYPE (initdb --no-locale, many images) it makes no trigram of a CJK
    # character, and ``ILIKE`` falls back to reading every row (144 ms a query at 10k).
    needed = set(shorts)
    # Terms without a letter that has case (Japanese, digits) match the texts as they are:
    # lowering each candidate's title and body, a quarter of what it cost (3 of 12 µs),
    # would change nothing they can match. Otherwise texts and terms are lowered by
    # PostgreSQL alike (what ``ILIKE`` does).
    fold = "lower" if any(t.lower() != t.upper() for t in longs) else ""
    score, found_in = [], []
    for i, term in enumerate(longs):
        args[f"t{i}"] = term
        needed.update(g for g in grams(term) if len(g) == 2)
        t = f"{fold}(CAST(:t{i} AS text))"
        # Occurrences, titles five times over, bodies damped by length: BM25's shape,
        # simply. Counted in bytes (what ``replace`` took away, over the term's bytes: the
        # same count), as counting characters read each body once more (3 µs a candidate);
        # the damping's scale is 3,000 bytes, a thousand Japanese characters.
        # In float8: numeric arithmetic (what ``5.0`` and ``3000.0`` would be) cost 0.65 µs
        # a candidate more, 7% of a search at the cap.
        score.append(f"(CAST(5 AS float8) * (octet_length(r.lt) - octet_length(replace(r.lt, {t}, ''))) "
                     f"+ (octet_length(r.lb) - octet_length(replace(r.lb, {t}, ''))) * CAST(3000 AS float8) "
                     f"/ (3000 + octet_length(r.lb))) / octet_length({t}) AS o{i}")
        found_in.append(f"s.o{i} > 0")  # a term occurs in the title or the body: a match
    asked = sorted(needed)  # ``:g0``, ``:g1``, ... in this order, here and in ``_newest``
    index = grams_index("d.")
    keys = [f"{index} && CAST(:g{i} AS text[])" for i in range(len(asked))]

    def sql(bounded: bool) -> str:
        # Each range's matches ranked by the query, which returns the best ``:keep`` and how
        # many there were (counted before the LIMIT): reading a thousand rows into Python to
        # sort them there and show twenty cost 1.5 ms of a search at 100k. Dates compared
        # as strings in code-point order (``C``), as Python compares them.
        order = ("score, id" if longs else
                 "kind <> 'story', published COLLATE \"C\" DESC, id DESC")
        return ("SELECT id, kind, published, score, count(*) OVER () FROM ("
                f"{matches(bounded)}) AS m ORDER BY {order} LIMIT :keep")

    def matches(bounded: bool) -> str:
        # The range's ends as filters only (``d.id + 0``: no index of ids can serve them):
        # the buckets' keys take the range inside the grams index already, and the planner
        # added a bitmap of the primary key's range to it, 3.7 of 5 ms at 60,000 ids.
        found = [*keys, "d.id + 0 > :low", *where, *(["d.id + 0 <= :high"] if bounded else [])]
        if not longs:  # the index's matches are the answer: the newest of them
            return (f"SELECT d.id, d.kind, d.published, 0.0 AS score FROM search_docs d "
                    f"WHERE {' AND '.join(found)} ORDER BY d.id DESC LIMIT :want")
        # The index's matches in the range, newest first (only the place and id of each: a
        # sort of small rows), and only then, one at a time, each read by its place (ctid),
        # confirmed and scored, until ``:want`` are found. A long term's character pairs can
        # match thousands of documents in a range, and confirming and scoring each of them,
        # then sorting them whole, was most of its time (60 ms at 100k). Each level is kept
        # as written (OFFSET 0): a text is decompressed once (``|| ''``; each use of the
        # column would decompress it again, 2 µs) and lowered once, for every term and score.
        return ("SELECT c.id, x.kind, x.published, x.score FROM (SELECT d.ctid AS at, d.id FROM "
                f"search_docs d WHERE {' AND '.join(found)} ORDER BY d.id DESC OFFSET 0) AS c "
                "CROSS JOIN LATERAL (SELECT s.kind, s.published, "
                f"-({' + '.join(f's.o{i}' for i in range(len(longs)))}) AS score FROM (SELECT r.kind, "
                f"r.published, {', '.join(score)} FROM (SELECT t.kind, t.published, {fold}(t.title) AS lt, "
                f"{fold}(t.body) AS lb FROM (SELECT d.kind, d.published, d.title || '' AS title, "
                "d.body || '' AS body FROM search_docs d WHERE d.ctid = c.at OFFSET 0) AS t OFFSET 0) "
                f"AS r OFFSET 0) AS s WHERE {' AND '.join(found_in)} OFFSET 0) AS x "
                "ORDER BY c.id DESC LIMIT :want")

    # psycopg prepares a statement run five times; PostgreSQL's generic plan for it cannot
    # see which grams are asked for and, expecting many matches, walks the whole primary key
    # backwards (450 ms at 10k for a word with a few hundred matches, against 1 ms planned
    # for its values). Searches are planned for what they ask.
    # the newest id (by the index) and the planner settings as they were, in one round trip
    top, *was = conn.execute(text("SELECT (SELECT max(id) FROM search_docs), current_setting("
                                  "'enable_indexscan'), current_setting('enable_seqscan'), "
                                  "current_setting('jit')")).one()
    top = top or 0
    raw: Any = conn.connection.dbapi_connection
    kept = raw.prepare_threshold
    try:
        raw.prepare_threshold = None
        # Nor may it walk the primary key backwards, or read the whole table, and test each
        # row's grams on the way: the test splits a long TOASTed text, about 30 µs a row,
        # which the planner does not see (375 ms for 首相 at 100k walking the key, 370 ms at
        # 10k reading the table). Without either it takes the grams index's matches in the
        # range as a bitmap. Nor compile the query (JIT): a plan that must use a disabled
        # node costs 10^10, past JIT's threshold, and compiling took 75 ms where running took
        # 2. For this transaction only, then as it was.
        conn.execute(text("SELECT set_config('enable_indexscan', 'off', true), "
                          "set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"))
        return _newest(conn, sql, args, top, asked)
    finally:
        raw.prepare_threshold = kept
        conn.execute(text("SELECT set_config('enable_indexscan', :i, true), "
                          "set_config('enable_seqscan', :s, true), set_config('jit', :j, true)"),
                     {"i": was[0], "s": was[1], "j": was[2]})


def fetch(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str, str, str, str, str]]:
    """(kind, story, title, body, source, published) of documents ``ids``."""
    c = search_docs.c
    if not ids:
        return {}
    return {int(r.id): (r.kind, r.story, r.title, r.body, r.source, r.published) for r in conn.execute(
        select(c.id, c.kind, c.story, c.title, c.body, c.source, c.published).where(c.id.in_(list(ids))))}

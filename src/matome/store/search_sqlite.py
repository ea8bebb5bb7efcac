"""SQLite's search queries (``search_index`` keeps the tables): the terms' matches walked
newest first, or a small filter's documents read.

The walk (``_walk``): FTS5 gives a term's matches newest first; the recent table's, then,
below its floor, the archive table's; a filter (a tag, an outlet, a range of dates: the
search page's テーマ, 媒体, 期間) is tested on each match's row. A common word and a filter
holding few of its matches found them only after every match of the word in the archive:
「首相」 in a tag of a few stories, or until a date three years back, ran past the search's
0.5 s limit at a million stored articles. So, first (``search``), the terms' matches are
counted (FTS5 alone, no row read), no further than ``PROBE``, then each filter's documents
from an index (a tag's and an outlet's stories' documents, an outlet's reports by
``search_docs_source``, a range of dates' by ``search_docs_published``), no further than
the matches; a tag of more stories or an outlet of more reports than ``PROBE`` is not
counted (``listing_counts`` says so at once). If a filter holds fewer documents than the
terms have matches, its documents are read newest first and the terms found in their
texts: the search costs what the filter holds, not what the archive does. Otherwise the
walk reads at most as many rows as the filter would have.

What matches is what the search tables match: a term of three characters or more anywhere
in the title or the body, case aside (FTS5's trigrams); a shorter one inside a run between
spaces, lower-cased as ``search_index.grams`` does (a term holds no space, so a substring
of the text). Terms without a letter that has case (Japanese, digits) are found in the
texts as they are; otherwise in the texts lower-cased by Python (``str.lower``), as the
grams were made.

The newest ``cap`` matching documents are ranked as the walk ranks them: a short word's by
kind and date; with a long term, by BM25 as FTS5 computes it (k1 1.2, b 0.75, titles
weighted five times, a document's length its trigrams), the IDF and average length counted
over the filter's documents, as the walk counts them over its table. One difference: a
term's occurrences here do not overlap (「ハハハ」 is once in 「ハハハハ」, twice for FTS5).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, text

PROBE = 8192  # a filter of at most this many documents may be read from its side
K1, B = 1.2, 0.75            # FTS5's bm25()
TITLE, BODY = 5.0, 1.0       # the weights the walk gives bm25()
# the filters as ``search_index.best`` writes them (``d``: search_docs), named here to be
# known again: the filter a search is read from is not tested a second time
TAG = "d.story IN (SELECT story_id FROM site_listing WHERE listing = :tag)"
OUTLET = ("((d.kind = 'report' AND d.source = :outlet) OR (d.kind = 'story' AND d.story IN "
          "(SELECT story_id FROM site_listing WHERE listing = :outlet_listing)))")
SINCE = "d.published >= :since"
UNTIL = "d.published <= :until"

Row = tuple[int, str, str, float]
Found = tuple[int, list[Row]]  # how many matched; the best of them


def best(conn: Connection, longs: list[str], shorts: list[str], where: list[str],
         args: dict[str, object]) -> Found:
    """``search_index.best`` on SQLite: (how many of the newest ``:cap`` documents passing
    ``where`` hold every term, the best ``:keep`` of them). A filter holding fewer documents
    than the terms have matches is read from its side (``search``), else the matches are
    walked (``_walk``)."""
    _terms(longs, shorts, args)
    found = search(conn, where, longs, shorts, args)
    return found if found is not None else _walk(conn, longs, shorts, where, args)


def merged(rows: list[Row], *, scored: bool) -> list[Row]:
    """Rows of several queries in one ranking, as each query ranked its own: by score (then
    id) when they were scored, else stories first, then newer (ISO strings sort as times
    do; unknown "" last), then the document indexed later."""
    if scored:
        return sorted(rows, key=lambda r: (r[3], r[0]))
    out = sorted(rows, key=lambda r: r[0], reverse=True)  # stable sorts, last key first
    out.sort(key=lambda r: r[2], reverse=True)
    out.sort(key=lambda r: r[1] != "story")
    return out


def _terms(longs: list[str], shorts: list[str], args: dict[str, object]) -> None:
    """The FTS5 queries of the terms (``:long``, ``:short``), each term a quoted phrase."""
    if shorts:
        args["short"] = " AND ".join('"' + x.replace('"', '""') + '"' for x in shorts)
    if longs:
        args["long"] = " AND ".join('"' + x.replace('"', '""') + '"' for x in longs)


def _walk(conn: Connection, longs: list[str], shorts: list[str], where: list[str],
          args: dict[str, object]) -> Found:
    # Not in widening ranges of ids as on PostgreSQL: FTS5 walks a term's matches newest
    # first and stops at ``cap``; ranges measured slower at 100k (a second query for most
    # words, whose first range held fewer than ``cap`` matches).
    def run(newest: str, order: str, **more: object) -> Found:
        # the newest ``cap`` (the inner query), ranked, the best ``keep`` of them with how
        # many there were: counted on the candidates kept aside (MATERIALIZED: made once),
        # not by a window over them (``count(*) OVER ()`` cost 0.2-0.4 ms at a thousand)
        rows = conn.execute(text(f"WITH m AS MATERIALIZED ({newest}) SELECT id, kind, published, "
                                 f"score, (SELECT count(*) FROM m) FROM m ORDER BY {order} "
                                 "LIMIT :keep"), {**args, **more}).all()
        return (int(rows[0][4]) if rows else 0,
                [(int(r[0]), r[1], r[2], float(r[3])) for r in rows])

    if not longs:
        # unfiltered, what ranks them is all in search_docs_order: read there, not each
        # match's row (SQLite takes a row by its id from the table whatever index covers it)
        order = "" if where else " INDEXED BY search_docs_order"
        return run("SELECT d.id, d.kind, d.published, 0.0 AS score FROM search_short "
                   f"JOIN search_docs d{order} ON d.id = search_short.rowid "
                   "WHERE search_short MATCH :short"
                   + "".join(" AND " + w for w in where) + " ORDER BY search_short.rowid DESC LIMIT :cap",
                   "kind != 'story', published DESC, id DESC")

    def ranked(table: str, below: int | None, cap: int) -> Found:
        # A short word beside: each of the long word's matches, newest first, is kept if the
        # short word's matches in the same table's range hold it. Unmarked (no ``+``), the
        # planner asked the long word's table for each of the short word's matches by id and
        # sorted what came: every match of the short word in the archive, a search cut off
        # at its 0.5 s limit at 100k stored articles (「首相 経済安全保障」; now 5.6 ms).
        span = "rowid > :floor" if below is None else "rowid <= :below"  # the table's ids
        both = ([f"+{table}.rowid IN (SELECT rowid FROM search_short WHERE search_short MATCH "
                 f":short AND {span})"] if shorts else [])
        # Ranked by score alone: the documents' rows are read only where a filter needs them.
        # A join reads one row per match at a place of its own (1,000 reads, most of the
        # query's time on a large store: 2-5 ms of 3-6 at 100k).
        source = f"{table} JOIN search_docs d ON d.id = {table}.rowid" if where else table
        bound = [f"{table}.rowid <= :below"] if below is not None else []
        return run(f"SELECT {table}.rowid AS id, '' AS kind, '' AS published, "
                   f"bm25({table}, 5.0, 1.0) AS score FROM {source} WHERE {table} MATCH :long"
                   + "".join(" AND " + w for w in [*both, *bound, *where])
                   + f" ORDER BY {table}.rowid DESC LIMIT :cap", "score, id", below=below, cap=cap)

    # The newest documents first, scored against the newest alone; the rest of the newest
    # ``cap`` matches, if any are older, from the archive's table, scored against all of it
    # (an IDF of another sample, as in an index split into shards; the recent one is large).
    cap, keep = int(str(args["cap"])), int(str(args["keep"]))
    floor = int(conn.execute(text("SELECT floor FROM search_recent_floor")).scalar_one())
    args["floor"] = floor
    n, rows = ranked("search_recent", None, cap)
    if n < cap and floor > 0:
        more, older = ranked("search_tri", floor, cap - n)
        # the best ``keep`` of both are among the best ``keep`` of each
        rows = merged(rows + older, scored=True)[:keep]
        n += more
    return n, rows


def _drivers(conn: Connection, where: list[str], args: dict[str, object]) -> list[tuple[str, list[str]]]:
    """The index-served filters among ``where`` that may hold at most ``PROBE`` documents:
    the ids of each one's documents, in no order, and the clauses of ``where`` they stand
    for. A tag of more stories, or an outlet of more reports (a document each, at least),
    is left out unread: counting its documents up to ``PROBE`` cost 4 ms for nothing."""
    def listed(key: str, column: str) -> int:
        return int(conn.execute(text(f"SELECT {column} FROM listing_counts WHERE listing = :k"),
                                {"k": args[key]}).scalar() or 0)

    out = []
    if TAG in where and listed("tag", "stories") <= PROBE:
        out.append(("SELECT d.id FROM site_listing l JOIN search_docs d ON d.story = l.story_id "
                    "WHERE l.listing = :tag", [TAG]))
    if OUTLET in where and listed("outlet_listing", "reports") <= PROBE:
        # its reports, and its stories' documents (their reports too: the filter itself is
        # tested on each, its stories' kinds not read from their rows here)
        out.append(("SELECT d.id FROM search_docs d INDEXED BY search_docs_source WHERE d.kind = "
                    "'report' AND d.source = :outlet UNION ALL SELECT d.id FROM site_listing l JOIN "
                    "search_docs d ON d.story = l.story_id WHERE l.listing = :outlet_listing", []))
    dates = [w for w in (SINCE, UNTIL) if w in where]
    if dates:
        out.append(("SELECT d.id FROM search_docs d INDEXED BY search_docs_published WHERE "
                    + " AND ".join(dates), dates))
    return out


def search(conn: Connection, where: list[str], longs: list[str], shorts: list[str],
           args: dict[str, object]) -> Found | None:
    """(how many of the newest ``:cap`` documents passing ``where`` hold every term, the
    best ``:keep`` of them), read from the side of the filter holding the fewest documents;
    None (walk the matches) when none holds at most ``PROBE``, or the terms have no more
    matches than it holds documents (the walk reads each match's row at most). ``shorts``
    come lower-cased, and ``args`` hold the terms' FTS5 queries too (``:long``, ``:short``)."""
    driving = _drivers(conn, where, args)
    if not driving:
        return None
    # counted no further than they need be: the matches up to ``PROBE``, each filter up to
    # the matches (a filter holding as many documents as the terms have matches is walked)
    most = min(matches(conn, bool(longs), args, PROBE + 1), PROBE + 1)
    sizes = [(int(conn.execute(text(f"SELECT count(*) FROM ({sql} LIMIT :most)"),
                               {**args, "most": most}).scalar_one()), sql, own)
             for sql, own in driving]
    size, driver, own = min(sizes)
    if size >= most:
        return None
    cap, keep = int(str(args["cap"])), int(str(args["keep"]))
    fold = any(t.lower() != t.upper() for t in [*longs, *shorts])
    found = _read(conn, driver, [t.lower() for t in longs] if fold else longs, shorts,
                  [w for w in where if w not in own], args, fold, cap)
    # ranked as the walk ranks: by score, or (short words) stories first, then newer; with a
    # long term kind and date unread, as the walk leaves them when it ranks by BM25
    rows = _ranked(*found) if longs else [(i, kind, published, 0.0) for i, kind, published, *_ in found[0]]
    return len(rows), merged(rows, scored=bool(longs))[:keep]


def matches(conn: Connection, longs: bool, args: dict[str, object], most: int) -> int:
    """How many documents the walk (``search_index``) would find the terms in: a long
    term's matches (``:long``) in the recent table, then below its floor in the archive's;
    else the short words' (``:short``). Counted no further than ``most``."""
    if not longs:
        return int(conn.execute(text("SELECT count(*) FROM (SELECT rowid FROM search_short WHERE "
                                     "search_short MATCH :short LIMIT :most)"),
                                {**args, "most": most}).scalar_one())
    n = int(conn.execute(text("SELECT count(*) FROM (SELECT rowid FROM search_recent WHERE "
                              "search_recent MATCH :long LIMIT :most)"), {**args, "most": most}).scalar_one())
    if n < most:
        n += int(conn.execute(text(
            "SELECT count(*) FROM (SELECT rowid FROM search_tri WHERE search_tri MATCH :long AND "
            "rowid <= (SELECT floor FROM search_recent_floor) LIMIT :most)"),
            {**args, "most": most - n}).scalar_one())
    return n


Match = tuple[int, str, str, int, list[float]]  # id, kind, published, trigrams, weighted occurrences


def _read(conn: Connection, driver: str, longs: list[str], shorts: list[str], where: list[str],
          args: dict[str, object], fold: bool, cap: int) -> tuple[list[Match], int, int, list[int]]:
    """The newest ``cap`` matches (id, kind, published, length in trigrams, each long term's
    weighted occurrences), with what BM25 counts over every document of the filter (none
    without a long term): how many, their total length, how many hold each long term."""
    raw: Any = conn.connection.dbapi_connection
    if fold:  # Python's lower(), as the grams were made; SQLite's lower() folds only ASCII
        raw.create_function("matome_lower", 1, str.lower, deterministic=True)
    # the texts lower-cased once a row, in a subquery of its own (LIMIT -1 OFFSET 0: not
    # merged into the outer ones, which would lower them again for every term)
    texts = (f"SELECT d.id, d.kind, d.published, {'matome_lower(d.title)' if fold else 'd.title'} AS t, "
             f"{'matome_lower(d.body)' if fold else 'd.body'} AS b FROM search_docs d WHERE d.id IN "
             f"({driver}){''.join(' AND ' + w for w in where)} LIMIT -1 OFFSET 0")
    hold = []
    for i, term in enumerate(shorts):
        args[f"s{i}"] = term
        hold.append(f"(instr(t, :s{i}) OR instr(b, :s{i}))")
    if not longs:
        sql = (f"SELECT id, kind, published FROM ({texts}) WHERE {' AND '.join(hold)} "
               "ORDER BY id DESC LIMIT :cap")
        return [(int(r[0]), r[1], r[2], 0, []) for r in raw.cursor().execute(sql, args)], 0, 0, []
    counts = [f"{h} AS s{i}" for i, h in enumerate(hold)]  # tested outside, where texts are not
    hold = [f"s{i}" for i in range(len(shorts))]
    for i, term in enumerate(longs):
        args[f"l{i}"] = term
        for col in "tb":  # occurrences, counted by what replace() takes away
            counts.append(f"CASE WHEN instr({col}, :l{i}) THEN (length({col}) - length(replace("
                          f"{col}, :l{i}, ''))) / length(:l{i}) ELSE 0 END AS {col}{i}")
        hold.append(f"t{i} + b{i} > 0")
    names = [f"{c}{i}" for i in range(len(longs)) for c in "tb"]
    # every document's length and which terms it holds are summed by window functions over
    # all of them (the IDF's and the average length's sample), and only the matches come back;
    # the counts made once a row (LIMIT -1 OFFSET 0 again: each use of a column of a merged
    # subquery computes it again, 4 of 20 ms for 2,590 documents)
    sql = (f"SELECT id, kind, published, size, {', '.join(names)}, n, total"
           f"{''.join(f', df{i}' for i in range(len(longs)))} FROM (SELECT *, count(*) OVER () AS n, "
           "sum(size) OVER () AS total"
           f"{''.join(f', sum(t{i} + b{i} > 0) OVER () AS df{i}' for i in range(len(longs)))} FROM "
           # a text of k characters has k - 2 trigrams
           f"(SELECT id, kind, published, max(length(t) - 2, 0) + max(length(b) - 2, 0) AS size, "
           f"{', '.join(counts)} FROM ({texts}) LIMIT -1 OFFSET 0)) WHERE {' AND '.join(hold)} "
           "ORDER BY id DESC LIMIT :cap")
    rows = raw.cursor().execute(sql, args).fetchall()
    if not rows:
        return [], 0, 0, []
    k = 4 + 2 * len(longs)
    found = [(int(r[0]), r[1], r[2], int(r[3]),
              [TITLE * r[4 + 2 * i] + BODY * r[5 + 2 * i] for i in range(len(longs))]) for r in rows]
    return found, int(rows[0][k]), int(rows[0][k + 1]), [int(x) for x in rows[0][k + 2:]]


def _ranked(found: list[Match], n: int, total: int, df: list[int]) -> list[Row]:
    """BM25 of each match, as FTS5's bm25() gives it (lower is better)."""
    avgdl = total / n if n else 1.0
    idf = [max(math.log((n - d + 0.5) / (d + 0.5)), 0.0) or 1e-6 for d in df]  # FTS5: <= 0 -> 1e-6
    out = []
    for i, _kind, _published, size, freq in found:
        norm = K1 * (1 - B + B * size / avgdl)
        out.append((i, "", "", -sum(w * f * (K1 + 1) / (f + norm) for w, f in zip(idf, freq, strict=True))))
    return out

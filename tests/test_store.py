import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from matome.records import RawDoc
from matome.store import KEY_BYTES, Store, bounded, db_url, metadata, search_index, site_index


def test_migrations_create_exactly_the_declared_schema(tmp_path):
    store = Store(db_url(str(tmp_path / "m.db")))
    with store.engine.connect() as conn:
        # the search index's FTS5 tables are made by SQL SQLAlchemy cannot declare
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"include_name": search_index.managed}), metadata)
    assert diff == []


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None and int(head) >= 9
    return head


def test_sqlite_runs_in_wal_mode_and_migrates_once(tmp_path):
    path = tmp_path / "w.db"
    Store(db_url(str(path))).close()
    Store(db_url(str(path))).close()  # second open: nothing to migrate, no error
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(_head(),)]


def test_an_older_database_is_upgraded_in_place_keeping_its_rows(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    with engine.begin() as conn:  # a database as the first release left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO tags (id, name, kind, aliases) VALUES ('g7', 'G7', 'organization', '[]')")
    engine.dispose()
    Store(db_url(str(path))).close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(_head(),)]
    assert con.execute("SELECT id, name, parent FROM tags").fetchall() == [("g7", "G7", None)]


def test_reading_a_missing_database_creates_nothing(tmp_path):
    path = tmp_path / "none.db"
    store = Store(db_url(str(path)), readonly=True)
    assert store.empty and store.articles() == []
    assert not path.exists()


def test_raw_input_is_stored_before_parsing_and_versions_are_seen(tmp_path):
    store = Store(db_url(str(tmp_path / "r.db")))
    doc = RawDoc(key="file:/x.html", kind="html", origin="/x.html", location="",
                 content=b"<html>1</html>")
    assert store.put_raw(doc) == "new"
    assert store.put_raw(doc) == "same"
    doc.content = b"<html>2</html>"
    assert store.put_raw(doc) == "changed"
    [(_raw_id, got)] = store.raw_todo("extract/1")
    assert got.content == b"<html>2</html>"


def test_long_keys_are_bounded_the_same_way_every_time():
    short = "url:https://example.jp/a/1"
    assert bounded(short) == short
    head = "url:https://example.jp/" + "記事" * 300  # multi-byte, cut inside a character
    a, b = bounded(head + "a"), bounded(head + "b")
    assert a != b and a == bounded(head + "a")  # one long value, one key; two differ
    assert len(a.encode()) <= KEY_BYTES and a.startswith("url:https://example.jp/記事")
    assert bounded("x" * KEY_BYTES) == "x" * KEY_BYTES


def test_long_keys_an_older_database_holds_are_found_after_the_upgrade(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from matome.store import DbFetchCache

    path = tmp_path / "old.db"
    long_url = "https://example.jp/" + "".join(chr(0x3042 + i % 80) for i in range(900))
    doc = RawDoc(key=f"url:{long_url}", kind="html", origin="o", location="", content=b"<p>x</p>",
                 source="src", link=long_url)
    engine = create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    with engine.begin() as conn:  # SQLite stored long keys whole before 0007
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.exec_driver_sql(
            "INSERT INTO raw_docs (key, kind, origin, location, content, hints, content_hash,"
            " ingested_at, source, link, version) VALUES (?, 'html', 'o', '', '<p>x</p>', '{}', ?,"
            " '2026-01-01 00:00:00', 'src', ?, 1)", (doc.key, doc.content_hash, long_url))
        conn.exec_driver_sql("INSERT INTO fetch_cache (url, etag, fetched_at) VALUES "
                             "(?, '\"e\"', '2026-01-01 00:00:00')", (long_url,))
    engine.dispose()
    store = Store(db_url(str(path)))
    try:
        assert store.put_raw(doc) == "same"  # found, not stored a second time
        assert DbFetchCache(store).validators(long_url) == ('"e"', None)
    finally:
        store.close()


def test_a_membership_of_an_unknown_role_is_refused(tmp_path):
    """``max_seq`` reads the last membership of each role in ``schema.ROLES``: a membership of
    another role would go unseen there, so it is refused before anything is written."""
    import pytest

    from matome.errors import StoreError

    store = Store(db_url(str(tmp_path / "m.db")))
    try:
        with pytest.raises(StoreError, match="role"):
            store.put_membership("a1", "s1", "copy", 1, {}, "cluster-v1", new_story=True)
        assert store.max_seq() == 0
    finally:
        store.close()


def test_a_snapshot_saved_from_a_file_reads_back_whole(tmp_path):
    """``save_snapshot`` takes bytes or a file (copied into the row a piece at a time on
    SQLite, pieces of 1 MiB: this one spans three and a part); each replaces the last."""
    snapshots_read_back_whole(Store(db_url(str(tmp_path / "s.db"))))


def snapshots_read_back_whole(store: Store) -> None:
    """A snapshot saved from a file and read back into one passes through memory a piece
    at a time, never whole (Python's allocations, by tracemalloc, stay under half its size).
    (Also run on PostgreSQL, by tests/test_postgres.py.)"""
    import os
    import tempfile
    import tracemalloc

    try:
        data = os.urandom(12 * (1 << 20) + 12_345)
        with tempfile.TemporaryFile() as f:
            f.write(data)  # left at its end: the store reads from the start
            tracemalloc.start()
            try:
                store.save_snapshot("cluster", "k1", 7, f)
                saving = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        with tempfile.TemporaryFile() as f:
            tracemalloc.start()
            try:
                assert store.snapshot_to("cluster", f) == ("k1", 7)
                reading = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            f.seek(0)
            assert f.read() == data
        assert saving < len(data) / 2 and reading < len(data) / 2, (saving, reading)
        assert store.snapshot("cluster") == ("k1", 7, data)
        with tempfile.TemporaryFile() as f:
            assert store.snapshot_to("nothing", f) is None and f.tell() == 0
        store.save_snapshot("cluster", "k2", 8, b"small")
        assert store.snapshot("cluster") == ("k2", 8, b"small")
        assert store.snapshot_mark("cluster") == ("k2", 8)
    finally:
        store.close()


def test_the_search_tables_are_the_ones_search_index_describes(tmp_path):
    """FTS5 tables, triggers and the ranking index are made by the migrations' own SQL
    (0010, 0019, 0020, 0025), which schema comparisons cannot see: held here to what
    ``search_index`` says they are."""
    Store(db_url(str(tmp_path / "m.db"))).close()
    con = sqlite3.connect(tmp_path / "m.db")
    names = ("search_tri", "search_short", "search_recent", "search_recent_floor",
             "search_docs_order", "search_docs_published", "search_docs_source", "search_docs_ai",
             "search_docs_ad")
    made = {r[0] for r in con.execute(
        f"SELECT sql FROM sqlite_master WHERE name IN ({','.join('?' * len(names))})", names)}
    assert made == set(search_index.SQLITE_DDL)


def test_an_older_search_index_gets_its_recent_table_on_upgrade(tmp_path):
    """0019 indexes the newest documents of a store made before it in the recent table, and
    from then on the triggers keep that table in step."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0018")
        for i, word in enumerate(["海底ケーブル", "重要鉱物", "海底ケーブルの敷設"]):
            conn.exec_driver_sql(  # as ``search_index.replace`` wrote them then
                "INSERT INTO search_docs (kind, story, published, hash, source, title, body) "
                "VALUES ('story', ?, '', 'h', '港北日報', ?, '本文')", (f"s{i}", word))
            conn.exec_driver_sql("INSERT INTO search_short(rowid, grams) VALUES (?, ?)",
                                 (i + 1, " ".join(search_index.grams(word, "本文"))))
    engine.dispose()
    store = Store(db_url(str(path)))
    try:
        with store.tx() as conn:
            found = search_index.candidates(conn, search_index.Query(["海底ケーブル"]))
            assert sorted(r[0] for r in found) == [1, 3]
            search_index.replace(conn, ["s0"], [])  # deleted through the new trigger
            conn.exec_driver_sql("INSERT INTO search_recent(search_recent) VALUES ('integrity-check')")
            assert [r[0] for r in search_index.candidates(
                conn, search_index.Query(["海底ケーブル"]))] == [3]
    finally:
        store.close()


def test_cards_are_read_back_by_id(tmp_path):
    cards_read_back(Store(db_url(str(tmp_path / "c.db"))))


def cards_read_back(store: Store) -> None:
    """``site_index.cards`` sends its ids as one value (a JSON list on SQLite, an array on
    PostgreSQL): ids of any characters, repeated, past one chunk, some without a card, come
    back as stored. (Also run on PostgreSQL, by tests/test_postgres.py.)"""
    from matome.store import site_index

    odd = ['a"b', "x'y", "日銀-2026", "back\\slash", "[1]", "", "%_", "s" * 64]
    ids = odd + [f"s{i:05d}" for i in range(1200)]
    try:
        with store.tx() as conn:
            site_index.put_cards(conn, {i: f'["{k}", "日本語 &<>"]' for k, i in enumerate(ids)})
        with store.read() as conn:
            asked = [*ids[::2], *ids[:50], "no-such-story", "日銀"]
            got = site_index.cards(conn, asked)
        assert got == {i: f'["{ids.index(i)}", "日本語 &<>"]' for i in set(asked) if i in ids}
    finally:
        store.close()


def test_an_older_site_index_gets_its_month_and_year_totals_on_upgrade(tmp_path):
    """0023 sums the days a store made before it holds into each month's and year's row,
    which the timelines read from then on."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    days = {("t:a", 20241230): 2, ("t:a", 20241231): 1, ("t:a", 20250101): 4, ("t:b", 20250115): 3}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0022")
        for (lid, day), n in days.items():
            conn.exec_driver_sql("INSERT INTO listing_days (listing, day, stories) VALUES (?, ?, ?)",
                                 (lid, day, n))
    engine.dispose()
    store = Store(db_url(str(path)))
    try:
        with store.read() as conn:
            assert site_index.days(conn, "t:a") == {20241230: 2, 20241231: 1, 20250101: 4}
            assert site_index.days(conn, "t:a", site_index.MONTH) == {202412: 3, 202501: 4}
            assert site_index.days(conn, "t:a", site_index.YEAR) == {2024: 3, 2025: 4}
            assert site_index.days(conn, "t:b", site_index.YEAR) == {2025: 3}
            assert site_index.day_span(conn, "t:a") == (20241230, 20250101)
    finally:
        store.close()

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from matome.records import RawDoc
from matome.schema import metadata
from matome.store import Store, db_url


def test_migrations_create_exactly_the_declared_schema(tmp_path):
    store = Store(db_url(str(tmp_path / "m.db")))
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_and_migrates_once(tmp_path):
    path = tmp_path / "w.db"
    Store(db_url(str(path))).close()
    Store(db_url(str(path))).close()  # second open: nothing to migrate, no error
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]


def test_an_older_database_is_upgraded_in_place_keeping_its_rows(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", "matome:migrations")
    with engine.begin() as conn:  # a database as the first release left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO tags (id, name, kind, aliases) VALUES ('g7', 'G7', 'organization', '[]')")
    engine.dispose()
    Store(db_url(str(path))).close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]
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

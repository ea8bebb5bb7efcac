"""Every bad input is reported with where and why, counted, and skipped; the rest is kept."""

from __future__ import annotations

from pathlib import Path

from matome import pipeline
from matome.settings import Settings
from matome.store import Store, db_url
from tests.conftest import FIXTURES, jsonl, run_cli

BAD = FIXTURES / "bad"


def _store(tmp_path: Path) -> Store:
    return Store(db_url(str(tmp_path / "bad.db")))


def test_bad_records_are_reported_and_the_rest_kept(tmp_path):
    store = _store(tmp_path)
    settings = Settings()
    ing = pipeline.ingest(store, [str(BAD)], settings)
    proc = pipeline.process(store, settings)
    reasons = {(Path(e.origin).name, e.location): e.reason for e in ing.errors + proc.errors}
    assert reasons[("records.jsonl", "line 2")] == "record has no 'text' or 'html'"
    assert reasons[("records.jsonl", "line 3")].startswith("not JSON")
    assert reasons[("records.jsonl", "line 4")] == "not a JSON object"
    assert reasons[("records.jsonl", "line 5")] == "record has neither 'id' nor 'url'"
    assert reasons[("not_html.html", "")] == "not HTML: no HTML elements found"
    assert reasons[("binary.html", "")] == "not HTML: binary data"
    assert reasons[("garbage.atom", "")].startswith("not a readable feed")
    assert reasons[("truncated.rss", "feed")].startswith("malformed feed, 2 entries recovered")
    assert reasons[("notes.txt", "")] == "unsupported file type '.txt'"
    # stored, so an editor can see them later
    stored = {(Path(r["origin"]).name, r["location"]) for r in store.rejects()}
    assert set(reasons) == stored
    # and everything good survived: the good record, both pages, the complete feed item
    ids = {a.id for a in store.articles()}
    urls = {a.url for a in store.articles()}
    assert "bad-ok-1" in ids
    assert {"https://bad.example/utf-8.html", "https://bad.example/x-unknown-jp.html",
            "https://cut.example/1"} <= urls
    page = next(a for a in store.articles() if a.url.endswith("x-unknown-jp.html"))
    assert page.encoding == "euc_jp" and "unknown" in page.encoding_reason


def test_cli_reports_one_line_per_error_and_exits_zero(tmp_path):
    db = tmp_path / "cli.db"
    proc = run_cli("ingest", str(BAD), db=db)
    assert proc.returncode == 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("skipped ")]
    assert any("records.jsonl:line 3: not JSON" in ln for ln in lines)
    assert any("garbage.atom: not a readable feed" in ln for ln in lines)
    proc = run_cli("process", db=db)
    assert proc.returncode == 0
    assert "binary.html: not HTML: binary data" in proc.stderr
    assert "rejected inputs" in proc.stderr


def test_reingest_does_not_duplicate_reports(tmp_path):
    store = _store(tmp_path)
    settings = Settings()
    for _ in range(2):
        pipeline.ingest(store, [str(BAD)], settings)
        pipeline.process(store, settings)
    assert len(store.rejects()) == len({(r["origin"], r["location"], r["stage"])
                                        for r in store.rejects()})


def test_usage_errors_exit_2(tmp_path):
    db = tmp_path / "u.db"
    proc = run_cli("ingest", str(tmp_path / "missing"), db=db)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("no such file or directory")
    assert run_cli("export", "nonsense", db=db).returncode == 2
    assert run_cli("export", "stories", "--format", "xml", db=db).returncode == 2
    assert run_cli("no-such-command", db=db).returncode == 2


def test_export_on_empty_database_prints_nothing(tmp_path):
    for what in ("stories", "tags", "articles"):
        proc = run_cli("export", what, db=tmp_path / "empty.db")
        assert proc.returncode == 0 and proc.stdout == ""
    assert not (tmp_path / "empty.db").exists()


def test_extract_json_reports_encoding(tmp_path):
    proc = run_cli("extract", str(BAD / "unknown_charset.html"), "--json")
    assert proc.returncode == 0, proc.stderr
    [data] = jsonl(proc.stdout)
    assert data["encoding"] == "euc_jp"
    assert data["published"] == "2026-02-14T09:00:00+09:00"
    assert data["source"] == "テスト新報"
    assert "補修が必要" in data["text"]
    bad = run_cli("extract", str(BAD / "binary.html"), "--json")
    assert bad.returncode == 1 and "not HTML" in bad.stderr

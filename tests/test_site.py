"""The static site and the live server: every page, the disclaimer, escaping."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from matome import pipeline
from matome.settings import Settings
from matome.store import Store, db_url
from tests.conftest import FIXTURES, ROOT, run_cli

DISCLAIMER = "AIが整理・作成したもの"


@pytest.fixture(scope="module")
def built_site(demo_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    run_cli("site", "build", "--out", str(out), db=demo_db, check=True)
    return out


def test_every_story_and_tag_has_a_page_with_the_disclaimer(built_site, demo_catalog):
    pages = sorted(built_site.rglob("*.html"))
    assert (built_site / "index.html").exists() and (built_site / "tags/index.html").exists()
    for s in demo_catalog.stories:
        assert (built_site / f"stories/{s.id}.html").exists()
    for g in demo_catalog.tags:
        page = (built_site / f"tags/{g.id}.html").read_text("utf-8")
        assert f"「{g.name}」をテーマとした記事一覧" in page
        assert f"本ページでは「{g.name}」をテーマとした記事を一覧で掲載しています" in page
    for p in pages:
        html = p.read_text("utf-8")
        assert DISCLAIMER in html, p
        assert '<html lang="ja">' in html


def test_links_between_pages_resolve(built_site):
    for p in built_site.rglob("*.html"):
        for href in re.findall(r'href="([^"#]+)"', p.read_text("utf-8")):
            if href.startswith(("http://", "https://", "data:")):
                continue
            assert (p.parent / href).resolve().exists(), f"{p}: broken link {href}"


def test_story_page_shows_sources_and_citations(built_site, demo_catalog):
    s = max(demo_catalog.stories, key=lambda s: len(s.articles))
    html = (built_site / f"stories/{s.id}.html").read_text("utf-8")
    for a in s.articles:
        assert f'id="src-{a.id}"' in html
    assert 'class="cite"' in html and "【概要】" in html and "【引用・参照・底本】" in html
    assert '"@type": "NewsArticle"' in html or "NewsArticle" in html


def test_editors_see_why_a_story_continues_its_storyline(built_site, demo_catalog):
    followers = [s for s in demo_catalog.stories if s.follows]
    assert followers
    for s in followers:
        html = (built_site / f"stories/{s.id}.html").read_text("utf-8")
        assert "ストーリーラインにつないだ根拠" in html and "固有名" in html
        why = next(ev for ev in s.evidence.values() if "storyline_fit" in ev)
        assert f"（必要 {why['storyline_needed']}）" in html  # what a quiet storyline asked for
    alone = next(s for s in demo_catalog.stories if not s.follows)
    page = (built_site / f"stories/{alone.id}.html").read_text("utf-8")
    assert "ストーリーラインにつないだ根拠" not in page


def test_hostile_text_is_escaped(tmp_path):
    store = Store(db_url(str(tmp_path / "x.db")))
    settings = Settings()
    pipeline.ingest(store, [str(FIXTURES / "hostile.jsonl")], settings)
    pipeline.process(store, settings)
    out = tmp_path / "site"
    run_cli("site", "build", "--out", str(out), db=tmp_path / "x.db", check=True)
    for p in out.rglob("*.html"):
        html = p.read_text("utf-8")
        assert "<script>" not in html.replace('<script type="application/ld+json">', "")
        assert "<img src=x" not in html and "<b onmouseover" not in html
        assert 'href="javascript:' not in html


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_every_kind_of_page(demo_db, demo_catalog):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "matome", "--db", str(demo_db), "serve",
                             "--port", str(port)], cwd=ROOT, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        story = demo_catalog.stories[0]
        tag = demo_catalog.tags[0]
        for path in ["/", "/index.html", f"/stories/{story.id}.html", f"/tags/{tag.id}.html",
                     "/tags/index.html", "/about.html"]:
            r = httpx.get(base + path, timeout=10)
            assert r.status_code == 200, path
            assert DISCLAIMER in r.text
            assert "script-src 'none'" in r.headers["content-security-policy"]
        assert httpx.get(base + "/stories/nope.html").status_code == 404
        assert httpx.get(base + "/static/style.css").status_code == 200
        api = httpx.get(base + "/api/stories?limit=500").json()
        assert api["total"] == len(demo_catalog.stories)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _luminance(hex_color: str) -> float:
    rgb = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_text_colours_meet_wcag_aa_contrast():
    """Body text, muted text and links against the page and the tinted boxes: at least 4.5:1."""
    css = (ROOT / "src" / "matome" / "site" / "static" / "style.css").read_text("utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    for fg in ("fg", "muted", "accent"):
        for bg in ("bg", "warn-bg", "tag-bg"):
            hi, lo = sorted((_luminance(colours[fg]), _luminance(colours[bg])), reverse=True)
            ratio = (hi + 0.05) / (lo + 0.05)
            assert ratio >= 4.5, f"{fg} on {bg}: {ratio:.2f}:1"


def test_the_api_gives_what_export_gives(demo_db):
    """The server reads the store per request; what it answers is what `export` writes."""
    from fastapi.testclient import TestClient

    from matome.site import create_app, readmodel
    from tests.conftest import demo_settings

    client = TestClient(create_app(db_url(str(demo_db)), demo_settings()))
    store = Store(db_url(str(demo_db)), readonly=True)
    try:
        stories = {s["id"]: s for s in readmodel.export(store, "stories")}
        tags = sorted(readmodel.export(store, "tags"), key=lambda g: g["id"])
        articles = list(readmodel.export(store, "articles"))
    finally:
        store.close()
    served = client.get("/api/stories", params={"limit": 200}).json()
    assert served["total"] == len(stories)
    assert {s["id"]: s for s in served["items"]} == stories
    assert client.get(f"/api/stories/{next(iter(stories))}").json()["id"] == next(iter(stories))
    assert sorted(client.get("/api/tags").json()["items"], key=lambda g: g["id"]) == tags
    got = client.get("/api/articles", params={"limit": 200}).json()
    assert got["total"] == len(articles) and got["items"] == articles

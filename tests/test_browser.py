"""The site in a real headless Chromium (Debian's package, driven by Playwright).

Against ``matome serve`` started as a real process on 127.0.0.1, at a phone
width and a desk width: open the index, follow a story, reveal a citation,
go to a tag page and page through it, search in Japanese and open a result.
Screenshots go to tests/artifacts/ (kept by CI as artifacts, not committed).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, demo_corpus

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup installs it as root)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("browser") / "matome.toml"
    demo = (demo_corpus().parent / "matome.toml").read_text("utf-8")
    # three stories a page, so the demo's themes have pages to turn
    config.write_text(demo.replace("[site]\n", "[site]\nstories_per_page = 3\n"), "utf-8")
    port = _free_port()
    env = {**os.environ, "MATOME_CONFIG": str(config)}
    proc = subprocess.Popen([sys.executable, "-m", "matome", "--db", str(demo_db), "serve",
                             "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"matome serve did not start: {proc.stderr.read()!r}") from None
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.parametrize("width", [360, 1440])
def test_reader_journey(server, browser, width):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(server + "/")
    assert "AIが整理・作成" in page.locator(".disclaimer").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"index-{width}.png"), full_page=True)
    no_overflow = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    assert page.evaluate(no_overflow), "the index scrolls sideways"

    page.locator("a[href*='stories/']").first.click()
    page.wait_for_load_state()
    assert "/stories/" in page.url
    quote = page.locator(".cite .quote").first
    assert not quote.is_visible()
    page.locator(".cite > a").first.focus()  # keyboard or tap: the quoted span appears
    assert quote.is_visible() and "「" in quote.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"story-{width}.png"), full_page=False)
    assert page.evaluate(no_overflow), "the story page scrolls sideways"

    page.goto(server + "/tags/index.html")
    page.get_by_role("link", name="経済", exact=False).first.click()
    page.wait_for_load_state()
    assert "「経済」をテーマとした記事一覧" in page.locator("h1").inner_text()
    first_page = page.locator(".stories > li").all_inner_texts()
    page.locator("a[rel=next]").click()
    page.wait_for_load_state()
    # archive pages count from the oldest: the one after the front page is the highest
    assert re.search(r"-p\d+\.html$", page.url), page.url
    older = page.locator(".stories > li").all_inner_texts()
    assert older and not set(older) & set(first_page)  # no story on both

    page.fill("#q", "海底ケーブル")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    assert "「海底ケーブル」の検索結果" in page.locator("h1").inner_text()
    assert page.locator("mark").first.inner_text() == "海底ケーブル"
    page.screenshot(path=str(ARTIFACTS / f"search-{width}.png"), full_page=False)
    page.locator(".search-results a").first.click()
    page.wait_for_load_state()
    assert "/stories/" in page.url
    assert not errors, errors  # the CSP blocks nothing the pages need
    page.close()

"""Board threads and まとめ pages parsed into posts, and the report they discuss."""

from __future__ import annotations

import gzip
import json

import pytest

from matome.extract import boards
from matome.records import Post
from tests.conftest import FIXTURES, SHARED_EVAL

PAGES = FIXTURES / "pages"


def test_dat_style_thread_gives_numbered_posts_with_names_ids_times_and_replies():
    title, posts, discussed = boards.parse((PAGES / "board_5ch.html").read_text("utf-8"),
                                           "https://news.example-board.net/test/read.cgi/news/1770000001/")
    assert title == "【架空】北海市で路面電車が延伸へ★2"
    assert [p.number for p in posts] == [1, 2, 3, 4]
    first = posts[0]
    assert first.name == "ぬこ大好き ★" and first.poster_id == "Ab3dEf9k0"
    assert first.posted == "2026-02-12T10:30:05+09:00"
    assert first.body.startswith("北海市は12日、路面電車を港地区まで延ばす計画を発表した。")
    assert posts[2] == Post(number=3, body=">>2\n本数次第だろ", name="名無しさん",
                            posted="2026-02-12T10:33:02+09:00", poster_id="Qq7pPp6o0", replies=[2])
    assert posts[3].replies == [2, 3]          # >>2-3
    # the report in post 1; the previous thread on the board itself is not a report
    assert discussed == ["https://www.hokkai-shimpo.example/news/20260212-tram.html"]


def test_matome_page_gives_posts_and_the_quoted_wire_report():
    title, posts, discussed = boards.parse((PAGES / "matome.html").read_text("utf-8"),
                                           "https://matome.example.jp/archives/1.html")
    assert title == "路面電車延伸に市民の声"
    assert [(p.number, p.poster_id, p.replies) for p in posts] == [(1, "k9Lm", []), (5, "p2Qr", [1]),
                                                                   (8, "k9Lm", [5])]
    assert posts[1].body == ">>1\n車より早いの？"
    # tracking parameters gone, the antenna link in the sidebar ignored
    assert discussed == ["https://www.hokkai-shimpo.example/news/20260212-tram.html"]


def test_news_pages_are_not_boards():
    for page in ("news_dates.html", "teaser.html", "blog.html"):
        assert not boards.is_board((PAGES / page).read_text("utf-8")), page
    assert not boards.is_board((FIXTURES / "bad" / "pages" / "fake_board.html").read_text("utf-8"))


def test_impossible_post_times_keep_the_post_without_a_time():
    html = "".join(f"<dt>{n} ：名無し：2026/02/30(月) 10:0{n}:00 ID:x{n}</dt><dd>本文{n}</dd>"
                   for n in (1, 2, 3))
    _title, posts, _ = boards.parse(f"<html><body><dl>{html}</dl></body></html>", "")
    assert [p.number for p in posts] == [1, 2, 3]
    assert all(p.posted == "" for p in posts)


def test_garbage_never_raises():
    for text in ("", "<", "\x00\x01", "<html><body>" + "<div>" * 3000, "1：" * 5000):
        _title, posts, discussed = boards.parse(text, "https://x.example/")
        assert posts == [] and discussed == []


def test_fc2_matome_pages_of_the_shared_set():
    base = SHARED_EVAL / "extraction" / "ja_koron_extractarticle"
    if not base.is_dir():
        pytest.skip(f"{base} is absent (evaluation data lives in ../shared/eval)")
    pages = [json.loads(line) for line in (base / "pages.jsonl").open(encoding="utf-8")]
    for pg in (p for p in pages if p["site_category"] == "FC2ブログ"):
        html = gzip.decompress((base / pg["html_path"]).read_bytes()).decode("utf-8")
        _title, posts, _ = boards.parse(html, pg["url"])
        assert len(posts) >= 20, pg["id"]
        assert all(p.posted.startswith("2021-10-") for p in posts), pg["id"]
        assert sum(bool(p.body) for p in posts) >= 0.9 * len(posts), pg["id"]   # some are only a picture
        assert any(p.replies for p in posts), pg["id"]

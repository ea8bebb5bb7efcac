"""Teasers, blogs and boards are marked as what they are, never passed off as full news reports."""

from __future__ import annotations

import pytest

from matome import extract
from matome.extract import pagekind
from matome.records import RawDoc
from matome.settings import ExtractSettings
from tests.conftest import FIXTURES, SHARED_EVAL

PAGES = FIXTURES / "pages"


def _extract(name: str, url: str = ""):
    path = PAGES / name
    doc = RawDoc(key=name, kind="html", origin=str(path), location="", content=path.read_bytes(),
                 hints={"url": url or f"https://example.jp/{name}", "fetched": "2026-03-01T00:00:00+00:00"})
    return extract.extract(doc, ExtractSettings())


def test_paywalled_page_is_a_truncated_teaser_without_the_notice():
    a = _extract("teaser.html")
    assert a.kind == "teaser" and a.flags == ["paywalled", "truncated"]
    assert a.title == "港湾再編、三つの論点"
    assert "有料" not in a.text and "残り" not in a.text
    assert a.text.startswith("港湾の再編計画をめぐり")


def test_paywall_with_nothing_shown_is_body_withheld():
    html = (PAGES / "teaser.html").read_text("utf-8")
    start, end = html.index("<p>港湾"), html.index('<div class="paywall">')
    path = PAGES / "teaser.html"
    doc = RawDoc(key="t", kind="html", origin=str(path), location="",
                 content=(html[:start] + "<p>会員限定</p>" + html[end:]).encode(),
                 hints={"url": "https://example.jp/t"})
    a = extract.extract(doc, ExtractSettings())
    assert a.kind == "teaser" and a.flags == ["paywalled", "body-withheld"]
    # the outlet's own summary is all the page gives
    assert a.text == "港湾の再編計画をめぐり、自治体と事業者の意見が分かれている。"


def test_blogs_by_markup_and_by_host():
    assert _extract("blog.html").kind == "blog"
    assert _extract("news_dates.html", "https://ameblo.jp/someone/entry-1.html").kind == "blog"
    assert _extract("news_dates.html", "https://example.exblog.jp/123/").kind == "blog"
    assert _extract("news_dates.html").kind == "news"


def test_blog_title_is_the_entry_not_the_blog_name():
    assert _extract("blog.html").title == "今日の散歩"


def test_boards_are_boards_even_on_blog_hosts():
    assert _extract("matome.html", "https://someone.blog.fc2.com/blog-entry-1.html").kind == "board"
    assert _extract("board_5ch.html").kind == "board"


def test_notice_lines_only_are_removed():
    text = ("本文の一文目です。\nこの記事は有料記事です。\n残り1460文字（全文2839文字）\n"
            "会員限定のジムが開業した。")
    assert pagekind.without_notices(text) == "本文の一文目です。\n会員限定のジムが開業した。"


def test_shared_japanese_pages_meet_every_condition(capsys):
    if not (SHARED_EVAL / "extraction" / "ja_koron_extractarticle").is_dir():
        pytest.skip("../shared/eval/extraction/ja_koron_extractarticle is absent")
    from bench.extract_eval import ja_koron

    failures = ja_koron(SHARED_EVAL)
    out = capsys.readouterr().out
    assert failures == 0, out

"""Teasers, blogs and boards are marked as what they are, never passed off as full news reports."""

from __future__ import annotations

import pytest

from matome import extract, stories
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


def test_blog_on_an_unknown_host_is_a_blog_from_the_page_itself():
    # BlogPosting JSON-LD and an Amazon associate link, on a host no list knows
    a = _extract("blog_affiliate.html", "https://komorebi-techo.example/2026/02/14/mill")
    assert a.kind == "blog"
    assert not stories.reports([a])


def test_blog_without_markup_is_a_blog_from_its_furniture():
    # no JSON-LD, og:type article: an affiliate link, ブログ村, トラックバック, コメント(2), 月別アーカイブ
    a = _extract("blog_furniture.html", "https://oka-no-niwa.example/p/118")
    assert a.kind == "blog"
    assert {"affiliate", "ranking", "trackback", "comments", "archive"} <= set(
        pagekind.blog_signs(a.url, (PAGES / "blog_furniture.html").read_text("utf-8")))


def test_news_article_markup_is_news_whatever_the_host():
    # a comment section and a profile box do not make a newspaper's page a blog
    a = _extract("news_unknown_host.html", "https://shiomi-times.example/local/20260213-chosha")
    assert a.kind == "news" and stories.reports([a]) == [a]
    # the host list is a hint: a page on a blog host that declares a NewsArticle is news
    assert _extract("news_unknown_host.html", "https://note.com/shiomi_times/n/n0123").kind == "news"


def test_shared_japanese_pages_news_in_and_everything_else_out(capsys):
    """On ja_koron, at each page's own address and at a neutral one: news stays a source, nothing else."""
    if not (SHARED_EVAL / "extraction" / "ja_koron_extractarticle").is_dir():
        pytest.skip("../shared/eval/extraction/ja_koron_extractarticle is absent")
    from bench.pagekind_eval import run

    wrong, _rows = run(SHARED_EVAL)
    assert wrong == 0, capsys.readouterr().out


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

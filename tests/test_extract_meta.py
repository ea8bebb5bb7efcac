"""Page metadata: dates (published, updated, raw, how), canonical URLs, titles, hostile pages."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from matome import extract
from matome.errors import ExtractError
from matome.extract import JST, canonical_url
from matome.records import Article, RawDoc
from matome.settings import ExtractSettings
from tests.conftest import FIXTURES, run_cli

PAGES = FIXTURES / "pages"
BAD_PAGES = FIXTURES / "bad" / "pages"
FETCHED = "2026-03-01T00:00:00+00:00"


def _extract(path: Path, url: str = "", settings: ExtractSettings | None = None,
             content: bytes | None = None) -> Article:
    doc = RawDoc(key=str(path), kind="html", origin=str(path), location="",
                 content=path.read_bytes() if content is None else content,
                 hints={"url": url or f"https://example.jp/{path.name}", "fetched": FETCHED})
    return extract.extract(doc, settings or ExtractSettings())


def test_byline_dates_give_published_and_updated_with_the_raw_string():
    a = _extract(PAGES / "news_dates.html")
    assert a.published == datetime(2026, 2, 12, 10, 30, tzinfo=JST)
    assert a.published_raw == "2026年2月12日 10時30分" and a.published_how == "byline"
    # 「最終更新 2月12日 15時05分」: the year comes from the published date beside it
    assert a.updated == "2026-02-12T15:05:00+09:00"
    assert a.kind == "news" and a.flags == []


def test_title_without_site_suffix_and_canonical_url_without_amp_mobile_tracking():
    a = _extract(PAGES / "news_dates.html")
    assert a.title == "北海市、路面電車を港地区へ延伸"
    assert a.source == "北海新報"
    assert a.url == "https://www.hokkai-shimpo.example/news/20260212-tram.html?id=7"


def test_an_undeclared_chinese_page_is_not_japanese():
    """Real pages in Chinese without a lang attribute were read as Japanese, and Sudachi made
    single-character 'people' of them (了, 健), published as tag pages."""
    from matome.extract.page import extract_page
    from matome.language import analyze

    def page(title: str, body: str) -> bytes:
        return (f"<html><head><title>{title}</title></head><body><article><p>{body}</p></article>"
                "</body></html>").encode()

    zh = "今年的会议讨论了教育改革和城市交通问题。许多学生表示关注就业和住房。专家认为改革需要时间。"
    a = extract_page(page("会议讨论教育改革", zh * 6), "https://example.cn/a/1", "text/html",
                     ExtractSettings())
    assert a.lang == "zh"
    assert analyze.analyze(a, analyze.gazetteer()).mentions == []
    ja = "北海市は12日、路面電車を港地区へ延ばす計画を発表した。事業費は約120億円を見込む。"
    b = extract_page(page("路面電車を延伸", ja * 4), "https://example.jp/a/1", "text/html", ExtractSettings())
    assert b.lang == "ja"


def test_a_title_that_opens_with_the_outlets_name_loses_it():
    """「NEWS WEB EASY|子どもへの体罰を禁止する法律ができる」 (a real page, no heading to match) was
    published as the headline with the outlet's name in it."""
    page = (PAGES / "news_dates.html").read_text(encoding="utf-8")
    page = page.replace("<title>北海市、路面電車を港地区へ延伸 | 北海新報</title>",
                        "<title>北海新報|北海市、路面電車を港地区へ延伸</title>")
    page = page.replace("<h1>北海市、路面電車を港地区へ延伸</h1>", "")
    a = _extract(PAGES / "news_dates.html", content=page.encode())
    assert a.title == "北海市、路面電車を港地区へ延伸"


@pytest.mark.parametrize(("url", "want"), [
    ("https://Example.jp/a/1?utm_source=x&id=3#frag", "https://example.jp/a/1?id=3"),
    ("https://example.jp/a?fbclid=abc&gclid=def&page=2", "https://example.jp/a?page=2"),
    ("https://www.example.jp/amp/articles/1", "https://www.example.jp/articles/1"),
    ("https://www.example.jp/articles/1.amp.html", "https://www.example.jp/articles/1.html"),
    ("https://example.jp/a?outputType=amp", "https://example.jp/a"),
    ("https://m.news.example.co.jp/a", "https://news.example.co.jp/a"),
    ("https://sp.example.jp/a", "https://www.example.jp/a"),
    ("https://www-example-jp.cdn.ampproject.org/c/s/www.example.jp/a/1", "https://www.example.jp/a/1"),
    ("https://www.google.com/url?q=https%3A%2F%2Fexample.jp%2Fa%3Futm_medium%3Dx&sa=D",
     "https://example.jp/a"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.jp%2Fb&h=AT", "https://example.jp/b"),
    ("https://b.hatena.ne.jp/entry/s/www.example.jp/c/2", "https://www.example.jp/c/2"),
    ("https://t.co/abc123", "https://t.co/abc123"),            # target not in the link: kept
    ("mailto:desk@example.jp", "mailto:desk@example.jp"),
])
def test_canonical_urls(url, want):
    assert canonical_url(url) == want
    assert canonical_url(want) == want          # idempotent


def test_extract_keeps_canonical_url_importable_from_extract():
    assert extract.canonical_url is canonical_url


# Page-level hostile cases: each either extracts with the right flags or is refused with a reason.
HOSTILE = [
    ("impossible_date.html", None, ["no-date"]),                      # 2026年2月30日
    ("month_13.html", None, ["no-date"]),                             # 2026年13月5日, not htmldate's 5月13日
    ("future_date.html", None, ["implausible-date"]),               # 2099: kept raw, not a date
    ("broken_jsonld.html", "2026-02-12T08:00:00+09:00", []),
    ("deep_jsonld.html", None, ["no-date"]),
    ("garbage_meta_date.html", "2026-02-12T15:00:00+09:00", []),
    ("era_gannen.html", "2019-05-01T00:00:00+09:00", []),
    ("kanji_byline.html", "2026-02-12T00:00:00+09:00", []),             # 二〇二六年二月十二日
    ("utc_byline.html", "2026-02-12T01:30:00+00:00", []),
    ("unclosed_tags.html", None, ["no-date"]),
    ("fake_board.html", "2026-02-12T10:00:00+09:00", []),
    ("mentions_members.html", "2026-02-12T00:00:00+09:00", []),
    ("null_bytes_late.html", None, ["no-date"]),
]


@pytest.mark.parametrize(("name", "published", "flags"), HOSTILE)
def test_hostile_pages_extract_with_flags(name, published, flags):
    a = _extract(BAD_PAGES / name)
    assert (a.published.isoformat() if a.published else None) == published
    assert a.flags == flags
    assert a.kind == "news"          # a list of numbered lines or a word like 会員限定 is not a board/teaser


def test_future_date_keeps_the_raw_string():
    a = _extract(BAD_PAGES / "future_date.html")
    assert a.published_raw == "2099-04-01T09:00:00+09:00"


@pytest.mark.parametrize(("name", "reason"), [
    ("script_only.html", "no article text found in page"),
    ("empty_body.html", "no article text found in page"),
    ("title_only.html", "near-empty text"),
])
def test_pages_without_text_are_refused_with_a_reason(name, reason):
    with pytest.raises(ExtractError, match=reason):
        _extract(BAD_PAGES / name)


def test_huge_dom_is_refused_by_the_cap():
    rows = "".join(f"<div><span>{i}</span></div>" for i in range(30_000))
    html = f"<html><body><article><p>{'本文。' * 40}</p>{rows}</article></body></html>".encode()
    with pytest.raises(ExtractError, match="page too large: 60"):
        _extract(PAGES / "news_dates.html", content=html, settings=ExtractSettings(max_dom_nodes=20_000))


def test_deeply_nested_dom_does_not_crash():
    html = ("<html><body>" + "<div>" * 5000 + "<p>" + "深い入れ子の中の本文です。" * 10 + "</p>"
            + "</div>" * 5000 + "</body></html>").encode()
    try:
        a = _extract(PAGES / "news_dates.html", content=html)
    except ExtractError as exc:              # refused with a reason is fine; a crash is not
        assert exc.reason
    else:
        assert "no-date" in a.flags


def test_extraction_time_cap_stops_a_slow_page():
    paragraphs = "".join(f"<p>段落{i}の本文です。十分な長さがあります。</p>" for i in range(20_000))
    html = ("<html><body>" + paragraphs
            + "</body></html>").encode()
    with pytest.raises(ExtractError, match="extraction took over"):
        _extract(PAGES / "news_dates.html", content=html, settings=ExtractSettings(max_seconds=0.05))


def test_feed_entry_dates_are_rfc822_and_implausible_ones_set_aside():
    entry = {"title": "t", "link": "https://example.jp/x?utm_source=rss",
             "published": "Thu, 12 Feb 2026 01:30:00 GMT",
             "content": "<p>" + "本文です。" * 20 + "</p>"}
    doc = RawDoc(key="e", kind="entry", origin="feed", location="entry 1",
                 content=json.dumps(entry).encode(), hints={"fetched": FETCHED})
    a = extract.extract(doc, ExtractSettings())
    assert a.published == datetime(2026, 2, 12, 10, 30, tzinfo=JST) and a.published_how == "feed"
    assert a.url == "https://example.jp/x"
    entry["published"] = "Fri, 12 Feb 2100 01:30:00 GMT"
    doc.content = json.dumps(entry).encode()
    late = extract.extract(doc, ExtractSettings())
    assert late.flags == ["implausible-date"] and late.published is None
    assert late.published_raw == "Fri, 12 Feb 2100 01:30:00 GMT"


def test_cli_extract_json_has_contract_fields_kind_and_flags(tmp_path):
    proc = run_cli("extract", str(PAGES / "teaser.html"), "--json", db=tmp_path / "x.db")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("url", "title", "text", "published", "author", "source", "lang", "encoding",
                "encoding_reason"):
        assert key in data
    assert data["encoding"] == "utf-8" and data["lang"] == "ja"
    assert data["kind"] == "teaser" and data["flags"] == ["paywalled", "truncated"]
    assert data["published"] == "2026-02-12T06:00:00+09:00"
    assert not (tmp_path / "x.db").exists()


def test_the_extraction_cap_counts_cpu_not_the_clock():
    """Under load (a backfill on Ray beside other work) a heavy but honest page waited past the
    cap on the clock and was set aside for good; what the cap is for, a page built to keep the
    parser busy, burns CPU."""
    import time

    from matome.extract.page import _deadline

    with _deadline(0.1):
        time.sleep(0.3)   # waiting, as a page does while the machine serves others: no reject
    with pytest.raises(ExtractError, match="of CPU"), _deadline(0.1):
        end = time.process_time() + 2.0
        while time.process_time() < end:
            pass


def test_htmldate_falls_back_to_a_date_parser_limited_to_the_languages_matome_reads() -> None:
    # dateparser built for all its locales cost each worker of each run 1.8 s (extract.dates)
    import htmldate.extractors

    from matome.extract import dates

    parser = htmldate.extractors.get_external_parser()
    assert parser is dates._external_parser()
    assert sorted(parser.languages) == sorted(dates.EXTERNAL_DATE_LANGUAGES)
    assert htmldate.extractors._external_date("April 17, 2015") == datetime(2015, 4, 17)
    assert htmldate.extractors._external_date("17 avril 2015") == datetime(2015, 4, 17)
    assert htmldate.extractors._external_date("Mittwoch, 3. April 2019") == datetime(2019, 4, 3)

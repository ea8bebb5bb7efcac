"""Feed- and sitemap-level hostile inputs, served from 127.0.0.1 and ingested for real.

Each case: the batch goes on (a good feed ingested beside it is stored),
every problem has a reason a person can read, nothing already stored is
lost, and ingesting the same thing again duplicates nothing.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from matome import pipeline
from matome.settings import FetchSettings, Settings
from matome.store import Store, db_url
from tests.hostile.server import Reply, Request, serve
from tests.test_ingest_sources import RSS, rss

BODY = "北港で第一埠頭の改修工事が始まった。総事業費は約40億円で、完成は2028年春の予定だ。" * 6


def items(prefix: str, n: int = 3) -> list[tuple[str, str, str, str]]:
    return [(f"{prefix}{i}", f"https://kowan.example/{prefix}/{i}", f"見出し{prefix}{i}", BODY + str(i))
            for i in range(n)]


GOOD = rss(items("good"))
SJIS_FEED = ('<?xml version="1.0" encoding="Shift_JIS"?><rss version="2.0"><channel><title>港湾日報</title>'
             f"<item><guid>sj1</guid><link>https://kowan.example/sj/1</link><title>①㈱髙島屋が出店</title>"
             f"<description>{BODY}</description></item></channel></rss>")
ROTATION = {"n": 0}


def rotating(req: Request) -> Reply:
    """New GUIDs on every request for the same entries."""
    body = rss([(f"r{req.n}-{i}", f"https://kowan.example/rot/{i}", f"回転{i}", BODY + str(i))
                for i in range(4)])
    return Reply(body=body, content_type=RSS)


@dataclass
class Case:
    name: str
    reply: Reply | Callable[[Request], Reply]
    stored: int               # raw documents this feed leaves stored
    reason: str | None        # a reject reason must contain this (None: no reject)


CASES = [
    Case("truncated feed", Reply(body=GOOD[: GOOD.index(b"<item>", GOOD.index(b"<item>") + 10) + 40],
                                 content_type=RSS), 2, "malformed feed, 2 entries recovered"),
    Case("html error page as feed", Reply(body=b"<html><body>503 Service Unavailable</body></html>",
                                          content_type=RSS), 1, "near-empty text"),
    Case("binary junk", Reply(body=bytes(range(256)) * 40, content_type=RSS), 1, "not HTML"),
    Case("empty feed body", Reply(body=b"", content_type=RSS), 1, "not HTML"),
    Case("duplicate GUIDs", Reply(body=rss([("d1", "https://kowan.example/d/1", "一", BODY),
                                            ("d1", "https://kowan.example/d/2", "二", BODY + "別")]),
                                  content_type=RSS), 1, "repeats this entry's GUID"),
    Case("rotating GUIDs", rotating, 4, None),
    Case("javascript: link", Reply(body=rss([("j1", "javascript:alert(1)", "危険", BODY)]),
                                   content_type=RSS), 1, "javascript: URLs are never followed"),
    Case("file:// link", Reply(body=rss([("f1", "file:///etc/passwd", "危険", BODY)]), content_type=RSS),
         1, "file: URLs are never followed"),
    Case("relative link", Reply(body=rss([("rel1", "/news/rel/1", "相対", BODY)]), content_type=RSS), 1,
         None),
    Case("entry with nothing", Reply(body=rss([("", "", "", "")]), content_type=RSS), 0,
         "feed entry with no id, link, title or content"),
    Case("Shift_JIS feed with NEC characters", Reply(body=SJIS_FEED.encode("cp932"), content_type=RSS), 1,
         None),
    Case("EUC-JP feed declared Shift_JIS",
         Reply(body=SJIS_FEED.replace("①㈱髙島屋", "高島屋").encode("euc_jp"), content_type=RSS), 1, None),
    Case("XXE in a sitemap", Reply(body=b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM '
                                        b'"file:///etc/passwd">]><urlset><url><loc>&x;</loc></url></urlset>',
                                   content_type="application/xml"), 0, "no http(s) <loc>"),
    Case("billion laughs", Reply(body=b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                                      + b"".join(b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">'
                                                 % ((98 + i,) + (97 + i,) * 10) for i in range(8))
                                      + b"]><rss><channel><item><title>&i;</title></item></channel></rss>",
                                 content_type=RSS), 1, "limit on input amplification"),
    Case("gzip bomb as sitemap.xml.gz", Reply(body=gzip.compress(b"<urlset>" + b" " * 30_000_000),
                                              content_type="application/x-gzip"), 0,
         "gzip body over 20000000 bytes once decompressed"),
    Case("broken JSON Feed", Reply(body=b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
                                   content_type="application/feed+json"), 0, "not a readable JSON Feed"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_feed(case: Case, tmp_path):
    routes = {"/good": Reply(body=GOOD, content_type=RSS), "/bad": case.reply}
    with serve(routes) as site:
        settings = Settings(fetch=FetchSettings(allow_private=[site.hostport], min_host_delay=0.0))
        store = Store(db_url(str(tmp_path / "h.db")))
        pipeline.ingest(store, [site.url("/good")], settings)
        first = pipeline.ingest(store, [site.url("/bad"), site.url("/good")], settings)
        again = pipeline.ingest(store, [site.url("/bad"), site.url("/good")], settings)
        pipeline.process(store, settings)
    reasons = [r["reason"] for r in store.rejects()]
    if case.reason is None:
        assert not [r for r in reasons if "/bad" in r], reasons
    else:
        assert any(case.reason in r for r in reasons), reasons
    assert first.counts["new"] == case.stored, (first.counts, reasons)
    assert again.counts["new"] == 0 and again.counts["changed"] == 0, again.counts
    arts = store.articles()
    assert {a.title for a in arts} >= {"見出しgood0", "見出しgood1", "見出しgood2"}
    assert all(not a.url.startswith(("javascript:", "file:")) for a in arts)
    assert all("\ufffd" not in a.title and "ï" not in a.title for a in arts)

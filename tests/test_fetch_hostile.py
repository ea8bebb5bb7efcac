"""The hostile HTTP corpus through the real ingest: every case ends with the batch going on.

For each case of ``tests/hostile/http_cases.py`` a server on 127.0.0.1 misbehaves
as the case says, and ``pipeline.ingest`` is run on [that URL, a good URL] over a
store that already holds an article. Then: no exception; the good URL was
stored and extracted; the case left a reject with a readable reason (or, for a
page that is awkward but readable, a correct article); the article stored
before is intact; and running the same ingest again changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matome import pipeline
from matome.settings import FetchSettings, Settings
from matome.store import Store, db_url
from tests.hostile.http_cases import CAP, CASES, HTML, Case
from tests.hostile.server import Reply, Route, Site, serve

SEED = {"id": "seed-1", "url": "https://seed.example/1", "title": "既に保存された記事",
        "text": "南浜町は10日、町営プールを改修すると発表した。工事は夏までに終える予定だ。" * 3,
        "published": "2026-02-10T09:00:00+09:00", "source": "南浜新報"}


@pytest.fixture(scope="module")
def good() -> Iterator[Site]:
    with serve({"/good": Reply(body=HTML)}) as site:
        yield site


@pytest.fixture(scope="module")
def forbidden() -> Iterator[Site]:
    """A live loopback server that is not on the allow list: reaching it would be a failure."""
    with serve({"/": Reply(body=HTML), "/latest/meta-data": Reply(body=b"secret")}) as site:
        yield site


def _fill(routes: dict[str, Route], **ports: int) -> dict[str, Route]:
    out: dict[str, Route] = {}
    for path, route in routes.items():
        if isinstance(route, Reply) and route.headers:
            route = Reply(**{**route.__dict__, "headers": {k: v.format(**ports)
                                                           for k, v in route.headers.items()}})
        out[path] = route
    return out


def _settings(*sites: Site) -> Settings:
    settings = Settings()
    settings.fetch = FetchSettings(
        # short enough for hanging hosts to fail fast, long enough that a loaded 2-core
        # machine (CI beside a benchmark) does not time out a healthy local server
        min_host_delay=0.0, connect_timeout=2.0, read_timeout=1.2, total_timeout=2.0,
        max_body_bytes=CAP, max_tries=3, backoff=0.01, max_retry_wait=1.0,
        allow_private=[s.hostport for s in sites])
    return settings


def _seeded(tmp_path: Path, settings: Settings) -> Store:
    store = Store(db_url(str(tmp_path / "m.db")))
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps(SEED, ensure_ascii=False) + "\n", encoding="utf-8")
    pipeline.ingest(store, [str(seed)], settings)
    pipeline.run_extract(store, settings, pipeline.Quiet(), pipeline.Report())
    return store


def _state(store: Store) -> dict[str, Any]:
    counts = store.counts()
    return {"raw": counts["raw"], "articles": counts["articles"], "rejects": counts["rejects"],
            "seed": store.articles(["seed-1"])[0].to_json()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_server_case(case: Case, tmp_path: Path, good: Site, forbidden: Site) -> None:
    with serve(lambda site: _fill(dict(case.routes), port=site.port, forbidden=forbidden.port)) as site:
        settings = _settings(site, good)
        store = _seeded(tmp_path, settings)
        seed_before = _state(store)["seed"]
        url, good_url = site.url(case.path), good.url("/good")
        states = []
        for _run in range(2):
            pipeline.ingest(store, [url, good_url], settings)
            pipeline.run_extract(store, settings, pipeline.Quiet(), pipeline.Report())
            states.append(_state(store))
            articles = store.articles()
            assert any(a.url == good_url and "堤防を補強" in a.text for a in articles)
            assert states[-1]["seed"] == seed_before
            mine = [r for r in store.rejects() if r["origin"].startswith(site.base)]
            if case.reject is not None:
                expected = case.reject.format(port=site.port, forbidden=forbidden.port)
                reasons = [(r["stage"], r["reason"]) for r in mine]
                assert any(stage == case.stage and expected in reason for stage, reason in reasons), reasons
            else:
                assert not mine, [(r["stage"], r["reason"]) for r in mine]
                assert case.check is not None
                [article] = [a for a in articles if a.url.startswith(site.base)]
                case.check(article)
        assert states[0] == states[1]  # nothing duplicated, nothing lost
        assert forbidden.hits.total() == 0

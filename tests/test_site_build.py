"""``site build`` writes only what changed, and the result is what a full build writes.

Stories are made through the store's own write methods (what the pipeline calls), so
every kind of change a page can see is here on purpose: a new story, a report joining
an old story, stories merged (the old page becomes a moved page), a story emptied and
regrouped, a storyline's timeline, a tag renamed and a tag gone, an outlet gone. After
each, the incremental build must equal a fresh ``--full`` build byte for byte, and
must have rendered fewer pages than there are.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from matome.records import (
    Article,
    Citation,
    Provenance,
    RawDoc,
    Section,
    TagRow,
    Written,
    WrittenSentence,
)
from matome.settings import Settings
from matome.site import build, feeds, index, pages
from matome.site.readmodel import outlet_id
from matome.store import Store, db_url, site_index
from matome.store import schema as t

T0 = datetime(2026, 3, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo"))
TEXT = "港北市は{day}日、新しい計画を発表した。総事業費は約{day}0億円で、来年春の完成を目指す。"


class World:
    """A store filled by hand through the store API."""

    def __init__(self, url: str) -> None:
        self.store = Store(url)
        self.seq = 0
        site = dataclasses.replace(Settings().site, stories_per_page=2)
        self.settings = dataclasses.replace(Settings(), site=site)

    def article(self, aid: str, day: int, source: str, title: str | None = None) -> None:
        doc = RawDoc(key=f"k:{aid}", kind="record", origin="test.jsonl", location=aid,
                     content=aid.encode())
        self.store.put_raw(doc)
        with self.store.read() as conn:
            raw_id = conn.execute(select(t.raw_docs.c.id).where(t.raw_docs.c.key == doc.key)).scalar_one()
        art = Article(aid, f"https://news.example/{aid}", title or f"計画の記事 {aid}", TEXT.format(day=day),
                      source, "ja", published=T0 + timedelta(days=day))
        self.store.put_article(raw_id, art, "extract/test", doc.content_hash, doc)

    def join(self, aid: str, sid: str, *, new: bool = False, line: str | None = None,
             merged: str | None = None) -> None:
        self.seq += 1
        self.store.put_membership(aid, sid, "member", self.seq, {"score": 1.0}, "cluster/test",
                                  new_story=new, storyline=line, merged=merged)

    def write(self, sid: str, headline: str, aid: str) -> None:
        sentence = WrittenSentence(TEXT.format(day=1)[:20], [Citation(aid, TEXT.format(day=1)[:10])])
        self.store.put_written(sid, Written("brief", headline, "計画の続報", "港北市の計画についてのリード。",
                                            [Section("概要", [sentence])], Provenance("extractive/test")),
                               "write/test", headline)

    def story(self, sid: str, aid: str, day: int, source: str, *, line: str | None = None,
              title: str | None = None) -> None:
        self.article(aid, day, source, title)
        self.join(aid, sid, new=True, line=line)
        self.write(sid, f"{sid}の見出し", aid)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _publish_and_compare(w: World | tuple[Store, Settings], tmp: Path, name: str,
                         out: Path) -> build.Built:
    """Build ``out`` as it comes (incremental when it can be) and a fresh full build beside
    it: the two trees must be the same, byte for byte."""
    store, settings = w if isinstance(w, tuple) else (w.store, w.settings)
    index.refresh(store, settings)
    _nothing_pending(store)
    _cards_are_the_stories(store, settings)
    done = build.publish(store, out, settings)
    full = tmp / f"full-{name}"
    assert build.publish(store, full, settings, full=True).full
    got, want = _tree(out), _tree(full)
    assert sorted(got) == sorted(want), set(got) ^ set(want)
    differ = [p for p in want if got[p] != want[p]]
    assert not differ, differ[:5]
    assert not [p for p in got if p.endswith(".tmp")]
    return done


def _nothing_pending(store: Store) -> None:
    """PostgreSQL: the search's GIN indexes hold no entry pending after a refresh (every search
    reads a pending list through until it is merged: searches of 0.5 s after a ``process``)."""
    if store.engine.dialect.name != "postgresql":
        return
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgstattuple")  # contrib, as pg_trgm
        for ix in ("ix_search_docs_grams", "ix_search_docs_trgm"):
            pending = conn.exec_driver_sql(f"SELECT pending_tuples FROM pgstatginindex('{ix}')").scalar()
            assert pending == 0, (ix, pending)


def _cards_are_the_stories(store: Store, settings: Settings) -> None:
    """What the index keeps of each story for listings, feeds and timelines is what the story
    itself, loaded whole, shows: no card left of a story gone, none stale."""
    from matome.site.dbview import DbCatalog
    from matome.site.readmodel import Card, load

    cat = load(store, settings.writer.primary)
    with store.read() as conn:
        every = [r.story_id for r in conn.execute(select(site_index.site_cards.c.story_id))]
        kept = {sid: Card.from_json(data) for sid, data in site_index.cards(conn, every).items()}
    assert kept == {s.id: s.card for s in cat.stories}
    with DbCatalog.pinned(store, settings.writer.primary) as db:
        assert db.stories.cards(0, len(db.stories)) == cat.stories.cards(0, len(cat.stories))


def filled(url: str) -> World:
    """Seven stories over two outlets, three of them one storyline, two tags."""
    w = World(url)
    for i in range(1, 8):
        w.story(f"s{i}", f"a{i}", i, "港北日報" if i % 2 else "南海新聞",
                line="l1" if i <= 3 else None)
    w.store.replace_tags([TagRow("g1", "計画", "theme", []), TagRow("g2", "港北市", "place", [])],
                         {"s1": [("g1", 1.0)], "s2": [("g1", 1.0)], "s4": [("g1", 2.0), ("g2", 1.0)],
                          "s5": [("g2", 1.0)]}, "tags/test", "1")
    return w


@pytest.fixture
def world(tmp_path: Path) -> World:
    return filled(db_url(str(tmp_path / "w.db")))


def test_each_change_rebuilds_only_its_pages_and_gives_the_full_build(world, tmp_path):
    every_change(world, tmp_path)


def every_change(w: World, tmp_path: Path) -> None:
    """Change the store every way a page can see, building after each (also on PostgreSQL)."""
    out = tmp_path / "site"
    first = _publish_and_compare(w, tmp_path, "0", out)
    assert first.full  # no manifest yet
    total = len(_tree(out))

    # a story rewritten: its storyline's other pages show its headline in their timeline
    w.write("s2", "書き直した見出し", "a2")
    done = _publish_and_compare(w, tmp_path, "r", out)
    assert "書き直した見出し" in (out / "stories/s1.html").read_text("utf-8")

    # a new story; a report joining an old one (it moves to the front); a merge; a rename
    w.story("s8", "a8", 8, "港北日報")
    w.article("a9", 9, "西都タイムス")
    w.join("a9", "s2")
    w.article("a10", 10, "港北日報")
    w.join("a10", "s4", merged="s3")
    w.store.replace_tags([TagRow("g1", "計画（改）", "theme", []), TagRow("g2", "港北市", "place", [])],
                         {"s1": [("g1", 1.0)], "s2": [("g1", 1.0)], "s4": [("g1", 2.0), ("g2", 1.0)],
                          "s5": [("g2", 1.0)], "s8": [("g2", 1.0)]}, "tags/test", "2")
    done = _publish_and_compare(w, tmp_path, "1", out)
    assert not done.full and 0 < done.written <= done.looked_at < total
    moved = (out / "stories/s3.html").read_text("utf-8")
    assert "s4.html" in moved and "このストーリーは移動しました" in moved
    assert "計画（改）" in (out / "stories/s1.html").read_text("utf-8")

    # a story emptied (its report regrouped elsewhere), its pending redirect resolved; a
    # tag gone; the only story of an outlet merged away
    w.join("a5", "s6")
    w.join("a9", "s6")
    assert w.store.drop_empty_stories() == ["s5"]
    w.store.resolve_pending_redirects({"a5": "s6", "a9": "s6"})
    w.store.replace_tags([TagRow("g1", "計画（改）", "theme", [])],
                         {"s1": [("g1", 1.0)], "s2": [("g1", 1.0)], "s4": [("g1", 2.0)]}, "tags/test", "3")
    done = _publish_and_compare(w, tmp_path, "2", out)
    assert not done.full and done.removed >= 2  # g2's pages; 西都タイムス kept (s6 has a9)
    assert not (out / "tags/g2.html").exists()
    assert "s6.html" in (out / "stories/s5.html").read_text("utf-8")

    # nothing changed: nothing rendered, nothing written
    again = build.publish(w.store, out, w.settings)
    assert (again.full, again.looked_at, again.written) == (False, 0, 0)


def test_new_stories_leave_older_archive_pages_as_they_were(world, tmp_path):
    w, out = world, tmp_path / "site"
    _publish_and_compare(w, tmp_path, "0", out)
    oldest = out / "page-1.html"
    before = oldest.stat().st_mtime_ns, oldest.read_bytes()
    for i in range(20, 25):
        w.story(f"n{i}", f"b{i}", i, "港北日報")
    done = _publish_and_compare(w, tmp_path, "1", out)
    assert not done.full
    assert (oldest.stat().st_mtime_ns, oldest.read_bytes()) == before  # not even rewritten
    assert (out / "page-5.html").exists()  # 12 stories, 2 a page: front holds the newest 2 to 3


def test_a_story_joining_the_front_page_renders_no_archive_page(world, tmp_path):
    """The front page holds one to two pages' worth: a new story that leaves the number of
    archive pages as it was changes the front page only, not the last archive page (the one
    linking to the front page); when it adds an archive page, the last one before changes."""
    w, out = world, tmp_path / "site"
    for i in range(20, 25):
        w.story(f"n{i}", f"b{i}", i, "港北日報")
    _publish_and_compare(w, tmp_path, "0", out)  # 12 stories: archive pages 1-5, front 2
    w.story("n25", "b25", 25, "港北日報")
    index.refresh(w.store, w.settings)
    planned, _ = _planned_since(w, out)
    assert not [p for p in planned if p.startswith("page-")], planned
    _publish_and_compare(w, tmp_path, "1", out)  # 13: front 3
    w.story("n26", "b26", 26, "港北日報")
    index.refresh(w.store, w.settings)
    planned, _ = _planned_since(w, out)
    assert [p for p in planned if p.startswith("page-")] == ["page-5.html", "page-6.html"]
    _publish_and_compare(w, tmp_path, "2", out)  # 14: archive pages 1-6, front 2
    assert 'href="page-6.html"' in (out / "page-5.html").read_text("utf-8")


def _planned_since(w, out):
    """What an incremental build of ``out`` would render now (from its manifest's log entry
    on), and the paths every build renders."""
    with w.store.read() as conn:
        old = json.loads((out / pages.MANIFEST).read_text())["log"]
        entries = site_index.log_since(conn, old, site_index.log_end(conn))
        with build.DbCatalog.pinned(w.store, w.settings.writer.primary) as cat:
            site = pages.Site(cat, w.settings)
            return build.plan(site, conn, entries), site.shared_paths()


def test_a_story_changed_in_place_renders_only_the_pages_showing_it(world, tmp_path):
    """An old story rewritten (or re-placed because a tag it shows was renamed) keeps its
    place in every listing: only the page holding it is rendered again, not every newer
    page of the listing (at 100k articles that was thousands of pages a cycle)."""
    w, out = world, tmp_path / "site"
    for i in range(20, 32):
        w.story(f"n{i}", f"b{i}", i, "港北日報")
    _publish_and_compare(w, tmp_path, "0", out)
    newer = out / "page-5.html"
    before = newer.stat().st_mtime_ns, newer.read_bytes()
    w.write("s1", "書き直した見出し", "a1")
    index.refresh(w.store, w.settings)
    planned, shared = _planned_since(w, out)
    listings = [p for p in planned if not p.startswith("stories/") and p not in shared]
    # s1 is the oldest story: archive page 1 of the index and of its outlet; g1's front page
    assert sorted(listings) == sorted(["page-1.html", f"outlets/{outlet_id('港北日報')}-p1.html",
                                       "tags/g1.html", "tags/g1.atom", "tags/g1.json"]), listings
    done = _publish_and_compare(w, tmp_path, "1", out)
    assert "書き直した見出し" in (out / "page-1.html").read_text("utf-8")
    assert (newer.stat().st_mtime_ns, newer.read_bytes()) == before
    assert done.looked_at == len(planned)


def test_a_story_indexed_again_looking_the_same_renders_no_listing_page(world, tmp_path):
    """Re-placed with nothing a listing shows changed (its card): its own page is logged,
    no listing's page is."""
    w, out = world, tmp_path / "site"
    _publish_and_compare(w, tmp_path, "0", out)
    with w.store.read() as conn:
        start = site_index.log_end(conn)
    index.reindex(w.store, ["s1", "s4"], w.settings)
    with w.store.read() as conn:
        logged = [e.listing for e in site_index.log_since(conn, start, site_index.log_end(conn))]
    assert sorted(logged) == ["s:s1", "s:s4"]
    done = _publish_and_compare(w, tmp_path, "1", out)
    assert done.written == 0


def test_storylines_found_to_be_one_render_their_pages_and_feeds_not_listing_pages(
        world, tmp_path, monkeypatch):
    """Storylines found to be one change what every story of them shows on its own page
    (the timeline) and in a feed (JSON Feed names the storyline), not what a listing's page
    shows: no archive page is rendered for them (at 100k articles that was most archive
    pages of every listing, each cycle), and a tag's feed only when one is among its newest."""
    monkeypatch.setattr(feeds, "FEED_SIZE", 2)
    monkeypatch.setattr(build, "FEED_SIZE", 2)
    w, out = world, tmp_path / "site"
    for i in range(20, 32):
        w.story(f"n{i}", f"b{i}", i, "港北日報")
    # s1 (storyline l1) is among g1's two newest with s2 (s4 is g1's newest), and not g3's
    w.store.replace_tags([TagRow("g1", "計画", "theme", []), TagRow("g3", "港湾", "theme", [])],
                         {"s1": [("g1", 2.0), ("g3", 1.0)], "s2": [("g1", 1.0)], "s4": [("g1", 1.0)],
                          "n30": [("g3", 1.0)], "n31": [("g3", 1.0)]}, "tags/test", "2")
    _publish_and_compare(w, tmp_path, "0", out)
    w.article("a40", 40, "南海新聞")
    w.seq += 1
    w.store.put_membership("a40", "n40", "member", w.seq, {"score": 1.0}, "cluster/test",
                           new_story=True, storyline="l2", relinked=[("l1", "l2")])
    w.write("n40", "n40の見出し", "a40")
    index.refresh(w.store, w.settings)
    planned, _ = _planned_since(w, out)
    assert {"stories/s1.html", "stories/s2.html", "stories/s3.html", "stories/n40.html"} <= set(planned)
    assert {"tags/g1.atom", "tags/g1.json"} <= set(planned)
    assert not [p for p in planned if p.startswith(("tags/g1.", "tags/g1-")) and p.endswith(".html")]
    assert not [p for p in planned if p.startswith("tags/g3")]
    # the new story's place in the index and its outlet; nothing where s1-s3 stand
    assert "page-1.html" not in planned and "page-2.html" not in planned
    assert not [p for p in planned if p.startswith(f"outlets/{outlet_id('港北日報')}")], planned
    done = _publish_and_compare(w, tmp_path, "1", out)
    assert done.looked_at == len(planned)
    feed = json.loads((out / "tags/g1.json").read_text("utf-8"))
    assert {item["_matome"]["storyline"] for item in feed["items"]} >= {"l2"}


def test_a_build_from_another_settings_store_or_pruned_log_is_full(world, tmp_path):
    w, out = world, tmp_path / "site"
    _publish_and_compare(w, tmp_path, "0", out)
    site = dataclasses.replace(w.settings.site, title="別のサイト")
    other = dataclasses.replace(w.settings, site=site)
    assert build.publish(w.store, out, other).full
    assert not build.publish(w.store, out, other).full
    w.story("s9", "a9", 9, "港北日報")
    index.refresh(w.store, other)
    with w.store.tx() as conn:  # the log no longer goes back to this build
        site_index.set_state(conn, floor=str(site_index.prune_log(conn, 0)))
    assert build.publish(w.store, out, other).full


def test_a_change_to_the_code_that_writes_pages_makes_the_next_build_full(world, tmp_path,
                                                                            monkeypatch):
    """Listing items, Atom entries, citations and charts are written in Python: a change
    there changes pages as a template's does, so it is in the build's key (a copy of the
    site package, one file changed at a time); the server's code is not."""
    import shutil
    from importlib import resources

    copy = tmp_path / "pkg"
    shutil.copytree(Path(str(resources.files("matome.site"))), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    first = build._templates_key(copy)
    for name in ("pages.py", "feeds.py", "charts.py", "readmodel.py", "templates/story.html"):
        with (copy / name).open("a", encoding="utf-8") as f:
            f.write("\n")
        assert build._templates_key(copy) != first, name
        first = build._templates_key(copy)
    (copy / "server.py").write_text("# not what renders pages\n", encoding="utf-8")
    assert build._templates_key(copy) == first
    # and the build that follows such a change is a full one
    w, out = world, tmp_path / "site"
    _publish_and_compare(w, tmp_path, "0", out)
    monkeypatch.setattr(build, "_templates_key", lambda root=None: "another rendering")
    assert build.publish(w.store, out, w.settings).full
    assert not build.publish(w.store, out, w.settings).full


def test_a_refresh_killed_part_way_takes_up_where_it_stopped(world, tmp_path, monkeypatch):
    w = world
    index.refresh(w.store, w.settings)
    for i in range(20, 30):
        w.story(f"n{i}", f"b{i}", i, "港北日報")
    monkeypatch.setattr(index, "BATCH", 3)
    calls = {"n": 0}
    real = index._reindex

    def dies_on_the_third(*args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill would, mid-way
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(index, "_reindex", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        index.refresh(w.store, w.settings)
    monkeypatch.setattr(index, "_reindex", real)
    index.refresh(w.store, w.settings)
    assert not index.behind(w.store, w.settings)
    resumed = _index_rows(w.store)
    index.reindex_all(w.store, w.settings)
    assert _index_rows(w.store) == resumed


def test_a_rebuilt_search_index_numbers_stories_as_they_last_changed(world):
    """Search takes its highest document numbers for the newest (its recent table, the newest
    matches first): a rebuild numbers the stories in the order they last took a report in,
    not in the order of their ids (which made "the newest" a random draw of the archive)."""
    from matome.store import search_index

    world.article("a8", 8, "港北日報")
    world.join("a8", "s2")   # s2 changed last, then s5, s1
    world.article("a9", 9, "南海新聞")
    world.join("a9", "s5")
    world.article("a10", 10, "港北日報")
    world.join("a10", "s1")
    index.reindex_all(world.store, world.settings)
    d = search_index.search_docs.c
    with world.store.read() as conn:
        order = list(dict.fromkeys(r[0] for r in conn.execute(select(d.story).order_by(d.id))))
    assert order == ["s3", "s4", "s6", "s7", "s2", "s5", "s1"]


def _index_rows(store: Store) -> tuple[object, ...]:
    from matome.store import search_index

    with store.read() as conn:
        listing = sorted(tuple(r) for r in conn.execute(select(site_index.site_listing)))
        counts = sorted(tuple(r) for r in conn.execute(select(site_index.listing_counts)))
        days = sorted(tuple(r) for r in conn.execute(select(site_index.listing_days)))
        d = search_index.search_docs.c
        docs = sorted(tuple(r) for r in conn.execute(select(d.kind, d.story, d.article, d.hash)))
        cards = sorted(tuple(r) for r in conn.execute(select(site_index.site_cards)))
    return listing, counts, days, docs, cards


def test_site_build_on_the_command_line(world, tmp_path):
    from tests.conftest import run_cli

    w, out = world, tmp_path / "cli-site"
    w.store.close()
    first = run_cli("site", "build", "--out", str(out), db=tmp_path / "w.db", check=True)
    assert "built" in first.stderr and (out / pages.MANIFEST).exists()
    second = run_cli("site", "build", "--out", str(out), db=tmp_path / "w.db", check=True)
    assert "updated 0 of 0" in second.stderr
    third = run_cli("site", "build", "--out", str(out), "--full", db=tmp_path / "w.db", check=True)
    assert "built" in third.stderr


@pytest.mark.slow
def test_after_process_the_incremental_build_is_the_full_build(tmp_path):
    """The demo corpus in two deliveries, `process` after each, as `watch` would."""
    import shutil

    from matome import pipeline
    from tests.conftest import demo_corpus, demo_settings

    first, second = tmp_path / "first", tmp_path / "second"
    for src in sorted(demo_corpus().rglob("*")):
        if src.is_file():
            early = "html" in src.parts and src.name.split("-")[1] <= "20260210"
            dest = (first if early or src.parent.name == "feeds" else second) / src.name
            dest.parent.mkdir(exist_ok=True)
            shutil.copy(src, dest)
    base = demo_settings()
    settings = dataclasses.replace(base, site=dataclasses.replace(base.site, stories_per_page=2))
    store = Store(db_url(str(tmp_path / "d.db")))
    w = (store, settings)
    out = tmp_path / "site"
    pipeline.ingest(store, [str(first)], settings)
    pipeline.process(store, settings)
    assert _publish_and_compare(w, tmp_path, "0", out).full
    pipeline.ingest(store, [str(second)], settings)
    pipeline.process(store, settings)
    done = _publish_and_compare(w, tmp_path, "1", out)
    assert not done.full and done.written < len(_tree(out))
    store.close()


def test_a_stamped_directory_gets_only_what_changes_after_the_stamp(world, tmp_path):
    w, out = world, tmp_path / "stamped"
    index.refresh(w.store, w.settings)
    build.stamp(w.store, out, w.settings)
    w.story("s9", "a9", 9, "港北日報")
    index.refresh(w.store, w.settings)
    done = build.publish(w.store, out, w.settings)
    assert not done.full and (out / "stories/s9.html").exists()
    assert not (out / "stories/s1.html").exists()  # unchanged since the stamp: not written


def test_a_listed_story_without_a_card_is_shown_from_the_story_itself(world, tmp_path):
    """Cards are written with each story's place, so none should be missing; if one is (a row
    lost by hand), listings make it from the story instead of dropping it."""
    from matome.site.dbview import DbCatalog

    w = world
    index.refresh(w.store, w.settings)
    full = tmp_path / "with-cards"
    build.publish(w.store, full, w.settings, full=True)
    with w.store.tx() as conn:
        conn.execute(site_index.site_cards.delete().where(site_index.site_cards.c.story_id.in_(["s1", "s4"])))
    with DbCatalog.pinned(w.store, w.settings.writer.primary) as cat:
        assert [c.id for c in cat.stories.cards(0, 10)] == ["s7", "s6", "s5", "s4", "s3", "s2", "s1"]
    without = tmp_path / "without"
    build.publish(w.store, without, w.settings, full=True)
    assert _tree(without) == _tree(full)


def test_a_long_storyline_shows_a_window_of_its_timeline_and_grows_by_its_last_pages(
        world, tmp_path, monkeypatch):
    """A storyline has no length cap. Each page shows its first story and the stories up to
    TIMELINE_SPAN either side of it, so a story added at the end renders the pages of the
    last few, not every page of the storyline (whose cost grew with the square of its
    length); the incremental build still equals the full one."""
    from matome.site import readmodel

    monkeypatch.setattr(readmodel, "TIMELINE_SPAN", 2)
    monkeypatch.setattr(build, "TIMELINE_SPAN", 2)
    w, out = world, tmp_path / "site"
    for i in range(20, 32):  # l1: s1-s3, then n20-n31
        w.story(f"n{i}", f"b{i}", i, "港北日報", line="l1")
    _publish_and_compare(w, tmp_path, "0", out)
    page = (out / "stories/n25.html").read_text("utf-8")
    timeline = page.split('class="timeline"')[1].split("</ol>")[0]
    # s1 first, the gap, then n23 n24 [n25] n26 n27
    assert timeline.count("<li") == 7 and 'class="gap"' in timeline
    assert [x for x in ("s1.html", "n23.html", "n27.html") if x not in timeline] == []
    assert "s2.html" not in timeline and "n28.html" not in timeline
    assert '<li value="7">' in timeline  # n23 keeps its place in the storyline (s1 is 1)
    w.story("n40", "b40", 40, "南海新聞", line="l1")
    index.refresh(w.store, w.settings)
    planned, _ = _planned_since(w, out)
    stories = sorted(p for p in planned if p.startswith("stories/"))
    assert stories == ["stories/n30.html", "stories/n31.html", "stories/n40.html"], stories
    _publish_and_compare(w, tmp_path, "1", out)
    w.write("n20", "n20の新しい見出し", "b20")  # a story's headline changes in place
    index.refresh(w.store, w.settings)
    planned, _ = _planned_since(w, out)
    assert {"stories/s2.html", "stories/s3.html", "stories/n21.html", "stories/n22.html"} <= set(planned)
    assert "stories/s1.html" not in planned
    _publish_and_compare(w, tmp_path, "2", out)


def tag_timelines_are_drawn_from_every_day(store: Store) -> None:
    """A theme followed for years: its chart from the store (months or years summed by the
    database, a row a bar) is the chart of all its days, as the in-memory catalog draws it;
    the timelines' spans give bars of days, weeks, months and years."""
    from datetime import date

    from matome.site.charts import timeline_svg
    from matome.site.dbview import DbCatalog
    from matome.site.readmodel import Stories, TagView

    first = date(2023, 3, 17)
    spans = {span: {first + timedelta(days=k): 1 + k * 7 % 5 for k in range(0, span, 3)}
             for span in (40, 400, 2000, 5000)}
    for span, days in spans.items():
        days[first + timedelta(days=span - 1)] = 4

    def yyyymmdd(d: date) -> int:
        return d.year * 10000 + d.month * 100 + d.day

    with store.tx() as conn:  # as stories come and go: some days counted up, then down
        site_index.add_days(conn, {(f"t:x{span}", yyyymmdd(d)): n + 2
                                   for span, days in spans.items() for d, n in days.items()})
        site_index.add_days(conn, {(f"t:x{span}", yyyymmdd(d)): -2
                                   for span, days in spans.items() for d in days})
        site_index.add_days(conn, {("t:gone", 20240105): 1, ("t:x40", 20220101): 1})
        site_index.add_days(conn, {("t:gone", 20240105): -1, ("t:x40", 20220101): -1})
    tag = TagView("none", "x", "theme", [], Stories([]))
    with DbCatalog.pinned(store) as cat:
        assert cat.tag_days(tag) == cat.tag_days(dataclasses.replace(tag, id="gone")) == {}
        for span, days in spans.items():
            got = cat.tag_days(dataclasses.replace(tag, id=f"x{span}"))
            assert timeline_svg(got) == timeline_svg(days) != "", span
            # rows read: each day for bars of days (40) or weeks (400), else one a month or year
            rows = {40: len(days), 400: len(days), 2000: len({(d.year, d.month) for d in days}),
                    5000: len({d.year for d in days})}[span]
            assert len(got) == rows, span
    with store.read() as conn:  # a month's or year's row is its days' total; none left at 0
        kept = {(r.listing, r.day): r.stories for r in conn.execute(select(site_index.listing_days))}
    assert min(kept.values()) > 0 and "t:gone" not in {lid for lid, _ in kept}
    sums: Counter[tuple[str, int]] = Counter()
    for (lid, day), n in kept.items():
        if day >= 10_000_000:
            sums[(lid, day // 100)] += n
            sums[(lid, day // 10_000)] += n
    assert {k: n for k, n in kept.items() if k[1] < 10_000_000} == dict(sums)
    store.close()


def test_a_tag_timeline_read_a_row_a_bar_draws_the_chart_of_its_every_day(tmp_path):
    tag_timelines_are_drawn_from_every_day(Store(db_url(str(tmp_path / "t.db"))))


def storyline_windows_match_the_whole_storyline(store: Store) -> None:
    """A story page's timeline and the pages a change re-renders, read around the story (a
    storyline followed for years is not read whole per page), are what the whole storyline
    gives: every story's window, ties of key ordered by id, a story not in it; and
    ``plan``'s pages from any key touched."""
    from matome.site import dbview
    from matome.site.dbview import DbCatalog
    from matome.site.readmodel import timeline

    kept = dbview.LINE_PREFIX
    # 40 stories, keys with ties (two stories a key), placed out of order
    ids = [f"x{i:02d}" for i in range(40)]
    rows = {sid: {"l:long": site_index.Row(1000 + i // 2)} for i, sid in enumerate(ids)}
    with store.tx() as conn:
        site_index.place(conn, dict(reversed(list(rows.items()))))
        site_index.place(conn, {"y0": {"l:short": site_index.Row(5)}})
        site_index.put_cards(conn, {sid: _card(sid) for sid in [*ids, "y0"]})
    order = sorted(ids, key=lambda s: (rows[s]["l:long"].key, s))
    with DbCatalog.pinned(store) as cat, cat.connect() as conn:
        try:
            for prefix in (8, 128):  # read around the story past the first 8; all of it in 128
                dbview.LINE_PREFIX = prefix
                for sid in [*order, "elsewhere"]:
                    want, start = timeline(order, sid)
                    got, got_start = cat.line("long", sid)
                    assert ([c.id for c in got], got_start) == (want, start), (prefix, sid)
        finally:
            dbview.LINE_PREFIX = kept
        assert [c.id for c in cat.line("short", "y0")[0]] == ["y0"]
        assert cat.line("none", "y0") == ([], 0)
        for key in range(998, 1022):
            first = len(order) - site_index.at_or_after(conn, "l:long", key)
            want_pages = order if first == 0 else order[max(0, first - build.TIMELINE_SPAN):]
            assert build._line_pages(conn, "long", key) == want_pages, key
        assert build._line_pages(conn, "long", None) == order
    store.close()


def _card(sid: str) -> str:
    from matome.site.readmodel import Card

    return Card(sid, f"{sid}の見出し", None, None, "", None, None, 1, 1, [], "long", None, []).to_json()


def test_a_storyline_is_read_around_the_page_that_shows_it(tmp_path):
    storyline_windows_match_the_whole_storyline(Store(db_url(str(tmp_path / "l.db"))))

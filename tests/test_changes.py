"""The change log: every write that changes what a page shows says so, in its own transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from matome.errors import IdClash
from matome.records import Article, RawDoc, TagRow
from matome.store import db_url
from tests.test_site_build import World, filled


@pytest.fixture
def world(tmp_path: Path) -> World:
    return filled(db_url(str(tmp_path / "c.db")))


def _since(w: World) -> tuple[int, set[str], set[str]]:
    got = w.store.changed_since(w.mark)
    w.mark = got.seq
    return got.seq, got.stories, got.tags


def test_each_kind_of_write_names_the_stories_it_changes(world):
    w = world
    w.mark = w.store.change_seq()
    assert w.mark > 0 and _since(w)[1:] == (set(), set())
    w.article("a20", 20, "港北日報")
    assert _since(w)[1] == set()                       # an article no story holds yet
    w.join("a20", "s2")
    assert _since(w)[1] == {"s2"}
    w.join("a20", "s4")                                # moved: both stories change
    assert _since(w)[1] == {"s2", "s4"}
    w.join("a4", "s4", merged="s5")                    # s5 goes; its page becomes a moved page
    assert {"s4", "s5"} <= _since(w)[1]
    w.join("a1", "s6", merged="s4")                    # s5 redirected to s4: its page changes too
    assert {"s6", "s4", "s5", "s1"} <= _since(w)[1]
    w.write("s6", "新しい見出し", "a6")
    assert _since(w)[1] == {"s6"}
    w.store.flag_story("s6", "capped")
    assert _since(w)[1] == {"s6"}


def test_tags_renamed_name_the_tag_and_every_story_showing_it(world):
    w = world
    w.mark = w.store.change_seq()
    w.store.replace_tags([TagRow("g1", "計画", "theme", []), TagRow("g2", "港北市", "place", [])],
                         {"s1": [("g1", 1.0)], "s2": [("g1", 1.0)], "s4": [("g1", 2.0), ("g2", 1.0)],
                          "s5": [("g2", 1.0)]}, "tags/test", "same")
    assert _since(w)[1:] == (set(), set())             # the same tags again: nothing changed
    w.store.replace_tags([TagRow("g1", "計画（新）", "theme", []), TagRow("g2", "港北市", "place", [])],
                         {"s1": [("g1", 1.0)], "s2": [("g1", 1.0)], "s4": [("g2", 1.0)],
                          "s5": [("g2", 1.0)]}, "tags/test", "renamed")
    _, stories, tags = _since(w)
    assert tags == {"g1"} and stories == {"s1", "s2", "s4"}


def test_a_write_that_fails_records_nothing(world):
    w = world
    w.mark = w.store.change_seq()
    doc = RawDoc(key="k:other", kind="record", origin="other.jsonl", location="x", content=b"x")
    w.store.put_raw(doc)
    with pytest.raises(IdClash):  # the id of a1 from another raw document
        w.store.put_article(999, Article("a1", "https://x.example/", "t", "本文。", "港北日報", "ja"),
                            "extract/test", doc.content_hash, doc)
    assert _since(w)[1:] == (set(), set())

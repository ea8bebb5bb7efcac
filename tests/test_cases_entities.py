"""Golden cases for entities: each line of tests/cases/entities.jsonl is one rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matome.language import (
    Resolver,
    alias_pairs,
    cross_script_links,
    entities,
    gazetteer,
    resolve_surnames,
    textja,
)

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "cases" / "entities.jsonl").read_text("utf-8").splitlines()
         if line.strip()]


def resolve(text: str, aliases: dict[str, list[str]]) -> list[entities.Mention]:
    """One article as the pipeline sees it: find, then resolve with everything it defines."""
    gaz = gazetteer(tuple((k, tuple(v)) for k, v in sorted(aliases.items())))
    found = resolve_surnames(entities.find_mentions(text, textja.tokenize(text), gaz))
    res = Resolver(gaz, aliases, alias_pairs(found),
                            cross_script_links(found))
    return res.resolve(found)


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_entities(case):
    got = [[m.surface, m.key, m.kind] for m in resolve(case["text"], case.get("aliases", {}))]
    assert got == case["expect"]


def test_a_bare_surname_shared_by_two_people_is_left_alone():
    got = {m.key for m in resolve("佐藤一郎氏と佐藤花子氏が出席し、佐藤氏が挨拶した。", {})}
    assert "佐藤" in got  # not guessed to be either of them

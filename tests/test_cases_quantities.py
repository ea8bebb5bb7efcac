"""Golden cases for figures: each line of tests/cases/quantities.jsonl is one rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matome.language import find_quantities, kanji_value

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "cases" / "quantities.jsonl").read_text("utf-8").splitlines()
         if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_quantities(case):
    found = find_quantities(case["text"])
    got = [[q.text, q.value, q.unit, q.high, q.qualifier, q.key()] for q in found]
    assert got == case["expect"]
    for q in found:
        assert case["text"][q.start:q.end] == q.text


@pytest.mark.parametrize(("run", "value"), [("二〇二六", 2026), ("三十一", 31), ("千二百", 1200),
                                            ("十", 10), ("百五", 105), ("七", 7)])
def test_kanji_numerals(run, value):
    assert kanji_value(run) == value

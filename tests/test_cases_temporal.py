"""Golden cases for dates and times: each line of tests/cases/temporal.jsonl is one rule."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from matome.language import find_times

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "cases" / "temporal.jsonl").read_text("utf-8").splitlines()
         if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["rule"] for c in CASES])
def test_time_expressions(case):
    got = [[e.text, e.kind, e.value, e.mod, e.resolved]
           for e in find_times(case["text"], datetime.fromisoformat(case["ref"]))]
    assert got == case["expect"]
    for e in find_times(case["text"], datetime.fromisoformat(case["ref"])):
        assert case["text"][e.start:e.end] == e.text  # offsets point into the original


def test_without_reference_nothing_is_resolved():
    exprs = find_times("1月12日と13日、3日前")
    assert [e.value for e in exprs] == ["XXXX-01-12", "XXXX-XX-13", "P3D"]
    assert all(e.resolved is None for e in exprs)

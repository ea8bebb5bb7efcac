"""Each stage's output on the demo corpus equals its reviewed golden file."""

from __future__ import annotations

import json

import pytest

from tests.conftest import GOLDEN
from tests.goldens import STAGES, compute


@pytest.fixture(scope="module")
def computed(demo_db):
    return compute(demo_db)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_matches_golden(stage, computed):
    path = GOLDEN / f"{stage}.json"
    expected = json.loads(path.read_text("utf-8"))
    got = json.loads(json.dumps(computed[stage], ensure_ascii=False))
    assert got == expected, (
        f"{stage} output changed: run `python scripts/regen_golden.py` and review the diff")

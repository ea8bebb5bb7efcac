"""language.scan: the same matches as ``finditer``, found only where a match can begin."""

from __future__ import annotations

import random
import re

import pytest

from matome.language import scan, temporal


@pytest.mark.parametrize("kind", [k for k, _ in temporal._ORDER])
def test_temporal_patterns_match_as_finditer_does(kind: str) -> None:
    pattern = dict(temporal._ORDER)[kind]
    s = scan.Scanner(pattern)
    assert s.first is not None, "each of temporal's patterns can only begin with a few characters"
    text = ("令和7年(2025年)10月30日午後3時、東京で。昨年6月から3カ月ぶり、第2四半期に"
            "毎年12月、本年度の予算。来週水曜日の朝、同日夕方にも。約2年半前、1日2回。"
            "2025/10/31 9:00 と 2025年度下期、GMT+9 の 13:05、米東部時間 午前8時。") * 3
    assert [m.span() for m in s.finditer(text)] == [m.span() for m in pattern.finditer(text)]
    assert [m.groupdict() for m in s.finditer(text)] == [m.groupdict() for m in pattern.finditer(text)]


@pytest.mark.parametrize("source", [r"\d{2,4}/\d{1,2}", r"(?<!\d)(\d+)年", r"(?:午前|午後)?\d+時",
                                    r"[^a]b", r"a*", r"(?i)abc", r"(a)\1", r".x", r"(?=\d)\d\d"])
def test_random_text_gives_finditers_matches(source: str) -> None:
    pattern = re.compile(source)
    s = scan.Scanner(pattern)
    rng = random.Random(7)
    for _ in range(300):
        text = "".join(rng.choice("0123年午前後時/ab aA") for _ in range(rng.randint(0, 30)))
        assert [m.span() for m in s.finditer(text)] == [m.span() for m in pattern.finditer(text)]


def test_what_has_no_first_class_is_scanned_plainly() -> None:
    # may match nothing, any character first, a negated class, case folding, a back-reference
    for source in (r"a*", r".x", r"[^a]b", r"(?i)abc"):
        assert scan.first_class(re.compile(source)) is None
    assert scan.first_class(re.compile(r"(?<!\d)(?:令和|平成)?\d+年")).pattern == r"[令平\d]"

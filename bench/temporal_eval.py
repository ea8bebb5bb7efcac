"""Date and time expressions: matome's temporal module next to ja-timex, in one run.

Two measurements:

1. ja-timex's own test cases (``../shared/eval/temporal/ja_timex_tests``): the
   share of expected TIMEX3 values (and modifiers) each system reproduces for
   the first expression it finds in the input. These cases are ja-timex's, so
   ja-timex is expected to score near 100%; matome's column says how close an
   independent implementation comes on the same conventions.
2. News resolution (tests/cases/temporal.jsonl, our own sentences): the share
   of calendar values resolved against the publication time as a news reader
   would (month carry-over, 昨年6月, past bias, 年度). ja-timex is asked for the
   same through its reference datetime.

    .venv/bin/python bench/temporal_eval.py
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from matome.language import find_times

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "temporal" / "ja_timex_tests"
CASES = ROOT / "tests" / "cases" / "temporal.jsonl"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _matome_first(text: str) -> dict[str, str | None] | None:
    found = find_times(text)
    if not found:
        return None
    e = found[0]
    return {"value": e.value, "mod": e.mod, "text": e.text, "freq": e.freq, "quant": e.quant}


def _timex_parser(reference: datetime | None = None) -> Any:
    try:
        from ja_timex import TimexParser
    except ImportError:
        return None
    return TimexParser(reference=reference) if reference else TimexParser()


def _timex_first(parser: Any, text: str) -> dict[str, str | None] | None:
    found = parser.parse(text)
    if not found:
        return None
    t = found[0]
    return {"value": t.value, "mod": getattr(t, "mod", None), "text": t.text,
            "freq": getattr(t, "freq", None), "quant": getattr(t, "quant", None)}


def tagger_cases(console: Console) -> None:
    rows = [r for r in _jsonl(EVAL / "tagger_cases.jsonl")
            if r["attr"] in {"value", "mod", "freq", "quant"}]
    parser = _timex_parser()
    score: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    misses: list[str] = []
    t_matome = t_timex = 0.0
    for r in rows:
        key = (r["tagger"], r["attr"])
        score[key][0] += 1
        t0 = time.perf_counter()
        ours = _matome_first(r["input"])
        t_matome += time.perf_counter() - t0
        if ours is not None and ours.get(r["attr"]) == r["expected"]:
            score[key][1] += 1
        elif r["attr"] == "value" and len(misses) < 12:
            misses.append(f"{r['input']} → {ours and ours['value']} (want {r['expected']})")
        if parser is not None:
            t0 = time.perf_counter()
            theirs = _timex_first(parser, r["input"])
            t_timex += time.perf_counter() - t0
            if theirs is not None and theirs.get(r["attr"]) == r["expected"]:
                score[key][2] += 1
    table = Table(title="ja-timex test cases: expected value reproduced (first expression)")
    for col in ("tagger", "attr", "cases", "matome", "ja-timex"):
        table.add_column(col, justify="right" if col in {"cases", "matome", "ja-timex"} else "left")
    total = [0, 0, 0]
    for (tagger, attr), (n, ours_ok, theirs_ok) in sorted(score.items()):
        total = [total[0] + n, total[1] + ours_ok, total[2] + theirs_ok]
        table.add_row(tagger, attr, str(n), f"{ours_ok / n:.1%}",
                      f"{theirs_ok / n:.1%}" if parser else "not installed")
    table.add_row("all", "", str(total[0]), f"{total[1] / total[0]:.1%}",
                  f"{total[2] / total[0]:.1%}" if parser else "not installed")
    console.print(table)
    console.print(f"time: matome {t_matome:.2f}s, ja-timex {t_timex:.2f}s for {len(rows)} inputs")
    console.print("first matome misses on value:\n  " + "\n  ".join(misses))


def news_resolution(console: Console) -> None:
    cases = _jsonl(CASES)
    n = ours_ok = theirs_ok = 0
    have_timex = _timex_parser() is not None
    for c in cases:
        ref = datetime.fromisoformat(c["ref"])
        wanted = [e for e in c["expect"] if e[4] and len(e[4]) == 10]  # resolved calendar days
        if not wanted:
            continue
        ours = {e.text: e.resolved for e in find_times(c["text"], ref)}
        theirs: dict[str, str] = {}
        if have_timex:
            for t in _timex_parser(ref.replace(tzinfo=None)).parse(c["text"]):
                try:
                    theirs[t.text] = t.to_datetime().date().isoformat()
                except Exception:  # ja-timex raises on values it cannot place
                    continue
        for text, _kind, _value, _mod, resolved in wanted:
            n += 1
            ours_ok += ours.get(text) == resolved
            # ja-timex splits tz labels off; accept its span if it ends the same way
            match = next((v for k, v in theirs.items() if text.endswith(k)), None)
            theirs_ok += match == resolved
    table = Table(title="News dates resolved against publication time (tests/cases/temporal.jsonl)")
    for col in ("calendar days", "matome", "ja-timex"):
        table.add_column(col, justify="right")
    table.add_row(str(n), f"{ours_ok / n:.1%}",
                  f"{theirs_ok / n:.1%}" if have_timex else "not installed")
    console.print(table)
    console.print("These sentences are matome's own golden cases, written to its rules: "
                  "read the ja-timex column as where it differs, not as its quality.")


def main() -> None:
    console = Console()
    if not EVAL.exists():
        console.print(f"skipped: {EVAL} is absent (the evaluation data lives in ../shared/eval)")
        sys.exit(0)
    if _timex_parser() is None:
        console.print("ja-timex is not installed: `.venv/bin/pip install ja-timex` for its column")
    tagger_cases(console)
    news_resolution(console)


if __name__ == "__main__":
    main()

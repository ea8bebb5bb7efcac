"""Entity recognition quality of matome on labelled Japanese NER sets, beside GiNZA.

Reads two third-party sets from ``../shared/eval/ner/`` (never copied into this
repository: see ../shared/eval/README.md) and skips when they are absent:

* stockmark_wikipedia_ner/ner.jsonl: Wikipedia sentences, Stockmark's 8 types;
* kwdlc_ne/test.jsonl: Kyoto University web-lead corpus, IREX tags.

Both are mapped onto matome's three entity kinds (person / organization /
place); every other type is left out of the score (see GOLD_KIND). Prints
precision, recall and F1 per kind and micro-averaged, on exact spans and on
overlapping spans, and sentences per second for each system.

GiNZA (``ja_ginza``) is scored beside matome when it can be loaded. ja-ginza
pins SudachiPy < 0.7 and an older SudachiDict, so installing it into matome's
own venv would change matome's tokenisation under the project; put it in a
separate venv instead and pass that interpreter with ``--ginza-python``:

    python3.11 -m venv /tmp/ginza-venv && /tmp/ginza-venv/bin/pip install ja-ginza
    .venv/bin/python bench/ner_eval.py --ginza-python /tmp/ginza-venv/bin/python

    .venv/bin/python bench/ner_eval.py [--limit N] [--no-ginza] [--show-errors 15]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
DATASETS = {
    "stockmark": EVAL / "ner" / "stockmark_wikipedia_ner" / "ner.jsonl",
    "kwdlc": EVAL / "ner" / "kwdlc_ne" / "test.jsonl",
}
KINDS = ("person", "organization", "place")

# Gold types -> matome kinds. A type missing here (製品名, イベント名, DATE, TIME,
# MONEY, PERCENT, ARTIFACT, ...) has no matome kind to compare with: its spans
# are not counted as gold, and a prediction overlapping one is not a false
# positive (matome tagging イベント名「東京モーターショー」as place is a typing
# question this benchmark cannot settle). IREX's OPTIONAL marks spans the
# annotators left undecided, where either answer is accepted: excluded too.
GOLD_KIND = {
    "人名": "person", "PERSON": "person",
    "法人名": "organization", "政治的組織名": "organization", "その他の組織名": "organization",
    "ORGANIZATION": "organization",
    "地名": "place", "LOCATION": "place",
    # Debatable: 施設名 (stations, airports, schools, halls) are places one can
    # go to, which is how matome treats 空港/駅/港 names (_PLACE_HEADS), and
    # IREX tags such facilities LOCATION; but some 施設名 are run by a body
    # (研究所, 病院) that news also treats as an organisation.
    "施設名": "place",
}

# GiNZA's labels (Sekine's Extended Named Entity hierarchy, 189 in ja_ginza 5.3)
# mapped the same way; anything else (Product, Event, Date, Position_Vocation,
# Nationality, the N_* counted expressions, ...) is ignored like matome's "other".
GINZA_KIND: dict[str, str] = {"Person": "person"}
GINZA_KIND |= dict.fromkeys((
    "Organization_Other", "International_Organization", "Show_Organization",
    "Sports_Organization_Other", "Pro_Sports_Organization", "Sports_League",
    "Corporation_Other", "Company", "Company_Group",
    "Political_Organization_Other", "Government", "Political_Party", "Cabinet", "Military",
    # ENE files schools and institutes under facilities (GOE), but both sets
    # label universities and institutes as organisations (法人名 / ORGANIZATION).
    "School", "Research_Institute",
), "organization")
GINZA_KIND |= dict.fromkeys((
    "GPE_Other", "City", "County", "Province", "Country",
    "Location_Other", "Region_Other", "Continental_Region", "Domestic_Region",
    "Geological_Region_Other", "Mountain", "Island", "River", "Lake", "Sea", "Bay", "Spa",
    "Postal_Address",
    # Facilities -> place, matching the 施設名 -> place choice above.
    "Facility_Other", "GOE_Other", "Public_Institution", "Market", "Park", "Sports_Facility",
    "Museum", "Zoo", "Amusement_Park", "Theater", "Worship_Place", "Car_Stop", "Station",
    "Airport", "Port", "Line_Other", "Railroad", "Road", "Canal", "Water_Route", "Tunnel",
    "Bridge", "Tumulus", "Archaeological_Place_Other",
), "place")
# Components that do not feed the NER (it listens to tok2vec only, and these
# run after it): dropping them changes no entity (checked on 500 sentences)
# and makes GiNZA's sentences/s a measure of recognition, not of parsing.
GINZA_EXCLUDE = ["parser", "bunsetu_recognizer", "morphologizer", "compound_splitter"]
GINZA_BATCH = 64

Span = tuple[int, int, str]  # start, end (character offsets), kind


@dataclass
class Sentence:
    text: str
    gold: list[Span]
    excluded: list[tuple[int, int]]  # spans of types with no matome kind


@dataclass
class Score:
    """Counts for one system on one dataset, per kind."""

    gold: Counter[str] = field(default_factory=Counter)
    pred: Counter[str] = field(default_factory=Counter)
    exact: Counter[str] = field(default_factory=Counter)
    pred_overlap: Counter[str] = field(default_factory=Counter)  # predictions touching a gold
    gold_overlap: Counter[str] = field(default_factory=Counter)  # gold touched by a prediction
    any_kind: int = 0  # exact span, kind ignored: tells boundary errors from typing errors
    seconds: float = 0.0
    sentences: int = 0
    false_pos: Counter[tuple[str, str]] = field(default_factory=Counter)
    false_neg: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, sent: Sentence, preds: Iterable[Span]) -> None:
        gold = set(sent.gold)
        kept = {p for p in preds if p[2] in KINDS and _counted(p, sent)}
        gold_spans = {(s, e) for s, e, _k in gold}
        self.any_kind += sum(1 for s, e, _k in kept if (s, e) in gold_spans)
        for s, e, k in gold:
            self.gold[k] += 1
            if (s, e, k) not in kept:
                self.false_neg[(sent.text[s:e], k)] += 1
            if any(pk == k and _overlaps((s, e), (ps, pe)) for ps, pe, pk in kept):
                self.gold_overlap[k] += 1
        for s, e, k in kept:
            self.pred[k] += 1
            if (s, e, k) in gold:
                self.exact[k] += 1
            else:
                self.false_pos[(sent.text[s:e], k)] += 1
            if any(gk == k and _overlaps((s, e), (gs, ge)) for gs, ge, gk in gold):
                self.pred_overlap[k] += 1


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _counted(p: Span, sent: Sentence) -> bool:
    """False for a prediction over a type that is not scored (and over no scored gold)."""
    span = (p[0], p[1])
    if any(_overlaps(span, (s, e)) for s, e, _k in sent.gold):
        return True
    return not any(_overlaps(span, x) for x in sent.excluded)


def prf(tp_p: int, pred: int, tp_r: int, gold: int) -> tuple[float, float, float]:
    p = tp_p / pred if pred else 0.0
    r = tp_r / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def load(path: Path, limit: int | None) -> list[Sentence]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    if limit is not None and limit < len(rows):
        # Evenly spaced lines, not the head: the sets are ordered by document
        # (kwdlc) or article id (stockmark), so the head is one narrow slice.
        rows = [rows[i * len(rows) // limit] for i in range(limit)]
    out = []
    for r in rows:
        gold: list[Span] = []
        excluded: list[tuple[int, int]] = []
        for e in r["entities"]:
            s, t = e["span"]
            if e["type"] in GOLD_KIND:
                gold.append((s, t, GOLD_KIND[e["type"]]))
            else:
                excluded.append((s, t))
        out.append(Sentence(r["text"], gold, excluded))
    return out


# --- systems -------------------------------------------------------------------


def run_matome(sentences: list[Sentence]) -> tuple[list[list[Span]], float]:
    from matome.language import entities, gazetteer, textja

    gaz = gazetteer()
    # Load Sudachi and the name-reading tables (pykakasi, loaded at the first
    # person found) before the clock starts, as GiNZA's model load is left out.
    warm = "佐藤太郎社長とJohn Smith氏は東京で会った。"
    entities.find_mentions(warm, textja.tokenize(warm), gaz)
    preds = []
    t0 = time.perf_counter()
    for sent in sentences:
        mentions = entities.find_mentions(sent.text, textja.tokenize(sent.text), gaz)
        preds.append([(m.start, m.end, m.kind) for m in mentions])
    return preds, time.perf_counter() - t0


def _ginza_entities(texts: list[str]) -> tuple[list[list[tuple[int, int, str]]], float]:
    """GiNZA's raw entities (start, end, label) and the seconds spent, model load excluded."""
    import spacy

    nlp = spacy.load("ja_ginza", exclude=GINZA_EXCLUDE)
    nlp("東京")
    t0 = time.perf_counter()
    out = [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
           for doc in nlp.pipe(texts, batch_size=GINZA_BATCH)]
    return out, time.perf_counter() - t0


def ginza_worker() -> None:
    """Run inside GiNZA's own venv: texts as JSON lines on stdin, results on stdout."""
    texts = [json.loads(line) for line in sys.stdin.read().splitlines()]
    ents, seconds = _ginza_entities(texts)
    json.dump({"entities": ents, "seconds": seconds}, sys.stdout, ensure_ascii=False)


def ginza_runner(python: str | None) -> tuple[Callable[[list[str]], Any] | None, str]:
    """How to call GiNZA here (in this process or another venv's), or None and why not."""
    try:
        import spacy

        spacy.load("ja_ginza", exclude=GINZA_EXCLUDE)
        return _ginza_entities, "GiNZA (ja_ginza, this venv)"
    except (ImportError, OSError):
        pass
    if not python:
        return None, ("GiNZA is not installed: pip install ja-ginza (in a separate venv, as it pins "
                      "SudachiPy < 0.7), then pass --ginza-python /that/venv/bin/python")

    def remote(texts: list[str]) -> tuple[list[list[tuple[int, int, str]]], float]:
        data = "\n".join(json.dumps(t, ensure_ascii=False) for t in texts)
        done = subprocess.run([python, str(Path(__file__).resolve()), "--ginza-worker"], input=data,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"GiNZA worker failed: {done.stderr[-2000:]}")
        res = json.loads(done.stdout)
        return [[tuple(e) for e in ents] for ents in res["entities"]], float(res["seconds"])

    try:
        probe = subprocess.run([python, "-c", "import spacy; spacy.load('ja_ginza')"],
                               capture_output=True, text=True, check=False)
    except OSError as err:
        return None, f"GiNZA left out: cannot run {python} ({err.strerror})"
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"GiNZA left out: {python} cannot load ja_ginza ({why})"
    return remote, f"GiNZA (ja_ginza via {python})"


def run_ginza(runner: Callable[[list[str]], Any],
              sentences: list[Sentence]) -> tuple[list[list[Span]], float]:
    ents, seconds = runner([s.text for s in sentences])
    preds = [[(s, e, GINZA_KIND[label]) for s, e, label in row if label in GINZA_KIND] for row in ents]
    return preds, seconds


# --- report --------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None,
                        help="sentences per dataset, evenly spaced (default: all)")
    parser.add_argument("--no-ginza", action="store_true", help="score matome only")
    parser.add_argument("--ginza-python", default=os.environ.get("GINZA_PYTHON"),
                        help="interpreter of a venv with ja-ginza (default: $GINZA_PYTHON)")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N",
                        help="print the N most frequent false positives and negatives per system")
    parser.add_argument("--ginza-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ginza_worker:
        ginza_worker()
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or logged: rich would squeeze 13 columns into 80
        console = Console(width=150)
    missing = [p for p in DATASETS.values() if not p.exists()]
    if missing:
        console.print(f"[yellow]skipped:[/] evaluation data not found ({missing[0]}); it lives in "
                      f"../shared/eval beside the repository and is never copied into it.")
        return

    systems: list[tuple[str, Callable[[list[Sentence]], tuple[list[list[Span]], float]]]] = [
        ("matome", run_matome)]
    if args.no_ginza:
        console.print("GiNZA left out (--no-ginza).")
    else:
        runner, label = ginza_runner(args.ginza_python)
        if runner is None:
            console.print(f"[yellow]{label}[/]")
        else:
            console.print(f"scoring {label} beside matome; pipeline without {', '.join(GINZA_EXCLUDE)}")
            systems.append(("GiNZA", functools.partial(run_ginza, runner)))

    scores: dict[tuple[str, str], Score] = {}
    for dname, path in DATASETS.items():
        sentences = load(path, args.limit)
        for sname, run in systems:
            preds, seconds = run(sentences)
            score = Score(seconds=seconds, sentences=len(sentences))
            for sent, found in zip(sentences, preds, strict=True):
                score.add(sent, found)
            scores[(dname, sname)] = score

    table = Table(title="Entity recognition: exact span + kind, and overlapping span + kind "
                        f"({'all sentences' if args.limit is None else f'{args.limit} per set'})")
    for col in ("dataset", "system", "kind", "gold", "pred", "P", "R", "F1",
                "overlap P", "overlap R", "overlap F1", "F1 any kind", "sent/s"):
        table.add_column(col, justify="left" if col in {"dataset", "system", "kind"} else "right")
    for (dname, sname), sc in scores.items():
        for kind in (*KINDS, "micro"):
            ks = KINDS if kind == "micro" else (kind,)
            gold = sum(sc.gold[k] for k in ks)
            pred = sum(sc.pred[k] for k in ks)
            p, r, f = prf(sum(sc.exact[k] for k in ks), pred, sum(sc.exact[k] for k in ks), gold)
            op, orr, of = prf(sum(sc.pred_overlap[k] for k in ks), pred,
                              sum(sc.gold_overlap[k] for k in ks), gold)
            micro = kind == "micro"
            table.add_row(
                dname if kind == KINDS[0] else "", sname if kind == KINDS[0] else "",
                "[bold]micro[/]" if micro else kind, str(gold), str(pred),
                f"{p:.3f}", f"{r:.3f}", f"[bold]{f:.3f}[/]" if micro else f"{f:.3f}",
                f"{op:.3f}", f"{orr:.3f}", f"{of:.3f}",
                f"{prf(sc.any_kind, pred, sc.any_kind, gold)[2]:.3f}" if micro else "",
                f"{sc.sentences / sc.seconds:.0f}" if micro and sc.seconds else "",
                end_section=micro)
    console.print(table)
    console.print(
        "Gold of types with no matome kind (製品名, イベント名, DATE, TIME, MONEY, ARTIFACT, OPTIONAL, ...) "
        "is not scored, and predictions over it are not false positives. 施設名 is scored as place. "
        "Overlap P/R: predictions touching a gold span of the same kind / gold spans touched. "
        "sent/s: recognition only (models loaded beforehand); GiNZA batches "
        f"{GINZA_BATCH} sentences, matome reads one at a time.")

    for (dname, sname), sc in scores.items():
        if args.show_errors <= 0:
            break
        for what, errs in (("false positives", sc.false_pos), ("false negatives", sc.false_neg)):
            top = ", ".join(f"{surface}/{kind} ×{n}"
                            for (surface, kind), n in errs.most_common(args.show_errors))
            console.print(f"[bold]{sname} on {dname}, {what}:[/] {top}")


if __name__ == "__main__":
    main()

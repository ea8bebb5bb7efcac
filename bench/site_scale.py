"""The site and search at archive scale: does a build or a search cost what changed?

For each size (articles), a SQLite store is filled with the synthetic archive of
``bench/archive_synth.py`` (written straight into the tables by
``bench/archive_fill.py``, as ``process`` would have left them), its site index
built once (``matome.site.index``, timed: what the first ``process`` after the
upgrade does) and its site built once in full. Then one more day of the same
stream (``--new`` reports, continuing the archive's open events) is written
through the store's own write methods, as ``process`` writes it: a report of an
open event joins that event's story (its brief rewritten), one of a new event
starts a story. Measured, each in a subprocess of its own (wall time and peak
RSS from ``wait4``):

- ``refresh``: the site index and search taking in that day (``process``'s last step);
- ``site build``: the incremental build after it, and beside it, in the same run,
  ``site build --full`` (every page: what each build cost before);
- search: a dozen Japanese queries (1 to 6 characters, some with two terms) on the
  store's index, each once to warm up then ``--rounds`` times; p50/p95. Beside
  it the baseline of the previous design: what the server did at start and after
  every change (read the whole catalog, build an FTS5 index of it in a file).

    .venv/bin/python bench/site_scale.py [--sizes 10000,100000] [--new 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = ["外相", "日銀", "円", "金融政策", "政策金利", "台風 避難", "首相 会談", "半導体",
           "最低賃金", "東京都", "記者会見", "G7"]


def _child(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter: (seconds, peak RSS in MiB, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"step failed ({status}): {code[:80]}")
    return secs, usage.ru_maxrss / 1024, out


FILL = """
import json, sys
from bench import archive_fill
from bench.archive_synth import Stream
from matome.settings import Settings
from matome.store import Store
url, size = sys.argv[1], int(sys.argv[2])
settings = Settings()
stream = Stream(1000, 16)
store = Store(url)
filler = archive_fill.Filler(store, settings, archive_fill.templates(stream, settings))
reports = stream.reports(size)
for r in reports:
    filler.add(r)
print(json.dumps(filler.finish()))
"""

NEW_DAY = """
import json, sys
from bench import archive_fill
from bench.archive_synth import Stream
from matome.records import Citation, Provenance, Section, Written, WrittenSentence
from matome.settings import Settings
from matome.store import Store
from matome.store import schema as t
from matome.stories.cluster import story_id
from sqlalchemy import select
url, size, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(url)
events = {}  # the event of each stored report, found by id
stream = Stream(1000, 16)
reports = list(stream.reports(size + new))
for r in reports[:size]:
    events.setdefault(r.event.index, archive_fill.article_of(r)[1].id)
story_of = store.story_of(list(events.values()))
seq = store.max_seq() + 1
joined = started = 0
for r in reports[size:]:
    doc, a = archive_fill.article_of(r)
    store.put_raw(doc)
    with store.read() as conn:
        raw_id = conn.execute(select(t.raw_docs.c.id).where(t.raw_docs.c.key == doc.key)).scalar_one()
    store.put_article(raw_id, a, "extract/bench", doc.content_hash, doc)
    first = events.get(r.event.index)
    sid = story_of.get(first) if first else None
    if sid is None:
        sid = story_id(a.id)
        events[r.event.index], story_of[a.id] = a.id, sid
        started += 1
    else:
        joined += 1
    store.put_membership(a.id, sid, "member", seq, {"score": 1.0}, "cluster/bench", new_story=first is None)
    seq += 1
    lead = a.text[:120]
    store.put_written(sid, Written("brief", a.title[:40], a.title, lead,
                                   [Section("概要", [WrittenSentence(lead, [Citation(a.id, lead)])])],
                                   Provenance("extractive/bench")), "write/bench", a.id)
print(json.dumps({"joined": joined, "started": started}))
"""

REFRESH = """
import sys
from matome.settings import Settings
from matome.site import index
from matome.store import Store
print(index.refresh(Store(sys.argv[1]), Settings()))
"""

BUILD = """
import json, sys
from pathlib import Path
from matome.settings import Settings
from matome.site import build
from matome.store import Store
store = Store(sys.argv[1], readonly=True)
done = build.publish(store, Path(sys.argv[2]), Settings(), full=sys.argv[3] == "full")
print(json.dumps(done.__dict__))
"""

SEARCH = """
import json, statistics, sys, time
from matome.site import SearchIndex
from matome.store import Store
store = Store(sys.argv[1], readonly=True)
index, rounds, queries = SearchIndex(store.engine), int(sys.argv[2]), json.loads(sys.argv[3])
for q in queries:
    index.search(q)
times, totals = [], {}
for _ in range(rounds):
    for q in queries:
        t = time.perf_counter()
        totals[q] = index.search(q)[0]
        times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)],
                  "matches": sum(totals.values()) / len(totals)}))
"""

# The previous design, for the baseline: `serve` read the whole catalog and built an FTS5
# trigram index of every story and report in a temporary file, at start and after each change.
OLD_SERVE_START = """
import sqlite3, sys, tempfile
from matome.site import readmodel
from matome.store import Store
cat = readmodel.load(Store(sys.argv[1], readonly=True))
db = sqlite3.connect(tempfile.mktemp(suffix=".db"))
db.execute("PRAGMA journal_mode = OFF")
db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='trigram')")
for s in cat.stories:
    brief = s.brief
    body = "\\n".join(x.text for sec in (brief.sections if brief else []) for x in sec.sentences)
    db.execute("INSERT INTO docs VALUES (?, ?)", (s.headline, body))
    db.executemany("INSERT INTO docs VALUES (?, ?)", [(a.title, a.text) for a in s.articles])
db.commit()
print(len(cat.stories))
"""


def one_size(size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    db = work / f"site-{size}.db"
    url = f"sqlite:///{db}"
    for extra in ("", "-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    site = work / f"site-{size}"
    shutil.rmtree(site, ignore_errors=True)
    got: dict[str, Any] = {"size": size}
    secs, _, out = _child(FILL, url, str(size))
    got["fill_s"], got["counts"] = secs, json.loads(out)
    got["index_all_s"], got["index_all_rss"], _ = _child(REFRESH, url)  # from scratch, once
    got["build_first_s"], got["build_first_rss"], _ = _child(BUILD, url, str(site), "")
    got["old_serve_s"], got["old_serve_rss"], _ = _child(OLD_SERVE_START, url)
    _, _, out = _child(NEW_DAY, url, str(size), str(args.new))
    got["new_day"] = json.loads(out)
    got["refresh_s"], got["refresh_rss"], _ = _child(REFRESH, url)
    got["build_incr_s"], got["build_incr_rss"], out = _child(BUILD, url, str(site), "")
    got["build_incr"] = json.loads(out)
    got["build_full_s"], got["build_full_rss"], out = _child(BUILD, url, str(work / f"full-{size}"), "full")
    got["build_full"] = json.loads(out)
    got["search_s"], got["search_rss"], out = _child(SEARCH, url, str(args.rounds), json.dumps(QUERIES))
    got.update({f"search_{k}": v for k, v in json.loads(out).items()})
    shutil.rmtree(work / f"full-{size}", ignore_errors=True)
    return got


ROWS = [
    ("index_all_s", "site index from scratch, once (s)"),
    ("refresh_s", "refresh after a day (s)"),
    ("refresh_rss", "refresh: peak RSS (MiB)"),
    ("build_incr_s", "site build after a day (s)"),
    ("build_incr_rss", "site build after a day: peak RSS (MiB)"),
    ("build_full_s", "baseline: site build --full (s)"),
    ("build_full_rss", "baseline: site build --full: peak RSS (MiB)"),
    ("search_p50", "search p50 (ms)"),
    ("search_p95", "search p95 (ms)"),
    ("search_rss", "search process: peak RSS (MiB)"),
    ("old_serve_s", "baseline: serve start / refresh, previous design (s)"),
    ("old_serve_rss", "baseline: its peak RSS (MiB)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "matome-site-scale")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"{size:,} articles …", flush=True)
        results.append(one_size(size, args, args.work))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    head = "| what | " + " | ".join(f"{r['size']:,} articles" for r in results) + " | ratio |"
    print("\n" + head + "\n|---|" + "---:|" * (len(results) + 1))
    for key, label in ROWS:
        vals = [float(r[key]) for r in results]
        ratio = f"{vals[-1] / vals[0]:.2f}" if vals[0] else ""
        print(f"| {label} | " + " | ".join(f"{v:.2f}" if v < 100 else f"{v:.0f}" for v in vals)
              + f" | {ratio} |")
    for r in results:
        incr, full = r["build_incr"], r["build_full"]
        print(f"{r['size']:,}: {r['counts']}; the day: {r['new_day']}; incremental build rendered "
              f"{incr['looked_at']} pages, wrote {incr['written']}, removed {incr['removed']}; "
              f"a full build writes {full['written']}; mean matches per query {r['search_matches']:.0f}")
    print(f"(self: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()

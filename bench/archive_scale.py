"""Does a cycle cost what the new news costs, not what the archive holds? (issue 16)

For each archive size (default 10k, 100k and 1M articles) and backend, a store
is filled with a synthetic Japanese archive (``bench/archive_synth.py`` says
how it is shaped, ``bench/archive_fill.py`` how it is written: straight into
the tables, as ``process`` would have left them), then, through the real CLI,
each step a subprocess whose wall time and peak RSS (``wait4``) are taken:

0. (once per fill, untimed, kept with it) ``matome process`` settles the
   fill: whatever this version of matome derives beyond the rows the fill
   writes (queues, snapshots, indexes) is made by matome itself;
1. ``matome process`` with nothing new, then a check that it redid nothing
   (a fill the pipeline disagrees with would be measuring a rebuild);
2. ``matome site build`` into an empty directory: the first, full build (its
   own row, not a goal; with ``--stamp-site``, at every size, only the manifest it
   would leave, as 22 minutes at 1M are spent on no goal);
3. ``matome ingest`` of the next 1,000 reports of the same stream (a JSONL
   file: one more day of news, continuing the archive's open events), then
   ``matome process``;
4. ``matome site build`` again into the same directory (incremental once the
   site can be); then the same build once more, warmed up (into a directory holding
   only the manifest the first found: the same pages rendered and written, the store's
   pages they read now in the page cache, as a site that builds every cycle finds what
   its last build read; the first, after a fill that read none of them, is kept as its
   own row, as cold as the store's size makes it);
5. the next days (``--days``, 3 in all by default), each: ``ingest`` of the
   stream's next 1,000, ``process``, ``site build`` into the same directory,
   as a site does every cycle: what a day costs once the days before it have
   grown storylines and stories (a cost that grew day by day showed only so);
6. ``matome serve``: time until it answers, then ``/api/search`` for a dozen
   Japanese queries (2 to 6 characters), one request at a time on a keep-alive
   connection, each query once to warm up, then ``--requests`` timed; p50/p95
   and the server's peak RSS (VmHWM); then three searches of a short word beside
   a long one (「首相 経済安全保障」), and five with the search page's filters (a tag, a
   range of dates, an outlet), each timed apart (not in the goal's p50/p95, which earlier
   runs reported for the twelve).

Embedding is stubbed identically at every size: matome's ``openai`` embedding
backend is pointed at a server this bench runs on 127.0.0.1, which answers at
once with the synthetic vector of each new report (found by its title;
anything else gets a vector seeded by its text).

Goals (issue 16): each figure at 1M at most 1.5 × its figure at 10k; search
p95 under 50 ms at 1M. The table sets the largest size run against the
smallest. SQLite at every size; PostgreSQL (a throwaway server started as
tests/test_postgres.py does, fsync off) at sizes up to ``--pg-max``. Filled
stores are kept under ``--work`` and reused while the fill's parameters, stage
versions and settings are unchanged; each run works on a copy.

    .venv/bin/python bench/archive_scale.py [--sizes 10000,100000,1000000]
        [--backend sqlite|postgresql|both] [--work /tmp/matome-archive-scale]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script
# matome of this checkout, here and in every ``matome`` the bench starts (``main``): an
# editable install points the venv at another checkout's src (the one it was made from), and
# a bench run from a frozen clone measured that code, keying its fills by it (2026-12-06)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np
from bench import archive_fill
from bench.archive_steps import MODEL, EmbedStub, done_marks, run, serve_and_search
from bench.archive_synth import SHAPE, START, Stream, check_against_analyzer
from rich.console import Console
from rich.table import Table

from matome.settings import load as load_settings
from matome.site.pages import MANIFEST
from matome.store import Store
from matome.store.search_index import CANDIDATES

console = Console(width=160)
GOAL_RATIO = 1.5
GOAL_P95_MS = 50.0
# disk an article takes (measured at 10k): in the store (SQLite), and in the built site
STORE_BYTES, SITE_BYTES = 27_000, 17_000


# --- stores: filled once, copied for each run -------------------------------------------


def _pg_server_class() -> Any:
    from tests.test_postgres import PgServer  # the tests' throwaway server, kept here between runs

    class KeptPg(PgServer):
        """The tests' server with its data directory under ``--work``, so filled databases
        are reused between runs (template databases, copied per run)."""

        def __init__(self, bindir: Path, where: Path) -> None:
            super().__init__(bindir)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir, self.data = where, where / "data"
            where.mkdir(parents=True, exist_ok=True)
            if self.as_user:
                shutil.chown(where, "postgres", "postgres")

        def start(self) -> None:
            if not (self.data / "PG_VERSION").exists():
                self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                         "--encoding=UTF8", "--no-locale")
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            self.run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts,
                     "-w", "-t", "60", "start")

        def stop(self) -> None:
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

        def url(self, name: str) -> str:
            return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

        def copy(self, template: str, name: str) -> str:
            self.run("dropdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                     "--if-exists", name)
            self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                     "-T", template, name)
            return self.url(name)

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
    return KeptPg, Path(found[-1]).parent


def prepare(backend: str, size: int, args: argparse.Namespace, settings: Any, pg: Any,
            cfg: Path, *, measured: bool = True) -> tuple[str, dict[str, Any]]:
    """A store holding the synthetic archive of ``size``: its URL for this run and the fill's
    manifest (counts, seconds, bytes, the new batch). Filled when no matching one is kept, then
    settled: the real ``process`` runs over it once, so whatever state this version of matome
    derives (queues, snapshots, indexes) is there before anything is measured."""
    key = archive_fill.fill_key(size, args.per_day, args.seed, settings, args.new * args.days)
    fills = args.work / "fills"
    fills.mkdir(parents=True, exist_ok=True)
    manifest_path = fills / f"{backend}-{size}-{key}.json"
    pristine = fills / f"{backend}-{size}-{key}.db"
    template = f"fill_{size}_{key}"
    if manifest_path.exists() and backend == "postgresql" and not _pg_has(pg, template):
        manifest_path.unlink()  # the kept cluster lost it
    if not manifest_path.exists():
        need = size * (STORE_BYTES * (1 if args.in_place else 2) + SITE_BYTES)
        free = shutil.disk_usage(args.work).free
        console.print(f"  filling {size:,} articles ({backend}); the store, "
                      f"{'' if args.in_place else 'its working copy, '}and the site need about "
                      f"{need / 1e9:.1f} GB here, {free / 1e9:.1f} GB free")
        if free < need:
            raise SystemExit(f"not enough disk space under {args.work} for {size:,} articles")
        url = (f"sqlite:///{pristine}" if backend == "sqlite" else _pg_create(pg, template))
        pristine.unlink(missing_ok=True)
        manifest = _fill(url, size, args, settings, fills / f"new-{size}-{key}")
        console.print("    settling: process, once, untimed …", end=" ")
        env = {**os.environ, "MATOME_DB": url, "MATOME_CONFIG": str(cfg)}
        before = done_marks(url)
        secs, rss, _, _ = run(["process"], env, args.work / "run")
        redid = [k for k, v in done_marks(url).items() if before[k] != v]
        manifest.update(settle_s=secs, settle_rss=rss, settle_redid=", ".join(redid) or "nothing")
        console.print(f"{secs:.0f} s, {rss:.0f} MiB; it redid {manifest['settle_redid']}")
        if backend == "sqlite":
            _checkpoint(pristine)
            manifest["bytes"] = pristine.stat().st_size
        else:
            manifest["bytes"] = _pg_bytes(url)
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    manifest = json.loads(manifest_path.read_text())
    if not measured:  # --fill-only: kept as filled for the next run
        return "", manifest
    run_dir = args.work / "run"
    run_dir.mkdir(exist_ok=True)
    if backend == "sqlite":
        target = run_dir / f"sqlite-{size}.db"
        for extra in ("", "-wal", "-shm"):
            Path(f"{target}{extra}").unlink(missing_ok=True)
        if args.in_place:  # measured on the fill itself, which is not kept
            pristine.rename(target)
            manifest_path.unlink()
        else:
            shutil.copyfile(pristine, target)
        return f"sqlite:///{target}", manifest
    return pg.copy(template, f"run_{size}"), manifest


def _fill_only(backend: str, size: int, args: argparse.Namespace, settings: Any, pg: Any,
               cfg: Path) -> None:
    """A filled, settled store kept for the next run (``--fill-only``): not moved or copied."""
    _, manifest = prepare(backend, size, args, settings, pg, cfg, measured=False)
    console.print(f"  {backend}-{_k(size)}: filled and settled, kept for the next run "
                  f"({manifest['bytes'] / 1e9:.1f} GB)")


def _pg_create(pg: Any, name: str) -> str:
    pg.run("dropdb", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "--if-exists", name)
    return str(pg.createdb(name))


def _pg_has(pg: Any, name: str) -> bool:
    try:
        Store(pg.url(name), readonly=True).close()
    except Exception:  # any failure to open it: fill it again
        return False
    return True


def _pg_bytes(url: str) -> int:
    from sqlalchemy import text

    store = Store(url, readonly=True)
    with store.read() as conn:
        size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    store.close()
    return size


def _checkpoint(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _fill(url: str, size: int, args: argparse.Namespace, settings: Any, new_stem: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    stream = Stream(args.per_day, args.seed)
    tpl = archive_fill.templates(stream, settings)
    store = Store(url)
    filler = archive_fill.Filler(store, settings, tpl)
    reports = stream.reports(size + args.new * args.days)
    last = time.perf_counter()
    for n, r in enumerate(reports):
        if n == size:
            break
        filler.add(r)
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            console.print(f"    {n:,} / {size:,} ({n / (last - t0):.0f} articles/s)")
    counts = filler.finish()
    store.close()
    # the next days of the stream: what `ingest` reads, and the vectors the stub answers with
    new = [r, *(next(reports) for _ in range(args.new * args.days - 1))]
    with open(f"{new_stem}.jsonl", "w", encoding="utf-8") as f:
        for r in new:
            f.write(json.dumps(r.record(), ensure_ascii=False) + "\n")
    titles = [archive_fill.article_of(r)[1].title for r in new]
    np.savez(f"{new_stem}.npz", titles=np.array(titles), vectors=np.stack([r.vector for r in new]))
    secs = time.perf_counter() - t0
    console.print(f"    filled in {secs:.0f} s: {counts}")
    return {"counts": counts, "fill_s": secs, "code": archive_fill.code_digest()[:12],
            "new": str(new_stem),
            "span_days": round((new[0].published - START).total_seconds() / 86400, 1)}


def measure(url: str, manifest: dict[str, Any], args: argparse.Namespace, cfg: Path,
            stub: EmbedStub, label: str) -> dict[str, float | str]:
    """Every step at one size, in order; what each cost."""
    env = {**os.environ, "MATOME_DB": url, "MATOME_CONFIG": str(cfg)}
    cwd = args.work / "run"
    site = cwd / f"site-{label}"
    shutil.rmtree(site, ignore_errors=True)
    got: dict[str, float | str] = {k: manifest[k] for k in ("fill_s", "settle_s", "settle_rss",
                                                            "settle_redid")}
    got["store_gb"] = manifest["bytes"] / 1e9
    saved = np.load(f"{manifest['new']}.npz")
    stub.vectors = {str(t): [float(x) for x in v] for t, v in zip(saved["titles"], saved["vectors"],
                                                                   strict=True)}

    def step(name: str, cli: list[str]) -> None:
        console.print(f"  {label}: {name} …", end=" ")
        prof = args.work / f"{label}-{name}.prof" if name in args.profile else None
        secs, rss, cpu, _ = run(cli, env, cwd, profile=prof)
        got[f"{name}_s"], got[f"{name}_rss"], got[f"{name}_cpu"] = secs, rss, cpu
        console.print(f"{secs:.1f} s ({cpu:.1f} s CPU), {rss:.0f} MiB"
                      + (f" [yellow]under cProfile: {prof}[/]" if prof else ""))
        if prof:
            _top(prof)

    before = done_marks(url)
    step("process_idle", ["process"])
    after = done_marks(url)
    redone = sorted(k for k in before if before[k] != after[k])
    got["redone"] = ", ".join(redone) or "nothing"
    if redone:
        console.print(f"  [red]process with nothing new changed {got['redone']}: the fill does not "
                      "match what the pipeline computes (bench/archive_fill.py)[/]")
    full = ["site", "build", "--out", str(site)]
    if args.stamp_site:
        _stamp(url, site, cfg)
        got["site_full_s"] = "stamped"
        # kept beside it: put back in an empty directory, it makes the measured build again
        # on the store as it is left (under cProfile, or page by page), at 1M without a new fill
        shutil.copyfile(site / MANIFEST, cwd / f"site-{label}.stamp.json")
    else:
        step("site_full", [*full, *(["--full"] if args.has_full else [])])
    days = _days(Path(f"{manifest['new']}.jsonl"), cwd, label, args.new, args.days)
    step("ingest", ["ingest", str(days[0])])
    stub.found = stub.missed = 0
    step("process_new", ["process"])
    got["embedded"] = f"{stub.found} by title, {stub.missed} other"
    before_incr = (site / MANIFEST).read_bytes()
    step("site_incr", full)
    # The same build again, warmed up: into a directory holding only the manifest the first
    # found, so it renders and writes what the first did, now with the store's pages it reads
    # in the page cache, as a site that builds every cycle finds the listings and cards its
    # last build read. The first is the one after a fill that read none of them (at 1M, a
    # 35 GB file: its old stories' cards come from the disk). With a full first build the
    # repeat writes every page the first rendered, not only those that differed.
    again = cwd / f"site-{label}-again"
    shutil.rmtree(again, ignore_errors=True)
    again.mkdir(parents=True)
    (again / MANIFEST).write_bytes(before_incr)
    step("site_warm", ["site", "build", "--out", str(again)])
    shutil.rmtree(again, ignore_errors=True)
    # The next days, each ingested, processed and built as a site does every cycle: what a
    # day costs once the first day's changes (storylines grown, stories written) are there.
    # One day alone hid a cost that grew day by day (every story of a storyline written again
    # from every earlier one: 40 s, then 55, 73 and 118 s a day at 10k).
    per_day = [float(got["process_new_s"])]
    for n, day in enumerate(days[1:], start=2):
        step("ingest_day", ["ingest", str(day)])
        step("process_day", ["process"])
        step("site_day", full)
        per_day.append(float(got["process_day_s"]))
        console.print(f"  {label}: day {n} done")
    got["process_per_day"] = ", ".join(f"{s:.0f}" for s in per_day)
    console.print(f"  {label}: serve + {args.requests} searches …", end=" ")
    s = serve_and_search(env, cwd, args.requests)
    got.update({"serve_ready_s": s["ready_s"], "search_p50": s["p50"], "search_p95": s["p95"],
                "serve_rss": s["rss"],
                "search_matches": _matches(list(s["totals"].values())),
                "search_totals": json.dumps(s["totals"], ensure_ascii=False),
                "search_p50_each": json.dumps(s["p50_each"], ensure_ascii=False),
                "mixed_p50": s["mixed_p50"], "mixed_max": s["mixed_max"],
                "mixed_cut": f"{s['mixed_cut']} of {s['mixed_n']}",
                "filtered_p50": s["filtered_p50"], "filtered_max": s["filtered_max"],
                "filtered_cut": f"{s['filtered_cut']} of {s['filtered_n']}",
                "filtered_p50_each": json.dumps(s["filtered_p50_each"], ensure_ascii=False)})
    console.print(f"ready in {s['ready_s']:.1f} s, p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms, "
                  f"matches ranked {got['search_matches']}")
    return got


def _days(new: Path, cwd: Path, label: str, per_day: int, days: int) -> list[Path]:
    """The kept new reports as one file a day (what each day's ``ingest`` reads)."""
    lines = new.read_text("utf-8").splitlines(keepends=True)
    out = []
    for d in range(days):
        path = cwd / f"new-{label}-day{d + 1}.jsonl"
        path.write_text("".join(lines[d * per_day : (d + 1) * per_day]), "utf-8")
        out.append(path)
    return out


def _matches(totals: list[int]) -> str:
    """How many queries rank the most candidates a search ranks (``CANDIDATES``), and how
    many the others rank: a small archive's long terms rank fewer and cost less."""
    rest = sorted(n for n in totals if n < CANDIDATES)
    return (f"{len(totals) - len(rest)} at {CANDIDATES:,}"
            + (f"; others {rest[0]}–{rest[-1]}" if rest else ""))


def _stamp(url: str, site: Path, cfg: Path) -> None:
    """The manifest a full build leaves, and no page (``site.build.stamp``): the build after
    the new news then renders the pages a real incremental build renders, and writes each
    (there is no old page to compare with)."""
    from matome.site import build

    store = Store(url)
    try:
        build.stamp(store, site, load_settings(cfg))
    finally:
        store.close()


# --- the table ----------------------------------------------------------------------------

ROWS = [  # key, label, unit, goal ("ratio": largest ≤ 1.5 × smallest; "p95": < 50 ms at largest)
    ("process_idle_s", "process, nothing new", "s", "ratio"),
    ("process_idle_cpu", "process, nothing new: CPU", "s", "ratio"),
    ("process_idle_rss", "process, nothing new: peak RSS", "MiB", "ratio"),
    ("process_new_s", "process, {new:,} new", "s", "ratio"),
    ("process_new_cpu", "process, {new:,} new: CPU", "s", "ratio"),
    ("process_new_rss", "process, {new:,} new: peak RSS", "MiB", "ratio"),
    ("site_warm_s", "site build after them (warmed up)", "s", "ratio"),
    ("site_warm_cpu", "site build after them (warmed up): CPU", "s", "ratio"),
    ("site_warm_rss", "site build after them (warmed up): peak RSS", "MiB", "ratio"),
    ("site_incr_s", "site build after them, first (cold)", "s", "ratio"),
    ("site_incr_cpu", "site build after them, first (cold): CPU", "s", "ratio"),
    ("site_incr_rss", "site build after them, first (cold): peak RSS", "MiB", "ratio"),
    ("process_day_s", "process, {new:,} new, the last day", "s", "ratio"),
    ("process_day_cpu", "process, {new:,} new, the last day: CPU", "s", "ratio"),
    ("process_day_rss", "process, {new:,} new, the last day: peak RSS", "MiB", "ratio"),
    ("process_per_day", "process, {new:,} new, each day (s)", "", ""),
    ("site_day_s", "site build after the last day's", "s", "ratio"),
    ("site_day_cpu", "site build after the last day's: CPU", "s", "ratio"),
    ("site_day_rss", "site build after the last day's: peak RSS", "MiB", "ratio"),
    ("search_p50", "search p50 (/api/search)", "ms", "ratio"),
    ("search_p95", "search p95 (/api/search)", "ms", "p95"),
    ("search_matches", "search: the 12 queries' matches ranked", "", ""),
    ("mixed_p50", "search, a short word beside a long one (3 queries): p50", "ms", ""),
    ("mixed_max", "search, a short word beside a long one: slowest", "ms", ""),
    ("mixed_cut", "search, a short word beside a long one: cut off at 0.5 s", "", ""),
    ("filtered_p50", "search with a filter (5 queries): p50", "ms", ""),
    ("filtered_max", "search with a filter: slowest", "ms", ""),
    ("filtered_cut", "search with a filter: cut off at 0.5 s", "", ""),
    ("serve_rss", "serve: peak RSS after the searches", "MiB", "ratio"),
    ("serve_ready_s", "serve: seconds to first answer", "s", ""),
    ("ingest_s", "ingest {new:,} new (JSONL)", "s", ""),
    ("site_full_s", "site build, first (full)", "s", ""),
    ("site_full_rss", "site build, first (full): peak RSS", "MiB", ""),
    ("fill_s", "fill (synthetic, bulk; cached between runs)", "s", ""),
    ("settle_s", "settle: the fill's first process (untimed)", "s", ""),
    ("settle_rss", "settle: peak RSS", "MiB", ""),
    ("settle_redid", "what the settling process redid", "", ""),
    ("store_gb", "store size on disk", "GB", ""),
    ("redone", "what process with nothing new redid", "", ""),
    ("embedded", "texts the embeddings stub answered ({new:,} new)", "", ""),
]


def table(backend: str, results: dict[int, dict[str, float | str]], new: int) -> Table:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    t = Table(title=f"{backend}: cost per cycle against archive size "
                    f"(goal: {_k(large)} ≤ {GOAL_RATIO} × {_k(small)}; search p95 < {GOAL_P95_MS:.0f} ms)")
    t.add_column("measurement")
    for n in sizes:
        t.add_column(_k(n), justify="right")
    t.add_column(f"{_k(large)}/{_k(small)}", justify="right")
    t.add_column("goal", justify="center")
    for key, label, unit, goal in ROWS:
        vals = [results[n].get(key) for n in sizes]
        if all(v is None for v in vals):
            continue
        cells = [_cell(v, unit) for v in vals]
        a, b = results[small].get(key), results[large].get(key)
        ratio = b / a if isinstance(a, float) and isinstance(b, float) and a > 0 and large != small else None
        mark = ""
        if goal == "ratio" and ratio is not None:
            mark = "[green]pass[/]" if ratio <= GOAL_RATIO else "[red]FAIL[/]"
        elif goal == "p95" and isinstance(b, float):
            ok = b < GOAL_P95_MS and (ratio is None or ratio <= GOAL_RATIO)
            mark = "[green]pass[/]" if ok else "[red]FAIL[/]"
        t.add_row(label.format(new=new) + (f" ({unit})" if unit else ""), *cells,
                  f"{ratio:.2f}" if ratio is not None else "", mark)
    capped = _capped(results)
    if capped is not None:
        names, p50s = capped
        ratio = p50s[-1] / p50s[0] if p50s[0] > 0 and large != small else None
        t.add_row(f"search p50, the queries ranking {CANDIDATES:,} at every size ({names}) (ms)",
                  *[f"{v:.2f}" for v in p50s], f"{ratio:.2f}" if ratio is not None else "", "")
    return t


def _capped(results: dict[int, dict[str, float | str]]) -> tuple[str, list[float]] | None:
    """The median of the per-query p50s of the queries that rank the full ``CANDIDATES`` at
    every size: what a search costs at the same work, against the archive's size (the
    goal's p50 and p95 mix in, at a small archive, queries with fewer matches to rank)."""
    sizes = sorted(results)
    totals = [json.loads(str(results[n]["search_totals"])) for n in sizes]
    each = [json.loads(str(results[n]["search_p50_each"])) for n in sizes]
    names = [q for q in totals[0] if all(t.get(q) == CANDIDATES for t in totals)]
    if not names:
        return None
    return ", ".join(names), [float(np.median([e[q] for q in names])) for e in each]


def _cell(v: float | str | None, unit: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.2f}" if unit in {"GB", "ms"} or v < 10 else f"{v:.0f}"


def _top(prof: Path, n: int = 25) -> None:
    """matome's functions by cumulative time in a profiled step: what grows is read by
    comparing the sizes' lists."""
    import pstats

    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]  # not in typeshed
    rows = sorted(((v[3], f"{Path(k[0]).name}:{k[1]} {k[2]}") for k, v in stats.items()
                   if "/matome/" in k[0]), reverse=True)[:n]
    for secs, where in rows:
        console.print(f"      {secs:8.2f} s  {where}")


def _k(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k" \
        if n % 1000 == 0 else str(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-max", type=int, default=100_000, help="largest size run on PostgreSQL")
    parser.add_argument("--work", type=Path, default=Path("/tmp/matome-archive-scale"))
    parser.add_argument("--in-place", action="store_true",
                        help="SQLite: measure on the filled store itself instead of a copy (half "
                             "the disk; the fill is not kept for the next run)")
    parser.add_argument("--fill-only", action="store_true",
                        help="fill and settle the stores (kept under --work for the next run), "
                             "measure nothing: the untimed part of a large size ahead of time")
    parser.add_argument("--stamp-site", action="store_true",
                        help="instead of the first, full site build (22 minutes at 1M), leave its "
                             "manifest alone (site.build.stamp), at every size alike: the build "
                             "after the new news renders the same pages and writes them all")
    parser.add_argument("--per-day", type=int, default=1000, help="reports a day in the stream")
    parser.add_argument("--new", type=int, default=1000, help="new reports ingested a day")
    parser.add_argument("--days", type=int, default=3,
                        help="days of new reports, each ingested, processed and built in turn")
    parser.add_argument("--requests", type=int, default=400, help="timed search requests per size")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--profile", default="",
                        help="steps to run under cProfile, comma-separated (process_new, site_incr …): "
                             "their stats kept in --work and matome's top functions printed; their "
                             "own figures are then inflated, so profile in a run apart")
    args = parser.parse_args()
    args.profile = {p for p in args.profile.split(",") if p}
    args.work = args.work.absolute()
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "run").mkdir(exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(root / "src"), str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    sizes = sorted(int(s) for s in args.sizes.split(","))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    stub = EmbedStub()
    cfg = args.work / "matome.toml"
    cfg.write_text(f'[embed]\nbackend = "openai"\nbase_url = "{stub.base_url}"\nmodel = "{MODEL}"\n',
                   encoding="utf-8")
    settings = load_settings(cfg)
    help_text = subprocess.run([sys.executable, "-m", "matome", "site", "build", "--help"],
                               capture_output=True, text=True).stdout
    args.has_full = "--full" in help_text
    console.print(f"archive_scale: sizes {sizes}, {backends}; work in {args.work}")
    console.print(f"synthetic archive (bench/archive_synth.py): {SHAPE.format(per_day=args.per_day)}")
    console.print(f"embeddings: matome's openai backend, answered at once by a stub at {stub.base_url}")
    sample = list(Stream(args.per_day, args.seed).reports(40))
    check = check_against_analyzer(sample)
    console.print("synthetic analyses against matome's analyzer on the same 40 texts (mean, "
                  "synthetic / analyzer): " + ", ".join(
                      f"{k} {a:.3g} / {b:.3g}" for k, (a, b) in check.items()))
    for backend in backends:
        pg = None
        todo = [n for n in sizes if backend == "sqlite" or n <= args.pg_max]
        if backend == "postgresql" and todo:
            cls, bindir = _pg_server_class()
            pg = cls(bindir, args.work / "pg")
            pg.start()
        results: dict[int, dict[str, float | str]] = {}
        try:
            for n in todo:
                if args.fill_only:
                    _fill_only(backend, n, args, settings, pg, cfg)
                    continue
                url, manifest = prepare(backend, n, args, settings, pg, cfg)
                results[n] = measure(url, manifest, args, cfg, stub, f"{backend}-{_k(n)}")
                # every measurement, kept: runs of other code versions compare against these
                with open(args.work / "results.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "backend": backend,
                                        "size": n, "code": manifest.get("code", ""), **results[n]}) + "\n")
        finally:
            if pg is not None:
                pg.stop()
        if results:
            console.print(table(backend, results, args.new))
    stub.shutdown()


if __name__ == "__main__":
    main()

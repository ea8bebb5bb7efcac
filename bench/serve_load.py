"""Load on a real ``matome serve``: mixed requests at several concurrencies, loopback only.

Starts ``matome serve`` on 127.0.0.1 (a fresh process for each concurrency,
so one level's trouble does not spill into the next) over the demo database,
then sends a fixed, seeded mix of requests — pages, tag and outlet pages,
Japanese searches (page and API), the JSON API, feeds — from one asyncio
client holding ``concurrency`` keep-alive connections. Prints one table:
requests/s, latency percentiles, errors (anything but 200 or 503, and
dropped connections), 503s (the server shedding load, by design), requests
that got no answer in time, whether the server still answered afterwards,
and how long it took to exit on SIGTERM.

Bounded: ``--requests`` per level, ``--timeout`` per request, ``--level-seconds``
per level; a level stops early once the server looks hung.

    .venv/bin/python bench/serve_load.py [--db demo.db] [--requests 5000] [--concurrency 8,32,128]

The database is built with ``matome demo --no-serve`` when it does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from matome.site import outlet_id

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["日銀", "重要鉱物", "海底ケーブル", "外相", "政策金利", "円安", "首相", "G7", "半導体",
           "地震", "経済", "存在しない語句の組み合わせ", "外相 会談"]


@dataclass
class Level:
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    shed: int = 0         # 503
    errors: int = 0
    timeouts: int = 0
    unsent: int = 0
    wall: float = 0.0
    answers_after: bool = False
    exit_s: str = "-"
    error_kinds: dict[str, int] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(base: str, path: str) -> object:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.loads(r.read())


def mix(base: str, count: int, seed: int) -> list[str]:
    """``count`` request paths: pages, tag pages, search, API and feeds, seeded."""
    stories = [s["id"] for s in get_json(base, "/api/stories?limit=200")["items"]]  # type: ignore[index]
    tags = [g["id"] for g in get_json(base, "/api/tags")["items"]]  # type: ignore[index]
    outlets = sorted({a["source"] for a in get_json(base, "/api/articles?limit=200")["items"]  # type: ignore[index]
                      if a["source"]})
    q = urllib.parse.quote
    kinds: list[tuple[float, list[str]]] = [
        (0.25, ["/", "/index.html", "/about.html", "/tags/index.html", "/outlets/index.html",
                "/static/style.css", *[f"/stories/{s}.html" for s in stories]]),
        (0.15, [f"/tags/{t}.html" for t in tags] + [f"/outlets/{outlet_id(o)}.html" for o in outlets]),
        (0.25, [f"/search?q={q(x)}" for x in QUERIES] + [f"/api/search?q={q(x)}" for x in QUERIES]
         + [f"/api/search?q={q('外相')}&tag={q(tags[0])}", f"/search?q={q('外相')}&page=2"]),
        (0.20, ["/api/stories", "/api/stories?limit=200", "/api/tags", "/api/articles?limit=20",
                *[f"/api/stories/{s}" for s in stories]]),
        (0.15, ["/feed.atom", "/feed.json", "/sitemap.xml", "/robots.txt",
                *[f"/tags/{t}.atom" for t in tags[:10]], *[f"/tags/{t}.json" for t in tags[:10]]]),
    ]
    rng = random.Random(seed)
    weights = [w for w, _ in kinds]
    return [rng.choice(rng.choices([p for _, p in kinds], weights)[0]) for _ in range(count)]


async def _request(conn: list[asyncio.StreamReader | asyncio.StreamWriter | None], port: int,
                   path: str) -> int:
    """One GET on the worker's keep-alive connection (opened on demand); the status."""
    if conn[0] is None:
        conn[0], conn[1] = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn
    assert isinstance(reader, asyncio.StreamReader) and isinstance(writer, asyncio.StreamWriter)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: serve_load\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    if headers.get("connection", "").lower() == "close":
        _close(conn)
    return status


def _close(conn: list[asyncio.StreamReader | asyncio.StreamWriter | None]) -> None:
    if isinstance(conn[1], asyncio.StreamWriter):
        conn[1].close()
    conn[0] = conn[1] = None


async def run_level(port: int, paths: list[str], level: Level, timeout: float,
                    level_seconds: float) -> None:
    todo = iter(paths)
    hung = max(20, level.concurrency)  # this many timeouts: the server is not coming back

    async def worker() -> None:
        conn: list[asyncio.StreamReader | asyncio.StreamWriter | None] = [None, None]
        for path in todo:
            if level.timeouts >= hung:
                level.unsent += 1
                continue
            start = time.perf_counter()
            for attempt in (0, 1):  # a keep-alive connection the server closed: retry once
                try:
                    status = await asyncio.wait_for(_request(conn, port, path), timeout)
                    break
                except TimeoutError:
                    _close(conn)
                    status = -1
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    _close(conn)
                    status = -2
                    if attempt:
                        kind = exc.__class__.__name__
                        level.error_kinds[kind] = level.error_kinds.get(kind, 0) + 1
            if status == -1:
                level.timeouts += 1
                continue
            if status == -2:
                level.errors += 1
                continue
            level.latencies.append(time.perf_counter() - start)
            if status == 200:
                level.ok += 1
            elif status == 503:
                level.shed += 1
            else:
                level.errors += 1
                level.error_kinds[str(status)] = level.error_kinds.get(str(status), 0) + 1
        _close(conn)

    start = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(level.concurrency)]
    _, pending = await asyncio.wait(tasks, timeout=level_seconds)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    level.unsent += len(pending) + sum(1 for _ in todo)  # cut off in flight, never sent
    level.wall = time.perf_counter() - start


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/", timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    # the demo's own settings (its themes, as `matome demo` served them), unless given others
    demo = str(resources.files("matome").joinpath("demo/matome.toml"))
    env = {"MATOME_CONFIG": demo, **os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "matome", "--db", str(db), "serve",
                             "--host", "127.0.0.1", "--port", str(port)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    deadline = time.monotonic() + 60
    while not answers(f"http://127.0.0.1:{port}"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"matome serve did not start; see {log}")
        time.sleep(0.3)
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> str:
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
        return f"{time.monotonic() - start:.1f}s"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "KILLED"


def pct(values: list[float], p: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=ROOT / "demo.db")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", default="8,32,128")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take")
    ap.add_argument("--level-seconds", type=float, default=300.0, help="bound on one level")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    requests = max(1, min(args.requests, 50_000))
    levels = [max(1, min(int(c), 512)) for c in args.concurrency.split(",")]
    if not args.db.exists():
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, "-m", "matome", "--db", str(args.db), "demo",
                            "--no-serve", "--out", out], cwd=ROOT, check=True,
                           env={**os.environ, "MATOME_CONFIG": ""})
    log = Path(tempfile.gettempdir()) / "serve_load.log"
    results = []
    for c in levels:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(args.db, port, log)
        try:
            level = Level(c)
            asyncio.run(run_level(port, mix(base, requests, args.seed), level, args.timeout,
                                  args.level_seconds))
            level.answers_after = answers(base)
        finally:
            level.exit_s = stop_server(proc)
        results.append(level)
    table = Table("concurrency", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "200",
                  "503", "errors", "no answer", "answers after", "SIGTERM exit",
                  title=f"matome serve, {requests} mixed requests per level ({args.db.name})")
    for r in results:
        answered = len(r.latencies)
        table.add_row(str(r.concurrency), str(requests), f"{answered / r.wall:.0f}" if r.wall else "-",
                      pct(r.latencies, 50), pct(r.latencies, 95), pct(r.latencies, 99), str(r.ok),
                      str(r.shed), str(r.errors), str(r.timeouts + r.unsent),
                      "yes" if r.answers_after else "NO", r.exit_s)
    Console(width=200).print(table)
    for r in results:
        if r.error_kinds:
            print(f"concurrency {r.concurrency}: errors {r.error_kinds}")
    bad = any(r.errors or r.timeouts or r.unsent or not r.answers_after for r in results)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

"""How ``bench/archive_scale.py`` runs and measures each step, and the embeddings it serves.

Each CLI step is a subprocess timed and measured for peak RSS under a small
wrapper (see ``run``); the server is measured from outside (``serve_and_search``);
``done_marks`` tells whether a run redid work; ``EmbedStub`` is the loopback
embeddings endpoint every size shares.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

from matome.store import Store

QUERIES = ["日銀", "首相", "円安", "台風", "地震", "外相", "政策金利", "半導体", "気象庁",
           "首脳会談", "避難指示", "経済安全保障"]
# A short word beside a long one, as readers type them: timed apart from the twelve above
# (whose p50 and p95 earlier runs reported), each as many times as one of them. Such a
# search ran past the server's 0.5 s limit at 100k until 3d417ad.
MIXED = ["首相 経済安全保障", "外相 首脳会談", "地震 避難指示"]
# Searches with the search page's filters, timed apart too: a common word in a tag of a few
# stories, before the archive's second day, on its last day, in its largest tag, and a
# long word from one outlet in the last month. Until 0025 a common word and a filter holding
# few of its matches read every match in the archive (cut off at 0.5 s at 1M).
FILTERED = ["首相 · tag (median)", "首相 · until day 1", "経済安全保障 · since last day",
            "首相 · tag (largest)", "経済安全保障 · outlet + last month"]
MODEL = "synthetic-e5"


# --- the embeddings endpoint -----------------------------------------------------------


class EmbedStub(http.server.ThreadingHTTPServer):
    """An OpenAI-style ``/v1/embeddings`` on 127.0.0.1 that answers at once, deterministically."""

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}
        self.found = self.missed = 0  # texts answered with a report's vector, and others
        super().__init__(("127.0.0.1", 0), _EmbedHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def vector(self, text: str) -> list[float]:
        title = text.removeprefix("passage: ").split("。", 1)[0]
        if title in self.vectors:
            self.found += 1
            return self.vectors[title]
        self.missed += 1
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        v = np.random.default_rng(seed).standard_normal(384)
        return [float(x) for x in v / np.linalg.norm(v)]


class _EmbedHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # http.server calls it by this name
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        server: EmbedStub = self.server  # type: ignore[assignment]
        data = [{"object": "embedding", "index": i, "embedding": server.vector(x)}
                for i, x in enumerate(body["input"])]
        out = json.dumps({"object": "list", "model": MODEL, "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


# --- one step ---------------------------------------------------------------------------


# The peak RSS of a child started from this process would include this process's own: Linux
# carries the parent's high-water mark across fork and exec (``signal->maxrss``). So each step
# runs under this small wrapper, whose own child starts from the wrapper's few megabytes.
_MEASURED = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{time.perf_counter() - t0} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 6 * 3600,
        profile: Path | None = None) -> tuple[float, float, float, str]:
    """``python -m matome ARGS`` as a subprocess: (wall seconds, peak RSS in MiB, CPU seconds
    (user + system: what a step costs whatever else the machine is doing), its output).
    With ``profile``, under cProfile, its stats written there (and its times inflated)."""
    log, usage = cwd / "step.log", cwd / "step.usage"
    usage.unlink(missing_ok=True)
    profiled = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    # Untimed: what the steps before wrote goes to disk now, not while this one runs. The
    # site build after `process` (its store writes still being flushed) created its page
    # files at 0.05 or 0.4 ms each, from one run to the next: the build's spread.
    os.sync()
    with open(log, "wb") as out:
        proc = subprocess.run([sys.executable, "-c", _MEASURED, str(usage), sys.executable, *profiled,
                               "-m", "matome", *args], env=env, cwd=cwd, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    text = log.read_text("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"matome {' '.join(args)} exited {proc.returncode}:\n{text[-3000:]}")
    secs, kib, cpu = usage.read_text().split()
    return float(secs), int(kib) / 1024, float(cpu), text


def done_marks(url: str) -> dict[str, str]:
    """A digest per table of what each stage has done (key, stage, input hash): equal before and
    after a run that redid nothing."""
    from sqlalchemy import text

    queries = {"articles": "SELECT id, stage, input_hash FROM articles ORDER BY id",
               "analyses": "SELECT article_id, stage, input_hash FROM analyses ORDER BY article_id",
               "dedupe": "SELECT article_id, stage, input_hash FROM dedupe ORDER BY article_id",
               # not seq: the order a copy was placed in is no work redone
               "memberships": "SELECT article_id, story_id, role FROM memberships ORDER BY article_id",
               "written": "SELECT story_id, format, input_hash FROM written ORDER BY story_id, format",
               "stage_state": "SELECT stage, input_hash, '' FROM stage_state ORDER BY stage"}
    store = Store(url, readonly=True)
    out = {}
    with store.read() as conn:
        for name, sql in queries.items():
            h = hashlib.sha256()
            for row in conn.execute(text(sql)):
                h.update("\x00".join(str(x) for x in row).encode() + b"\n")
            out[name] = h.hexdigest()
    store.close()
    return out


def serve_and_search(env: dict[str, str], cwd: Path, requests: int) -> dict[str, Any]:
    """Start ``matome serve``; seconds to its first answer, search p50/p95 (ms) and each
    query's p50, peak RSS (MiB), and how many matches each query ranked (its ``total``: at
    most the newest 1,000; where a small archive has fewer, its searches rank fewer and
    cost less); then the ``MIXED`` searches' p50, slowest and how many were cut off, and the
    ``FILTERED`` ones' alike (and each one's p50)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "matome", "serve", "--port", str(port)],
                            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = _connect(port, proc, deadline=t0 + 3600)
        ready = time.perf_counter() - t0
        paths = [f"/api/search?q={urllib.parse.quote(q)}" for q in QUERIES]
        # warm-up: first use of each query
        totals = {q: int(json.loads(_get(conn, p))["total"]) for q, p in zip(QUERIES, paths, strict=True)}
        order = [paths[i % len(paths)] for i in range(requests)]
        random.Random(16).shuffle(order)
        times, each = [], {q: [] for q in QUERIES}
        query_of = dict(zip(paths, QUERIES, strict=True))
        for p in order:
            t = time.perf_counter()
            _get(conn, p)
            times.append((time.perf_counter() - t) * 1000)
            each[query_of[p]].append(times[-1])
        mixed, cut = [], 0
        for q in MIXED:
            path = f"/api/search?q={urllib.parse.quote(q)}"
            _get(conn, path)
            for _ in range(max(1, requests // len(QUERIES))):
                t = time.perf_counter()
                cut += bool(json.loads(_get(conn, path)).get("cut_off"))
                mixed.append((time.perf_counter() - t) * 1000)
        filtered, fcut, fmid = [], 0, {}
        for label, path in zip(FILTERED, _filtered_paths(env["MATOME_DB"]), strict=True):
            _get(conn, path)
            took = []
            for _ in range(max(1, requests // len(QUERIES))):
                t = time.perf_counter()
                fcut += bool(json.loads(_get(conn, path)).get("cut_off"))
                took.append((time.perf_counter() - t) * 1000)
            filtered += took
            fmid[label] = float(np.percentile(took, 50))
        hwm = _vm_hwm(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"ready_s": ready, "p50": float(np.percentile(times, 50)),
            "p95": float(np.percentile(times, 95)), "rss": hwm, "totals": totals,
            "p50_each": {q: float(np.percentile(t, 50)) for q, t in each.items() if t},
            "mixed_p50": float(np.percentile(mixed, 50)), "mixed_max": max(mixed), "mixed_cut": cut,
            "mixed_n": len(mixed), "filtered_p50": float(np.percentile(filtered, 50)),
            "filtered_max": max(filtered), "filtered_cut": fcut, "filtered_n": len(filtered),
            "filtered_p50_each": fmid}


def _filtered_paths(url: str) -> list[str]:
    """The ``FILTERED`` searches of this store, as ``/api/search`` paths."""
    from sqlalchemy import text

    store = Store(url, readonly=True)
    try:
        with store.read() as conn:
            tags = [r[0] for r in conn.execute(text(
                "SELECT listing FROM listing_counts WHERE listing LIKE 't:%' ORDER BY stories, listing"))]
            outlet = conn.execute(text("SELECT name FROM listing_counts WHERE listing LIKE 'o:%' "
                                       "ORDER BY reports, listing LIMIT 1")).scalar_one()
            first, last = conn.execute(text("SELECT min(published), max(published) FROM search_docs "
                                            "WHERE published != ''")).one()
    finally:
        store.close()
    asked = [("首相", {"tag": tags[len(tags) // 2][2:]}), ("首相", {"until": first[:10]}),
             ("経済安全保障", {"since": last[:10]}), ("首相", {"tag": tags[-1][2:]}),
             ("経済安全保障", {"outlet": outlet, "since": last[:7] + "-01"})]
    assert len(asked) == len(FILTERED)
    return [f"/api/search?{urllib.parse.urlencode({'q': q, **f})}" for q, f in asked]


def _connect(port: int, proc: subprocess.Popen[bytes], deadline: float) -> http.client.HTTPConnection:
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"matome serve exited {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            _get(conn, "/api/search?q=" + urllib.parse.quote(QUERIES[0]))
            return conn
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("matome serve did not answer in time")


def _get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"GET {path}: {r.status}")
    return body


def _vm_hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")



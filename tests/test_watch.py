"""`matome watch` and `matome sources` as users run them: real subprocess, real loopback servers.

One source answers, one is broken, one hangs for seconds: the watcher keeps
polling the good one meanwhile, logs a line per source per poll, stops
cleanly on SIGTERM with what it fetched stored, and `matome sources` shows
each source's health from the database after it has stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from matome.store import Store, db_url
from tests.conftest import ROOT, run_cli
from tests.hostile.server import Reply, serve
from tests.test_ingest_sources import RSS, rss

LONG = "北港で第一埠頭の改修工事が始まった。総事業費は約40億円で、完成は2028年春の予定だ。" * 6


def _config(tmp_path: Path, good: str, slow: str, broken: str) -> Path:
    cfg = tmp_path / "matome.toml"
    cfg.write_text(f"""
[fetch]
min_host_delay = 0.0
read_timeout = 40.0
total_timeout = 50.0

[[sources]]
name = "good"
path = "{good}"
interval = 0.5

[[sources]]
name = "slow"
path = "{slow}"
interval = 0.5

[[sources]]
name = "broken"
path = "{broken}"
interval = 0.5
""", encoding="utf-8")
    return cfg


def _wait_for(proc: subprocess.Popen[str], lines: list[str], pred, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stderr.readline() if proc.stderr else ""
        if line:
            lines.append(line)
        if pred(lines):
            return
    raise AssertionError("watch did not get there in time:\n" + "".join(lines))


def test_watch_polls_sources_independently_and_stops_cleanly(tmp_path):
    items = [(f"g{i}", f"https://kowan.example/a/{i}", f"北港ニュース{i}", LONG + str(i)) for i in range(3)]
    feed = Reply(body=rss(items), content_type=RSS)
    with serve({"/rss": feed}) as good, serve({"/rss": Reply(body=rss(items[:1]), content_type=RSS,
                                                            pause=25.0)}) as slow:
        cfg = _config(tmp_path, good.url("/rss"), slow.url("/rss"), good.url("/missing"))
        db = tmp_path / "w.db"
        env = {**os.environ, "MATOME_CONFIG": str(cfg), "CI": "true",
               "MATOME_ALLOW_PRIVATE": f"{good.hostport},{slow.hostport}"}
        proc = subprocess.Popen([sys.executable, "-m", "matome", "--db", str(db), "watch",
                                 "--out", str(tmp_path / "site")], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        lines: list[str] = []
        try:
            # the good source is polled again and again while the slow one still hangs
            _wait_for(proc, lines, lambda ls: sum(" good: " in ln for ln in ls) >= 3
                      and any("processed:" in ln for ln in ls), 60)
            assert not any(" slow: " in ln for ln in lines), "".join(lines)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)  # the slow source still hangs: not waited for past the grace
        finally:
            if proc.poll() is None:
                proc.kill()
        lines += proc.stderr.readlines() if proc.stderr else []
    log = "".join(lines)
    assert proc.returncode == 0, log
    assert "stopped" in lines[-1] and "not waiting for slow" in lines[-2]
    assert " good: 3 new" in log and " good: 0 new, 0 changed, 3 known" in log
    assert "broken: error: HTTP 404" in log
    assert (tmp_path / "site" / "index.html").exists()
    store = Store(db_url(str(db)), readonly=True)
    assert len(store.articles()) == 3

    shown = run_cli("sources", db=db, env={"MATOME_CONFIG": str(cfg), "COLUMNS": "250"}, check=True)
    rows = {ln.split("│")[1].strip(): ln for ln in shown.stdout.splitlines() if ln.count("│") > 5}
    assert "HTTP 404" in rows["broken"]
    assert [c.strip() for c in rows["good"].split("│")][4] == "3"  # stored from it


def test_watch_once_after_a_restart_duplicates_nothing(tmp_path):
    items = [(f"g{i}", f"https://kowan.example/a/{i}", f"北港ニュース{i}", LONG + str(i)) for i in range(2)]
    with serve({"/rss": Reply(body=rss(items), content_type=RSS)}) as site:
        cfg = tmp_path / "matome.toml"
        cfg.write_text(f'[fetch]\nmin_host_delay = 0.0\n\n[[sources]]\nname = "kowan"\n'
                       f'path = "{site.url("/rss")}"\ninterval = 3600\n', encoding="utf-8")
        env = {"MATOME_CONFIG": str(cfg), "MATOME_ALLOW_PRIVATE": site.hostport}
        db = tmp_path / "r.db"
        first = run_cli("watch", "--once", db=db, env=env, check=True)
        second = run_cli("watch", "--once", db=db, env=env, check=True)
    assert "kowan: 2 new" in first.stderr
    assert "kowan: 0 new, 0 changed, 2 known" in second.stderr
    assert len(Store(db_url(str(db)), readonly=True).articles()) == 2

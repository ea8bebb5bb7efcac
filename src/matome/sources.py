"""Sources: turn what the user names (files, directories, feeds, URLs) into raw documents.

Nothing is parsed for content here; each item is stored as read, with a key
that identifies it across re-ingests, so extraction can be re-run later
without reading the source again. Bad items become ``RecordError``s with a
file and line or entry, never an exception that stops the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser

from matome.errors import FeedError, InputError, RecordError
from matome.records import RawDoc
from matome.settings import IngestSettings

Item = RawDoc | RecordError


def discover(target: str, settings: IngestSettings) -> Iterator[Item]:
    """Every raw document in a path or URL; errors are yielded, not raised."""
    if target.startswith(("http://", "https://")):
        from matome import fetch

        yield from fetch.ingest_url(target, settings)
        return
    path = Path(target)
    if not path.exists():
        raise InputError(f"{target}: no such file or directory")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if f.name.startswith("."):
            continue
        yield from read_file(f, settings)


def read_file(path: Path, settings: IngestSettings) -> Iterator[Item]:
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            yield RecordError(f"file is {size} bytes, over the {settings.max_file_bytes} limit",
                              origin=origin)
            return
        data = path.read_bytes()
    except OSError as exc:
        yield RecordError(f"cannot read: {exc.strerror or exc}", origin=origin)
        return
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from jsonl_records(data, origin)
    elif suffix in settings.html_suffixes:
        yield RawDoc(key=f"file:{path.absolute()}", kind="html", origin=origin, location="",
                     content=data, hints={})
    elif suffix in settings.feed_suffixes:
        yield from feed_entries(data, origin)
    else:
        yield RecordError(f"unsupported file type {suffix or '(none)'!r}", origin=origin)


def jsonl_records(data: bytes, origin: str) -> Iterator[Item]:
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield RecordError(f"not JSON ({exc.__class__.__name__}: {exc})", origin=origin,
                              location=where)
            continue
        if not isinstance(record, dict):
            yield RecordError("not a JSON object", origin=origin, location=where)
            continue
        rid, url = record.get("id"), record.get("url")
        if not (isinstance(rid, str) and rid.strip()) and not (isinstance(url, str) and url):
            yield RecordError("record has neither 'id' nor 'url'", origin=origin, location=where)
            continue
        key = f"id:{rid.strip()}" if isinstance(rid, str) and rid.strip() else f"url:{url}"
        yield RawDoc(key=key, kind="record", origin=origin, location=where, content=line.strip(),
                     hints={})


def feed_entries(data: bytes, origin: str) -> Iterator[Item]:
    parsed = feedparser.parse(data)
    entries = parsed.get("entries") or []
    if parsed.get("bozo") and not entries:
        exc = parsed.get("bozo_exception")
        yield FeedError(f"not a readable feed ({exc.__class__.__name__}: {exc})", origin=origin)
        return
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        yield FeedError(f"malformed feed, {len(entries)} entries recovered "
                        f"({exc.__class__.__name__}: {exc})", origin=origin, location="feed")
    feed = parsed.get("feed", {})
    outlet = feed.get("title", "")
    base = feed.get("link") or origin
    for n, entry in enumerate(entries, start=1):
        yield _entry_doc(entry, outlet, base, origin, n)


def _entry_doc(entry: Any, outlet: str, base: str, origin: str, n: int) -> Item:
    content = ""
    for c in entry.get("content") or []:
        if len(c.get("value", "")) > len(content):
            content = c["value"]
    body = {
        "title": entry.get("title", ""),
        "link": entry.get("link", ""),
        "guid": entry.get("id", ""),
        "published": entry.get("published") or entry.get("updated") or "",
        "author": entry.get("author", ""),
        "summary": entry.get("summary", ""),
        "content": content,
        "outlet": outlet,
        "lang": entry.get("language") or "",
    }
    ident = body["guid"] or body["link"]
    if not ident:
        if not (body["title"] or content):
            return RecordError("feed entry with no id, link, title or content", origin=origin,
                               location=f"entry {n}")
        from matome.records import digest

        ident = "h" + digest(body["title"], content)[:16]
    return RawDoc(key=f"entry:{base}:{ident}", kind="entry", origin=origin, location=f"entry {n}",
                  content=json.dumps(body, ensure_ascii=False, sort_keys=True).encode(), hints={})

"""``site build``: write the static site — every page the first time, then only what changed.

A build leaves a manifest in the output directory: which store (its index epoch), which
settings and which templates it was made with, and how far it read the site index's
log (``matome.store.site_index``). The next build reads the log from there: the pages
of stories that changed and of their storylines, the listing pages from the lowest place
a change touched (listings page from the oldest, so that is the newest few pages), the
tags whose definition changed, feeds and sitemaps. It renders them, writes those whose
bytes differ (each to a temporary file beside it, then renamed over it: a reader never
sees half a page) and removes pages that no longer exist. Anything else — no manifest,
another store, settings or templates, a log pruned past the manifest, ``--full`` —
rebuilds everything into a fresh directory swapped in whole. Both ways give the same
files: the incremental build only skips pages that would come out the same.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from matome import __version__
from matome.errors import StoreError
from matome.settings import Settings
from matome.site.dbview import DbCatalog
from matome.site.feeds import FEED_SIZE
from matome.site.pages import MANIFEST, Site, tag_bucket
from matome.site.readmodel import TIMELINE_SPAN
from matome.store import Store, site_index

FORMAT = 1


@dataclass(frozen=True)
class Built:
    written: int   # pages written (new or different)
    removed: int   # pages that no longer exist
    looked_at: int  # pages rendered
    full: bool


def publish(store: Store, out: Path, settings: Settings, *, full: bool = False) -> Built:
    """Bring the static site in ``out`` up to the store's site index."""
    if store.readonly or store.engine.dialect.name != "sqlite":
        return _publish(store, out, settings, full)
    # A build reads one snapshot in one transaction; on a writable SQLite store that would
    # start as a write transaction and hold off every writer (watch's polls) until it ends.
    reader = Store(store.url, readonly=True)
    try:
        return _publish(reader, out, settings, full)
    finally:
        reader.close()


def _manifest(conn: Connection, settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """The manifest a build now leaves, and the index's state it is made from."""
    state = site_index.get_state(conn)
    identity = {"format": FORMAT, "epoch": state.get("epoch", ""), "settings": _settings_key(settings),
                "templates": _templates_key()}
    return {"identity": identity, "log": site_index.log_end(conn)}, state


def stamp(store: Store, out: Path, settings: Settings) -> None:
    """Leave in ``out`` the manifest a full build would leave, and no page: the next build
    writes only what changes after now. For benches at sizes whose full build takes hours."""
    with store.read() as conn:
        manifest, _ = _manifest(conn, settings)
    write_file(out / MANIFEST, json.dumps(manifest, sort_keys=True) + "\n")


def _publish(store: Store, out: Path, settings: Settings, full: bool) -> Built:
    with DbCatalog.pinned(store, settings.writer.primary) as cat, cat.connect() as conn:
        site = Site(cat, settings)
        manifest, state = _manifest(conn, settings)
        end = manifest["log"]
        identity = manifest["identity"]
        old = read_manifest(out)
        if (full or old is None or old.get("identity") != identity
                or not int(state.get("floor", "0")) <= int(old.get("log", -1)) <= end):
            n = site.build(out, manifest)
            return Built(n, 0, n, True)
        paths = plan(site, conn, site_index.log_since(conn, int(old["log"]), end))
        written = removed = 0
        for path, page in site.rendered(paths):
            target = out / path
            if page is None:
                if target.exists():
                    target.unlink()
                    removed += 1
            elif write_file(target, page):
                written += 1
        write_file(out / MANIFEST, json.dumps(manifest, sort_keys=True) + "\n")
        return Built(written, removed, len(paths), False)


def open_indexed(db: str, settings: Settings, warn: Callable[[str], None]) -> Store:
    """The store, read-only, with its site index up to date: ``process`` brings it up to
    date as its last step; a store that another matome or an interrupted run left behind
    is brought up to date here, which needs write access once (without it: a warning, and
    the site as the index has it)."""
    from matome.site import index

    store = Store(db, readonly=True)
    if store.empty or not index.behind(store, settings):
        return store
    store.close()
    try:
        writer = Store(db)
        try:
            index.refresh(writer, settings)
        finally:
            writer.close()
    except StoreError as exc:
        warn(f"the site index is behind the store and cannot be brought up to date here ({exc}); "
             "run `matome process`")
    return Store(db, readonly=True)


def plan(site: Site, conn: Connection, entries: list[site_index.Logged]) -> list[str]:
    """The pages the logged changes may have changed, stories first (so listings never link
    to a page not written yet); a page that comes out None is one to remove."""
    if not entries:
        return []
    stories: set[str] = set()
    lines: dict[str, int | None] = {}  # storyline -> lowest key touched (None: all its pages)
    tags: set[str] = set()
    moved: dict[str, tuple[int, int]] = {}  # listing -> (lowest key touched, size before)
    spots: dict[str, set[int]] = {}  # listing -> keys of stories changed in place
    fed: dict[str, set[int]] = {}  # listing -> keys of stories changed only in its feed
    for e in entries:
        kind, _, name = e.listing.partition(":")
        if kind == "s":
            stories.add(name)
        elif kind == "l":
            # a story's card changed in place (before None) or stories entered or left from
            # this key on: either way its pages from SPAN places before it may show it
            low = lines.get(name, e.key)
            lines[name] = None if low is None or e.key is None else min(low, e.key)
        elif kind == "T":
            tags.add(name)
        elif e.key is not None and e.before is None:
            spots.setdefault(e.listing, set()).add(e.key)
        elif e.key is not None and e.before == site_index.FEED:
            if kind == "t":  # the index's feeds are shared paths, always rendered
                fed.setdefault(e.listing, set()).add(e.key)
        elif e.key is not None:
            low, before = moved.get(e.listing, (e.key, e.before or 0))
            moved[e.listing] = (min(low, e.key), before)
    for line, low in sorted(lines.items()):  # a storyline's pages show part of its timeline
        stories.update(_line_pages(conn, line, low))
    paths = [f"stories/{sid}.html" for sid in sorted(stories)]
    for listing, (low, before) in sorted(moved.items()):
        paths += _listing(site, conn, listing, low, before)
    for listing, keys in sorted(spots.items()):
        # pages from a moved listing's lowest key on are all rendered already
        edge = moved[listing][0] if listing in moved else None
        paths += _spots(site, conn, listing, sorted(k for k in keys if edge is None or k < edge))
    for listing, keys in sorted(fed.items()):
        if listing not in moved:  # else its feeds are planned already
            paths += _feeds(conn, listing, keys)
    for tid in sorted(tags):  # its name, aliases or place among themes: all its pages
        listing = f"t:{tid}"
        n = max(site_index.size(conn, listing)[0], moved.get(listing, (0, 0))[1])
        paths += [*site.tag_paths(tid, n), f"sitemaps/tags-{tag_bucket(tid):x}.xml"]
    paths += site.shared_paths()
    return list(dict.fromkeys(paths))


def _line_pages(conn: Connection, line: str, low: int | None) -> list[str]:
    """The stories of storyline ``line`` whose timeline (``readmodel.timeline``) a change at
    key ``low`` or later may have changed: from ``TIMELINE_SPAN`` places before the first
    story at or after it; all of them when that is the storyline's first story, which every
    page shows. The stories before keep the same neighbours in the same order."""
    listing = f"l:{line}"
    if low is None:
        return site_index.oldest(conn, listing)
    # from the newest end, the touched and the SPAN before them (all of them when the first
    # is touched): a storyline of years is not read whole for its last pages
    touched = site_index.at_or_after(conn, listing, low)
    return [sid for sid, _ in reversed(site_index.newest(conn, listing, 0, touched + TIMELINE_SPAN))]


def _listing(site: Site, conn: Connection, listing: str, low: int, before: int) -> list[str]:
    """A listing's pages that a change at key ``low`` or later may have changed."""
    n = site_index.size(conn, listing)[0]
    p = n - site_index.at_or_after(conn, listing, low)  # the first place, from the oldest, it touched
    new, old = site.archive(n), site.archive(before)
    # archive pages from the one holding place p; those past the end now come out None and
    # go. The last archive page is the one that links to the front page: when their number
    # changes, the last one before and after change their links too. When it does not, a
    # story joining the front page leaves every archive page as it was (rendering the last
    # one anyway was one page a changed tag, ~0.8 s of a build's 8 at 1M stored articles).
    first = p // site.per_page + 1
    pages = range(max(1, first if new == old else min(first, old, new)), max(new, old) + 1)
    kind, _, name = listing.partition(":")
    if kind == "i":
        size = site.sitemap_chunk
        chunks = range(p // size + 1, -(-max(n, before) // size) + 1)
        return ["index.html", *(f"page-{k}.html" for k in pages),
                *(f"sitemaps/stories-{c}.xml" for c in chunks)]
    if kind == "t":
        return [f"tags/{name}.html", *(f"tags/{name}-p{k}.html" for k in pages),
                f"tags/{name}.atom", f"tags/{name}.json"]
    if kind == "o":
        return [f"outlets/{name}.html", *(f"outlets/{name}-p{k}.html" for k in pages)]
    return []


def _spots(site: Site, conn: Connection, listing: str, keys: list[int]) -> list[str]:
    """The pages of a listing showing the stories at ``keys`` (which did not move)."""
    if not keys:
        return []
    n = site_index.size(conn, listing)[0]
    ks = site_index.keys_from(conn, listing, keys[0])
    first = n - len(ks)  # the place, from the oldest, of ks[0]
    archive = site.archive(n)
    pages: set[int] = set()
    in_feed = False
    for k in keys:
        lo, hi = bisect.bisect_left(ks, k), bisect.bisect_right(ks, k)
        for place in (first + lo, first + hi - 1) if hi > lo else ():
            page = place // site.per_page + 1
            pages.add(page if page <= archive else 0)
            in_feed = in_feed or place >= n - FEED_SIZE
    kind, _, name = listing.partition(":")
    if kind == "i":  # the site's feeds are among the shared paths, always rendered
        return [f"page-{k}.html" if k else "index.html" for k in sorted(pages)]
    if kind == "t":
        return [f"tags/{name}-p{k}.html" if k else f"tags/{name}.html" for k in sorted(pages)] + \
            ([f"tags/{name}.atom", f"tags/{name}.json"] if in_feed else [])
    if kind == "o":
        return [f"outlets/{name}-p{k}.html" if k else f"outlets/{name}.html" for k in sorted(pages)]
    return []


def _feeds(conn: Connection, listing: str, keys: set[int]) -> list[str]:
    """A tag's feeds, when one of ``keys`` (stories changed only in what a feed shows of
    them) is among its newest: one read of the feed's few keys."""
    newest = site_index.newest(conn, listing, 0, FEED_SIZE)
    # a key equal to the feed's oldest may be its story or one just past it: render
    if newest and max(keys) >= newest[-1][1]:
        name = listing.partition(":")[2]
        return [f"tags/{name}.atom", f"tags/{name}.json"]
    return []


def write_file(target: Path, text: str) -> bool:
    """Write ``text`` to ``target`` unless it already holds exactly that; atomically (a
    temporary file in the same directory, renamed over it). Whether it wrote."""
    data = text.encode("utf-8")
    with suppress(FileNotFoundError):
        if target.read_bytes() == data:
            return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _FILE_MODE)  # as a file written in place would be, not mkstemp's 0600
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def read_manifest(out: Path) -> dict[str, Any] | None:
    try:
        got = json.loads((out / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) else None


def _settings_key(settings: Settings) -> str:
    """What of the settings pages show (the site's, and the writer's on story pages)."""
    blob = json.dumps([asdict(settings.site), asdict(settings.writer)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# What writes a page's bytes besides the templates: listing items, Atom entries, citations
# and charts are written in Python (faster than the templates were), and a change to them
# changes pages as a template's would. Without them in the key, a build after such a change
# (same version: a development install, a patched deploy) rendered only the pages whose data
# changed, and the rest kept the old markup until a full build.
RENDERING = ("pages.py", "feeds.py", "charts.py", "readmodel.py")


def _templates_key(root: Traversable | None = None) -> str:
    """A digest of what renders pages: matome's version, the templates and static files,
    and the ``RENDERING`` modules (of ``root``, the site package's folder by default)."""
    root = root if root is not None else resources.files("matome.site")
    h = hashlib.sha256(__version__.encode())
    for folder in ("templates", "static"):
        for item in sorted(root.joinpath(folder).iterdir(), key=lambda x: x.name):
            h.update(item.name.encode() + b"\0" + item.read_bytes())
    for name in RENDERING:
        h.update(name.encode() + b"\0" + root.joinpath(name).read_bytes())
    return h.hexdigest()[:16]

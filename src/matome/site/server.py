"""``matome serve``: the same pages as the static site, live, plus a JSON API.

The database is opened read-only; a ``process`` run in another terminal shows
up without a restart. Pages read the store per page (``dbview``) and search
queries the store's own index (``search``): the server holds no copy of the
archive, so it starts at once and its memory does not grow with the archive.
Built to hold load from parallel readers, crawlers and feed readers:

- Requests share nothing mutable but bounded caches. Each reads one snapshot
  (a catalog reading the store, and the pages rendered from it) through a
  single reference; when the store changes a new snapshot replaces it, while
  requests in flight finish on the old one. No request waits on a refresh.
- Noticing a change costs O(1): SQLite's ``PRAGMA data_version`` on one held
  read connection (PostgreSQL: its per-table write counters), checked at most
  every few seconds and only while requests come in.
- Searches run each on a connection of their own with their own time limit
  (see :mod:`matome.site.search`), as do page reads.
- At most ``concurrency`` requests are in progress at once (``THREADS`` of
  them worked on, the rest queued); more get ``503`` with ``Retry-After``
  straight away. A request still queued after ``REQUEST_TIMEOUT_S`` gets 503
  too, and one whose client stopped reading is given up then, so a slow
  client never holds a slot for long.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matome import __version__
from matome.errors import SearchCutOff
from matome.settings import Settings
from matome.site import readmodel
from matome.site.dbview import DbCatalog
from matome.site.pages import MEDIA_TYPES, Site
from matome.site.search import SearchIndex, capped
from matome.store import Store

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
REFRESH_SECONDS = 3.0
CONCURRENCY = 128         # requests in progress per process (8 working, the rest queued); more get 503
THREADS = 8               # worker threads for rendering and search (the GIL makes more useless)
REQUEST_TIMEOUT_S = 10.0  # a request's whole life: waiting for a thread, working, sending
RETRY_AFTER_S = 1
PAGES_MEMO_BYTES = 128 << 20  # rendered pages kept per snapshot (only pages that exist)
API_MEMO_BYTES = 32 << 20     # JSON kept per snapshot: apart, so odd offsets cannot crowd out pages

log = logging.getLogger("matome.serve")


class _Memo:
    """Responses rendered from one snapshot, kept: the snapshot never changes, so neither do they.

    Bounded in bytes; past the bound, responses are rendered each time. No
    lock: two threads may render the same page once each, and the byte count
    may be off by a page or two, both harmless.
    """

    def __init__(self, budget: int) -> None:
        self.items: dict[str, tuple[bytes, str]] = {}
        self.room = budget

    def get(self, key: str, make: Callable[[], tuple[bytes, str] | None]) -> Response | None:
        made = self.items.get(key)
        if made is None:
            made = make()
            if made is None:
                return None
            if len(made[0]) + len(key) < self.room:
                self.room -= len(made[0]) + len(key)
                self.items[key] = made
        return Response(made[0], media_type=made[1])

    def always(self, key: str, make: Callable[[], tuple[bytes, str]]) -> Response:
        response = self.get(key, make)
        assert response is not None  # make() always makes one
        return response


@dataclass(frozen=True)
class _Snapshot:
    """Everything a request reads, built once and never changed afterwards."""

    site: Site
    catalog: DbCatalog
    index: SearchIndex
    version: object
    pages: _Memo = field(default_factory=lambda: _Memo(PAGES_MEMO_BYTES))
    api: _Memo = field(default_factory=lambda: _Memo(API_MEMO_BYTES))


class _ChangeWatch:
    """A value that changes whenever the store's data does, read in O(1)."""

    def __init__(self, db: str) -> None:
        parsed = make_url(db)
        self.backend = parsed.get_backend_name()
        self.path = (Path(parsed.database) if self.backend == "sqlite"
                     and parsed.database and parsed.database != ":memory:" else None)
        self.db = db
        self.conn: sqlite3.Connection | None = None
        self.file: tuple[int, int] | None = None
        self.opened = 0
        self.engine: Engine | None = None

    def version(self) -> object:
        if self.backend == "postgresql":
            return self._server_version()
        if self.path is None:  # a private in-memory database: nothing else can change it
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:  # no database yet: it may appear later
            self._close()
            return None
        if self.conn is None or self.file != (st.st_dev, st.st_ino):
            # a database file replaced by another: data_version would not notice
            self._close()
            self.conn = sqlite3.connect(self.path.absolute().as_uri() + "?mode=ro", uri=True,
                                        isolation_level=None, check_same_thread=False)
            self.file, self.opened = (st.st_dev, st.st_ino), self.opened + 1
        # changes whenever another connection commits; cheap, and no transaction is kept open
        (data_version,) = self.conn.execute("PRAGMA data_version").fetchone()
        return (self.opened, data_version)

    def _server_version(self) -> object:
        if self.engine is None:
            self.engine = create_engine(self.db, pool_size=1, max_overflow=0, pool_pre_ping=True)
        # statistics of this database's own tables: one row per table, never a scan of data
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT count(*), coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                "FROM pg_stat_user_tables")).one()
        return tuple(row)

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _Live:
    def __init__(self, db: str, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.watch = _ChangeWatch(db)
        # held only by the one thread refreshing; requests try it, never wait on it
        self.refreshing = threading.Lock()
        self.store: Store | None = None
        self.store_for: object = None
        self.snapshot = self._build(self.watch.version())
        self.next_check = time.monotonic() + REFRESH_SECONDS

    def get(self) -> _Snapshot:
        snap = self.snapshot  # one reference read: the snapshot a whole request uses
        if time.monotonic() >= self.next_check and self.refreshing.acquire(blocking=False):
            self.next_check = time.monotonic() + REFRESH_SECONDS
            try:
                threading.Thread(target=self._refresh, name="matome-refresh", daemon=True).start()
            except RuntimeError:  # no thread to be had now: try again at the next check
                self.refreshing.release()
        return snap

    def _refresh(self) -> None:
        try:
            # read before the data, so a change made meanwhile is seen next time
            version = self.watch.version()
            if version != self.snapshot.version:
                self.snapshot = self._build(version)
        except Exception as exc:  # a store mid-upgrade, say: keep serving what we have
            log.warning("could not re-read the store, still serving the previous catalog: %s", exc)
        finally:
            self.next_check = time.monotonic() + REFRESH_SECONDS
            self.refreshing.release()

    def _open(self, version: object) -> Store:
        """The read-only store, opened again when the file behind it is another one (or
        appeared): SQLite connections keep reading the file they opened."""
        which = version[0] if isinstance(version, tuple) and self.watch.backend == "sqlite" else None
        if self.store is None or which != self.store_for or (self.store.empty and version is not None):
            old, self.store = self.store, Store(self.db, readonly=True)
            self.store_for = which
            if old is not None:
                old.close()  # connections in use finish first; the pool's idle ones go now
        return self.store

    def _build(self, version: object) -> _Snapshot:
        store = self._open(version)
        catalog = DbCatalog.live(store.engine, self.settings.writer.primary)
        len(catalog.stories)  # a store that cannot be read fails here, not in a request
        site = Site(catalog, self.settings)
        site.live = True
        return _Snapshot(site, catalog, SearchIndex(store.engine), version)

    def search(self, query: str, filters: dict[str, str], limit: int,
               offset: int) -> tuple[int, list[Any]]:
        """Search the store now served; empty filters mean none."""
        return self.get().index.search(
            query[:100], tag=filters["tag"] or None, outlet=filters["outlet"] or None,
            since=filters["since"] or None, until=filters["until"] or None, limit=limit,
            offset=offset)


class _Guard:
    """In front of every request: admission, a time limit, and the security headers.

    A plain ASGI middleware: it runs on the event loop's one thread, so its
    counter needs no lock, and it answers 503 without ever touching a worker.
    """

    def __init__(self, app: ASGIApp, limit: int = CONCURRENCY,
                 timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await _busy(send)
            return
        started = False
        csp = not scope["path"].startswith("/api/docs")

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                if csp:
                    headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
            await send(message)

        self.active += 1
        try:
            with anyio.move_on_after(self.timeout) as deadline:
                await self.app(scope, receive, send_with_headers)
            if deadline.cancelled_caught and not started:
                with anyio.move_on_after(1):  # a client that stopped reading gets nothing more
                    await _busy(send)
            # Past the deadline this slot is free again. A client that stopped reading keeps
            # only its connection (uvicorn has no send timeout: a reverse proxy's closes it).
        finally:
            self.active -= 1


async def _busy(send: Send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", str(RETRY_AFTER_S).encode()),
        (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": b"busy: try again in a moment\n"})


def create_app(db: str, settings: Settings, *, concurrency: int = CONCURRENCY,
               threads: int = THREADS, request_timeout: float = REQUEST_TIMEOUT_S) -> FastAPI:
    live = _Live(db, settings)  # the first snapshot now: a store that cannot be read fails here
    css = resources.files("matome.site").joinpath("static/style.css").read_bytes()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # sync endpoints run on these threads; beyond a few, they only fight over the GIL
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(title="matome", version=__version__, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None, lifespan=lifespan)
    app.add_middleware(_Guard, limit=max(1, concurrency), timeout=request_timeout)
    app.state.live = live  # for tests and a debugger: the snapshot now served

    def json_body(obj: object) -> tuple[bytes, str]:
        return bytes(JSONResponse(obj).body), "application/json"

    @app.get("/api/stories")
    def api_stories(limit: int = 50, offset: int = 0) -> Response:
        snap = live.get()
        cat = snap.catalog
        limit = max(1, min(limit, 200))
        total = len(cat.stories)
        offset = max(0, min(offset, total))
        return snap.api.always(f"api/stories?{limit}&{offset}", lambda: json_body({
            "total": total, "items": [readmodel.story_json(s) for s in cat.in_order(
                cat.stories.ids(offset, offset + limit), whole=True)]}))

    @app.get("/api/stories/{story_id}")
    def api_story(story_id: str) -> Response:
        snap = live.get()

        def make() -> tuple[bytes, str] | None:
            s = snap.catalog.story(story_id)
            return None if s is None else json_body(readmodel.story_json(s, evidence=True))

        response = snap.api.get(f"api/stories/{story_id}", make)
        if response is None:
            raise HTTPException(404, "no such story")
        return response

    @app.get("/api/articles")
    def api_articles(limit: int = 50, offset: int = 0) -> Response:
        """Extracted reports: text and metadata, never the source's HTML."""
        snap = live.get()
        cat = snap.catalog
        limit = max(1, min(limit, 200))
        total = cat.article_count()
        offset = max(0, min(offset, total))
        return snap.api.always(f"api/articles?{limit}&{offset}", lambda: json_body({
            "total": total, "items": cat.articles_json(offset, limit)}))

    @app.get("/api/search")
    def api_search(q: str = "", tag: str = "", outlet: str = "", since: str = "",
                   until: str = "", limit: int = 20, offset: int = 0) -> JSONResponse:
        filters = {"tag": tag, "outlet": outlet, "since": since, "until": until}
        try:
            total, hits = live.search(q, filters, limit, offset)
        except SearchCutOff:  # said, not passed off as nothing found
            return JSONResponse({"total": 0, "items": [], "cut_off": True})
        # capped: more matched than ``total``, the hits the best of the newest that many
        return JSONResponse({"total": total, "capped": capped(total), "items": [
            {"kind": h.kind, "story": h.story, "title": h.title, "source": h.source,
             "published": readmodel.iso(h.published), "url": "/" + h.url,
             "snippet": str(h.snippet)} for h in hits]})

    @app.get("/search", response_class=HTMLResponse)
    def search_page(q: str = "", tag: str = "", outlet: str = "", since: str = "",
                    until: str = "", page: int = 1) -> HTMLResponse:
        snap = live.get()
        site = snap.site
        page = max(1, min(page, 1000))
        filters = {"tag": tag, "outlet": outlet, "since": since, "until": until}
        try:
            total, hits = snap.index.search(
                q[:100], tag=tag or None, outlet=outlet or None, since=since or None,
                until=until or None, limit=site.per_page, offset=(page - 1) * site.per_page)
        except SearchCutOff:
            return HTMLResponse(site.search_page(q[:100], 0, [], page, filters, cut_off=True))
        return HTMLResponse(site.search_page(q[:100], total, hits, page, filters, capped=capped(total)))

    @app.get("/api/tags")
    def api_tags() -> Response:
        snap = live.get()
        return snap.api.always("api/tags", lambda: json_body(
            {"items": snap.catalog.tags_json()}))

    @app.get("/static/style.css")
    async def style() -> Response:
        return Response(css, media_type="text/css")

    @app.get("/{path:path}", response_class=HTMLResponse)
    def page(path: str) -> Response:
        snap = live.get()
        site = snap.site
        if (target := site.redirect(path)) is not None:
            return RedirectResponse("/" + target, status_code=301)  # links never break
        path = path or "index.html"

        def make() -> tuple[bytes, str] | None:
            body = site.render(path)
            suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ".html"
            return None if body is None else \
                (body.encode(), MEDIA_TYPES.get(suffix, "text/html; charset=utf-8"))

        response = snap.pages.get(path, make)
        if response is None:
            raise HTTPException(404, "no such page")
        return response

    return app


def from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` and ``matome serve --workers``: one per process.

    Reads what the CLI would: ``MATOME_DB``, ``MATOME_CONFIG`` (else ./matome.toml),
    and ``MATOME_SERVE_CONCURRENCY`` for the per-process bound.
    """
    from matome.settings import load
    from matome.store import db_url
    from matome.worker import tune_gc

    tune_gc()  # as the CLI's own process does
    concurrency = int(os.environ.get("MATOME_SERVE_CONCURRENCY") or CONCURRENCY)
    return create_app(db_url(os.environ.get("MATOME_DB")), load(), concurrency=concurrency)

"""``matome serve``: the same pages as the static site, live, plus a JSON API.

The database is opened read-only; the catalog is re-read when the store
changes (checked at most every few seconds), so a ``process`` run in another
terminal shows up without a restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from matome import __version__
from matome.settings import Settings
from matome.site import readmodel
from matome.site.pages import MEDIA_TYPES, Site
from matome.site.search import SearchIndex
from matome.store import Store

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
REFRESH_SECONDS = 3.0


class _Live:
    def __init__(self, db: str, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.lock = threading.Lock()
        self.site: Site | None = None
        self.catalog: readmodel.Catalog | None = None
        self.index: SearchIndex | None = None
        self.checked = 0.0
        self.version: Any = None

    def get(self) -> tuple[Site, readmodel.Catalog]:
        with self.lock:
            now = time.monotonic()
            if self.site is None or now - self.checked > REFRESH_SECONDS:
                self.checked = now
                store = Store(self.db, readonly=True)
                try:
                    version = (store.counts(), store.written_hashes()) if not store.empty else None
                    if self.site is None or version != self.version:
                        self.catalog = readmodel.load(store, self.settings.writer.primary) \
                            if not store.empty else \
                            readmodel.Catalog([], [], [], {}, {})
                        self.site = Site(self.catalog, self.settings)
                        self.site.live = True
                        self.index = SearchIndex(self.catalog)
                        self.version = version
                finally:
                    store.close()
            assert self.site is not None and self.catalog is not None
            return self.site, self.catalog


    def search(self, query: str, filters: dict[str, str], limit: int,
               offset: int) -> tuple[int, list[Any]]:
        """Search the catalog now loaded; empty filters mean none."""
        self.get()
        index = self.index
        assert index is not None
        return index.search(query[:100], tag=filters["tag"] or None,
                            outlet=filters["outlet"] or None, since=filters["since"] or None,
                            until=filters["until"] or None, limit=limit, offset=offset)


def create_app(db: str, settings: Settings) -> FastAPI:
    app = FastAPI(title="matome", version=__version__, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)
    live = _Live(db, settings)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if not request.url.path.startswith("/api/docs"):
            response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        return response

    @app.get("/api/stories")
    def api_stories(limit: int = 50, offset: int = 0) -> JSONResponse:
        _, cat = live.get()
        limit = max(1, min(limit, 200))
        items = [readmodel.story_json(s) for s in cat.stories[offset : offset + limit]]
        return JSONResponse({"total": len(cat.stories), "items": items})

    @app.get("/api/stories/{story_id}")
    def api_story(story_id: str) -> JSONResponse:
        _, cat = live.get()
        s = cat.story(story_id)
        if s is None:
            raise HTTPException(404, "no such story")
        return JSONResponse(readmodel.story_json(s, evidence=True))

    @app.get("/api/articles")
    def api_articles(limit: int = 50, offset: int = 0) -> JSONResponse:
        """Extracted reports: text and metadata, never the source's HTML."""
        _, cat = live.get()
        limit = max(1, min(limit, 200))
        items = [readmodel.article_json(a, cat) for a in cat.articles[offset : offset + limit]]
        return JSONResponse({"total": len(cat.articles), "items": items})

    @app.get("/api/search")
    def api_search(q: str = "", tag: str = "", outlet: str = "", since: str = "",
                   until: str = "", limit: int = 20, offset: int = 0) -> JSONResponse:
        filters = {"tag": tag, "outlet": outlet, "since": since, "until": until}
        total, hits = live.search(q, filters, limit, offset)
        return JSONResponse({"total": total, "items": [
            {"kind": h.kind, "story": h.story, "title": h.title, "source": h.source,
             "published": readmodel.iso(h.published), "url": "/" + h.url,
             "snippet": str(h.snippet)} for h in hits]})

    @app.get("/search", response_class=HTMLResponse)
    def search_page(q: str = "", tag: str = "", outlet: str = "", since: str = "",
                    until: str = "", page: int = 1) -> HTMLResponse:
        site, _ = live.get()
        page = max(1, min(page, 1000))
        filters = {"tag": tag, "outlet": outlet, "since": since, "until": until}
        total, hits = live.search(q, filters, site.per_page, (page - 1) * site.per_page)
        return HTMLResponse(site.search_page(q[:100], total, hits, page, filters))

    @app.get("/api/tags")
    def api_tags() -> JSONResponse:
        _, cat = live.get()
        return JSONResponse({"items": [readmodel.tag_json(g) for g in cat.tags]})

    @app.get("/static/style.css")
    def style() -> Response:
        from importlib import resources

        css = resources.files("matome").joinpath("static/style.css").read_bytes()
        return Response(css, media_type="text/css")

    @app.get("/{path:path}", response_class=HTMLResponse)
    def page(path: str) -> Response:
        site, _ = live.get()
        if (target := site.redirect(path)) is not None:
            return RedirectResponse("/" + target, status_code=301)  # links never break
        path = path or "index.html"
        body = site.render(path)
        if body is None:
            raise HTTPException(404, "no such page")
        suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ".html"
        return Response(body, media_type=MEDIA_TYPES.get(suffix, "text/html; charset=utf-8"))

    return app

"""Real HTTP servers on 127.0.0.1 that misbehave on purpose, for tests.

``serve(routes)`` starts a ``ThreadingHTTPServer`` on a free loopback port and
yields a ``Site`` (its base URL, and every request it saw). A route is a
``Reply`` — status, headers, a body given as bytes or produced in chunks, a
Content-Length that may lie, a pause before the status line, a delay between
chunks — or a function of the ``Request`` (path, headers, how many times this
path was asked for) returning one. Pauses wait on an event the server sets when
it stops, so a hanging reply never outlives its test.

    with serve({"/": Reply(body=b"<p>hi</p>")}) as site:
        httpx.get(site.url("/"))
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    length: int | str | None = "auto"  # "auto": the body's length if bytes; None: no header; else sent as is
    pause: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds before each body chunk
    chunk: int = 65_536
    reason: str | None = None  # status line phrase, when the default should not be used
    hang_up: bool = False  # close the connection without answering


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    n: int  # 1 for the first request to this path


Route = Reply | Callable[[Request], Reply]


@dataclass
class Site:
    base: str
    port: int
    hits: Counter[str] = field(default_factory=Counter)
    log: list[Request] = field(default_factory=list)

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: Mapping[str, Route]
    site: Site
    stop: threading.Event
    lock: threading.Lock

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on bombs and oversized bodies on purpose: not an error here


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.site.hits[self.path] += 1
            req = Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                          srv.site.hits[self.path])
            srv.site.log.append(req)
        route = srv.routes.get(self.path) or srv.routes.get(self.path.split("?")[0])
        if route is None:
            route = Reply(404, b"not here", content_type="text/plain")
        reply = route(req) if callable(route) else route
        if reply.hang_up:
            self.close_connection = True
            return
        if reply.pause and srv.stop.wait(reply.pause):
            return
        self.send_response(reply.status, reply.reason)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        body = reply.body
        if reply.length == "auto":
            if isinstance(body, bytes):
                self.send_header("Content-Length", str(len(body)))
        elif reply.length is not None:
            self.send_header("Content-Length", str(reply.length))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        chunks: Iterable[bytes]
        if isinstance(body, bytes):
            chunks = (body[i : i + reply.chunk] for i in range(0, len(body), reply.chunk))
        else:
            chunks = body()
        for piece in chunks:
            if reply.drip and srv.stop.wait(reply.drip):
                return
            self.wfile.write(piece)
            self.wfile.flush()


@contextmanager
def serve(routes: Mapping[str, Route] | Callable[[Site], Mapping[str, Route]]) -> Iterator[Site]:
    """A server on 127.0.0.1 for the duration of the block; ``routes`` may depend on its Site."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    port = httpd.server_address[1]
    site = Site(base=f"http://127.0.0.1:{port}", port=int(port))
    httpd.site, httpd.stop, httpd.lock = site, threading.Event(), threading.Lock()
    httpd.routes = routes(site) if callable(routes) else routes
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()

"""Site: what readers and scripts see — the read model, pages, feeds, search, the server.

``readmodel`` reads the store into the view every output shares (and the JSON of the
export command), ``dbview`` the same a page at a time; ``index`` keeps the site's
listings and search in the store up to date with what changed; ``pages`` renders the
site, ``build`` writes it (only what changed), ``feeds`` the Atom and JSON feeds and
sitemaps, ``search`` full-text search, ``server`` serves it all live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matome.site.pages import Site, outlet_id
    from matome.site.search import SearchIndex
    from matome.site.server import create_app

__all__ = [
    "SearchIndex",
    "Site",
    "create_app",
    "outlet_id",
]

_WHERE = {"Site": "pages", "outlet_id": "pages", "SearchIndex": "search", "create_app": "server"}


def __getattr__(name: str) -> Any:
    # on first use: ``process`` imports ``matome.site.index`` without the web server's stack
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"matome.site.{_WHERE[name]}"), name)
    raise AttributeError(name)

"""Site: what readers and scripts see — the read model, pages, feeds, search, the server.

``readmodel`` reads the store once into the view every output shares (and
the JSON of the export command); ``pages`` renders the static site,
``feeds`` the Atom and JSON feeds and sitemap, ``search`` full-text search,
``server`` serves it all live.
"""

from matome.site.pages import Site, outlet_id
from matome.site.search import SearchIndex
from matome.site.server import create_app

__all__ = [
    "SearchIndex",
    "Site",
    "create_app",
    "outlet_id",
]

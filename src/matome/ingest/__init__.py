"""Ingest: read what the user names — files, feeds, sitemaps, pages — into raw documents.

Everything here ends at a stored ``RawDoc``; nothing parses an article.
``sources`` turns a target into items, ``poll`` fetches what they name,
``fetch`` talks HTTP politely (``robots``) and only to public addresses
(``netguard``).
"""

from matome.ingest.fetch import Fetcher, MemoryCache
from matome.ingest.netguard import AddressPolicy, non_public
from matome.ingest.robots import retry_after

__all__ = [
    "AddressPolicy",
    "Fetcher",
    "MemoryCache",
    "non_public",
    "retry_after",
]

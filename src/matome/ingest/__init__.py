"""Ingest: read what the user names — files, feeds, sitemaps, pages — into raw documents.

Everything here ends at a stored ``RawDoc``; nothing parses an article.
``sources`` turns a target into items, ``poll`` fetches what they name,
``fetch`` talks HTTP politely (``robots``) and only to public addresses
(``netguard``).

Files, directories, JSONL, WARC (warcio), RSS/Atom (feedparser), JSON Feed,
sitemaps and indexes, URL lists; httpx with robots.txt (Protego), per-host
delay, conditional GET, Retry-After, redirect and size caps with capped
decoders; the SSRF guard resolves once and connects to the checked address.
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

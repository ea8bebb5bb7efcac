"""Reactions: board posts attached to the stories whose reports their threads discuss."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from matome.extract import canonical_url
from matome.records import Post, Reaction


def reactions_by_story(story_urls: Iterable[tuple[str, str]],
                       reactions: Iterable[Reaction]) -> dict[str, list[Post]]:
    """Posts of threads that discuss a report of a story, keyed by story id.

    A thread is linked through the report URLs it names (a まとめ page links
    the wire report; a 2ch thread puts it in post 1), compared as canonical
    URLs; a thread naming no known report is linked to nothing: reactions
    never float free.
    """
    url_story = {canonical_url(url): sid for url, sid in story_urls}
    out: dict[str, list[Post]] = defaultdict(list)
    for r in reactions:
        stories = {url_story[u] for u in (canonical_url(u) for u in r.discussed) if u in url_story}
        for sid in sorted(stories):
            out[sid].append(r.post)
    return dict(out)

"""A page's JSON-LD, read once: what its dates, paywall and page kind are all read from.

Each ``<script type="application/ld+json">`` is kept as its text (the page
kind reads ``@type`` from the text, so a block that is not valid JSON still
counts) and as parsed JSON (None where it does not parse).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import html as lxml_html


@dataclass(frozen=True)
class Block:
    raw: str
    data: Any
    valid: bool  # whether ``raw`` parsed as JSON (``data`` is None when not)


def read(tree: lxml_html.HtmlElement) -> list[Block]:
    """Every JSON-LD block of the page, in page order."""
    out = []
    for node in tree.xpath('//script[@type="application/ld+json"]'):
        raw = node.text_content() or ""
        try:
            out.append(Block(raw, json.loads(raw), True))
        except (json.JSONDecodeError, TypeError, RecursionError):
            out.append(Block(raw, None, False))
    return out


def objects(data: Any, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every JSON object inside ``data`` (``@graph`` members, nested ones), visiting at most
    ``limit`` items when given; depth first, from the last item of each list."""
    stack = [data]
    seen = 0
    while stack and (limit is None or seen < limit):
        seen += 1
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
